#pragma once
// The what-if runner: every (scenario, replication) pair of a Batch, on a pool of threads, with
// common random numbers (replication r uses seed spec.seed + r in every scenario; without them,
// scenario s uses spec.seed + s * replications + r). A model base with a warm-up warms up once per
// replication (the base model to the warm-up end, a checkpoint) and each scenario continues from
// that state under its own model (des::Simulation::restore_changed); a scenario that changes tool
// counts or clones a calendar warms up itself from t = 0 (own_warmup). A checkpoint base is the
// warm state of every pair (tools added or dropped there). Metrics are measured over [warm-up end, +
// horizon].
//
// Pairs are numbered k = r * S + s (S scenarios incl. the base); a process (an MPI rank) runs a
// contiguous share of them. Results depend only on the batch, never on threads or ranks.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "fabtwin/whatif/spec.hpp"

namespace fabtwin::whatif {

// One reported figure: metric ("throughput_lots_per_day", "cycle_time_mean_days",
// "cycle_time_p90_days", "on_time", "wip_lots", "utilisation") and its subject ("all", a product,
// a tool group).
struct MetricDef {
  std::string metric;
  std::string subject;
};
std::vector<MetricDef> metric_defs(const Batch& batch);

struct PairResult {
  std::vector<double> values;  // one per MetricDef (NaN: not measurable in this run)
  std::uint64_t events = 0;    // kernel events of the pair's own simulation (warm-up included)
};

std::uint64_t pair_seed(const Spec& spec, std::size_t scenario, std::uint32_t replication);
// Whether the scenario continues from its replication's shared warm state (else from t = 0).
bool shares_warmup(const Batch& batch, std::size_t scenario);
// [first, last) pair numbers of `rank` among `ranks`.
std::pair<std::size_t, std::size_t> share(std::size_t pairs, int rank, int ranks);

// The simulated days run_pairs(batch, defs, first, last, ...) reports as its progress total.
double total_days(const Batch& batch, std::size_t first, std::size_t last);

struct RunOptions {
  unsigned threads = 1;
  // Called (from worker threads, serialised) as simulated days are done: (done, total).
  std::function<void(double, double)> progress;
};

// Runs pairs [first, last) and returns their results in order. Throws std::runtime_error if a
// simulation fails.
std::vector<PairResult> run_pairs(const Batch& batch, const std::vector<MetricDef>& defs, std::size_t first,
                                  std::size_t last, const RunOptions& options);

}  // namespace fabtwin::whatif
