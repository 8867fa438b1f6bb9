// Screen, then confirm: design, flow-model evaluation, ranking, outputs (screen.hpp).
#include "fabtwin/whatif/screen.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <numeric>
#include <stdexcept>
#include <thread>
#include <tuple>

#include "fabtwin/flow/scenario.hpp"
#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/json.hpp"

namespace fabtwin::whatif {

using model::Error;

namespace {

// splitmix64: a small generator whose sequence is the same on every platform.
struct Rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  std::size_t below(std::size_t n) {
    return std::min(n - 1, static_cast<std::size_t>(uniform() * static_cast<double>(n)));
  }
};

std::size_t levels_of(const ScreenSpec& sc, const Factor& f) {
  return f.discrete() ? f.levels.size() : sc.levels;
}

double level_value(const ScreenSpec& sc, const Factor& f, std::size_t j) {
  if (f.discrete()) return f.levels[j];
  const std::size_t L = sc.levels;
  if (L < 2) return f.min;
  if (j + 1 == L) return f.max;  // exactly: min + (max - min) may round past max
  return std::min(f.max, f.min + (f.max - f.min) * static_cast<double>(j) / static_cast<double>(L - 1));
}

// The value a factor has in the base (no delta); a rule factor without the group's own rule: -1.
double neutral(const model::Model& m, const Factor& f) {
  if (f.kind == Factor::Kind::ToolCount) return m.tool_group(*m.find_tool_group(f.group)).tool_count;
  if (f.kind == Factor::Kind::Rule) {
    const auto it = std::find(f.rules.begin(), f.rules.end(),
                              des::own_base_rule(m.tool_group(*m.find_tool_group(f.group))));
    return it == f.rules.end() ? -1.0 : static_cast<double>(it - f.rules.begin());
  }
  return 1.0;
}

std::string num(double v) { return std::isfinite(v) ? io::json::format_number(v) : std::string(); }
io::json::Value jnum(double v) { return std::isfinite(v) ? io::json::Value(v) : io::json::Value(); }

// A factor's value as screen.csv and screen.json show it: a rule by name (the base's own rule
// where no level is: "own"), anything else as its number.
std::string factor_text(const model::Model& m, const Factor& f, double v) {
  if (f.kind != Factor::Kind::Rule) return num(v);
  if (v < 0) {
    const std::string own = des::own_base_rule(m.tool_group(*m.find_tool_group(f.group)));
    return own.empty() ? "own" : own;
  }
  return f.rules[static_cast<std::size_t>(v)];
}

double max_of(const std::vector<double>& v) {
  double m = 0;
  for (double x : v) m = std::max(m, x);
  return m;
}

const Row* find_row(const Results& r, std::size_t scenario, std::string_view metric,
                    std::string_view subject) {
  for (const Row& row : r.rows)
    if (row.scenario == scenario && r.defs[row.def].metric == metric && r.defs[row.def].subject == subject)
      return &row;
  return nullptr;
}

}  // namespace

std::vector<std::vector<double>> make_design(const ScreenSpec& sc) {
  const std::size_t F = sc.factors.size();
  std::vector<std::vector<double>> pts;
  if (!sc.lhs) {
    std::size_t n = 1;
    for (const Factor& f : sc.factors) n *= levels_of(sc, f);
    pts.assign(n, std::vector<double>(F));
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t rest = i;
      for (std::size_t k = F; k-- > 0;) {
        const std::size_t L = levels_of(sc, sc.factors[k]);
        pts[i][k] = level_value(sc, sc.factors[k], rest % L);
        rest /= L;
      }
    }
    return pts;
  }
  const std::size_t n = sc.samples;
  pts.assign(n, std::vector<double>(F));
  Rng rng{sc.seed};
  std::vector<std::size_t> perm(n);
  for (std::size_t k = 0; k < F; ++k) {
    const Factor& f = sc.factors[k];
    std::iota(perm.begin(), perm.end(), std::size_t{0});
    for (std::size_t i = n; i > 1; --i) std::swap(perm[i - 1], perm[rng.below(i)]);
    for (std::size_t i = 0; i < n; ++i) {
      const double u = (static_cast<double>(perm[i]) + rng.uniform()) / static_cast<double>(n);
      if (f.discrete()) {
        const std::size_t L = f.levels.size();
        pts[i][k] = f.levels[std::min(L - 1, static_cast<std::size_t>(u * static_cast<double>(L)))];
      } else {
        pts[i][k] = std::min(f.max, f.min + u * (f.max - f.min));
      }
    }
  }
  return pts;
}

