#pragma once
// Batch outputs (docs/whatif.md "Outputs"): results.csv (one row per scenario x metric x subject),
// results.json (the same with every replication's value) and chart.png (scenario means with 95 %
// CIs of the headline metrics; a flow-model estimate beside each where one is given). Every byte
// depends only on the batch and its results: no times, thread or rank counts.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/stats.hpp"

namespace fabtwin::whatif {

struct Row {
  std::size_t scenario = 0;
  std::size_t def = 0;         // index in the metric definitions
  std::vector<double> values;  // per replication
  Summary summary;
  std::optional<Summary> diff;          // paired difference scenario - base (none for the base)
  std::optional<double> flow_estimate;  // engine/flow's estimate, where a screen filled it
};

struct Results {
  std::vector<MetricDef> defs;
  std::vector<std::string> scenario_names;
  std::vector<bool> shared_warmup;    // per scenario
  std::vector<std::uint64_t> events;  // per scenario, summed over replications
  std::vector<Row> rows;              // scenario-major, then metric definition order
};

// Results from every pair's values (pairs numbered k = r * S + s, all of them, in order).
Results summarise_batch(const Batch& batch, const std::vector<MetricDef>& defs,
                        const std::vector<PairResult>& pairs);

std::string results_csv(const Results& r);
std::string results_json(const Batch& batch, const Results& r);
// The chart's PNG bytes.
std::vector<std::uint8_t> results_chart(const Results& r);
// Writes the three files into `dir` (created); throws std::runtime_error naming a file it cannot write.
void write_outputs(const Batch& batch, const Results& r, const std::filesystem::path& dir);

}  // namespace fabtwin::whatif
