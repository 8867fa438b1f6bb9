// CUDA launcher: all scenarios at once. Per period: load = WIP x workload on cuBLAS (one DGEMM,
// S x K times K x G), then clear_group over (s, g) and update_state over (s, k), the same
// __host__ __device__ bodies the CPU runs (kernel.hpp).
#include <stdexcept>
#include <vector>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/compute/cublas.hpp"
#include "fabtwin/compute/cuda_buffer.hpp"
#include "fabtwin/compute/cuda_check.hpp"
#include "launch.hpp"

namespace fabtwin::flow::detail {

namespace {

__global__ void clear_kernel(Structure st, Params pr, double dt, int S, const double* load, double* frac,
                             double* acc_rho, bool measure) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(S) * st.G) return;
  clear_group(static_cast<int>(i / st.G), static_cast<int>(i % st.G), st, pr, dt, load, frac, acc_rho,
              measure);
}

__global__ void update_kernel(Structure st, Params pr, double dt, int S, const double* wip,
                              const double* frac, double* next, double* acc_wip, bool measure) {
  const long long i = static_cast<long long>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= static_cast<long long>(S) * st.K) return;
  update_state(static_cast<int>(i / st.K), static_cast<int>(i % st.K), st, pr, dt, wip, frac, next, acc_wip,
               measure);
}

template <class T>
compute::DeviceBuffer<T> upload(const T* host, std::size_t n, cudaStream_t s) {
  compute::DeviceBuffer<T> d(n);
  d.upload(host, n, s);
  return d;
}

}  // namespace

void run_cuda(const Problem& p, Outputs& out) {
  if (!compute::cuda_available()) throw std::runtime_error("flow: no usable CUDA device");
  const Structure& hs = p.st;
  const int S = p.S, K = hs.K, G = hs.G, P = hs.P;
  const std::size_t SK = static_cast<std::size_t>(S) * K, SG = static_cast<std::size_t>(S) * G,
                    SP = static_cast<std::size_t>(S) * P;
  compute::CudaStream stream;
  const cudaStream_t cs = stream.get();
  compute::CublasHandle blas(cs);
  // Structure on the device.
  auto group_of = upload(hs.group_of, K, cs);
  auto product_of = upload(hs.product_of, K, cs);
  auto entry = upload(hs.entry, K, cs);
  auto pred_offset = upload(hs.pred_offset, static_cast<std::size_t>(K) + 1, cs);
  const std::size_t npred = static_cast<std::size_t>(hs.pred_offset[K]);
  auto pred_src = upload(hs.pred_src, npred, cs);
  auto pred_prob = upload(hs.pred_prob, npred, cs);
  Structure ds = hs;
  ds.group_of = group_of.data();
  ds.product_of = product_of.data();
  ds.entry = entry.data();
  ds.pred_offset = pred_offset.data();
  ds.pred_src = pred_src.data();
  ds.pred_prob = pred_prob.data();
  auto cap = upload(p.params.cap, SG, cs);
  auto sojourn = upload(p.params.sojourn, SG, cs);
  auto queue_k = upload(p.params.queue_k, SG, cs);
  auto work = upload(p.params.work, SG, cs);
  auto release = upload(p.params.release, SP, cs);
  Params dp{cap.data(), sojourn.data(), queue_k.data(), work.data(), release.data()};
  auto workload = upload(p.workload, static_cast<std::size_t>(K) * G, cs);
  std::vector<double> wip0(SK);
  for (int s = 0; s < S; ++s)
    std::copy(p.wip0, p.wip0 + K, wip0.begin() + static_cast<std::ptrdiff_t>(s) * K);
  compute::DeviceBuffer<double> wip(SK), next(SK), load(SG), frac(SG), acc_wip(SK), acc_rho(SG);
  wip.upload(wip0.data(), SK, cs);
  FABTWIN_CUDA_CHECK(cudaMemsetAsync(acc_wip.data(), 0, acc_wip.bytes(), cs));
  FABTWIN_CUDA_CHECK(cudaMemsetAsync(acc_rho.data(), 0, acc_rho.bytes(), cs));
  constexpr int kThreads = 256;
  const unsigned g_blocks = static_cast<unsigned>((SG + kThreads - 1) / kThreads);
  const unsigned k_blocks = static_cast<unsigned>((SK + kThreads - 1) / kThreads);
  out.wip_warm = wip0;
  out.wip_end.assign(SK, 0.0);
  const long long total = p.warm_periods + p.measure_periods;
  double* cur = wip.data();
  double* nxt = next.data();
  const long long every = report_every(p.dt);
  for (long long t = 0; t < total; ++t) {
    // (periods queued on the stream: the launch queue is bounded, so they are a few behind)
    if (p.progress && t > 0 && t % every == 0) {
      p.progress->add(every * S);
      if (p.progress->stopped()) return;
    }
    const bool measure = t >= p.warm_periods;
    compute::gemm_device(blas, static_cast<std::size_t>(S), static_cast<std::size_t>(G),
                         static_cast<std::size_t>(K), 1.0, cur, static_cast<std::size_t>(K), workload.data(),
                         static_cast<std::size_t>(G), 0.0, load.data(), static_cast<std::size_t>(G));
    clear_kernel<<<g_blocks, kThreads, 0, cs>>>(ds, dp, p.dt, S, load.data(), frac.data(), acc_rho.data(),
                                                measure);
    FABTWIN_CUDA_CHECK_LAUNCH();
    update_kernel<<<k_blocks, kThreads, 0, cs>>>(ds, dp, p.dt, S, cur, frac.data(), nxt, acc_wip.data(),
                                                 measure);
    FABTWIN_CUDA_CHECK_LAUNCH();
    std::swap(cur, nxt);
    if (t + 1 == p.warm_periods)
      FABTWIN_CUDA_CHECK(
          cudaMemcpyAsync(out.wip_warm.data(), cur, SK * sizeof(double), cudaMemcpyDeviceToHost, cs));
  }
  FABTWIN_CUDA_CHECK(
      cudaMemcpyAsync(out.wip_end.data(), cur, SK * sizeof(double), cudaMemcpyDeviceToHost, cs));
  out.acc_wip.assign(SK, 0.0);
  out.acc_rho.assign(SG, 0.0);
  acc_wip.download(out.acc_wip.data(), SK, cs);
  acc_rho.download(out.acc_rho.data(), SG, cs);
  stream.synchronize();
  if (p.progress) p.progress->add(((total - 1) % every + 1) * S);
}

}  // namespace fabtwin::flow::detail
