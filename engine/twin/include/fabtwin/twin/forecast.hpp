#pragma once
// Forecasts: the live twin forked into autonomous mode and run ahead H days, R times with
// different random draws (Simulation::fork(seed)), on all cores. Per lot: when it completes (an
// 80 % interval over the replications) and where it is on its route at chosen times ahead; over
// the horizon: lots and wafers completed and moves, with 95 % confidence intervals.
// The live simulation is only read (forked); the caller keeps it from changing meanwhile.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/des/simulation.hpp"

namespace fabtwin::twin {

struct ForecastOptions {
  double horizon_days = 7;                    // > 0, at most 3650
  std::uint32_t replications = 10;            // 1 .. 10000
  std::uint64_t seed = 1;                     // replication r draws with replication_seed(seed, r)
  unsigned threads = 0;                       // 0: every core (std::thread::hardware_concurrency)
  std::vector<double> at_hours;               // record each lot's route position this long after the start
  std::vector<std::string> lots;              // lots to report (names in the fab); empty: every lot
  const std::atomic<bool>* cancel = nullptr;  // set: the runs stop within a simulated day
};

// Over the replications: mean, 95 % confidence half-width of the mean (Student t; 0 for one
// value) and the 10 / 50 / 90 % quantiles (linear interpolation). n = values it summarises.
struct Spread {
  double mean = 0, ci95 = 0, p10 = 0, p50 = 0, p90 = 0;
  std::uint32_t n = 0;
};
Spread spread(std::vector<double> values);

struct LotForecast {
  std::string name;
  des::LotKey key;
  std::uint32_t position = 0;       // 1-based position of its step on its route at the start
  std::uint32_t route_steps = 0;    // steps of its route (a completed lot is at route_steps + 1)
  double completed_fraction = 0;    // replications in which it completed within the horizon
  Spread completion_ms;             // model ms, over the replications where it completed
  std::vector<Spread> position_at;  // per ForecastOptions::at_hours: route position (completed:
                                    // route_steps + 1; scrapped replications left out)
};

struct ForecastResult {
  std::uint64_t from_version = 0;
  model::SimTime from{}, to{};
  std::uint32_t replications = 0;
  std::vector<LotForecast> lots;                   // by name
  Spread lots_completed, wafers_completed, moves;  // within the horizon, per replication
  double wall_s = 0;
};

// The seed of replication r (a SplitMix64 mix of both; replications never share draws).
std::uint64_t replication_seed(std::uint64_t seed, std::uint32_t r);

// Fails (an Error naming the field) on a horizon, replication count or time out of range, or a
// lot name not in the fab ("lots[i]"); when cancelled, an Error with field "cancel".
model::Result<ForecastResult> forecast(const des::Simulation& live, const ForecastOptions& options);

}  // namespace fabtwin::twin
