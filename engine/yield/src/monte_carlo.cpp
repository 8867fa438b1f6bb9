#include "fabtwin/yield/monte_carlo.hpp"

#include <chrono>
#include <cmath>
#include <string>
#include <thread>

#include "launch.hpp"

namespace fabtwin::yield {

std::uint64_t BatchResult::total_dies() const {
  std::uint64_t n = 0;
  for (const auto& w : wafers) n += w.dies;
  return n;
}
std::uint64_t BatchResult::total_pass() const {
  std::uint64_t n = 0;
  for (const auto& w : wafers) n += w.pass;
  return n;
}
double BatchResult::die_yield() const {
  const auto d = total_dies();
  return d ? static_cast<double>(total_pass()) / static_cast<double>(d) : 0.0;
}

MonteCarlo::MonteCarlo(DieGrid grid, McSettings settings) : grid_(std::move(grid)), settings_(settings) {
  // Signature weights: tables computed once on the host (libm is fine here: both backends read
  // the same table).
  const std::uint32_t n = grid_.size();
  w_centre_.resize(n);
  w_edge_.resize(n);
  const double sigma = settings_.shapes.centre_sigma_mm;
  const double ring_inner = grid_.usable_radius_mm() - settings_.shapes.edge_ring_width_mm;
  for (std::uint32_t i = 0; i < n; ++i) {
    const double x = grid_.x_mm()[i], y = grid_.y_mm()[i];
    w_centre_[i] = sigma > 0 ? std::exp(-(x * x + y * y) / (2 * sigma * sigma)) : 0.0;
    w_edge_[i] = grid_.far_corner_mm(i) > ring_inner ? 1.0 : 0.0;
  }
}

model::Result<BatchResult> MonteCarlo::run(std::span<const WaferRates> rates,
                                           std::span<const WaferRef> wafers,
                                           const RunOptions& options) const {
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t w = 0; w < wafers.size(); ++w)
    if (wafers[w].rates >= rates.size())
      return model::Error{"", 0, "rates",
                          "wafer " + std::to_string(w) + " names rates entry " +
                              std::to_string(wafers[w].rates) + " of " + std::to_string(rates.size())};
  if (options.backend == Backend::Cuda && !compute::cuda_available())
    return model::Error{
        "", 0, "backend",
        compute::cuda_built() ? "no CUDA device available" : "this build has no CUDA backend"};

  detail::LaunchInput in;
  const WaferGeometry& g = grid_.geometry();
  detail::KernelConfig& k = in.config;
  k.key = compute::RandomKey::make(settings_.seed, detail::kYieldStream);
  k.n_dies = grid_.size();
  k.map_stride = (k.n_dies + 3) / 4 * 4;
  k.count_defects = options.count_defects ? 1u : 0u;
  k.alpha =
      settings_.cluster_alpha > 0 && std::isfinite(settings_.cluster_alpha) ? settings_.cluster_alpha : 0.0;
  k.die_area_cm2 = grid_.die_area_cm2();
  k.usable_area_cm2 = grid_.usable_area_cm2();
  k.usable_radius_mm = grid_.usable_radius_mm();
  k.die_half_w_mm = g.die_width_mm / 2;
  k.die_half_h_mm = g.die_height_mm / 2;
  k.scratch_half_length_mm = settings_.shapes.scratch_length_mm / 2;
  k.scratch_half_width_mm = settings_.shapes.scratch_width_mm / 2;
  // Prefilter reach (+1 um margin): computed once here, read identically by both backends.
  k.scratch_reach_mm =
      std::hypot(k.die_half_w_mm + k.scratch_half_width_mm, k.die_half_h_mm + k.scratch_half_width_mm) + 1e-3;
  in.tables = detail::DieTables{grid_.x_mm().data(), grid_.y_mm().data(), w_centre_.data(), w_edge_.data()};
  in.rates = rates;
  in.wafers = wafers;

  BatchResult r;
  r.dies_per_wafer = k.n_dies;
  r.map_stride = k.map_stride;
  r.wafers.resize(wafers.size());
  if (options.keep_maps) r.maps.resize(wafers.size() * static_cast<std::size_t>(k.map_stride));
  std::uint8_t* maps = options.keep_maps ? r.maps.data() : nullptr;
  if (!wafers.empty()) {
    if (options.backend == Backend::Cuda) {
      r.device_seconds = detail::run_cuda(in, r.wafers.data(), maps);
    } else {
      unsigned threads = options.threads ? options.threads : std::thread::hardware_concurrency();
      detail::run_cpu(in, r.wafers.data(), maps, threads ? threads : 1);
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace fabtwin::yield
