// Forecasts: replications of an autonomous fork, run in parallel (one thread per core).
#include "fabtwin/twin/forecast.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace fabtwin::twin {

using namespace fabtwin::model;

namespace {

// t(0.975, df): two-sided 95 % Student t quantile; a table to 30, then Cornish-Fisher (error < 1e-3).
double student_t975(std::uint32_t df) {
  static constexpr double kTable[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                      2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                      2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                      2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df == 0) return 0;
  if (df <= 30) return kTable[df];
  const double z = 1.959964, d = df;
  return z + (z * z * z + z) / (4 * d) + (5 * std::pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * d * d);
}

double quantile(const std::vector<double>& sorted, double q) {
  const double h = (sorted.size() - 1) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[hi] - sorted[lo]);
}

std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

struct LotStart {
  std::string name;
  des::LotKey key;
  std::uint32_t route_first = 0, route_steps = 0, position = 0;
};

// What one replication saw.
struct Replication {
  std::vector<double> completed_ms;              // per reported lot; NaN: not completed
  std::vector<std::vector<double>> position_at;  // [time][lot]; NaN: scrapped
  double lots = 0, wafers = 0, moves = 0;
};

}  // namespace

Spread spread(std::vector<double> v) {
  Spread s;
  s.n = static_cast<std::uint32_t>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / v.size();
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.ci95 = student_t975(s.n - 1) * std::sqrt(ss / (v.size() - 1) / v.size());
  }
  s.p10 = quantile(v, 0.1), s.p50 = quantile(v, 0.5), s.p90 = quantile(v, 0.9);
  return s;
}

std::uint64_t replication_seed(std::uint64_t seed, std::uint32_t r) {
  return splitmix(splitmix(seed) ^ (r + 1));
}

