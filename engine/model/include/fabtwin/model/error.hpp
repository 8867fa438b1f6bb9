#pragma once
// Expected failures at the edges (a bad model file, a bad request): a value saying what and where.
#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace fabtwin::model {

struct Error {
  std::string file;     // path or table name ("" when not from a file)
  int line = 0;         // 1-based; 0 when not known
  std::string field;    // column / JSON key, "" when not about one field
  std::string message;  // what is wrong
  // "file:line: field 'X': message"
  std::string what() const;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Error error) : v_(std::move(error)) {}
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & {
    assert(ok());
    return std::get<0>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<0>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<0>(std::move(v_));
  }
  const Error& error() const {
    assert(!ok());
    return std::get<1>(v_);
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace fabtwin::model
