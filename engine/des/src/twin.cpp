// The twin: MES events applied to the state (reality wins), and the switch from follow mode to
// autonomous (a forecast).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::LotReleased:
      return "lot_released";
    case EventKind::LotQueued:
      return "lot_queued";
    case EventKind::TrackIn:
      return "track_in";
    case EventKind::TrackOut:
      return "track_out";
    case EventKind::Hold:
      return "hold";
    case EventKind::HoldRelease:
      return "hold_release";
    case EventKind::Scrap:
      return "scrap";
    case EventKind::Rework:
      return "rework";
    case EventKind::ToolState:
      return "tool_state";
    case EventKind::PmStart:
      return "pm_start";
    case EventKind::PmEnd:
      return "pm_end";
    case EventKind::SetupChange:
      return "setup_change";
  }
  return "?";
}

std::optional<EventKind> parse_event_kind(std::string_view s) {
  for (int k = 0; k < kEventKindCount; ++k)
    if (to_string(static_cast<EventKind>(k)) == s) return static_cast<EventKind>(k);
  return std::nullopt;
}

std::string_view to_string(RefuseReason r) {
  switch (r) {
    case RefuseReason::Malformed:
      return "malformed";
    case RefuseReason::UnknownLot:
      return "unknown_lot";
    case RefuseReason::UnknownTool:
      return "unknown_tool";
    case RefuseReason::UnknownStep:
      return "unknown_step";
    case RefuseReason::UnknownProduct:
      return "unknown_product";
    case RefuseReason::UnknownSetup:
      return "unknown_setup";
    case RefuseReason::UnknownCalendar:
      return "unknown_calendar";
    case RefuseReason::LotExists:
      return "lot_exists";
    case RefuseReason::LotOnHold:
      return "lot_on_hold";
    case RefuseReason::LotNotHeld:
      return "lot_not_held";
    case RefuseReason::LotOnTool:
      return "lot_on_tool";
    case RefuseReason::NotOnTool:
      return "not_on_tool";
    case RefuseReason::WrongToolGroup:
      return "wrong_tool_group";
    case RefuseReason::ToolDown:
      return "tool_down";
    case RefuseReason::ToolFull:
      return "tool_full";
    case RefuseReason::NotDown:
      return "not_down";
  }
  return "?";
}

namespace {

bool is_up_state(ToolState s) { return s == ToolState::Productive || s == ToolState::Standby; }

Avail avail_of(ToolState s) {
  switch (s) {
    case ToolState::Engineering:
      return Avail::Engineering;
    case ToolState::ScheduledDown:
      return Avail::Pm;
    case ToolState::UnscheduledDown:
      return Avail::Down;
    case ToolState::NonScheduled:
      return Avail::NonScheduled;
    default:
      return Avail::Up;
  }
}

std::string quote(std::string_view s) { return "'" + std::string(s) + "'"; }

}  // namespace

std::uint32_t Simulation::Impl::step_number(std::uint32_t id, std::uint32_t number) const {
  const auto route = c->model.product(ProductId{lots[id].product}).route.index();
  const auto& v = c->step_of_number[route];
  return number < v.size() ? v[number] : kNone;
}

// The PM spec of tool t whose calendar is named `name` (the last, if attached twice); kNone: none.
std::uint32_t Simulation::Impl::pm_spec_named(std::uint32_t t, std::string_view name) const {
  std::uint32_t found = kNone;
  for (std::uint32_t p = c->tool_pm_first[t]; p < c->tool_pm_first[t + 1]; ++p)
    if (c->model.data().pm_calendars[c->pms[p].calendar].name == name) found = p;
  return found;
}

