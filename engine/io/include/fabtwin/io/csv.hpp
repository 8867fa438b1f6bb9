#pragma once
// The one CSV writer of every run output (RFC 4180): fields separated by commas, rows ended by LF
// (what pandas, R and spreadsheets read; RFC 4180 names CRLF but readers take either); a field
// holding a comma, a double quote, CR or LF is put in double quotes with its quotes doubled, so a
// name such as `Litho, "new"` reads back as itself. Numbers: doubles as the shortest text that
// reads back as the same value (json::format_number: 25, 0.1, 1e-07), integers in decimal,
// booleans as 1 and 0.
#include <concepts>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>

#include "fabtwin/io/output_file.hpp"

namespace fabtwin::io {

// Appends `field` to `out` as one CSV field, quoted when it needs to be.
void append_csv_field(std::string& out, std::string_view field);
// `field` as one CSV field (quoted when it needs to be).
std::string csv_field(std::string_view field);

class CsvWriter {
 public:
  // Creates or truncates `file` (throws OutputError naming it when it cannot). Rows are gathered in
  // a buffer and written in blocks; close() writes the rest and checks the file. A writer destroyed
  // without close() (an error is being reported) drops what it had not written.
  explicit CsvWriter(std::filesystem::path file) : out_(std::move(file)) {}
  CsvWriter(const CsvWriter&) = delete;
  CsvWriter& operator=(const CsvWriter&) = delete;

  CsvWriter& field(std::string_view text);
  CsvWriter& field(const std::string& text) { return field(std::string_view(text)); }
  CsvWriter& field(const char* text) { return field(std::string_view(text)); }
  CsvWriter& field(double v);
  CsvWriter& field(bool v) { return raw(v ? "1" : "0"); }
  template <std::integral T>
  requires(!std::same_as<T, bool> && !std::same_as<T, char>) CsvWriter& field(T v) {
    return raw(std::to_string(v));
  }
  // A field known to need no quoting (e.g. a number formatted by the caller); written as is.
  CsvWriter& raw(std::string_view text);
  // Ends the row; throws OutputError (naming the file) when a block cannot be written.
  void end_row();
  // A whole row: row("lot", 3, 0.5) writes `lot,3,0.5` and ends the row.
  template <class... T>
  void row(const T&... fields) {
    (field(fields), ...);
    end_row();
  }
  // Writes the buffered rows to the file.
  void flush();
  // flush(), then closes the file (checked: throws OutputError naming the file).
  void close();
  const std::filesystem::path& path() const { return out_.path(); }

 private:
  void separate() {
    if (!first_) buf_ += ',';
    first_ = false;
  }
  OutputFile out_;
  std::string buf_;
  bool first_ = true;  // no field yet in the current row
};

}  // namespace fabtwin::io