des::Scenario point_scenario(const model::Model& base, const ScreenSpec& sc, std::span<const double> x,
                             std::string name) {
  des::Scenario s;
  s.name = std::move(name);
  for (std::size_t k = 0; k < sc.factors.size(); ++k) {
    const Factor& f = sc.factors[k];
    const double v = x[k];
    if (v == neutral(base, f)) continue;
    switch (f.kind) {
      case Factor::Kind::ToolCount:
        s.deltas.push_back({des::ToolCountDelta{f.group, static_cast<std::uint32_t>(std::lround(v))}, 0});
        break;
      case Factor::Kind::Release: {
        std::vector<bool> has(base.products().size(), false);
        for (const auto& o : base.orders()) has[o.product.index()] = true;
        for (std::size_t p = 0; p < has.size(); ++p)
          if (has[p]) s.deltas.push_back({des::ProductMixDelta{base.products()[p].name, v}, 0});
        break;
      }
      case Factor::Kind::ProcessTime:
        s.deltas.push_back({des::ProcessTimeDelta{f.group, "", std::nullopt, v}, 0});
        break;
      case Factor::Kind::Rule:
        s.deltas.push_back({des::RuleDelta{f.group, f.rules[static_cast<std::size_t>(v)]}, 0});
        break;
      case Factor::Kind::Availability: {
        des::AvailabilityDelta a;
        a.group = f.group;
        if (f.key == "mttf_factor") a.mttf_factor = v;
        if (f.key == "mttr_factor") a.mttr_factor = v;
        if (f.key == "pm_interval_factor") a.pm_interval_factor = v;
        if (f.key == "pm_duration_factor") a.pm_duration_factor = v;
        s.deltas.push_back({a, 0});
        break;
      }
    }
  }
  return s;
}

namespace {
double fin(double v, double bad) { return std::isfinite(v) ? v : bad; }
}  // namespace

std::vector<std::size_t> rank_points(const ScreenSpec& sc, double base_th, std::span<const double> th,
                                     std::span<const double> ct, std::span<const double> cost) {
  std::vector<std::size_t> order(th.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  const double floor_th = base_th * (1 - sc.throughput_tolerance);
  // (over budget, infeasible, the objective's two keys, cost): smaller first.
  auto key = [&](std::size_t i) {
    const double c = cost.empty() ? 0.0 : cost[i];
    const int over = sc.budget && !cost.empty() && !(c <= *sc.budget) ? 1 : 0;
    if (sc.objective == Objective::MaxThroughput)
      return std::tuple{over, 0, -fin(th[i], -INFINITY), fin(ct[i], INFINITY), c};
    const bool feasible = std::isfinite(th[i]) && th[i] >= floor_th;
    return feasible ? std::tuple{over, 0, fin(ct[i], INFINITY), 0.0, c}
                    : std::tuple{over, 1, -fin(th[i], -INFINITY), 0.0, c};
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return key(a) < key(b); });
  return order;
}

