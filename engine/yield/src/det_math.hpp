#pragma once
// Deterministic math for the yield kernel: e^x, ln x and ln Gamma built from IEEE +, -, *, / and
// sqrt/floor only (all correctly rounded on x86-64 SSE2 and on CUDA devices), so the same source
// gives bit-identical results from g++ (host) and nvcc (device). Libm/CUDA-libdevice exp/log differ
// in the last bits and must not be used in code whose result lands in a wafer map.
// Requires: no contraction into FMA (-ffp-contract=off on the host, --fmad=false on the device);
// see docs/yield.md ("Bit-identical CPU and GPU maps").
#include <cstdint>
#include <cstring>

#include "fabtwin/compute/hd.hpp"

#if !defined(__CUDA_ARCH__)
#include <cmath>
#endif

namespace fabtwin::yield::detail {

FABTWIN_HD_INLINE double bits_to_double(std::uint64_t b) {
#if defined(__CUDA_ARCH__)
  return __longlong_as_double(static_cast<long long>(b));
#else
  double d;
  std::memcpy(&d, &b, sizeof d);
  return d;
#endif
}

FABTWIN_HD_INLINE std::uint64_t double_to_bits(double d) {
#if defined(__CUDA_ARCH__)
  return static_cast<std::uint64_t>(__double_as_longlong(d));
#else
  std::uint64_t b;
  std::memcpy(&b, &d, sizeof b);
  return b;
#endif
}

// Exact on both sides (IEEE operations with a single correctly rounded result).
FABTWIN_HD_INLINE double det_floor(double x) {
#if defined(__CUDA_ARCH__)
  return ::floor(x);
#else
  return std::floor(x);
#endif
}
FABTWIN_HD_INLINE double det_sqrt(double x) {
#if defined(__CUDA_ARCH__)
  return __dsqrt_rn(x);
#else
  return std::sqrt(x);
#endif
}
FABTWIN_HD_INLINE double det_abs(double x) { return x < 0 ? -x : x; }

// 2^k as a double, k in [-1022, 1023] (exact).
FABTWIN_HD_INLINE double pow2i(int k) { return bits_to_double(static_cast<std::uint64_t>(k + 1023) << 52); }

inline constexpr double kLn2Hi = 6.93147180369123816490e-01;  // 0x3FE62E42FEE00000: k * kLn2Hi exact
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
inline constexpr double kLog2e = 1.44269504088896338700e+00;

// e^x, relative error < 1e-15; 0 below -745, +inf above 709.7 (clamped to 2^1023 * e^0.7).
FABTWIN_HD_INLINE double det_exp(double x) {
  if (!(x > -745.0)) return 0.0;  // also NaN -> 0
  if (x > 709.0) x = 709.0;
  const double k = det_floor(x * kLog2e + 0.5);
  const double r = (x - k * kLn2Hi) - k * kLn2Lo;  // |r| <= 0.3466 + tiny
  // Taylor series to r^13 (truncation < 4e-18), Horner form.
  double p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  const int ki = static_cast<int>(k);
  if (ki >= -1022) return p * pow2i(ki);
  return (p * pow2i(ki + 1022)) * pow2i(-1022);  // subnormal result: one correctly rounded step
}

// ln x for finite x > 0 (subnormals included); -inf-like -745 for x <= 0. Error a few ulp.
FABTWIN_HD_INLINE double det_log(double x) {
  if (!(x > 0.0)) return -745.2;
  int e = 0;
  if (x < 2.2250738585072014e-308) {  // subnormal: scale into the normal range
    x = x * 18014398509481984.0;      // 2^54
    e = -54;
  }
  const std::uint64_t b = double_to_bits(x);
  e += static_cast<int>((b >> 52) & 0x7ff) - 1023;
  double m = bits_to_double((b & 0x000fffffffffffffull) | 0x3ff0000000000000ull);  // [1, 2)
  if (m > 1.4142135623730951) {
    m = m * 0.5;
    e += 1;
  }
  // ln m = 2 atanh(s) = 2 (s + s^3/3 + s^5/5 + ...), s = (m-1)/(m+1), |s| <= 0.1716.
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 1.0 / 25.0;
  p = p * s2 + 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  const double lm = 2.0 * s * p;
  const double de = static_cast<double>(e);
  return de * kLn2Hi + (lm + de * kLn2Lo);
}

// ln Gamma(x) for x >= 1 (Stirling series after shifting x up to >= 7; as numpy's loggam).
FABTWIN_HD_INLINE double det_lgamma(double x) {
  if (x == 1.0 || x == 2.0) return 0.0;
  int n = 0;
  if (x < 7.0) n = static_cast<int>(7.0 - x);
  double x0 = x + n;
  const double x2 = (1.0 / x0) * (1.0 / x0);
  double gl0 = -1.39243221690590e+00;
  gl0 = gl0 * x2 + 1.796443723688307e-01;
  gl0 = gl0 * x2 + -2.955065359477124e-02;
  gl0 = gl0 * x2 + 6.410256410256410e-03;
  gl0 = gl0 * x2 + -1.917526917526918e-03;
  gl0 = gl0 * x2 + 8.417508417508418e-04;
  gl0 = gl0 * x2 + -5.952380952380952e-04;
  gl0 = gl0 * x2 + 7.936507936507937e-04;
  gl0 = gl0 * x2 + -2.777777777777778e-03;
  gl0 = gl0 * x2 + 8.333333333333333e-02;
  double gl = gl0 / x0 + 0.5 * 1.8378770664093453 + (x0 - 0.5) * det_log(x0) - x0;
  for (int k = 1; k <= n; ++k) {
    gl -= det_log(x0 - 1.0);
    x0 -= 1.0;
  }
  return gl;
}

}  // namespace fabtwin::yield::detail
