#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "impl.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

namespace {

// Expected processing time (ms) of a lot of `wafers` at step s on a tool group of `capacity`.
double expected_proc_ms(const StepInfo& s, std::uint32_t wafers, std::uint32_t capacity) {
  const double p = s.proc.mean() * s.proc_scale;
  switch (s.unit) {
    case ProcessUnit::PerPiece:
      if (capacity > 1 && s.cascade_per_wafer && s.cascade_ms > 0) return p + (wafers - 1) * s.cascade_ms;
      return wafers * p;
    case ProcessUnit::PerLot:
    case ProcessUnit::PerBatch: return p;
  }
  return p;
}

Result<std::shared_ptr<const Compiled>> compile(const Model& m, const Options& opt) {
  auto c = std::make_shared<Compiled>();
  c->model = m;
  const auto& d = m.data();
  const RuleRegistry builtin;
  const RuleRegistry& reg = opt.rules ? *opt.rules : builtin;
  const auto base = base_rule_name(opt.rule);
  if (base && !reg.find(*base)) {
    std::string known;
    for (const auto& n : reg.names()) known += (known.empty() ? "" : ", ") + n;
    return Error{"", 0, "rule", "unknown dispatch rule '" + opt.rule + "' (" + *base + "); known: " + known};
  }

  c->nsetups = static_cast<std::uint32_t>(d.setups.size());
  c->nlocations = static_cast<std::uint32_t>(d.locations.size());
  c->nproducts = static_cast<std::uint32_t>(d.products.size());

  // Tool groups.
  c->groups.resize(d.tool_groups.size());
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
    const ToolGroup& tg = d.tool_groups[g];
    GroupInfo& gi = c->groups[g];
    gi.first_tool = tg.first_tool.value;
    gi.ntools = tg.tool_count;
    gi.capacity = tg.cascade_capacity;
    gi.load_ms = tg.load_time.duration().count();
    gi.unload_ms = tg.unload_time.duration().count();
    gi.location = tg.location.value;
    gi.delay_location = d.locations[tg.location.index()].name == "Delay";
    gi.min_run = tg.rule == DispatchRule::LeastSetupMinRun && tg.setup_group.has_value();
    gi.wake = tg.wake;
    gi.lot_batch_unit = tg.batch_unit == BatchCountUnit::Lot;
    for (std::size_t k = 0; k < tg.ranks.size(); ++k) {
      std::string name(to_string(tg.ranks[k]));
      // The CLI rule replaces the base (last) key of each list.
      if (base && k + 1 == tg.ranks.size() && tg.ranks[k] != RankKey::HighestPriority &&
          tg.ranks[k] != RankKey::LeastSetup)
        name = *base;
      auto rule = reg.find(name);
      if (!rule) return Error{"tool_groups[" + std::to_string(g) + "]", 0, "ranks", "unknown dispatch rule '" + name + "'"};
      gi.ranks.push_back(rule.get());
      c->rule_owner.push_back(rule);
    }
    if (base && (tg.ranks.empty() || tg.ranks.back() == RankKey::HighestPriority || tg.ranks.back() == RankKey::LeastSetup)) {
      auto rule = reg.find(*base);
      gi.ranks.push_back(rule.get());
      c->rule_owner.push_back(rule);
    }
  }
  c->tool_group.resize(d.tools.size());
  for (std::size_t t = 0; t < d.tools.size(); ++t) c->tool_group[t] = d.tools[t].group.value;

