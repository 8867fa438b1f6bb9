// Tool availability: breakdowns, repairs, calendar and counter PMs, and downs reported by events.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

// The tool may have become free: pending failures first, then due PMs, then work.
void Simulation::Impl::after_unavailable(std::uint32_t t) {
  ToolRt& tool = tools[t];
  if (tool.avail != Avail::Up || follow()) {
    refresh_available(t);
    return;
  }
  if (!tool.fail_pending.empty()) {
    const auto [d, ttr] = tool.fail_pending.front();
    tool.fail_pending.erase(tool.fail_pending.begin());
    start_down(t, d, ttr);
    return;
  }
  if (tool.pm_pending != 0 && tool.jobs.empty()) {
    const std::uint32_t bit = static_cast<std::uint32_t>(__builtin_ctz(tool.pm_pending));
    start_pm(t, c->tool_pm_first[t] + bit);
    return;
  }
  if (!tool.in_avail && can_start(t)) {
    // It becomes available: offered its queue first, and joins the available list only if it
    // stays idle. (Joining, then leaving as the job starts, would leave the list as it was; a tool
    // that can take another job after this one joins in start_job, at the same place, the tail.)
    tool.idle_since = now;
    if (!try_start(t)) avail_append(t);
    return;
  }
  refresh_available(t);
  if (tool.in_avail) try_start(t);
}

void Simulation::Impl::fail(std::uint32_t t, std::uint32_t d) {
  ToolRt& tool = tools[t];
  const DownSpec& ds = c->downs[d];
  DownRt& dr = downs[d];
  if (follow()) {
    // Shadow schedule: failures come from events, the calendar keeps counting.
    ++dr.count;
    const auto u = draw(kRngFail, ds.key, dr.count);
    push(now + std::max<std::int64_t>(1, ds.ttf.sample_ms(u.u1, u.u2).count()), Ev::Fail, t, d);
    return;
  }
  const auto u = draw(kRngRepair, ds.key, dr.count);
  const std::int64_t ttr = std::max<std::int64_t>(1, ds.ttr.sample_ms(u.u1, u.u2).count());
  if (tool.avail != Avail::Up) {
    // Failures and PMs do not overlap: a failure during a PM or repair is repaired after it.
    tool.fail_pending.emplace_back(d, ttr);
    refresh_available(t);
    return;
  }
  start_down(t, d, ttr);
}

// Moves the ends of jobs (and setups and the first slot) that were still ahead at `from` by delta.
void Simulation::Impl::shift_jobs(std::uint32_t t, std::int64_t delta, std::int64_t from) {
  ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  for (Job& job : tool.jobs) {
    job.end += delta;
    if (job.setup_end > from) job.setup_end += delta;
    job.gen = ++tool.gen;
    if (!follow()) push(std::max(now, job.end), Ev::JobDone, t, job.gen);
    if (job.setup_end > now) push(job.setup_end, Ev::SetupEnd, t, job.gen);
  }
  if (tool.entry_free_at > from) {
    tool.entry_free_at += delta;
    if (tool.jobs.size() < g.capacity && !follow())
      push(std::max(now, tool.entry_free_at - g.load_ms), Ev::EntryFree, t, ++tool.entry_gen);
  }
}

// The tool stops being up. `duration` known (>= 0): jobs are suspended for it now; unknown (-1):
// they resume, later by the time it was down, when go_up ends it.
void Simulation::Impl::go_down(std::uint32_t t, Avail a, std::int64_t duration) {
  ToolRt& tool = tools[t];
  tool.avail = a;
  tool.avail_since = now;
  tool.avail_until = duration >= 0 ? now + duration : -1;
  tool.shifted_ms = std::max<std::int64_t>(duration, 0);
  ++tool.avail_gen;
  sync_state(t);
  if (duration > 0) shift_jobs(t, duration, now);
  touch_tool(t);
  refresh_available(t);
}

