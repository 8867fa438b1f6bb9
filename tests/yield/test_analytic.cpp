#include <catch2/catch.hpp>
#include <cmath>

#include "fabtwin/yield/analytic.hpp"

using namespace fabtwin::yield;

TEST_CASE("analytic yield models give their textbook values", "[yield][analytic]") {
  CHECK(yield_poisson(1.0) == Approx(0.36787944117));
  CHECK(yield_murphy(1.0) == Approx(0.3995764009));  // (1 - e^-1)^2
  CHECK(yield_seeds(1.0) == Approx(0.5));
  CHECK(yield_negative_binomial(1.0, 1.0) == Approx(0.5));  // alpha = 1 is Seeds
  CHECK(yield_negative_binomial(0.5, 2.0) == Approx(std::pow(1.25, -2.0)));
  CHECK(yield_murphy(0.0) == 1.0);
  CHECK(yield_murphy(1e-12) == Approx(1.0));
}

TEST_CASE("the negative binomial yield tends to Poisson as alpha grows", "[yield][analytic]") {
  const double ad = 0.7;
  double prev = yield_negative_binomial(ad, 0.5);
  for (double a : {1.0, 4.0, 16.0, 256.0, 1e6}) {
    const double y = yield_negative_binomial(ad, a);
    CHECK(y < prev);  // more clustering -> higher yield for the same mean density
    prev = y;
  }
  CHECK(yield_negative_binomial(ad, 1e6) == Approx(yield_poisson(ad)).epsilon(1e-6));
  CHECK(yield_negative_binomial(ad, 0.0) == yield_poisson(ad));  // alpha <= 0: no clustering
}

TEST_CASE("for the same AD: Poisson <= Murphy <= Seeds", "[yield][analytic]") {
  for (double ad : {0.05, 0.3, 1.0, 3.0}) {
    const auto y = analytic_yields(ad, 2.0);
    CHECK(y.poisson <= y.murphy);
    CHECK(y.murphy <= y.seeds);
  }
}