  // Setups and minimum runs.
  c->setup_matrix.assign(static_cast<std::size_t>(c->nsetups + 1) * c->nsetups, 0);
  Step plain;  // a step without its own STIME: setup.txt decides
  for (std::uint32_t to = 0; to < c->nsetups; ++to) {
    c->setup_matrix[to] = m.setup_time(std::nullopt, SetupId{to}, plain).count();
    for (std::uint32_t from = 0; from < c->nsetups; ++from)
      c->setup_matrix[(from + 1) * c->nsetups + to] = m.setup_time(SetupId{from}, SetupId{to}, plain).count();
  }
  c->min_run.assign(d.tool_groups.size() * std::max<std::uint32_t>(c->nsetups, 1), 0);
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g)
    for (std::uint32_t s = 0; s < c->nsetups; ++s) c->min_run[g * c->nsetups + s] = m.min_run(ToolGroupId{g}, SetupId{s});

  // Steps.
  c->steps.resize(d.steps.size());
  for (std::size_t i = 0; i < d.steps.size(); ++i) {
    const Step& st = d.steps[i];
    StepInfo& s = c->steps[i];
    const Route& r = d.routes[st.route.index()];
    s.group = st.tool_group.value;
    s.route_end = r.first_step.value + r.step_count;
    s.setup = st.setup ? st.setup->value : kNone;
    s.setup_override_ms = st.setup_time ? st.setup_time->duration().count() : -1;
    s.setup_always = st.setup_when == SetupWhen::Always;
    s.proc = st.process_time;
    s.proc_scale = ms_per(st.process_time.unit);
    s.unit = st.process_unit;
    if (st.part_interval) {
      s.cascade_ms = st.part_interval->value * ms_per(st.part_interval->unit);
      s.cascade_per_wafer = true;
    } else if (st.batch_interval) {
      s.cascade_ms = st.batch_interval->value * ms_per(st.batch_interval->unit);
    }
    s.batch_min = st.batch_min;
    s.batch_max = st.batch_max;
    s.dedicate_for = st.dedicate && st.dedicate_for ? st.dedicate_for->value : kNone;
    s.rework_step = st.rework_step ? st.rework_step->value : kNone;
    s.rework_p = st.rework_step ? st.rework_percent / 100.0 : 0.0;
    s.sample_p = st.sample_percent / 100.0;
    s.cqt_to = st.cqt_to ? st.cqt_to->value : kNone;
    s.cqt_ms = st.cqt ? st.cqt->duration().count() : 0;
    GroupInfo& gi = c->groups[s.group];
    if (s.batch_max > 0) gi.batching = true;
    if (s.setup != kNone || s.dedicate_for != kNone) gi.tool_dependent = true;
    s.expected_ms = gi.load_ms + expected_proc_ms(s, 25, gi.capacity) + gi.unload_ms;
  }
  for (std::size_t g = 0; g < c->groups.size(); ++g)
    if (c->groups[g].min_run) c->groups[g].tool_dependent = true;
  // Dedicated later steps make their group tool dependent too.
  for (const auto& s : c->steps)
    if (s.dedicate_for != kNone) c->groups[c->steps[s.dedicate_for].group].tool_dependent = true;

  // Watched groups (minimum runs, batching): for each, every step's next visit to that group.
  for (std::uint32_t g = 0; g < c->groups.size(); ++g)
    if (c->groups[g].min_run || c->groups[g].batching) {
      c->groups[g].watch_index = static_cast<std::uint32_t>(c->watch_groups.size());
      c->watch_groups.push_back(g);
    }
  const std::size_t nsteps = c->steps.size();
  c->next_visit.assign(c->watch_groups.size() * nsteps, kNone);
  c->step_route.resize(nsteps);
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const Route& route = d.routes[r];
    for (std::uint32_t i = 0; i < route.step_count; ++i) c->step_route[route.first_step.value + i] = static_cast<std::uint32_t>(r);
    for (std::size_t w = 0; w < c->watch_groups.size(); ++w) {
      std::uint32_t next = kNone;
      for (std::uint32_t i = route.first_step.value + route.step_count; i-- > route.first_step.value;) {
        if (c->steps[i].group == c->watch_groups[w]) next = i;
        c->next_visit[w * nsteps + i] = next;
      }
    }
  }

  // Remaining work (CR) and raw process time (RPT) per route.
  c->transport.assign(static_cast<std::size_t>(c->nlocations) * c->nlocations, -1);
  for (std::size_t k = 0; k < d.transports.size(); ++k) {
    const auto& tr = d.transports[k];
    c->transport[tr.from.index() * c->nlocations + tr.to.index()] = static_cast<std::int32_t>(c->transports.size());
    c->transports.push_back(tr.time);
  }
  std::vector<double> rpt_route(d.routes.size(), 0.0);
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const Route& route = d.routes[r];
    const std::uint32_t first = route.first_step.value, end = first + route.step_count;
    double rem = 0;
    for (std::uint32_t i = end; i-- > first;) {
      rem += c->steps[i].sample_p * c->steps[i].expected_ms;
      c->steps[i].remaining_ms = rem;
    }
    // RPT: sampling-weighted step times + expected transport + expected rework loops.
    double rpt = 0;
    std::uint32_t prev_loc = kNone;
    std::vector<double> cum(route.step_count + 1, 0.0);
    for (std::uint32_t i = first; i < end; ++i) {
      const StepInfo& s = c->steps[i];
      const GroupInfo& gi = c->groups[s.group];
      double t = s.expected_ms;
      if (prev_loc != kNone && !gi.delay_location && !c->groups[c->steps[i - 1].group].delay_location) {
        const auto k = c->transport[prev_loc * c->nlocations + gi.location];
        if (k >= 0) t += c->transports[k].mean_ms();
      }
      prev_loc = gi.location;
      cum[i - first + 1] = cum[i - first] + s.sample_p * t;
      rpt += s.sample_p * t;
      if (s.rework_step != kNone) rpt += s.rework_p * (cum[i - first + 1] - cum[s.rework_step - first]);
    }
    rpt_route[r] = rpt;
  }
  c->rpt_ms.resize(d.products.size());
  for (std::size_t p = 0; p < d.products.size(); ++p) c->rpt_ms[p] = rpt_route[d.products[p].route.index()];

  // Calendars attached to tools: by area (stngrp) or tool group (stnfam).
  c->tool_down_first.assign(d.tools.size() + 1, 0);
  c->tool_pm_first.assign(d.tools.size() + 1, 0);
  std::vector<std::vector<DownSpec>> downs(d.tools.size());
  std::vector<std::vector<PmSpec>> pms(d.tools.size());
  for (const Attachment& a : d.attachments) {
    for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
      const ToolGroup& tg = d.tool_groups[g];
      const bool hit = a.target_kind == AttachTarget::Area ? tg.area.value == a.target : g == a.target;
      if (!hit) continue;
      if (d.locations[tg.location.index()].name == "Delay") continue;  // delay units never go down
      for (std::uint32_t k = 0; k < tg.tool_count; ++k) {
        const std::uint32_t t = tg.first_tool.value + k;
        if (!a.is_pm) {
          const DownCalendar& dc = d.down_calendars[a.calendar];
          downs[t].push_back({dc.time_to_failure, dc.time_to_repair, a.first_occurrence});
        } else {
          const PmCalendar& pc = d.pm_calendars[a.calendar];
          PmSpec ps;
          ps.by_pieces = pc.trigger == PmTrigger::Pieces;
          ps.interval = ps.by_pieces ? pc.interval.value : pc.interval.value * ms_per(pc.interval.unit);
          // Staggered first occurrence: the k-th of N tools at FOA * k / N.
          const double foa = a.first_occurrence.mean() * (ps.by_pieces ? 1.0 : ms_per(a.first_occurrence.unit));
          ps.first = foa * (k + 1) / tg.tool_count;
          ps.duration = pc.duration;
          pms[t].push_back(ps);
        }
      }
    }
  }
  for (std::size_t t = 0; t < d.tools.size(); ++t) {
    if (pms[t].size() > 32) return Error{"attachments", 0, "", "more than 32 PM calendars on tool " + d.tools[t].name};
    if (downs[t].size() > 3) return Error{"attachments", 0, "", "more than 3 down calendars on tool " + d.tools[t].name};
    c->tool_down_first[t + 1] = c->tool_down_first[t] + static_cast<std::uint32_t>(downs[t].size());
    c->tool_pm_first[t + 1] = c->tool_pm_first[t] + static_cast<std::uint32_t>(pms[t].size());
    c->downs.insert(c->downs.end(), downs[t].begin(), downs[t].end());
    c->pms.insert(c->pms.end(), pms[t].begin(), pms[t].end());
  }
  return std::shared_ptr<const Compiled>(std::move(c));
}

}  // namespace

