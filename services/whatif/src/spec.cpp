// What-if specs: JSON -> Spec (shape), then Batch (model loaded, scenarios applied).
#include "fabtwin/whatif/spec.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <set>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/json_reader.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/model/time.hpp"
#include "fabtwin/scenario_io/scenario_json.hpp"

namespace fabtwin::whatif {

using io::json::Type;
using io::json::Value;
using model::Error;
using model::Result;

std::string_view metric_key(Metric m) {
  switch (m) {
    case Metric::Throughput:
      return "throughput";
    case Metric::CycleTime:
      return "cycle_time";
    case Metric::Wip:
      return "wip";
    case Metric::OnTime:
      return "on_time";
    case Metric::Utilisation:
      return "utilisation";
  }
  return "?";
}

std::string_view objective_key(Objective o) {
  return o == Objective::MinCycleTime ? "min_cycle_time" : "max_throughput";
}

namespace {

constexpr std::string_view kSchema = "fabtwin.v1.WhatIf";
constexpr Metric kAllMetrics[] = {Metric::Throughput, Metric::CycleTime, Metric::Wip, Metric::OnTime,
                                  Metric::Utilisation};

using SpecError = io::json::ReadError;
using io::json::type_name;

class Obj : public io::json::ObjectReader {
 public:
  using ObjectReader::ObjectReader;

