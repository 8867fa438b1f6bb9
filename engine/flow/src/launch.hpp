#pragma once
// The two launchers of the flow kernel (kernel.hpp): CPU threads over blocks of scenarios, and
// CUDA (one GEMM for all scenarios on cuBLAS, then one thread per (scenario, group) and per
// (scenario, state)). Same inputs, same outputs; results agree within floating-point tolerance
// (the GEMMs sum in different orders).
#include <vector>

#include "kernel.hpp"

namespace fabtwin::flow::detail {

struct Problem {
  Structure st;                      // host pointers
  const double* workload = nullptr;  // K x G
  const double* wip0 = nullptr;      // K: the start state of every scenario
  int S = 0;
  Params params;    // host pointers, S x G and S x P
  double dt = 0.1;  // hours
  long long warm_periods = 0, measure_periods = 0;
};

struct Outputs {
  std::vector<double> acc_wip;   // S x K: sum over measured periods of WIP (sinks: 0)
  std::vector<double> acc_rho;   // S x G: sum over measured periods of rho
  std::vector<double> wip_warm;  // S x K: the state at the end of the warm-up (sinks: lots completed)
  std::vector<double> wip_end;   // S x K: the state at the end
};

void run_cpu(const Problem& p, unsigned threads, Outputs& out);
// Throws std::runtime_error when the build has no CUDA or no device is usable.
void run_cuda(const Problem& p, Outputs& out);

}  // namespace fabtwin::flow::detail
