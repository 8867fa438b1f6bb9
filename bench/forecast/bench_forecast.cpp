// Forecast accuracy: how well the twin predicts a fab that deviates from its model.
//
// The "real fab" is an emulator (twin::Emulator) running on a perturbed copy of the model
// (twin::perturb, the fab of `fabtwin emulate --noise F`) with a seed of its own. A follow-mode
// twin of the nominal model takes its MES events. At each origin T the twin forecasts (twin::
// forecast, R replications) where every lot will be 24 h and 7 days ahead and when it completes;
// a fork of the real fab then runs on, and the forecast is scored against what happened:
//   step MAE      mean |forecast median route position - real position|, at +24 h and +7 d
//                 (beside it the "no move" baseline: |position at T - real position|)
//   completion    over lots that really complete within the horizon: MAE of the forecast
//                 median completion time, in hours; share whose real completion lies in the
//                 forecast's 80 % interval [p10, p90]
// Prints one table row per noise level, and with --csv a row per (noise, origin, lot) for
// bench/forecast/plot.py. --oracle 1 forecasts from the real fab's own state instead (it knows its
// failure clocks, job ends and model): the best any forecast from the observed state could do.
//
//   bench_forecast [--model PATH] [--noise 0,0.05,0.15] [--origins 30,50,70] [--horizon 90]
//                  [--replications 20] [--seed 1] [--threads N] [--csv FILE] [--oracle 0|1]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin/noise.hpp"

using namespace fabtwin;
using model::Duration;
using model::SimTime;

namespace {

std::vector<double> parse_list(const char* s) {
  std::vector<double> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::atof(item.c_str()));
  return out;
}

SimTime at_day(double d) { return SimTime{Duration{model::round_ms(d * model::kMsPerDay)}}; }
double hours(SimTime t) { return static_cast<double>(t.time_since_epoch().count()) / 3'600'000.0; }

// Route position (1-based; route_steps + 1 once complete) of every lot in the fab, by name.
std::unordered_map<std::string, double> positions(const des::Simulation& sim) {
  const model::Model& m = sim.model();
  std::unordered_map<std::string, double> out;
  for (const des::LotView& l : sim.view().lots)
    out[l.name] = l.step.value - m.route_of(l.product).first_step.value + 1;
  return out;
}

struct Score {  // sums over lots, per noise level
  double step_err[2] = {0, 0}, still_err[2] = {0, 0};
  std::uint64_t step_n[2] = {0, 0};
  double completion_abs_h = 0;
  std::vector<double> completion_err_h;
  std::uint64_t completion_n = 0, inside80 = 0, lots = 0, censored = 0, forecast_incomplete = 0;
  double forecast_s = 0;
};

}  // namespace

