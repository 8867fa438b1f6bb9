#include "fabtwin/yield_tracker/summary.hpp"

#include <cstdint>

namespace fabtwin::yield {

std::vector<ToolYield> tool_yields(const YieldTracker& tracker) {
  const auto lots = tracker.lots();
  const YieldRecords& rec = tracker.records();
  const std::size_t ntools = tracker.model().tools().size();
  // Per lot: its wafers' die-yield sum and count.
  std::vector<double> lot_sum(lots.size(), 0.0);
  std::vector<std::uint32_t> lot_n(lots.size(), 0);
  for (const auto& w : tracker.wafers()) {
    lot_sum[w.lot] += w.summary.die_yield();
    ++lot_n[w.lot];
  }
  std::vector<double> sum(ntools, 0.0);
  std::vector<std::uint64_t> wafers(ntools, 0), nlots(ntools, 0);
  std::vector<std::uint32_t> seen(ntools, UINT32_MAX);  // the last lot counted on each tool
  for (std::uint32_t l = 0; l < lots.size(); ++l) {
    if (!lot_n[l]) continue;
    const auto h = lots[l].history;
    for (auto i = rec.history_offset[h]; i < rec.history_offset[h + 1]; ++i) {
      const auto t = rec.pairs[i].tool.index();
      if (seen[t] == l) continue;
      seen[t] = l;
      ++nlots[t];
      wafers[t] += lot_n[l];
      sum[t] += lot_sum[l];
    }
  }
  std::vector<ToolYield> out;
  for (std::size_t t = 0; t < ntools; ++t)
    if (wafers[t])
      out.push_back(
          ToolYield{model::ToolId{t}, nlots[t], wafers[t], sum[t] / static_cast<double>(wafers[t])});
  return out;
}

YieldTotals yield_totals(const YieldTracker& tracker) {
  YieldTotals t;
  const auto lots = tracker.lots();
  std::vector<ProductYield> per(tracker.model().products().size());
  std::vector<char> lot_counted(lots.size(), 0);
  for (const auto& w : tracker.wafers()) {
    ProductYield& p = per[lots[w.lot].product.index()];
    if (!lot_counted[w.lot]) {
      lot_counted[w.lot] = 1;
      ++p.lots;
      ++t.lots;
    }
    ++p.wafers;
    p.dies += w.summary.dies;
    p.pass += w.summary.pass;
    ++t.wafers;
    t.dies += w.summary.dies;
    t.pass += w.summary.pass;
  }
  for (std::size_t p = 0; p < per.size(); ++p) {
    if (!per[p].wafers) continue;
    per[p].product = model::ProductId{p};
    t.products.push_back(per[p]);
  }
  return t;
}

SuspectLots suspect_lots(const YieldTracker& tracker, StepTool pair) {
  const auto lots = tracker.lots();
  const YieldRecords& rec = tracker.records();
  SuspectLots s;
  s.through.assign(lots.size(), 0);
  for (std::size_t l = 0; l < lots.size(); ++l) {
    const auto h = lots[l].history;
    for (auto i = rec.history_offset[h]; i < rec.history_offset[h + 1]; ++i)
      if (rec.pairs[i] == pair || (!pair.step.valid() && rec.pairs[i].tool == pair.tool)) {
        s.through[l] = 1;
        break;
      }
  }
  std::vector<std::uint64_t> per(tracker.model().products().size(), 0);
  for (const auto& w : tracker.wafers())
    if (s.through[w.lot]) ++per[lots[w.lot].product.index()];
  for (std::size_t p = 0; p < per.size(); ++p)
    if (per[p] > s.wafers) {
      s.wafers = per[p];
      s.product = model::ProductId{p};
    }
  return s;
}

std::optional<std::size_t> worst_wafer(const YieldTracker& tracker) {
  const auto wafers = tracker.wafers();
  if (wafers.empty()) return std::nullopt;
  std::size_t worst = 0;
  for (std::size_t w = 1; w < wafers.size(); ++w)
    if (wafers[w].summary.die_yield() < wafers[worst].summary.die_yield()) worst = w;
  return worst;
}

}  // namespace fabtwin::yield
