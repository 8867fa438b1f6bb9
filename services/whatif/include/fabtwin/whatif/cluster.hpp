#pragma once
// Scale-out over MPI ranks (Open MPI; `mpirun -np N fabtwin whatif run ...`, or under Slurm).
// A process started by mpirun/srun (OMPI_COMM_WORLD_SIZE, PMI_SIZE or PMIX_RANK in its
// environment) joins MPI_COMM_WORLD; any other process is rank 0 of 1 and never calls MPI. Builds
// without MPI (FABTWIN_MPI=OFF or Open MPI not found) refuse to run under a launcher with more
// than one rank rather than let every rank write the same outputs.
#include <cstddef>
#include <vector>

#include "fabtwin/whatif/runner.hpp"

namespace fabtwin::whatif {

class Cluster {
 public:
  Cluster();   // joins MPI where launched by it; throws std::runtime_error where it cannot
  ~Cluster();  // MPI_Finalize where joined
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool mpi() const { return mpi_; }
  // Ranks on this node (OMPI_COMM_WORLD_LOCAL_SIZE; 1 without MPI): the default thread count is
  // the node's cores divided by it.
  int local_size() const { return local_size_; }

  // Every rank passes its share [first, last) of `pairs` pairs, each with `nvalues` values; rank 0
  // gets all pairs in order, the others an empty vector. One call on every rank.
  std::vector<PairResult> gather(const std::vector<PairResult>& mine, std::size_t pairs,
                                 std::size_t nvalues) const;
  // Ends every rank with `code` after a failure on one (MPI_Abort); plain exit without MPI.
  [[noreturn]] void abort(int code) const;

 private:
  int rank_ = 0, size_ = 1, local_size_ = 1;
  bool mpi_ = false;
};

// Whether this build has MPI.
bool built_with_mpi();

}  // namespace fabtwin::whatif
