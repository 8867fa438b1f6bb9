#include <catch2/catch.hpp>
#include <cstring>

#include "yield_test_util.hpp"

using namespace fabtwin::yield;
using namespace fabtwin::yield::test;

namespace {

// Several areas, clustering, every signature kind (some firing with probability < 1), counts on:
// every branch of the kernel is taken.
struct Rich {
  DieGrid grid = grid_mm(8, 8);
  McSettings settings{0xC0FFEEull, 1.3, SignatureShapes{35.0, 9.0, 110.0, 1.5}};
  std::vector<WaferRates> rates;
  std::vector<WaferRef> wafers;
  Rich() {
    for (int l = 0; l < 4; ++l) {
      WaferRates r;
      r.n_areas = 3;
      for (int a = 0; a < 3; ++a) {
        r.defect_density[a] = 0.05 * (a + 1) + 0.01 * l;
        r.kill_density[a] = 0.3 * r.defect_density[a];
      }
      if (l == 1) r.add_event(SignatureEvent{17, Signature::Centre, 1.5, 0.7});
      if (l == 2) r.add_event(SignatureEvent{23, Signature::EdgeRing, 2.0, 0.5});
      if (l == 3) {
        r.add_event(SignatureEvent{31, Signature::Scratch, 20.0, 0.8});
        r.add_event(SignatureEvent{44, Signature::Scratch, 20.0, 0.8});
        r.add_event(SignatureEvent{45, Signature::Centre, 0.5, 1.0});
      }
      rates.push_back(r);
    }
    // uids with high bits set too (lot numbers beyond 2^32 / 25)
    for (std::uint64_t i = 0; i < 1200; ++i)
      wafers.push_back(
          WaferRef{(i % 2 ? (1ull << 40) : 0ull) + i * 25 + i % 25, static_cast<std::uint32_t>(i % 4)});
  }
};

bool same(const WaferSummary& a, const WaferSummary& b) {
  return a.dies == b.dies && a.pass == b.pass && std::memcmp(a.bins, b.bins, sizeof a.bins) == 0 &&
         std::memcmp(a.killed_by_area, b.killed_by_area, sizeof a.killed_by_area) == 0 &&
         std::memcmp(a.defects_by_area, b.defects_by_area, sizeof a.defects_by_area) == 0 &&
         std::memcmp(&a.cluster_factor, &b.cluster_factor, sizeof(double)) == 0;
}

bool same(const BatchResult& a, const BatchResult& b) {
  if (a.wafers.size() != b.wafers.size() || a.maps != b.maps) return false;
  for (std::size_t i = 0; i < a.wafers.size(); ++i)
    if (!same(a.wafers[i], b.wafers[i])) return false;
  return true;
}

std::uint64_t digest(const BatchResult& r) {
  std::uint64_t h = fnv1a(r.maps.data(), r.maps.size());
  for (const auto& w : r.wafers) {
    h = fnv1a(&w.dies, sizeof w.dies, h);
    h = fnv1a(&w.pass, sizeof w.pass, h);
    h = fnv1a(w.bins, sizeof w.bins, h);
    h = fnv1a(w.killed_by_area, sizeof w.killed_by_area, h);
    h = fnv1a(w.defects_by_area, sizeof w.defects_by_area, h);
    h = fnv1a(&w.cluster_factor, sizeof w.cluster_factor, h);
  }
  return h;
}

}  // namespace

TEST_CASE("same seed gives identical wafer maps on 1, 2 and 3 threads", "[yield][determinism]") {
  Rich c;
  MonteCarlo mc(c.grid, c.settings);
  auto one = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 1});
  auto two = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 2});
  auto three = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 3});
  REQUIRE((one && two && three));
  CHECK(same(*one, *two));
  CHECK(same(*one, *three));
  // Every kernel path was exercised.
  std::uint64_t bins[kBinCount] = {};
  for (const auto& w : one->wafers)
    for (std::uint32_t b = 0; b < kBinCount; ++b) bins[b] += w.bins[b];
  for (std::uint32_t b = 0; b < kBinCount; ++b) CHECK(bins[b] > 0);
}

TEST_CASE("a wafer's map does not depend on batch size or order", "[yield][determinism]") {
  Rich c;
  MonteCarlo mc(c.grid, c.settings);
  auto whole = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 2});
  REQUIRE(whole);
  for (std::size_t batch : {1u, 7u, 333u}) {
    for (std::size_t first = 0; first < c.wafers.size(); first += batch) {
      const std::size_t n = std::min(batch, c.wafers.size() - first);
      auto part = mc.run(c.rates, std::span(c.wafers).subspan(first, n), RunOptions{Backend::Cpu, 1});
      REQUIRE(part);
      for (std::size_t i = 0; i < n; ++i) {
        const auto a = part->map(i), b = whole->map(first + i);
        REQUIRE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
        REQUIRE(same(part->wafers[i], whole->wafers[first + i]));
      }
    }
  }
  std::vector<WaferRef> reversed(c.wafers.rbegin(), c.wafers.rend());
  auto rev = mc.run(c.rates, reversed, RunOptions{Backend::Cpu, 2});
  REQUIRE(rev);
  for (std::size_t i = 0; i < c.wafers.size(); ++i) {
    const auto a = rev->map(c.wafers.size() - 1 - i), b = whole->map(i);
    REQUIRE(std::equal(a.begin(), a.end(), b.begin(), b.end()));
  }
  // Summaries without maps are the same numbers.
  auto nomaps = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 2, false});
  REQUIRE(nomaps);
  CHECK(nomaps->maps.empty());
  for (std::size_t i = 0; i < c.wafers.size(); ++i) CHECK(same(nomaps->wafers[i], whole->wafers[i]));
}

TEST_CASE("another seed or wafer uid gives other maps", "[yield][determinism]") {
  Rich c;
  MonteCarlo a(c.grid, c.settings);
  McSettings s2 = c.settings;
  s2.seed += 1;
  MonteCarlo b(c.grid, s2);
  auto ra = a.run(c.rates, c.wafers), rb = b.run(c.rates, c.wafers);
  REQUIRE((ra && rb));
  CHECK(ra->maps != rb->maps);
  auto shifted = c.wafers;
  for (auto& w : shifted) w.uid += 1;
  auto rs = a.run(c.rates, shifted);
  REQUIRE(rs);
  CHECK(ra->maps != rs->maps);
}

TEST_CASE("the Monte Carlo stream is pinned (golden digest)", "[yield][determinism]") {
  // A change here means every stored wafer map changes: bump deliberately, say so in the commit.
  Rich c;
  MonteCarlo mc(c.grid, c.settings);
  auto r = mc.run(c.rates, c.wafers, RunOptions{Backend::Cpu, 2});
  REQUIRE(r);
  CHECK(digest(*r) == 0x3d217ebc8cd0f551ull);
}