// Checks an event against the state; nothing changes.
std::optional<Refusal> Simulation::Impl::check(const des::Event& e) const {
  auto refuse = [](RefuseReason r, std::string field, std::string msg) {
    return Refusal{r, std::move(field), std::move(msg)};
  };
  const auto& d = c->model.data();
  auto find_lot = [&](std::size_t i) -> std::uint32_t {
    const auto it = lot_by_name.find(e.lots[i]);
    return it == lot_by_name.end() ? kNone : it->second;
  };
  auto find_tool = [&]() -> std::uint32_t {
    const auto it = c->tool_by_name.find(e.tool);
    return it == c->tool_by_name.end() ? kNone : it->second;
  };
  if (e.time.time_since_epoch().count() < 0)
    return refuse(RefuseReason::Malformed, "time", "before the model's epoch");
  const bool lot_kind = e.kind == EventKind::LotReleased || e.kind == EventKind::LotQueued ||
                        e.kind == EventKind::TrackIn || e.kind == EventKind::TrackOut ||
                        e.kind == EventKind::Hold || e.kind == EventKind::HoldRelease ||
                        e.kind == EventKind::Scrap || e.kind == EventKind::Rework;
  if (lot_kind) {
    if (e.lots.empty()) return refuse(RefuseReason::Malformed, "lots", "no lot named");
    if (e.lots.size() > 1 && e.kind != EventKind::TrackIn)
      return refuse(RefuseReason::Malformed, "lots",
                    std::string(to_string(e.kind)) + " names one lot, not " + std::to_string(e.lots.size()));
  }
  std::uint32_t lot = kNone;
  if (lot_kind && e.kind != EventKind::LotReleased) {
    for (std::size_t i = 0; i < e.lots.size(); ++i) {
      const std::uint32_t id = find_lot(i);
      if (id == kNone)
        return refuse(RefuseReason::UnknownLot, "lots[" + std::to_string(i) + "]",
                      "no lot " + quote(e.lots[i]) + " in the fab");
      for (std::size_t j = 0; j < i; ++j)
        if (e.lots[j] == e.lots[i])
          return refuse(RefuseReason::Malformed, "lots[" + std::to_string(i) + "]",
                        "lot " + quote(e.lots[i]) + " named twice");
    }
    lot = find_lot(0);
  }
  std::uint32_t tool = kNone;
  const bool tool_kind = e.kind == EventKind::TrackIn || e.kind == EventKind::TrackOut ||
                         e.kind == EventKind::ToolState || e.kind == EventKind::PmStart ||
                         e.kind == EventKind::PmEnd || e.kind == EventKind::SetupChange;
  if (tool_kind) {
    tool = find_tool();
    if (tool == kNone)
      return refuse(RefuseReason::UnknownTool, "tool", "no tool " + quote(e.tool) + " in the model");
  }
  // A PM calendar named by the event must be attached to the tool.

  switch (e.kind) {
    case EventKind::LotReleased: {
      if (e.lots[0].empty()) return refuse(RefuseReason::Malformed, "lots[0]", "empty lot name");
      if (lot_by_name.count(e.lots[0]))
        return refuse(RefuseReason::LotExists, "lots[0]",
                      "lot " + quote(e.lots[0]) + " is already in the fab");
      if (!c->model.find_product(e.product))
        return refuse(RefuseReason::UnknownProduct, "product",
                      "no product " + quote(e.product) + " in the model");
      if (e.wafers == 0) return refuse(RefuseReason::Malformed, "wafers", "a lot needs at least one wafer");
      return std::nullopt;
    }
    case EventKind::LotQueued:
    case EventKind::Rework: {
      if (e.step == 0) return refuse(RefuseReason::Malformed, "step", "no step given");
      if (step_number(lot, e.step) == kNone)
        return refuse(RefuseReason::UnknownStep, "step",
                      "step " + std::to_string(e.step) + " is not on the route of lot " + quote(e.lots[0]));
      if (lots[lot].held)
        return refuse(RefuseReason::LotOnHold, "lots[0]", "lot " + quote(e.lots[0]) + " is on hold");
      if (e.kind == EventKind::Rework && lots[lot].place == LotPlace::OnTool)
        return refuse(RefuseReason::LotOnTool, "lots[0]",
                      "lot " + quote(e.lots[0]) + " is processing on " + d.tools[lots[lot].tool].name);
      return std::nullopt;
    }
    case EventKind::TrackIn: {
      const ToolRt& tr = tools[tool];
      std::uint32_t step = kNone;
      for (std::size_t i = 0; i < e.lots.size(); ++i) {
        const std::uint32_t id = find_lot(i);
        const std::string field = "lots[" + std::to_string(i) + "]";
        if (lots[id].held)
          return refuse(RefuseReason::LotOnHold, field, "lot " + quote(e.lots[i]) + " is on hold");
        if (lots[id].tool == tool)
          return refuse(RefuseReason::LotOnTool, field,
                        "lot " + quote(e.lots[i]) + " is already on " + e.tool);
        if (!e.step && lots[id].place == LotPlace::InTransport && lots[id].next_step == kNone)
          return refuse(RefuseReason::Malformed, "step",
                        "lot " + quote(e.lots[i]) + " is between steps: name the step it starts");
        const std::uint32_t s = e.step ? step_number(id, e.step) : lots[id].step;
        if (s == kNone)
          return refuse(RefuseReason::UnknownStep, "step",
                        "step " + std::to_string(e.step) + " is not on the route of lot " + quote(e.lots[i]));
        if (step != kNone && c->steps[s].group != c->steps[step].group)
          return refuse(RefuseReason::WrongToolGroup, field,
                        "the lots of a batch must be at steps of one tool group");
        if (step == kNone) step = s;
      }
      if (c->steps[step].group != tr.group)
        return refuse(RefuseReason::WrongToolGroup, "tool",
                      "tool " + quote(e.tool) + " does not serve step " +
                          std::to_string(d.steps[step].number) + " (tool group " +
                          d.tool_groups[c->steps[step].group].name + ")");
      if (tr.avail != Avail::Up)
        return refuse(RefuseReason::ToolDown, "tool",
                      "tool " + quote(e.tool) + " is " + std::string(to_string(derived_state(tool))));
      if (tr.jobs.size() >= c->groups[tr.group].capacity)
        return refuse(RefuseReason::ToolFull, "tool",
                      "tool " + quote(e.tool) + " has all its " +
                          std::to_string(c->groups[tr.group].capacity) + " slots taken");
      return std::nullopt;
    }
    case EventKind::TrackOut: {
      if (lots[lot].tool != tool)
        return refuse(RefuseReason::NotOnTool, "lots[0]",
                      "lot " + quote(e.lots[0]) + " is not on tool " + quote(e.tool));
      if (e.step && step_number(lot, e.step) != lots[lot].step)
        return refuse(RefuseReason::UnknownStep, "step",
                      "lot " + quote(e.lots[0]) + " is processing step " +
                          std::to_string(d.steps[lots[lot].step].number) + ", not " + std::to_string(e.step));
      if (e.next_step && step_number(lot, e.next_step) == kNone)
        return refuse(
            RefuseReason::UnknownStep, "next_step",
            "step " + std::to_string(e.next_step) + " is not on the route of lot " + quote(e.lots[0]));
      if (e.next_step && e.route_done)
        return refuse(RefuseReason::Malformed, "next_step", "a next step and route_done together");
      return std::nullopt;
    }
    case EventKind::Hold:
      if (lots[lot].held)
        return refuse(RefuseReason::LotOnHold, "lots[0]", "lot " + quote(e.lots[0]) + " is already on hold");
      return std::nullopt;
    case EventKind::HoldRelease:
      if (!lots[lot].held)
        return refuse(RefuseReason::LotNotHeld, "lots[0]", "lot " + quote(e.lots[0]) + " is not on hold");
      return std::nullopt;
    case EventKind::Scrap:
      if (e.wafers == 0 || e.wafers > lots[lot].wafers)
        return refuse(RefuseReason::Malformed, "wafers",
                      "scrap of " + std::to_string(e.wafers) + " wafers from lot " + quote(e.lots[0]) +
                          " of " + std::to_string(lots[lot].wafers));
      return std::nullopt;
    case EventKind::ToolState:
      if (e.state == ToolState::Setup)
        return refuse(RefuseReason::Malformed, "state", "setup is reported by track-in or setup_change");
      if (e.until && *e.until < e.time)
        return refuse(RefuseReason::Malformed, "until", "before the event's time");
      return std::nullopt;
    case EventKind::PmStart:
    case EventKind::PmEnd:
      if (!e.calendar.empty() && pm_spec_named(tool, e.calendar) == kNone)
        return refuse(RefuseReason::UnknownCalendar, "calendar",
                      "no PM calendar " + quote(e.calendar) + " on tool " + quote(e.tool));
      if (e.kind == EventKind::PmEnd && tools[tool].avail != Avail::Pm)
        return refuse(RefuseReason::NotDown, "tool",
                      "tool " + quote(e.tool) + " is not in a PM (it is " +
                          std::string(to_string(derived_state(tool))) + ")");
      if (e.until && *e.until < e.time)
        return refuse(RefuseReason::Malformed, "until", "before the event's time");
      return std::nullopt;
    case EventKind::SetupChange:
      if (!c->model.find_setup(e.setup))
        return refuse(RefuseReason::UnknownSetup, "setup", "no setup " + quote(e.setup) + " in the model");
      return std::nullopt;
  }
  return refuse(RefuseReason::Malformed, "kind", "unknown event kind");
}

