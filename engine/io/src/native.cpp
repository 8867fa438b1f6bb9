// The native model format: one JSON document, schema "fabtwin.v1.Model" (docs/model-format.md).
// References are by name (tool groups, setups, calendars, ...) or by step number within the route,
// so that the file can be edited by hand; unknown keys are errors.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <new>
#include <sstream>
#include <unordered_map>

#include "fabtwin/io/civil_time.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "tsv.hpp"

namespace fabtwin::io {
namespace {

using namespace model;
using detail::NameMap;
using detail::ReadError;
using json::Value;

constexpr std::string_view kSchema = "fabtwin.v1.Model";
constexpr std::uint32_t kMaxToolsPerGroup = 100'000;
constexpr std::size_t kMaxTools = 1'000'000;
constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53
constexpr std::int64_t kDefaultEpochUnixS = 1514764800;  // 2018-01-01T00:00:00Z

// ---- enum spellings (the model's to_string where it has one) ---------------------------------

std::string_view wake_name(WakeRule w) {
  return w == WakeRule::LeastSetupTime ? "wake_LeastSetupTime" : "wake_LongestIdle";
}
std::string_view criterion_name(BatchCriterion c) {
  return c == BatchCriterion::SameRouteStep ? "crit_sameroutestep" : "none";
}
std::string_view batch_unit_name(BatchCountUnit u) {
  return u == BatchCountUnit::Piece ? "piece" : u == BatchCountUnit::Lot ? "lot" : "none";
}
std::string_view trigger_name(PmTrigger t) {
  return t == PmTrigger::Pieces ? "mtbpm_by_pieces" : "mtbpm_by_cal";
}

// ---- writer ---------------------------------------------------------------------------------

Value quantity_json(const Quantity& q) {
  Value v = Value::object();
  v.add("value", q.value);
  v.add("unit", to_string(q.unit));
  return v;
}

Value dist_json(const Distribution& d) {
  Value v = Value::object();
  v.add("dist", to_string(d.kind));
  switch (d.kind) {
    case DistKind::Constant:
      v.add("value", d.a);
      break;
    case DistKind::Uniform:
      v.add("mean", d.a);
      v.add("half_width", d.b);
      break;
    case DistKind::Exponential:
      v.add("mean", d.a);
      break;
    case DistKind::Triangular:
      v.add("min", d.a);
      v.add("mode", d.b);
      v.add("max", d.c);
      break;
    case DistKind::Normal:
    case DistKind::Lognormal:
      v.add("mean", d.a);
      v.add("sd", d.b);
      break;
  }
  v.add("unit", to_string(d.unit));
  return v;
}

// An instant as an ISO-8601 UTC string when it falls in years 0000..9999, else ms since the epoch.
Value time_json(SimTime t, std::int64_t epoch_unix_s) {
  std::int64_t unix_ms = 0;
  if (!__builtin_mul_overflow(epoch_unix_s, std::int64_t{1000}, &unix_ms) &&
      !__builtin_add_overflow(unix_ms, t.time_since_epoch().count(), &unix_ms) && unix_ms >= kIsoMinUnixMs &&
      unix_ms <= kIsoMaxUnixMs)
    return Value(format_iso8601(unix_ms));
  return Value(t.time_since_epoch().count());
}

void add_if(Value& obj, const char* key, const std::string& s) {
  if (!s.empty()) obj.add(key, s);
}

Value write_model(const ModelData& d) {
  Value root = Value::object();
  root.add("schema", kSchema);
  root.add("name", d.name);
  add_if(root, "source", d.source);
  if (d.epoch_unix_s >= kIsoMinUnixMs / 1000 && d.epoch_unix_s <= kIsoMaxUnixMs / 1000)
    root.add("epoch", format_iso8601(d.epoch_unix_s * 1000));
  else
    root.add("epoch", d.epoch_unix_s);  // refused by the reader; never made by it

  auto names = [](const auto& table) {
    Value a = Value::array();
    for (const auto& x : table) {
      Value o = Value::object();
      o.add("name", x.name);
      a.push_back(std::move(o));
    }
    return a;
  };
  root.add("areas", names(d.areas));
  root.add("locations", names(d.locations));
  root.add("setups", names(d.setups));

  Value groups = Value::array();
  for (const auto& g : d.setup_groups) {
    Value o = Value::object();
    o.add("name", g.name);
    Value members = Value::array();
    for (const auto& m : g.members) {
      Value mo = Value::object();
      mo.add("setup", d.setups[m.setup.index()].name);
      mo.add("min_run", m.min_run);
      add_if(mo, "comment", m.comment);
      members.push_back(std::move(mo));
    }
    o.add("members", std::move(members));
    groups.push_back(std::move(o));
  }
  root.add("setup_groups", std::move(groups));

  Value tgs = Value::array();
  for (std::size_t gi = 0; gi < d.tool_groups.size(); ++gi) {
    const auto& g = d.tool_groups[gi];
    Value o = Value::object();
    o.add("name", g.name);
    add_if(o, "station_name", g.station_name);
    o.add("area", d.areas[g.area.index()].name);
    o.add("location", d.locations[g.location.index()].name);
    o.add("tool_count", g.tool_count);
    o.add("rule", to_string(g.rule));
    Value ranks = Value::array();
    for (auto k : g.ranks) ranks.push_back(to_string(k));
    o.add("ranks", std::move(ranks));
    if (g.wake != WakeRule::LongestIdle) o.add("wake", wake_name(g.wake));
    if (g.batch_criterion != BatchCriterion::None)
      o.add("batch_criterion", criterion_name(g.batch_criterion));
    if (g.batch_unit != BatchCountUnit::None) o.add("batch_unit", batch_unit_name(g.batch_unit));
    o.add("load_time", quantity_json(g.load_time));
    o.add("unload_time", quantity_json(g.unload_time));
    o.add("cascade_capacity", g.cascade_capacity);
    add_if(o, "action_list", g.action_list);
    if (g.pre_rule_rwl) o.add("pre_rule_rwl", true);
    if (g.setup_group) o.add("setup_group", d.setup_groups[g.setup_group->index()].name);
    bool default_names = true;
    for (std::uint32_t k = 0; k < g.tool_count && default_names; ++k)
      default_names = d.tools[g.first_tool.index() + k].name == g.name + "_" + std::to_string(k + 1);
    if (!default_names) {
      Value tools = Value::array();
      for (std::uint32_t k = 0; k < g.tool_count; ++k)
        tools.push_back(d.tools[g.first_tool.index() + k].name);
      o.add("tools", std::move(tools));
    }
    tgs.push_back(std::move(o));
  }
  root.add("tool_groups", std::move(tgs));

  Value transitions = Value::array();
  for (const auto& st : d.setup_transitions) {
    Value o = Value::object();
    if (st.from) o.add("from", d.setups[st.from->index()].name);
    o.add("to", d.setups[st.to.index()].name);
    o.add("time", quantity_json(st.time));
    add_if(o, "comment", st.comment);
    transitions.push_back(std::move(o));
  }
  root.add("setup_transitions", std::move(transitions));

  auto step_number = [&](StepId id) { return d.steps[id.index()].number; };
  Value routes = Value::array();
  for (const auto& r : d.routes) {
    Value o = Value::object();
    o.add("name", r.name);
    add_if(o, "file", r.file);
    Value steps = Value::array();
    for (std::uint32_t i = 0; i < r.step_count; ++i) {
      const Step& s = d.steps[r.first_step.index() + i];
      Value so = Value::object();
      so.add("number", s.number);
      add_if(so, "description", s.description);
      so.add("tool_group", d.tool_groups[s.tool_group.index()].name);
      so.add("process_time", dist_json(s.process_time));
      so.add("process_unit", to_string(s.process_unit));
      if (s.batch_min != 0) so.add("batch_min", s.batch_min);
      if (s.batch_max != 0) so.add("batch_max", s.batch_max);
      if (s.setup) so.add("setup", d.setups[s.setup->index()].name);
      if (s.setup_when != SetupWhen::Need) so.add("setup_when", to_string(s.setup_when));
      if (s.setup_time) so.add("setup_time", quantity_json(*s.setup_time));
      if (s.dedicate) so.add("dedicate", true);
      if (s.dedicate_for) so.add("dedicate_for", step_number(*s.dedicate_for));
      if (s.batch_interval) so.add("batch_interval", quantity_json(*s.batch_interval));
      if (s.part_interval) so.add("part_interval", quantity_json(*s.part_interval));
      if (s.rework_step) so.add("rework_step", step_number(*s.rework_step));
      if (s.rework_percent != 0) so.add("rework_percent", s.rework_percent);
      add_if(so, "rework_type", s.rework_type);
      if (s.sample_percent != 100) so.add("sample_percent", s.sample_percent);
      if (s.cqt_to) so.add("cqt_to", step_number(*s.cqt_to));
      if (s.cqt) so.add("cqt", quantity_json(*s.cqt));
      add_if(so, "comment", s.comment);
      steps.push_back(std::move(so));
    }
    o.add("steps", std::move(steps));
    routes.push_back(std::move(o));
  }
  root.add("routes", std::move(routes));

  Value products = Value::array();
  for (const auto& p : d.products) {
    Value o = Value::object();
    o.add("name", p.name);
    add_if(o, "group", p.group);
    add_if(o, "family", p.family);
    o.add("route", d.routes[p.route.index()].name);
    products.push_back(std::move(o));
  }
  root.add("products", std::move(products));

  Value downs = Value::array();
  for (const auto& c : d.down_calendars) {
    Value o = Value::object();
    o.add("name", c.name);
    add_if(o, "type", c.type);
    o.add("time_to_failure", dist_json(c.time_to_failure));
    o.add("time_to_repair", dist_json(c.time_to_repair));
    add_if(o, "comment", c.comment);
    downs.push_back(std::move(o));
  }
  root.add("down_calendars", std::move(downs));

  Value pms = Value::array();
  for (const auto& c : d.pm_calendars) {
    Value o = Value::object();
    o.add("name", c.name);
    o.add("trigger", trigger_name(c.trigger));
    o.add("interval", quantity_json(c.interval));
    o.add("duration", dist_json(c.duration));
    add_if(o, "comment", c.comment);
    pms.push_back(std::move(o));
  }
  root.add("pm_calendars", std::move(pms));

  Value attachments = Value::array();
  for (const auto& a : d.attachments) {
    Value o = Value::object();
    if (a.is_pm)
      o.add("pm_calendar", d.pm_calendars[a.calendar].name);
    else
      o.add("down_calendar", d.down_calendars[a.calendar].name);
    if (a.target_kind == AttachTarget::Area)
      o.add("area", d.areas[a.target].name);
    else
      o.add("tool_group", d.tool_groups[a.target].name);
    o.add("first_occurrence", dist_json(a.first_occurrence));
    attachments.push_back(std::move(o));
  }
  root.add("attachments", std::move(attachments));

  Value transports = Value::array();
  for (const auto& t : d.transports) {
    Value o = Value::object();
    o.add("from", d.locations[t.from.index()].name);
    o.add("to", d.locations[t.to.index()].name);
    o.add("time", dist_json(t.time));
    transports.push_back(std::move(o));
  }
  root.add("transports", std::move(transports));

  Value orders = Value::array();
  for (const auto& x : d.orders) {
    Value o = Value::object();
    o.add("lot_prefix", x.lot_prefix);
    o.add("product", d.products[x.product.index()].name);
    o.add("priority", x.priority);
    o.add("pieces", x.pieces);
    o.add("start", time_json(x.start, d.epoch_unix_s));
    o.add("interval", dist_json(x.interval));
    o.add("repeat_count", x.repeat_count);
    o.add("lots_per_release", x.lots_per_release);
    o.add("due", time_json(x.due, d.epoch_unix_s));
    add_if(o, "order_name", x.order_name);
    if (x.hot_lot_flag) o.add("hot_lot_flag", true);
    orders.push_back(std::move(o));
  }
  root.add("orders", std::move(orders));

  Value wip = Value::array();
  for (const auto& w : d.wip) {
    Value o = Value::object();
    o.add("name", w.name);
    o.add("product", d.products[w.product.index()].name);
    o.add("priority", w.priority);
    o.add("pieces", w.pieces);
    o.add("start", time_json(w.start, d.epoch_unix_s));
    o.add("current_step", step_number(w.current_step));
    o.add("due", time_json(w.due, d.epoch_unix_s));
    add_if(o, "order_name", w.order_name);
    if (w.hot_lot_flag) o.add("hot_lot_flag", true);
    add_if(o, "trace", w.trace);
    wip.push_back(std::move(o));
  }
  root.add("wip", std::move(wip));
  return root;
}

// ---- reader ---------------------------------------------------------------------------------

// Where a model row came from: its JSON object and path, to place Model::build's errors.
struct Origin {
  const Value* object = nullptr;
  std::string path;
};

class Obj;

class NativeReader {
 public:
  explicit NativeReader(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, int line, std::string message) const {
    detail::fail(file_, line, path, std::move(message));
  }

