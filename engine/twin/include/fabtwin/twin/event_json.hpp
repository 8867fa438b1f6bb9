#pragma once
// MES events as JSON lines: one JSON object per line per des::Event (docs/api.md "MES events as
// JSON lines"). Times are ISO-8601 UTC with milliseconds ("2018-01-05T12:34:56.789Z"), converted
// with the model's epoch (ModelData::epoch_unix_s). Only the keys an event kind uses are written;
// the reader is strict: an unknown key, a key the kind does not use, a wrong type, a bad time or
// an unknown kind is an Error naming the line and the key.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fabtwin/des/events.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::twin {

// "2018-01-05T12:34:56.789Z" for model time `t` (epoch: unix seconds of model time zero).
std::string format_time(model::SimTime t, std::int64_t epoch_unix_s);
// The inverse; requires the trailing 'Z' and whole milliseconds; nullopt on anything else.
std::optional<model::SimTime> parse_time(std::string_view iso, std::int64_t epoch_unix_s);

// The event as one JSON object on one line (no newline), keys in a fixed order.
std::string event_to_json(const des::Event& e, std::int64_t epoch_unix_s);
void append_event_json(std::string& out, const des::Event& e, std::int64_t epoch_unix_s);

// Reads one line. An Error has file = `file`, line = `line`, field = the key ("" when the line
// is not a JSON object) and says what is wrong. Required keys: id (non-empty), time, kind, and
// per kind: lots (lot kinds; track_in may name several), tool (tool kinds), product and wafers
// (lot_released), wafers (scrap), step (lot_queued, rework), state (tool_state), setup
// (setup_change). Step numbers are >= 1; priority, wafers and steps are whole numbers.
model::Result<des::Event> parse_event_json(std::string_view line, std::int64_t epoch_unix_s,
                                           int line_number = 1, std::string_view file = "<events>");

// Parses the JSON name of an E10 state ("unscheduled_down", ...).
std::optional<des::ToolState> parse_tool_state(std::string_view s);

}  // namespace fabtwin::twin