  const Value* get(std::string_view key) const { return v_.find(key); }
  const Value& need(std::string_view key) const {
    const Value* v = v_.find(key);
    if (!v) fail(sub(key), v_.line(), "missing key \"" + std::string(key) + "\"");
    return *v;
  }
  const Value& typed(std::string_view key, const Value& v, Type t) const {
    if (v.type() != t) fail(sub(key), v.line(), "expected " + type_name(t) + ", got " + type_name(v.type()));
    return v;
  }
  std::string string(std::string_view key) const { return typed(key, need(key), Type::String).as_string(); }
  double number(std::string_view key, double lo, double hi, bool lo_open) const {
    const Value& v = typed(key, need(key), Type::Number);
    const double x = v.as_number();
    if (!std::isfinite(x) || (lo_open ? x <= lo : x < lo) || x > hi)
      fail(sub(key), v.line(),
           io::json::format_number(x) + " is out of range (" + (lo_open ? "above " : "at least ") +
               io::json::format_number(lo) +
               (std::isfinite(hi) ? ", at most " + io::json::format_number(hi) : "") + ")");
    return x;
  }
  std::uint64_t whole(std::string_view key, double lo, double hi) const {
    const Value& v = typed(key, need(key), Type::Number);
    const double x = number(key, lo, hi, false);
    if (x != std::floor(x))
      fail(sub(key), v.line(), "expected a whole number, got " + io::json::format_number(x));
    return static_cast<std::uint64_t>(x);
  }
  bool boolean(std::string_view key) const { return typed(key, need(key), Type::Bool).as_bool(); }
  const std::string& file() const { return file_; }
};

std::filesystem::path resolve(const std::filesystem::path& dir, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_absolute() || dir.empty() ? path : (dir / path).lexically_normal();
}

void read_flow(const std::string& file, const Value& v, const std::filesystem::path& dir, Spec& s) {
  const Obj f(file, v, "flow", {"calibration", "days", "warmup_days", "period_hours"});
  s.flow.given = true;
  if (v.find("calibration")) s.flow.calibration = resolve(dir, f.string("calibration"));
  if (v.find("days")) s.flow.days = f.number("days", 0, 100000, true);
  if (v.find("warmup_days")) s.flow.warmup_days = f.number("warmup_days", 0, 100000, false);
  if (v.find("period_hours")) s.flow.period_hours = f.number("period_hours", 0, 24, true);
}

// A continuous factor's {"min", "max"} (min <= max, both > 0).
void read_range(const Obj& o, const Value& v, Factor& f) {
  f.min = o.number("min", 0, 1e6, true);
  f.max = o.number("max", 0, 1e6, true);
  if (f.max < f.min) o.fail(o.sub("max"), v.line(), "max is below min");
}

void read_screen(const std::string& file, const Value& v, const std::filesystem::path& dir, Spec& s) {
  const Obj o(file, v, "screen",
              {"space", "design", "calibration", "objective", "throughput_tolerance", "confirm", "tool_costs",
               "costs", "budget"});
  ScreenSpec& sc = s.screen;
  sc.given = true;
  sc.line = v.line();
  const Value& space = o.need("space");
  const Obj sp(file, space, "screen.space",
               {"tool_count", "release", "process_time", "availability", "rule"});
  auto list = [&](std::string_view key) -> const std::vector<Value>* {
    const Value* a = space.find(key);
    return a ? &sp.typed(key, *a, Type::Array).as_array() : nullptr;
  };
  if (const auto* tc = list("tool_count"))
    for (std::size_t i = 0; i < tc->size(); ++i) {
      const Value& e = (*tc)[i];
      const std::string path = "screen.space.tool_count[" + std::to_string(i) + "]";
      const Obj t(file, e, path, {"group", "counts", "min", "max"});
      Factor f{Factor::Kind::ToolCount, t.string("group"), "", {}, 0, 0, path, e.line(), ""};
      if (const Value* c = e.find("counts")) {
        if (e.find("min") || e.find("max"))
          t.fail(path, e.line(), "give \"counts\" or \"min\" and \"max\", not both");
        const auto& arr = t.typed("counts", *c, Type::Array).as_array();
        if (arr.empty()) t.fail(path + ".counts", c->line(), "give at least one count");
        for (std::size_t k = 0; k < arr.size(); ++k) {
          const std::string cp = path + ".counts[" + std::to_string(k) + "]";
          if (!arr[k].is_number() || arr[k].as_number() < 1 || arr[k].as_number() > 100000 ||
              arr[k].as_number() != std::floor(arr[k].as_number()))
            t.fail(cp, arr[k].line(), "expected a whole number of tools in [1, 100000]");
          if (!f.levels.empty() && arr[k].as_number() <= f.levels.back())
            t.fail(cp, arr[k].line(), "counts must ascend");
          f.levels.push_back(arr[k].as_number());
        }
      } else {
        const auto lo = t.whole("min", 1, 100000), hi = t.whole("max", 1, 100000);
        if (hi < lo) t.fail(path + ".max", e.line(), "max is below min");
        for (auto k = lo; k <= hi; ++k) f.levels.push_back(static_cast<double>(k));
      }
      f.min = f.levels.front(), f.max = f.levels.back();
      f.label = "tools:" + f.group;
      sc.factors.push_back(std::move(f));
    }
  if (const Value* r = space.find("release")) {
    const Obj t(file, *r, "screen.space.release", {"min", "max"});
    Factor f{Factor::Kind::Release, "", "", {}, 0, 0, "screen.space.release", r->line(), "release"};
    read_range(t, *r, f);
    sc.factors.push_back(std::move(f));
  }
  if (const auto* pt = list("process_time"))
    for (std::size_t i = 0; i < pt->size(); ++i) {
      const Value& e = (*pt)[i];
      const std::string path = "screen.space.process_time[" + std::to_string(i) + "]";
      const Obj t(file, e, path, {"group", "min", "max"});
      Factor f{Factor::Kind::ProcessTime, t.string("group"), "", {}, 0, 0, path, e.line(), ""};
      read_range(t, e, f);
      f.label = "process_time:" + f.group;
      sc.factors.push_back(std::move(f));
    }
  if (const auto* av = list("availability"))
    for (std::size_t i = 0; i < av->size(); ++i) {
      const Value& e = (*av)[i];
      const std::string path = "screen.space.availability[" + std::to_string(i) + "]";
      const Obj t(file, e, path, {"group", "factor", "min", "max"});
      Factor f{
          Factor::Kind::Availability, t.string("group"), t.string("factor"), {}, 0, 0, path, e.line(), ""};
      if (f.key != "mttf_factor" && f.key != "mttr_factor" && f.key != "pm_interval_factor" &&
          f.key != "pm_duration_factor")
        t.fail(path + ".factor", e.find("factor")->line(),
               "unknown factor \"" + f.key +
                   "\" (mttf_factor, mttr_factor, pm_interval_factor, pm_duration_factor)");
      read_range(t, e, f);
      f.label = f.key + ":" + f.group;
      sc.factors.push_back(std::move(f));
    }
  if (const auto* rl = list("rule"))
    for (std::size_t i = 0; i < rl->size(); ++i) {
      const Value& e = (*rl)[i];
      const std::string path = "screen.space.rule[" + std::to_string(i) + "]";
      const Obj t(file, e, path, {"group", "rules"});
      Factor f{Factor::Kind::Rule, t.string("group"), "", {}, 0, 0, path, e.line(), ""};
      const auto& arr = t.typed("rules", t.need("rules"), Type::Array).as_array();
      if (arr.empty()) t.fail(path + ".rules", e.find("rules")->line(), "give at least one rule");
      const des::RuleRegistry builtin;
      for (std::size_t k = 0; k < arr.size(); ++k) {
        const std::string rp = path + ".rules[" + std::to_string(k) + "]";
        if (!arr[k].is_string())
          t.fail(rp, arr[k].line(), "expected a rule name, got " + type_name(arr[k].type()));
        const std::string name = des::base_rule_name(arr[k].as_string()).value_or("");
        if (name.empty() || !builtin.find(name)) {
          std::string known;
          for (const auto& n : builtin.names()) known += (known.empty() ? "" : ", ") + n;
          t.fail(rp, arr[k].line(), "unknown dispatch rule \"" + arr[k].as_string() + "\"; known: " + known);
        }
        if (std::find(f.rules.begin(), f.rules.end(), name) != f.rules.end())
          t.fail(rp, arr[k].line(), "the rule " + name + " is given twice");
        f.rules.push_back(name);
        f.levels.push_back(static_cast<double>(k));
      }
      f.min = f.levels.front(), f.max = f.levels.back();
      f.label = "rule:" + f.group;
      sc.factors.push_back(std::move(f));
    }
  if (sc.factors.empty()) sp.fail("screen.space", space.line(), "give at least one factor");
  for (std::size_t i = 0; i < sc.factors.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      if (sc.factors[i].label == sc.factors[j].label)
        sp.fail(sc.factors[i].path, sc.factors[i].line,
                "the factor '" + sc.factors[i].label + "' is given twice");

  const Value& dv = o.need("design");
  const Obj d(file, dv, "screen.design", {"type", "samples", "levels", "seed"});
  const std::string type = d.string("type");
  if (type == "lhs") {
    sc.lhs = true;
    sc.samples = static_cast<std::uint32_t>(d.whole("samples", 1, 1e6));
    if (dv.find("levels"))
      d.fail("screen.design.levels", dv.find("levels")->line(), "a grid key; lhs takes \"samples\"");
  } else if (type == "grid") {
    if (dv.find("samples"))
      d.fail("screen.design.samples", dv.find("samples")->line(), "an lhs key; a grid takes \"levels\"");
    if (dv.find("levels")) sc.levels = static_cast<std::uint32_t>(d.whole("levels", 2, 1000));
    double n = 1;
    for (const Factor& f : sc.factors) n *= f.discrete() ? static_cast<double>(f.levels.size()) : sc.levels;
    if (n > 1e6)
      d.fail("screen.design", dv.line(),
             "the grid has " + io::json::format_number(n) + " points (at most 1000000): use \"lhs\"");
  } else {
    d.fail("screen.design.type", dv.find("type")->line(), "unknown design \"" + type + "\" (grid, lhs)");
  }
  if (dv.find("seed")) sc.seed = d.whole("seed", 0, 9007199254740992.0);
  if (v.find("calibration")) {
    if (s.flow.given && !s.flow.calibration.empty())
      o.fail("screen.calibration", v.find("calibration")->line(),
             "the calibration is already given in \"flow\"");
    s.flow.calibration = resolve(dir, o.string("calibration"));
  }
  if (const Value* ob = v.find("objective")) {
    const std::string key = o.string("objective");
    if (key == "min_cycle_time")
      sc.objective = Objective::MinCycleTime;
    else if (key == "max_throughput")
      sc.objective = Objective::MaxThroughput;
    else
      o.fail("screen.objective", ob->line(),
             "unknown objective \"" + key + "\" (min_cycle_time, max_throughput)");
  }
  if (v.find("throughput_tolerance")) sc.throughput_tolerance = o.number("throughput_tolerance", 0, 1, false);
  if (const Value* cv = v.find("confirm")) {
    if (cv->is_string()) {
      if (cv->as_string() != "efficient")
        o.fail("screen.confirm", cv->line(),
               "expected a number of points or \"efficient\", got \"" + cv->as_string() + "\"");
      sc.confirm_efficient = true;
    } else {
      sc.confirm = static_cast<std::uint32_t>(o.whole("confirm", 1, 1000));
    }
  }
  // Unit costs: "tool_costs" {"<group>": cost of one tool} for groups whose count the space varies,
  // "costs" {"<factor label>": cost of a unit of change} for any screened factor (tools:G, release,
  // process_time:G, mttf_factor:G, ..., rule:G); each factor costed once.
  std::set<std::string> costed;
  auto read_costs = [&](const std::string& key, bool tools) {
    const Value* cv = v.find(key);
    if (!cv) return;
    const auto& members = o.typed(key, *cv, Type::Object).as_object();
    if (members.empty())
      o.fail("screen." + key, cv->line(),
             tools ? "give the cost of one tool of at least one screened group"
                   : "give the cost of at least one screened factor");
    for (const auto& m : members) {
      const std::string path = "screen." + key + "." + m.key;
      if (!m.value.is_number()) o.fail(path, m.line, "expected a number, got " + type_name(m.value.type()));
      const double cost = m.value.as_number();
      if (!(cost >= 0 && cost <= 1e15))
        o.fail(path, m.line, io::json::format_number(cost) + " is out of range (at least 0, at most 1e+15)");
      const std::string label = tools ? "tools:" + m.key : m.key;
      auto f = std::find_if(sc.factors.begin(), sc.factors.end(),
                            [&](const Factor& x) { return x.label == label; });
      if (f == sc.factors.end()) {
        if (tools)
          o.fail(path, m.line,
                 "tool group \"" + m.key + "\" is not screened (its counts go in screen.space.tool_count)");
        std::string labels;
        for (const Factor& x : sc.factors) labels += (labels.empty() ? "" : ", ") + x.label;
        o.fail(path, m.line, "\"" + m.key + "\" is not a screened factor (" + labels + ")");
      }
      if (!costed.insert(label).second)
        o.fail(path, m.line, "the factor \"" + label + "\" is costed twice (here and in \"tool_costs\")");
      f->unit_cost = cost;
    }
    sc.costed = true;
  };
  read_costs("tool_costs", true);
  read_costs("costs", false);
  if (const Value* bv = v.find("budget")) {
    if (!sc.costed) o.fail("screen.budget", bv->line(), "a budget needs \"costs\" or \"tool_costs\"");
    sc.budget = o.number("budget", -1e15, 1e15, false);
  }
  if (sc.confirm_efficient && !sc.costed)
    o.fail("screen.confirm", v.find("confirm")->line(),
           "confirming the efficient points needs \"costs\" or \"tool_costs\"");
}

Spec read_rest(const Obj& o, Spec s, const std::filesystem::path& dir) {
  const std::string& file = o.file();

  s.horizon_days = o.number("horizon_days", 0, 100000, true);
  s.warmup_days = o.get("warmup_days") ? o.number("warmup_days", 0, 100000, false) : 0;
  s.replications = static_cast<std::uint32_t>(o.whole("replications", 2, 1e6));
  if (o.get("seed")) s.seed = o.whole("seed", 0, 9007199254740992.0);
  if (o.get("rule")) {
    s.rule = o.string("rule");
    const des::RuleRegistry rules;
    std::string full = s.rule;
    if (full == "fifo" || full == "cr" || full == "edd" || full == "spt") {
    } else if (!rules.find(full))
      o.fail("rule", o.need("rule").line(),
             "unknown rule '" + s.rule + "' (fifo, cr, edd, spt or a rank_ name)");
  }
  if (o.get("common_random_numbers")) s.common_random_numbers = o.boolean("common_random_numbers");

  if (const Value* m = o.get("metrics")) {
    const auto& arr = o.typed("metrics", *m, Type::Array).as_array();
    if (arr.empty()) o.fail("metrics", m->line(), "give at least one metric");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "metrics[" + std::to_string(i) + "]";
      if (!arr[i].is_string())
        o.fail(path, arr[i].line(), "expected a string, got " + type_name(arr[i].type()));
      const auto it = std::find_if(std::begin(kAllMetrics), std::end(kAllMetrics),
                                   [&](Metric k) { return metric_key(k) == arr[i].as_string(); });
      if (it == std::end(kAllMetrics))
        o.fail(path, arr[i].line(),
               "unknown metric \"" + arr[i].as_string() +
                   "\" (throughput, cycle_time, wip, on_time, utilisation)");
      if (std::find(s.metrics.begin(), s.metrics.end(), *it) != s.metrics.end())
        o.fail(path, arr[i].line(), "metric \"" + arr[i].as_string() + "\" given twice");
      s.metrics.push_back(*it);
    }
  } else {
    s.metrics.assign(std::begin(kAllMetrics), std::end(kAllMetrics));
  }
  if (const Value* p = o.get("percentiles")) {
    const auto& arr = o.typed("percentiles", *p, Type::Array).as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      const std::string path = "percentiles[" + std::to_string(i) + "]";
      if (!arr[i].is_number() || !(arr[i].as_number() > 0 && arr[i].as_number() <= 100))
        o.fail(path, arr[i].line(), "expected a number in (0, 100]");
      if (!s.percentiles.empty() && arr[i].as_number() <= s.percentiles.back())
        o.fail(path, arr[i].line(), "percentiles must ascend");
      s.percentiles.push_back(arr[i].as_number());
    }
  } else {
    s.percentiles = {50, 90};
  }
  if (const Value* g = o.get("groups")) {
    const auto& arr = o.typed("groups", *g, Type::Array).as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
      if (!arr[i].is_string())
        o.fail("groups[" + std::to_string(i) + "]", arr[i].line(),
               "expected a string, got " + type_name(arr[i].type()));
      s.groups.push_back(arr[i].as_string());
    }
  }

