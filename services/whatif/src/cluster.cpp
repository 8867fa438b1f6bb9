#include "fabtwin/whatif/cluster.hpp"

#include <cstdlib>
#include <stdexcept>
#include <string>

#if FABTWIN_HAVE_MPI
#include <mpi.h>
#endif

namespace fabtwin::whatif {

namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  return std::atoi(v);
}

bool launched_by_mpi() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

}  // namespace

bool built_with_mpi() { return FABTWIN_HAVE_MPI != 0; }

Cluster::Cluster() {
  if (!launched_by_mpi()) return;
#if FABTWIN_HAVE_MPI
  int ready = 0;
  MPI_Initialized(&ready);
  if (!ready && MPI_Init(nullptr, nullptr) != MPI_SUCCESS) throw std::runtime_error("MPI_Init failed");
  mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  local_size_ = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("SLURM_NTASKS_PER_NODE", 1)));
#else
  const int n = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1));
  if (n > 1)
    throw std::runtime_error(
        "started by an MPI launcher with " + std::to_string(n) +
        " ranks, but this fabtwin was built without MPI (FABTWIN_MPI; install libopenmpi-dev)");
#endif
}

Cluster::~Cluster() {
#if FABTWIN_HAVE_MPI
  if (mpi_) {
    int done = 0;
    MPI_Finalized(&done);
    if (!done) MPI_Finalize();
  }
#endif
}

void Cluster::abort(int code) const {
#if FABTWIN_HAVE_MPI
  if (mpi_ && size_ > 1) MPI_Abort(MPI_COMM_WORLD, code);
#endif
  std::exit(code);
}

std::vector<PairResult> Cluster::gather(const std::vector<PairResult>& mine, std::size_t pairs,
                                        std::size_t nvalues) const {
  if (!mpi_ || size_ == 1) return mine;
#if FABTWIN_HAVE_MPI
  // Each pair travels as nvalues + 1 doubles (its values, then its event count: exact below 2^53).
  const std::size_t stride = nvalues + 1;
  std::vector<double> send;
  send.reserve(mine.size() * stride);
  for (const PairResult& p : mine) {
    send.insert(send.end(), p.values.begin(), p.values.end());
    send.push_back(static_cast<double>(p.events));
  }
  std::vector<int> counts(static_cast<std::size_t>(size_)), displs(static_cast<std::size_t>(size_));
  for (int r = 0; r < size_; ++r) {
    const auto [first, last] = share(pairs, r, size_);
    counts[static_cast<std::size_t>(r)] = static_cast<int>((last - first) * stride);
    displs[static_cast<std::size_t>(r)] = static_cast<int>(first * stride);
  }
  std::vector<double> all(rank_ == 0 ? pairs * stride : 0);
  if (MPI_Gatherv(send.data(), static_cast<int>(send.size()), MPI_DOUBLE, all.data(), counts.data(),
                  displs.data(), MPI_DOUBLE, 0, MPI_COMM_WORLD) != MPI_SUCCESS)
    throw std::runtime_error("MPI_Gatherv failed");
  std::vector<PairResult> out;
  if (rank_ != 0) return out;
  out.resize(pairs);
  for (std::size_t k = 0; k < pairs; ++k) {
    out[k].values.assign(all.begin() + static_cast<std::ptrdiff_t>(k * stride),
                         all.begin() + static_cast<std::ptrdiff_t>(k * stride + nvalues));
    out[k].events = static_cast<std::uint64_t>(all[k * stride + nvalues]);
  }
  return out;
#else
  (void)pairs, (void)nvalues;
  return mine;
#endif
}

}  // namespace fabtwin::whatif
