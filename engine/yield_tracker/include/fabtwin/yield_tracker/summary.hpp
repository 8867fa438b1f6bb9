#pragma once
// What a yield run reports, computed from a YieldTracker after its last flush(): per tool the lots
// and wafers through it and their mean die yield; totals per product; the lots behind a suspect
// (step, tool) pair; the worst wafer. Data only: writing files and pictures is the caller's.
#include <cstdint>
#include <optional>
#include <vector>

#include "fabtwin/model/ids.hpp"
#include "fabtwin/yield/commonality.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"

namespace fabtwin::yield {

struct ToolYield {
  model::ToolId tool;
  std::uint64_t lots = 0;     // completed lots with wafers that ran at least one step on the tool
  std::uint64_t wafers = 0;   // their wafers
  double mean_die_yield = 0;  // mean wafer die yield over those wafers (0..1)
};

// One entry per tool some completed lot ran on, in tool order (a lot counts once per tool however
// many of its steps ran there). Lots not yet flushed (no wafers) are left out.
std::vector<ToolYield> tool_yields(const YieldTracker& tracker);

struct ProductYield {
  model::ProductId product;
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;
  double die_yield() const { return dies ? static_cast<double>(pass) / static_cast<double>(dies) : 0.0; }
};

struct YieldTotals {
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;  // lots with wafers
  std::vector<ProductYield> products;                      // products with wafers, in product order
  double die_yield() const { return dies ? static_cast<double>(pass) / static_cast<double>(dies) : 0.0; }
};

YieldTotals yield_totals(const YieldTracker& tracker);

// The lots and wafers behind a (step, tool) pair, e.g. the top of commonality(); with an invalid step
// (a Tool or ToolGroup result), behind any step on the tool.
struct SuspectLots {
  model::ProductId product;  // the product whose wafers went through the pair (most wafers; ties: lowest id);
                             // invalid when no wafer did
  std::vector<char> through;  // per lot of tracker.lots(): 1 when its history holds the pair
  std::uint64_t wafers = 0;   // wafers of `product` through the pair
};

SuspectLots suspect_lots(const YieldTracker& tracker, StepTool pair);

// The wafer (index into tracker.wafers()) with the lowest die yield, the first of equals; none
// without wafers.
std::optional<std::size_t> worst_wafer(const YieldTracker& tracker);

}  // namespace fabtwin::yield