  Result<Model> run(const Value& root);

 private:
  friend class Obj;
  Error locate(Error e) const;
  std::int64_t epoch_unix_s_ = kDefaultEpochUnixS;
  std::string file_;
  std::unordered_map<std::string, std::vector<Origin>> origins_;
};

// A JSON object being read: checks its keys against the allowed set and reads typed members.
class Obj {
 public:
  Obj(const NativeReader& r, const Value& v, std::string path,
      std::initializer_list<std::string_view> allowed)
      : r_(r), v_(v), path_(std::move(path)) {
    if (!v.is_object())
      r.fail(path_, v.line(), "expected an object, got " + std::string(json::to_string(v.type())));
    for (const auto& m : v.as_object()) {
      bool ok = false;
      for (auto a : allowed) ok = ok || a == m.key;
      if (!ok) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        r.fail(sub(m.key), m.line, "unknown key \"" + m.key + "\" (expected one of: " + list + ")");
      }
    }
  }

  const Value& value() const { return v_; }
  const std::string& path() const { return path_; }
  std::string sub(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
  bool has(std::string_view key) const { return v_.find(key) != nullptr; }
  const Value* get(std::string_view key) const { return v_.find(key); }

  [[noreturn]] void fail_at(std::string_view key, std::string message) const {
    const json::Member* m = v_.find_member(key);
    r_.fail(sub(key), m ? m->value.line() : v_.line(), std::move(message));
  }

  const Value& need(std::string_view key) const {
    const Value* x = get(key);
    if (!x) r_.fail(sub(key), v_.line(), "missing key \"" + std::string(key) + "\"");
    return *x;
  }

  const Value& typed(std::string_view key, json::Type t) const {
    const Value& x = need(key);
    if (x.type() != t)
      fail_at(key, "expected " +
                       std::string(t == json::Type::Array || t == json::Type::Object ? "an " : "a ") +
                       std::string(json::to_string(t)) + ", got " + std::string(json::to_string(x.type())));
    return x;
  }

  std::string string(std::string_view key) const { return typed(key, json::Type::String).as_string(); }
  std::string string_or(std::string_view key, std::string fallback = {}) const {
    return has(key) ? string(key) : std::move(fallback);
  }
  std::string name(std::string_view key) const {
    std::string s = string(key);
    if (s.empty()) fail_at(key, "empty name");
    return s;
  }
  double number(std::string_view key) const { return typed(key, json::Type::Number).as_number(); }
  double number_or(std::string_view key, double fallback) const { return has(key) ? number(key) : fallback; }
  bool boolean_or(std::string_view key, bool fallback) const {
    return has(key) ? typed(key, json::Type::Bool).as_bool() : fallback;
  }
  std::uint32_t whole(std::string_view key, std::uint32_t lo = 0, std::uint32_t hi = UINT32_MAX) const {
    const double v = number(key);
    if (std::trunc(v) != v) fail_at(key, json::format_number(v) + " is not a whole number");
    if (v < lo || v > hi)
      fail_at(key, json::format_number(v) + " is out of range (" + std::to_string(lo) + ".." +
                       std::to_string(hi) + ")");
    return static_cast<std::uint32_t>(v);
  }
  std::uint32_t whole_or(std::string_view key, std::uint32_t fallback, std::uint32_t lo = 0,
                         std::uint32_t hi = UINT32_MAX) const {
    return has(key) ? whole(key, lo, hi) : fallback;
  }
  const json::Array& array(std::string_view key) const { return typed(key, json::Type::Array).as_array(); }
  const json::Array& array_or_empty(std::string_view key) const {
    static const json::Array kEmpty;
    return has(key) ? array(key) : kEmpty;
  }

  // An enum given by its spelling; `names` lists them in enum order.
  template <class E, std::size_t N>
  E enumeration(std::string_view key, const std::string_view (&names)[N]) const {
    const std::string s = string(key);
    for (std::size_t i = 0; i < N; ++i)
      if (names[i] == s) return static_cast<E>(i);
    std::string list;
    for (auto n : names) list += (list.empty() ? "" : ", ") + std::string(n);
    fail_at(key, "unknown value \"" + s + "\" (expected one of: " + list + ")");
  }

  Unit unit(std::string_view key, bool time_only) const {
    const std::string s = string(key);
    const auto u = parse_unit(s);
    if (!u || to_string(*u) != s)
      fail_at(key, "unknown unit \"" + s + "\" (expected ms, sec, min, hr, day or pieces)");
    if (time_only && !is_time(*u)) fail_at(key, "needs a time unit, not pieces");
    return *u;
  }

  Quantity quantity(std::string_view key, bool time_only = true) const {
    const Obj q(r_, typed(key, json::Type::Object), sub(key), {"value", "unit"});
    return Quantity{q.number("value"), q.unit("unit", time_only)};
  }
  std::optional<Quantity> opt_quantity(std::string_view key) const {
    return has(key) ? std::optional{quantity(key)} : std::nullopt;
  }

  Distribution dist(std::string_view key, bool time_only = true) const {
    const Value& v = typed(key, json::Type::Object);
    const Obj head(r_, v, sub(key),
                   {"dist", "value", "mean", "half_width", "min", "mode", "max", "sd", "unit"});
    const std::string kind_name = head.string("dist");
    const auto kind = parse_dist_kind(kind_name);
    if (!kind)
      head.fail_at("dist",
                   "unknown distribution \"" + kind_name +
                       "\" (expected constant, uniform, exponential, triangular, normal or lognormal)");
    Distribution d;
    d.kind = *kind;
    switch (d.kind) {
      case DistKind::Constant: {
        const Obj o(r_, v, sub(key), {"dist", "value", "unit"});
        d.a = o.number("value");
        break;
      }
      case DistKind::Uniform: {
        const Obj o(r_, v, sub(key), {"dist", "mean", "half_width", "unit"});
        d.a = o.number("mean");
        d.b = o.number("half_width");
        break;
      }
      case DistKind::Exponential: {
        const Obj o(r_, v, sub(key), {"dist", "mean", "unit"});
        d.a = o.number("mean");
        break;
      }
      case DistKind::Triangular: {
        const Obj o(r_, v, sub(key), {"dist", "min", "mode", "max", "unit"});
        d.a = o.number("min");
        d.b = o.number("mode");
        d.c = o.number("max");
        break;
      }
      case DistKind::Normal:
      case DistKind::Lognormal: {
        const Obj o(r_, v, sub(key), {"dist", "mean", "sd", "unit"});
        d.a = o.number("mean");
        d.b = o.number("sd");
        break;
      }
    }
    d.unit = head.unit("unit", time_only);
    return d;
  }

  // An instant: ISO-8601 UTC text, or a whole number of ms since the model's epoch.
  SimTime time(std::string_view key, SimTime fallback = {}) const {
    const Value* x = get(key);
    if (!x) return fallback;
    if (x->is_number()) {
      const double v = x->as_number();
      if (std::trunc(v) != v || std::fabs(v) > kMaxExactInteger)
        fail_at(key, "a time as a number must be whole milliseconds since the epoch (|t| <= 2^53)");
      return SimTime{Duration{static_cast<std::int64_t>(v)}};
    }
    if (!x->is_string())
      fail_at(key, "expected an ISO-8601 time string (e.g. \"2018-01-03T06:19:32.000Z\"), got " +
                       std::string(json::to_string(x->type())));
    const auto ms = parse_iso8601(x->as_string());
    if (!ms) fail_at(key, "\"" + x->as_string() + "\" is not an ISO-8601 time (YYYY-MM-DDTHH:MM:SS.mmmZ)");
    return SimTime{Duration{*ms - r_.epoch_unix_s_ * 1000}};
  }

 private:
  const NativeReader& r_;
  const Value& v_;
  std::string path_;
};

std::string at(std::string_view table, std::size_t i) {
  return std::string(table) + "[" + std::to_string(i) + "]";
}

// Name -> id of a table being read; refuses duplicates naming the earlier row.
struct Names {
  std::string_view what;
  NameMap<std::uint32_t> ids;
  std::vector<std::string> paths;