// ---- events ---------------------------------------------------------------------------------

void Simulation::Impl::push(std::int64_t t, Ev type, std::uint32_t a, std::uint32_t b) {
  heap.push(Event{t, (seq++ << 8) | static_cast<std::uint64_t>(type), a, b});
}

void Simulation::Impl::run_until(std::int64_t t) {
  while (!heap.empty() && heap.top().t <= t) {
    const Event e = heap.pop();
    now = e.t;
    ++events;
    handle(e);
  }
  now = t;
}

void Simulation::Impl::handle(const Event& e) {
  switch (e.type()) {
    case Ev::Release: release(e.a, e.b); break;
    case Ev::Arrive: enqueue(e.a); break;
    case Ev::JobDone: job_done(e.a, e.b); break;
    case Ev::EntryFree:
      if (tools[e.a].entry_gen == e.b) after_unavailable(e.a);
      break;
    case Ev::Fail: fail(e.a, e.b); break;
    case Ev::RepairDone: repair_done(e.a, e.b); break;
    case Ev::PmDue: pm_due(e.a, e.b); break;
    case Ev::PmDone: pm_done(e.a, e.b); break;
    case Ev::WipSample:
      sample_wip();
      push(now + options.wip_sample_interval.count(), Ev::WipSample, 0);
      break;
    case Ev::Warmup: reset_stats(); break;
  }
}

// ---- lots -----------------------------------------------------------------------------------