  if (const Value* f = o.get("flow")) read_flow(file, *f, dir, s);
  if (const Value* sv = o.get("screen")) read_screen(file, *sv, dir, s);
  static const Value kNoScenarios = Value::array();
  const Value& sc = s.screen.given && !o.get("scenarios")
                        ? kNoScenarios
                        : o.typed("scenarios", o.need("scenarios"), Type::Array);
  std::vector<std::string> names{"base"};
  for (std::size_t i = 0; i < sc.as_array().size(); ++i) {
    const Value& v = sc.as_array()[i];
    const std::string path = "scenarios[" + std::to_string(i) + "]";
    const Obj so(file, v, path, {"name", "deltas"});
    auto read = scenario_io::scenario_from_json(v, file);
    if (!read.ok()) {
      Error e = read.error();
      e.field = path + (e.field.empty() ? "" : "." + e.field);
      throw SpecError{e};
    }
    des::Scenario scen = std::move(read.value());
    if (!v.find("name")) so.fail(path + ".name", v.line(), "missing key \"name\"");
    if (scen.name.empty()) so.fail(path + ".name", v.find("name")->line(), "the name is empty");
    if (std::find(names.begin(), names.end(), scen.name) != names.end())
      so.fail(path + ".name", v.find("name")->line(),
              "scenario name \"" + scen.name + "\" is used twice (\"base\" is the base's)");
    names.push_back(scen.name);
    s.scenarios.push_back(std::move(scen));
    s.scenario_lines.push_back(v.line());
  }
  return s;
}

