#pragma once
// Quantities with units and random distributions over them, kept as the source gave them
// (value + unit) so that a model round-trips exactly; conversion happens when drawn.
#include <optional>
#include <string_view>

#include "fabtwin/model/time.hpp"

namespace fabtwin::model {

enum class Unit : std::uint8_t { Millisecond, Second, Minute, Hour, Day, Piece };

std::string_view to_string(Unit u);
std::optional<Unit> parse_unit(std::string_view s);  // "ms", "sec", "min", "hr", "day", "pieces", ...
bool is_time(Unit u);
double ms_per(Unit u);  // milliseconds per unit; 0 for Piece

struct Quantity {
  double value = 0;
  Unit unit = Unit::Minute;
  // Milliseconds, rounded to the nearest ms; requires a time unit.
  Duration duration() const;
  friend bool operator==(const Quantity&, const Quantity&) = default;
};

enum class DistKind : std::uint8_t { Constant, Uniform, Exponential, Triangular, Normal, Lognormal };
std::string_view to_string(DistKind k);
std::optional<DistKind> parse_dist_kind(std::string_view s);

// Parameters by kind (in `unit`):
//   Constant    a = value
//   Uniform     a = mean, b = half width: U[a - b, a + b] (SMT2020 / AutoSched reading of "uniform a b")
//   Exponential a = mean
//   Triangular  a = min, b = mode, c = max
//   Normal      a = mean, b = standard deviation (draws truncated at 0)
//   Lognormal   a = mean, b = standard deviation of the variable itself
struct Distribution {
  DistKind kind = DistKind::Constant;
  double a = 0, b = 0, c = 0;
  Unit unit = Unit::Minute;

  static Distribution constant(double v, Unit u) { return {DistKind::Constant, v, 0, 0, u}; }
  double mean() const;  // in `unit`
  double min() const;   // smallest value a draw can take, in `unit`
  // Inverse-CDF style draw from uniforms u1, u2 in (0, 1]; result in `unit`, never negative.
  // (Uniform and constant, what SMT2020 uses for every processing and transport time, inline.)
  double sample(double u1, double u2) const {
    if (kind == DistKind::Uniform) {
      const double x = a - b + 2.0 * b * u1;
      return x < 0 ? 0 : x;
    }
    if (kind == DistKind::Constant) return a < 0 ? 0 : a;
    return sample_other(u1, u2);
  }
  // Convenience: mean and draw converted to milliseconds (time units only).
  double mean_ms() const { return mean() * ms_per(unit); }
  Duration sample_ms(double u1, double u2) const { return round_ms(sample(u1, u2) * ms_per(unit)); }
  friend bool operator==(const Distribution&, const Distribution&) = default;

 private:
  double sample_other(double u1, double u2) const;  // the kinds that need log, sqrt or cos
};

}  // namespace fabtwin::model
