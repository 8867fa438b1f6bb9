#pragma once
// Run outputs, readable by pandas as they are: kpis.json, lots.csv, toolgroups.csv, wip.csv.
#include <filesystem>
#include <string>

#include "fabtwin/des/simulation.hpp"

namespace fabtwin::des {

// The KPI object printed by `fabtwin simulate --json` and written to kpis.json:
// {"model", "rule", "seed", "days", "warmup_days", "products": {"part_3": {...}}, "classes": {...},
//  "orders": {...}, "throughput": {...}, "mean_wip_lots", "cqt": {...}, "events", "wall_seconds", ...}
std::string kpis_json(const Simulation& sim, const Kpis& k, double wall_seconds);

// Writes the four files into `dir` (created if missing); throws std::runtime_error naming the
// file on an I/O failure.
void write_outputs(const Simulation& sim, const Kpis& k, double wall_seconds, const std::filesystem::path& dir);

}  // namespace fabtwin::des
