// Accounting: SEMI E10 time per tool state, queue integrals, warm-up reset, WIP samples, and the
// change journal every change goes through.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

std::string_view to_string(ToolState s) {
  switch (s) {
    case ToolState::Productive:
      return "productive";
    case ToolState::Standby:
      return "standby";
    case ToolState::Setup:
      return "setup";
    case ToolState::Engineering:
      return "engineering";
    case ToolState::ScheduledDown:
      return "scheduled_down";
    case ToolState::UnscheduledDown:
      return "unscheduled_down";
    case ToolState::NonScheduled:
      return "non_scheduled";
  }
  return "?";
}

// The E10 state (derived_state, from availability and the jobs the tool holds) changed.
void Simulation::Impl::change_state(std::uint32_t t, ToolState s) {
  ToolRt& tool = tools[t];
  tool.acc[static_cast<int>(tool.acc_state)] += now - tool.acc_since;
  tool.acc_state = s;
  tool.acc_since = now;
  tool.state_since = now;
  touch_tool(t);
  for (Observer* o : observers) o->on_tool_state(ToolId{t}, s, at(now));
}

void Simulation::Impl::reset_stats() {
  for (std::uint32_t t = 0; t < tools.size(); ++t) {
    ToolRt& tool = tools[t];
    tool.acc.fill(0);
    tool.acc_since = now;
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

// ---- journal --------------------------------------------------------------------------------

void Simulation::Impl::log_change(Journal::Kind kind, std::uint32_t index) {
  Journal& j = journal;
  j.log.push_back({j.version, index, kind});
  if (j.log.size() > j.capacity) {
    // Keep the newer half: versions up to the last dropped entry now need a keyframe.
    const std::size_t drop = j.log.size() / 2;
    j.log_floor = j.log[drop - 1].version;
    j.log.erase(j.log.begin(), j.log.begin() + static_cast<std::ptrdiff_t>(drop));
  }
}

}  // namespace fabtwin::des