void Simulation::Impl::go_up(std::uint32_t t) {
  ToolRt& tool = tools[t];
  // Jobs were suspended for as long as the tool was down: move them by what is not yet counted.
  const std::int64_t delta = (now - tool.avail_since) - tool.shifted_ms;
  // A down reported without an end held its jobs' ends back (twin.cpp): schedule them again.
  if (delta != 0 || (tool.avail_until < 0 && !tool.jobs.empty() && !follow()))
    shift_jobs(t, delta, tool.avail_since);
  tool.avail = Avail::Up;
  tool.avail_reported = false;
  tool.avail_until = -1;
  tool.shifted_ms = 0;
  tool.down_cal = kNone;
  tool.pm_cal = kNone;
  ++tool.avail_gen;
  sync_state(t);
  touch_tool(t);
}

void Simulation::Impl::start_down(std::uint32_t t, std::uint32_t d, std::int64_t ttr) {
  tools[t].down_cal = d;
  go_down(t, Avail::Down, ttr);
  push(now + ttr, Ev::RepairDone, t, tools[t].avail_gen);
}

void Simulation::Impl::repair_done(std::uint32_t t, std::uint32_t gen) {
  ToolRt& tool = tools[t];
  if (gen != tool.avail_gen || tool.avail == Avail::Up) return;  // cancelled by an event
  const std::uint32_t d = tool.down_cal;
  go_up(t);
  if (d != kNone) next_failure(t, d);
  after_unavailable(t);
}

// The next time to failure counts from the end of the repair.
void Simulation::Impl::next_failure(std::uint32_t t, std::uint32_t d) {
  DownRt& dr = downs[d];
  ++dr.count;
  const auto u = draw(kRngFail, c->downs[d].key, dr.count);
  push(now + std::max<std::int64_t>(1, c->downs[d].ttf.sample_ms(u.u1, u.u2).count()), Ev::Fail, t, d);
}

void Simulation::Impl::schedule_pm_due(std::uint32_t t, std::uint32_t p, std::int64_t at) {
  if (pms[p].next_due == at) return;  // already scheduled then
  pms[p].next_due = at;
  push(at, Ev::PmDue, t, p);
}

void Simulation::Impl::pm_due(std::uint32_t t, std::uint32_t p, std::int64_t at) {
  if (pms[p].next_due != at) return;  // rescheduled by a reported PM
  ToolRt& tool = tools[t];
  if (follow()) {
    schedule_pm_due(t, p, at + std::llround(c->pms[p].interval));  // shadow schedule, start to start
    return;
  }
  tool.pm_pending |= 1u << (p - c->tool_pm_first[t]);
  // A due PM waits for the running job and blocks new starts; after a repair it starts then.
  refresh_available(t);
  if (tool.avail == Avail::Up && tool.jobs.empty()) after_unavailable(t);
}

void Simulation::Impl::start_pm(std::uint32_t t, std::uint32_t p) {
  ToolRt& tool = tools[t];
  const PmSpec& ps = c->pms[p];
  PmRt& pr = pms[p];
  tool.pm_pending &= ~(1u << (p - c->tool_pm_first[t]));
  const auto u = draw(kRngPmDuration, ps.key, pr.count);
  ++pr.count;
  const std::int64_t dur = std::max<std::int64_t>(1, ps.duration.sample_ms(u.u1, u.u2).count());
  tool.pm_cal = p;
  go_down(t, Avail::Pm, dur);
  if (ps.by_pieces) {
    count_pieces(t);
    pr.wafers_since = 0;
    pr.wafers_due = ps.interval;
    count_pieces(t);
  } else {
    schedule_pm_due(t, p, now + std::llround(ps.interval));  // start to start
  }
  push(now + dur, Ev::PmDone, t, tool.avail_gen);
}

// A PM of calendar spec p ended (reported): its counter restarts from the PM's start.
void Simulation::Impl::pm_reset(std::uint32_t t, std::uint32_t p) {
  const PmSpec& ps = c->pms[p];
  PmRt& pr = pms[p];
  if (ps.by_pieces) {
    count_pieces(t);
    pr.wafers_since = 0;
    pr.wafers_due = ps.interval;
    count_pieces(t);
  }
}

void Simulation::Impl::pm_done(std::uint32_t t, std::uint32_t gen) {
  ToolRt& tool = tools[t];
  if (gen != tool.avail_gen || tool.avail != Avail::Pm) return;  // cancelled by an event
  go_up(t);
  after_unavailable(t);
}

}  // namespace fabtwin::des
