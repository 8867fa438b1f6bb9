// validate_flow: the flow model against the simulation, scenario by scenario (docs/validation.md
// "Flow model"). For the base and each scenario of --scenarios: --reps simulation replications
// (seeds S, S+1, ...; --days measured after --warmup) in parallel, then the flow model on all
// scenarios at once; prints a Markdown table (throughput and mean cycle time, simulation mean vs
// flow, relative errors), the counts within 3 % / 10 %, the Spearman rank correlation by cycle
// time and the flow rank of the simulation's best (lowest cycle time) scenario.
//
//   validate_flow --model M --calibration C --scenarios S.json [--days 365] [--warmup 100]
//                 [--reps 3] [--seed 1] [--threads 2] [--period-hours 0.25] [--cache DIR] [--csv FILE]
//
// Simulation figures count lots released during the run (not the initial WIP) that complete after
// the warm-up: throughput = those lots / measured days; cycle time = their mean (completion -
// release). --cache DIR keeps each (scenario, replication) result as a small file and reuses it.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/flow/scenario.hpp"
#include "fabtwin/io/load.hpp"

using namespace fabtwin;

namespace {

constexpr double kMsPerDay = 86'400'000.0;

struct SimFigures {
  double throughput = 0, cycle_time = 0, wip = 0;
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "validate_flow: %s\n", m.c_str());
  std::exit(1);
}

SimFigures simulate(const model::Model& m, des::Options opt, double warmup, double days) {
  opt.warmup = model::Duration{std::llround(warmup * kMsPerDay)};
  auto sim = des::Simulation::create(m, opt);
  if (!sim.ok()) die(sim.error().what());
  const auto end = model::SimTime{model::Duration{std::llround((warmup + days) * kMsPerDay)}};
  sim->run_until(end);
  const std::int64_t warm = opt.warmup.count();
  double n = 0, ct = 0;
  for (const des::CompletedLot& c : sim->completed_lots()) {
    if (c.key.source == 0 || c.completed.time_since_epoch().count() < warm) continue;
    n += 1;
    ct += (c.completed - c.released).count() / kMsPerDay;
  }
  SimFigures f;
  f.throughput = n / days;
  f.cycle_time = n > 0 ? ct / n : 0;
  f.wip = sim->kpis().mean_wip_lots;
  return f;
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / v.size(); }
double half_width(const std::vector<double>& v) {  // 95 % Student t, n <= 10
  static const double t[] = {0, 12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262};
  const std::size_t n = v.size();
  if (n < 2) return 0;
  const double m = mean(v);
  double ss = 0;
  for (double x : v) ss += (x - m) * (x - m);
  return (n - 1 < 10 ? t[n - 1] : 1.96) * std::sqrt(ss / (n - 1) / n);
}

