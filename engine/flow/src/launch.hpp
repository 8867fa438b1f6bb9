#pragma once
// The two launchers of the flow kernel (kernel.hpp): CPU threads over blocks of scenarios, and
// CUDA (one GEMM for all scenarios on cuBLAS, then one thread per (scenario, group) and per
// (scenario, state)). Same inputs, same outputs; results agree within floating-point tolerance
// (the GEMMs sum in different orders).
#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "kernel.hpp"

namespace fabtwin::flow::detail {

// A run's progress (RunOptions::progress): launchers add scenario-periods as they finish them; the
// callback sees scenario-days, one call at a time. The first exception it throws stops the run:
// stopped() turns true for every worker, and rethrow() throws it once the workers are done.
class Progress {
 public:
  Progress(std::function<void(double, double)> f, double total_periods, double days_per_period)
      : f_(std::move(f)), total_(total_periods * days_per_period), per_(days_per_period) {}
  bool stopped() const { return stop_.load(std::memory_order_relaxed); }
  void add(long long scenario_periods) {
    const std::lock_guard lock(mu_);
    if (stopped()) return;
    done_ += static_cast<double>(scenario_periods) * per_;
    try {
      f_(std::min(done_, total_), total_);
    } catch (...) {
      error_ = std::current_exception();
      stop_ = true;
    }
  }
  void rethrow() const {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::function<void(double, double)> f_;
  double total_, per_, done_ = 0;
  std::mutex mu_;
  std::atomic<bool> stop_{false};
  std::exception_ptr error_;
};

// Periods between two progress reports: about one simulated day.
inline long long report_every(double dt_hours) {
  return std::max<long long>(1, static_cast<long long>(24.0 / dt_hours));
}

struct Problem {
  Structure st;                      // host pointers
  const double* workload = nullptr;  // K x G
  const double* wip0 = nullptr;      // K: the start state of every scenario
  int S = 0;
  Params params;    // host pointers, S x G and S x P
  double dt = 0.1;  // hours
  long long warm_periods = 0, measure_periods = 0;
  Progress* progress = nullptr;  // optional
};

struct Outputs {
  std::vector<double> acc_wip;   // S x K: sum over measured periods of WIP (sinks: 0)
  std::vector<double> acc_rho;   // S x G: sum over measured periods of rho
  std::vector<double> wip_warm;  // S x K: the state at the end of the warm-up (sinks: lots completed)
  std::vector<double> wip_end;   // S x K: the state at the end
};

// Both return early, their outputs incomplete, once p.progress is stopped (the caller rethrows).
void run_cpu(const Problem& p, unsigned threads, Outputs& out);
// Throws std::runtime_error when the build has no CUDA or no device is usable.
void run_cuda(const Problem& p, Outputs& out);

}  // namespace fabtwin::flow::detail
