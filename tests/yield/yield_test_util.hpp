#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "fabtwin/yield/yield.hpp"

namespace fabtwin::yield::test {

inline DieGrid grid_mm(double w, double h) {
  WaferGeometry g;
  g.die_width_mm = w;
  g.die_height_mm = h;
  return DieGrid::make(g).value();
}

inline std::vector<WaferRef> wafer_refs(std::size_t n, std::uint64_t first_uid = 0, std::uint32_t rates = 0) {
  std::vector<WaferRef> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = WaferRef{first_uid + i, rates};
  return w;
}

// Mean and standard error of the per-wafer die yields (wafers are the independent units).
struct YieldEstimate {
  double mean = 0, se = 0;
};
inline YieldEstimate estimate(const BatchResult& r) {
  double s = 0, s2 = 0;
  for (const auto& w : r.wafers) {
    const double y = w.die_yield();
    s += y;
    s2 += y * y;
  }
  const double n = static_cast<double>(r.wafers.size());
  const double var = (s2 - s * s / n) / (n - 1);
  return {s / n, std::sqrt(var / n)};
}

// FNV-1a over bytes.
inline std::uint64_t fnv1a(const void* p, std::size_t n, std::uint64_t h = 1469598103934665603ull) {
  const auto* b = static_cast<const unsigned char*>(p);
  for (std::size_t i = 0; i < n; ++i) h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

}  // namespace fabtwin::yield::test