std::vector<double> ranks(const std::vector<double>& v) {  // average ranks for ties, 1-based
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](auto a, auto b) { return v[a] < v[b]; });
  std::vector<double> r(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]]) ++j;
    for (std::size_t q = i; q <= j; ++q) r[idx[q]] = (i + j) / 2.0 + 1;
    i = j + 1;
  }
  return r;
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double ma = mean(a), mb = mean(b);
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, cal_path, scen_path, cache, csv_path;
  double days = 365, warmup = 100, period = 0.25;
  unsigned reps = 3, threads = 2;
  std::uint64_t seed = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--model")
      model_path = next();
    else if (a == "--calibration")
      cal_path = next();
    else if (a == "--scenarios")
      scen_path = next();
    else if (a == "--days")
      days = std::stod(next());
    else if (a == "--warmup")
      warmup = std::stod(next());
    else if (a == "--reps")
      reps = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--seed")
      seed = std::stoull(next());
    else if (a == "--threads")
      threads = static_cast<unsigned>(std::stoul(next()));
    else if (a == "--period-hours")
      period = std::stod(next());
    else if (a == "--cache")
      cache = next();
    else if (a == "--csv")
      csv_path = next();
    else
      die("unknown argument " + a);
  }
  if (model_path.empty() || cal_path.empty() || scen_path.empty())
    die("usage: validate_flow --model M --calibration C --scenarios S.json [options]");
  auto m = io::load_model(model_path);
  if (!m.ok()) die(m.error().what());
  auto cal = flow::read_calibration(cal_path);
  if (!cal.ok()) die(cal.error().what());
  auto fm = flow::FlowModel::create(m.value(), cal.value());
  if (!fm.ok()) die(fm.error().what());
  auto list = flow::read_scenario_list(scen_path);
  if (!list.ok()) die(list.error().what());
  std::vector<des::Scenario> scen{des::Scenario{"base", "", {}}};
  for (auto& s : list.value()) scen.push_back(s);
  const std::size_t N = scen.size();

  // Flow model first (seconds).
  std::vector<flow::ScenarioInput> inputs;
  for (const auto& s : scen) {
    auto in = flow::scenario_input(fm.value(), s);
    if (!in.ok()) die(in.error().what());
    inputs.push_back(std::move(in.value()));
  }
  flow::RunOptions ro;
  ro.days = days;
  ro.warmup_days = warmup;
  ro.period_hours = period;
  ro.threads = threads;
  const auto f0 = std::chrono::steady_clock::now();
  const auto fr = fm->run(inputs, ro);
  const double flow_wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - f0).count();
  std::fprintf(stderr, "flow model: %zu scenarios in %.2f s\n", N, flow_wall);

  // Simulation replications, in parallel over (scenario, replication).
  std::vector<std::vector<SimFigures>> sf(N, std::vector<SimFigures>(reps));
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  if (!cache.empty()) std::filesystem::create_directories(cache);
  auto worker = [&] {
    for (std::size_t j; (j = next.fetch_add(1)) < N * reps;) {
      const std::size_t s = j / reps, r = j % reps;
      std::string key;
      for (char c : scen[s].name) key += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      const auto file = std::filesystem::path(cache) /
                        (key + "_d" + std::to_string(static_cast<int>(days)) + "_w" +
                         std::to_string(static_cast<int>(warmup)) + "_s" + std::to_string(seed + r) + ".txt");
      if (!cache.empty() && std::filesystem::exists(file)) {
        std::ifstream in(file);
        in >> sf[s][r].throughput >> sf[s][r].cycle_time >> sf[s][r].wip;
        if (in) continue;
      }
      auto applied = des::apply_scenario(m.value(), des::Options{}, scen[s], des::RuleRegistry{});
      if (!applied.ok()) die(applied.error().what());
      des::Options opt = applied->options;
      opt.seed = seed + r;
      const auto t0 = std::chrono::steady_clock::now();
      sf[s][r] = simulate(applied->model, opt, warmup, days);
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (!cache.empty()) {
        std::ofstream out(file);
        char buf[128];
        std::snprintf(buf, sizeof buf, "%.17g %.17g %.17g\n", sf[s][r].throughput, sf[s][r].cycle_time,
                      sf[s][r].wip);
        out << buf;
      }
      std::lock_guard lock(mu);
      std::fprintf(stderr, "sim %-28s rep %zu: %.2f lots/day, CT %.2f d (%.0f s)\n", scen[s].name.c_str(), r,
                   sf[s][r].throughput, sf[s][r].cycle_time, wall);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < std::max(1u, threads); ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  std::vector<double> sim_ct(N), flow_ct(N);
  int th_ok = 0, ct_ok = 0;
  std::ostringstream csv;
  csv << "scenario,sim_throughput,sim_throughput_ci,flow_throughput,throughput_error,sim_cycle_time,sim_"
         "cycle_time_ci,"
         "flow_cycle_time,cycle_time_error\n";
  std::printf(
      "| scenario | sim lots/day (±95 %%) | flow lots/day | error | sim CT days (±95 %%) | flow CT days | "
      "error |\n");
  std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
  for (std::size_t s = 0; s < N; ++s) {
    std::vector<double> th, ct;
    for (const auto& f : sf[s]) th.push_back(f.throughput), ct.push_back(f.cycle_time);
    const double st = mean(th), sc = mean(ct);
    const double et = fr[s].throughput_lots_per_day / st - 1, ec = fr[s].cycle_time_days / sc - 1;
    th_ok += std::abs(et) <= 0.03;
    ct_ok += std::abs(ec) <= 0.10;
    sim_ct[s] = sc;
    flow_ct[s] = fr[s].cycle_time_days;
    std::printf("| %s | %.2f ± %.2f | %.2f | %+.1f %% | %.2f ± %.2f | %.2f | %+.1f %% |\n",
                scen[s].name.c_str(), st, half_width(th), fr[s].throughput_lots_per_day, 100 * et, sc,
                half_width(ct), fr[s].cycle_time_days, 100 * ec);
    csv << '"' << scen[s].name << "\"," << st << ',' << half_width(th) << ',' << fr[s].throughput_lots_per_day
        << ',' << et << ',' << sc << ',' << half_width(ct) << ',' << fr[s].cycle_time_days << ',' << ec
        << '\n';
  }
  const double rho = pearson(ranks(sim_ct), ranks(flow_ct));
  const std::size_t best = std::min_element(sim_ct.begin(), sim_ct.end()) - sim_ct.begin();
  const auto fr_ranks = ranks(flow_ct);
  std::printf("\nthroughput within 3 %%: %d of %zu; mean cycle time within 10 %%: %d of %zu\n", th_ok, N,
              ct_ok, N);
  std::printf("Spearman rank correlation by cycle time: %.3f\n", rho);
  std::printf("simulation's best (lowest cycle time): %s, flow rank %.0f of %zu\n", scen[best].name.c_str(),
              fr_ranks[best], N);
  std::printf("flow model: %zu scenarios x %g + %g days in %.2f s (period %g h, %u threads)\n", N, days,
              warmup, flow_wall, period, threads);
  if (!csv_path.empty()) std::ofstream(csv_path) << csv.str();
  return 0;
}