  void add(const Obj& o, std::string_view key, const std::string& name) {
    const auto [it, fresh] = ids.emplace(name, static_cast<std::uint32_t>(paths.size()));
    if (!fresh)
      o.fail_at(key, "duplicate " + std::string(what) + " \"" + name + "\" (also " + paths[it->second] + ")");
    paths.push_back(o.path());
  }
  std::uint32_t find(const Obj& o, std::string_view key) const {
    const std::string name = o.string(key);
    const auto it = ids.find(name);
    if (it == ids.end()) o.fail_at(key, "unknown " + std::string(what) + " \"" + name + "\"");
    return it->second;
  }
};

Result<Model> NativeReader::run(const Value& root) {
  static constexpr std::string_view kRuleNames[] = {"rule_HotLotFIRST", "rule_LSSU"};
  static constexpr std::string_view kWakeNames[] = {"wake_LongestIdle", "wake_LeastSetupTime"};
  static constexpr std::string_view kCriterionNames[] = {"none", "crit_sameroutestep"};
  static constexpr std::string_view kBatchUnitNames[] = {"none", "piece", "lot"};
  static constexpr std::string_view kProcessUnitNames[] = {"per_piece", "per_lot", "per_batch"};
  static constexpr std::string_view kWhenNames[] = {"need", "always"};
  static constexpr std::string_view kTriggerNames[] = {"mtbpm_by_cal", "mtbpm_by_pieces"};

  const Obj top(*this, root, "",
                {"schema", "name", "source", "epoch", "areas", "locations", "setups", "setup_groups",
                 "tool_groups", "setup_transitions", "routes", "products", "down_calendars", "pm_calendars",
                 "attachments", "transports", "orders", "wip"});
  if (const std::string schema = top.string("schema"); schema != kSchema)
    top.fail_at("schema", "schema \"" + schema + "\" is not " + std::string(kSchema));
  ModelData d;
  d.name = top.string_or("name");
  d.source = top.string_or("source");
  if (top.has("epoch")) {
    const std::string s = top.string("epoch");
    const auto ms = parse_iso8601(s);
    if (!ms || *ms % 1000 != 0)
      top.fail_at("epoch", "\"" + s + "\" is not an ISO-8601 time in whole seconds (YYYY-MM-DDTHH:MM:SSZ)");
    d.epoch_unix_s = *ms / 1000;
  } else {
    d.epoch_unix_s = kDefaultEpochUnixS;
  }
  epoch_unix_s_ = d.epoch_unix_s;

  auto each = [&](std::string_view table, std::initializer_list<std::string_view> keys, auto&& fn) {
    const auto& rows = top.array_or_empty(table);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Obj o(*this, rows[i], at(table, i), keys);
      fn(o);
    }
  };
  auto note = [&](const char* table, const Obj& o) {
    origins_[table].push_back(Origin{&o.value(), o.path()});
  };