double point_cost(const model::Model& base, const ScreenSpec& sc, std::span<const double> point) {
  double cost = 0;
  for (std::size_t k = 0; k < sc.factors.size(); ++k) {
    const Factor& f = sc.factors[k];
    if (f.unit_cost == 0) continue;
    const double v = point[k], base_v = neutral(base, f);
    double units = 0;  // the change in the factor's unit, an improvement positive
    switch (f.kind) {
      case Factor::Kind::ToolCount:
      case Factor::Kind::Release:
        units = v - base_v;
        break;
      case Factor::Kind::ProcessTime:
        units = base_v - v;
        break;
      case Factor::Kind::Availability:
        units = f.key == "mttf_factor" || f.key == "pm_interval_factor" ? v - base_v : base_v - v;
        break;
      case Factor::Kind::Rule:
        units = v == base_v ? 0.0 : 1.0;
        break;
    }
    cost += units * f.unit_cost;
  }
  return cost;
}

std::vector<bool> efficient_points(const ScreenSpec& sc, double base_th, std::span<const double> th,
                                   std::span<const double> ct, std::span<const double> cost) {
  const std::size_t n = th.size();
  std::vector<bool> out(n, false);
  const double floor_th = base_th * (1 - sc.throughput_tolerance);
  // The objective's value (smaller is better) of a point that meets its throughput requirement.
  std::vector<std::size_t> idx;
  std::vector<double> value(n, INFINITY);
  for (std::size_t i = 0; i < n; ++i) {
    if (!std::isfinite(th[i])) continue;
    if (sc.objective == Objective::MaxThroughput) {
      value[i] = -th[i];
    } else {
      if (th[i] < floor_th || !std::isfinite(ct[i])) continue;
      value[i] = ct[i];
    }
    idx.push_back(i);
  }
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
    return cost[a] != cost[b] ? cost[a] < cost[b] : value[a] < value[b];
  });
  double best_cheaper = INFINITY;  // the best value among strictly cheaper points
  for (std::size_t j = 0; j < idx.size();) {
    std::size_t e = j;
    while (e < idx.size() && cost[idx[e]] == cost[idx[j]]) ++e;
    const double best_here = value[idx[j]];  // sorted: the group's best first
    if (best_here < best_cheaper)
      for (std::size_t q = j; q < e && value[idx[q]] == best_here; ++q) out[idx[q]] = true;
    best_cheaper = std::min(best_cheaper, best_here);
    j = e;
  }
  return out;
}

model::Result<flow::FlowModel> load_flow_model(const Batch& b) {
  const std::string& file = b.spec.file;
  std::filesystem::path cal = b.spec.flow.calibration;
  if (cal.empty()) {
    const std::filesystem::path& m = b.spec.model;
    if (m.empty())  // a live base, or a checkpoint that names its own model
      return Error{
          file, 0, "flow.calibration",
          "missing: the base has no model file beside which to look for <model>.flow.json; give "
          "\"flow\": {\"calibration\": FILE} (made by fabtwin flow calibrate --model MODEL --out FILE)"};
    cal = std::filesystem::is_directory(m) ? m / (b.base_model.name() + ".flow.json")
                                           : std::filesystem::path(m).replace_extension(".flow.json");
  }
  auto c = flow::read_calibration(cal);
  if (!c.ok())
    return Error{file, 0, "flow.calibration",
                 std::string(c.error().what()) + " (make one with: fabtwin flow calibrate --model " +
                     b.spec.model.string() + " --out " + cal.string() + ")"};
  if (!c->model_name.empty() && c->model_name != b.base_model.name())
    return Error{
        file, 0, "flow.calibration",
        cal.string() + ": calibrated for model '" + c->model_name + "', not '" + b.base_model.name() + "'"};
  auto fm = flow::FlowModel::create(b.base_model, c.value());
  if (!fm.ok()) return Error{file, 0, "flow.calibration", cal.string() + ": " + fm.error().what()};
  return fm;
}

model::Result<std::optional<flow::FlowModel>> flow_model_for(const Batch& b, bool screen) {
  if (screen && !b.spec.screen.given)
    return Error{b.spec.file, 0, "screen", "no \"screen\" block to screen (docs/whatif.md \"Screening\")"};
  if (!screen && !b.spec.flow.given) return std::optional<flow::FlowModel>();
  auto fm = load_flow_model(b);
  if (!fm.ok()) return fm.error();
  return std::optional<flow::FlowModel>(std::move(fm.value()));
}

