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
//
// Dispatching rules: the fit above is of the model's own rank lists. `calibrate` with `rules` also
// runs the simulation with each of those rules as every group's base (last) rank key (des::Options::
// rule, the same change a scenario's rule delta makes to one group) and keeps what each group's
// queue takes under it (RuleCalibration): a group's parameters under a rule are assumed not to
// depend on the rules of the others (they are fitted with every group on that rule).
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/stats.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::flow {

// What a group's queue takes when its base rank key is `rule` (fitted as GroupCalibration's own).
struct RuleCalibration {
  std::string rule;  // the rule's registry name ("rank_CR")
  double work_hours = 0, process_hours = 0, fixed_hours = 0, queue_k_hours = 0;
  double utilisation = 0, queue_hours = 0;  // observed under the rule (for reference)
};

struct GroupCalibration {
  std::string name;
  std::uint32_t tools = 1;             // base tool count (the model's)
  double work_hours = 0;               // tool-hours per lot visit (batching, cascading, setups included)
  double nominal_work_hours = 0;       // the model's expected tool-hours per visit (weights steps of g)
  double availability = 1;             // up share of calendar time (productive + setup + standby + eng.)
  double unscheduled_down = 0;         // share lost to failures (availability deltas scale it)
  double pm_down = 0;                  // share lost to PMs
  double process_hours = 0;            // sojourn that scales with processing time (process wall time)
  double fixed_hours = 0;              // sojourn that does not grow with load (transport; queue when idle)
  double queue_k_hours = 0;            // k of the queue term; >= 0
  double utilisation = 0;              // observed busy share of uptime (for reference)
  double queue_hours = 0;              // observed mean queue time per visit (for reference)
  std::vector<RuleCalibration> rules;  // under other base rank rules (calibrate's `rules`)
  // The parameters under `rule` (a registry name, "rank_CR"), null when not calibrated.
  const RuleCalibration* under(std::string_view rule) const;
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
  // Base rank rules to calibrate besides the model's own ("cr" or "rank_CR"; built-in rules): each
  // adds `replications` runs with every group's base key on the rule (GroupCalibration::rules).
  std::vector<std::string> rules;
};
// Runs the simulation (model's own rules, then each of options.rules) and fits. Fails on a bad
// option, an unknown rule or a model the simulation refuses.
model::Result<Calibration> calibrate(const model::Model& model, const CalibrateOptions& options);

// JSON text (schema "fabtwin.v1.FlowCalibration") and back; parse errors name file, line, field.
std::string to_json(const Calibration& c);
model::Result<Calibration> parse_calibration(std::string_view text, std::string_view file_label = "<memory>");
model::Result<Calibration> read_calibration(const std::filesystem::path& file);

}  // namespace fabtwin::flow
