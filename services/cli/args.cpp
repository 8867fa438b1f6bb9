#include "args.hpp"

#include <charconv>
#include <cmath>

namespace fabtwin::cli {

Args::Args(int argc, char** argv, int first, std::set<std::string> options, std::set<std::string> flags,
           std::map<std::string, int> multi) {
  for (int i = first; i < argc; ++i) {
    std::string a = argv[i];
    if (a.size() < 3 || a.rfind("--", 0) != 0) {
      positional_.push_back(a);
      continue;
    }
    std::optional<std::string> inline_value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      inline_value = a.substr(eq + 1);
      a = a.substr(0, eq);
    }
    if (flags.count(a)) {
      if (inline_value) throw UsageError(a + " takes no value");
      flags_.insert(a);
      continue;
    }
    if (!options.count(a)) throw UsageError("unknown option " + a);
    const int arity = multi.count(a) ? multi.at(a) : 1;
    std::vector<std::string> vals;
    if (inline_value) vals.push_back(*inline_value);
    while (static_cast<int>(vals.size()) < arity) {
      if (i + 1 >= argc) throw UsageError(a + " needs " + std::to_string(arity) + (arity == 1 ? " value" : " values"));
      vals.push_back(argv[++i]);
    }
    values_[a] = std::move(vals);
  }
}

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second.front();
}

std::string Args::require(const std::string& name) const {
  auto v = get(name);
  if (!v) throw UsageError("missing required option " + name);
  return *v;
}

const std::vector<std::string>& Args::values(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = values_.find(name);
  return it == values_.end() ? none : it->second;
}

double Args::number(const std::string& name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  double x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc{} || p != v->data() + v->size() || !std::isfinite(x))
    throw UsageError(name + ": '" + *v + "' is not a number");
  return x;
}

std::int64_t Args::integer(const std::string& name, std::int64_t fallback, std::int64_t min) const {
  auto v = get(name);
  if (!v) return fallback;
  std::int64_t x = 0;
  auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), x);
  if (ec != std::errc{} || p != v->data() + v->size()) throw UsageError(name + ": '" + *v + "' is not a whole number");
  if (x < min) throw UsageError(name + ": must be at least " + std::to_string(min));
  return x;
}

}  // namespace fabtwin::cli