// Takes a lot out of wherever it is (its queue, its job on a tool, its way between steps).
void Simulation::Impl::leave_place(std::uint32_t id) {
  Lot& lot = lots[id];
  ++lot.gen;  // a pending arrival is cancelled
  lot.waiting = false;
  if (lot.queue_pos != kNone) unqueue(id);
  if (lot.tool != kNone) {
    const std::uint32_t t = lot.tool;
    ToolRt& tool = tools[t];
    for (std::size_t j = 0; j < tool.jobs.size(); ++j) {
      auto& ids = tool.jobs[j].lots;
      const auto it = std::find(ids.begin(), ids.end(), id);
      if (it == ids.end()) continue;
      ids.erase(it);
      tool.jobs[j].wafers -= std::min(tool.jobs[j].wafers, lot.wafers);
      if (ids.empty()) end_job(t, j);
      touch_tool(t);
      break;
    }
    lot.tool = kNone;
  }
}

void Simulation::Impl::mutate(const des::Event& e) {
  auto lot_of = [&](std::size_t i) { return lot_by_name.at(e.lots[i]); };
  const std::uint32_t tool = e.tool.empty() ? kNone : [&] {
    const auto it = c->tool_by_name.find(e.tool);
    return it == c->tool_by_name.end() ? kNone : it->second;
  }();
  switch (e.kind) {
    case EventKind::LotReleased: {
      const ProductId product = *c->model.find_product(e.product);
      const Route& route = c->model.route_of(product);
      const std::uint32_t id = new_lot(LotKey{LotKey::kExternal, external_lots++}, e.lots[0]);
      external_names.push_back(e.lots[0]);
      Lot& lot = lots[id];
      lot.product = product.value;
      lot.priority = e.priority;
      lot.wafers = e.wafers;
      lot.released = now;
      lot.due =
          e.due ? e.due->time_since_epoch().count() : now + std::llround(1.5 * c->rpt_ms[product.index()]);
      lot.step = route.first_step.value;
      ++lots_released;
      start_lot(id, route.first_step.value);
      break;
    }
    case EventKind::LotQueued:
    case EventKind::Rework: {
      const std::uint32_t id = lot_of(0);
      Lot& lot = lots[id];
      const std::uint32_t step = step_number(id, e.step);
      if (e.kind == EventKind::LotQueued && lot.queue_pos != kNone && lot.step == step)
        break;  // already there
      const std::uint32_t from_tool = lot.tool;
      leave_place(id);
      if (e.kind == EventKind::Rework) ++lot.pass, ++lot.reworks;
      lot.step = step;
      lot.next_step = kNone;
      if (!c->watch_groups.empty()) set_way_all(id);
      enqueue(id);
      if (from_tool != kNone) after_unavailable(from_tool);
      break;
    }
    case EventKind::TrackIn: {
      batch.clear();
      std::vector<std::uint32_t> freed;
      for (std::size_t i = 0; i < e.lots.size(); ++i) {
        const std::uint32_t id = lot_of(i);
        Lot& lot = lots[id];
        const std::uint32_t step = e.step ? step_number(id, e.step) : lot.step;
        if (lot.tool != kNone) freed.push_back(lot.tool);
        if (lot.queue_pos == kNone || lot.step != step) {
          leave_place(id);
          lot.step = step;
          lot.next_step = kNone;
          if (!c->watch_groups.empty()) set_way_all(id);
        }
        batch.push_back(id);
      }
      const std::vector<std::uint32_t> ids = batch;  // start_job may reuse the scratch
      refresh_available(tool);
      start_job(tool, ids.data(), static_cast<std::uint32_t>(ids.size()));
      for (const std::uint32_t t : freed) after_unavailable(t);
      break;
    }
    case EventKind::TrackOut: {
      const std::uint32_t id = lot_of(0);
      Lot& lot = lots[id];
      ToolRt& tr = tools[tool];
      Job job;
      for (std::size_t j = 0; j < tr.jobs.size(); ++j) {
        auto& ids = tr.jobs[j].lots;
        const auto it = std::find(ids.begin(), ids.end(), id);
        if (it == ids.end()) continue;
        job = tr.jobs[j];
        ids.erase(it);
        tr.jobs[j].wafers -= std::min(tr.jobs[j].wafers, lot.wafers);
        if (ids.empty()) end_job(tool, j);
        touch_tool(tool);
        break;
      }
      const std::uint32_t end = c->steps[lot.step].route_end;
      if (e.route_done || (!e.next_step && follow() && lot.step + 1 == end))
        lot.next_step = end;
      else if (e.next_step)
        lot.next_step = step_number(id, e.next_step);
      finish_step(id, tool, job.start);
      after_unavailable(tool);
      break;
    }
    case EventKind::Hold: {
      const std::uint32_t id = lot_of(0);
      Lot& lot = lots[id];
      lot.held = true;
      ++lots_held;
      if (lot.queue_pos != kNone) {
        ++groups[c->steps[lot.step].group].held;
        touch_group(c->steps[lot.step].group);
      }
      touch_lot(id);
      for (Observer* o : observers) o->on_hold(ref(id), true, at(now));
      break;
    }
    case EventKind::HoldRelease: {
      const std::uint32_t id = lot_of(0);
      Lot& lot = lots[id];
      lot.held = false;
      --lots_held;
      touch_lot(id);
      for (Observer* o : observers) o->on_hold(ref(id), false, at(now));
      if (lot.queue_pos != kNone) {
        --groups[c->steps[lot.step].group].held;
        touch_group(c->steps[lot.step].group);
        wake_for(id);
      } else if (lot.waiting) {
        // Done with a step while held (autonomous): it moves on now.
        lot.waiting = false;
        const std::uint32_t next = lot.next_step;
        if (next >= c->steps[lot.step].route_end)
          complete(id);
        else
          move_to(id, next);
      }
      break;
    }
    case EventKind::Scrap: {
      const std::uint32_t id = lot_of(0);
      Lot& lot = lots[id];
      lot.wafers -= e.wafers;
      for (Observer* o : observers) o->on_scrap(ref(id), e.wafers, at(now));
      if (lot.wafers == 0) {
        const std::uint32_t from_tool = lot.tool;
        leave_place(id);
        ++lots_scrapped;
        remove_lot(id);
        if (from_tool != kNone) after_unavailable(from_tool);
        break;
      }
      if (lot.queue_pos != kNone) {
        groups[c->steps[lot.step].group].queue.at(lot.queue_pos).wafers = lot.wafers;
        touch_group(c->steps[lot.step].group);
      }
      if (lot.tool != kNone)
        for (Job& job : tools[lot.tool].jobs)
          if (std::find(job.lots.begin(), job.lots.end(), id) != job.lots.end()) job.wafers -= e.wafers;
      touch_lot(id);
      break;
    }
    case EventKind::ToolState:
    case EventKind::PmStart: {
      ToolRt& tr = tools[tool];
      const ToolState target = e.kind == EventKind::PmStart ? ToolState::ScheduledDown : e.state;
      const std::int64_t until = e.until ? std::max(now, e.until->time_since_epoch().count()) : -1;
      if (is_up_state(target)) {
        if (tr.avail == Avail::Up) break;  // already up
        const std::uint32_t dcal = tr.down_cal;
        go_up(tool);
        if (dcal != kNone && !follow()) next_failure(tool, dcal);
        after_unavailable(tool);
        break;
      }
      std::uint32_t p = kNone;
      if (e.kind == EventKind::PmStart) {
        if (!e.calendar.empty()) {
          p = pm_spec_named(tool, e.calendar);
        } else if (c->tool_pm_first[tool] < c->tool_pm_first[tool + 1]) {
          p = c->tool_pm_first[tool];
        }
        if (p != kNone) tr.pm_pending &= ~(1u << (p - c->tool_pm_first[tool]));
      }
      if (tr.avail == Avail::Up) {
        go_down(tool, avail_of(target), -1);
      } else {
        // Already down: the down goes on under the reported state; what was scheduled to end it is cancelled.
        tr.avail = avail_of(target);
        ++tr.avail_gen;
        sync_state(tool);
        touch_tool(tool);
      }
      tr.avail_reported = true;
      tr.avail_until = until;
      tr.pm_cal = p;  // down_cal is kept: a failure reported over goes on failing after this down
      // Jobs are suspended for the whole down: to its reported end, else until the tool is reported
      // up (no job ends meanwhile; go_up schedules them again).
      if (until >= 0) {
        const std::int64_t total = until - tr.avail_since;
        if (total != tr.shifted_ms) shift_jobs(tool, total - tr.shifted_ms, tr.avail_since);
        tr.shifted_ms = total;
      } else if (!follow()) {
        for (Job& job : tr.jobs) job.gen = ++tr.gen;
      }
      if (until >= 0 && !follow())
        push(until, target == ToolState::ScheduledDown ? Ev::PmDone : Ev::RepairDone, tool, tr.avail_gen);
      break;
    }
    case EventKind::PmEnd: {
      ToolRt& tr = tools[tool];
      std::uint32_t p = tr.pm_cal;
      if (!e.calendar.empty()) p = pm_spec_named(tool, e.calendar);
      if (p != kNone) {
        pm_reset(tool, p);
        tr.pm_pending &=
            ~(1u << (p - c->tool_pm_first[tool]));  // a PM of this calendar due meanwhile was this one
        if (!c->pms[p].by_pieces)
          schedule_pm_due(tool, p,
                          std::max<std::int64_t>(now, tr.avail_since + std::llround(c->pms[p].interval)));
      }
      const std::uint32_t dcal = tr.down_cal;
      go_up(tool);
      if (dcal != kNone && !follow()) next_failure(tool, dcal);
      after_unavailable(tool);
      break;
    }
    case EventKind::SetupChange:
      set_setup(tool, c->model.find_setup(e.setup)->value);
      break;
  }
}

