#pragma once
// Private: tab-separated tables (SMT2020 / AutoSched AP text files) with line numbers, and strict
// field parsers. Parse failures throw ReadError, which the public readers turn into a Result.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::io::detail {

// Thrown inside readers only; never crosses the public API.
struct ReadError {
  model::Error error;
};
[[noreturn]] void fail(std::string file, int line, std::string field, std::string message);

// `s` quoted for a message, shortened to about 40 characters.
std::string quote(std::string_view s);

struct Col {
  int index = -1;         // -1: the file has no such column (its cells read as empty)
  std::string_view name;  // header name, also for a missing column
};

class Table;

// One field of one row: its text (spaces trimmed; "" for a column the header lacks, or one a short
// row may leave off) and where it is.
struct Cell {
  const Table* table = nullptr;
  int line = 0;
  Col col;
  std::string_view text;

  bool empty() const { return text.empty(); }
  [[noreturn]] void fail(std::string message) const;
};

class Table {
 public:
  struct Row {
    int line = 0;
    std::vector<std::string_view> fields;
  };

  // Splits `text` (which must outlive the table) into a header and rows: fields separated by tabs,
  // spaces around a field trimmed, CRLF or LF line ends, blank lines skipped. Throws ReadError for
  // an empty file (naming `first_column`, the column expected first), for binary data or text that
  // is not UTF-8 (naming the line and column it occurs in), and for a row with fewer fields than
  // the header, naming its first missing column not in `may_omit` (a row may leave off only those).
  Table(std::string file, std::string_view text, std::string_view first_column,
        std::span<const std::string_view> may_omit = {});

  const std::string& file() const { return file_; }
  const std::vector<Row>& rows() const { return rows_; }
  // The column named `name`; index -1 when the header has none.
  Col column(std::string_view name) const;
  // The column named `name`; throws ReadError (line 1) when the header has none.
  Col require(std::string_view name) const;
  Cell cell(const Row& row, Col col) const;

 private:
  std::string file_;
  std::vector<std::string_view> header_;
  std::vector<Row> rows_;
};

// Strict field parsers; each fails on the cell with a message that quotes the text.
double number(const Cell& c);                     // required; finite; no junk
std::optional<double> opt_number(const Cell& c);  // "" -> nullopt
// A whole number in [lo, hi], written "10" or "10.0"; required.
std::uint32_t whole(const Cell& c, std::uint32_t lo = 0, std::uint32_t hi = UINT32_MAX);
std::optional<std::uint32_t> opt_whole(const Cell& c, std::uint32_t lo = 0, std::uint32_t hi = UINT32_MAX);
// yes/no/true/false (any case); "" -> `empty_value`.
bool yes_no(const Cell& c, bool empty_value = false);
// Non-empty text.
std::string_view required(const Cell& c);

}  // namespace fabtwin::io::detail

#include <functional>
#include <unordered_map>

namespace fabtwin::io::detail {

// "steps[12]" (how Model::build names a table row) -> {"steps", 12}; nullopt for anything else.
std::optional<std::pair<std::string, std::size_t>> split_table_row(std::string_view s);

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
// Name -> value with look-up by string_view.
template <class V>
using NameMap = std::unordered_map<std::string, V, NameHash, std::equal_to<>>;

}  // namespace fabtwin::io::detail
