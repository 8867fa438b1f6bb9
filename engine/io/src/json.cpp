#include "fabtwin/io/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <system_error>
#include <unordered_set>

namespace fabtwin::io::json {

std::string_view to_string(Type t) {
  switch (t) {
    case Type::Null:
      return "null";
    case Type::Bool:
      return "bool";
    case Type::Number:
      return "number";
    case Type::String:
      return "string";
    case Type::Array:
      return "array";
    case Type::Object:
      return "object";
  }
  return "?";
}

const Member* Value::find_member(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& m : as_object())
    if (m.key == key) return &m;
  return nullptr;
}

const Value* Value::find(std::string_view key) const {
  const Member* m = find_member(key);
  return m ? &m->value : nullptr;
}

Value& Value::push_back(Value v) { return as_array().emplace_back(std::move(v)); }

Value& Value::add(std::string key, Value v) {
  return as_object().emplace_back(Member{std::move(key), std::move(v), 0}).value;
}

bool operator==(const Value& a, const Value& b) { return a.v_ == b.v_; }

// ---- UTF-8 ----------------------------------------------------------------------------------

namespace {

// Length of the well-formed UTF-8 sequence starting at s[i], or 0 when it is malformed.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  if (c < 0x80) return 1;
  std::size_t n;
  std::uint32_t cp;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  static constexpr std::uint32_t kMin[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::size_t utf8_error_offset(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return i;
    i += n;
  }
  return s.size();
}

bool is_valid_utf8(std::string_view s) { return utf8_error_offset(s) == s.size(); }

// ---- parser ---------------------------------------------------------------------------------

namespace {

struct Failure {
  int line;
  std::size_t column;
  std::string message;
};

class Parser {
 public:
  Parser(std::string_view text) : s_(text) {}

  Value document() {
    if (s_.substr(0, 3) == "\xEF\xBB\xBF") pos_ = line_start_ = 3;
    skip_ws();
    if (pos_ == s_.size()) fail("empty document: expected a JSON value");
    Value v = value(0);
    skip_ws();
    if (pos_ != s_.size()) fail("unexpected " + describe() + " after the end of the document");
    return v;
  }

 private:
  [[noreturn]] void fail(std::string message) const {
    throw Failure{line_, pos_ - line_start_ + 1, std::move(message)};
  }

  std::string describe() const {
    if (pos_ >= s_.size()) return "end of input";
    const auto c = static_cast<unsigned char>(s_[pos_]);
    if (c >= 0x20 && c < 0x7F) return std::string("'") + static_cast<char>(c) + "'";
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", c);
    return std::string("byte ") + buf;
  }

  void skip_ws() {
    while (pos_ < s_.size()) {
      const char c = s_[pos_];
      if (c == '\n') {
        ++pos_;
        ++line_;
        line_start_ = pos_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++pos_;
      } else {
        break;
      }
    }
  }

  void expect_literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) fail("unexpected " + describe() + ": expected a JSON value");
    pos_ += word.size();
  }

  Value value(int depth) {
    if (pos_ >= s_.size()) fail("unexpected end of input: expected a JSON value");
    const int line = line_;
    Value v;
    switch (s_[pos_]) {
      case '{':
        v = object(depth + 1);
        break;
      case '[':
        v = array(depth + 1);
        break;
      case '"':
        v = Value(string());
        break;
      case 't':
        expect_literal("true");
        v = Value(true);
        break;
      case 'f':
        expect_literal("false");
        v = Value(false);
        break;
      case 'n':
        expect_literal("null");
        break;
      default:
        if (s_[pos_] == '-' || (s_[pos_] >= '0' && s_[pos_] <= '9')) {
          v = Value(number());
        } else {
          fail("unexpected " + describe() + ": expected a JSON value");
        }
    }
    v.set_line(line);
    return v;
  }

