#pragma once
// Helpers for the io tests: SMT2020 folders as in-memory file maps, cell edits, error checks.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"

namespace fabtwin::test {

// Every regular file of `dir`: name -> contents.
inline std::map<std::string, std::string> read_dir(const std::filesystem::path& dir) {
  std::map<std::string, std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    files[e.path().filename().string()] = io::read_file(e.path()).value();
  }
  return files;
}

inline std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = text.find('\n', pos);
    lines.push_back(text.substr(pos, eol == std::string::npos ? std::string::npos : eol - pos));
    pos = eol == std::string::npos ? text.size() : eol + 1;
  }
  return lines;
}

inline std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

inline std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> f;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', pos);
    f.push_back(line.substr(pos, tab == std::string::npos ? std::string::npos : tab - pos));
    if (tab == std::string::npos) break;
    pos = tab + 1;
  }
  return f;
}

// Sets the field of `column` on 1-based `line` of `file` (extending a short row).
inline void set_cell(std::map<std::string, std::string>& files, const std::string& file, int line,
                     const std::string& column, const std::string& value) {
  auto lines = split_lines(files.at(file));
  const auto header = split_tabs(lines.at(0));
  std::size_t col = 0;
  while (col < header.size() && header[col] != column) ++col;
  REQUIRE(col < header.size());
  auto fields = split_tabs(lines.at(static_cast<std::size_t>(line - 1)));
  if (fields.size() <= col) fields.resize(col + 1);
  fields[col] = value;
  std::string joined;
  for (std::size_t i = 0; i < fields.size(); ++i) joined += (i ? "\t" : "") + fields[i];
  lines[static_cast<std::size_t>(line - 1)] = joined;
  files[file] = join_lines(lines);
}

// The field of `column` on 1-based `line` of `file`.
inline std::string get_cell(const std::map<std::string, std::string>& files, const std::string& file,
                            int line, const std::string& column) {
  const auto lines = split_lines(files.at(file));
  const auto header = split_tabs(lines.at(0));
  std::size_t col = 0;
  while (col < header.size() && header[col] != column) ++col;
  const auto fields = split_tabs(lines.at(static_cast<std::size_t>(line - 1)));
  return col < fields.size() ? fields[col] : std::string();
}

// Asserts that `r` failed naming `file` (a suffix of the error's file), `line` and `field`, and
// that the message contains `words`; prints the error either way.
template <class R>
void check_error(const R& r, const std::string& file, int line, const std::string& field,
                 const std::string& words) {
  REQUIRE_FALSE(r.ok());
  const auto& e = r.error();
  INFO("error: " << e.what());
  CHECK(e.file.size() >= file.size());
  CHECK(e.file.substr(e.file.size() - std::min(e.file.size(), file.size())) == file);
  CHECK(e.line == line);
  CHECK(e.field == field);
  CHECK(e.message.find(words) != std::string::npos);
  // what() carries all of it in one line.
  CHECK(e.what().find(file) != std::string::npos);
  std::string at_line = ":";  // (operator+ on a literal trips GCC 12's -Wrestrict)
  at_line += std::to_string(line);
  at_line += ':';
  if (line > 0) CHECK(e.what().find(at_line) != std::string::npos);
  std::string quoted_field = "'";
  quoted_field += field;
  quoted_field += '\'';
  if (!field.empty()) CHECK(e.what().find(quoted_field) != std::string::npos);
}

}  // namespace fabtwin::test