Results summarise_with_flow(const Batch& b, const std::vector<MetricDef>& defs,
                            const std::vector<PairResult>& pairs, const flow::FlowModel* fm,
                            unsigned threads) {
  Results r = summarise_batch(b, defs, pairs);
  if (fm) fill_flow_estimates(r, b, *fm, flow_for_batch(b, *fm, flow_options(b.spec, threads)));
  return r;
}

std::vector<std::pair<std::string, std::string>> screen_files(const Batch& b, const ScreenResult& s,
                                                              const Results& results) {
  return {{"screen.csv", screen_csv(b, s)}, {"screen.json", screen_json(b, s, results)}};
}

flow::RunOptions flow_options(const Spec& s, unsigned threads) {
  flow::RunOptions o;
  o.days = s.flow.days > 0 ? s.flow.days : s.horizon_days;
  o.warmup_days = s.flow.warmup_days >= 0 ? s.flow.warmup_days : std::max(s.warmup_days, 150.0);
  o.period_hours = s.flow.period_hours;
  o.threads = std::max(1u, threads);
  return o;
}

std::vector<std::optional<FlowEstimate>> flow_for_batch(const Batch& b, const flow::FlowModel& fm,
                                                        const flow::RunOptions& options) {
  std::vector<std::optional<FlowEstimate>> out(b.scenarios.size());
  std::vector<flow::ScenarioInput> inputs;
  std::vector<std::size_t> which;
  inputs.push_back(flow::ScenarioInput{"base", {}, {}, {}, {}});
  which.push_back(0);
  for (std::size_t i = 0; i < b.spec.scenarios.size() && i + 1 < b.scenarios.size(); ++i) {
    auto in = flow::scenario_input(fm, b.spec.scenarios[i]);
    if (!in.ok()) continue;  // a rule or transport delta: no estimate
    inputs.push_back(std::move(in.value()));
    which.push_back(i + 1);
  }
  const auto res = fm.run(inputs, options);
  for (std::size_t j = 0; j < res.size(); ++j) out[which[j]] = FlowEstimate{inputs[j], res[j]};
  return out;
}

void fill_flow_estimates(Results& r, const Batch& b, const flow::FlowModel& fm,
                         const std::vector<std::optional<FlowEstimate>>& flow) {
  const auto& products = b.base_model.products();
  const auto& groups = b.base_model.tool_groups();
  for (Row& row : r.rows) {
    if (row.scenario >= flow.size() || !flow[row.scenario]) continue;
    const FlowEstimate& fe = *flow[row.scenario];
    const flow::ScenarioResult& f = fe.result;
    const MetricDef& d = r.defs[row.def];
    std::optional<std::size_t> product;
    for (std::size_t p = 0; p < products.size(); ++p)
      if (products[p].name == d.subject) product = p;
    std::optional<double> v;
    if (d.metric == "throughput_lots_per_day" && d.subject == "all") v = f.throughput_lots_per_day;
    if (d.metric == "cycle_time_mean_days") {
      if (d.subject == "all") v = f.cycle_time_days;
      if (product && f.product_throughput[*product] > 0) v = f.product_cycle_time_days[*product];
    }
    if (d.metric == "wip_lots") {
      if (d.subject == "all") v = f.wip_lots;
      if (product) v = f.product_wip[*product];
    }
    if (d.metric == "utilisation")
      for (std::size_t g = 0; g < groups.size(); ++g)
        if (groups[g].name == d.subject) {
          const double a = fe.input.availability.empty() ? fm.calibration().groups[g].availability
                                                         : fe.input.availability[g];
          v = f.utilisation[g] * a;
        }
    if (v && std::isfinite(*v)) row.flow_estimate = *v;
  }
}

