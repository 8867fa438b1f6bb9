// CUDA launcher of the yield kernel body (kernel.hpp). Two kernels per chunk of wafers:
//   plan_kernel: one thread per wafer -> WaferPlan (cluster factor, thresholds, signatures, counts);
//   die_kernel:  one block per wafer; each thread simulates groups of 4 dies (one Philox block) and
//                writes their 4 bins as one 32-bit word; fails counted in shared memory. Two
//                instances: wafers without signatures (fast path) and with.
// Compiled with --fmad=false (see CMakeLists.txt) so no multiply-add is contracted: the device
// evaluates exactly the IEEE operations the host does, and maps are bit-identical.
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "fabtwin/compute/cuda_buffer.hpp"
#include "fabtwin/compute/cuda_check.hpp"
#include "launch.hpp"

namespace fabtwin::yield::detail {
namespace {

constexpr unsigned kPlanThreads = 128;
constexpr unsigned kDieThreads = 128;
constexpr std::size_t kChunkWafers = 1u << 16;

// Failing dies only (passes are dies minus fails): shared-memory atomics, integer sums, so the
// totals do not depend on the order of the threads.
struct GpuSink {
  std::uint32_t* s_bins;
  std::uint32_t* s_area;
  __device__ void fail(std::uint32_t bin) { atomicAdd(&s_bins[bin], 1u); }
  __device__ void area(std::uint32_t a) { atomicAdd(&s_area[a], 1u); }
};

__global__ void plan_kernel(KernelConfig k, const WaferRates* rates, const WaferRef* wafers,
                            std::size_t first, std::uint32_t n, WaferPlan* plans) {
  const std::uint32_t w = blockIdx.x * blockDim.x + threadIdx.x;
  if (w >= n) return;
  const WaferRef ref = wafers[first + w];
  plan_wafer(k, rates[ref.rates], ref.uid, plans[w]);
}

// One block per wafer. Launched twice per chunk: kGeneral = false handles the wafers without
// signatures (integer-only fast path, few registers), kGeneral = true the others; a block whose
// wafer belongs to the other launch returns at once.
template <bool kGeneral>
__global__ void __launch_bounds__(kDieThreads)
    die_kernel(KernelConfig k, DieTables t, const WaferPlan* plans, std::uint32_t* maps, WaferSummary* out) {
  __shared__ WaferPlan sp;
  __shared__ std::uint32_t s_bins[kBinCount];
  __shared__ std::uint32_t s_area[kMaxAreas];
  const std::uint32_t w = blockIdx.x;
  if ((plans[w].has_signatures != 0) != kGeneral) return;
  {  // cooperative copy of the plan into shared memory
    const std::uint32_t* src = reinterpret_cast<const std::uint32_t*>(plans + w);
    std::uint32_t* dst = reinterpret_cast<std::uint32_t*>(&sp);
    for (std::uint32_t i = threadIdx.x; i < sizeof(WaferPlan) / 4; i += blockDim.x) dst[i] = src[i];
    if (threadIdx.x < kBinCount) s_bins[threadIdx.x] = 0;
    if (threadIdx.x < kMaxAreas) s_area[threadIdx.x] = 0;
  }
  __syncthreads();
  GpuSink sink{s_bins, s_area};
  const std::uint32_t groups = (k.n_dies + 3) / 4;
  std::uint32_t* row = maps ? maps + static_cast<std::size_t>(w) * (k.map_stride / 4) : nullptr;
  for (std::uint32_t g = threadIdx.x; g < groups; g += blockDim.x) {
    const std::uint32_t packed = simulate_group<kGeneral>(k, t, sp, g, sink);
    if (row) row[g] = packed;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    WaferSummary s;
    start_summary(k, sp, s);
    for (std::uint32_t b = 0; b < kBinCount; ++b) s.bins[b] = s_bins[b];
    for (std::uint32_t a = 0; a < kMaxAreas; ++a) s.killed_by_area[a] = s_area[a];
    finish_summary(s);
    out[w] = s;
  }
}

}  // namespace

double run_cuda(const LaunchInput& in, WaferSummary* out, std::uint8_t* maps) {
  using compute::CudaEvent;
  using compute::CudaStream;
  using compute::DeviceBuffer;
  const KernelConfig& k = in.config;
  const std::uint32_t n_dies = k.n_dies;
  CudaStream stream;
  DeviceBuffer<double> x(n_dies), y(n_dies), wc(n_dies), we(n_dies);
  x.upload(in.tables.x, n_dies, stream.get());
  y.upload(in.tables.y, n_dies, stream.get());
  wc.upload(in.tables.w_centre, n_dies, stream.get());
  we.upload(in.tables.w_edge, n_dies, stream.get());
  DeviceBuffer<WaferRates> rates(in.rates.size());
  rates.upload(in.rates.data(), in.rates.size(), stream.get());
  DeviceBuffer<WaferRef> wafers(in.wafers.size());
  wafers.upload(in.wafers.data(), in.wafers.size(), stream.get());
  const DieTables dt{x.data(), y.data(), wc.data(), we.data()};

  const std::size_t n = in.wafers.size();
  const std::size_t chunk = std::min(n, kChunkWafers);
  DeviceBuffer<WaferPlan> plans(chunk);
  DeviceBuffer<WaferSummary> summaries(chunk);
  DeviceBuffer<std::uint32_t> dmaps(maps ? chunk * (k.map_stride / 4) : 0);
  CudaEvent start, stop;
  double kernel_seconds = 0.0;
  for (std::size_t first = 0; first < n; first += chunk) {
    const std::uint32_t m = static_cast<std::uint32_t>(std::min(chunk, n - first));
    start.record(stream.get());
    plan_kernel<<<(m + kPlanThreads - 1) / kPlanThreads, kPlanThreads, 0, stream.get()>>>(
        k, rates.data(), wafers.data(), first, m, plans.data());
    FABTWIN_CUDA_CHECK_LAUNCH();
    die_kernel<false><<<m, kDieThreads, 0, stream.get()>>>(k, dt, plans.data(), maps ? dmaps.data() : nullptr,
                                                           summaries.data());
    FABTWIN_CUDA_CHECK_LAUNCH();
    die_kernel<true><<<m, kDieThreads, 0, stream.get()>>>(k, dt, plans.data(), maps ? dmaps.data() : nullptr,
                                                          summaries.data());
    FABTWIN_CUDA_CHECK_LAUNCH();
    stop.record(stream.get());
    summaries.download(out + first, m, stream.get());
    if (maps)
      FABTWIN_CUDA_CHECK(cudaMemcpyAsync(maps + first * k.map_stride, dmaps.data(),
                                         static_cast<std::size_t>(m) * k.map_stride, cudaMemcpyDeviceToHost,
                                         stream.get()));
    stream.synchronize();
    kernel_seconds += stop.ms_since(start) / 1000.0;
  }
  return kernel_seconds;
}

}  // namespace fabtwin::yield::detail