  Names areas{"area", {}, {}}, locations{"location", {}, {}}, setups{"setup", {}, {}},
      setup_groups{"setup group", {}, {}}, tool_groups{"tool group", {}, {}}, routes{"route", {}, {}},
      products{"product", {}, {}}, downs{"down calendar", {}, {}}, pms{"PM calendar", {}, {}},
      orders{"order lot", {}, {}}, wip{"WIP lot", {}, {}};

  each("areas", {"name"}, [&](const Obj& o) {
    d.areas.push_back(Area{o.name("name")});
    areas.add(o, "name", d.areas.back().name);
    note("areas", o);
  });
  each("locations", {"name"}, [&](const Obj& o) {
    d.locations.push_back(Location{o.name("name")});
    locations.add(o, "name", d.locations.back().name);
    note("locations", o);
  });
  each("setups", {"name"}, [&](const Obj& o) {
    d.setups.push_back(Setup{o.name("name")});
    setups.add(o, "name", d.setups.back().name);
    note("setups", o);
  });
  each("setup_groups", {"name", "members"}, [&](const Obj& o) {
    SetupGroup g;
    g.name = o.name("name");
    setup_groups.add(o, "name", g.name);
    const auto& members = o.array_or_empty("members");
    for (std::size_t i = 0; i < members.size(); ++i) {
      const Obj m(*this, members[i], o.sub(at("members", i)), {"setup", "min_run", "comment"});
      const SetupId sid{setups.find(m, "setup")};
      for (const auto& earlier : g.members)
        if (earlier.setup == sid)
          m.fail_at("setup", "duplicate setup \"" + d.setups[sid.index()].name + "\" in the group");
      g.members.push_back(SetupGroupMember{sid, m.whole_or("min_run", 0), m.string_or("comment")});
    }
    d.setup_groups.push_back(std::move(g));
    note("setup_groups", o);
  });
  each("tool_groups",
       {"name", "station_name", "area", "location", "tool_count", "rule", "ranks", "wake", "batch_criterion",
        "batch_unit", "load_time", "unload_time", "cascade_capacity", "action_list", "pre_rule_rwl",
        "setup_group", "tools"},
       [&](const Obj& o) {
         ToolGroup g;
         g.name = o.name("name");
         tool_groups.add(o, "name", g.name);
         g.station_name = o.string_or("station_name");
         g.area = AreaId{areas.find(o, "area")};
         g.location = LocationId{locations.find(o, "location")};
         if (o.has("rule")) g.rule = o.enumeration<DispatchRule>("rule", kRuleNames);
         const auto& ranks = o.array("ranks");
         for (std::size_t i = 0; i < ranks.size(); ++i) {
           const std::string path = o.sub(at("ranks", i));
           if (!ranks[i].is_string())
             fail(path, ranks[i].line(),
                  "expected a string, got " + std::string(json::to_string(ranks[i].type())));
           const auto k = parse_rank_key(ranks[i].as_string());
           if (!k)
             fail(path, ranks[i].line(),
                  "unknown rank \"" + ranks[i].as_string() +
                      "\" (expected rank_HP, rank_RSETUP, rank_FIFO, rank_CR, rank_EDD or rank_SPT)");
           g.ranks.push_back(*k);
         }
         if (o.has("wake")) g.wake = o.enumeration<WakeRule>("wake", kWakeNames);
         if (o.has("batch_criterion"))
           g.batch_criterion = o.enumeration<BatchCriterion>("batch_criterion", kCriterionNames);
         if (o.has("batch_unit")) g.batch_unit = o.enumeration<BatchCountUnit>("batch_unit", kBatchUnitNames);
         if (o.has("load_time")) g.load_time = o.quantity("load_time");
         if (o.has("unload_time")) g.unload_time = o.quantity("unload_time");
         g.cascade_capacity = o.whole_or("cascade_capacity", 1);
         g.action_list = o.string_or("action_list");
         g.pre_rule_rwl = o.boolean_or("pre_rule_rwl", false);
         if (o.has("setup_group")) g.setup_group = SetupGroupId{setup_groups.find(o, "setup_group")};
         const ToolGroupId gid{d.tool_groups.size()};
         g.first_tool = ToolId{d.tools.size()};
         if (o.has("tools")) {
           const auto& tools = o.array("tools");
           if (tools.size() > kMaxToolsPerGroup)
             o.fail_at("tools", "more than " + std::to_string(kMaxToolsPerGroup) + " tools in a group");
           g.tool_count = o.whole_or("tool_count", static_cast<std::uint32_t>(tools.size()));
           if (g.tool_count != tools.size())
             o.fail_at("tool_count", "tool_count " + std::to_string(g.tool_count) + " but " +
                                         std::to_string(tools.size()) + " tools listed");
           for (std::size_t k = 0; k < tools.size(); ++k) {
             if (!tools[k].is_string())
               fail(o.sub(at("tools", k)), tools[k].line(),
                    "expected a string, got " + std::string(json::to_string(tools[k].type())));
             d.tools.push_back(Tool{tools[k].as_string(), gid, static_cast<std::uint32_t>(k)});
             origins_["tools"].push_back(Origin{&o.value(), o.sub(at("tools", k))});
           }
         } else {
           g.tool_count = o.whole("tool_count", 1, kMaxToolsPerGroup);
           for (std::uint32_t k = 0; k < g.tool_count; ++k) {
             d.tools.push_back(Tool{g.name + "_" + std::to_string(k + 1), gid, k});
             origins_["tools"].push_back(Origin{&o.value(), o.path()});
           }
         }
         if (d.tools.size() > kMaxTools)
           o.fail_at("tool_count", "more than " + std::to_string(kMaxTools) + " tools in all");
         d.tool_groups.push_back(std::move(g));
         note("tool_groups", o);
       });