int main(int argc, char** argv) {
  std::string path, csv_path;
  std::vector<double> noises{0, 0.05, 0.15}, origins{30, 50, 70};
  double horizon = 90;
  std::uint32_t replications = 20;
  std::uint64_t seed = 1;
  unsigned threads = 0;
  bool oracle = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const char* k = argv[i];
    const char* v = argv[i + 1];
    if (!std::strcmp(k, "--model"))
      path = v;
    else if (!std::strcmp(k, "--noise"))
      noises = parse_list(v);
    else if (!std::strcmp(k, "--origins"))
      origins = parse_list(v);
    else if (!std::strcmp(k, "--horizon"))
      horizon = std::atof(v);
    else if (!std::strcmp(k, "--replications"))
      replications = static_cast<std::uint32_t>(std::atoi(v));
    else if (!std::strcmp(k, "--seed"))
      seed = std::strtoull(v, nullptr, 10);
    else if (!std::strcmp(k, "--threads"))
      threads = static_cast<unsigned>(std::atoi(v));
    else if (!std::strcmp(k, "--csv"))
      csv_path = v;
    else if (!std::strcmp(k, "--oracle"))
      oracle = std::atoi(v) != 0;
    else {
      std::fprintf(stderr, "bench_forecast: unknown option %s\n", k);
      return 2;
    }
  }
  if (path.empty()) {
    auto p = io::find_data("smt2020/SMT2020_HVLM");
    if (!p.ok()) {
      std::fprintf(stderr, "%s\n", p.error().what().c_str());
      return 1;
    }
    path = p.value().string();
  }
  auto loaded = io::load_model(path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error().what().c_str());
    return 1;
  }
  const model::Model& m = loaded.value();
  std::sort(origins.begin(), origins.end());
  std::ofstream csv;
  if (!csv_path.empty()) {
    csv.open(csv_path);
    csv << "noise,origin_day,lot,position,route_steps,real_pos_24h,fc_pos_24h,real_pos_7d,fc_pos_7d,"
           "real_completion_h,fc_p10_h,fc_p50_h,fc_p90_h,fc_completed_fraction\n";
  }
  std::printf("forecast accuracy: %s, origins", m.name().c_str());
  for (double o : origins) std::printf(" %g", o);
  std::printf(" d, horizon %g d, %u replications, seed %llu%s\n", horizon, replications,
              static_cast<unsigned long long>(seed), oracle ? ", oracle (from the real fab's state)" : "");
  std::printf("%-6s %6s %10s %10s %10s %10s %9s %9s %7s %9s %9s\n", "noise", "lots", "step24h", "(still)",
              "step7d", "(still)", "compl_n", "MAE_h", "in80", "median_h", "fc_s");

  for (const double noise : noises) {
    Score s;
    // The real fab: the perturbed model, its own seed, autonomous; the twin follows its events.
    des::Options real_opts{.seed = seed + 1000};
    auto perturbed = twin::perturb(m, real_opts, noise, seed + 2000);
    if (!perturbed.ok()) {
      std::fprintf(stderr, "%s\n", perturbed.error().what().c_str());
      return 1;
    }
    auto real = des::Simulation::create(perturbed->model.model, perturbed->model.options).value();
    auto twin_sim = des::Simulation::create(m, {.seed = seed, .mode = des::Mode::Follow}).value();
    std::uint64_t refused = 0;
    twin::Emulator emulator(real, [&](const des::Event& e) {
      if (!twin_sim.apply(e).ok()) ++refused;
    });
    real.add_observer(&emulator);
    for (const double origin : origins) {
      const SimTime t0 = at_day(origin);
      real.run_until(t0);
      twin_sim.run_until(t0);

      twin::ForecastOptions fo;
      fo.horizon_days = horizon;
      fo.replications = replications;
      fo.seed = seed + static_cast<std::uint64_t>(origin);
      fo.threads = threads;
      fo.at_hours = {24, 24 * 7};
      auto fc = twin::forecast(oracle ? real : twin_sim, fo);
      if (!fc.ok()) {
        std::fprintf(stderr, "%s\n", fc.error().what().c_str());
        return 1;
      }
      s.forecast_s += fc->wall_s;

      // What really happened: a fork of the real fab runs on (the same draws as the fab itself).
      des::Simulation ahead = real.fork();
      const std::size_t done0 = ahead.completed_lots().size();
      ahead.run_until(t0 + Duration{24 * 3'600'000LL});
      const auto at24 = positions(ahead);
      ahead.run_until(t0 + Duration{7 * 24 * 3'600'000LL});
      const auto at7d = positions(ahead);
      ahead.run_until(at_day(origin + horizon));
      std::unordered_map<std::string, SimTime> completed;
      const auto& done = ahead.completed_lots();
      for (std::size_t j = done0; j < done.size(); ++j)
        completed[ahead.lot_name(done[j].key)] = done[j].completed;

      for (const twin::LotForecast& f : fc->lots) {
        ++s.lots;
        const auto it_done = completed.find(f.name);
        const double end_pos = f.route_steps + 1;
        double real_pos[2];
        for (int k = 0; k < 2; ++k) {
          const auto& at = k == 0 ? at24 : at7d;
          const SimTime mark = t0 + Duration{(k == 0 ? 24 : 168) * 3'600'000LL};
          const auto it = at.find(f.name);
          real_pos[k] = it != at.end()                                            ? it->second
                        : (it_done != completed.end() && it_done->second <= mark) ? end_pos
                                                                                  : std::nan("");
          const twin::Spread& p = f.position_at[static_cast<std::size_t>(k)];
          if (std::isnan(real_pos[k]) || p.n == 0) continue;  // scrapped
          s.step_err[k] += std::abs(p.p50 - real_pos[k]);
          s.still_err[k] += std::abs(f.position - real_pos[k]);
          ++s.step_n[k];
        }
        double real_h = std::nan("");
        if (it_done == completed.end()) {
          ++s.censored;
        } else {
          real_h = hours(it_done->second);
          if (f.completion_ms.n == 0) {
            ++s.forecast_incomplete;
          } else {
            const double p10 = f.completion_ms.p10 / 3.6e6, p50 = f.completion_ms.p50 / 3.6e6;
            // Replications that did not complete within the horizon count as later than any that did.
            const double p90 = f.completed_fraction < 0.9 ? INFINITY : f.completion_ms.p90 / 3.6e6;
            s.completion_abs_h += std::abs(p50 - real_h);
            s.completion_err_h.push_back(p50 - real_h);
            ++s.completion_n;
            if (real_h >= p10 && real_h <= p90) ++s.inside80;
          }
        }
        if (csv.is_open()) {
          const twin::Spread& c = f.completion_ms;
          csv << noise << ',' << origin << ',' << f.name << ',' << f.position << ',' << f.route_steps << ','
              << real_pos[0] << ',' << f.position_at[0].p50 << ',' << real_pos[1] << ','
              << f.position_at[1].p50 << ',' << real_h << ',' << (c.n ? c.p10 / 3.6e6 : NAN) << ','
              << (c.n ? c.p50 / 3.6e6 : NAN) << ',' << (c.n ? c.p90 / 3.6e6 : NAN) << ','
              << f.completed_fraction << '\n';
        }
      }
    }
    real.remove_observer(&emulator);
    std::vector<double> abs_err;
    for (double e : s.completion_err_h) abs_err.push_back(std::abs(e));
    std::sort(abs_err.begin(), abs_err.end());
    const double median_h = abs_err.empty() ? NAN : abs_err[abs_err.size() / 2];
    auto ratio = [](double a, std::uint64_t n) { return n ? a / static_cast<double>(n) : NAN; };
    std::printf("%-6g %6llu %10.2f %10.2f %10.2f %10.2f %9llu %9.1f %6.1f%% %9.1f %9.1f\n", noise,
                static_cast<unsigned long long>(s.lots), ratio(s.step_err[0], s.step_n[0]),
                ratio(s.still_err[0], s.step_n[0]), ratio(s.step_err[1], s.step_n[1]),
                ratio(s.still_err[1], s.step_n[1]), static_cast<unsigned long long>(s.completion_n),
                ratio(s.completion_abs_h, s.completion_n),
                100 * ratio(static_cast<double>(s.inside80), s.completion_n), median_h, s.forecast_s);
    std::printf(
        "       (not complete in the real fab within the horizon: %llu; forecast never completed: %llu; "
        "events the twin refused: %llu)\n",
        static_cast<unsigned long long>(s.censored), static_cast<unsigned long long>(s.forecast_incomplete),
        static_cast<unsigned long long>(refused));
    std::fflush(stdout);
  }
  return 0;
}
