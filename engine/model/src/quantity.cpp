#include "fabtwin/model/quantity.hpp"

#include <algorithm>
#include <cmath>

namespace fabtwin::model {

std::string_view to_string(Unit u) {
  switch (u) {
    case Unit::Millisecond:
      return "ms";
    case Unit::Second:
      return "sec";
    case Unit::Minute:
      return "min";
    case Unit::Hour:
      return "hr";
    case Unit::Day:
      return "day";
    case Unit::Piece:
      return "pieces";
  }
  return "?";
}

std::optional<Unit> parse_unit(std::string_view s) {
  if (s == "ms") return Unit::Millisecond;
  if (s == "sec" || s == "s") return Unit::Second;
  if (s == "min") return Unit::Minute;
  if (s == "hr" || s == "h") return Unit::Hour;
  if (s == "day" || s == "d") return Unit::Day;
  if (s == "pieces" || s == "piece") return Unit::Piece;
  return std::nullopt;
}

bool is_time(Unit u) { return u != Unit::Piece; }

double ms_per(Unit u) {
  switch (u) {
    case Unit::Millisecond:
      return 1.0;
    case Unit::Second:
      return 1e3;
    case Unit::Minute:
      return 6e4;
    case Unit::Hour:
      return 3.6e6;
    case Unit::Day:
      return 8.64e7;
    case Unit::Piece:
      return 0.0;
  }
  return 0.0;
}

Duration Quantity::duration() const { return round_ms(value * ms_per(unit)); }

std::string_view to_string(DistKind k) {
  switch (k) {
    case DistKind::Constant:
      return "constant";
    case DistKind::Uniform:
      return "uniform";
    case DistKind::Exponential:
      return "exponential";
    case DistKind::Triangular:
      return "triangular";
    case DistKind::Normal:
      return "normal";
    case DistKind::Lognormal:
      return "lognormal";
  }
  return "?";
}

std::optional<DistKind> parse_dist_kind(std::string_view s) {
  for (auto k : {DistKind::Constant, DistKind::Uniform, DistKind::Exponential, DistKind::Triangular,
                 DistKind::Normal, DistKind::Lognormal})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

double Distribution::mean() const {
  switch (kind) {
    case DistKind::Constant:
      return a;
    case DistKind::Uniform:
      return a;
    case DistKind::Exponential:
      return a;
    case DistKind::Triangular:
      return (a + b + c) / 3.0;
    case DistKind::Normal:
      return a;
    case DistKind::Lognormal:
      return a;
  }
  return a;
}

double Distribution::min() const {
  switch (kind) {
    case DistKind::Constant:
      return a;
    case DistKind::Uniform:
      return std::max(0.0, a - b);
    case DistKind::Triangular:
      return a;
    default:
      return 0.0;
  }
}

double Distribution::sample_other(double u1, double u2) const {
  double x = 0;
  switch (kind) {
    case DistKind::Constant:
    case DistKind::Uniform:
      break;  // sample() draws these inline
    case DistKind::Exponential:
      x = -a * std::log(u1);
      break;
    case DistKind::Triangular: {
      const double lo = a, mode = b, hi = c;
      if (hi <= lo) {
        x = lo;
        break;
      }
      const double f = (mode - lo) / (hi - lo);
      x = u1 < f ? lo + std::sqrt(u1 * (hi - lo) * (mode - lo))
                 : hi - std::sqrt((1 - u1) * (hi - lo) * (hi - mode));
      break;
    }
    case DistKind::Normal:
    case DistKind::Lognormal: {
      // Box-Muller from the two uniforms.
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      if (kind == DistKind::Normal) {
        x = a + b * z;
      } else {
        const double s2 = std::log1p((b * b) / (a * a));
        x = std::exp(std::log(a) - 0.5 * s2 + std::sqrt(s2) * z);
      }
      break;
    }
  }
  return x < 0 ? 0 : x;
}

}  // namespace fabtwin::model