  std::vector<std::unordered_map<std::uint32_t, std::uint32_t>> step_numbers;  // per route: number -> StepId
  each("routes", {"name", "file", "steps"}, [&](const Obj& o) {
    Route r;
    r.name = o.name("name");
    routes.add(o, "name", r.name);
    r.file = o.string_or("file");
    r.first_step = StepId{d.steps.size()};
    const RouteId rid{d.routes.size()};
    const auto& steps = o.array("steps");
    auto& numbers = step_numbers.emplace_back();
    struct Ref {
      std::size_t step;
      int kind;  // 0 dedicate_for, 1 rework_step, 2 cqt_to
      std::size_t obj;
    };
    std::vector<Ref> refs;
    std::vector<Obj> objs;
    objs.reserve(steps.size());
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const Obj& so = objs.emplace_back(
          *this, steps[i], o.sub(at("steps", i)),
          std::initializer_list<std::string_view>{
              "number",         "description",  "tool_group",     "process_time",  "process_unit",
              "batch_min",      "batch_max",    "setup",          "setup_when",    "setup_time",
              "dedicate",       "dedicate_for", "batch_interval", "part_interval", "rework_step",
              "rework_percent", "rework_type",  "sample_percent", "cqt_to",        "cqt",
              "comment"});
      Step s;
      s.route = rid;
      s.index = static_cast<std::uint32_t>(i);
      s.number = so.whole("number");
      const auto [it, fresh] = numbers.emplace(s.number, static_cast<std::uint32_t>(d.steps.size()));
      if (!fresh)
        so.fail_at("number", "duplicate step number " + std::to_string(s.number) + " (also " +
                                 o.sub(at("steps", it->second - r.first_step.index())) + ")");
      s.description = so.string_or("description");
      s.tool_group = ToolGroupId{tool_groups.find(so, "tool_group")};
      s.process_time = so.dist("process_time");
      if (so.has("process_unit"))
        s.process_unit = so.enumeration<ProcessUnit>("process_unit", kProcessUnitNames);
      s.batch_min = so.whole_or("batch_min", 0);
      s.batch_max = so.whole_or("batch_max", 0);
      if (so.has("setup")) s.setup = SetupId{setups.find(so, "setup")};
      if (so.has("setup_when")) s.setup_when = so.enumeration<SetupWhen>("setup_when", kWhenNames);
      s.setup_time = so.opt_quantity("setup_time");
      s.dedicate = so.boolean_or("dedicate", false);
      s.batch_interval = so.opt_quantity("batch_interval");
      s.part_interval = so.opt_quantity("part_interval");
      s.rework_percent = so.number_or("rework_percent", 0);
      s.rework_type = so.string_or("rework_type");
      s.sample_percent = so.number_or("sample_percent", 100);
      s.cqt = so.opt_quantity("cqt");
      s.comment = so.string_or("comment");
      static constexpr std::string_view kRefKeys[3] = {"dedicate_for", "rework_step", "cqt_to"};
      for (int k = 0; k < 3; ++k)
        if (so.has(kRefKeys[k])) {
          so.whole(kRefKeys[k]);  // type check now, resolve below
          refs.push_back(Ref{d.steps.size(), k, i});
        }
      d.steps.push_back(std::move(s));
      origins_["steps"].push_back(Origin{&steps[i], so.path()});
    }
    for (const auto& ref : refs) {
      static constexpr std::string_view kRefKeys[3] = {"dedicate_for", "rework_step", "cqt_to"};
      const Obj& so = objs[ref.obj];
      const std::uint32_t number = so.whole(kRefKeys[ref.kind]);
      const auto it = numbers.find(number);
      if (it == numbers.end())
        so.fail_at(kRefKeys[ref.kind],
                   "step " + std::to_string(number) + " does not exist in route \"" + r.name + "\"");
      Step& s = d.steps[ref.step];
      (ref.kind == 0 ? s.dedicate_for : ref.kind == 1 ? s.rework_step : s.cqt_to) = StepId{it->second};
    }
    r.step_count = static_cast<std::uint32_t>(steps.size());
    d.routes.push_back(std::move(r));
    note("routes", o);
  });

