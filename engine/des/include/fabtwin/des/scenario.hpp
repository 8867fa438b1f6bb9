#pragma once
// Scenarios: a named, ordered list of changes ("deltas") to a model and its run options, for
// what-if runs. `apply_scenario` validates every delta against the base model and applies them in
// order to a copy; a refused delta gives an Error naming it (field "deltas[i].<kind>.<key>") and
// nothing is applied. The changes keep every untouched entity's identity, so that random draws
// keyed by entity (tool group, tool index in the group, calendar, occurrence; lot, step, pass)
// stay common between the base and the scenario:
//   - tools are added or removed at the end of their group; other groups keep their tools;
//   - a calendar shared with other groups is cloned (appended, "<calendar>@<group>"), so the
//     indices of existing calendars never change;
//   - an area attachment of a calendar being cloned is expanded in place into one tool-group
//     attachment per group of the area, so every tool keeps its calendars in the same order.
// The JSON reading of a scenario is fabtwin::scenario_io (scenario_io/scenario_json.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fabtwin/des/rules.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::des {

// Tools of a tool group: the group gets exactly `count` tools (>= 1). New tools are appended to
// the group and named "<group>_<k>" (k = 1-based index in the group); fewer drops the last ones.
struct ToolCountDelta {
  std::string group;
  std::uint32_t count = 1;
};

// The base (last) rank key of a tool group's rank list becomes the rank rule `rule`: any name in
// the RuleRegistry ("rank_CR", a user-registered name) or a short CLI name ("cr" -> "rank_CR").
// Carried in Options::group_rules (the model's rank lists hold only built-in keys).
struct RuleDelta {
  std::string group;
  std::string rule;
};

// Processing time of every step on tool group `group`, or of one step (`route` and its step
// `number` as written), multiplied by `factor` (> 0). Every parameter of the step's distribution
// is scaled, so the mean and each draw scale by `factor` and the shape is kept; cascading
// intervals (batch_interval, part_interval) of those steps scale too. Give `group` or `route` +
// `step`, not both.
struct ProcessTimeDelta {
  std::string group;
  std::string route;
  std::optional<std::uint32_t> step;
  double factor = 1;
};

// Releases of an order: the release interval distribution multiplied by `interval_factor`
// (> 0; < 1 releases more often) and/or `lots_per_release` (>= 1) set. `order` names the order by
// its lot prefix (LOT) or, failing that, every order of that order name (ORDER). At least one of
// the two changes must be given.
struct ReleaseDelta {
  std::string order;
  std::optional<double> interval_factor;
  std::optional<std::uint32_t> lots_per_release;
};

// Product mix: the start rate of `product` multiplied by `factor` (> 0), i.e. the release interval
// of each of its orders divided by `factor`. The product needs at least one order.
struct ProductMixDelta {
  std::string product;
  double factor = 1;
};

// Availability of one tool group, other groups unchanged even where they share a calendar:
// mean time to failure (time-to-failure distribution and the first failure's), time to repair,
// PM interval (time or wafers; the first PM's time is kept) and PM duration, each multiplied by
// its factor (> 0). At least one factor; each given factor needs a calendar of its kind on the
// group (a down calendar for mttf/mttr, a PM calendar for pm_interval/pm_duration).
struct AvailabilityDelta {
  std::string group;
  std::optional<double> mttf_factor;
  std::optional<double> mttr_factor;
  std::optional<double> pm_interval_factor;
  std::optional<double> pm_duration_factor;
};

// Every transport time distribution multiplied by `factor` (> 0).
struct TransportDelta {
  double factor = 1;
};

struct Delta {
  std::variant<ToolCountDelta, RuleDelta, ProcessTimeDelta, ReleaseDelta, ProductMixDelta, AvailabilityDelta,
               TransportDelta>
      change;
  int line = 0;  // line in `Scenario::file` where the delta was read (0: built in code)
};

// The delta's kind as the JSON key that names it: "tool_count", "rule", "process_time_factor",
// "release", "product_mix", "availability", "transport_factor".
std::string_view delta_key(const Delta& d);

struct Scenario {
  std::string name;
  std::string file;           // where it was read from ("" when built in code); errors name it
  std::vector<Delta> deltas;  // applied in order; a later delta sees the earlier ones' result
};

struct ScenarioModel {
  model::Model model;
  Options options;
};

// The base model and options changed by every delta of `s`, in order. Rule names are checked
// against `rules` (pass the registry the run will use; when base_options.rules is null and a rule
// delta is applied, the result's options.rules is a copy of `rules`). Refuses (nothing applied)
// with an Error whose file is s.file (or "scenario '<name>'"), line the delta's line and field
// "deltas[i].<kind>.<key>": an unknown tool group, order, product, route or step; a factor that is
// not finite or <= 0; a tool count of 0 or above 100000; a tool name that would clash; an unknown
// rule; a delta with no change or with both targets.
model::Result<ScenarioModel> apply_scenario(const model::Model& base, const Options& base_options,
                                            const Scenario& s, const RuleRegistry& rules);

// Every parameter (a, b, c) of `d` multiplied by `factor`: for each kind the mean, the deviation
// and each draw from the same uniforms scale by `factor` (exactly, before rounding to ms).
model::Distribution scale(const model::Distribution& d, double factor);

}  // namespace fabtwin::des
