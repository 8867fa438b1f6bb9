#include <algorithm>
#include <cmath>
#include <map>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

namespace {

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const std::size_t rank = static_cast<std::size_t>(std::ceil(q * sorted.size()));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

struct Acc {
  std::vector<double> ct;  // days
  std::size_t wafers = 0, on_time = 0;
  double tardy = 0, xf = 0;
};

ClassKpis finish(std::string name, ProductId product, std::uint32_t priority, Acc& a, double rpt_days) {
  ClassKpis k;
  k.name = std::move(name);
  k.product = product;
  k.priority = priority;
  k.completed_lots = a.ct.size();
  k.completed_wafers = a.wafers;
  k.raw_process_time_days = rpt_days;
  std::sort(a.ct.begin(), a.ct.end());
  auto& p = k.cycle_time_days;
  p.count = a.ct.size();
  if (!a.ct.empty()) {
    double sum = 0;
    for (double v : a.ct) sum += v;
    p.mean = sum / a.ct.size();
    p.p50 = percentile(a.ct, 0.50);
    p.p90 = percentile(a.ct, 0.90);
    p.p99 = percentile(a.ct, 0.99);
    p.min = a.ct.front();
    p.max = a.ct.back();
    k.x_factor = rpt_days > 0 ? p.mean / rpt_days : 0;
    k.on_time = static_cast<double>(a.on_time) / a.ct.size();
    k.tardiness_days = a.tardy / a.ct.size();
  }
  return k;
}

}  // namespace

Kpis Simulation::kpis() const {
  const Impl& s = *impl_;
  const auto& d = s.c->model.data();
  Kpis k;
  k.simulated_days = s.now / kMsPerDay;
  k.warmup_days = s.options.warmup.count() / kMsPerDay;
  k.events = s.events;
  k.lots_released = s.lots_released;
  k.lots_completed = s.completed.size();
  k.cqt_violations = s.cqt_violations;
  k.cqt_checks = s.cqt_checks;

  // Lots counted: released during the run (not initial WIP, unless asked) and after warm-up.
  const std::int64_t warm = s.options.warmup.count();
  std::vector<Acc> per_product(d.products.size());
  std::map<std::pair<std::uint32_t, std::uint32_t>, Acc> per_class;
  std::vector<Acc> per_order(d.orders.size());
  std::size_t counted = 0, counted_wafers = 0;
  for (const CompletedLot& cl : s.completed) {
    const std::int64_t rel = cl.released.time_since_epoch().count();
    if (cl.key.source == 0 && !s.options.count_initial_wip) continue;
    if (rel < warm) continue;
    const double ct = (cl.completed - cl.released).count() / kMsPerDay;
    const bool on_time = cl.completed <= cl.due;
    const double tardy = on_time ? 0.0 : (cl.completed - cl.due).count() / kMsPerDay;
    auto add = [&](Acc& a) {
      a.ct.push_back(ct);
      a.wafers += cl.wafers;
      a.on_time += on_time;
      a.tardy += tardy;
    };
    add(per_product[cl.product.index()]);
    add(per_class[{cl.product.value, cl.priority}]);
    if (cl.key.source > 0 && cl.key.source != LotKey::kExternal)
      add(per_order[cl.key.source - 1]);  // external lots: no order
    ++counted;
    counted_wafers += cl.wafers;
  }
  for (std::size_t p = 0; p < d.products.size(); ++p)
    k.products.push_back(
        finish(d.products[p].name, ProductId{p}, 0, per_product[p], s.c->rpt_ms[p] / kMsPerDay));
  for (auto& [key, acc] : per_class)
    k.classes.push_back(finish(d.products[key.first].name + "@" + std::to_string(key.second),
                               ProductId{key.first}, key.second, acc, s.c->rpt_ms[key.first] / kMsPerDay));
  for (std::size_t o = 0; o < d.orders.size(); ++o)
    k.orders.push_back(finish(d.orders[o].lot_prefix, d.orders[o].product, d.orders[o].priority, per_order[o],
                              s.c->rpt_ms[d.orders[o].product.index()] / kMsPerDay));
  const double span_days = (s.now - std::max<std::int64_t>(warm, 0)) / kMsPerDay;
  if (span_days > 0) {
    k.throughput_lots_per_day = counted / span_days;
    k.throughput_wafers_per_day = counted_wafers / span_days;
  }
  double wip_sum = 0;
  std::size_t wip_n = 0;
  for (const WipSample& w : s.wip_samples)
    if (w.at.time_since_epoch().count() >= warm) wip_sum += w.lots, ++wip_n;
  k.mean_wip_lots = wip_n ? wip_sum / wip_n : 0;

  // Tool groups: E10 shares of calendar time since the statistics (re)started.
  const double span_ms = static_cast<double>(s.now - s.stats_since);
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
    const ToolGroup& tg = d.tool_groups[g];
    const GroupRt& gr = s.groups[g];
    ToolGroupKpis t;
    t.name = tg.name;
    t.area = d.areas[tg.area.index()].name;
    t.tools = tg.tool_count;
    std::array<double, kToolStateCount> acc{};
    for (std::uint32_t i = tg.first_tool.value; i < tg.first_tool.value + tg.tool_count; ++i) {
      const ToolRt& tool = s.tools[i];
      for (int st = 0; st < kToolStateCount; ++st) acc[st] += static_cast<double>(tool.acc[st]);
      acc[static_cast<int>(tool.acc_state)] += static_cast<double>(s.now - tool.acc_since);
    }
    const double total = span_ms * tg.tool_count;
    if (total > 0) {
      auto share = [&](ToolState st) { return acc[static_cast<int>(st)] / total; };
      t.productive = share(ToolState::Productive);
      t.standby = share(ToolState::Standby);
      t.engineering = share(ToolState::Engineering);
      t.setup = share(ToolState::Setup);
      t.pm = share(ToolState::ScheduledDown);
      t.scheduled_down = t.setup + t.pm;
      t.unscheduled_down = share(ToolState::UnscheduledDown);
      t.non_scheduled = share(ToolState::NonScheduled);
      const double up = t.productive + t.setup + t.standby + t.engineering;
      t.utilisation_of_uptime = up > 0 ? (t.productive + t.setup) / up : 0;
      const double area = static_cast<double>(gr.queue_area) +
                          static_cast<double>(gr.queue.size()) * static_cast<double>(s.now - gr.queue_since);
      t.mean_queue_lots = span_ms > 0 ? area / span_ms : 0;
    }
    t.lots_started = gr.lots_started;
    t.wafers_started = gr.wafers_started;
    t.mean_queue_hours = gr.lots_started ? gr.wait_ms / 3.6e6 / gr.lots_started : 0;
    k.tool_groups.push_back(std::move(t));
  }
  return k;
}

}  // namespace fabtwin::des
