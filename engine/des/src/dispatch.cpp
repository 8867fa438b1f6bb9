// Dispatching: available tools, ranking, batching, minimum runs, wake rules, job start and end.
#include <algorithm>
#include <cmath>
#include <iterator>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

// ---- tools ----------------------------------------------------------------------------------

bool Simulation::Impl::can_start(std::uint32_t t) const {
  const ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  // A cascading tool takes its next lot when that lot's load can end as the first slot frees.
  const std::size_t njobs = tool.jobs.size();
  return tool.avail == Avail::Up && tool.pm_pending == 0 && tool.fail_pending.empty() && njobs < g.capacity &&
         (njobs == 0 || tool.entry_free_at - g.load_ms <= now);
}

void Simulation::Impl::avail_append(std::uint32_t t) {
  ToolRt& tool = tools[t];
  GroupRt& g = groups[tool.group];
  tool.in_avail = true;
  tool.idle_since = now;
  tool.prev = g.avail_tail;
  tool.next = kNone;
  if (g.avail_tail != kNone)
    tools[g.avail_tail].next = t;
  else
    g.avail_head = t;
  g.avail_tail = t;
}

void Simulation::Impl::avail_remove(std::uint32_t t) {
  ToolRt& tool = tools[t];
  GroupRt& g = groups[tool.group];
  if (tool.prev != kNone)
    tools[tool.prev].next = tool.next;
  else
    g.avail_head = tool.next;
  if (tool.next != kNone)
    tools[tool.next].prev = tool.prev;
  else
    g.avail_tail = tool.prev;
  tool.prev = tool.next = kNone;
  tool.in_avail = false;
}

void Simulation::Impl::refresh_available(std::uint32_t t) {
  const bool ok = can_start(t);
  if (ok && !tools[t].in_avail) avail_append(t);
  if (!ok && tools[t].in_avail) avail_remove(t);
}

std::int64_t Simulation::Impl::setup_needed(const ToolRt& tool, const StepInfo& s) const {
  if (s.setup == kNone) return 0;
  if (tool.setup == s.setup && !s.setup_always) return 0;
  if (s.setup_override_ms >= 0) return s.setup_override_ms;
  return c->setup_matrix[static_cast<std::size_t>(tool.setup + 1) * c->nsetups + s.setup];
}

namespace {
// The candidate with the smallest (score of key 0, ..., key NK-1, serial): scores[k * n + i].
// The best's keys stay in registers; a later key is read only on a tie.
template <std::size_t NK>
std::size_t lex_argmin(const double* scores, std::span<const Candidate> cs) {
  const std::size_t n = cs.size();
  std::array<double, NK> b;
  for (std::size_t k = 0; k < NK; ++k) b[k] = scores[k * n];
  std::uint32_t b_serial = cs[0].serial;
  std::size_t best = 0;
  for (std::size_t i = 1; i < n; ++i) {
    bool take = cs[i].serial < b_serial;
    for (std::size_t k = 0; k < NK; ++k) {
      const double a = scores[k * n + i];
      if (a != b[k]) {
        take = a < b[k];
        break;
      }
    }
    if (take) {
      best = i;
      for (std::size_t k = 0; k < NK; ++k) b[k] = scores[k * n + i];
      b_serial = cs[i].serial;
    }
  }
  return best;
}
}  // namespace