ApplyResult Simulation::Impl::apply(const des::Event& e) {
  ApplyResult r;
  auto refused = [&](Refusal f) {
    ++counts.refused;
    ++counts.refused_by_reason[static_cast<int>(f.reason)];
    ++journal.version;
    r.refused = std::move(f);
    return r;
  };
  // A refused event changes nothing, the clock included. In autonomous mode an event stamped
  // ahead is about the state at its time: one that does not fit now is checked again on a
  // scratch copy run to that time, and only applied (here, after running to it) if it fits then.
  const std::int64_t t = e.time.time_since_epoch().count();
  if (auto f = check(e)) {
    if (follow() || t <= now) return refused(std::move(*f));
    Impl ahead(*this);
    ahead.observers.clear();
    ahead.run_until(t);
    if (auto g = ahead.check(e)) return refused(std::move(*g));
  }
  if (t > now) {
    run_until(t);
    if (!follow())
      if (auto f = check(e)) return refused(std::move(*f));  // (cannot happen: the copy agreed)
  } else if (t < now) {
    r.late = true;
    ++counts.late;
  }
  mutate(e);
  ++counts.applied;
  ++journal.version;
  return r;
}

// Follow -> autonomous: whatever only events would have ended gets a simulated end.
void Simulation::Impl::to_autonomous() {
  mode = Mode::Autonomous;
  // Follow mode kept a shadow failure clock per down calendar, drawn by the twin: a guess, not the
  // fab's (the fab's clocks are not observed). They are drawn anew from now with this simulation's
  // seed (so forecast replications, forked with seeds of their own, fail at different times; time
  // to failure is exponential in SMT2020, so a fresh draw from now has the right distribution).
  // A tool down on a calendar gets its next failure when its repair ends, as in autonomous runs.
  {
    std::vector<Pending> keep;
    keep.reserve(heap.size());
    heap.for_each([&](const Pending& e) {
      if (e.type() != Ev::Fail) keep.push_back(e);
    });
    std::sort(keep.begin(), keep.end(), [](const Pending& a, const Pending& b) { return a.before(b); });
    heap.reset(now);
    for (const Pending& e : keep) heap.push(e);
    for (std::uint32_t t = 0; t < tools.size(); ++t)
      for (std::uint32_t dd = c->tool_down_first[t]; dd < c->tool_down_first[t + 1]; ++dd)
        if (!(tools[t].avail == Avail::Down && tools[t].down_cal == dd)) next_failure(t, dd);
  }
  for (std::uint32_t t = 0; t < tools.size(); ++t) {
    ToolRt& tool = tools[t];
    const GroupInfo& g = c->groups[tool.group];
    if (tool.avail != Avail::Up) {
      if (tool.avail_until < 0) {
        // A down without a known end: its length drawn from the tool's calendars, given that it
        // has lasted since avail_since (a PM's uniform duration has memory: drawing afresh from now
        // would add the time already spent). Rejection sampling: try k uses stream kind + (k << 16);
        // try 0 is the draw an autonomous run would make. A down longer than every try ends now.
        const std::int64_t elapsed = now - tool.avail_since;
        auto conditioned = [&](auto sample) -> std::int64_t {
          for (std::uint32_t k = 0; k < 32; ++k) {
            const std::int64_t d = sample(k);
            if (d > elapsed) return d;
          }
          return elapsed;
        };
        std::int64_t dur = -1;
        if (tool.avail == Avail::Pm) {
          const std::uint32_t p = tool.pm_cal != kNone                            ? tool.pm_cal
                                  : c->tool_pm_first[t] < c->tool_pm_first[t + 1] ? c->tool_pm_first[t]
                                                                                  : kNone;
          if (p != kNone)
            dur = conditioned([&](std::uint32_t k) {
              const auto u = draw(kRngPmDuration + (k << 16), c->pms[p].key, pms[p].count);
              return c->pms[p].duration.sample_ms(u.u1, u.u2).count();
            });
        } else if (c->tool_down_first[t] < c->tool_down_first[t + 1]) {
          const std::uint32_t dd = tool.down_cal != kNone ? tool.down_cal : c->tool_down_first[t];
          dur = conditioned([&](std::uint32_t k) {
            const auto u = draw(kRngRepair + (k << 16), c->downs[dd].key, downs[dd].count);
            return c->downs[dd].ttr.sample_ms(u.u1, u.u2).count();
          });
        }
        if (dur >= 0) tool.avail_until = std::max(now + 1, tool.avail_since + dur);
      }
      if (tool.avail_until >= 0) {
        push(std::max(now, tool.avail_until), tool.avail == Avail::Pm ? Ev::PmDone : Ev::RepairDone, t,
             tool.avail_gen);
        // Jobs are suspended for the whole down: their ends move now (and are scheduled).
        const std::int64_t total = tool.avail_until - tool.avail_since;
        shift_jobs(t, total - tool.shifted_ms, tool.avail_since);
        tool.shifted_ms = total;
        touch_tool(t);  // its down's end and its jobs' ends show in the view
      }
    } else {
      for (const Job& job : tool.jobs) push(std::max(now, job.end), Ev::JobDone, t, job.gen);
    }
    if (!tool.jobs.empty() && tool.jobs.size() < g.capacity)
      push(std::max(now, tool.entry_free_at - g.load_ms), Ev::EntryFree, t, ++tool.entry_gen);
    refresh_available(t);
  }
  // Lots between steps move on: to the step the MES named, else as the model routes them.
  for (std::uint32_t id = 0; id < lots.size(); ++id) {
    Lot& lot = lots[id];
    if (lot.queue_pos != kNone || lot.tool != kNone || lot.place != LotPlace::InTransport) continue;
    std::uint32_t next = lot.next_step;
    if (next == kNone) next = model_next(id);
    if (lot.held) {
      lot.waiting = true;
      lot.next_step = next;
      touch_lot(id);  // a drawn rework changed its pass
    } else if (next >= c->steps[lot.step].route_end) {
      complete(id);
    } else {
      move_to(id, next);
    }
  }
  for (std::uint32_t g = 0; g < groups.size(); ++g) wake_group(g);
  ++journal.version;
}

}  // namespace fabtwin::des
