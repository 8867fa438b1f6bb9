#pragma once
// What-if batch specs (docs/whatif.md): one JSON document, schema "fabtwin.v1.WhatIf":
//
//   {"schema": "fabtwin.v1.WhatIf", "name": "more litho",
//    "base": {"model": "../minifab.json"},          // or {"checkpoint": "warm.state"} (simulate
//                                                   // --save-state; "model" optional beside it)
//                                                   // or {"live": true}: the served twin's state
//                                                   // (WhatIfService only; load_batch(spec, LiveBase))
//    "horizon_days": 60, "warmup_days": 20, "replications": 10, "seed": 1,
//    "rule": "cr",                                  // optional: the base run's dispatch rule
//    "common_random_numbers": true,                 // default true
//    "metrics": ["throughput", "cycle_time", "wip", "on_time", "utilisation"],  // default all
//    "percentiles": [50, 90],                       // cycle-time percentiles (default 50, 90)
//    "groups": ["Litho_E"],                         // utilisation of these groups (default all)
//    "scenarios": [{"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]}]}
//
// Paths are relative to the spec file's folder. The base itself is always scenario 0 ("base").
// Errors name the spec file, the line and the JSON path ("scenarios[1].deltas[0].tool_count.count").
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::whatif {

enum class Metric : std::uint8_t { Throughput, CycleTime, Wip, OnTime, Utilisation };
std::string_view metric_key(Metric m);  // "throughput", "cycle_time", "wip", "on_time", "utilisation"

// The flow model's settings (top-level "flow", docs/whatif.md "Screening"): its calibration file
// and run length. `whatif run` fills the flow estimates when "flow" is given; `whatif screen`
// always evaluates its design with it (calibration default: <model>.flow.json beside the model).
struct FlowSettings {
  bool given = false;
  std::filesystem::path calibration;  // "" = the default beside the model
  double days = 0;                    // measured flow days; 0 = horizon_days
  double warmup_days = -1;            // < 0 = max(warmup_days, 150)
  double period_hours = 0.25;
};

// One factor of a screening design (screen.space).
struct Factor {
  enum class Kind : std::uint8_t { ToolCount, Release, ProcessTime, Availability, Rule };
  Kind kind = Kind::ToolCount;
  std::string group;  // tool group (not for Release)
  std::string key;    // Availability: mttf_factor | mttr_factor | pm_interval_factor | pm_duration_factor
  std::vector<double> levels;  // ToolCount: the counts (ascending); Rule: 0 .. rules - 1; continuous: empty
  double min = 0, max = 0;     // continuous range (ToolCount: levels' ends)
  std::string path;            // JSON path ("screen.space.tool_count[0]") and line, for errors
  int line = 0;
  std::string label;  // column name in screen.csv ("tools:Litho_E", "release", ...)
  // The cost of one unit of change from the base's value (screen.costs by label, screen.tool_costs
  // for tools; 0: none): a tool added; release +1.0; process time -1.0 (faster); mttf and PM
  // interval factors +1.0; mttr and PM duration factors -1.0; a rule other than the group's own.
  double unit_cost = 0;
  std::vector<std::string> rules;  // Rule: the group's base rank rule at each level (registry names)
  bool discrete() const { return kind == Kind::ToolCount || kind == Kind::Rule; }
};

enum class Objective : std::uint8_t { MinCycleTime, MaxThroughput };
std::string_view objective_key(Objective o);  // "min_cycle_time", "max_throughput"

struct ScreenSpec {
  bool given = false;
  int line = 0;
  std::vector<Factor> factors;
  bool lhs = false;           // design: "lhs" (samples) or "grid"
  std::uint32_t samples = 0;  // lhs
  std::uint32_t levels = 3;   // grid: levels of each continuous factor
  std::uint64_t seed = 1;     // lhs
  Objective objective = Objective::MinCycleTime;
  double throughput_tolerance = 0.005;  // min_cycle_time: feasible if throughput >= base * (1 - tol)
  std::uint32_t confirm = 3;            // best k simulated
  bool confirm_efficient = false;       // "confirm": "efficient": the efficient points within the budget
  // Costs (screen.costs, screen.tool_costs; Factor::unit_cost): a point costs each factor's change
  // from the base in its unit (negative: a saving, as tools removed); with a budget, a point costing
  // more ranks after every point within it.
  bool costed = false;
  std::optional<double> budget;
};

struct Spec {
  std::string file;  // the spec's path as given (errors name it)
  std::string name;
  // Base: a model file/folder, or a saved state (simulate --save-state) with an optional model.
  std::filesystem::path model;       // resolved against the spec's folder ("" with a checkpoint
                                     // that names its own model)
  std::filesystem::path checkpoint;  // "" for a model base
  bool live = false;                 // {"live": true}: the served twin's state (no model, checkpoint)
  double horizon_days = 0;
  double warmup_days = 0;
  std::uint32_t replications = 0;
  std::uint64_t seed = 1;
  std::string rule;  // "" = the model's rank lists (or the checkpoint's rule)
  bool common_random_numbers = true;
  std::vector<Metric> metrics;           // in the order given, no repeats
  std::vector<double> percentiles;       // in (0, 100], ascending
  std::vector<std::string> groups;       // utilisation subjects; empty = every group
  std::vector<des::Scenario> scenarios;  // as read; the base is not among them
  std::vector<int> scenario_lines;       // line of each scenario object
  FlowSettings flow;
  ScreenSpec screen;  // "screen" block (whatif screen); "scenarios" may then be omitted
};

// Reads the document's shape (keys, types, ranges) and resolves paths; the deltas' meaning for the
// model is checked by load_batch.
model::Result<Spec> parse_spec(std::string_view text, std::string_view file_label,
                               const std::filesystem::path& base_dir);
model::Result<Spec> read_spec(const std::filesystem::path& file);

// A spec with its model loaded and every scenario applied: what the runner needs.
struct Batch {
  Spec spec;
  model::Model base_model;
  des::Options base_options;  // seed unset (per replication); warmup = absolute warm-up end
  std::string checkpoint;     // engine checkpoint bytes ("" for a model base)
  double start_days = 0;      // the checkpoint's time (0 for a model base)
  struct Entry {
    std::string name;
    model::Model model;
    des::Options options;     // seed set per replication
    bool own_warmup = false;  // warms up itself from t = 0 (starts_warm: true)
  };
  std::vector<Entry> scenarios;  // [0] = the base
};

// Loads the base (model, checkpoint), applies every scenario (errors name the spec file, the
// scenario's path and the delta's field; nothing runs if one is refused), checks groups exist
// and decides per scenario whether it can start from the base's warm state.
// A live base (spec.live) is refused here (field "base.live": it runs in the server's WhatIfService).
model::Result<Batch> load_batch(Spec spec);

// Whether a scenario's model and options take the base's warm state `probe` (false: it warms up
// itself from t = 0). A checkpoint base's state takes shape-keeping deltas and other tool counts
// (tools join idle or leave at the checkpoint's time); a model base warms a scenario up itself where its
// tables do not fit the base's state or it changes a group's tool count (its fab has those tools from the
// start). An Error (the engine's reason) where a checkpoint base cannot take the scenario.
model::Result<bool> own_warmup(const Batch& batch, const model::Model& model, const des::Options& options,
                               std::string_view probe);

// A live twin's state: its model and the engine checkpoint bytes taken from it (des::Simulation::save).
struct LiveBase {
  model::Model model;
  std::string checkpoint;
};
// The batch of a live-base spec (spec.live) from that state, as a checkpoint base.
model::Result<Batch> load_batch(Spec spec, LiveBase live);

}  // namespace fabtwin::whatif
