// CPU launcher: threads over wafers; each wafer is planned and its dies simulated by the shared
// kernel body. Nothing is allocated per wafer or per die.
#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "launch.hpp"

namespace fabtwin::yield::detail {
namespace {

struct CpuSink {
  WaferSummary* s;
  void fail(std::uint32_t bin) { ++s->bins[bin]; }
  void area(std::uint32_t a) { ++s->killed_by_area[a]; }
};

template <bool kGeneral>
void simulate_dies(const LaunchInput& in, const WaferPlan& plan, CpuSink& sink, std::uint8_t* map) {
  const KernelConfig& k = in.config;
  const std::uint32_t groups = (k.n_dies + 3) / 4;
  if (map) {
    for (std::uint32_t g = 0; g < groups; ++g) {
      const std::uint32_t packed = simulate_group<kGeneral>(k, in.tables, plan, g, sink);
      std::memcpy(map + 4 * g, &packed, 4);  // little endian: die 4g in the first byte, as on the GPU
    }
  } else {
    for (std::uint32_t g = 0; g < groups; ++g) simulate_group<kGeneral>(k, in.tables, plan, g, sink);
  }
}

void simulate_wafer(const LaunchInput& in, std::size_t w, WaferPlan& plan, WaferSummary& out,
                    std::uint8_t* map) {
  const KernelConfig& k = in.config;
  const WaferRef ref = in.wafers[w];
  plan_wafer(k, in.rates[ref.rates], ref.uid, plan);
  start_summary(k, plan, out);
  CpuSink sink{&out};
  if (plan.has_signatures)
    simulate_dies<true>(in, plan, sink, map);
  else
    simulate_dies<false>(in, plan, sink, map);
  finish_summary(out);
}

}  // namespace

void run_cpu(const LaunchInput& in, WaferSummary* out, std::uint8_t* maps, unsigned threads) {
  const std::size_t n = in.wafers.size();
  constexpr std::size_t kChunk = 32;
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    WaferPlan plan;
    for (;;) {
      const std::size_t b = next.fetch_add(kChunk, std::memory_order_relaxed);
      if (b >= n) break;
      const std::size_t e = b + kChunk < n ? b + kChunk : n;
      for (std::size_t w = b; w < e; ++w)
        simulate_wafer(in, w, plan, out[w], maps ? maps + w * in.config.map_stride : nullptr);
    }
  };
  if (threads <= 1 || n <= kChunk) {
    worker();
    return;
  }
  std::vector<std::jthread> pool;
  pool.reserve(threads - 1);
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
}

}  // namespace fabtwin::yield::detail