  Value object(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++pos_;  // '{'
    Value v = Value::object();
    auto& members = v.as_object();
    std::unordered_set<std::string> seen;  // filled once the object passes a few members
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return v;
    }
    for (;;) {
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != '"')
        fail("unexpected " + describe() + ": expected a quoted object key");
      const int key_line = line_;
      const std::size_t key_pos = pos_;
      std::string key = string();
      bool duplicate = false;
      if (members.size() < 8) {
        for (const auto& m : members) duplicate = duplicate || m.key == key;
      } else {
        if (seen.empty())
          for (const auto& m : members) seen.insert(m.key);
        duplicate = !seen.insert(key).second;
      }
      if (duplicate) {
        pos_ = key_pos;
        line_ = key_line;
        fail("duplicate key \"" + key + "\"");
      }
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':')
        fail("unexpected " + describe() + ": expected ':' after a key");
      ++pos_;
      skip_ws();
      Value item = value(depth);
      members.push_back(Member{std::move(key), std::move(item), key_line});
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == '}') {
        ++pos_;
        return v;
      }
      fail("unexpected " + describe() + ": expected ',' or '}' in an object");
    }
  }

  Value array(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    ++pos_;  // '['
    Value v = Value::array();
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return v;
    }
    for (;;) {
      skip_ws();
      v.as_array().push_back(value(depth));
      skip_ws();
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < s_.size() && s_[pos_] == ']') {
        ++pos_;
        return v;
      }
      fail("unexpected " + describe() + ": expected ',' or ']' in an array");
    }
  }

  unsigned hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f')
        v |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        v |= static_cast<unsigned>(c - 'A' + 10);
      else
        fail("bad hex digit in a \\u escape");
    }
    return v;
  }

  std::string string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[pos_]);
      if (c == '"') {
        ++pos_;
        return out;
      }
      if (c < 0x20)
        fail(c == '\n' ? "unterminated string (line break inside a string)"
                       : "control character in a string (escape it)");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= s_.size()) fail("unterminated string");
        const char e = s_[pos_++];
        switch (e) {
          case '"':
            out += '"';
            break;
          case '\\':
            out += '\\';
            break;
          case '/':
            out += '/';
            break;
          case 'b':
            out += '\b';
            break;
          case 'f':
            out += '\f';
            break;
          case 'n':
            out += '\n';
            break;
          case 'r':
            out += '\r';
            break;
          case 't':
            out += '\t';
            break;
          case 'u': {
            std::uint32_t cp = hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (s_.substr(pos_, 2) != "\\u") fail("high surrogate not followed by a low surrogate");
              pos_ += 2;
              const std::uint32_t lo = hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate not followed by a low surrogate");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default:
            --pos_;
            fail("invalid escape '\\" + std::string(1, e) + "'");
        }
        continue;
      }
      if (c < 0x80) {
        out += static_cast<char>(c);
        ++pos_;
        continue;
      }
      const std::size_t n = utf8_sequence(s_, pos_);
      if (n == 0) fail("invalid UTF-8 in a string");
      out.append(s_.substr(pos_, n));
      pos_ += n;
    }
  }

  double number() {
    const std::size_t start = pos_;
    auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') ++pos_;
      return pos_ - from;
    };
    if (s_[pos_] == '-') ++pos_;
    if (pos_ < s_.size() && s_[pos_] == '0') {
      ++pos_;
      if (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') fail("leading zero in a number");
    } else if (digits() == 0) {
      fail("unexpected " + describe() + ": expected a digit");
    }
    if (pos_ < s_.size() && s_[pos_] == '.') {
      ++pos_;
      if (digits() == 0) fail("unexpected " + describe() + ": expected a digit after '.'");
    }
    if (pos_ < s_.size() && (s_[pos_] == 'e' || s_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < s_.size() && (s_[pos_] == '+' || s_[pos_] == '-')) ++pos_;
      if (digits() == 0) fail("unexpected " + describe() + ": expected a digit in the exponent");
    }
    double v = 0;
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    auto [ptr, ec] = std::from_chars(first, last, v);
    if (ec == std::errc::result_out_of_range) {
      pos_ = start;
      fail("number " + std::string(first, last) + " is out of range for a double");
    }
    if (ec != std::errc() || ptr != last) {
      pos_ = start;
      fail("malformed number");
    }
    return v;
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::size_t line_start_ = 0;
  int line_ = 1;
};

}  // namespace

model::Result<Value> parse(std::string_view text, std::string_view file_label) {
  try {
    Parser p(text);
    return p.document();
  } catch (const Failure& f) {
    return model::Error{std::string(file_label), f.line, "",
                        f.message + " (column " + std::to_string(f.column) + ")"};
  }
}

// ---- writer ---------------------------------------------------------------------------------

void append_number(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[64];
  if (v == 0) {
    out += '0';
    return;
  }
  if (std::trunc(v) == v && std::fabs(v) < 9007199254740992.0) {
    auto [p, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<std::int64_t>(v));
    out.append(buf, p);
    return;
  }
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

std::string format_number(double v) {
  std::string s;
  append_number(s, v);
  return s;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {  // a UTF-8 sequence as is; a malformed byte as U+FFFD, so the output stays JSON
      const std::size_t n = utf8_sequence(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(s.substr(i, n));
        i += n;
      }
      continue;
    }
    ++i;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

namespace {

bool all_scalars(const Value& v) {
  if (v.is_array()) {
    for (const auto& x : v.as_array())
      if (!x.is_scalar()) return false;
  } else {
    for (const auto& m : v.as_object())
      if (!m.value.is_scalar()) return false;
  }
  return true;
}

void write_value(std::string& out, const Value& v, const WriteOptions& o, int depth) {
  switch (v.type()) {
    case Type::Null:
      out += "null";
      return;
    case Type::Bool:
      out += v.as_bool() ? "true" : "false";
      return;
    case Type::Number:
      append_number(out, v.as_number());
      return;
    case Type::String:
      append_quoted(out, v.as_string());
      return;
    case Type::Array:
    case Type::Object:
      break;
  }
  const bool is_obj = v.is_object();
  const std::size_t n = is_obj ? v.as_object().size() : v.as_array().size();
  out += is_obj ? '{' : '[';
  if (n == 0) {
    out += is_obj ? '}' : ']';
    return;
  }
  const bool one_line = o.indent <= 0 || (o.inline_scalars && all_scalars(v));
  const char* sep = o.indent <= 0 ? "," : ", ";
  const char* colon = o.indent <= 0 ? ":" : ": ";
  for (std::size_t i = 0; i < n; ++i) {
    if (one_line) {
      if (i > 0) out += sep;
    } else {
      if (i > 0) out += ',';
      out += '\n';
      out.append(static_cast<std::size_t>(o.indent * (depth + 1)), ' ');
    }
    if (is_obj) {
      const auto& m = v.as_object()[i];
      append_quoted(out, m.key);
      out += colon;
      write_value(out, m.value, o, depth + 1);
    } else {
      write_value(out, v.as_array()[i], o, depth + 1);
    }
  }
  if (!one_line) {
    out += '\n';
    out.append(static_cast<std::size_t>(o.indent * depth), ' ');
  }
  out += is_obj ? '}' : ']';
}

}  // namespace

void write(std::string& out, const Value& v, const WriteOptions& options) { write_value(out, v, options, 0); }

std::string write(const Value& v, const WriteOptions& options) {
  std::string out;
  write(out, v, options);
  return out;
}

}  // namespace fabtwin::io::json