model::Result<ScreenResult> screen(Batch& b, const flow::FlowModel& fm, unsigned threads,
                                   std::function<void(double, double)> progress) {
  const Spec& spec = b.spec;
  const ScreenSpec& sc = spec.screen;
  const std::string& file = spec.file;
  if (!sc.given) return Error{file, 0, "screen", "the spec has no \"screen\" block"};
  for (Metric m : {Metric::Throughput, Metric::CycleTime})
    if (std::find(spec.metrics.begin(), spec.metrics.end(), m) == spec.metrics.end())
      return Error{file, 0, "metrics",
                   "a screen ranks by throughput and cycle time: \"metrics\" must include \"" +
                       std::string(metric_key(m)) + "\""};
  const model::Model& base = b.base_model;
  // Each factor alone at its ends: the model must take it (else the error names the factor).
  std::vector<double> mid(sc.factors.size());
  for (std::size_t k = 0; k < sc.factors.size(); ++k) mid[k] = neutral(base, sc.factors[k]);
  for (std::size_t k = 0; k < sc.factors.size(); ++k) {
    const Factor& f = sc.factors[k];
    // (every rule: the calibration may lack any of them)
    const std::vector<double> ends =
        f.kind == Factor::Kind::Rule ? f.levels : std::vector<double>{f.min, f.max};
    for (double v : ends) {
      auto x = mid;
      x[k] = v;
      auto in = flow::scenario_input(fm, point_scenario(base, sc, x, "check"));
      if (!in.ok())
        return Error{file, f.line, f.path,
                     "cannot take " + factor_text(base, f, v) + ": " + in.error().message};
    }
  }

  ScreenResult res;
  res.points = make_design(sc);
  const std::size_t N = res.points.size();
  std::vector<flow::ScenarioInput> inputs(N + 1);
  inputs[0] = flow::ScenarioInput{"base", {}, {}, {}, {}};
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::string failure;
  auto work = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < N;) {
      auto in = flow::scenario_input(
          fm, point_scenario(base, sc, res.points[i], std::string("p").append(std::to_string(i))));
      if (!in.ok()) {
        const std::lock_guard lock(mu);
        if (failure.empty()) failure = "point " + std::to_string(i) + ": " + in.error().what();
        return;
      }
      inputs[i + 1] = std::move(in.value());
    }
  };
  {
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < std::max(1u, threads); ++t) pool.emplace_back(work);
    work();
    for (auto& t : pool) t.join();
  }
  if (!failure.empty()) return Error{file, sc.line, "screen.space", failure};

  const auto t0 = std::chrono::steady_clock::now();
  flow::RunOptions fo = flow_options(spec, threads);
  fo.progress = std::move(progress);
  auto out = fm.run(inputs, fo);
  res.flow_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  res.base = std::move(out[0]);
  res.flow.assign(std::make_move_iterator(out.begin() + 1), std::make_move_iterator(out.end()));
  std::vector<double> th(N), ct(N);
  for (std::size_t i = 0; i < N; ++i)
    th[i] = res.flow[i].throughput_lots_per_day, ct[i] = res.flow[i].cycle_time_days;
  if (sc.costed) {
    res.cost.resize(N);
    for (std::size_t i = 0; i < N; ++i) res.cost[i] = point_cost(base, sc, res.points[i]);
    res.efficient = efficient_points(sc, res.base.throughput_lots_per_day, th, ct, res.cost);
  }
  res.order = rank_points(sc, res.base.throughput_lots_per_day, th, ct, res.cost);
  res.rank.assign(N, 0);
  for (std::size_t j = 0; j < N; ++j) res.rank[res.order[j]] = j + 1;

  // The best k (or the efficient points within the budget, cheapest first) join the batch, as
  // load_batch would add them.
  std::vector<std::size_t> chosen;
  if (sc.confirm_efficient) {
    for (std::size_t i = 0; i < N; ++i)  // (a point with the base's values is the base: not again)
      if (res.efficient[i] && (!sc.budget || res.cost[i] <= *sc.budget) &&
          !point_scenario(base, sc, res.points[i], "").deltas.empty())
        chosen.push_back(i);
    std::sort(chosen.begin(), chosen.end(), [&](std::size_t a, std::size_t c) {
      return res.cost[a] != res.cost[c] ? res.cost[a] < res.cost[c] : res.rank[a] < res.rank[c];
    });
  } else {
    chosen.assign(res.order.begin(),
                  res.order.begin() + static_cast<std::ptrdiff_t>(std::min<std::size_t>(sc.confirm, N)));
  }
  std::string probe;
  if (!b.checkpoint.empty()) {
    probe = b.checkpoint;
  } else {
    des::Options o = b.base_options;
    auto sim = des::Simulation::create(base, o);
    if (!sim.ok()) return Error{file, 0, "base", sim.error().what()};
    probe = sim->save();
  }
  const des::RuleRegistry rules;
  res.first_confirmed = b.scenarios.size();
  for (const std::size_t i : chosen) {
    des::Scenario s = point_scenario(
        base, sc, res.points[i],
        std::string("#").append(std::to_string(res.rank[i])).append(" p").append(std::to_string(i)));
    for (const auto& e : b.scenarios)
      if (e.name == s.name)
        return Error{file, 0, "scenarios", "the name '" + s.name + "' is a screen's (rename the scenario)"};
    auto applied = des::apply_scenario(base, b.base_options, s, rules);
    if (!applied.ok()) return Error{file, sc.line, "screen", s.name + ": " + applied.error().what()};
    Batch::Entry entry{s.name, std::move(applied->model), std::move(applied->options), false};
    auto own = own_warmup(b, entry.model, entry.options, probe);
    if (!own.ok())
      return Error{file, sc.line, "screen.space",
                   s.name + " does not fit the checkpoint's state (" + own.error().message + ")"};
    entry.own_warmup = *own;
    b.scenarios.push_back(std::move(entry));
    b.spec.scenarios.push_back(std::move(s));
    b.spec.scenario_lines.push_back(sc.line);
    res.confirmed.push_back(i);
  }
  return res;
}

