#include "fabtwin/flow/calibration.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <mutex>
#include <thread>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "structure.hpp"

namespace fabtwin::flow {

namespace {
constexpr double kMsPerDay = 86'400'000.0;
constexpr double kMinUtilisation = 0.05;  // below: the observed queue time counts as fixed
}  // namespace

model::Result<Calibration> fit(const model::Model& m, std::span<const des::Kpis> runs, double days,
                               double warmup_days, std::uint64_t seed) {
  if (runs.empty()) return model::Error{"", 0, "runs", "no simulation runs to fit"};
  if (!(days > warmup_days)) return model::Error{"", 0, "days", "must be above the warm-up"};
  const auto G = m.tool_groups().size();
  for (const auto& k : runs)
    if (k.tool_groups.size() != G)
      return model::Error{"", 0, "runs",
                          "a run has " + std::to_string(k.tool_groups.size()) + " tool groups, the model " +
                              std::to_string(G)};
  const detail::FabStructure fab = detail::build_structure(m);
  // Visit-weighted means over each group's steps at base releases.
  std::vector<double> vsum(G, 0), nominal(G, 0), wall(G, 0), transport(G, 0);
  for (int k = 0; k < fab.K; ++k) {
    const int g = fab.group_of[k];
    if (g < 0) continue;
    const double v = fab.visit_rate(k);
    vsum[g] += v;
    nominal[g] += v * fab.nominal_work_hours[k];
    wall[g] += v * fab.wall_hours[k];
    transport[g] += v * fab.transport_hours[k];
  }
  const double span_h = (days - warmup_days) * 24.0;
  const double R = static_cast<double>(runs.size());
  Calibration c;
  c.model_name = m.name();
  c.days = days;
  c.warmup_days = warmup_days;
  c.replications = static_cast<std::uint32_t>(runs.size());
  c.seed = seed;
  for (std::size_t g = 0; g < G; ++g) {
    const auto& tg = m.tool_groups()[g];
    double busy = 0, up = 0, unsched = 0, pm = 0, lots = 0, queue_w = 0;
    for (const auto& k : runs) {
      const des::ToolGroupKpis& t = k.tool_groups[g];
      busy += (t.productive + t.setup) / R;
      up += (t.productive + t.setup + t.standby + t.engineering) / R;
      unsched += t.unscheduled_down / R;
      pm += t.pm / R;
      lots += static_cast<double>(t.lots_started) / R;
      queue_w += t.mean_queue_hours * static_cast<double>(t.lots_started);
    }
    GroupCalibration gc;
    gc.name = tg.name;
    gc.tools = tg.tool_count;
    const double vs = vsum[g];
    gc.nominal_work_hours = vs > 0 ? nominal[g] / vs : 0;
    gc.process_hours = vs > 0 ? wall[g] / vs : 0;
    gc.fixed_hours = vs > 0 ? transport[g] / vs : 0;
    gc.availability = std::clamp(up, 1e-3, 1.0);
    gc.unscheduled_down = unsched;
    gc.pm_down = pm;
    gc.work_hours = lots > 0 ? busy * tg.tool_count * span_h / lots : gc.nominal_work_hours;
    gc.utilisation = up > 0 ? busy / up : 0;
    gc.queue_hours = lots > 0 ? queue_w / (lots * R) : 0;
    if (gc.utilisation >= kMinUtilisation && gc.utilisation < 1) {
      gc.queue_k_hours = gc.queue_hours * (1 - gc.utilisation) / gc.utilisation;
    } else {
      gc.fixed_hours += gc.queue_hours;
      gc.queue_k_hours = 0;
    }
    c.groups.push_back(std::move(gc));
  }
  return c;
}

const RuleCalibration* GroupCalibration::under(std::string_view rule) const {
  for (const RuleCalibration& r : rules)
    if (r.rule == rule) return &r;
  return nullptr;
}

model::Result<Calibration> calibrate(const model::Model& m, const CalibrateOptions& o) {
  if (!(o.days > 0) || !(o.warmup_days >= 0) || !(o.warmup_days < o.days))
    return model::Error{"", 0, "days", "need days > warmup_days >= 0"};
  if (o.replications == 0) return model::Error{"", 0, "replications", "must be >= 1"};
  // Rule sets: the model's own lists (""), then each rule (a registry name, once).
  std::vector<std::string> sets{""};
  const des::RuleRegistry builtin;
  for (std::size_t i = 0; i < o.rules.size(); ++i) {
    const std::string name = des::base_rule_name(o.rules[i]).value_or("");
    const std::string field = "rules[" + std::to_string(i) + "]";
    if (name.empty() || !builtin.find(name)) {
      std::string known;
      for (const auto& n : builtin.names()) known += (known.empty() ? "" : ", ") + n;
      return model::Error{"", 0, field, "unknown dispatch rule '" + o.rules[i] + "'; known: " + known};
    }
    if (std::find(sets.begin(), sets.end(), name) != sets.end())
      return model::Error{"", 0, field, "the rule '" + name + "' is given twice"};
    sets.push_back(name);
  }
  const std::size_t R = o.replications, jobs = sets.size() * R;
  std::vector<des::Kpis> runs(jobs);  // [set * R + replication]
  std::vector<std::string> errors(jobs);
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < jobs;) {
      des::Options opt;
      opt.seed = o.seed + j % R;
      opt.rule = sets[j / R];
      opt.warmup = model::Duration{std::llround(o.warmup_days * kMsPerDay)};
      auto sim = des::Simulation::create(m, opt);
      if (!sim.ok()) {
        errors[j] = sim.error().what();
        continue;
      }
      sim->run_until(model::SimTime{model::Duration{std::llround(o.days * kMsPerDay)}});
      runs[j] = sim->kpis();
    }
  };
  const unsigned n = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(o.threads, jobs)));
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (const auto& e : errors)
    if (!e.empty()) return model::Error{"", 0, "model", e};
  auto own = fit(m, std::span(runs).first(R), o.days, o.warmup_days, o.seed);
  if (!own.ok()) return own;
  for (std::size_t k = 1; k < sets.size(); ++k) {
    auto under = fit(m, std::span(runs).subspan(k * R, R), o.days, o.warmup_days, o.seed);
    if (!under.ok()) return under;
    for (std::size_t g = 0; g < own->groups.size(); ++g) {
      const GroupCalibration& u = under->groups[g];
      own->groups[g].rules.push_back(RuleCalibration{sets[k], u.work_hours, u.process_hours, u.fixed_hours,
                                                     u.queue_k_hours, u.utilisation, u.queue_hours});
    }
  }
  return own;
}

