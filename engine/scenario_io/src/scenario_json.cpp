// Scenario files: JSON <-> des::Scenario (scenario_json.hpp).
#include "fabtwin/scenario_io/scenario_json.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <new>
#include <optional>
#include <type_traits>
#include <variant>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/json_reader.hpp"

namespace fabtwin::scenario_io {
namespace {

using io::json::Type;
using io::json::Value;
using model::Error;
using model::Result;

constexpr std::string_view kSchema = "fabtwin.v1.Scenario";
constexpr std::string_view kKinds[] = {"tool_count",  "rule",         "process_time_factor", "release",
                                       "product_mix", "availability", "transport_factor"};

using io::json::ReadError;
using io::json::type_name;

// A JSON object being read: its keys checked against the allowed set, typed members read.
class Obj : public io::json::ObjectReader {
 public:
  using ObjectReader::ObjectReader;

  bool has(std::string_view key) const { return v_.find(key) != nullptr; }
  int line() const { return v_.line(); }

  const Value& typed(std::string_view key, Type t) const {
    const Value* x = v_.find(key);
    if (!x) fail(sub(key), v_.line(), "missing key \"" + std::string(key) + "\"");
    if (x->type() != t)
      fail(sub(key), x->line(), "expected " + type_name(t) + ", got " + type_name(x->type()));
    return *x;
  }
  std::string string(std::string_view key) const { return typed(key, Type::String).as_string(); }
  std::string string_or(std::string_view key) const { return has(key) ? string(key) : std::string(); }
  double number(std::string_view key) const { return typed(key, Type::Number).as_number(); }
  std::optional<double> opt_number(std::string_view key) const {
    return has(key) ? std::optional{number(key)} : std::nullopt;
  }
  std::uint32_t whole(std::string_view key) const {
    const double v = number(key);
    if (std::trunc(v) != v || v < 0 || v > 4294967295.0)
      fail(sub(key), v_.find(key)->line(),
           io::json::format_number(v) + " is not a whole number in 0..4294967295");
    return static_cast<std::uint32_t>(v);
  }
  std::optional<std::uint32_t> opt_whole(std::string_view key) const {
    return has(key) ? std::optional{whole(key)} : std::nullopt;
  }
};

des::Delta read_delta(const std::string& file, const Value& v, const std::string& path) {
  if (!v.is_object())
    throw ReadError{Error{file, v.line(), path, "expected an object, got " + type_name(v.type())}};
  const auto& members = v.as_object();
  std::string kinds;
  for (auto k : kKinds) kinds += (kinds.empty() ? "" : ", ") + std::string(k);
  if (members.size() != 1)
    throw ReadError{Error{file, v.line(), path,
                          "a delta is an object with exactly one key, one of: " + kinds + " (got " +
                              std::to_string(members.size()) + ")"}};
  const auto& m = members.front();
  const std::string p = path + "." + m.key;
  des::Delta d;
  d.line = m.line;
  if (m.key == "tool_count") {
    const Obj o(file, m.value, p, {"group", "count"});
    d.change = des::ToolCountDelta{o.string("group"), o.whole("count")};
  } else if (m.key == "rule") {
    const Obj o(file, m.value, p, {"group", "rule"});
    d.change = des::RuleDelta{o.string("group"), o.string("rule")};
  } else if (m.key == "process_time_factor") {
    const Obj o(file, m.value, p, {"group", "route", "step", "factor"});
    d.change = des::ProcessTimeDelta{o.string_or("group"), o.string_or("route"), o.opt_whole("step"),
                                     o.number("factor")};
  } else if (m.key == "release") {
    const Obj o(file, m.value, p, {"order", "interval_factor", "lots_per_release"});
    d.change = des::ReleaseDelta{o.string("order"), o.opt_number("interval_factor"),
                                 o.opt_whole("lots_per_release")};
  } else if (m.key == "product_mix") {
    const Obj o(file, m.value, p, {"product", "factor"});
    d.change = des::ProductMixDelta{o.string("product"), o.number("factor")};
  } else if (m.key == "availability") {
    const Obj o(file, m.value, p,
                {"group", "mttf_factor", "mttr_factor", "pm_interval_factor", "pm_duration_factor"});
    d.change =
        des::AvailabilityDelta{o.string("group"), o.opt_number("mttf_factor"), o.opt_number("mttr_factor"),
                               o.opt_number("pm_interval_factor"), o.opt_number("pm_duration_factor")};
  } else if (m.key == "transport_factor") {
    if (!m.value.is_number())
      throw ReadError{Error{file, m.value.line(), p, "expected a number, got " + type_name(m.value.type())}};
    d.change = des::TransportDelta{m.value.as_number()};
  } else {
    throw ReadError{
        Error{file, m.line, p, "unknown delta \"" + m.key + "\" (expected one of: " + kinds + ")"}};
  }
  return d;
}

des::Scenario read(const std::string& file, const Value& root) {
  const Obj o(file, root, "", {"schema", "name", "deltas"});
  des::Scenario s;
  s.file = file;
  if (o.has("schema")) {
    const Value* v = root.find("schema");
    if (!v->is_string() || v->as_string() != kSchema)
      o.fail("schema", v->line(), "expected \"" + std::string(kSchema) + "\"");
  }
  if (o.has("name")) {
    const Value* v = root.find("name");
    if (!v->is_string()) o.fail("name", v->line(), "expected a string, got " + type_name(v->type()));
    s.name = v->as_string();
  }
  const Value* deltas = root.find("deltas");
  if (!deltas) o.fail("deltas", root.line(), "missing key \"deltas\"");
  if (!deltas->is_array())
    o.fail("deltas", deltas->line(), "expected an array, got " + type_name(deltas->type()));
  const auto& arr = deltas->as_array();
  s.deltas.reserve(arr.size());
  for (std::size_t i = 0; i < arr.size(); ++i)
    s.deltas.push_back(read_delta(file, arr[i], "deltas[" + std::to_string(i) + "]"));
  return s;
}

template <class T>
void add_opt(Value& o, const char* key, const std::optional<T>& v) {
  if (v) o.add(key, *v);
}

Value delta_json(const des::Delta& d) {
  Value body = Value::object();
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, des::ToolCountDelta>) {
          body.add("group", x.group);
          body.add("count", x.count);
        } else if constexpr (std::is_same_v<T, des::RuleDelta>) {
          body.add("group", x.group);
          body.add("rule", x.rule);
        } else if constexpr (std::is_same_v<T, des::ProcessTimeDelta>) {
          if (!x.group.empty()) body.add("group", x.group);
          if (!x.route.empty()) body.add("route", x.route);
          add_opt(body, "step", x.step);
          body.add("factor", x.factor);
        } else if constexpr (std::is_same_v<T, des::ReleaseDelta>) {
          body.add("order", x.order);
          add_opt(body, "interval_factor", x.interval_factor);
          add_opt(body, "lots_per_release", x.lots_per_release);
        } else if constexpr (std::is_same_v<T, des::ProductMixDelta>) {
          body.add("product", x.product);
          body.add("factor", x.factor);
        } else if constexpr (std::is_same_v<T, des::AvailabilityDelta>) {
          body.add("group", x.group);
          add_opt(body, "mttf_factor", x.mttf_factor);
          add_opt(body, "mttr_factor", x.mttr_factor);
          add_opt(body, "pm_interval_factor", x.pm_interval_factor);
          add_opt(body, "pm_duration_factor", x.pm_duration_factor);
        } else {
          static_assert(std::is_same_v<T, des::TransportDelta>);
          body = Value(x.factor);
        }
      },
      d.change);
  Value o = Value::object();
  o.add(std::string(des::delta_key(d)), std::move(body));
  return o;
}

}  // namespace

Result<des::Scenario> parse_scenario(std::string_view text, std::string_view file_label) {
  const std::string file(file_label);
  try {
    auto root = io::json::parse(text, file);
    if (!root) return root.error();
    return read(file, *root);
  } catch (const ReadError& e) {
    return e.error;
  } catch (const std::bad_alloc&) {
    return Error{file, 0, "", "out of memory while reading the scenario"};
  }
}

Result<des::Scenario> scenario_from_json(const io::json::Value& root, std::string_view file_label) {
  const std::string file(file_label);
  try {
    return read(file, root);
  } catch (const ReadError& e) {
    return e.error;
  }
}

Result<des::Scenario> read_scenario(const std::filesystem::path& file) {
  auto text = io::read_file(file, std::uintmax_t{64} << 20);
  if (!text.ok()) return text.error();
  return parse_scenario(text.value(), file.string());
}

std::string to_scenario_json(const des::Scenario& s) {
  Value root = Value::object();
  root.add("schema", kSchema);
  root.add("name", s.name);
  Value deltas = Value::array();
  for (const auto& d : s.deltas) deltas.push_back(delta_json(d));
  root.add("deltas", std::move(deltas));
  return io::json::write(root) + "\n";
}

}  // namespace fabtwin::scenario_io
