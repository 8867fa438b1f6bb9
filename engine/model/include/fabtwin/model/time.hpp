#pragma once
// Simulation time: integer milliseconds (DESIGN decision 5). Durations are std::chrono
// milliseconds; instants are time points of SimClock, whose zero is the model's epoch
// (2018-01-01 00:00:00 for SMT2020).
#include <chrono>
#include <cmath>
#include <cstdint>

namespace fabtwin::model {

using Duration = std::chrono::duration<std::int64_t, std::milli>;

struct SimClock {
  using rep = std::int64_t;
  using period = std::milli;
  using duration = Duration;
  using time_point = std::chrono::time_point<SimClock, Duration>;
  static constexpr bool is_steady = true;
};
using SimTime = SimClock::time_point;

// std::llround (halves away from zero) without the library call where |x| < 2^52: there
// x - trunc(x) is exact, so the result is the same for every x; beyond, and NaN, std::llround.
inline std::int64_t llround_exact(double x) {
  if (!(std::fabs(x) < 4503599627370496.0)) return static_cast<std::int64_t>(std::llround(x));
  const auto i = static_cast<std::int64_t>(x);  // toward zero
  const double f = x - static_cast<double>(i);
  return i + (f >= 0.5) - (f <= -0.5);
}

// Rounds a (non-negative or negative) number of milliseconds to the nearest integer ms.
inline Duration round_ms(double ms) { return Duration{llround_exact(ms)}; }

constexpr double kMsPerMinute = 60'000.0;
constexpr double kMsPerDay = 86'400'000.0;

inline double to_days(Duration d) { return static_cast<double>(d.count()) / kMsPerDay; }
inline double to_minutes(Duration d) { return static_cast<double>(d.count()) / kMsPerMinute; }

}  // namespace fabtwin::model
