#pragma once
// The twin's state as text that `diff` compares: built from Simulation::view(), sorted, one line
// per tool and per lot in the fab, tab-separated columns:
//   # fabtwin state | model name | time (ISO-8601) | time (ms)
//   # tool | state | setup | lots
//   then every tool, by name: name | E10 state | setup name or - | its lots, sorted, comma-separated, or -
//   # lot | product | step | pass | wafers | place | held | since_ms
//   then every lot in the fab, by name: name | product | step number | pass | wafers |
//   queued, on_tool <tool> or in_transport | held or - | in this place since (ms)
// Two twins with the same text hold the same lots at the same steps and places since the same
// times, and tools in the same states with the same setups and lots.
#include <string>

#include "fabtwin/des/simulation.hpp"

namespace fabtwin::twin {

std::string state_text(const des::Simulation& sim);

}  // namespace fabtwin::twin