// The eligible lot of t's group's queue with the smallest (score of key 0, ..., serial) where
// every key is a built-in rule: the scores computed inline, a later key only on a tie. The same
// candidates in the same order and the same comparisons as ranking a copy of them through
// RankRule::score then lex_argmin, without the copy, the score arrays or the virtual calls.
std::uint32_t Simulation::Impl::best_builtin(std::uint32_t t, bool hold_run) const {
  const ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  const GroupRt& gr = groups[tool.group];
  const bool filter = g.tool_dependent || gr.held != 0;  // else every queued lot, as queued
  const std::size_t nk = g.builtin.size();
  const BuiltinRank* kinds = g.builtin.data();
  auto score = [&](std::size_t k, const Candidate& e) {
    switch (kinds[k]) {
      case BuiltinRank::Priority:
        return score_priority(e);
      case BuiltinRank::Setup:
        // a filtered copy carries the setup this tool needs where the step has one
        return score_setup(filter && e.setup.valid() ? setup_needed(tool, c->steps[e.step.value])
                                                     : e.setup_ms);
      case BuiltinRank::Fifo:
        return score_fifo(e);
      case BuiltinRank::CriticalRatio:
        return score_cr(e, now);
      case BuiltinRank::Due:
        return score_due(e);
      case BuiltinRank::Processing:
        return score_processing(e);
      case BuiltinRank::Custom:
        break;
    }
    return 0.0;  // not reached: a group with another rule ranks through RankRule::score
  };
  std::array<double, kMaxBuiltinRanks> b{};
  std::uint32_t best = kNone, b_serial = 0;
  for (const Candidate& e : gr.queue) {
    if (filter) {
      if (gr.held != 0 && lots[e.lot].held) continue;  // frozen where it is
      if (e.dedicated.valid() && e.dedicated.value != t) continue;
      if (hold_run && e.setup.valid() && e.setup.value != tool.setup) continue;  // minimum run unfinished
    }
    std::size_t k = 0;
    bool take = best == kNone || e.serial < b_serial;
    if (best != kNone) {
      for (; k < nk; ++k) {
        const double a = score(k, e);
        if (a != b[k]) {
          take = a < b[k];
          b[k] = take ? a : b[k];
          break;
        }
      }
      if (!take) continue;
      if (k < nk) ++k;  // key k decided (and is stored); keys before it were equal
    }
    for (; k < nk; ++k) b[k] = score(k, e);
    best = e.lot;
    b_serial = e.serial;
  }
  return best;
}

// best_builtin compiled for up to three keys (Custom: no key; the keys are K0, then K1, then K2).
// Keys made of integers (priority, setup, arrival, due: all below 2^53, compile() bounds times to
// 10^15 ms) compare as integers: the same order as their scores' doubles, without conversions.
// Where the last key is rank_FIFO the queue's order is the keys' order from there on, so the scan
// stops at the first eligible lot that nothing after it can beat: one of the queue's highest
// priority (under rank_HP) needing no setup (under rank_RSETUP).
template <BuiltinRank K0, BuiltinRank K1, BuiltinRank K2>
std::uint32_t Simulation::Impl::best_ranked(std::uint32_t t, bool hold_run) const {
  const ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  const GroupRt& gr = groups[tool.group];
  const bool filter = g.tool_dependent || gr.held != 0;
  auto score = [&]<BuiltinRank K>(const Candidate& e) {
    if constexpr (K == BuiltinRank::Priority) return -static_cast<std::int64_t>(e.priority);
    if constexpr (K == BuiltinRank::Setup)
      return filter && e.setup.valid() ? setup_needed(tool, c->steps[e.step.value]) : e.setup_ms;
    if constexpr (K == BuiltinRank::Fifo) return e.arrival_ms;
    if constexpr (K == BuiltinRank::CriticalRatio) return score_cr(e, now);
    if constexpr (K == BuiltinRank::Due) return e.due_ms;
    if constexpr (K == BuiltinRank::Processing) return score_processing(e);
    if constexpr (K == BuiltinRank::Custom) return std::int64_t{0};
  };
  using B = BuiltinRank;
  constexpr bool fifo_last =
      (K0 == B::Fifo && K1 == B::Custom) || (K1 == B::Fifo && K2 == B::Custom) || K2 == B::Fifo;
  constexpr bool by_priority = K0 == B::Priority;
  constexpr bool by_setup = K1 == B::Setup;
  // The best score any lot can have under the keys before rank_FIFO.
  const std::int64_t top = -static_cast<std::int64_t>(gr.queue.top_priority());
  decltype(score.template operator()<K0>(Candidate{})) b0{};
  decltype(score.template operator()<K1>(Candidate{})) b1{};
  decltype(score.template operator()<K2>(Candidate{})) b2{};
  std::uint32_t best = kNone, b_serial = 0;
  // The best so far is the answer: no lot after it in the queue can beat it.
  auto unbeatable = [&] { return fifo_last && (!by_priority || b0 == top) && (!by_setup || b1 == 0); };
  for (const Candidate& e : gr.queue) {
    if (filter) {
      if (gr.held != 0 && lots[e.lot].held) continue;
      if (e.dedicated.valid() && e.dedicated.value != t) continue;
      if (hold_run && e.setup.valid() && e.setup.value != tool.setup) continue;
    }
    if (best != kNone) {
      if constexpr (K0 != BuiltinRank::Custom) {
        const auto a = score.template operator()<K0>(e);
        if (a != b0) {
          if (a < b0) {
            b0 = a;
            b1 = score.template operator()<K1>(e);
            b2 = score.template operator()<K2>(e);
            best = e.lot, b_serial = e.serial;
            if (unbeatable()) break;
          }
          continue;
        }
      }
      if constexpr (K1 != BuiltinRank::Custom) {
        const auto a = score.template operator()<K1>(e);
        if (a != b1) {
          if (a < b1) {
            b1 = a;
            b2 = score.template operator()<K2>(e);
            best = e.lot, b_serial = e.serial;
            if (unbeatable()) break;
          }
          continue;
        }
      }
      if constexpr (K2 != BuiltinRank::Custom) {
        const auto a = score.template operator()<K2>(e);
        if (a != b2) {
          if (a < b2) b2 = a, best = e.lot, b_serial = e.serial;
          continue;
        }
      }
      if (e.serial < b_serial) best = e.lot, b_serial = e.serial;
      continue;
    }
    b0 = score.template operator()<K0>(e);
    b1 = score.template operator()<K1>(e);
    b2 = score.template operator()<K2>(e);
    best = e.lot, b_serial = e.serial;
    if (unbeatable()) break;
  }
  return best;
}

