// Accounting: SEMI E10 time per tool state, queue integrals, warm-up reset, WIP samples.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

void Simulation::Impl::notify_tool(std::uint32_t t) {
  if (observers.empty()) return;
  const ToolRt& tool = tools[t];
  const ToolState st = tool.avail == Avail::Down ? ToolState::Down
                       : tool.avail == Avail::Pm ? ToolState::Pm
                       : tool.njobs              ? ToolState::Busy
                                                 : ToolState::Idle;
  for (Observer* o : observers) o->on_tool_state(ToolId{t}, st, SimTime{Duration{now}});
}

// ---- accounting -----------------------------------------------------------------------------

void Simulation::Impl::set_acc(std::uint32_t t, AccState s) {
  ToolRt& tool = tools[t];
  if (tool.acc_state == s) return;
  tool.acc[tool.acc_state] += now - tool.acc_since;
  tool.acc_state = s;
  tool.acc_since = now;
  notify_tool(t);
}

// Integrates the queue length up to now (call before the length changes).
void Simulation::Impl::queue_changed(std::uint32_t g) {
  GroupRt& gr = groups[g];
  gr.queue_area += static_cast<std::int64_t>(gr.queue.size()) * (now - gr.queue_since);
  gr.queue_since = now;
}

void Simulation::Impl::reset_stats() {
  for (std::uint32_t t = 0; t < tools.size(); ++t) {
    ToolRt& tool = tools[t];
    tool.acc.fill(0);
    tool.acc_since = now;
    tool.setup_ms = 0;
  }
  for (GroupRt& gr : groups) {
    gr.queue_area = 0;
    gr.queue_since = now;
    gr.wait_ms = 0;
    gr.lots_started = gr.wafers_started = 0;
  }
  cqt_violations = cqt_checks = 0;
  stats_since = now;
}

void Simulation::Impl::sample_wip() {
  WipSample w;
  w.at = SimTime{Duration{now}};
  w.lots = lots_alive;
  w.per_product.assign(c->nproducts, 0);
  for (const Lot& lot : lots)
    if (lot.queue_pos != kDone) ++w.per_product[lot.product];
  wip_samples.push_back(std::move(w));
}

}  // namespace fabtwin::des
