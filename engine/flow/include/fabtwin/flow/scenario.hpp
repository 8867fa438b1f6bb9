#pragma once
// The engine's scenario deltas (des::Scenario) as flow-model inputs. The deltas the flow model
// understands: tool_count, release, product_mix, availability, process_time_factor (a group; a
// route step counts as a group factor weighted by the step's share of the group's work), and rule
// where the calibration has the group's parameters under that rule (flow calibrate --rules).
// Refused, with an Error naming the delta ("deltas[i].transport_factor"): transport_factor (its
// transport time is calibrated, not modelled) and a rule the calibration lacks for the group.
#include <filesystem>
#include <string_view>
#include <vector>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/model/error.hpp"

namespace fabtwin::flow {

// Checks and applies the deltas to the flow model's base (des::apply_scenario), then reads the
// changes off the scenario's model: tool counts, release rates per product, availability from the
// calendars' down shares (failures: mttr / (mttf + mttr); PMs: duration / interval) relative to the
// base, processing time factors. Errors as apply_scenario's, plus the refusals above.
model::Result<ScenarioInput> scenario_input(const FlowModel& flow, const des::Scenario& scenario);

// A file of scenarios: one scenario document (schema "fabtwin.v1.Scenario", scenario_io) or a JSON
// array of them. Errors name the file, the line and the field ("[2].deltas[0].tool_count.count");
// a scenario without a name is called "scenario <i>"; names must be unique.
model::Result<std::vector<des::Scenario>> read_scenario_list(const std::filesystem::path& file);
model::Result<std::vector<des::Scenario>> parse_scenario_list(std::string_view text,
                                                              std::string_view file_label);

}  // namespace fabtwin::flow