Spec read(const std::string& file, const Value& root, const std::filesystem::path& dir) {
  const Obj o(file, root, "",
              {"schema", "name", "base", "horizon_days", "warmup_days", "replications", "seed", "rule",
               "common_random_numbers", "metrics", "percentiles", "groups", "scenarios", "flow", "screen"});
  Spec s;
  s.file = file;
  if (const Value* v = o.get("schema"); v && (!v->is_string() || v->as_string() != kSchema))
    o.fail("schema", v->line(), "expected \"" + std::string(kSchema) + "\"");
  if (o.get("name")) s.name = o.string("name");

  const Obj base(file, o.need("base"), "base", {"model", "checkpoint", "live"});
  if (const Value* live = o.need("base").find("live")) {
    if (!base.boolean("live")) base.fail("base.live", live->line(), "expected true (or leave \"live\" out)");
    for (const char* other : {"model", "checkpoint"})
      if (const Value* v = o.need("base").find(other))
        base.fail(std::string("base.") + other, v->line(),
                  "a live base is the served twin's state: give no \"" + std::string(other) + "\" beside it");
    s.live = true;
    return read_rest(o, std::move(s), dir);
  }
  if (o.need("base").find("model")) s.model = resolve(dir, base.string("model"));
  if (o.need("base").find("checkpoint")) s.checkpoint = resolve(dir, base.string("checkpoint"));
  if (s.model.empty() && s.checkpoint.empty())
    base.fail("base", o.need("base").line(), "give \"model\" (a model file or folder) or \"checkpoint\"");
  return read_rest(o, std::move(s), dir);
}