namespace {
// The keys best_ranked is compiled for, in ranker_for's order.
constexpr std::array<BuiltinRank, 6> kKinds{BuiltinRank::Priority, BuiltinRank::Setup,
                                            BuiltinRank::Fifo,     BuiltinRank::CriticalRatio,
                                            BuiltinRank::Due,      BuiltinRank::Processing};
}  // namespace

std::uint32_t Simulation::Impl::rank_best(std::uint32_t t, bool hold_run) const {
  using R = std::uint32_t (Impl::*)(std::uint32_t, bool) const;
  using B = BuiltinRank;
  constexpr B X = B::Custom, P = B::Priority, S = B::Setup, F = B::Fifo, C = B::CriticalRatio, D = B::Due,
              T = B::Processing;
  // [0]: generic; then per base key K (kKinds order): (K), (rank_HP, K), (rank_HP, rank_RSETUP, K).
  static constexpr R kRankers[] = {
      &Impl::best_builtin,         &Impl::best_ranked<P, X, X>, &Impl::best_ranked<S, X, X>,
      &Impl::best_ranked<F, X, X>, &Impl::best_ranked<C, X, X>, &Impl::best_ranked<D, X, X>,
      &Impl::best_ranked<T, X, X>, &Impl::best_ranked<P, P, X>, &Impl::best_ranked<P, S, X>,
      &Impl::best_ranked<P, F, X>, &Impl::best_ranked<P, C, X>, &Impl::best_ranked<P, D, X>,
      &Impl::best_ranked<P, T, X>, &Impl::best_ranked<P, S, P>, &Impl::best_ranked<P, S, S>,
      &Impl::best_ranked<P, S, F>, &Impl::best_ranked<P, S, C>, &Impl::best_ranked<P, S, D>,
      &Impl::best_ranked<P, S, T>};
  static_assert(std::size(kRankers) == 1 + 3 * kKinds.size());
  return (this->*kRankers[c->groups[tools[t].group].ranker])(t, hold_run);
}

std::uint8_t ranker_for(const std::vector<BuiltinRank>& keys) {
  if (keys.empty() || keys.size() > 3) return 0;
  const auto base = std::find(kKinds.begin(), kKinds.end(), keys.back()) - kKinds.begin();
  const std::size_t n = kKinds.size();
  if (keys.size() == 1) return static_cast<std::uint8_t>(1 + base);
  if (keys[0] != BuiltinRank::Priority) return 0;
  if (keys.size() == 2) return static_cast<std::uint8_t>(1 + n + base);
  if (keys[1] != BuiltinRank::Setup) return 0;
  return static_cast<std::uint8_t>(1 + 2 * n + base);
}

