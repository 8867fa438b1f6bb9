// The kernel's deterministic math and samplers (engine/yield/src, private headers).
#include <catch2/catch.hpp>
#include <cmath>

#include "det_math.hpp"
#include "kernel.hpp"

using namespace fabtwin::yield::detail;

TEST_CASE("det_exp agrees with libm to a few ulp and handles the ends", "[yield][detmath]") {
  double worst = 0;
  for (int i = 0; i <= 200000; ++i) {
    const double x = -708.0 + 713.0 * i / 200000.0;  // [-708, 5]: normal results
    const double e = std::exp(x);
    worst = std::max(worst, std::fabs(det_exp(x) - e) / e);
  }
  INFO("worst relative error " << worst);
  CHECK(worst < 1e-15);
  CHECK(det_exp(0.0) == 1.0);
  CHECK(det_exp(-800.0) == 0.0);
  CHECK(det_exp(-744.0) > 0.0);  // subnormal range
  CHECK(det_exp(-744.0) == Approx(std::exp(-744.0)).epsilon(1e-3));
}

TEST_CASE("det_log agrees with libm to a few ulp, subnormals included", "[yield][detmath]") {
  double worst = 0;
  for (int i = 1; i <= 200000; ++i) {
    const double x = std::ldexp(1.0 + i / 200000.0, (i % 200) - 100);
    const double l = std::log(x);
    worst = std::max(worst, std::fabs(det_log(x) - l) / std::max(1.0, std::fabs(l)));
  }
  INFO("worst error " << worst);
  CHECK(worst < 1e-15);
  CHECK(det_log(1.0) == 0.0);
  CHECK(det_log(4.9e-324) == Approx(std::log(4.9e-324)));
}

TEST_CASE("det_lgamma agrees with std::lgamma", "[yield][detmath]") {
  for (double x = 1.0; x < 2000.0; x = x * 1.37 + 1.0)
    CHECK(det_lgamma(x) == Approx(std::lgamma(x)).epsilon(1e-13));
  CHECK(det_lgamma(1.0) == 0.0);
  CHECK(det_lgamma(2.0) == 0.0);
}

namespace {
struct Moments {
  double n = 0, s = 0, s2 = 0;
  void add(double x) {
    n += 1;
    s += x;
    s2 += x * x;
  }
  double mean() const { return s / n; }
  double var() const { return (s2 - s * s / n) / (n - 1); }
};
const auto kKey = fabtwin::compute::RandomKey::make(42, kYieldStream);
}  // namespace

TEST_CASE("the Poisson sampler has the right mean, variance and zero class", "[yield][detmath]") {
  const int n = 200000;
  for (double mu : {0.3, 4.0, 9.99, 10.0, 60.0, 2500.0}) {
    Moments m;
    int zeros = 0;
    for (int i = 0; i < n; ++i) {
      Stream s(kKey, static_cast<std::uint64_t>(i), 7, kPurposeCount);
      const double k = draw_poisson(mu, s);
      m.add(k);
      zeros += k == 0;
    }
    INFO("mu = " << mu << ": mean " << m.mean() << ", var " << m.var());
    CHECK(std::fabs(m.mean() - mu) < 4.5 * std::sqrt(mu / n));
    CHECK(std::fabs(m.var() - mu) < 4.5 * std::sqrt((mu + 2 * mu * mu) / n));
    const double p0 = std::exp(-mu);
    CHECK(std::fabs(zeros / double(n) - p0) < 4.5 * std::sqrt(p0 * (1 - p0) / n) + 1e-12);
  }
}

TEST_CASE("the gamma sampler has mean = variance = shape (small and large shapes)", "[yield][detmath]") {
  const int n = 200000;
  for (double k : {0.3, 1.0, 2.0, 7.5, 1e4}) {
    Moments m;
    for (int i = 0; i < n; ++i) {
      Stream s(kKey, static_cast<std::uint64_t>(i), 0, kPurposeGamma);
      m.add(draw_gamma(k, s));
    }
    INFO("shape " << k << ": mean " << m.mean() << ", var " << m.var());
    CHECK(std::fabs(m.mean() - k) < 4.5 * std::sqrt(k / n));
    CHECK(std::fabs(m.var() - k) < 4.5 * std::sqrt((2 * k * k + 6 * k) / n));
  }
}

TEST_CASE("stream uniforms stay strictly inside (0, 1)", "[yield][detmath]") {
  CHECK(open_uniform(0, 0) > 0.0);
  CHECK(open_uniform(0xffffffffu, 0xffffffffu) < 1.0);
  CHECK(open_uniform(0x80000000u, 0) == 0.5 + 0.5 / 4503599627370496.0);
}

TEST_CASE("a stream's draws depend only on its key and counter", "[yield][detmath]") {
  Stream a(kKey, 5, 3, kPurposeGamma), b(kKey, 5, 3, kPurposeGamma), c(kKey, 6, 3, kPurposeGamma);
  for (int i = 0; i < 10; ++i) {
    const auto x = a.next_u32();
    CHECK(x == b.next_u32());
    CHECK(x != c.next_u32());
  }
}