// simulate --save-state files: "FABTWIN-STATE 1\nmodel PATH\n\n" + engine checkpoint bytes.
constexpr std::string_view kStateMagic = "FABTWIN-STATE 1\n";

}  // namespace

Result<Spec> parse_spec(std::string_view text, std::string_view file_label,
                        const std::filesystem::path& base_dir) {
  const std::string file(file_label);
  auto root = io::json::parse(text, file);
  if (!root.ok()) return root.error();
  try {
    return read(file, root.value(), base_dir);
  } catch (const SpecError& e) {
    return e.error;
  }
}

Result<Spec> read_spec(const std::filesystem::path& file) {
  auto text = io::read_file(file);
  if (!text.ok()) return text.error();
  return parse_spec(text.value(), file.string(), file.parent_path());
}

namespace {

// The common part: the base model (and checkpoint bytes, "" for a model base) -> the Batch.
Result<Batch> load_batch_from(Spec spec, model::Model base_model, std::string checkpoint) {
  const std::string& file = spec.file;
  const std::string ckpt_label = spec.live ? std::string("the live twin's state") : spec.checkpoint.string();
  const std::string ckpt_field = spec.live ? "base.live" : "base.checkpoint";
  Batch b;
  des::Options opt;
  opt.rule = spec.rule;
  b.checkpoint = std::move(checkpoint);
  if (!b.checkpoint.empty()) {
    auto saved = des::Simulation::checkpoint_options(b.checkpoint);
    if (!saved.ok()) return Error{file, 0, ckpt_field, ckpt_label + ": " + saved.error().what()};
    opt.group_rules = saved->group_rules;
    opt.wip_sample_interval = saved->wip_sample_interval;
    opt.count_initial_wip = saved->count_initial_wip;
    if (spec.rule.empty()) opt.rule = saved->rule;
  }
  b.base_model = std::move(base_model);

  // The base state: a checkpoint, or the base model at t = 0 (its tables decide which scenarios
  // can continue from the base's warm state).
  std::string probe;
  if (!b.checkpoint.empty()) {
    auto sim = des::Simulation::restore_changed(b.base_model, opt, b.checkpoint);
    if (!sim.ok()) return Error{file, 0, ckpt_field, ckpt_label + ": " + sim.error().what()};
    b.start_days = model::to_days(sim->now().time_since_epoch());
    probe = b.checkpoint;
  } else {
    auto sim = des::Simulation::create(b.base_model, opt);
    if (!sim.ok()) return Error{file, 0, "base", sim.error().what()};
    probe = sim->save();
  }
  opt.warmup = model::round_ms((b.start_days + spec.warmup_days) * model::kMsPerDay);
  b.base_options = opt;
  for (const std::string& g : spec.groups)
    if (!b.base_model.find_tool_group(g)) return Error{file, 0, "groups", "unknown tool group '" + g + "'"};

  for (const Factor& f : spec.screen.factors) {
    if (f.kind != Factor::Kind::Release && !b.base_model.find_tool_group(f.group))
      return Error{file, f.line, f.path + ".group", "unknown tool group '" + f.group + "'"};
    // A rule level is the group's own rank list with another base key: the base must run the
    // model's own lists (the flow calibration's), not a rule set for the whole batch.
    if (f.kind == Factor::Kind::Rule && (!opt.rule.empty() || !opt.group_rules.empty()))
      return Error{file, f.line, f.path,
                   "screening rules needs a base on the model's own rank lists; the base runs rule '" +
                       (opt.rule.empty() ? opt.group_rules.front().second
                                         : des::base_rule_name(opt.rule).value_or(opt.rule)) +
                       "'"};
  }

  const des::RuleRegistry rules;
  b.scenarios.push_back({"base", b.base_model, opt, false});
  for (std::size_t i = 0; i < spec.scenarios.size(); ++i) {
    const des::Scenario& sc = spec.scenarios[i];
    const std::string path = "scenarios[" + std::to_string(i) + "]";
    auto applied = des::apply_scenario(b.base_model, opt, sc, rules);
    if (!applied.ok()) {
      Error e = applied.error();
      e.file = file;
      e.field = path + (e.field.empty() ? "" : "." + e.field);
      return e;
    }
    Batch::Entry entry{sc.name, std::move(applied->model), std::move(applied->options), false};
    auto own = own_warmup(b, entry.model, entry.options, probe);
    if (!own.ok())
      return Error{file, spec.scenario_lines[i], path + ".deltas",
                   "scenario '" + sc.name + "' does not fit the checkpoint's state (" + own.error().message +
                       "): a checkpoint base takes deltas that keep every calendar (no availability delta "
                       "on a group sharing its calendar)"};
    entry.own_warmup = *own;
    b.scenarios.push_back(std::move(entry));
  }
  b.spec = std::move(spec);
  return b;
}

}  // namespace

