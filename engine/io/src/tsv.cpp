#include "tsv.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "fabtwin/io/json.hpp"

namespace fabtwin::io::detail {

void fail(std::string file, int line, std::string field, std::string message) {
  throw ReadError{model::Error{std::move(file), line, std::move(field), std::move(message)}};
}

std::string quote(std::string_view s) {
  constexpr std::size_t kMax = 40;
  std::string out = "'";
  if (s.size() <= kMax) {
    out += s;
  } else {
    std::size_t n = kMax;
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // whole UTF-8 characters
    out += s.substr(0, n);
    out += "...";
  }
  return out + "'";
}

void Cell::fail(std::string message) const {
  detail::fail(table ? table->file() : std::string(), line, std::string(col.name), std::move(message));
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

void split(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  for (;;) {
    const std::size_t tab = line.find('\t');
    out.push_back(trim(line.substr(0, tab)));
    if (tab == std::string_view::npos) break;
    line.remove_prefix(tab + 1);
  }
}

bool is_binary(unsigned char c) { return (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F; }

}  // namespace

Table::Table(std::string file, std::string_view text, std::string_view first_column,
             std::span<const std::string_view> may_omit)
    : file_(std::move(file)) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte-order mark

  // Refuse binary data and non-UTF-8 text up front, naming where it is.
  std::size_t bad = json::utf8_error_offset(text);
  for (std::size_t i = 0; i < bad; ++i)
    if (is_binary(static_cast<unsigned char>(text[i]))) {
      bad = i;
      break;
    }
  if (bad < text.size()) {
    const std::string_view before = text.substr(0, bad);
    const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const std::size_t line_start = before.rfind('\n') == std::string_view::npos ? 0 : before.rfind('\n') + 1;
    const auto column =
        std::count(before.begin() + static_cast<std::ptrdiff_t>(line_start), before.end(), '\t');
    std::string field;
    if (line > 1) {
      const std::size_t eol = text.find('\n');
      std::vector<std::string_view> header;
      split(text.substr(0, eol), header);
      if (static_cast<std::size_t>(column) < header.size()) field = header[static_cast<std::size_t>(column)];
    }
    const auto c = static_cast<unsigned char>(text[bad]);
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", c);
    detail::fail(file_, line, field,
                 is_binary(c) ? std::string("binary data (byte ") + buf + "): not a tab-separated text file"
                              : std::string("not UTF-8 text (byte ") + buf + ")");
  }

  int line_no = 0;
  bool have_header = false;
  std::vector<std::string_view> fields;
  while (!text.empty()) {
    ++line_no;
    const std::size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    split(line, fields);
    bool blank = true;
    for (auto f : fields) blank = blank && f.empty();
    if (blank) continue;
    if (!have_header) {
      if (line_no != 1)
        detail::fail(file_, line_no, std::string(first_column), "the header must be the first line");
      header_ = fields;
      have_header = true;
      for (std::size_t i = 0; i < header_.size(); ++i) {
        if (header_[i].empty()) continue;
        for (std::size_t j = 0; j < i; ++j)
          if (header_[j] == header_[i])
            detail::fail(file_, 1, std::string(header_[i]), "column named twice in the header");
      }
      continue;
    }
    // A short row: its missing fields may have held values (a truncated line cannot be told from
    // one that left empty fields off), so only the columns in `may_omit` may be missing.
    for (std::size_t i = fields.size(); i < header_.size(); ++i) {
      const std::string_view name = header_[i];
      if (name.empty() || std::find(may_omit.begin(), may_omit.end(), name) != may_omit.end()) continue;
      std::string allowed;
      for (const auto m : may_omit) allowed += (allowed.empty() ? "" : ", ") + std::string(m);
      detail::fail(file_, line_no, std::string(name),
                   "short row: " + std::to_string(fields.size()) + " of the header's " +
                       std::to_string(header_.size()) + " fields; " + std::string(name) + " is missing (" +
                       (allowed.empty() ? std::string() : "only " + allowed + " may be left off: ") +
                       "write empty fields as tabs)");
    }
    rows_.push_back(Row{line_no, fields});
  }
  if (!have_header)
    detail::fail(file_, 1, std::string(first_column),
                 "empty file: expected a header line starting with column " + std::string(first_column));
}

Col Table::column(std::string_view name) const {
  for (std::size_t i = 0; i < header_.size(); ++i)
    if (header_[i] == name) return Col{static_cast<int>(i), name};
  return Col{-1, name};
}

Col Table::require(std::string_view name) const {
  Col c = column(name);
  if (c.index < 0)
    detail::fail(file_, 1, std::string(name), "missing column " + std::string(name) + " in the header");
  return c;
}

Cell Table::cell(const Row& row, Col col) const {
  Cell c{this, row.line, col, {}};
  if (col.index >= 0 && static_cast<std::size_t>(col.index) < row.fields.size())
    c.text = row.fields[static_cast<std::size_t>(col.index)];
  return c;
}

std::string_view required(const Cell& c) {
  if (c.empty()) c.fail("missing value");
  return c.text;
}

double number(const Cell& c) {
  const std::string_view s = required(c);
  double v = 0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (ec == std::errc::result_out_of_range) c.fail(quote(s) + " is out of range");
  if (ec != std::errc()) c.fail(quote(s) + " is not a number");
  if (ptr != s.data() + s.size()) c.fail(quote(s) + " is not a number (trailing characters)");
  if (!std::isfinite(v)) c.fail(quote(s) + " is not a finite number");
  return v;
}

std::optional<double> opt_number(const Cell& c) {
  if (c.empty()) return std::nullopt;
  return number(c);
}

std::uint32_t whole(const Cell& c, std::uint32_t lo, std::uint32_t hi) {
  const double v = number(c);
  if (std::trunc(v) != v) c.fail(quote(c.text) + " is not a whole number");
  if (v < lo || v > hi)
    c.fail(quote(c.text) + " is out of range (" + std::to_string(lo) + ".." + std::to_string(hi) + ")");
  return static_cast<std::uint32_t>(v);
}

std::optional<std::uint32_t> opt_whole(const Cell& c, std::uint32_t lo, std::uint32_t hi) {
  if (c.empty()) return std::nullopt;
  return whole(c, lo, hi);
}

bool yes_no(const Cell& c, bool empty_value) {
  if (c.empty()) return empty_value;
  std::string s(c.text);
  for (auto& ch : s)
    if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  if (s == "yes" || s == "true") return true;
  if (s == "no" || s == "false") return false;
  c.fail(quote(c.text) + " is not yes or no");
}

}  // namespace fabtwin::io::detail

namespace fabtwin::io::detail {

std::optional<std::pair<std::string, std::size_t>> split_table_row(std::string_view s) {
  const std::size_t open = s.find('[');
  if (open == std::string_view::npos || s.size() < open + 3 || s.back() != ']') return std::nullopt;
  std::size_t row = 0;
  const std::string_view digits = s.substr(open + 1, s.size() - open - 2);
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), row);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return std::pair{std::string(s.substr(0, open)), row};
}

}  // namespace fabtwin::io::detail