  each("products", {"name", "group", "family", "route"}, [&](const Obj& o) {
    Product p;
    p.name = o.name("name");
    products.add(o, "name", p.name);
    p.group = o.string_or("group");
    p.family = o.string_or("family");
    p.route = RouteId{routes.find(o, "route")};
    d.products.push_back(std::move(p));
    note("products", o);
  });
  each("setup_transitions", {"from", "to", "time", "comment"}, [&](const Obj& o) {
    SetupTransition st;
    if (o.has("from")) st.from = SetupId{setups.find(o, "from")};
    st.to = SetupId{setups.find(o, "to")};
    st.time = o.quantity("time");
    st.comment = o.string_or("comment");
    d.setup_transitions.push_back(std::move(st));
    note("setup_transitions", o);
  });
  each("down_calendars", {"name", "type", "time_to_failure", "time_to_repair", "comment"}, [&](const Obj& o) {
    DownCalendar c;
    c.name = o.name("name");
    downs.add(o, "name", c.name);
    c.type = o.string_or("type");
    c.time_to_failure = o.dist("time_to_failure");
    c.time_to_repair = o.dist("time_to_repair");
    c.comment = o.string_or("comment");
    d.down_calendars.push_back(std::move(c));
    note("down_calendars", o);
  });
  each("pm_calendars", {"name", "trigger", "interval", "duration", "comment"}, [&](const Obj& o) {
    PmCalendar c;
    c.name = o.name("name");
    pms.add(o, "name", c.name);
    if (o.has("trigger")) c.trigger = o.enumeration<PmTrigger>("trigger", kTriggerNames);
    c.interval = o.quantity("interval", c.trigger == PmTrigger::Calendar);
    if (c.trigger == PmTrigger::Pieces && c.interval.unit != Unit::Piece)
      o.fail_at("interval", "a counter PM (mtbpm_by_pieces) counts pieces");
    c.duration = o.dist("duration");
    c.comment = o.string_or("comment");
    d.pm_calendars.push_back(std::move(c));
    note("pm_calendars", o);
  });
  each("attachments", {"down_calendar", "pm_calendar", "area", "tool_group", "first_occurrence"},
       [&](const Obj& o) {
         Attachment a;
         if (o.has("down_calendar") == o.has("pm_calendar"))
           o.fail_at(o.has("pm_calendar") ? "pm_calendar" : "down_calendar",
                     "needs exactly one of down_calendar and pm_calendar");
         a.is_pm = o.has("pm_calendar");
         a.calendar = a.is_pm ? pms.find(o, "pm_calendar") : downs.find(o, "down_calendar");
         if (o.has("area") == o.has("tool_group"))
           o.fail_at(o.has("area") ? "tool_group" : "area", "needs exactly one of area and tool_group");
         a.target_kind = o.has("area") ? AttachTarget::Area : AttachTarget::ToolGroup;
         a.target =
             a.target_kind == AttachTarget::Area ? areas.find(o, "area") : tool_groups.find(o, "tool_group");
         const bool counts = a.is_pm && d.pm_calendars[a.calendar].trigger == PmTrigger::Pieces;
         a.first_occurrence = o.dist("first_occurrence", !counts);
         if (counts && a.first_occurrence.unit != Unit::Piece)
           o.fail_at("first_occurrence", "a counter PM's first occurrence counts pieces");
         d.attachments.push_back(a);
         note("attachments", o);
       });
  each("transports", {"from", "to", "time"}, [&](const Obj& o) {
    Transport t;
    t.from = LocationId{locations.find(o, "from")};
    t.to = LocationId{locations.find(o, "to")};
    t.time = o.dist("time");
    d.transports.push_back(t);
    note("transports", o);
  });
  each("orders",
       {"lot_prefix", "product", "priority", "pieces", "start", "interval", "repeat_count",
        "lots_per_release", "due", "order_name", "hot_lot_flag"},
       [&](const Obj& o) {
         Order x;
         x.lot_prefix = o.name("lot_prefix");
         orders.add(o, "lot_prefix", x.lot_prefix);
         x.product = ProductId{products.find(o, "product")};
         x.priority = o.whole_or("priority", 10);
         x.pieces = o.whole_or("pieces", 25);
         x.start = o.time("start");
         if (o.has("interval")) x.interval = o.dist("interval");
         x.repeat_count = o.whole_or("repeat_count", 0);
         x.lots_per_release = o.whole_or("lots_per_release", 1);
         x.due = o.time("due");
         x.order_name = o.string_or("order_name");
         x.hot_lot_flag = o.boolean_or("hot_lot_flag", false);
         d.orders.push_back(std::move(x));
         note("orders", o);
       });
  each("wip",
       {"name", "product", "priority", "pieces", "start", "current_step", "due", "order_name", "hot_lot_flag",
        "trace"},
       [&](const Obj& o) {
         WipLot w;
         w.name = o.name("name");
         wip.add(o, "name", w.name);
         w.product = ProductId{products.find(o, "product")};
         w.priority = o.whole_or("priority", 10);
         w.pieces = o.whole_or("pieces", 25);
         w.start = o.time("start");
         const std::uint32_t number = o.whole("current_step");
         const RouteId rid = d.products[w.product.index()].route;
         const auto it = step_numbers[rid.index()].find(number);
         if (it == step_numbers[rid.index()].end())
           o.fail_at("current_step", "step " + std::to_string(number) + " does not exist in route \"" +
                                         d.routes[rid.index()].name + "\"");
         w.current_step = StepId{it->second};
         w.due = o.time("due");
         w.order_name = o.string_or("order_name");
         w.hot_lot_flag = o.boolean_or("hot_lot_flag", false);
         w.trace = o.string_or("trace");
         d.wip.push_back(std::move(w));
         note("wip", o);
       });

