#pragma once
// Run outputs of a simulation, readable by pandas as they are: kpis.json, lots.csv,
// toolgroups.csv, wip.csv (RFC 4180 CSV through io::CsvWriter; every file closed and checked).
#include <filesystem>
#include <string>

#include "fabtwin/des/simulation.hpp"

namespace fabtwin::report {

// The KPI object printed by `fabtwin simulate --json` and written to kpis.json:
// {"model", "rule", "seed", "days", "warmup_days", "products": {"part_3": {...}}, "classes": {...},
//  "orders": {...}, "throughput": {...}, "mean_wip_lots", "cqt": {...}, "events", "wall_seconds", ...}
// wall_seconds < 0: no wall-clock fields (kpis.json: the same run gives the same bytes).
std::string kpis_json(const des::Simulation& sim, const des::Kpis& k, double wall_seconds);

// Writes the four files into `dir` (`wall_seconds` is not written: the files depend on the run only) (created
// if missing); throws io::OutputError (a std::runtime_error) naming the file on an I/O failure, a full disk
// included.
void write_outputs(const des::Simulation& sim, const des::Kpis& k, double wall_seconds,
                   const std::filesystem::path& dir);

}  // namespace fabtwin::report