Result<bool> own_warmup(const Batch& b, const model::Model& m, const des::Options& o,
                        std::string_view probe) {
  if (auto fits = des::Simulation::restore_changed(m, o, probe); !fits.ok()) {
    if (b.checkpoint.empty()) return true;
    return fits.error();
  }
  if (!b.checkpoint.empty()) return false;
  const auto& g0 = b.base_model.data().tool_groups;
  const auto& g1 = m.data().tool_groups;
  for (std::size_t g = 0; g < g0.size(); ++g)
    if (g1[g].tool_count != g0[g].tool_count) return true;
  return false;
}

Result<Batch> load_batch(Spec spec) {
  const std::string& file = spec.file;
  if (spec.live)
    return Error{file, 0, "base.live",
                 "a live twin base is the served twin's state: submit the spec to the server's WhatIfService "
                 "(fabtwin whatif submit SPEC --target HOST:PORT)"};
  std::string checkpoint;
  if (!spec.checkpoint.empty()) {
    auto text = io::read_file(spec.checkpoint);
    if (!text.ok()) return Error{file, 0, "base.checkpoint", text.error().what()};
    const std::string& bytes = text.value();
    const auto end = bytes.find("\n\n");
    if (bytes.compare(0, kStateMagic.size(), kStateMagic) != 0 || end == std::string::npos ||
        bytes.compare(kStateMagic.size(), 6, "model ") != 0)
      return Error{
          file, 0, "base.checkpoint",
          spec.checkpoint.string() + ": not a fabtwin state file (written by simulate --save-state)"};
    if (spec.model.empty()) spec.model = bytes.substr(kStateMagic.size() + 6, end - kStateMagic.size() - 6);
    checkpoint = bytes.substr(end + 2);
  }
  auto model = io::load_model(spec.model);
  if (!model.ok()) return Error{file, 0, "base.model", model.error().what()};
  return load_batch_from(std::move(spec), std::move(model.value()), std::move(checkpoint));
}

Result<Batch> load_batch(Spec spec, LiveBase live) {
  if (!spec.live) return Error{spec.file, 0, "base", "the spec's base is not {\"live\": true}"};
  return load_batch_from(std::move(spec), std::move(live.model), std::move(live.checkpoint));
}

}  // namespace fabtwin::whatif