Result<ForecastResult> forecast(const des::Simulation& live, const ForecastOptions& o) {
  auto bad = [](std::string field, std::string message) {
    return Error{"forecast", 0, std::move(field), std::move(message)};
  };
  if (!(o.horizon_days > 0 && o.horizon_days <= 3650))
    return bad("horizon_days", "must be > 0 and at most 3650, not " + std::to_string(o.horizon_days));
  if (o.replications < 1 || o.replications > 10000)
    return bad("replications", "must be 1 to 10000, not " + std::to_string(o.replications));
  for (std::size_t i = 0; i < o.at_hours.size(); ++i)
    if (!(o.at_hours[i] >= 0 && o.at_hours[i] <= o.horizon_days * 24))
      return bad("at_hours[" + std::to_string(i) + "]",
                 "must lie within the horizon (0 to " + std::to_string(o.horizon_days * 24) + " h)");
  const auto t0 = std::chrono::steady_clock::now();
  const Model& m = live.model();
  ForecastResult out;
  out.from_version = live.version();
  out.from = live.now();
  out.to = live.now() + Duration{round_ms(o.horizon_days * kMsPerDay)};
  out.replications = o.replications;

  // The lots to report, from the live state.
  const des::StateView view = live.view();
  std::vector<LotStart> lots;
  auto add = [&](const des::LotView& l) {
    const Route& route = m.route_of(l.product);
    lots.push_back(
        {l.name, l.key, route.first_step.value, route.step_count, l.step.value - route.first_step.value + 1});
  };
  if (o.lots.empty()) {
    for (const des::LotView& l : view.lots) add(l);
  } else {
    for (std::size_t i = 0; i < o.lots.size(); ++i) {
      const auto it =
          std::lower_bound(view.lots.begin(), view.lots.end(), o.lots[i],
                           [](const des::LotView& l, const std::string& n) { return l.name < n; });
      if (it == view.lots.end() || it->name != o.lots[i])
        return bad("lots[" + std::to_string(i) + "]", "no lot named \"" + o.lots[i] + "\" in the fab");
      add(*it);
    }
  }
  std::vector<SimTime> marks;
  for (double h : o.at_hours) marks.push_back(out.from + Duration{round_ms(h * 3'600'000.0)});
  std::vector<std::size_t> mark_order(marks.size());
  for (std::size_t i = 0; i < marks.size(); ++i) mark_order[i] = i;
  std::sort(mark_order.begin(), mark_order.end(),
            [&](std::size_t a, std::size_t b) { return marks[a] < marks[b]; });

  const std::size_t completed0 = live.completed_lots().size();
  const std::uint64_t moves0 = live.live_kpis().moves;
  auto cancelled = [&] { return o.cancel && o.cancel->load(std::memory_order_relaxed); };
  // Runs in steps of a simulated day, so a cancel takes effect soon.
  auto run_to = [&](des::Simulation& sim, SimTime t) {
    while (sim.now() < t && !cancelled()) sim.run_until(std::min(t, sim.now() + Duration{86'400'000}));
  };
  auto run_one = [&](std::uint32_t r) {
    Replication rep;
    des::Simulation sim = live.fork(replication_seed(o.seed, r));
    if (sim.mode() == des::Mode::Follow) sim.set_mode(des::Mode::Autonomous);
    rep.position_at.assign(marks.size(), std::vector<double>(lots.size(), std::nan("")));
    for (const std::size_t k : mark_order) {
      run_to(sim, marks[k]);
      // One view per mark: every lot's step.
      const des::StateView v = sim.view();
      std::unordered_map<std::string_view, std::uint32_t> step_of;
      step_of.reserve(v.lots.size());
      for (const des::LotView& l : v.lots) step_of.emplace(l.name, l.step.value);
      for (std::size_t i = 0; i < lots.size(); ++i) {
        const auto it = step_of.find(lots[i].name);
        if (it != step_of.end()) rep.position_at[k][i] = it->second - lots[i].route_first + 1;
      }
    }
    run_to(sim, out.to);
    // Completions since the fork, by key.
    rep.completed_ms.assign(lots.size(), std::nan(""));
    std::unordered_map<std::uint64_t, std::size_t> index;
    index.reserve(lots.size());
    auto key64 = [](des::LotKey k) { return (static_cast<std::uint64_t>(k.source) << 32) | k.sequence; };
    for (std::size_t i = 0; i < lots.size(); ++i) index.emplace(key64(lots[i].key), i);
    const auto& done = sim.completed_lots();
    std::vector<SimTime> completed_at(lots.size(), SimTime::max());
    for (std::size_t j = completed0; j < done.size(); ++j) {
      const des::CompletedLot& c = done[j];
      ++rep.lots;
      rep.wafers += c.wafers;
      const auto it = index.find(key64(c.key));
      if (it != index.end()) {
        rep.completed_ms[it->second] = static_cast<double>(c.completed.time_since_epoch().count());
        completed_at[it->second] = c.completed;
      }
    }
    // A lot that completed before a mark is at its route's end there.
    for (std::size_t k = 0; k < marks.size(); ++k)
      for (std::size_t i = 0; i < lots.size(); ++i)
        if (completed_at[i] <= marks[k]) rep.position_at[k][i] = lots[i].route_steps + 1;
    rep.moves = static_cast<double>(sim.live_kpis().moves - moves0);
    return rep;
  };

  std::vector<Replication> reps(o.replications);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const unsigned nthreads = std::min<unsigned>(o.threads ? o.threads : hw, o.replications);
  std::atomic<std::uint32_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (std::uint32_t r; (r = next.fetch_add(1)) < o.replications;) {
      try {
        reps[r] = run_one(r);
      } catch (...) {
        const std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < nthreads; ++i) pool.emplace_back(worker);
  worker();
  for (std::thread& t : pool) t.join();
  if (failure) std::rethrow_exception(failure);
  if (cancelled()) return bad("cancel", "the forecast was cancelled");

  // Summaries.
  std::vector<double> v;
  auto over = [&](auto get) {
    v.clear();
    for (const Replication& rep : reps) {
      const double x = get(rep);
      if (!std::isnan(x)) v.push_back(x);
    }
    return spread(v);
  };
  out.lots_completed = over([](const Replication& r) { return r.lots; });
  out.wafers_completed = over([](const Replication& r) { return r.wafers; });
  out.moves = over([](const Replication& r) { return r.moves; });
  out.lots.reserve(lots.size());
  for (std::size_t i = 0; i < lots.size(); ++i) {
    LotForecast f;
    f.name = lots[i].name;
    f.key = lots[i].key;
    f.position = lots[i].position;
    f.route_steps = lots[i].route_steps;
    f.completion_ms = over([&](const Replication& r) { return r.completed_ms[i]; });
    f.completed_fraction = static_cast<double>(f.completion_ms.n) / o.replications;
    for (std::size_t k = 0; k < marks.size(); ++k)
      f.position_at.push_back(over([&](const Replication& r) { return r.position_at[k][i]; }));
    out.lots.push_back(std::move(f));
  }
  std::sort(out.lots.begin(), out.lots.end(),
            [](const LotForecast& a, const LotForecast& b) { return a.name < b.name; });
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return out;
}

}  // namespace fabtwin::twin
