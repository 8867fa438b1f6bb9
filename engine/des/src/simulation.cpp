// des::Simulation: the facade and the event loop over the private kernel (kernel.hpp).
#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

// ---- events ---------------------------------------------------------------------------------

// In follow mode only the clock's own events change state (setup ends, WIP samples, warm-up);
// releases, failures and calendar PMs keep their schedules running (shadow), so a forecast that
// switches to autonomous has them, but create no lots and take no tool down.
[[gnu::always_inline]] inline void Simulation::Impl::handle(const Pending& e) {
  switch (e.type()) {
    case Ev::Release:
      release(e.a, e.b);
      break;
    case Ev::Arrive:
      if (lots[e.a].queue_pos != kDone && lots[e.a].gen == e.b) enqueue(e.a);
      break;
    case Ev::JobDone:
      job_done(e.a, e.b);
      break;
    case Ev::EntryFree:
      if (tools[e.a].entry_gen == e.b) after_unavailable(e.a);
      break;
    case Ev::Fail:
      fail(e.a, e.b);
      break;
    case Ev::RepairDone:
      repair_done(e.a, e.b);
      break;
    case Ev::PmDue:
      pm_due(e.a, e.b, e.t);
      break;
    case Ev::PmDone:
      pm_done(e.a, e.b);
      break;
    case Ev::WipSample:
      sample_wip();
      push(now + options.wip_sample_interval.count(), Ev::WipSample, 0);
      break;
    case Ev::Warmup:
      reset_stats();
      break;
    case Ev::SetupEnd: {
      const ToolRt& tool = tools[e.a];
      for (const Job& job : tool.jobs)
        if (job.gen == e.b) sync_state(e.a);
      break;
    }
  }
}

void Simulation::Impl::run_until(std::int64_t t) {
  while (!heap.empty() && heap.top().t <= t) {
    const Pending e = heap.pop();
    now = e.t;
    ++events;
    handle(e);
  }
  now = t;
}

// An order's first release at or after time zero: releases stamped before the model's epoch are
// history (their lots would be in the WIP) and are skipped, keeping the release numbers.
void Simulation::Impl::schedule_order(std::uint32_t o) {
  const Order& order = c->model.data().orders[o];
  std::int64_t t = order.start.time_since_epoch().count();
  std::uint32_t k = 0;
  while (t < 0 && k < order.repeat_count) {
    if (++k == order.repeat_count) break;
    const auto u = draw(kRngRelease, o, k);
    t += std::max<std::int64_t>(1, order.interval.sample_ms(u.u1, u.u2).count());
  }
  order_next[o] = k;
  if (k < order.repeat_count)
    push(t, Ev::Release, o, k);
  else
    --route_releasing[c->model.product(order.product).route.index()];
}

// A tool's failure and PM calendars start now (at time zero, or when a restored state gains the
// tool): failures at the first occurrence from the attachment (FOA), PMs at their first due time
// or wafer count (staggered across the group).
void Simulation::Impl::start_calendars(std::uint32_t t) {
  for (std::uint32_t d = c->tool_down_first[t]; d < c->tool_down_first[t + 1]; ++d) {
    const auto u = draw(kRngFirstFail, c->downs[d].key, 0);
    push(now + std::max<std::int64_t>(1, c->downs[d].first.sample_ms(u.u1, u.u2).count()), Ev::Fail, t, d);
  }
  for (std::uint32_t p = c->tool_pm_first[t]; p < c->tool_pm_first[t + 1]; ++p) {
    const PmSpec& ps = c->pms[p];
    pms[p] = PmRt{};
    if (ps.by_pieces)
      pms[p].wafers_due = ps.first;
    else
      schedule_pm_due(t, p, now + std::llround(ps.first));
  }
  tools[t].piece_wafers = 0;
  count_pieces(t);
}

// ---- facade ---------------------------------------------------------------------------------