// ---- JSON ------------------------------------------------------------------------------------

std::string to_json(const Calibration& c) {
  namespace json = io::json;
  json::Value root = json::Value::object();
  root.add("schema", "fabtwin.v1.FlowCalibration");
  root.add("model", c.model_name);
  root.add("days", c.days);
  root.add("warmup_days", c.warmup_days);
  root.add("replications", c.replications);
  root.add("seed", static_cast<unsigned long long>(c.seed));
  json::Value groups = json::Value::array();
  for (const auto& g : c.groups) {
    json::Value o = json::Value::object();
    o.add("name", g.name);
    o.add("tools", g.tools);
    o.add("work_hours", g.work_hours);
    o.add("nominal_work_hours", g.nominal_work_hours);
    o.add("availability", g.availability);
    o.add("unscheduled_down", g.unscheduled_down);
    o.add("pm_down", g.pm_down);
    o.add("process_hours", g.process_hours);
    o.add("fixed_hours", g.fixed_hours);
    o.add("queue_k_hours", g.queue_k_hours);
    o.add("utilisation", g.utilisation);
    o.add("queue_hours", g.queue_hours);
    if (!g.rules.empty()) {
      json::Value rules = json::Value::object();
      for (const RuleCalibration& r : g.rules) {
        json::Value ro = json::Value::object();
        ro.add("work_hours", r.work_hours);
        ro.add("process_hours", r.process_hours);
        ro.add("fixed_hours", r.fixed_hours);
        ro.add("queue_k_hours", r.queue_k_hours);
        ro.add("utilisation", r.utilisation);
        ro.add("queue_hours", r.queue_hours);
        rules.add(r.rule, std::move(ro));
      }
      o.add("rules", std::move(rules));
    }
    groups.push_back(std::move(o));
  }
  root.add("groups", std::move(groups));
  return json::write(root) + "\n";
}

