#pragma once
// Calibration of the flow model's clearing functions from discrete-event simulation runs, and
// its file format (JSON, schema "fabtwin.v1.FlowCalibration", docs/model-format.md).
//
// Per tool group g the time a lot spends at a step of g (from leaving the previous step to leaving
// this one) is T = fixed + process + k * rho / (1 - rho), rho the busy share of uptime. In the
// fluid model the group's load W (tool-hours of work waiting or in process) then clears at
//   X(W) = cap * rho(W),  W / cap = rho * (fixed + process) + k * rho^2 / (1 - rho),
// cap = tools * availability (tool-hours per hour). rho(W) has a closed form (kernel.hpp).
// Fitted from the simulation: work per lot = busy tool-hours / lots started; availability = up
// share; process = visit-weighted mean process wall time of the group's steps (incl. load and
// unload); fixed = mean transport time to the group; k = mean queue time * (1 - rho) / rho.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/stats.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::flow {

struct GroupCalibration {
  std::string name;
  std::uint32_t tools = 1;        // base tool count (the model's)
  double work_hours = 0;          // tool-hours per lot visit (batching, cascading, setups included)
  double nominal_work_hours = 0;  // the model's expected tool-hours per visit (weights steps of g)
  double availability = 1;        // up share of calendar time (productive + setup + standby + eng.)
  double unscheduled_down = 0;    // share lost to failures (availability deltas scale it)
  double pm_down = 0;             // share lost to PMs
  double process_hours = 0;       // sojourn that scales with processing time (process wall time)
  double fixed_hours = 0;         // sojourn that does not grow with load (transport; queue when idle)
  double queue_k_hours = 0;       // k of the queue term; >= 0
  double utilisation = 0;         // observed busy share of uptime (for reference)
  double queue_hours = 0;         // observed mean queue time per visit (for reference)
};

struct Calibration {
  std::string model_name;
  double days = 0, warmup_days = 0;  // the simulation runs it was fitted from
  std::uint32_t replications = 0;
  std::uint64_t seed = 0;                // first seed; replication r used seed + r
  std::vector<GroupCalibration> groups;  // in the model's tool-group order
};

// Fits a calibration from the KPIs of simulation runs of `model` (replications of one scenario,
// each with its warm-up; tool statistics of each cover days - warmup_days). Fails when `runs` is
// empty or a run's tool groups differ from the model's.
model::Result<Calibration> fit(const model::Model& model, std::span<const des::Kpis> runs, double days,
                               double warmup_days, std::uint64_t seed);

struct CalibrateOptions {
  double days = 465;         // simulated per replication
  double warmup_days = 100;  // statistics restart then
  std::uint32_t replications = 3;
  std::uint64_t seed = 1;  // replication r: seed + r
  unsigned threads = 1;    // replications in parallel
};
// Runs the simulation (model's own rules) and fits. Fails on a bad option or a model the
// simulation refuses.
model::Result<Calibration> calibrate(const model::Model& model, const CalibrateOptions& options);

// JSON text (schema "fabtwin.v1.FlowCalibration") and back; parse errors name file, line, field.
std::string to_json(const Calibration& c);
model::Result<Calibration> parse_calibration(std::string_view text, std::string_view file_label = "<memory>");
model::Result<Calibration> read_calibration(const std::filesystem::path& file);

}  // namespace fabtwin::flow
