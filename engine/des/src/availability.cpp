// Tool availability: breakdowns, repairs, calendar and counter PMs.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

void Simulation::Impl::after_unavailable(std::uint32_t t) {
  ToolRt& tool = tools[t];
  if (tool.avail != Avail::Up) return;
  if (tool.nfail_pending > 0) {
    const std::uint32_t d = tool.fail_pending_cal[0];
    const std::int64_t ttr = tool.fail_pending_ms[0];
    for (std::uint8_t i = 0; i + 1 < tool.nfail_pending; ++i) {
      tool.fail_pending_cal[i] = tool.fail_pending_cal[i + 1];
      tool.fail_pending_ms[i] = tool.fail_pending_ms[i + 1];
    }
    --tool.nfail_pending;
    start_down(t, d, ttr);
    return;
  }
  if (tool.pm_pending != 0 && tool.njobs == 0) {
    const std::uint32_t bit = static_cast<std::uint32_t>(__builtin_ctz(tool.pm_pending));
    start_pm(t, c->tool_pm_first[t] + bit);
    return;
  }
  refresh_available(t);
  if (tool.in_avail) try_start(t);
}

void Simulation::Impl::fail(std::uint32_t t, std::uint32_t d) {
  ToolRt& tool = tools[t];
  const DownSpec& ds = c->downs[d];
  const auto u = draw(kRngRepair, t, d, downs[d].count);
  const std::int64_t ttr = std::max<std::int64_t>(1, ds.ttr.sample_ms(u.u1, u.u2).count());
  if (tool.avail != Avail::Up) {
    // Failures and PMs do not overlap: a failure during a PM or repair is repaired after it.
    if (tool.nfail_pending < tool.fail_pending_cal.size()) {
      tool.fail_pending_cal[tool.nfail_pending] = d;
      tool.fail_pending_ms[tool.nfail_pending] = ttr;
      ++tool.nfail_pending;
    }
    return;
  }
  start_down(t, d, ttr);
}

void Simulation::Impl::start_down(std::uint32_t t, std::uint32_t d, std::int64_t ttr) {
  ToolRt& tool = tools[t];
  tool.avail = Avail::Down;
  tool.down_cal = d;
  set_acc(t, kAccDown);
  // Processing is interrupted and resumes after the repair.
  for (std::uint8_t j = 0; j < tool.njobs; ++j) {
    Job& job = tool.jobs[j];
    job.end += ttr;
    job.gen = ++tool.gen;
    push(job.end, Ev::JobDone, t, job.gen);
  }
  if (tool.entry_free_at > now) {
    tool.entry_free_at += ttr;
    if (tool.njobs < c->groups[tool.group].capacity)
      push(tool.entry_free_at - c->groups[tool.group].load_ms, Ev::EntryFree, t, ++tool.entry_gen);
  }
  refresh_available(t);
  push(now + ttr, Ev::RepairDone, t, d);
}

void Simulation::Impl::repair_done(std::uint32_t t, std::uint32_t d) {
  ToolRt& tool = tools[t];
  tool.avail = Avail::Up;
  tool.down_cal = kNone;
  set_acc(t, tool.njobs ? kAccBusy : kAccIdle);
  // The next time to failure counts from the end of the repair.
  DownRt& dr = downs[d];
  ++dr.count;
  const auto u = draw(kRngFail, t, d, dr.count);
  push(now + std::max<std::int64_t>(1, c->downs[d].ttf.sample_ms(u.u1, u.u2).count()), Ev::Fail, t, d);
  after_unavailable(t);
}

void Simulation::Impl::pm_due(std::uint32_t t, std::uint32_t p) {
  ToolRt& tool = tools[t];
  tool.pm_pending |= 1u << (p - c->tool_pm_first[t]);
  // A due PM waits for the running job and blocks new starts; after a repair it starts then.
  refresh_available(t);
  if (tool.avail == Avail::Up && tool.njobs == 0) after_unavailable(t);
}

void Simulation::Impl::start_pm(std::uint32_t t, std::uint32_t p) {
  ToolRt& tool = tools[t];
  const PmSpec& ps = c->pms[p];
  PmRt& pr = pms[p];
  tool.pm_pending &= ~(1u << (p - c->tool_pm_first[t]));
  tool.avail = Avail::Pm;
  set_acc(t, kAccPm);
  refresh_available(t);
  const auto u = draw(kRngPmDuration, t, p, pr.count);
  ++pr.count;
  const std::int64_t dur = std::max<std::int64_t>(1, ps.duration.sample_ms(u.u1, u.u2).count());
  if (ps.by_pieces) {
    pr.wafers_since = 0;
    pr.wafers_due = ps.interval;
  } else {
    push(now + std::llround(ps.interval), Ev::PmDue, t, p);  // start to start
  }
  push(now + dur, Ev::PmDone, t, p);
}

void Simulation::Impl::pm_done(std::uint32_t t, std::uint32_t) {
  ToolRt& tool = tools[t];
  tool.avail = Avail::Up;
  set_acc(t, kAccIdle);
  after_unavailable(t);
}

}  // namespace fabtwin::des