std::string screen_csv(const Batch& b, const ScreenResult& s) {
  const ScreenSpec& sc = b.spec.screen;
  const auto& groups = b.base_model.tool_groups();
  std::string out = "point";
  for (const Factor& f : sc.factors) {
    out += ',';
    io::append_csv_field(out, f.label);
  }
  out +=
      ",flow_throughput_lots_per_day,flow_cycle_time_days,flow_wip_lots,flow_utilisation_max,"
      "flow_utilisation_max_group,rank,confirmed";
  out += sc.costed ? ",cost,efficient\n" : "\n";
  auto figures = [&](const flow::ScenarioResult& r) {
    std::size_t gmax = 0;
    for (std::size_t g = 0; g < r.utilisation.size(); ++g)
      if (r.utilisation[g] > r.utilisation[gmax]) gmax = g;
    std::string t = ',' + num(r.throughput_lots_per_day) + ',' + num(r.cycle_time_days) + ',' +
                    num(r.wip_lots) + ',' + num(max_of(r.utilisation)) + ',';
    if (!r.utilisation.empty()) io::append_csv_field(t, groups[gmax].name);
    return t;
  };
  out += "base";
  for (const Factor& f : sc.factors) out += ',' + factor_text(b.base_model, f, neutral(b.base_model, f));
  out += figures(s.base) + ",," + (sc.costed ? ",0,\n" : "\n");
  for (std::size_t i = 0; i < s.points.size(); ++i) {
    out.append("p").append(std::to_string(i));
    for (std::size_t k = 0; k < sc.factors.size(); ++k)
      out += ',' + factor_text(b.base_model, sc.factors[k], s.points[i][k]);
    const bool conf = std::find(s.confirmed.begin(), s.confirmed.end(), i) != s.confirmed.end();
    out += figures(s.flow[i]) + ',' + std::to_string(s.rank[i]) + ',' + (conf ? "1" : "0");
    if (sc.costed) out += ',' + num(s.cost[i]) + ',' + (s.efficient[i] ? "1" : "0");
    out += '\n';
  }
  return out;
}