model::Result<Calibration> parse_calibration(std::string_view text, std::string_view file_label) {
  namespace json = io::json;
  auto doc = json::parse(text, file_label);
  if (!doc.ok()) return doc.error();
  const std::string file(file_label);
  auto fail = [&](const json::Value& at, std::string field, std::string msg) {
    return model::Error{file, at.line(), std::move(field), std::move(msg)};
  };
  const json::Value& root = doc.value();
  if (!root.is_object()) return fail(root, "", "expected a JSON object");
  for (const auto& mem : root.as_object())
    if (mem.key != "schema" && mem.key != "model" && mem.key != "days" && mem.key != "warmup_days" &&
        mem.key != "replications" && mem.key != "seed" && mem.key != "groups")
      return fail(mem.value, mem.key, "unknown key");
  if (const auto* s = root.find("schema");
      s && (!s->is_string() || s->as_string() != "fabtwin.v1.FlowCalibration"))
    return fail(*s, "schema", "expected \"fabtwin.v1.FlowCalibration\"");
  Calibration c;
  auto number = [&](const json::Value& obj, const char* key, std::string path, double& out, bool required,
                    double lo, double hi) -> std::optional<model::Error> {
    const json::Value* v = obj.find(key);
    if (!v) {
      if (required) return fail(obj, path + key, "missing");
      return std::nullopt;
    }
    if (!v->is_number()) return fail(*v, path + key, "expected a number");
    const double x = v->as_number();
    if (!(x >= lo && x <= hi))
      return fail(*v, path + key,
                  "out of range [" + io::json::format_number(lo) + ", " + io::json::format_number(hi) + "]");
    out = x;
    return std::nullopt;
  };
  constexpr double kBig = 1e12;
  if (const auto* v = root.find("model")) {
    if (!v->is_string()) return fail(*v, "model", "expected a string");
    c.model_name = v->as_string();
  }
  double reps = 0, seed = 0;
  if (auto e = number(root, "days", "", c.days, false, 0, kBig)) return *e;
  if (auto e = number(root, "warmup_days", "", c.warmup_days, false, 0, kBig)) return *e;
  if (auto e = number(root, "replications", "", reps, false, 0, 1e9)) return *e;
  if (auto e = number(root, "seed", "", seed, false, 0, 9007199254740992.0)) return *e;
  c.replications = static_cast<std::uint32_t>(reps);
  c.seed = static_cast<std::uint64_t>(seed);
  const json::Value* groups = root.find("groups");
  if (!groups) return fail(root, "groups", "missing");
  if (!groups->is_array()) return fail(*groups, "groups", "expected an array");
  for (std::size_t i = 0; i < groups->as_array().size(); ++i) {
    const json::Value& g = groups->as_array()[i];
    const std::string path = "groups[" + std::to_string(i) + "].";
    if (!g.is_object()) return fail(g, path.substr(0, path.size() - 1), "expected an object");
    static constexpr const char* kKeys[] = {
        "name",    "tools",         "work_hours",  "nominal_work_hours", "availability", "unscheduled_down",
        "pm_down", "process_hours", "fixed_hours", "queue_k_hours",      "utilisation",  "queue_hours",
        "rules"};
    for (const auto& mem : g.as_object())
      if (std::find_if(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return mem.key == k; }) ==
          std::end(kKeys))
        return fail(mem.value, path + mem.key, "unknown key");
    GroupCalibration gc;
    const json::Value* name = g.find("name");
    if (!name || !name->is_string()) return fail(name ? *name : g, path + "name", "expected a string");
    gc.name = name->as_string();
    double tools = 0;
    if (auto e = number(g, "tools", path, tools, true, 1, 100000)) return *e;
    if (tools != std::floor(tools)) return fail(*g.find("tools"), path + "tools", "expected a whole number");
    gc.tools = static_cast<std::uint32_t>(tools);
    if (auto e = number(g, "work_hours", path, gc.work_hours, true, 0, kBig)) return *e;
    if (auto e = number(g, "nominal_work_hours", path, gc.nominal_work_hours, true, 0, kBig)) return *e;
    if (auto e = number(g, "availability", path, gc.availability, true, 1e-9, 1)) return *e;
    if (auto e = number(g, "unscheduled_down", path, gc.unscheduled_down, false, 0, 1)) return *e;
    if (auto e = number(g, "pm_down", path, gc.pm_down, false, 0, 1)) return *e;
    if (auto e = number(g, "process_hours", path, gc.process_hours, true, 0, kBig)) return *e;
    if (auto e = number(g, "fixed_hours", path, gc.fixed_hours, true, 0, kBig)) return *e;
    if (auto e = number(g, "queue_k_hours", path, gc.queue_k_hours, true, 0, kBig)) return *e;
    if (auto e = number(g, "utilisation", path, gc.utilisation, false, 0, 1)) return *e;
    if (auto e = number(g, "queue_hours", path, gc.queue_hours, false, 0, kBig)) return *e;
    // {"rank_CR": {work_hours, process_hours, fixed_hours, queue_k_hours, utilisation, queue_hours}}
    if (const json::Value* rules = g.find("rules")) {
      if (!rules->is_object()) return fail(*rules, path + "rules", "expected an object of rules");
      for (const auto& mem : rules->as_object()) {
        const std::string rp = path + "rules." + mem.key + ".";
        if (!mem.key.starts_with("rank_"))
          return fail(mem.value, rp.substr(0, rp.size() - 1), "expected a rank rule's name (rank_CR, ...)");
        if (!mem.value.is_object()) return fail(mem.value, rp.substr(0, rp.size() - 1), "expected an object");
        for (const auto& k : mem.value.as_object())
          if (k.key != "work_hours" && k.key != "process_hours" && k.key != "fixed_hours" &&
              k.key != "queue_k_hours" && k.key != "utilisation" && k.key != "queue_hours")
            return fail(k.value, rp + k.key, "unknown key");
        RuleCalibration rc;
        rc.rule = mem.key;
        if (gc.under(rc.rule)) return fail(mem.value, rp.substr(0, rp.size() - 1), "given twice");
        if (auto e = number(mem.value, "work_hours", rp, rc.work_hours, true, 0, kBig)) return *e;
        if (auto e = number(mem.value, "process_hours", rp, rc.process_hours, true, 0, kBig)) return *e;
        if (auto e = number(mem.value, "fixed_hours", rp, rc.fixed_hours, true, 0, kBig)) return *e;
        if (auto e = number(mem.value, "queue_k_hours", rp, rc.queue_k_hours, true, 0, kBig)) return *e;
        if (auto e = number(mem.value, "utilisation", rp, rc.utilisation, false, 0, 1)) return *e;
        if (auto e = number(mem.value, "queue_hours", rp, rc.queue_hours, false, 0, kBig)) return *e;
        gc.rules.push_back(std::move(rc));
      }
    }
    c.groups.push_back(std::move(gc));
  }
  return c;
}

model::Result<Calibration> read_calibration(const std::filesystem::path& file) {
  auto text = io::read_file(file);
  if (!text.ok()) return text.error();
  return parse_calibration(text.value(), file.string());
}

}  // namespace fabtwin::flow
