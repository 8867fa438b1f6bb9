// Replication statistics against hand values (t tables: Abramowitz & Stegun 26.10; sums by hand).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "fabtwin/whatif/stats.hpp"

using namespace fabtwin::whatif;
using Catch::Detail::Approx;

TEST_CASE("Student t quantiles match the tables") {
  CHECK(student_t_quantile(0.975, 1) == Approx(12.7062047362).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 2) == Approx(4.30265272975).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 4) == Approx(2.77644510520).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 9) == Approx(2.26215716280).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 29) == Approx(2.04522964213).epsilon(1e-9));
  CHECK(student_t_quantile(0.95, 10) == Approx(1.81246112281).epsilon(1e-9));
  CHECK(student_t_quantile(0.975, 1e6) == Approx(1.95996635).epsilon(1e-6));  // -> the normal's 1.959964
  CHECK(student_t_quantile(0.025, 4) == Approx(-2.77644510520).epsilon(1e-9));
  CHECK(student_t_quantile(0.5, 7) == 0);
  for (double dof : {1.0, 3.0, 12.0, 100.0})
    for (double p : {0.6, 0.9, 0.99, 0.999})
      CHECK(student_t_cdf(student_t_quantile(p, dof), dof) == Approx(p).epsilon(1e-12));
  CHECK(student_t_cdf(0, 5) == Approx(0.5));
  CHECK(student_t_cdf(1, 1) == Approx(0.75));  // Cauchy: 1/2 + atan(1)/pi
}

TEST_CASE("summary: mean, sd and the 95 % half-width") {
  const std::vector<double> v{1, 2, 3, 4, 5};
  const Summary s = summarise(v);
  CHECK(s.n == 5);
  CHECK(s.mean == 3);
  CHECK(s.sd == Approx(std::sqrt(2.5)));
  // 2.7764451052 * sqrt(2.5) / sqrt(5) = 2.7764451052 * sqrt(0.5)
  CHECK(s.half_width == Approx(1.96324316).epsilon(1e-8));
  CHECK(s.lo() == Approx(3 - 1.96324316));
  CHECK(s.hi() == Approx(3 + 1.96324316));
}

TEST_CASE("summary leaves out values a replication could not measure") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Summary s = summarise(std::vector<double>{10, nan, 14});
  CHECK(s.n == 2);
  CHECK(s.mean == 12);
  CHECK(s.sd == Approx(std::sqrt(8.0)));
  CHECK(s.half_width == Approx(12.7062047362 * 2).epsilon(1e-9));  // sd/sqrt(2) = 2
  const Summary one = summarise(std::vector<double>{7});
  CHECK(one.n == 1);
  CHECK(one.mean == 7);
  CHECK(std::isnan(one.half_width));
  CHECK(std::isnan(summarise(std::vector<double>{}).mean));
}

TEST_CASE("paired difference: per replication, pairs with a missing value dropped") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const std::vector<double> a{10.5, 11.0, 12.5, 20.0, 9.0};
  const std::vector<double> b{10.0, 10.0, 12.0, nan, 8.0};
  const Summary d = paired_difference(a, b);  // differences 0.5, 1.0, 0.5, 1.0
  CHECK(d.n == 4);
  CHECK(d.mean == Approx(0.75));
  CHECK(d.sd == Approx(std::sqrt(1.0 / 12.0)));  // sum of squares 4 x 0.0625 = 0.25, / 3
  CHECK(d.half_width == Approx(3.18244630528 * std::sqrt(1.0 / 12.0) / 2).epsilon(1e-9));
  // Pairing removes what the two share: a common shift of every replication cancels.
  const std::vector<double> base{1, 5, 9, 13}, plus{1.5, 5.5, 9.5, 13.5};
  CHECK(paired_difference(plus, base).half_width == Approx(0).margin(1e-12));
  CHECK(summarise(base).half_width > 5);
}
