// What-if specs: JSON -> Spec (shape), then Batch (model loaded, scenarios applied).
#include "fabtwin/whatif/spec.hpp"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
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

namespace {

constexpr std::string_view kSchema = "fabtwin.v1.WhatIf";
constexpr Metric kAllMetrics[] = {Metric::Throughput, Metric::CycleTime, Metric::Wip, Metric::OnTime,
                                  Metric::Utilisation};

struct SpecError {
  Error error;
};

std::string type_name(Type t) {
  return std::string(t == Type::Array || t == Type::Object ? "an " : "a ") +
         std::string(io::json::to_string(t));
}

class Obj {
 public:
  Obj(const std::string& file, const Value& v, std::string path,
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
    throw SpecError{Error{file_, line, field, std::move(message)}};
  }
  std::string sub(std::string_view key) const {
    return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  }
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

 private:
  const std::string& file_;
  const Value& v_;
  std::string path_;
};

std::filesystem::path resolve(const std::filesystem::path& dir, const std::string& p) {
  const std::filesystem::path path(p);
  return path.is_absolute() || dir.empty() ? path : (dir / path).lexically_normal();
}

Spec read_rest(const Obj& o, Spec s) {
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

  const Value& sc = o.typed("scenarios", o.need("scenarios"), Type::Array);
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
               "common_random_numbers", "metrics", "percentiles", "groups", "scenarios"});
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
    return read_rest(o, std::move(s));
  }
  if (o.need("base").find("model")) s.model = resolve(dir, base.string("model"));
  if (o.need("base").find("checkpoint")) s.checkpoint = resolve(dir, base.string("checkpoint"));
  if (s.model.empty() && s.checkpoint.empty())
    base.fail("base", o.need("base").line(), "give \"model\" (a model file or folder) or \"checkpoint\"");
  return read_rest(o, std::move(s));
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
    auto fits = des::Simulation::restore_changed(entry.model, entry.options, probe);
    if (!fits.ok()) {
      if (!b.checkpoint.empty())
        return Error{
            file, spec.scenario_lines[i], path + ".deltas",
            "scenario '" + sc.name + "' changes the state's tables (" + fits.error().message +
                "): a checkpoint base takes deltas that keep every tool and calendar (no tool_count; "
                "no availability delta on a group sharing its calendar)"};
      entry.own_warmup = true;
    }
    b.scenarios.push_back(std::move(entry));
  }
  b.spec = std::move(spec);
  return b;
}

}  // namespace

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
