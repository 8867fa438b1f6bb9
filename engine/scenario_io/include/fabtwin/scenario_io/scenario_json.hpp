#pragma once
// Scenario files: one JSON document (schema "fabtwin.v1.Scenario", docs/api.md "Scenario deltas")
// read into a des::Scenario and written back. Reading checks the document's shape (keys, types,
// whole numbers); what a delta means for a model (unknown group, factor <= 0, ...) is checked by
// des::apply_scenario, whose errors name the same file, the delta's line and the same field path.
//
//   {"schema": "fabtwin.v1.Scenario", "name": "more etch",
//    "deltas": [{"tool_count": {"group": "DE_BE_11", "count": 4}},
//               {"rule": {"group": "DE_BE_11", "rule": "rank_CR"}},
//               {"process_time_factor": {"group": "DE_BE_11", "factor": 1.1}},
//               {"process_time_factor": {"route": "r_3", "step": 12, "factor": 0.9}},
//               {"release": {"order": "Lot_3", "interval_factor": 0.95, "lots_per_release": 2}},
//               {"product_mix": {"product": "part_4", "factor": 1.05}},
//               {"availability": {"group": "DE_BE_11", "mttf_factor": 1.2, "mttr_factor": 0.8,
//                                 "pm_interval_factor": 1.5, "pm_duration_factor": 0.9}},
//               {"transport_factor": 1.2}]}
#include <filesystem>
#include <string>
#include <string_view>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/model/error.hpp"

namespace fabtwin::scenario_io {

// Errors name `file_label`, the line and the field ("deltas[2].release.lots_per_release"); unknown
// keys are errors. "schema" is optional; "name" defaults to "". The result's `file` is file_label.
model::Result<des::Scenario> parse_scenario(std::string_view text, std::string_view file_label = "<memory>");
// The same reading from a parsed document (or one object inside a larger one: a what-if spec's
// scenario); field paths are relative to `root` and lines are those recorded in it.
model::Result<des::Scenario> scenario_from_json(const io::json::Value& root, std::string_view file_label);
model::Result<des::Scenario> read_scenario(const std::filesystem::path& file);

// The scenario as a pretty-printed document that parse_scenario reads back to the same deltas.
std::string to_scenario_json(const des::Scenario& s);

}  // namespace fabtwin::scenario_io
