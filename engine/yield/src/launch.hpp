#pragma once
// The two launchers of the kernel body (kernel.hpp). Both fill `out` (one summary per wafer) and,
// when `maps` is not null, map_stride bytes per wafer.
#include <cstdint>
#include <span>

#include "kernel.hpp"

namespace fabtwin::yield::detail {

struct LaunchInput {
  KernelConfig config;
  DieTables tables;  // host pointers
  std::span<const WaferRates> rates;
  std::span<const WaferRef> wafers;
};

// std::thread over wafers (chunks handed out by an atomic counter); threads >= 1.
void run_cpu(const LaunchInput& in, WaferSummary* out, std::uint8_t* maps, unsigned threads);

// CUDA: uploads die tables, rates and wafer refs, runs plan and die kernels in chunks of wafers,
// copies summaries (and maps) back. Returns the summed kernel time in seconds. Throws
// compute::CudaError on any CUDA failure; in a build without CUDA, throws std::logic_error.
double run_cuda(const LaunchInput& in, WaferSummary* out, std::uint8_t* maps);

}  // namespace fabtwin::yield::detail
