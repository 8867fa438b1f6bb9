#pragma once
// live::YieldQuery: queries over a store's yield records (schema 3; docs/yield.md "Yield records
// and the YieldService"). Every query selects lots in SQL through an index (yield_lots by lot, by
// (product, completed) or by completed; lot_steps by tool or (step, tool) for the tool and step
// filters) or, for summaries over whole days without a lot, tool or step filter, reads the per-day
// aggregates (yield_agg) in blocks of 256, 64, 16, 4 and 1 days. Reads go through connections of their
// own (WAL: a read never waits for the live twin's commits), a small pool of them; thread-safe.
// Errors name the request field ("filter.product: unknown product 'X'"); field "lot" / "wafer"
// mean not found.
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/yield/commonality.hpp"
#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::live {

// Names as the model spells them; unset: no filter. All set fields must hold.
struct YieldFilter {
  std::optional<std::string> product, lot, route, tool;
  std::optional<std::uint32_t> step;           // step number on the route (any route without route/product)
  std::optional<std::int64_t> from_ms, to_ms;  // completed in [from_ms, to_ms)
};

struct WaferInfo {
  std::string lot;
  std::uint32_t wafer = 0;  // 1..
  model::ProductId product;
  std::int64_t completed_ms = 0;
  std::uint32_t dies = 0, pass = 0;
  std::array<std::uint32_t, yield::kBinCount> bins{};
};

struct YieldSums {
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;
  double sum_y = 0, sum_y2 = 0;  // of the wafers' die yields, and of their squares
  std::array<std::uint64_t, yield::kBinCount> bins{};
  double die_yield() const { return dies ? static_cast<double>(pass) / static_cast<double>(dies) : 0.0; }
  double mean_wafer_yield() const { return wafers ? sum_y / static_cast<double>(wafers) : 0.0; }
  double wafer_yield_sd() const;  // population standard deviation of the wafers' die yields
  YieldSums& operator+=(const YieldSums& o);
};

enum class GroupBy { Product, Day, Tool, Step };
enum class CommonalityLevel { StepTool, Tool, ToolGroup };

struct SummaryRow {
  model::ProductId product;  // Product, Step (the step's product); else invalid
  std::int64_t day = 0;      // Day
  model::ToolId tool;        // Tool
  model::StepId step;        // Step (global step: its route and number)
  YieldSums sums;
};

struct Summary {
  std::vector<SummaryRow> rows;  // ordered by product name, day, tool name, (route name, step number)
  bool pre_aggregated = false;
};

struct WaferMapResult {
  WaferInfo wafer;
  std::vector<std::uint8_t> bins;  // per die, in the product's grid order
};

struct StackedMapResult {
  model::ProductId product;
  std::uint64_t wafers = 0;
  std::vector<double> fail_rate;  // per die
};

struct CommonalityQuery {
  std::vector<CommonalityLevel> levels;  // empty: every level
  double significance = 0.05;
  bool bonferroni = false;
};

struct CommonalityRowOut {
  CommonalityLevel level = CommonalityLevel::StepTool;
  model::StepId step;  // step_tool only
  model::ToolId tool;  // step_tool, tool (tool_group: the worst tool, if any)
  model::ToolGroupId group;
  std::uint32_t lots = 0, lots_in = 0;
  double yield_in = 0, yield_out = 0, effect = 0, statistic = 0, df1 = 0, df2 = 0, p = 1, p_adjusted = 1;
  bool significant = false;
};

struct CommonalityOut {
  std::vector<CommonalityRowOut> rows;  // ranked as yield::commonality ranks them
  std::uint64_t lots = 0, wafers = 0;
  std::array<std::uint32_t, 3> tests{};  // per level: step_tool, tool, tool_group
};

// The filter's names checked against the model (what every query checks first, without a store):
// an unknown product, route or tool, a step not on the filter's routes, to_ms not after from_ms.
// Errors name the request field ("filter.product: unknown product 'X'").
model::Result<bool> check_filter(const model::Model& model, const YieldFilter& filter);

class YieldQuery {
 public:
  // Reads the store at `db_path` (it must exist, schema 3). grids: the die grid per product (by
  // ProductId index); empty: wafer maps and stacked maps are refused.
  static model::Result<std::unique_ptr<YieldQuery>> open(const model::Model& model,
                                                         const std::string& db_path,
                                                         std::vector<yield::DieGrid> grids);
  ~YieldQuery();

  // Calls f for every wafer matching the filter in completion order; f returns false to stop.
  // Returns the number of wafers passed to f.
  model::Result<std::uint64_t> wafers(const YieldFilter& filter,
                                      const std::function<bool(const WaferInfo&)>& f) const;
  model::Result<Summary> summary(const YieldFilter& filter, GroupBy by) const;
  // Error field "lot" (no such lot completed) or "wafer" (the lot has no such wafer): not found.
  model::Result<WaferMapResult> wafer_map(const std::string& lot, std::uint32_t wafer) const;
  model::Result<StackedMapResult> stacked_map(const YieldFilter& filter) const;
  model::Result<CommonalityOut> commonality(const YieldFilter& filter, const CommonalityQuery& q) const;

  const model::Model& model() const { return *model_; }
  const std::vector<yield::DieGrid>& grids() const { return grids_; }

  struct Impl;

 private:
  YieldQuery(const model::Model& model, std::unique_ptr<Impl> impl, std::vector<yield::DieGrid> grids);
  const model::Model* model_;
  std::unique_ptr<Impl> impl_;
  std::vector<yield::DieGrid> grids_;
};

}  // namespace fabtwin::live