std::uint32_t Simulation::Impl::new_lot() {
  std::uint32_t id;
  if (!free_lots.empty()) {
    id = free_lots.back();
    free_lots.pop_back();
    lots[id] = Lot{};
  } else {
    id = static_cast<std::uint32_t>(lots.size());
    lots.emplace_back();
  }
  lots[id].serial = next_serial++;
  ++lots_alive;
  const std::size_t nwatch = c->watch_groups.size();
  if (way.size() < lots.size() * nwatch) way.resize(lots.size() * nwatch, kNone);
  return id;
}

void Simulation::Impl::release(std::uint32_t o, std::uint32_t k) {
  const Order& order = c->model.data().orders[o];
  const Route& route = c->model.route_of(order.product);
  const std::size_t route_index = c->model.product(order.product).route.index();
  const std::int64_t due_offset = (order.due - order.start).count();
  for (std::uint32_t j = 0; j < order.lots_per_release; ++j) {
    const std::uint32_t id = new_lot();
    Lot& lot = lots[id];
    lot.key = LotKey{o + 1, k * order.lots_per_release + j};
    lot.product = order.product.value;
    lot.priority = order.priority;
    lot.wafers = order.pieces;
    lot.released = now;
    lot.due = now + due_offset;
    lot.step = route.first_step.value;
    ++lots_released;
    advance(id, route.first_step.value);
  }
  if (k + 1 == order.repeat_count) --route_releasing[route_index];
  if (k + 1 < order.repeat_count) {
    const auto u = draw(kRngRelease, o, k + 1);
    push(now + std::max<std::int64_t>(1, order.interval.sample_ms(u.u1, u.u2).count()), Ev::Release, o, k + 1);
  }
}

// Records the step of the lot's next visit to watched group w: none while that group processes it
// (it is in a run or batch already) or when the lot is done.
void Simulation::Impl::set_way(std::uint32_t id, std::uint32_t w, bool processing) {
  const std::size_t nwatch = c->watch_groups.size();
  const std::size_t nsteps = c->steps.size();
  const Lot& lot = lots[id];
  const bool gone = lot.queue_pos == kDone || (processing && c->steps[lot.step].group == c->watch_groups[w]);
  const std::uint32_t v = gone ? kNone : c->next_visit[w * nsteps + lot.step];
  std::uint32_t& cur = way[id * nwatch + w];
  if (cur == v) return;
  if (cur != kNone) {
    --way_step[w * nsteps + cur];
    if (c->steps[cur].setup != kNone) --way_setup[w * c->nsetups + c->steps[cur].setup];
  }
  if (v != kNone) {
    ++way_step[w * nsteps + v];
    if (c->steps[v].setup != kNone) ++way_setup[w * c->nsetups + c->steps[v].setup];
  }
  cur = v;
}

void Simulation::Impl::set_way_all(std::uint32_t id) {
  for (std::uint32_t w = 0; w < c->watch_groups.size(); ++w) set_way(id, w, false);
}

void Simulation::Impl::advance(std::uint32_t id, std::uint32_t next) {
  Lot& lot = lots[id];
  const std::uint32_t from = lot.step;
  const std::uint32_t end = c->steps[lot.step].route_end;
  // Sampling: a step is performed with probability StepPercent, else skipped in zero time.
  while (next < end) {
    const StepInfo& s = c->steps[next];
    if (s.sample_p >= 1.0) break;
    const auto u = draw(kRngSample, lot.key.source, lot.key.sequence, next, lot.pass);
    if (u.u1 < s.sample_p) break;
    ++next;
  }
  if (next >= end) {
    complete(id);
    return;
  }
  lot.step = next;
  if (!c->watch_groups.empty()) {
    // Moving forward, a lot's next visit to a watched group changes only for the groups of the
    // steps it passed (done or skipped); a rework loop goes back: all of them.
    if (next > from && lot.steps_done > 0) {
      for (std::uint32_t i = from; i < next; ++i) {
        const std::uint32_t w = c->groups[c->steps[i].group].watch_index;
        if (w != kNone) set_way(id, w, false);
      }
    } else {
      set_way_all(id);
    }
  }
  const GroupInfo& g = c->groups[c->steps[next].group];
  std::int64_t delay = 0;
  if (lot.prev_location != kNone && !g.delay_location) {
    const auto k = c->transport[lot.prev_location * c->nlocations + g.location];
    if (k >= 0) {
      const auto u = draw(kRngTransport, lot.key.source, lot.key.sequence, next, lot.pass);
      delay = c->transports[k].sample_ms(u.u1, u.u2).count();
    }
  }
  if (delay > 0)
    push(now + delay, Ev::Arrive, id);
  else
    enqueue(id);
}