// The tool picks the best-ranked eligible lot (or batch) from its group's queue and starts it.
bool Simulation::Impl::try_start(std::uint32_t t) {
  if (follow() || !can_start(t)) return false;
  ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  GroupRt& gr = groups[tool.group];
  if (gr.queue.empty()) return false;
  // Minimum run: while the run of the current setup is unfinished, only lots that continue it are
  // eligible (hot lots included), as long as such a lot waits or can still arrive, i.e. its next
  // visit to this group needs this setup. When none can, the setup may change: holding the tool
  // idle would deadlock re-entrant flows (docs/model-format.md).
  const bool hold_run = g.min_run && tool.setup != kNone && tool.run_count < tool.run_needed &&
                        way_setup[static_cast<std::size_t>(g.watch_index) * c->nsetups + tool.setup] > 0;
  if (!g.batching && !g.builtin.empty()) {
    const std::uint32_t id = rank_best(t, hold_run);
    if (id == kNone) return false;
    start_job(t, &id, 1);
    return true;
  }
  // Groups where every tool sees the same queue rank it in place; others filter a copy.
  std::span<const Candidate> cs;
  if (!g.tool_dependent && gr.held == 0) {
    cs = gr.queue.view();
  } else {
    cand.clear();
    for (const Candidate& e : gr.queue) {
      if (gr.held != 0 && lots[e.lot].held) continue;  // frozen where it is
      if (e.dedicated.valid() && e.dedicated.value != t) continue;
      if (hold_run && e.setup.valid() && e.setup.value != tool.setup) continue;  // minimum run unfinished
      cand.push_back(e);
      if (e.setup.valid()) cand.back().setup_ms = setup_needed(tool, c->steps[e.step.value]);
    }
    cs = cand;
  }
  const std::size_t n = cs.size();
  if (n == 0) return false;
  const std::size_t nk = g.ranks.size();
  scores.resize(n * nk);
  const RankContext ctx{now, ToolId{t}};
  for (std::size_t k = 0; k < nk; ++k)
    g.ranks[k]->score(ctx, cs, std::span<double>(scores.data() + k * n, n));
  auto better = [&](std::size_t i, std::size_t j) {
    for (std::size_t k = 0; k < nk; ++k) {
      const double a = scores[k * n + i], b = scores[k * n + j];
      if (a != b) return a < b;
    }
    return cs[i].serial < cs[j].serial;
  };
  if (!g.batching) {
    std::size_t best;
    switch (nk) {
      case 1:
        best = lex_argmin<1>(scores.data(), cs);
        break;
      case 2:
        best = lex_argmin<2>(scores.data(), cs);
        break;
      case 3:
        best = lex_argmin<3>(scores.data(), cs);
        break;
      case 4:
        best = lex_argmin<4>(scores.data(), cs);
        break;
      default:
        best = 0;
        for (std::size_t i = 1; i < n; ++i)
          if (better(i, best)) best = i;
    }
    const std::uint32_t id = cs[best].lot;  // start_job edits the queue cs may view
    start_job(t, &id, 1);
    return true;
  }
  // Batching: lots of the same route and step, min..max in the group's batch unit.
  order.resize(n);
  for (std::size_t i = 0; i < n; ++i) order[i] = static_cast<std::uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](std::uint32_t i, std::uint32_t j) { return better(i, j); });
  auto units = [&](std::size_t i) { return g.lot_batch_unit ? 1u : cs[i].wafers; };
  for (std::size_t oi = 0; oi < n; ++oi) {
    const std::size_t i = order[oi];
    const StepInfo& s = c->steps[cs[i].step.value];
    if (s.batch_max == 0) {
      const std::uint32_t id = cs[i].lot;
      start_job(t, &id, 1);
      return true;
    }
    std::uint32_t total = 0;
    for (std::size_t j = 0; j < n; ++j)
      if (cs[j].step == cs[i].step) total += units(j);
    // Below the minimum the tool waits, unless no compatible lot can still arrive: no order still
    // releases onto this route and every lot whose next visit here is this step already waits.
    bool partial = false;
    if (total < s.batch_min) {
      const std::uint32_t step = cs[i].step.value;
      std::uint32_t queued = 0;
      for (const Candidate& e : gr.queue) queued += e.step.value == step;
      const std::uint32_t coming = way_step[static_cast<std::size_t>(g.watch_index) * c->steps.size() + step];
      if (route_releasing[c->step_route[step]] > 0 || coming > queued) continue;
      partial = true;
    }
    batch.clear();
    std::uint32_t filled = 0;
    for (std::size_t oj = oi; oj < n; ++oj) {
      const std::size_t j = order[oj];
      if (cs[j].step != cs[i].step) continue;
      if (filled + units(j) > s.batch_max) continue;
      filled += units(j);
      batch.push_back(cs[j].lot);
    }
    if (filled < s.batch_min && !partial) continue;
    start_job(t, batch.data(), static_cast<std::uint32_t>(batch.size()));
    return true;
  }
  return false;
}

