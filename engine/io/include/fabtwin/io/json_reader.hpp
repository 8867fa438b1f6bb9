#pragma once
// Reading a JSON object member by member: its keys checked against the allowed set, every error
// naming the file, the line and the member's JSON path ("scenarios[1].deltas[0].group"). The
// readers of scenario files (scenario_io) and what-if specs (services/whatif) derive their typed
// accessors from ObjectReader; a failure throws ReadError, which the reader turns into its
// Result at its public edge (it never crosses a public API).
#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "fabtwin/io/json.hpp"
#include "fabtwin/model/error.hpp"

namespace fabtwin::io::json {

struct ReadError {
  model::Error error;
};

// "a string", "an object", ...
inline std::string type_name(Type t) {
  return std::string(t == Type::Array || t == Type::Object ? "an " : "a ") + std::string(to_string(t));
}

class ObjectReader {
 public:
  // Throws ReadError when `v` is not an object or has a key outside `allowed`.
  ObjectReader(const std::string& file, const Value& v, std::string path,
               std::initializer_list<std::string_view> allowed)
      : file_(file), v_(v), path_(std::move(path)) {
    if (!v.is_object()) fail(path_, v.line(), "expected an object, got " + type_name(v.type()));
    for (const auto& m : v.as_object())
      if (std::find(allowed.begin(), allowed.end(), m.key) == allowed.end()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        fail(sub(m.key), m.line, "unknown key \"" + m.key + "\" (expected one of: " + list + ")");
      }
  }

  [[noreturn]] void fail(const std::string& field, int line, std::string message) const {
    throw ReadError{model::Error{file_, line, field, std::move(message)}};
  }
  // The JSON path of a member.
  std::string sub(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }

 protected:
  const std::string& file_;
  const Value& v_;
  std::string path_;
};

}  // namespace fabtwin::io::json
