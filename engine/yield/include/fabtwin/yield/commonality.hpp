#pragma once
// Tool commonality analysis at three levels, each ranked and corrected for its own number of tests:
//  - StepTool: for every (step, tool) pair, the lots that ran that step on that tool against the
//    lots that ran the same step on another tool; Student's t (pooled or Welch).
//  - Tool: every step a tool performs, pooled. A lot's dose is the number of its steps that ran on
//    the tool; within the tool's group, a regression of the lot's yield on that dose, holding its
//    route (stratum) and its number of the group's steps fixed: the effect is the yield change per
//    step run on this tool instead of another tool of its group; Student's t on that coefficient.
//    (The harm grows with the number of steps on the tool: "touched it or not" would lump a lot
//    with one such step together with one with four. Measured on HVLM: adjusted p 6 to 10^7 times
//    smaller than with an in/out indicator.) Units are weighted by 1 / their stratum's variance
//    (products differ in spread).
//    (Docs: docs/yield.md, "Commonality analysis".)
//  - ToolGroup: does it matter which of the group's tools a lot's steps ran on? The same
//    regression with every tool's dose at once; F test of "all the group's tools alike" (df1 =
//    tools compared - 1). One test per group: fewer tests to correct for than tools.
// The test unit is the history (a lot: its wafers share every tool, so they are not independent
// evidence about a tool; its value is its mean wafer die yield), or optionally the wafer.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "fabtwin/model/ids.hpp"

namespace fabtwin::yield {

struct StepTool {
  model::StepId step;
  model::ToolId tool;
  friend auto operator<=>(const StepTool&, const StepTool&) = default;
};

// Yield records in compressed form: wafers of a lot share one history.
struct YieldRecords {
  std::vector<std::uint32_t> history_offset{0};  // history h: pairs[history_offset[h], history_offset[h+1])
  std::vector<StepTool> pairs;                   // (step, tool) of each history, any order, repeats allowed
  std::vector<std::uint32_t> history_stratum;    // per history: its stratum (route or product; any number).
                                                 // Tool and ToolGroup levels compare lots within a stratum.
                                                 // Missing entries (shorter vector): stratum 0.
  std::vector<std::uint32_t> wafer_history;      // per wafer: its history
  std::vector<double> wafer_yield;               // per wafer: die yield 0..1
  // Per tool (index ToolId::value): its tool group, for the Tool and ToolGroup levels. Empty: groups
  // are derived from the pairs (tools that ran a common step are one group, identified by the
  // ToolGroupId of its lowest ToolId value). Tools beyond its size or with an invalid group are left
  // out of the Tool and ToolGroup levels.
  std::vector<model::ToolGroupId> tool_group;

  // Appends a history; returns its index.
  std::uint32_t add_history(std::span<const StepTool> steps, std::uint32_t stratum = 0);
  void add_wafer(std::uint32_t history, double die_yield);
  std::size_t histories() const { return history_offset.size() - 1; }
  std::size_t wafers() const { return wafer_yield.size(); }
};

enum class Level : std::uint8_t { StepTool, Tool, ToolGroup };
std::string_view to_string(Level level);                  // "step_tool", "tool", "tool_group"
std::optional<Level> parse_level(std::string_view name);  // the inverse; nullopt for anything else

enum class Correction { Holm, Bonferroni, None };
enum class Alternative {
  Lower,  // one-sided: the tool's lots yield less (looking for bad tools; default). ToolGroup's F
          // test is always two-sided (a group is heterogeneous whichever way)
  TwoSided,
};

enum class TestUnit {
  History,  // one value per history (lot): its mean wafer yield (default; valid with lot-to-lot effects)
  Wafer,    // one value per wafer (only when wafers of a history are independent given the tools)
};

enum class VarianceModel {
  Pooled,  // Student's t with the pooled variance: exact under H0 (no tool effect); robust for small groups
           // (default)
  Welch,   // Welch's t (unequal variances; StepTool level only): unreliable when a group has only a few units
};

struct CommonalityOptions {
  double significance = 0.05;  // family-wise error rate for `significant`, per level
  Correction correction = Correction::Holm;
  Alternative alternative = Alternative::Lower;
  TestUnit unit = TestUnit::History;
  VarianceModel variance = VarianceModel::Pooled;
  std::uint32_t min_units = 5;  // a comparison with fewer units (lots) on either side is not tested
  std::vector<Level> levels{Level::StepTool};  // levels tested (repeats ignored)
};

// One test. The fields per level:
//             pair.step  pair.tool        in / out (units, wafers, yields)
//  StepTool   the step   the tool         lots through (step, tool) / through the step on other tools
//  Tool       invalid    the tool         lots of the group with >= 1 step on the tool / none on it
//  ToolGroup  invalid    the worst tool   as Tool, for the worst tool (the group's lowest t)
struct CommonalityResult {
  Level level = Level::StepTool;
  StepTool pair;
  model::ToolGroupId group;                   // the tool's group (invalid at StepTool level without groups)
  std::uint32_t n_in = 0, n_out = 0;          // wafers in each group
  std::uint32_t units_in = 0, units_out = 0;  // test units (histories or wafers) in each group
  double yield_in = 0, yield_out = 0;         // mean wafer die yield of each group (over wafers)
  double difference = 0;                      // yield_in - yield_out
  // Estimated effect on a unit's die yield. StepTool: the difference of the unit means (in - out).
  // Tool: per step run on the tool instead of another tool of its group (regression coefficient).
  // ToolGroup: that of the worst tool.
  double effect = 0;
  // StepTool, Tool: Student's t with df1 degrees of freedom (df2 = 0). ToolGroup: F(df1, df2).
  double statistic = 0, df1 = 0, df2 = 0;
  double p = 1;              // uncorrected p-value
  double p_adjusted = 1;     // after the correction, over the tests of this level
  bool significant = false;  // p_adjusted < significance
};
using PairResult = CommonalityResult;  // the name before levels existed

// All tests of the requested levels, ranked by p_adjusted (ascending), then p, then level, then
// difference (most negative first), then (step, tool). With one level this is the order of p.
// Not tested: steps run on a single tool; tools whose group has no other tool in use (or whose dose
// does not vary within a route); groups with fewer than two tools tested.
std::vector<CommonalityResult> commonality(const YieldRecords& records,
                                           const CommonalityOptions& options = {});

// Tests per level in a result (index: Level), e.g. to report how many were corrected for.
std::array<std::size_t, 3> tests_per_level(std::span<const CommonalityResult> results);

// P(T <= t) for Student's t with df > 0 degrees of freedom (regularized incomplete beta).
double student_t_cdf(double t, double df);
// P(X > f) for X ~ F(df1, df2), df1, df2 > 0.
double f_upper_tail(double f, double df1, double df2);

}  // namespace fabtwin::yield
