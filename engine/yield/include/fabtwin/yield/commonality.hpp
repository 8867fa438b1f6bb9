#pragma once
// Tool commonality analysis: for every (step, tool) pair, the die yield of the wafers that ran that
// step on that tool against the wafers that ran the same step on another tool; a t test (pooled or Welch),
// p-values corrected for the number of pairs tested (Holm or Bonferroni), ranked worst first.
// The test unit is the history (a lot: its wafers share every tool, so they are not independent
// evidence about a tool; its value is its mean wafer die yield), or optionally the wafer.
#include <cstdint>
#include <span>
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
  std::vector<std::uint32_t> wafer_history;      // per wafer: its history
  std::vector<double> wafer_yield;               // per wafer: die yield 0..1

  // Appends a history; returns its index.
  std::uint32_t add_history(std::span<const StepTool> steps);
  void add_wafer(std::uint32_t history, double die_yield);
  std::size_t histories() const { return history_offset.size() - 1; }
  std::size_t wafers() const { return wafer_yield.size(); }
};

enum class Correction { Holm, Bonferroni, None };
enum class Alternative {
  Lower,  // one-sided: the pair's wafers yield less (looking for bad tools; default)
  TwoSided,
};

enum class TestUnit {
  History,  // one value per history (lot): its mean wafer yield (default; valid with lot-to-lot effects)
  Wafer,    // one value per wafer (only when wafers of a history are independent given the tools)
};

enum class VarianceModel {
  Pooled,  // Student's t with the pooled variance: exact under H0 (no tool effect); robust for small groups
           // (default)
  Welch,   // Welch's t (unequal variances): unreliable when a group has only a few units
};

struct CommonalityOptions {
  double significance = 0.05;  // family-wise error rate for `significant`
  Correction correction = Correction::Holm;
  Alternative alternative = Alternative::Lower;
  TestUnit unit = TestUnit::History;
  VarianceModel variance = VarianceModel::Pooled;
  std::uint32_t min_units = 5;  // pairs with fewer units (lots) in either group are not tested
};

struct PairResult {
  StepTool pair;
  std::uint32_t n_in = 0, n_out = 0;          // wafers through the pair / through the step on other tools
  std::uint32_t units_in = 0, units_out = 0;  // test units (histories or wafers) in each group
  double yield_in = 0, yield_out = 0;         // mean wafer die yield of each group (over wafers)
  double difference = 0;                      // yield_in - yield_out
  double t = 0, df = 0;                       // t (on the test units) and its degrees of freedom
  double p = 1;                               // uncorrected p-value
  double p_adjusted = 1;                      // after the correction, over all pairs tested
  bool significant = false;                   // p_adjusted < significance
};

// All testable pairs, ranked by p (ascending), then by difference (most negative first), then by
// (step, tool). Steps run on a single tool are not tested (no comparison group).
std::vector<PairResult> commonality(const YieldRecords& records, const CommonalityOptions& options = {});

// P(T <= t) for Student's t with df > 0 degrees of freedom (regularized incomplete beta).
double student_t_cdf(double t, double df);

}  // namespace fabtwin::yield
