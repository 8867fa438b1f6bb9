// CPU and CUDA wafer maps must be bit-identical (DESIGN decision 3). Exits 77 (CTest: skipped)
// where no CUDA device exists or the build has no CUDA backend.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>

#include "yield_test_util.hpp"

using namespace fabtwin::yield;
using namespace fabtwin::yield::test;

namespace {

bool same_bits(const WaferSummary& a, const WaferSummary& b) {
  return a.dies == b.dies && a.pass == b.pass && std::memcmp(a.bins, b.bins, sizeof a.bins) == 0 &&
         std::memcmp(a.killed_by_area, b.killed_by_area, sizeof a.killed_by_area) == 0 &&
         std::memcmp(a.defects_by_area, b.defects_by_area, sizeof a.defects_by_area) == 0 &&
         std::memcmp(&a.cluster_factor, &b.cluster_factor, sizeof(double)) == 0;
}

void compare(const MonteCarlo& mc, std::span<const WaferRates> rates, std::span<const WaferRef> wafers) {
  auto cpu = mc.run(rates, wafers, RunOptions{Backend::Cpu, 2, true, true});
  auto gpu = mc.run(rates, wafers, RunOptions{Backend::Cuda, 0, true, true});
  REQUIRE(cpu);
  REQUIRE(gpu);
  REQUIRE(cpu->maps.size() == gpu->maps.size());
  std::size_t first_diff = cpu->maps.size();
  for (std::size_t i = 0; i < cpu->maps.size() && first_diff == cpu->maps.size(); ++i)
    if (cpu->maps[i] != gpu->maps[i]) first_diff = i;
  INFO("first differing map byte " << first_diff << " (wafer " << first_diff / std::max(1u, cpu->map_stride)
                                   << ")");
  CHECK(first_diff == cpu->maps.size());
  std::size_t bad = 0;
  for (std::size_t w = 0; w < wafers.size(); ++w) bad += !same_bits(cpu->wafers[w], gpu->wafers[w]);
  CHECK(bad == 0);
  // Summaries-only runs agree with the map runs.
  auto gpu_nomap = mc.run(rates, wafers, RunOptions{Backend::Cuda, 0, false, true});
  REQUIRE(gpu_nomap);
  bad = 0;
  for (std::size_t w = 0; w < wafers.size(); ++w) bad += !same_bits(cpu->wafers[w], gpu_nomap->wafers[w]);
  CHECK(bad == 0);
}

}  // namespace

TEST_CASE("CPU and GPU maps are bit-identical: random + clustered defects", "[yield][gpu]") {
  for (double alpha : {0.0, 0.4, 2.0, 1e4}) {
    MonteCarlo mc(grid_mm(10, 10), McSettings{123, alpha, {}});
    const WaferRates rates[] = {uniform_rates(0.4)};
    compare(mc, rates, wafer_refs(20000));
  }
}

TEST_CASE("CPU and GPU maps are bit-identical: areas, signatures, counts", "[yield][gpu]") {
  std::vector<WaferRates> rates;
  for (int l = 0; l < 16; ++l) {
    WaferRates r;
    r.n_areas = 12;
    for (int a = 0; a < 12; ++a) {
      r.defect_density[a] = 0.02 * (1 + (a + l) % 5) + (a == 3 ? 3.0 : 0.0);  // one area with large counts
      r.kill_density[a] = 0.3 * r.defect_density[a] * (a != 3);
    }
    if (l % 4 == 1) r.add_event(SignatureEvent{10u + l, Signature::Centre, 2.0, 0.6});
    if (l % 4 == 2) r.add_event(SignatureEvent{20u + l, Signature::EdgeRing, 1.5, 0.6});
    if (l % 4 == 3) {
      for (int k = 0; k < 6; ++k) r.add_event(SignatureEvent{30u + k, Signature::Scratch, 30.0, 0.7});
    }
    rates.push_back(r);
  }
  std::vector<WaferRef> wafers;
  for (std::uint64_t i = 0; i < 30000; ++i)
    wafers.push_back(
        WaferRef{(i & 1 ? 0x123456789ull : 0ull) + i, static_cast<std::uint32_t>(i % rates.size())});
  for (auto [w, h] : {std::pair{8.0, 8.0}, std::pair{12.0, 10.0}, std::pair{3.0, 5.0}}) {
    MonteCarlo mc(grid_mm(w, h), McSettings{77, 1.3, SignatureShapes{35.0, 9.0, 110.0, 1.5}});
    compare(mc, rates, wafers);
  }
}

TEST_CASE("CPU and GPU agree over several device chunks (> 65536 wafers)", "[yield][gpu]") {
  MonteCarlo mc(grid_mm(20, 20), McSettings{9, 2.0, {}});
  const WaferRates rates[] = {uniform_rates(0.2)};
  compare(mc, rates, wafer_refs(140000, 1000));
}

int main(int argc, char** argv) {
  if (!fabtwin::compute::cuda_available()) {
    std::printf("test_yield_gpu: skipped (%s)\n",
                fabtwin::compute::cuda_built() ? "no CUDA device" : "built without CUDA");
    return 77;
  }
  std::printf("test_yield_gpu: %s\n", fabtwin::compute::cuda_device_name().c_str());
  return Catch::Session().run(argc, argv);
}
