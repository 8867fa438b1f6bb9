#pragma once
// A small, strict command-line parser shared by the subcommands: `--name value`, `--name=value`
// and flags; unknown options, missing values and bad numbers are errors naming the option.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace fabtwin::cli {

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // `options` take a value (`arity` values for names listed in `multi`), `flags` do not.
  Args(int argc, char** argv, int first, std::set<std::string> options, std::set<std::string> flags,
       std::map<std::string, int> multi = {});
  bool flag(const std::string& name) const { return flags_.count(name) > 0; }
  bool has(const std::string& name) const { return values_.count(name) > 0; }
  std::optional<std::string> get(const std::string& name) const;
  std::string require(const std::string& name) const;
  const std::vector<std::string>& values(const std::string& name) const;  // multi-valued option
  double number(const std::string& name, double fallback) const;          // finite number
  std::int64_t integer(const std::string& name, std::int64_t fallback, std::int64_t min = INT64_MIN) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::set<std::string> flags_;
  std::vector<std::string> positional_;
};

}  // namespace fabtwin::cli