  auto built = Model::build(std::move(d));
  if (!built) return locate(built.error());
  return built;
}

// Model::build names "table[row]" and a model field; point at the JSON object and key instead.
Error NativeReader::locate(Error e) const {
  const auto tr = detail::split_table_row(e.file);
  if (!tr) return e;
  const auto it = origins_.find(tr->first);
  if (it == origins_.end() || tr->second >= it->second.size()) return e;
  const Origin& o = it->second[tr->second];
  std::string key = e.field;
  const std::string& table = tr->first;
  if (table == "attachments" && key == "calendar")
    key = o.object->find("pm_calendar") ? "pm_calendar" : "down_calendar";
  else if (table == "attachments" && key == "target")
    key = o.object->find("area") ? "area" : "tool_group";
  else if (table == "tool_groups" && key == "first_tool")
    key = "tool_count";
  else if (table == "steps" && (key == "index" || key == "route"))
    key = "number";
  else if (table == "routes" && key == "first_step")
    key = "steps";
  else if (table == "tools")
    key = "";
  else if ((table == "orders") && key == "lot")
    key = "lot_prefix";
  else if (table == "wip" && key == "lot")
    key = "name";
  const json::Member* m = key.empty() ? nullptr : o.object->find_member(key);
  e.file = file_;
  e.line = m ? m->line : o.object->line();
  e.field = key.empty() ? o.path : o.path + "." + key;
  return e;
}

}  // namespace

std::string to_native_json(const Model& m) {
  std::string out = json::write(write_model(m.data()));
  out += '\n';
  return out;
}

Result<Model> parse_native(std::string_view text, std::string_view file_label) {
  const std::string file(file_label);
  if (text.find('\0') != std::string_view::npos)
    return Error{file,
                 1 + static_cast<int>(std::count(
                         text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find('\0')), '\n')),
                 "", "binary data (NUL byte): not a JSON text file"};
  try {
    auto root = json::parse(text, file);
    if (!root) return root.error();
    NativeReader r(file);
    return r.run(*root);
  } catch (const ReadError& e) {
    return e.error;
  } catch (const std::bad_alloc&) {
    return Error{file, 0, "", "out of memory while reading the model"};
  }
}

Result<Model> read_native(const std::filesystem::path& file) {
  auto text = read_file(file);
  if (!text.ok()) return text.error();
  return parse_native(text.value(), file.string());
}

}  // namespace fabtwin::io
