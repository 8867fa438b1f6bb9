#include "fabtwin/io/csv.hpp"

#include "fabtwin/io/json.hpp"

namespace fabtwin::io {

namespace {
constexpr std::size_t kBlock = 1 << 16;  // bytes gathered before a write
}

void append_csv_field(std::string& out, std::string_view field) {
  if (field.find_first_of(",\"\r\n") == std::string_view::npos) {
    out.append(field);
    return;
  }
  out += '"';
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string csv_field(std::string_view field) {
  std::string s;
  append_csv_field(s, field);
  return s;
}

CsvWriter& CsvWriter::field(std::string_view text) {
  separate();
  append_csv_field(buf_, text);
  return *this;
}

CsvWriter& CsvWriter::field(double v) {
  separate();
  json::append_number(buf_, v);
  return *this;
}

CsvWriter& CsvWriter::raw(std::string_view text) {
  separate();
  buf_.append(text);
  return *this;
}

void CsvWriter::end_row() {
  buf_ += '\n';
  first_ = true;
  if (buf_.size() >= kBlock) flush();
}

void CsvWriter::flush() {
  out_.write(buf_);
  buf_.clear();
}

void CsvWriter::close() {
  flush();
  out_.close();
}

}  // namespace fabtwin::io
