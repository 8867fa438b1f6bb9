#include <catch2/catch.hpp>
#include <cmath>

#include "yield_test_util.hpp"

using namespace fabtwin::yield;
using namespace fabtwin::yield::test;

namespace {

WaferRates only_event(Signature kind, double intensity, double probability, double d0 = 0.0) {
  WaferRates r = uniform_rates(d0);
  r.add_event(SignatureEvent{5, kind, intensity, probability});
  return r;
}

double radius(const DieGrid& g, std::uint32_t i) { return std::hypot(g.x_mm()[i], g.y_mm()[i]); }

}  // namespace

TEST_CASE("a centre signature kills dies near the centre, not at the edge", "[yield][signature]") {
  const DieGrid grid = grid_mm(8, 8);
  MonteCarlo mc(grid, McSettings{3, 2.0, SignatureShapes{30.0, 10.0, 100.0, 1.0}});
  const WaferRates rates[] = {only_event(Signature::Centre, 3.0, 1.0)};
  auto r = mc.run(rates, wafer_refs(2000));
  REQUIRE(r);
  const auto rate = stacked_fail_rate(*r);
  double inner = 0, outer = 0;
  int ni = 0, no = 0;
  for (std::uint32_t i = 0; i < grid.size(); ++i) {
    if (radius(grid, i) < 20) inner += rate[i], ++ni;
    if (radius(grid, i) > 110) outer += rate[i], ++no;
  }
  inner /= ni;
  outer /= no;
  INFO("centre fail rate " << inner << ", edge " << outer);
  CHECK(inner > 0.7);
  CHECK(outer < 0.01);
  for (std::size_t w = 0; w < r->wafers.size(); ++w) {
    CHECK(r->wafers[w].bins[kBinRandom] == 0);
    CHECK(r->wafers[w].bins[kBinCentre] == r->wafers[w].dies - r->wafers[w].pass);
  }
}

TEST_CASE("an edge-ring signature kills only dies reaching into the ring", "[yield][signature]") {
  const DieGrid grid = grid_mm(10, 10);
  const double width = 12.0;
  MonteCarlo mc(grid, McSettings{4, 2.0, SignatureShapes{30.0, width, 100.0, 1.0}});
  const WaferRates rates[] = {only_event(Signature::EdgeRing, 4.0, 1.0)};
  auto r = mc.run(rates, wafer_refs(500));
  REQUIRE(r);
  const auto rate = stacked_fail_rate(*r);
  std::uint32_t ring = 0;
  for (std::uint32_t i = 0; i < grid.size(); ++i) {
    const bool in_ring = grid.far_corner_mm(i) > grid.usable_radius_mm() - width;
    ring += in_ring;
    if (in_ring)
      CHECK(rate[i] > 0.9);
    else
      CHECK(rate[i] == 0.0);
  }
  CHECK(ring > 50);
  CHECK(ring < grid.size() / 2);
}

TEST_CASE("a scratch kills a thin line of dies", "[yield][signature]") {
  const DieGrid grid = grid_mm(8, 8);
  const double length = 110.0, width = 1.5;
  MonteCarlo mc(grid, McSettings{5, 2.0, SignatureShapes{30.0, 10.0, length, width}});
  const WaferRates rates[] = {only_event(Signature::Scratch, 1000.0, 1.0)};
  auto r = mc.run(rates, wafer_refs(300));
  REQUIRE(r);
  double total = 0;
  for (std::size_t w = 0; w < r->wafers.size(); ++w) {
    const auto& s = r->wafers[w];
    CHECK(s.bins[kBinScratch] == s.dies - s.pass);
    total += s.bins[kBinScratch];
    // Spread of the failing dies across the scratch: the smaller principal axis of their centres.
    double n = 0, mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
    const auto m = r->map(w);
    for (std::uint32_t i = 0; i < grid.size(); ++i)
      if (m[i] == kBinScratch) n += 1, mx += grid.x_mm()[i], my += grid.y_mm()[i];
    if (n < 3) continue;
    mx /= n;
    my /= n;
    for (std::uint32_t i = 0; i < grid.size(); ++i)
      if (m[i] == kBinScratch) {
        const double dx = grid.x_mm()[i] - mx, dy = grid.y_mm()[i] - my;
        sxx += dx * dx / n, syy += dy * dy / n, sxy += dx * dy / n;
      }
    const double tr = sxx + syy, det = sxx * syy - sxy * sxy;
    const double lmin = tr / 2 - std::sqrt(std::max(0.0, tr * tr / 4 - det));
    CHECK(std::sqrt(std::max(0.0, lmin)) < 4.0 + width);  // across: within a die of the line
  }
  // ~ length / pitch dies per scratch (more on diagonals, fewer when it runs off the wafer).
  const double mean = total / r->wafers.size();
  INFO("dies per scratch " << mean);
  CHECK(mean > 0.5 * length / 8);
  CHECK(mean < 2.5 * length / 8);
}

TEST_CASE("a signature fires on the configured fraction of passes", "[yield][signature]") {
  const DieGrid grid = grid_mm(10, 10);
  MonteCarlo mc(grid, McSettings{6, 2.0, {}});
  const WaferRates rates[] = {only_event(Signature::Centre, 50.0, 0.3)};
  const std::size_t n = 4000;
  auto r = mc.run(rates, wafer_refs(n), RunOptions{Backend::Cpu, 0, false});
  REQUIRE(r);
  double fired = 0;
  for (const auto& w : r->wafers) fired += w.bins[kBinCentre] > 0;
  CHECK(std::fabs(fired / n - 0.3) < 4.5 * std::sqrt(0.3 * 0.7 / n));
}

TEST_CASE("a failing die's bin follows the causes' shares of its killer rate", "[yield][signature]") {
  // No clustering (G = 1): at the most central die, P(centre | fail) = lc / (lr + lc).
  const DieGrid grid = grid_mm(10, 10);
  const double sigma = 40.0, d0 = 0.4, intensity = 0.6;
  MonteCarlo mc(grid, McSettings{8, 0.0, SignatureShapes{sigma, 10.0, 100.0, 1.0}});
  const WaferRates rates[] = {only_event(Signature::Centre, intensity, 1.0, d0)};
  const std::size_t n = 40000;
  auto r = mc.run(rates, wafer_refs(n));
  REQUIRE(r);
  std::uint32_t c = 0;
  for (std::uint32_t i = 1; i < grid.size(); ++i)
    if (radius(grid, i) < radius(grid, c)) c = i;
  const double A = grid.die_area_cm2(), lr = A * d0, lc = A * intensity * mc.centre_weight()[c];
  double fails = 0, centre = 0;
  for (std::size_t w = 0; w < n; ++w) {
    const auto b = r->map(w)[c];
    fails += b != kBinPass;
    centre += b == kBinCentre;
  }
  const double pf = 1 - std::exp(-(lr + lc)), share = lc / (lr + lc);
  CHECK(std::fabs(fails / n - pf) < 4.5 * std::sqrt(pf * (1 - pf) / n));
  CHECK(std::fabs(centre / fails - share) < 4.5 * std::sqrt(share * (1 - share) / fails));
}
