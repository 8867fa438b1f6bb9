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

// The E10 state follows from availability and the jobs the tool holds.
ToolState Simulation::Impl::derived_state(std::uint32_t t) const {
  const ToolRt& tool = tools[t];
  switch (tool.avail) {
    case Avail::Down:
      return ToolState::UnscheduledDown;
    case Avail::Pm:
      return ToolState::ScheduledDown;
    case Avail::Engineering:
      return ToolState::Engineering;
    case Avail::NonScheduled:
      return ToolState::NonScheduled;
    case Avail::Up:
      break;
  }
  if (tool.jobs.empty()) return ToolState::Standby;
  for (const Job& job : tool.jobs)
    if (now < job.setup_end) return ToolState::Setup;
  return ToolState::Productive;
}

void Simulation::Impl::sync_state(std::uint32_t t) {
  ToolRt& tool = tools[t];
  const ToolState s = derived_state(t);
  if (tool.acc_state == s) return;
  tool.acc[static_cast<int>(tool.acc_state)] += now - tool.acc_since;
  tool.acc_state = s;
  tool.acc_since = now;
  tool.state_since = now;
  touch_tool(t);
  for (Observer* o : observers) o->on_tool_state(ToolId{t}, s, at(now));
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

void Simulation::Impl::touch_tool(std::uint32_t t) {
  journal.tool[t] = ++journal.version;
  if (journal.logging) log_change(Journal::kTool, t);
}
void Simulation::Impl::touch_group(std::uint32_t g) {
  journal.group[g] = ++journal.version;
  if (journal.logging) log_change(Journal::kGroup, g);
}
void Simulation::Impl::touch_lot(std::uint32_t id) {
  journal.lot[id] = ++journal.version;
  if (journal.logging) log_change(Journal::kLot, id);
}

}  // namespace fabtwin::des