std::vector<std::size_t> simulation_ranks(const Batch& b, const ScreenResult& s, const Results& r) {
  const std::size_t k = s.confirmed.size();
  std::vector<double> th(k), ct(k), cost;
  for (std::size_t j = 0; j < k; ++j) {
    if (!s.cost.empty()) cost.push_back(s.cost[s.confirmed[j]]);
    const Row* t = find_row(r, s.first_confirmed + j, "throughput_lots_per_day", "all");
    const Row* c = find_row(r, s.first_confirmed + j, "cycle_time_mean_days", "all");
    th[j] = t ? t->summary.mean : NAN;
    ct[j] = c ? c->summary.mean : NAN;
  }
  const Row* bt = find_row(r, 0, "throughput_lots_per_day", "all");
  const auto order = rank_points(b.spec.screen, bt ? bt->summary.mean : NAN, th, ct, cost);
  std::vector<std::size_t> rank(k);
  for (std::size_t j = 0; j < k; ++j) rank[order[j]] = j + 1;
  return rank;
}

namespace {

struct Side {
  std::string name;
  bool base = false;
  std::optional<std::size_t> flow_rank, sim_rank, point;
  std::optional<flow::ScenarioResult> flow;
  const Row *th = nullptr, *ct = nullptr;
};

std::vector<Side> sides(const Batch& b, const ScreenResult& s, const Results& r) {
  std::vector<Side> out;
  const auto sim_rank = simulation_ranks(b, s, r);
  for (std::size_t sc = 0; sc < r.scenario_names.size(); ++sc) {
    Side e;
    e.name = r.scenario_names[sc];
    if (sc == 0) e.flow = s.base, e.base = true;
    if (sc >= s.first_confirmed && sc - s.first_confirmed < s.confirmed.size()) {
      const std::size_t j = sc - s.first_confirmed, i = s.confirmed[j];
      e.point = i;
      e.flow_rank = s.rank[i];
      e.sim_rank = sim_rank[j];
      e.flow = s.flow[i];
    }
    e.th = find_row(r, sc, "throughput_lots_per_day", "all");
    e.ct = find_row(r, sc, "cycle_time_mean_days", "all");
    out.push_back(std::move(e));
  }
  return out;
}

io::json::Value sim_json(const Row* row) {
  io::json::Value v = io::json::Value::object();
  if (!row) return io::json::Value();
  v.add("mean", jnum(row->summary.mean));
  io::json::Value ci = io::json::Value::array();
  ci.push_back(jnum(row->summary.lo()));
  ci.push_back(jnum(row->summary.hi()));
  v.add("ci95", std::move(ci));
  return v;
}

}  // namespace

