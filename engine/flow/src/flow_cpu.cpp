// CPU launcher: threads over blocks of scenarios; per period one compute::gemm (OpenBLAS, one
// thread per call) for the block's loads, then the kernel body over (s, g) and (s, k).
#include <algorithm>
#include <atomic>
#include <thread>

#include "fabtwin/compute/gemm.hpp"
#include "launch.hpp"

namespace fabtwin::flow::detail {

namespace {
constexpr int kBlock = 32;  // scenarios per GEMM on the CPU

void run_block(const Problem& p, int s0, int n, Outputs& out) {
  const Structure& st = p.st;
  const int K = st.K, G = st.G, P = st.P;
  std::vector<double> wip(static_cast<std::size_t>(n) * K), next(wip.size()),
      load(static_cast<std::size_t>(n) * G), frac(load.size());
  for (int i = 0; i < n; ++i) std::copy(p.wip0, p.wip0 + K, wip.begin() + static_cast<std::ptrdiff_t>(i) * K);
  // Parameters and accumulators of this block, indexed from 0.
  Params pr;
  pr.cap = p.params.cap + static_cast<std::ptrdiff_t>(s0) * G;
  pr.sojourn = p.params.sojourn + static_cast<std::ptrdiff_t>(s0) * G;
  pr.queue_k = p.params.queue_k + static_cast<std::ptrdiff_t>(s0) * G;
  pr.work = p.params.work + static_cast<std::ptrdiff_t>(s0) * G;
  pr.release = p.params.release + static_cast<std::ptrdiff_t>(s0) * P;
  double* acc_wip = out.acc_wip.data() + static_cast<std::ptrdiff_t>(s0) * K;
  double* acc_rho = out.acc_rho.data() + static_cast<std::ptrdiff_t>(s0) * G;
  const long long total = p.warm_periods + p.measure_periods;
  const long long every = report_every(p.dt);
  for (long long t = 0; t < total; ++t) {
    if (p.progress && t > 0 && t % every == 0) {
      p.progress->add(every * n);
      if (p.progress->stopped()) return;
    }
    const bool measure = t >= p.warm_periods;
    compute::gemm(static_cast<std::size_t>(n), static_cast<std::size_t>(G), static_cast<std::size_t>(K), 1.0,
                  wip.data(), static_cast<std::size_t>(K), p.workload, static_cast<std::size_t>(G), 0.0,
                  load.data(), static_cast<std::size_t>(G));
    for (int s = 0; s < n; ++s)
      for (int g = 0; g < G; ++g) clear_group(s, g, st, pr, p.dt, load.data(), frac.data(), acc_rho, measure);
    for (int s = 0; s < n; ++s)
      for (int k = 0; k < K; ++k)
        update_state(s, k, st, pr, p.dt, wip.data(), frac.data(), next.data(), acc_wip, measure);
    wip.swap(next);
    if (t + 1 == p.warm_periods)
      std::copy(wip.begin(), wip.end(), out.wip_warm.begin() + static_cast<std::ptrdiff_t>(s0) * K);
  }
  if (p.warm_periods == 0)
    for (int s = 0; s < n; ++s)
      std::copy(p.wip0, p.wip0 + K, out.wip_warm.begin() + static_cast<std::ptrdiff_t>(s0 + s) * K);
  std::copy(wip.begin(), wip.end(), out.wip_end.begin() + static_cast<std::ptrdiff_t>(s0) * K);
  if (p.progress) p.progress->add(((total - 1) % every + 1) * n);  // the periods since the last report
}
}  // namespace

void run_cpu(const Problem& p, unsigned threads, Outputs& out) {
  compute::cpu_blas_single_threaded();
  const int blocks = (p.S + kBlock - 1) / kBlock;
  std::atomic<int> next{0};
  auto worker = [&] {
    for (int b; (b = next.fetch_add(1)) < blocks && !(p.progress && p.progress->stopped());) {
      const int s0 = b * kBlock;
      run_block(p, s0, std::min(kBlock, p.S - s0), out);
    }
  };
  const unsigned n = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(blocks)));
  std::vector<std::thread> pool;
  for (unsigned i = 1; i < n; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

}  // namespace fabtwin::flow::detail