void Simulation::Impl::enqueue(std::uint32_t id) {
  Lot& lot = lots[id];
  const std::uint32_t g = c->steps[lot.step].group;
  GroupRt& gr = groups[g];
  queue_changed(g);
  lot.queued = now;
  lot.queue_pos = static_cast<std::uint32_t>(gr.queue.size());
  const StepInfo& s = c->steps[lot.step];
  Candidate e;
  e.lot = id;
  e.serial = lot.serial;
  e.priority = lot.priority;
  e.wafers = lot.wafers;
  e.arrival_ms = now;
  e.due_ms = lot.due;
  e.remaining_work_ms = s.remaining_ms;
  e.process_ms = s.expected_ms;
  e.step = StepId{lot.step};
  if (s.setup != kNone) e.setup = SetupId{s.setup};
  if (lot.ndedic) {
    const std::uint32_t ded = dedicated_tool(lot);
    if (ded != kNone) e.dedicated = ToolId{ded};
  }
  gr.queue.push_back(e);
  wake_for(id);
}

std::uint32_t Simulation::Impl::dedicated_tool(const Lot& lot) const {
  for (std::uint8_t i = 0; i < lot.ndedic; ++i)
    if (lot.ded_step[i] == lot.step) return lot.ded_tool[i];
  return kNone;
}

void Simulation::Impl::finish_step(std::uint32_t id, std::uint32_t t, const Job& job) {
  Lot& lot = lots[id];
  const StepInfo& s = c->steps[lot.step];
  if (!observers.empty()) {
    StepRecord r{id, lot.key, ProductId{lot.product}, StepId{lot.step}, ToolId{t}, lot.pass, lot.wafers,
                 SimTime{Duration{lot.queued}}, SimTime{Duration{job.start}}, SimTime{Duration{now}}};
    for (Observer* o : observers) o->on_step(r);
  }
  ++lot.steps_done;
  lot.prev_location = c->groups[s.group].delay_location ? kNone : c->groups[s.group].location;
  // Dedication: this step's tool must also run the later step (lot-to-lens).
  if (s.dedicate_for != kNone) {
    std::uint8_t i = 0;
    while (i < lot.ndedic && lot.ded_step[i] != s.dedicate_for) ++i;
    if (i < lot.ded_step.size()) {
      lot.ded_step[i] = s.dedicate_for;
      lot.ded_tool[i] = t;
      if (i == lot.ndedic) ++lot.ndedic;
    }
  }
  // Critical queue time: measured from the end of this step to the start of cqt_to.
  if (s.cqt_to != kNone && lot.ncqt < lot.cqt_step.size()) {
    lot.cqt_step[lot.ncqt] = s.cqt_to;
    lot.cqt_deadline[lot.ncqt] = now + s.cqt_ms;
    ++lot.ncqt;
  }
  std::uint32_t next = lot.step + 1;
  if (s.rework_p > 0) {
    const auto u = draw(kRngRework, lot.key.source, lot.key.sequence, lot.step, lot.pass);
    if (u.u1 < s.rework_p) {
      next = s.rework_step;
      ++lot.pass;
      ++lot.reworks;
    }
  }
  advance(id, next);
}

void Simulation::Impl::complete(std::uint32_t id) {
  Lot& lot = lots[id];
  CompletedLot cl{lot.key, ProductId{lot.product}, lot.priority, lot.wafers, lot.steps_done, lot.reworks,
                  SimTime{Duration{lot.released}}, SimTime{Duration{now}}, SimTime{Duration{lot.due}}};
  completed.push_back(cl);
  if (!observers.empty()) {
    LotRecord r{id, lot.key, ProductId{lot.product}, lot.priority, lot.wafers, cl.released, cl.completed, cl.due};
    for (Observer* o : observers) o->on_lot_completed(r);
  }
  lot.queue_pos = kDone;
  if (!c->watch_groups.empty()) set_way_all(id);
  free_lots.push_back(id);
  --lots_alive;
}

// ---- tools ----------------------------------------------------------------------------------

bool Simulation::Impl::can_start(std::uint32_t t) const {
  const ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  // A cascading tool takes its next lot when that lot's load can end as the first slot frees.
  return tool.avail == Avail::Up && tool.pm_pending == 0 && tool.nfail_pending == 0 && tool.njobs < g.capacity &&
         (tool.njobs == 0 || tool.entry_free_at - g.load_ms <= now);
}

void Simulation::Impl::avail_append(std::uint32_t t) {
  ToolRt& tool = tools[t];
  GroupRt& g = groups[tool.group];
  tool.in_avail = true;
  tool.idle_since = now;
  tool.prev = g.avail_tail;
  tool.next = kNone;
  if (g.avail_tail != kNone) tools[g.avail_tail].next = t; else g.avail_head = t;
  g.avail_tail = t;
}

