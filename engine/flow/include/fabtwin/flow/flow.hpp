#pragma once
// flow::FlowModel: the batched fluid model of the fab (DESIGN.md "The flow model"). State: WIP
// (lots, fractional) per (product, step) for each of S scenarios. Each period of `period_hours`:
//   1. load per tool group = WIP x workload matrix (S x K times K x G, one GEMM for all
//      scenarios: OpenBLAS on the CPU, cuBLAS on a GPU, engine/compute);
//   2. a clearing function per (scenario, group) turns the load into the share of the group's
//      WIP that leaves this period (calibrated on the simulation, calibration.hpp);
//   3. outflow moves WIP to the next performed step (sampling: skipped steps are passed over;
//      rework: a share goes back to the rework step) or out of the fab; releases enter.
// Reports per scenario: throughput, WIP, cycle time by Little's law (mean WIP / throughput) per
// product, utilisation of uptime per tool group, averaged over the measured window after warm-up.
// Priorities, dispatching rules, setups and batches are not modelled one by one: their average
// effect is in the calibrated work per lot and queue parameters.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::flow {

// One scenario as the flow model sees it: changes against the calibrated base. Empty vectors mean
// "as the base". scenario_input() (scenario.hpp) derives one from the engine's scenario deltas.
struct ScenarioInput {
  std::string name;
  std::vector<std::uint32_t> tools;    // per tool group (>= 1)
  std::vector<double> availability;    // per tool group: up share of calendar time, (0, 1]
  std::vector<double> work_factor;     // per tool group: processing time factor (> 0)
  std::vector<double> release_factor;  // per product: start rate factor (>= 0)
  // per tool group: the base rank rule its queue works under, one its calibration has
  // (GroupCalibration::rules; "": the model's own lists; empty: every group its own)
  std::vector<std::string> rule;
};

struct RunOptions {
  double period_hours = 0.25;  // time step; a lot spends at least one period at each step it performs
  double warmup_days = 100;    // run first, not measured (starts from the model's initial WIP)
  double days = 365;           // measured after the warm-up
  unsigned threads = 1;        // CPU backend: threads over scenarios
  compute::Backend backend = compute::Backend::Cpu;
  // Called as the run goes (from worker threads, one call at a time) with (scenario-days done,
  // scenario-days in the run), about once per simulated day of a block of scenarios. An exception
  // it throws stops the run (every worker at its next report) and leaves FlowModel::run.
  std::function<void(double, double)> progress;
};

struct ScenarioResult {
  std::string name;
  double throughput_lots_per_day = 0;           // lots leaving the fab, all products
  double wip_lots = 0;                          // mean WIP in the fab
  double cycle_time_days = 0;                   // wip / throughput (Little's law)
  std::vector<double> product_throughput;       // lots/day, per product
  std::vector<double> product_wip;              // lots, per product
  std::vector<double> product_cycle_time_days;  // per product (0 where nothing completes)
  // Lots over the measured window: released, completed, in the fab at its start and end
  // (released = completed + wip_end - wip_start up to rounding).
  double released_lots = 0, completed_lots = 0, wip_start_lots = 0, wip_end_lots = 0;
  std::vector<double> utilisation;  // per tool group: mean busy share of uptime, [0, 1]
};

// The clearing function: the busy share rho in [0, 1) of a tool group whose load is `w` hours of
// work per unit of capacity (W / cap), for sojourn `sojourn` hours at zero load and queue
// parameter `k` hours (calibration.hpp); increasing in w, 0 at w = 0, -> 1 as w -> infinity.
double busy_share(double w, double sojourn, double k);

class FlowModel {
 public:
  // Fails (an Error naming the field) when the calibration does not fit the model (other tool
  // groups, a value out of range).
  static model::Result<FlowModel> create(const model::Model& base, const Calibration& calibration);

  // Runs every scenario; results in input order. Throws std::invalid_argument for an input whose
  // vectors have the wrong length or out-of-range values (message names the scenario and field),
  // std::runtime_error for the CUDA backend where no device is usable (or a CUDA error).
  std::vector<ScenarioResult> run(std::span<const ScenarioInput> scenarios, const RunOptions& options) const;

  const model::Model& model() const;
  const Calibration& calibration() const;
  std::size_t states() const;       // K: (product, step) pairs plus one "completed" state per product
  std::size_t tool_groups() const;  // G
  // The workload matrix, K x G row-major: tool-hours of group g per lot waiting at state k.
  std::span<const double> workload() const;

  FlowModel(const FlowModel&);
  FlowModel& operator=(const FlowModel&);
  FlowModel(FlowModel&&) noexcept;
  FlowModel& operator=(FlowModel&&) noexcept;
  ~FlowModel();

 private:
  struct Impl;
  explicit FlowModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabtwin::flow
