// Lot flow: releases, sampling, transport, queues, step completion, rework, completion.
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

std::uint32_t Simulation::Impl::new_lot(LotKey key, std::string name) {
  std::uint32_t id;
  if (!free_lots.empty()) {
    id = free_lots.back();
    free_lots.pop_back();
    const std::uint32_t gen = lots[id].gen;
    lots[id] = Lot{};
    lots[id].gen = gen + 1;  // arrivals of the slot's former lot stay cancelled
    cold[id].ded.clear();
    cold[id].cqt.clear();
  } else {
    id = static_cast<std::uint32_t>(lots.size());
    lots.emplace_back();
    cold.emplace_back();
  }
  Lot& lot = lots[id];
  lot.key = key;
  cold[id].name = std::move(name);
  lot.serial = next_serial++;
  lot.since = now;
  lot_by_name[cold[id].name] = id;
  ++lots_alive;
  const std::size_t nwatch = c->watch_groups.size();
  if (way.size() < lots.size() * nwatch) way.resize(lots.size() * nwatch, kNone);
  touch_lot(id);
  return id;
}

// An order's k-th release. Follow mode keeps the schedule (the next release number and time) but
// releases nothing: lots come from events there.
void Simulation::Impl::release(std::uint32_t o, std::uint32_t k) {
  const Order& order = c->model.data().orders[o];
  const std::size_t route_index = c->model.product(order.product).route.index();
  order_next[o] = k + 1;
  if (!follow()) {
    const Route& route = c->model.route_of(order.product);
    const std::int64_t due_offset = (order.due - order.start).count();
    for (std::uint32_t j = 0; j < order.lots_per_release; ++j) {
      const std::uint32_t seqno = k * order.lots_per_release + j;
      const std::uint32_t id =
          new_lot(LotKey{o + 1, seqno}, order.lot_prefix + "_" + std::to_string(seqno + 1));
      Lot& lot = lots[id];
      lot.product = order.product.value;
      lot.priority = order.priority;
      lot.wafers = order.pieces;
      lot.released = now;
      lot.due = now + due_offset;
      lot.step = route.first_step.value;
      ++lots_released;
      start_lot(id, route.first_step.value);
    }
  }
  if (k + 1 == order.repeat_count) --route_releasing[route_index];
  if (k + 1 < order.repeat_count) {
    const auto u = draw(kRngRelease, o, k + 1);
    push(now + std::max<std::int64_t>(1, order.interval.sample_ms(u.u1, u.u2).count()), Ev::Release, o,
         k + 1);
  }
}

