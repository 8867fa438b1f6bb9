#pragma once
// A small JSON value, parser and writer (RFC 8259, UTF-8), standard library only. The parser
// records the line of every value and key for error messages; numbers are doubles and round-trip
// exactly (shortest representation on output). Object members keep document order.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::io::json {

enum class Type : std::uint8_t { Null, Bool, Number, String, Array, Object };
std::string_view to_string(Type t);  // "null", "bool", "number", "string", "array", "object"

class Value;
struct Member;
using Array = std::vector<Value>;
using Object = std::vector<Member>;  // document order; parse() refuses duplicate keys

class Value {
 public:
  // (Constructors are defined below Member, which must be complete for the variant.)
  Value();  // null
  Value(std::nullptr_t);
  Value(bool b);
  Value(double n);
  Value(int n);
  Value(unsigned n);
  Value(long n);                // exact up to 2^53
  Value(unsigned long n);       // exact up to 2^53
  Value(long long n);           // exact up to 2^53
  Value(unsigned long long n);  // exact up to 2^53
  Value(std::string s);
  Value(std::string_view s);
  Value(const char* s);
  Value(Array a);
  Value(Object o);
  static Value array();
  static Value object();

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }
  bool is_scalar() const { return !is_array() && !is_object(); }

  // Accessors require the matching type (std::bad_variant_access otherwise).
  bool as_bool() const { return std::get<bool>(v_); }
  double as_number() const { return std::get<double>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }

  // The member `key` of an object, or nullptr (also when this is not an object).
  const Value* find(std::string_view key) const;
  const Member* find_member(std::string_view key) const;
  // Appends to an array; returns the new element.
  Value& push_back(Value v);
  // Appends a member to an object (no duplicate check); returns the new member's value.
  Value& add(std::string key, Value v);

  int line() const { return line_; }  // 1-based line where parsed; 0 when built in code
  void set_line(int line) { line_ = line; }

  friend bool operator==(const Value& a, const Value& b);  // structural; ignores lines

 private:
  std::variant<std::nullptr_t, bool, double, std::string, Array, Object> v_;
  int line_ = 0;
};

struct Member {
  std::string key;
  Value value;
  int line = 0;  // line of the key; 0 when built in code
  friend bool operator==(const Member& a, const Member& b) { return a.key == b.key && a.value == b.value; }
};

inline Value::Value() = default;
inline Value::Value(std::nullptr_t) {}
inline Value::Value(bool b) : v_(b) {}
inline Value::Value(double n) : v_(n) {}
inline Value::Value(int n) : v_(static_cast<double>(n)) {}
inline Value::Value(unsigned n) : v_(static_cast<double>(n)) {}
inline Value::Value(long n) : v_(static_cast<double>(n)) {}
inline Value::Value(unsigned long n) : v_(static_cast<double>(n)) {}
inline Value::Value(long long n) : v_(static_cast<double>(n)) {}
inline Value::Value(unsigned long long n) : v_(static_cast<double>(n)) {}
inline Value::Value(std::string s) : v_(std::move(s)) {}
inline Value::Value(std::string_view s) : v_(std::string(s)) {}
inline Value::Value(const char* s) : v_(std::string(s)) {}
inline Value::Value(Array a) : v_(std::move(a)) {}
inline Value::Value(Object o) : v_(std::move(o)) {}
inline Value Value::array() { return Value(Array{}); }
inline Value Value::object() { return Value(Object{}); }

// Parses one JSON document. Errors carry `file_label`, the line and a message with the column;
// nesting deeper than kMaxDepth, duplicate keys, invalid UTF-8, numbers out of double range and
// lone surrogates are refused. A leading UTF-8 byte-order mark is skipped.
inline constexpr int kMaxDepth = 256;
model::Result<Value> parse(std::string_view text, std::string_view file_label = "<memory>");

struct WriteOptions {
  int indent = 2;              // spaces per level; 0: everything on one line, no spaces
  bool inline_scalars = true;  // arrays/objects holding only scalars are written on one line
};
// Serialises `v`; no trailing newline. Non-finite numbers are written as null.
std::string write(const Value& v, const WriteOptions& options = {});
void write(std::string& out, const Value& v, const WriteOptions& options = {});

// Shortest text that reads back as the same double; whole numbers below 2^53 without exponent
// or fraction ("25", not "25.0" or "2.5e+01"); -0 as "0"; non-finite as "null".
std::string format_number(double v);
void append_number(std::string& out, double v);
// A JSON string literal, quotes included; control characters, '"' and '\' escaped; a byte that
// is not part of well-formed UTF-8 is written as U+FFFD, so the output is always valid JSON.
void append_quoted(std::string& out, std::string_view s);

// True when `s` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// Offset of the first byte of `s` that is not well-formed UTF-8; s.size() when all is.
std::size_t utf8_error_offset(std::string_view s);

}  // namespace fabtwin::io::json