void Simulation::Impl::avail_remove(std::uint32_t t) {
  ToolRt& tool = tools[t];
  GroupRt& g = groups[tool.group];
  if (tool.prev != kNone) tools[tool.prev].next = tool.next; else g.avail_head = tool.next;
  if (tool.next != kNone) tools[tool.next].prev = tool.prev; else g.avail_tail = tool.prev;
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

// The tool picks the best-ranked eligible lot (or batch) from its group's queue and starts it.
bool Simulation::Impl::try_start(std::uint32_t t) {
  if (!can_start(t)) return false;
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
  // Groups where every tool sees the same queue rank it in place; others filter a copy.
  std::span<const Candidate> cs;
  if (!g.tool_dependent) {
    cs = gr.queue;
  } else {
    cand.clear();
    for (const Candidate& e : gr.queue) {
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
  for (std::size_t k = 0; k < nk; ++k) g.ranks[k]->score(ctx, cs, std::span<double>(scores.data() + k * n, n));
  auto better = [&](std::size_t i, std::size_t j) {
    for (std::size_t k = 0; k < nk; ++k) {
      const double a = scores[k * n + i], b = scores[k * n + j];
      if (a != b) return a < b;
    }
    return cs[i].serial < cs[j].serial;
  };
  if (!g.batching) {
    std::size_t best = 0;
    for (std::size_t i = 1; i < n; ++i)
      if (better(i, best)) best = i;
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
    std::array<std::uint32_t, 8> batch{};
    std::uint32_t nb = 0, filled = 0;
    for (std::size_t oj = oi; oj < n && nb < batch.size(); ++oj) {
      const std::size_t j = order[oj];
      if (cs[j].step != cs[i].step) continue;
      if (filled + units(j) > s.batch_max) continue;
      filled += units(j);
      batch[nb++] = cs[j].lot;
    }
    if (filled < s.batch_min && !partial) continue;
    start_job(t, batch.data(), nb);
    return true;
  }
  return false;
}

// A lot joined a queue: offer it to the group's available tools in wake-rule order.
void Simulation::Impl::wake_for(std::uint32_t id) {
  const Lot& lot0 = lots[id];
  const std::uint32_t g = c->steps[lot0.step].group;
  GroupRt& gr = groups[g];
  if (gr.avail_head == kNone) return;
  const GroupInfo& gi = c->groups[g];
  const std::uint32_t ded = lot0.ndedic ? dedicated_tool(lot0) : kNone;
  if (ded != kNone) {
    if (tools[ded].in_avail) try_start(ded);
    return;
  }
  if (gi.wake == WakeRule::LeastSetupTime) {
    // The available tool needing the least setup for this lot goes first (ties: idle longest).
    const StepInfo& s = c->steps[lot0.step];
    wake_order.clear();
    for (std::uint32_t t = gr.avail_head; t != kNone; t = tools[t].next) wake_order.emplace_back(setup_needed(tools[t], s), t);
    std::stable_sort(wake_order.begin(), wake_order.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (std::size_t i = 0; i < wake_order.size() && lots[id].queue_pos != kNone; ++i) try_start(wake_order[i].second);
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

void Simulation::Impl::start_job(std::uint32_t t, const std::uint32_t* ids, std::uint32_t n) {
  ToolRt& tool = tools[t];
  const GroupInfo& g = c->groups[tool.group];
  GroupRt& gr = groups[tool.group];
  const Lot& lead = lots[ids[0]];
  const StepInfo& s = c->steps[lead.step];
  const std::int64_t setup = setup_needed(tool, s);
  if (s.setup != kNone && tool.setup != s.setup) {
    tool.setup = s.setup;
    tool.run_count = 0;
    tool.run_needed = g.min_run ? c->min_run[static_cast<std::size_t>(tool.group) * c->nsetups + s.setup] : 0;
  }
  tool.run_count += n;
  std::uint32_t wafers = 0;
  queue_changed(tool.group);
  for (std::uint32_t i = 0; i < n; ++i) {
    Lot& lot = lots[ids[i]];
    wafers += lot.wafers;
    // leave the queue (swap-remove)
    const std::uint32_t pos = lot.queue_pos;
    gr.queue[pos] = gr.queue.back();
    lots[gr.queue[pos].lot].queue_pos = pos;
    gr.queue.pop_back();
    lot.queue_pos = kNone;
    if (g.watch_index != kNone) set_way(ids[i], g.watch_index, true);
    gr.wait_ms += now - lot.queued;
    // critical queue time check at the start of the target step
    for (std::uint8_t k = 0; k < lot.ncqt;) {
      if (lot.cqt_step[k] == lot.step) {
        ++cqt_checks;
        if (now > lot.cqt_deadline[k]) ++cqt_violations;
        lot.cqt_step[k] = lot.cqt_step[lot.ncqt - 1];
        lot.cqt_deadline[k] = lot.cqt_deadline[lot.ncqt - 1];
        --lot.ncqt;
      } else {
        ++k;
      }
    }
  }
  gr.lots_started += n;
  gr.wafers_started += wafers;
  tool.setup_ms += setup;

  // Processing time: drawn once per lot (or batch) and step, keyed by the lead lot.
  const auto u = draw(kRngProc, lead.key.source, lead.key.sequence, lead.step, lead.pass);
  const double p = s.proc.sample(u.u1, u.u2) * s.proc_scale;
  const bool cascading = g.capacity > 1 && s.cascade_ms > 0;
  double proc = p;
  if (s.unit == ProcessUnit::PerPiece) proc = cascading && s.cascade_per_wafer ? p + (wafers - 1) * s.cascade_ms : wafers * p;
  const std::int64_t proc_ms = std::llround(proc);
  // Setup and load run now; processing starts once the first slot is free (on a cascading tool
  // the previous lot's units may still pass it: setup and load overlap its processing).
  const std::int64_t begin = std::max(now + setup + g.load_ms, tool.entry_free_at);
  const std::int64_t end = begin + proc_ms + g.unload_ms;
  if (cascading) {
    // The first slot frees once the last unit has passed it.
    const double entry = s.cascade_per_wafer ? wafers * s.cascade_ms : s.cascade_ms;
    tool.entry_free_at = std::min<std::int64_t>(begin + proc_ms, begin + std::llround(entry));
  } else {
    tool.entry_free_at = begin + proc_ms;
  }
  Job& job = tool.jobs[tool.njobs++];
  job = Job{};
  for (std::uint32_t i = 0; i < n; ++i) job.lots[i] = ids[i];
  job.nlots = static_cast<std::uint8_t>(n);
  job.gen = ++tool.gen;
  job.wafers = wafers;
  job.start = now;
  job.end = end;
  push(end, Ev::JobDone, t, job.gen);
  if (tool.njobs < g.capacity) push(tool.entry_free_at - g.load_ms, Ev::EntryFree, t, ++tool.entry_gen);
  if (tool.njobs == 1) set_acc(t, kAccBusy);
  // Counter-based PMs count wafers processed.
  for (std::uint32_t p2 = c->tool_pm_first[t]; p2 < c->tool_pm_first[t + 1]; ++p2) {
    const PmSpec& ps = c->pms[p2];
    if (!ps.by_pieces) continue;
    PmRt& pr = pms[p2];
    pr.wafers_since += wafers;
    if (pr.wafers_since >= pr.wafers_due) tool.pm_pending |= 1u << (p2 - c->tool_pm_first[t]);
  }
  refresh_available(t);
}

void Simulation::Impl::job_done(std::uint32_t t, std::uint32_t gen) {
  ToolRt& tool = tools[t];
  std::uint8_t j = 0;
  while (j < tool.njobs && tool.jobs[j].gen != gen) ++j;
  if (j == tool.njobs) return;  // stale: the job was delayed by a failure
  const Job job = tool.jobs[j];
  for (std::uint8_t k = j; k + 1 < tool.njobs; ++k) tool.jobs[k] = tool.jobs[k + 1];
  --tool.njobs;
  if (tool.njobs == 0 && tool.avail == Avail::Up) set_acc(t, kAccIdle);
  // A slot freed while the other lot still occupies the first slot: take the next lot then.
  const std::int64_t take_at = tool.entry_free_at - c->groups[tool.group].load_ms;
  if (tool.njobs > 0 && take_at > now) push(take_at, Ev::EntryFree, t, ++tool.entry_gen);
  for (std::uint8_t i = 0; i < job.nlots; ++i) finish_step(job.lots[i], t, job);
  after_unavailable(t);
}

// The tool may have become free: pending failures first, then due PMs, then work.
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

// ---- facade ---------------------------------------------------------------------------------

Result<Simulation> Simulation::create(const Model& model, Options options) {
  auto compiled = compile(model, options);
  if (!compiled.ok()) return compiled.error();
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.c = std::move(compiled.value());
  s.options = std::move(options);
  s.seed = s.options.seed;
  const auto& d = model.data();
  s.tools.resize(d.tools.size());
  s.groups.resize(d.tool_groups.size());
  s.downs.resize(s.c->downs.size());
  s.pms.resize(s.c->pms.size());
  s.way_step.assign(s.c->watch_groups.size() * s.c->steps.size(), 0);
  s.way_setup.assign(s.c->watch_groups.size() * s.c->nsetups, 0);
  s.route_releasing.assign(d.routes.size(), 0);
  for (const Order& o : d.orders)
    if (o.repeat_count > 0) ++s.route_releasing[s.c->model.product(o.product).route.index()];
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) {
    s.tools[t].group = s.c->tool_group[t];
    s.avail_append(t);
  }
  // Initial WIP: in the queue of CURSTEP at t = 0, in file order.
  for (std::uint32_t w = 0; w < d.wip.size(); ++w) {
    const WipLot& wl = d.wip[w];
    const std::uint32_t id = s.new_lot();
    Lot& lot = s.lots[id];
    lot.key = LotKey{0, w};
    lot.product = wl.product.value;
    lot.step = wl.current_step.value;
    lot.priority = wl.priority;
    lot.wafers = wl.pieces;
    lot.released = wl.start.time_since_epoch().count();
    lot.due = wl.due.time_since_epoch().count();
    if (!s.c->watch_groups.empty()) s.set_way_all(id);
    s.push(0, Ev::Arrive, id);
  }
  for (std::uint32_t o = 0; o < d.orders.size(); ++o)
    if (d.orders[o].repeat_count > 0) s.push(d.orders[o].start.time_since_epoch().count(), Ev::Release, o, 0);
  // Failures: first occurrence from the attachment (FOA), per tool.
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) {
    for (std::uint32_t dd = s.c->tool_down_first[t]; dd < s.c->tool_down_first[t + 1]; ++dd) {
      const auto u = s.draw(kRngFirstFail, t, dd);
      s.push(std::max<std::int64_t>(1, s.c->downs[dd].first.sample_ms(u.u1, u.u2).count()), Ev::Fail, t, dd);
    }
    for (std::uint32_t p = s.c->tool_pm_first[t]; p < s.c->tool_pm_first[t + 1]; ++p) {
      const PmSpec& ps = s.c->pms[p];
      if (ps.by_pieces)
        s.pms[p].wafers_due = ps.first;
      else
        s.push(std::llround(ps.first), Ev::PmDue, t, p);
    }
  }
  if (s.options.wip_sample_interval.count() > 0) s.push(0, Ev::WipSample, 0);
  if (s.options.warmup.count() > 0) s.push(s.options.warmup.count(), Ev::Warmup, 0);
  return Simulation(std::move(impl));
}

Simulation::Simulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Simulation::Simulation(const Simulation& other) : impl_(std::make_unique<Impl>(*other.impl_)) {
  impl_->observers.clear();
}
Simulation& Simulation::operator=(const Simulation& other) {
  if (this != &other) {
    impl_ = std::make_unique<Impl>(*other.impl_);
    impl_->observers.clear();
  }
  return *this;
}
Simulation::Simulation(Simulation&&) noexcept = default;
Simulation& Simulation::operator=(Simulation&&) noexcept = default;
Simulation::~Simulation() = default;

void Simulation::run_until(SimTime t) {
  const std::int64_t ms = t.time_since_epoch().count();
  if (ms < impl_->now) throw std::invalid_argument("run_until: time is in the past");
  impl_->run_until(ms);
}
SimTime Simulation::now() const { return SimTime{Duration{impl_->now}}; }
std::uint64_t Simulation::events() const { return impl_->events; }
void Simulation::add_observer(Observer* o) { impl_->observers.push_back(o); }
void Simulation::remove_observer(Observer* o) { std::erase(impl_->observers, o); }
const Model& Simulation::model() const { return impl_->c->model; }
const Options& Simulation::options() const { return impl_->options; }
std::span<const CompletedLot> Simulation::completed_lots() const { return impl_->completed; }
std::span<const WipSample> Simulation::wip_samples() const { return impl_->wip_samples; }
std::size_t Simulation::lots_in_fab() const { return impl_->lots_alive; }
std::size_t Simulation::queue_length(ToolGroupId g) const { return impl_->groups[g.index()].queue.size(); }
ToolState Simulation::tool_state(ToolId t) const {
  const ToolRt& tool = impl_->tools[t.index()];
  if (tool.avail == Avail::Down) return ToolState::Down;
  if (tool.avail == Avail::Pm) return ToolState::Pm;
  return tool.njobs ? ToolState::Busy : ToolState::Idle;
}
std::string Simulation::lot_name(LotKey key) const {
  const auto& d = impl_->c->model.data();
  if (key.source == 0) return key.sequence < d.wip.size() ? d.wip[key.sequence].name : "wip_" + std::to_string(key.sequence);
  const auto& o = d.orders[key.source - 1];
  return o.lot_prefix + "_" + std::to_string(key.sequence + 1);
}

}  // namespace fabtwin::des
