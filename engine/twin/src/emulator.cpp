// The emulator: an autonomous simulation reporting MES events (emulator.hpp).
#include "fabtwin/twin/emulator.hpp"

#include <chrono>
#include <cmath>
#include <ostream>

#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/noise.hpp"

namespace fabtwin::twin {

using des::EventKind;
using des::ToolState;

namespace {
bool is_up(ToolState s) {
  return s == ToolState::Productive || s == ToolState::Standby || s == ToolState::Setup;
}
}  // namespace

Emulator::Emulator(const des::Simulation& sim, Sink sink)
    : sim_(&sim), model_(sim.model()), sink_(std::move(sink)), pm_calendar_(sim.model().tools().size()) {
  state_.reserve(model_.tools().size());
  for (std::uint32_t t = 0; t < model_.tools().size(); ++t)
    state_.push_back(sim.tool_state(model::ToolId{t}));
}

des::Event& Emulator::begin(EventKind kind, model::SimTime t) {
  des::Event& e = ev_;
  e.id = 'e';
  e.id += std::to_string(next_id_);
  e.time = t;
  e.kind = kind;
  e.lots.clear();
  e.tool.clear();
  e.step = e.next_step = 0;
  e.route_done = false;
  e.product.clear();
  e.priority = 10;
  e.wafers = 0;
  e.due.reset();
  e.state = ToolState::Standby;
  e.until.reset();
  e.setup.clear();
  e.calendar.clear();
  return e;
}

void Emulator::emit() {
  ++next_id_;
  ++by_kind_[static_cast<int>(ev_.kind)];
  sink_(ev_);
}

void Emulator::on_release(const des::LotRecord& r) {
  des::Event& e = begin(EventKind::LotReleased, r.released);
  e.lots.emplace_back(r.name);
  e.product = model_.product(r.product).name;
  e.priority = r.priority;
  e.wafers = r.wafers;
  e.due = r.due;
  emit();
}

void Emulator::on_queue(des::LotRef lot, model::StepId step, model::SimTime t) {
  des::Event& e = begin(EventKind::LotQueued, t);
  e.lots.emplace_back(lot.name);
  e.step = model_.step(step).number;
  emit();
}

void Emulator::on_track_in(model::ToolId tool, std::span<const des::LotRef> lots, model::StepId step,
                           model::SimTime t) {
  des::Event& e = begin(EventKind::TrackIn, t);
  for (const des::LotRef& l : lots) e.lots.emplace_back(l.name);
  e.tool = model_.tool(tool).name;
  e.step = model_.step(step).number;
  emit();
}

void Emulator::on_step(const des::StepRecord& r) {
  des::Event& e = begin(EventKind::TrackOut, r.finished);
  e.lots.emplace_back(r.name);
  e.tool = model_.tool(r.tool).name;
  e.step = model_.step(r.step).number;
  if (r.next.valid()) e.next_step = model_.step(r.next).number;
  e.route_done = r.route_done;
  emit();
}

void Emulator::on_tool_state(model::ToolId tool, ToolState s, model::SimTime t) {
  const ToolState prev = state_[tool.index()];
  state_[tool.index()] = s;
  if (s == prev) return;
  if (is_up(s)) {
    if (prev == ToolState::ScheduledDown) {
      des::Event& e = begin(EventKind::PmEnd, t);
      e.tool = model_.tool(tool).name;
      e.calendar = pm_calendar_[tool.index()];
      emit();
    } else if (!is_up(prev)) {
      des::Event& e = begin(EventKind::ToolState, t);
      e.tool = model_.tool(tool).name;
      e.state = ToolState::Standby;
      emit();
    }
    return;
  }
  if (s == ToolState::ScheduledDown) {
    des::Event& e = begin(EventKind::PmStart, t);
    e.tool = model_.tool(tool).name;
    e.calendar = pm_calendar_[tool.index()] = sim_->pm_calendar(tool);
  } else {
    des::Event& e = begin(EventKind::ToolState, t);
    e.tool = model_.tool(tool).name;
    e.state = s;
  }
  emit();
}

void JsonLinesWriter::operator()(const des::Event& e) {
  line_.clear();
  append_event_json(line_, e, epoch_);
  line_ += '\n';
  out_->write(line_.data(), static_cast<std::streamsize>(line_.size()));
}

model::Result<EmulateResult> emulate(const model::Model& model, const EmulateOptions& options,
                                     std::ostream& out) {
  if (!std::isfinite(options.days) || options.days < 0)
    return model::Error{"", 0, "days", "the number of days must be finite and >= 0"};
  des::Options sopt = options.sim;
  sopt.mode = des::Mode::Autonomous;
  auto perturbed = perturb(model, sopt, options.noise, sopt.seed);
  if (!perturbed.ok()) return perturbed.error();
  auto sim = des::Simulation::create(perturbed->model.model, perturbed->model.options);
  if (!sim.ok()) return sim.error();
  const auto t0 = std::chrono::steady_clock::now();
  JsonLinesWriter writer(out, model.data().epoch_unix_s);
  Emulator emulator(sim.value(), std::ref(writer));
  sim->add_observer(&emulator);
  sim->run_until(model::SimTime{model::round_ms(options.days * model::kMsPerDay)});
  sim->remove_observer(&emulator);
  out.flush();
  EmulateResult r{std::move(sim.value()), emulator.events(), emulator.by_kind(), 0};
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace fabtwin::twin
