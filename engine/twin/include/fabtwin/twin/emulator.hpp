#pragma once
// The emulator plays the real fab: an observer of an autonomous simulation that turns what the
// simulated fab does into the MES events a real fab would report, in the order they happen, with
// ids "e1", "e2", ... A follow-mode twin fed those events reaches the simulation's state.
//   release -> lot_released (name, product, priority, wafers, due)
//   joined a queue -> lot_queued (step number)
//   track-in -> track_in (lots, tool, step number)
//   track-out -> track_out (lot, tool, step number, next step number or route_done)
//   tool availability: to unscheduled down -> tool_state unscheduled_down; to a PM -> pm_start;
//   out of a PM -> pm_end; out of any other down -> tool_state standby (engineering and
//   non-scheduled, never simulated, are passed on as tool_state events).
// Not emitted: setup changes (a track-in implies its setup; a setup_change before it would make
// the twin skip the setup time), productive / standby / setup transitions (implied by track-in and
// track-out), transports (the lot_queued at arrival says where it went).
#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <span>
#include <string>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/observer.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::twin {

class Emulator final : public des::Observer {
 public:
  using Sink = std::function<void(const des::Event&)>;
  // Names come from `sim`'s model; tool states start from `sim`'s. Attach with
  // sim.add_observer(&emulator); the emulator must outlive its attachment.
  Emulator(const des::Simulation& sim, Sink sink);

  std::uint64_t events() const { return next_id_ - 1; }
  const std::array<std::uint64_t, des::kEventKindCount>& by_kind() const { return by_kind_; }

  void on_release(const des::LotRecord& r) override;
  void on_queue(des::LotRef lot, model::StepId step, model::SimTime t) override;
  void on_track_in(model::ToolId tool, std::span<const des::LotRef> lots, model::StepId step,
                   model::SimTime t) override;
  void on_step(const des::StepRecord& r) override;
  void on_tool_state(model::ToolId tool, des::ToolState s, model::SimTime t) override;

 private:
  des::Event& begin(des::EventKind kind, model::SimTime t);  // the scratch event, id and time set
  void emit();

  const des::Simulation* sim_;
  model::Model model_;
  Sink sink_;
  des::Event ev_;  // scratch (its vectors keep their capacity)
  std::uint64_t next_id_ = 1;
  std::vector<des::ToolState> state_;     // last state seen per tool
  std::vector<std::string> pm_calendar_;  // per tool: the calendar of the PM it is in
  std::array<std::uint64_t, des::kEventKindCount> by_kind_{};
};

// Writes events as JSON lines (event_json.hpp) to a stream; a Sink for the Emulator.
class JsonLinesWriter {
 public:
  JsonLinesWriter(std::ostream& out, std::int64_t epoch_unix_s) : out_(&out), epoch_(epoch_unix_s) {}
  void operator()(const des::Event& e);

 private:
  std::ostream* out_;
  std::int64_t epoch_;
  std::string line_;
};

struct EmulateOptions {
  des::Options sim;  // seed, rule, ... (the mode is forced to autonomous)
  double days = 30;  // run from time zero to this day
  double noise = 0;  // F >= 0: the fab deviates from the model by a factor up to 1 + F (noise.hpp)
};

struct EmulateResult {
  des::Simulation sim;  // the emulated fab at the end (on the perturbed model when noise > 0)
  std::uint64_t events = 0;
  std::array<std::uint64_t, des::kEventKindCount> by_kind{};
  double wall_s = 0;
};

// Runs the emulated fab for options.days and writes every MES event to `events_out` as JSON
// lines. Fails (an Error) on bad options (days < 0, noise < 0 or not finite, an unknown rule).
model::Result<EmulateResult> emulate(const model::Model& model, const EmulateOptions& options,
                                     std::ostream& events_out);

}  // namespace fabtwin::twin