Result<Simulation> Simulation::create(const Model& model, Options options) {
  auto compiled = compile(model, options);
  if (!compiled.ok()) return compiled.error();
  auto impl = std::make_unique<Impl>();
  Impl& s = *impl;
  s.c = std::move(compiled.value());
  s.options = std::move(options);
  s.mode = s.options.mode;
  s.seed = s.options.seed;
  const auto& d = model.data();
  s.tools.resize(d.tools.size());
  s.groups.resize(d.tool_groups.size());
  s.downs.resize(s.c->downs.size());
  s.pms.resize(s.c->pms.size());
  s.order_next.assign(d.orders.size(), 0);
  s.way_step.assign(s.c->watch_groups.size() * s.c->steps.size(), 0);
  s.way_setup.assign(s.c->watch_groups.size() * s.c->nsetups, 0);
  s.route_releasing.assign(d.routes.size(), 0);
  for (const Order& o : d.orders)
    if (o.repeat_count > 0) ++s.route_releasing[s.c->model.product(o.product).route.index()];
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) {
    ToolRt& tool = s.tools[t];
    tool.group = s.c->tool_group[t];
    tool.jobs.reserve(s.c->groups[tool.group].capacity);
    s.avail_append(t);
  }
  // Initial WIP: in the queue of CURSTEP at t = 0, in file order (follow mode: there already).
  for (std::uint32_t w = 0; w < d.wip.size(); ++w) {
    const WipLot& wl = d.wip[w];
    const std::uint32_t id = s.new_lot(LotKey{0, w}, wl.name);
    Lot& lot = s.lots[id];
    lot.product = wl.product.value;
    lot.step = wl.current_step.value;
    lot.priority = wl.priority;
    lot.wafers = wl.pieces;
    lot.released = wl.start.time_since_epoch().count();
    lot.due = wl.due.time_since_epoch().count();
    if (!s.c->watch_groups.empty()) s.set_way_all(id);
    if (s.follow())
      s.enqueue(id);
    else
      s.push(0, Ev::Arrive, id, lot.gen);
  }
  for (std::uint32_t o = 0; o < d.orders.size(); ++o)
    if (d.orders[o].repeat_count > 0) s.schedule_order(o);
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) s.start_calendars(t);
  if (s.options.wip_sample_interval.count() > 0) s.push(0, Ev::WipSample, 0);
  if (s.options.warmup.count() > 0) s.push(s.options.warmup.count(), Ev::Warmup, 0);
  // The journal's version is already above every record the initial WIP stamped.
  return Simulation(std::move(impl));
}

Simulation::Simulation(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

// A fork copies the state; the observers and the journal's log and departed-lot list stay with the
// original (not even copied: ForkLocal), so the fork's readers start from a keyframe.
Simulation::Simulation(const Simulation& other) : impl_(std::make_unique<Impl>(*other.impl_)) {
  impl_->observers.clear();
  Journal& j = impl_->journal;
  j.logging = false;
  j.log_floor = j.version;
  j.left_floor = j.version;
}
Simulation Simulation::fork(std::uint64_t seed) const {
  Simulation f(*this);
  f.impl_->seed = seed;
  f.impl_->options.seed = seed;
  return f;
}
Simulation& Simulation::operator=(const Simulation& other) {
  if (this != &other) *this = Simulation(other);
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
const SharedLog<CompletedLot>& Simulation::completed_lots() const { return impl_->completed; }
const SharedLog<WipSample>& Simulation::wip_samples() const { return impl_->wip_samples; }
std::size_t Simulation::lots_in_fab() const { return impl_->lots_alive; }
std::size_t Simulation::queue_length(ToolGroupId g) const { return impl_->groups[g.index()].queue.size(); }
ToolState Simulation::tool_state(ToolId t) const { return impl_->derived_state(t.value); }
std::uint64_t Simulation::model_fingerprint() const { return impl_->c->fingerprint; }

ApplyResult Simulation::apply(const Event& e) { return impl_->apply(e); }
void Simulation::count_duplicate() {
  ++impl_->counts.duplicate;
  ++impl_->journal.version;
}
std::string Simulation::pm_calendar(ToolId tool) const {
  const ToolRt& t = impl_->tools.at(tool.index());
  if (t.avail != Avail::Pm || t.pm_cal == kNone) return {};
  return impl_->c->model.data().pm_calendars[impl_->c->pms[t.pm_cal].calendar].name;
}
const EventCounts& Simulation::event_counts() const { return impl_->counts; }
Mode Simulation::mode() const { return impl_->mode; }
void Simulation::set_mode(Mode m) {
  if (m == impl_->mode) return;
  if (m == Mode::Follow)
    throw std::logic_error("set_mode: an autonomous simulation cannot become a follow-mode twin");
  impl_->to_autonomous();
}

std::optional<LotKey> Simulation::find_lot(std::string_view name) const {
  const auto it = impl_->lot_by_name.find(std::string(name));
  if (it == impl_->lot_by_name.end()) return std::nullopt;
  return impl_->lots[it->second].key;
}
std::optional<ToolId> Simulation::find_tool(std::string_view name) const {
  const auto it = impl_->c->tool_by_name.find(std::string(name));
  if (it == impl_->c->tool_by_name.end()) return std::nullopt;
  return ToolId{it->second};
}
std::optional<StepId> Simulation::find_step(std::string_view route, std::uint32_t number) const {
  const auto routes = impl_->c->model.routes();
  for (std::size_t r = 0; r < routes.size(); ++r) {
    if (routes[r].name != route) continue;
    const auto& by_number = impl_->c->step_of_number[r];  // the first step of that number, as before
    if (number < by_number.size() && by_number[number] != kNone) return StepId{by_number[number]};
  }
  return std::nullopt;
}
std::string Simulation::lot_name(LotKey key) const {
  const auto& d = impl_->c->model.data();
  if (key.source == LotKey::kExternal)
    return key.sequence < impl_->external_names.size() ? impl_->external_names[key.sequence] : std::string();
  if (key.source == 0) return key.sequence < d.wip.size() ? d.wip[key.sequence].name : std::string();
  if (key.source - 1 >= d.orders.size()) return {};
  const auto& o = d.orders[key.source - 1];
  return o.lot_prefix + "_" + std::to_string(key.sequence + 1);
}

}  // namespace fabtwin::des