std::string screen_json(const Batch& b, const ScreenResult& s, const Results& r) {
  using io::json::Value;
  const ScreenSpec& sc = b.spec.screen;
  Value root = Value::object();
  root.add("schema", "fabtwin.v1.WhatIfScreen");
  root.add("name", b.spec.name);
  root.add("objective", std::string(objective_key(sc.objective)));
  if (sc.objective == Objective::MinCycleTime) root.add("throughput_tolerance", sc.throughput_tolerance);
  if (sc.costed) {
    Value costs = Value::object();
    for (const Factor& f : sc.factors)
      if (f.unit_cost != 0) costs.add(f.label, f.unit_cost);
    root.add("costs", std::move(costs));
    root.add("budget", sc.budget ? Value(*sc.budget) : Value());
  }
  Value design = Value::object();
  design.add("type", sc.lhs ? "lhs" : "grid");
  design.add("points", static_cast<double>(s.points.size()));
  if (sc.lhs)
    design.add("seed", static_cast<double>(sc.seed));
  else
    design.add("levels", static_cast<double>(sc.levels));
  Value factors = Value::array();
  for (const Factor& f : sc.factors) factors.push_back(f.label);
  design.add("factors", std::move(factors));
  root.add("design", std::move(design));
  const auto rows = sides(b, s, r);
  Value arr = Value::array();
  bool best_is_first = false;
  for (const Side& e : rows) {
    Value o = Value::object();
    o.add("scenario", e.name);
    o.add("point", e.point ? Value(static_cast<double>(*e.point)) : Value());
    if (e.point) {
      Value fx = Value::object();
      for (std::size_t k = 0; k < sc.factors.size(); ++k) {
        const Factor& f = sc.factors[k];
        const double v = s.points[*e.point][k];
        fx.add(f.label, f.kind == Factor::Kind::Rule ? Value(factor_text(b.base_model, f, v)) : Value(v));
      }
      o.add("factors", std::move(fx));
    }
    o.add("flow_rank", e.flow_rank ? Value(static_cast<double>(*e.flow_rank)) : Value());
    if (sc.costed) o.add("cost", e.point ? Value(s.cost[*e.point]) : e.base ? Value(0.0) : Value());
    Value fl = Value();
    if (e.flow) {
      fl = Value::object();
      fl.add("throughput_lots_per_day", jnum(e.flow->throughput_lots_per_day));
      fl.add("cycle_time_mean_days", jnum(e.flow->cycle_time_days));
      fl.add("wip_lots", jnum(e.flow->wip_lots));
    }
    o.add("flow", std::move(fl));
    Value sim = Value::object();
    sim.add("throughput_lots_per_day", sim_json(e.th));
    sim.add("cycle_time_mean_days", sim_json(e.ct));
    o.add("simulation", std::move(sim));
    o.add("simulation_rank", e.sim_rank ? Value(static_cast<double>(*e.sim_rank)) : Value());
    if (e.sim_rank && *e.sim_rank == 1 && e.flow_rank && *e.flow_rank == 1) best_is_first = true;
    arr.push_back(std::move(o));
  }
  root.add("scenarios", std::move(arr));
  root.add("simulation_best_is_flow_first", best_is_first);
  return io::json::write(root) + "\n";
}

std::string screen_table(const Batch& b, const ScreenResult& s, const Results& r) {
  const bool costed = b.spec.screen.costed;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-9s %-22s %10s %-28s %10s %-28s %8s%s\n", "flow rank", "scenario",
                "flow TH", "sim TH lots/day [95% CI]", "flow CT", "sim CT days [95% CI]", "sim rank",
                costed ? "       cost" : "");
  out += line;
  auto sim = [](const Row* row) {
    char t[64];
    if (!row || !std::isfinite(row->summary.mean)) return std::string("-");
    std::snprintf(t, sizeof t, "%.3f [%.3f, %.3f]", row->summary.mean, row->summary.lo(), row->summary.hi());
    return std::string(t);
  };
  auto fixed = [](double v) {
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", v);
    return std::string(t);
  };
  for (const Side& e : sides(b, s, r)) {
    std::string cost;
    if (costed) {
      char t[32];
      std::snprintf(t, sizeof t, " %10s", e.point ? fixed(s.cost[*e.point]).c_str() : e.base ? "0" : "-");
      cost = t;
    }
    std::snprintf(line, sizeof line, "%-9s %-22s %10s %-28s %10s %-28s %8s%s\n",
                  e.flow_rank ? std::to_string(*e.flow_rank).c_str() : "-", e.name.c_str(),
                  e.flow ? fixed(e.flow->throughput_lots_per_day).c_str() : "-", sim(e.th).c_str(),
                  e.flow ? fixed(e.flow->cycle_time_days).c_str() : "-", sim(e.ct).c_str(),
                  e.sim_rank ? std::to_string(*e.sim_rank).c_str() : "-", cost.c_str());
    out += line;
  }
  return out;
}

}  // namespace fabtwin::whatif