// A lot joined a queue: offer it to the group's available tools in wake-rule order.
void Simulation::Impl::wake_for(std::uint32_t id) {
  if (follow()) return;
  const Lot& lot0 = lots[id];
  const std::uint32_t g = c->steps[lot0.step].group;
  GroupRt& gr = groups[g];
  if (gr.avail_head == kNone) return;
  const GroupInfo& gi = c->groups[g];
  const std::uint32_t ded = dedicated_tool(id);
  if (ded != kNone) {
    if (tools[ded].in_avail) try_start(ded);
    return;
  }
  if (gi.wake == WakeRule::LeastSetupTime) {
    // The available tool needing the least setup for this lot goes first (ties: idle longest).
    const StepInfo& s = c->steps[lot0.step];
    wake_order.clear();
    for (std::uint32_t t = gr.avail_head; t != kNone; t = tools[t].next)
      wake_order.emplace_back(setup_needed(tools[t], s), t);
    std::stable_sort(wake_order.begin(), wake_order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < wake_order.size() && lots[id].queue_pos != kNone; ++i)
      try_start(wake_order[i].second);
    return;
  }
  for (std::uint32_t t = gr.avail_head; t != kNone;) {
    const std::uint32_t next = tools[t].next;
    const bool started = try_start(t);
    if (lots[id].queue_pos == kNone || lots[id].step != lot0.step) break;  // taken
    if (!started && !gi.tool_dependent) break;  // the other tools would see the same queue
    t = next;
  }
}

void Simulation::Impl::wake_group(std::uint32_t g) {
  if (follow()) return;
  for (std::uint32_t t = groups[g].avail_head; t != kNone && !groups[g].queue.empty();) {
    const std::uint32_t next = tools[t].next;
    try_start(t);
    t = next;
  }
}

void Simulation::Impl::set_setup(std::uint32_t t, std::uint32_t setup) {
  ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  tool.setup = setup;
  tool.run_count = 0;
  tool.run_needed =
      g.min_run && setup != kNone ? c->min_run[static_cast<std::size_t>(tool.group) * c->nsetups + setup] : 0;
  touch_tool(t);
  if (setup != kNone)
    for (Observer* o : observers) o->on_setup(ToolId{t}, SetupId{setup}, at(now));
}

// Lots `ids` (queued at one step of t's group) start on tool t: setup, load, processing (drawn per
// lot or batch and step, keyed by the lead lot; in follow mode the model's mean), unload.
void Simulation::Impl::start_job(std::uint32_t t, const std::uint32_t* ids, std::uint32_t n) {
  ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  GroupRt& gr = groups[tool.group];
  const std::uint32_t lead_id = ids[0];
  const StepInfo& s = c->steps[lots[lead_id].step];
  const std::uint32_t step = lots[lead_id].step;
  const std::int64_t setup = setup_needed(tool, s);
  if (s.setup != kNone && tool.setup != s.setup) set_setup(t, s.setup);
  tool.run_count += n;
  std::uint32_t wafers = 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    Lot& lot = lots[ids[i]];
    wafers += lot.wafers;
    if (lot.queue_pos != kNone) {
      unqueue(ids[i]);
      gr.wait_ms += now - lot.queued;
    }
    if (g.watch_index != kNone) set_way(ids[i], g.watch_index, true);
    // critical queue time check at the start of the target step
    if (lot.cqt_mask & step_bit(lot.step)) {
      auto& cqt = cold[ids[i]].cqt;
      for (std::size_t k = 0; k < cqt.size();) {
        if (cqt[k].first == lot.step) {
          ++cqt_checks;
          if (now > cqt[k].second) ++cqt_violations;
          cqt[k] = cqt.back();
          cqt.pop_back();
        } else {
          ++k;
        }
      }
      lot.cqt_mask = 0;
      for (const auto& [step, deadline] : cqt) lot.cqt_mask |= step_bit(step);
    }
    lot.tool = t;
    set_place(ids[i], LotPlace::OnTool);
  }
  gr.lots_started += n;
  gr.wafers_started += wafers;

  const Lot& lead = lots[lead_id];
  double p;
  if (follow()) {
    p = s.proc.mean() * s.proc_scale;  // a live twin expects the model's mean
  } else {
    const auto u = draw(kRngProc, lead.key.source, lead.key.sequence, lead.step, lead.pass);
    p = s.proc.sample(u.u1, u.u2) * s.proc_scale;
  }
  const bool cascading = g.capacity > 1 && s.cascade_ms > 0;
  double proc = p;
  if (s.unit == ProcessUnit::PerPiece)
    proc = cascading && s.cascade_per_wafer ? p + (wafers - 1) * s.cascade_ms : wafers * p;
  const std::int64_t proc_ms = llround_exact(proc);
  // Setup and load run now; processing starts once the first slot is free (on a cascading tool
  // the previous lot's units may still pass it: setup and load overlap its processing).
  const std::int64_t begin = std::max(now + setup + g.load_ms, tool.entry_free_at);
  const std::int64_t end = begin + proc_ms + g.unload_ms;
  if (cascading) {
    // The first slot frees once the last unit has passed it.
    const double entry = s.cascade_per_wafer ? wafers * s.cascade_ms : s.cascade_ms;
    tool.entry_free_at = std::min<std::int64_t>(begin + proc_ms, begin + llround_exact(entry));
  } else {
    tool.entry_free_at = begin + proc_ms;
  }
  Job& job = tool.jobs.emplace_back();  // in place: no Job moved
  job.lots.assign(ids, ids + n);
  job.gen = ++tool.gen;
  job.wafers = wafers;
  job.step = step;
  job.start = now;
  job.setup_end = now + setup;
  job.end = end;
  const std::uint32_t gen = tool.gen;
  if (!follow()) push(end, Ev::JobDone, t, gen);
  if (setup > 0) push(now + setup, Ev::SetupEnd, t, gen);
  if (tool.jobs.size() < g.capacity && !follow())
    push(tool.entry_free_at - g.load_ms, Ev::EntryFree, t, ++tool.entry_gen);
  // Counter-based PMs count wafers processed.
  // Counter-based PMs count wafers processed: lazily, until one of them can be due.
  tool.piece_wafers += wafers;
  if (tool.piece_wafers >= tool.piece_room) [[unlikely]] {
    count_pieces(t);
    for (std::uint32_t k = c->tool_piece_first[t]; k < c->tool_piece_first[t + 1]; ++k) {
      const auto [p2, bit] = c->piece_pms[k];
      if (pms[p2].wafers_since >= pms[p2].wafers_due) tool.pm_pending |= 1u << bit;
    }
  }
  if (!observers.empty()) {
    refs.clear();
    for (std::uint32_t i = 0; i < n; ++i) refs.push_back(ref(ids[i]));
    for (Observer* o : observers) o->on_track_in(ToolId{t}, refs, StepId{step}, at(now));
  }
  sync_state(t);
  touch_tool(t);
  refresh_available(t);
}