void Simulation::Impl::start_lot(std::uint32_t id, std::uint32_t first) {
  const Lot& lot = lots[id];
  if (!observers.empty()) {
    const LotRecord r{lot.key,      name_of(id), ProductId{lot.product},
                      lot.priority, lot.wafers,  at(lot.released),
                      {},           at(lot.due)};
    for (Observer* o : observers) o->on_release(r);
  }
  const std::uint32_t next = follow() ? first : route_next(id, first);
  if (next >= c->steps[first].route_end) {
    complete(id);
    return;
  }
  move_to(id, next);
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

// The step after the lot's current one as the model routes it: a rework draw (back to the rework
// step, pass + 1), then sampling. Returns the route's end when the lot is done.
std::uint32_t Simulation::Impl::model_next(std::uint32_t id) {
  Lot& lot = lots[id];
  const StepInfo& s = c->steps[lot.step];
  std::uint32_t next = lot.step + 1;
  if (s.rework_p > 0) {
    const auto u = draw(kRngRework, lot.key.source, lot.key.sequence, lot.step, lot.pass);
    if (u.u1 < s.rework_p) {
      next = s.rework_step;
      ++lot.pass;
      ++lot.reworks;
    }
  }
  return route_next(id, next);
}

// Sampling: a step is performed with probability StepPercent, else skipped in zero time.
std::uint32_t Simulation::Impl::route_next(std::uint32_t id, std::uint32_t next) {
  const Lot& lot = lots[id];
  const std::uint32_t end = c->steps[lot.step].route_end;
  while (next < end) {
    const StepInfo& s = c->steps[next];
    if (s.sample_p >= 1.0) break;
    const auto u = draw(kRngSample, lot.key.source, lot.key.sequence, next, lot.pass);
    if (u.u1 < s.sample_p) break;
    ++next;
  }
  return next;
}

void Simulation::Impl::set_place(std::uint32_t id, LotPlace place) {
  Lot& lot = lots[id];
  lot.place = place;
  lot.since = now;
  touch_lot(id);
}

// The lot goes on to step `next` (< its route's end): transport where locations differ, then
// the queue of the step's group.
void Simulation::Impl::move_to(std::uint32_t id, std::uint32_t next) {
  Lot& lot = lots[id];
  const std::uint32_t from = lot.step;
  lot.step = next;
  lot.next_step = kNone;
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
  if (lot.prev_location != kNone && !g.delay_location && !follow()) {
    const auto k = c->transport[lot.prev_location * c->nlocations + g.location];
    if (k >= 0) {
      const auto u = draw(kRngTransport, lot.key.source, lot.key.sequence, next, lot.pass);
      delay = c->transports[k].sample_ms(u.u1, u.u2).count();
    }
  }
  if (delay > 0) {
    set_place(id, LotPlace::InTransport);
    push(now + delay, Ev::Arrive, id, lot.gen);
    for (Observer* o : observers) o->on_transport(ref(id), StepId{next}, at(now + delay));
  } else {
    enqueue(id);
  }
}

// The lot joins its step's queue at its place by Lot::queued (its arrival); nothing wakes.
inline void Simulation::Impl::join_queue(std::uint32_t id) {
  Lot& lot = lots[id];
  const std::uint32_t g = c->steps[lot.step].group;
  GroupRt& gr = groups[g];
  queue_changed(g);
  lot.tool = kNone;
  const StepInfo& s = c->steps[lot.step];
  Candidate e;
  e.lot = id;
  e.serial = lot.serial;
  e.priority = lot.priority;
  e.wafers = lot.wafers;
  e.arrival_ms = lot.queued;
  e.due_ms = lot.due;
  e.remaining_work_ms = s.remaining_ms;
  e.process_ms = s.expected_ms;
  e.step = StepId{lot.step};
  if (s.setup != kNone) e.setup = SetupId{s.setup};
  if (const std::uint32_t ded = dedicated_tool(id); ded != kNone) e.dedicated = ToolId{ded};
  gr.queue.insert(e, [&](std::uint32_t l, std::uint32_t pos) { lots[l].queue_pos = pos; });
  if (lot.held) ++gr.held;
  set_place(id, LotPlace::Queued);
  touch_group(g);
}

void Simulation::Impl::enqueue(std::uint32_t id) {
  lots[id].queued = now;
  join_queue(id);
  for (Observer* o : observers) o->on_queue(ref(id), StepId{lots[id].step}, at(now));
  if (!lots[id].held) wake_for(id);
}

// A lot whose job was taken away (its tool left the model of a restored state) waits at its step
// again, at its place by its first arrival there; its next visit to the group counts again.
void Simulation::Impl::requeue(std::uint32_t id) {
  join_queue(id);
  const std::uint32_t w = c->groups[c->steps[lots[id].step].group].watch_index;
  if (w != kNone) set_way(id, w, false);
}

void Simulation::Impl::unqueue(std::uint32_t id) {
  Lot& lot = lots[id];
  const std::uint32_t g = c->steps[lot.step].group;
  GroupRt& gr = groups[g];
  queue_changed(g);
  gr.queue.erase(lot.queue_pos, [&](std::uint32_t l, std::uint32_t pos) { lots[l].queue_pos = pos; });
  lot.queue_pos = kNone;
  if (lot.held) --gr.held;
  touch_group(g);
}

std::uint32_t Simulation::Impl::dedicated_tool(std::uint32_t id) const {
  if (!c->steps[lots[id].step].ded_target || !(lots[id].ded_mask & step_bit(lots[id].step))) return kNone;
  for (const auto& [step, tool] : cold[id].ded)
    if (step == lots[id].step) return tool;
  return kNone;
}

// The lot's step is done on tool t (the job is over for it): dedication and queue-time marks,
// rework and sampling decide the next step, observers see the track-out, the lot moves on.
void Simulation::Impl::finish_step(std::uint32_t id, std::uint32_t t, std::int64_t start) {
  Lot& lot = lots[id];
  const StepInfo& s = c->steps[lot.step];
  ++lot.steps_done;
  ++moves;
  lot.tool = kNone;
  lot.prev_location = c->groups[s.group].delay_location ? kNone : c->groups[s.group].location;
  // Dedication: this step's tool must also run the later step (lot-to-lens).
  if (s.dedicate_for != kNone) {
    auto& ded = cold[id].ded;
    auto it = std::find_if(ded.begin(), ded.end(), [&](const auto& p) { return p.first == s.dedicate_for; });
    if (it == ded.end())
      ded.emplace_back(s.dedicate_for, t);
    else
      it->second = t;
    lot.ded_mask |= step_bit(s.dedicate_for);
  }
  // Critical queue time: measured from the end of this step to the start of cqt_to.
  if (s.cqt_to != kNone) {
    cold[id].cqt.emplace_back(s.cqt_to, now + s.cqt_ms);
    lot.cqt_mask |= step_bit(s.cqt_to);
  }
  const std::uint32_t end = s.route_end;
  const std::uint32_t done = lot.step, done_pass = lot.pass;
  std::uint32_t next = lot.step + 1;
  bool known = true;
  if (lot.next_step != kNone) {
    next = lot.next_step;  // the MES said where it goes (a track-out event)
    if (next <= done) ++lot.pass, ++lot.reworks;
  } else if (follow()) {
    known = false;  // the lot waits between steps for its next event
  } else {
    next = model_next(id);
  }
  if (!observers.empty()) {
    const StepRecord r{lot.key,
                       name_of(id),
                       ProductId{lot.product},
                       StepId{done},
                       ToolId{t},
                       done_pass,
                       lot.wafers,
                       at(lot.queued),
                       at(start),
                       at(now),
                       known && next < end ? StepId{next} : StepId{},
                       known && next >= end};
    for (Observer* o : observers) o->on_step(r);
  }
  if (known && next >= end) {
    complete(id);
    return;
  }
  set_place(id, LotPlace::InTransport);
  if (!known || (lot.held && !follow())) {
    lot.next_step = known ? next : kNone;  // waits for its next event, or (autonomous) for its hold to end
    lot.waiting = known && lot.held;
    return;
  }
  if (follow()) {
    // Follow mode: the MES named the next step; the lot is on its way there (its step is `next`,
    // as during an autonomous transport) and joins the queue when its lot_queued (or a track-in)
    // arrives. next_step keeps the destination for a fork switched to autonomous.
    lot.step = next;
    lot.next_step = next;
    if (!c->watch_groups.empty()) set_way_all(id);
    touch_lot(id);
    return;
  }
  move_to(id, next);
}

void Simulation::Impl::complete(std::uint32_t id) {
  Lot& lot = lots[id];
  const CompletedLot cl{lot.key,     ProductId{lot.product}, lot.priority, lot.wafers, lot.steps_done,
                        lot.reworks, at(lot.released),       at(now),      at(lot.due)};
  completed.push_back(cl);
  wafers_completed += lot.wafers;
  if (!observers.empty()) {
    const LotRecord r{lot.key,    name_of(id), ProductId{lot.product}, lot.priority,
                      lot.wafers, cl.released, cl.completed,           cl.due};
    for (Observer* o : observers) o->on_lot_completed(r);
  }
  remove_lot(id);
}

void Simulation::Impl::remove_lot(std::uint32_t id) {
  Lot& lot = lots[id];
  if (lot.queue_pos != kNone && lot.queue_pos != kDone) unqueue(id);
  if (lot.held) --lots_held;
  lot.queue_pos = kDone;
  ++lot.gen;
  if (!c->watch_groups.empty()) set_way_all(id);
  lot_by_name.erase(name_of(id));
  ++journal.version;
  journal.left.emplace_back(journal.version, name_of(id));
  lot.version = journal.version;
  if (journal.left.size() > 65536) {
    const std::size_t drop = journal.left.size() / 2;
    journal.left_floor = journal.left[drop - 1].first;
    journal.left.erase(journal.left.begin(), journal.left.begin() + static_cast<std::ptrdiff_t>(drop));
  }
  free_lots.push_back(id);
  --lots_alive;
}

}  // namespace fabtwin::des
