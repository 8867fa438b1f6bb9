#include <catch2/catch.hpp>
#include <cmath>

#include "yield_test_util.hpp"

using namespace fabtwin::yield;
using namespace fabtwin::yield::test;

namespace {
constexpr double kZ99 = 2.5758293035489;  // two-sided 99% normal quantile
constexpr std::size_t kWafers = 100000;
}  // namespace

TEST_CASE("Monte Carlo die yield over 1e5 wafers matches the negative-binomial yield within its 99% CI",
          "[yield][mc]") {
  struct Setting {
    double w, h, d0, alpha;
  };
  // (die, D0, alpha): light and heavy clustering, small and large dies.
  const Setting settings[] = {{10, 10, 0.2, 2.0}, {10, 10, 1.0, 0.5}, {20, 15, 0.3, 1.0}, {7, 7, 0.8, 5.0}};
  for (const auto& s : settings) {
    const DieGrid grid = grid_mm(s.w, s.h);
    MonteCarlo mc(grid, McSettings{2024, s.alpha, {}});
    const WaferRates rates[] = {uniform_rates(s.d0)};
    const auto wafers = wafer_refs(kWafers);
    auto r = mc.run(rates, wafers, RunOptions{Backend::Cpu, 0, false, false});
    REQUIRE(r);
    const auto e = estimate(*r);
    const double ad = grid.die_area_cm2() * s.d0;
    const double nb = yield_negative_binomial(ad, s.alpha);
    INFO("die " << s.w << "x" << s.h << " D0 " << s.d0 << " alpha " << s.alpha << ": MC " << e.mean << " +- "
                << e.se << ", NB " << nb << ", Poisson " << yield_poisson(ad));
    CHECK(std::fabs(e.mean - nb) <= kZ99 * e.se);
    // The check has power: the unclustered (Poisson) yield is far outside the interval.
    CHECK(std::fabs(e.mean - yield_poisson(ad)) > 10 * e.se);
    // The pooled die yield is the same estimate (all wafers have the same number of dies).
    CHECK(r->die_yield() == Approx(e.mean).epsilon(1e-12));
  }
}

TEST_CASE("with alpha large (or no clustering) the Monte Carlo matches the Poisson yield", "[yield][mc]") {
  const DieGrid grid = grid_mm(10, 10);
  const double d0 = 0.5, ad = grid.die_area_cm2() * d0;
  for (double alpha : {1e4, 0.0}) {
    MonteCarlo mc(grid, McSettings{99, alpha, {}});
    const WaferRates rates[] = {uniform_rates(d0)};
    const auto wafers = wafer_refs(kWafers);
    auto r = mc.run(rates, wafers, RunOptions{Backend::Cpu, 0, false, false});
    REQUIRE(r);
    const auto e = estimate(*r);
    INFO("alpha " << alpha << ": MC " << e.mean << " +- " << e.se << ", Poisson " << yield_poisson(ad));
    CHECK(std::fabs(e.mean - yield_poisson(ad)) <= kZ99 * e.se);
    CHECK(std::fabs(e.mean - yield_negative_binomial(ad, 2.0)) > 10 * e.se);
  }
}

TEST_CASE("wafer-to-wafer spread follows the gamma mixing", "[yield][mc]") {
  // Var of the cluster factor G is 1/alpha; its sample moments over wafers must match.
  const DieGrid grid = grid_mm(10, 10);
  const double alpha = 1.5;
  MonteCarlo mc(grid, McSettings{5, alpha, {}});
  const WaferRates rates[] = {uniform_rates(0.3)};
  const auto wafers = wafer_refs(50000);
  auto r = mc.run(rates, wafers, RunOptions{Backend::Cpu, 0, false, false});
  REQUIRE(r);
  double s = 0, s2 = 0;
  for (const auto& w : r->wafers) {
    s += w.cluster_factor;
    s2 += w.cluster_factor * w.cluster_factor;
  }
  const double n = r->wafers.size(), mean = s / n, var = (s2 - s * s / n) / (n - 1);
  CHECK(std::fabs(mean - 1.0) < 4.5 * std::sqrt(1 / alpha / n));
  CHECK(var == Approx(1 / alpha).epsilon(0.05));
}

TEST_CASE("defect counts by area have mean usable area x density, kills split by killer share",
          "[yield][mc]") {
  const DieGrid grid = grid_mm(10, 10);
  MonteCarlo mc(grid, McSettings{11, 2.0, {}});
  WaferRates r;
  r.n_areas = 3;
  const double dens[3] = {0.05, 0.2, 0.01}, kill[3] = {0.5, 0.1, 1.0};
  for (int a = 0; a < 3; ++a) {
    r.defect_density[a] = dens[a];
    r.kill_density[a] = dens[a] * kill[a];
  }
  const WaferRates rates[] = {r};
  const auto wafers = wafer_refs(20000);
  auto res = mc.run(rates, wafers, RunOptions{Backend::Cpu, 0, false, true});
  REQUIRE(res);
  double count[3] = {}, killed[3] = {}, fails = 0;
  for (const auto& w : res->wafers) {
    for (int a = 0; a < 3; ++a) {
      count[a] += w.defects_by_area[a];
      killed[a] += w.killed_by_area[a];
    }
    CHECK(w.killed_by_area[0] + w.killed_by_area[1] + w.killed_by_area[2] == w.dies - w.pass);
    CHECK(w.bins[kBinRandom] == w.dies - w.pass);
    fails += w.dies - w.pass;
  }
  const double n = res->wafers.size(), A = grid.usable_area_cm2();
  const double ktot = r.total_kill_density();
  for (int a = 0; a < 3; ++a) {
    const double mean = A * dens[a];
    // Var of a gamma-mixed Poisson count: mean + mean^2 / alpha.
    CHECK(std::fabs(count[a] / n - mean) < 4.5 * std::sqrt((mean + mean * mean / 2.0) / n));
    const double share = r.kill_density[a] / ktot;
    CHECK(std::fabs(killed[a] / fails - share) < 4.5 * std::sqrt(share * (1 - share) / fails) + 1e-9);
  }
}

TEST_CASE("zero density gives perfect yield; bad inputs are errors", "[yield][mc]") {
  const DieGrid grid = grid_mm(10, 10);
  MonteCarlo mc(grid, McSettings{});
  const WaferRates rates[] = {uniform_rates(0.0)};
  const auto wafers = wafer_refs(100);
  auto r = mc.run(rates, wafers);
  REQUIRE(r);
  CHECK(r->total_pass() == r->total_dies());
  CHECK(r->total_dies() == 100ull * grid.size());
  const auto bad = wafer_refs(3, 0, 1);  // rates index 1 of 1
  auto e = mc.run(rates, bad);
  REQUIRE(!e);
  CHECK(e.error().field == "rates");
  if (!fabtwin::compute::cuda_available()) {
    auto c = mc.run(rates, wafers, RunOptions{Backend::Cuda});
    REQUIRE(!c);
    CHECK(c.error().field == "backend");
  }
}