void Simulation::Impl::count_pieces(std::uint32_t t) {
  ToolRt& tool = tools[t];
  const double started = static_cast<double>(tool.piece_wafers);
  tool.piece_wafers = 0;
  double room = 9.0e18;
  for (std::uint32_t k = c->tool_piece_first[t]; k < c->tool_piece_first[t + 1]; ++k) {
    PmRt& pr = pms[c->piece_pms[k].first];
    pr.wafers_since += started;  // whole wafers: the same sum as adding them job by job
    // Due once wafers_since >= wafers_due; wafers_since stays a whole number, so after
    // ceil(wafers_due) - wafers_since more wafers at the earliest.
    room = std::min(room, std::ceil(pr.wafers_due) - pr.wafers_since);
  }
  tool.piece_room = room >= 9.0e18 ? INT64_MAX : static_cast<std::int64_t>(room);
}

void Simulation::Impl::job_done(std::uint32_t t, std::uint32_t gen) {
  ToolRt& tool = tools[t];
  auto it = std::find_if(tool.jobs.begin(), tool.jobs.end(), [&](const Job& j) { return j.gen == gen; });
  if (it == tool.jobs.end()) return;  // stale: the job was delayed by a failure, or ended by an event
  done.clear();  // finish_step may start jobs on t: keep the lots aside (a loop: no memmove call)
  for (const std::uint32_t id : it->lots) done.push_back(id);
  const std::int64_t start = it->start;
  tool.jobs.erase(it);
  sync_state(t);
  touch_tool(t);
  // A slot freed while the other lot still occupies the first slot: take the next lot then.
  const std::int64_t take_at = tool.entry_free_at - c->groups[tool.group].load_ms;
  if (!tool.jobs.empty() && take_at > now) push(take_at, Ev::EntryFree, t, ++tool.entry_gen);
  for (const std::uint32_t id : done) finish_step(id, t, start);
  after_unavailable(t);
}

void Simulation::Impl::end_job(std::uint32_t t, std::size_t j) {
  ToolRt& tool = tools[t];
  tool.jobs.erase(tool.jobs.begin() + static_cast<std::ptrdiff_t>(j));
  if (tool.jobs.empty() && tool.entry_free_at > now) tool.entry_free_at = now;
  sync_state(t);
  touch_tool(t);
}

}  // namespace fabtwin::des
