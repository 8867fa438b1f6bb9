// Lot flow: releases, sampling, transport, queues, step completion, rework, completion.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

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

}  // namespace fabtwin::des
