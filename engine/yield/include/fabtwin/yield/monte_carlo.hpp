#pragma once
// Spatial Monte Carlo of die yield: a facade over the kernel in src/kernel.hpp with a CPU launcher
// (threads over wafers) and a CUDA launcher. A wafer's map depends only on (seed, wafer uid, its
// WaferRates, the die grid, alpha and the signature shapes): not on batch size, thread count,
// backend or the order of wafers in the batch.
#include <cstdint>
#include <span>
#include <vector>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::yield {

using compute::Backend;

// One wafer of a batch.
struct WaferRef {
  std::uint64_t uid = 0;    // globally unique wafer id: keys its random numbers (e.g. lot * 25 + slot)
  std::uint32_t rates = 0;  // index into the batch's WaferRates (wafers of a lot share one)
};

// Per-wafer result (fixed size; written by either backend).
struct WaferSummary {
  std::uint32_t dies = 0;                         // gross dies
  std::uint32_t pass = 0;                         // good dies
  std::uint32_t bins[kBinCount] = {};             // dies per DieBin (bins[0] == pass)
  std::uint32_t killed_by_area[kMaxAreas] = {};   // random-defect fails by the area of the killer
  std::uint32_t defects_by_area[kMaxAreas] = {};  // defects (killer or not) area a left on the usable
                                                  // wafer, as inspection would count them (0 unless counted)
  double cluster_factor = 1.0;                    // the wafer's gamma draw G (mean 1)
  double die_yield() const { return dies ? static_cast<double>(pass) / dies : 0.0; }
};

struct McSettings {
  std::uint64_t seed = 1;
  double cluster_alpha = 2.0;  // <= 0: no clustering
  SignatureShapes shapes;
};

struct RunOptions {
  Backend backend = Backend::Cpu;
  unsigned threads = 0;       // CPU threads; 0: std::thread::hardware_concurrency()
  bool keep_maps = true;      // false: only summaries (faster, no map memory)
  bool count_defects = true;  // draw WaferSummary::defects_by_area
};

struct BatchResult {
  std::vector<WaferSummary> wafers;  // in batch order
  std::vector<std::uint8_t> maps;    // wafers.size() * map_stride bytes (empty unless keep_maps)
  std::uint32_t dies_per_wafer = 0;
  std::uint32_t map_stride = 0;  // bytes per wafer (dies rounded up to a multiple of 4)
  double seconds = 0.0;          // wall time of run(), transfers included
  double device_seconds = 0.0;   // CUDA: kernel time (events); CPU: 0

  // The die map (DieBin per die, in DieGrid order) of batch wafer w; empty without maps.
  std::span<const std::uint8_t> map(std::size_t w) const {
    if (maps.empty()) return {};
    return {maps.data() + w * map_stride, dies_per_wafer};
  }
  std::uint64_t total_dies() const;
  std::uint64_t total_pass() const;
  double die_yield() const;  // total_pass / total_dies
};

class MonteCarlo {
 public:
  MonteCarlo(DieGrid grid, McSettings settings);

  // Simulates `wafers` (each naming its entry of `rates`). Fails (model::Error) when the CUDA
  // backend is asked for and cuda_available() is false, or when a wafer's rates index is out of
  // range. A CUDA error while running throws compute::CudaError.
  model::Result<BatchResult> run(std::span<const WaferRates> rates, std::span<const WaferRef> wafers,
                                 const RunOptions& options = {}) const;

  const DieGrid& grid() const { return grid_; }
  const McSettings& settings() const { return settings_; }
  std::span<const double> centre_weight() const { return w_centre_; }  // per die, 0..1
  std::span<const double> edge_weight() const { return w_edge_; }      // per die, 0 or 1

 private:
  DieGrid grid_;
  McSettings settings_;
  std::vector<double> w_centre_, w_edge_;
};

}  // namespace fabtwin::yield
