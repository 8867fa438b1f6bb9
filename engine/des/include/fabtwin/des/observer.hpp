#pragma once
// Observers follow a simulation without the engine knowing them (yield model, twin service,
// viewer, the emulator). Called synchronously from the event loop or from Simulation::apply;
// keep them cheap. A forked or restored simulation starts with no observers.
#include <cstdint>
#include <span>
#include <string_view>

#include "fabtwin/model/ids.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::des {

// Stable identity of a lot across forks, checkpoints and scenarios.
struct LotKey {
  static constexpr std::uint32_t kExternal = UINT32_MAX;  // released by an event (Simulation::apply)
  std::uint32_t source = 0;    // 0: initial WIP; k + 1: order k; kExternal: an external lot
  std::uint32_t sequence = 0;  // WIP row, lot number within the order (0-based), or n-th external lot
  friend bool operator==(LotKey, LotKey) = default;
};

// A lot as observers see it: its key and its name (valid during the call).
struct LotRef {
  LotKey key;
  std::string_view name;
};

// SEMI E10 equipment states; setup is reported as its own state (E10 counts it in scheduled down).
enum class ToolState : std::uint8_t {
  Productive,       // processing (load and unload included)
  Standby,          // up, no job
  Setup,            // changing setup for the job it holds
  Engineering,      // reported by an event
  ScheduledDown,    // PM (simulated or reported)
  UnscheduledDown,  // failure (simulated or reported)
  NonScheduled,     // reported by an event
};
inline constexpr int kToolStateCount = 7;
std::string_view to_string(ToolState s);  // "productive", "standby", "setup", "engineering", ...

// One performed step of one lot (a track-out).
struct StepRecord {
  LotKey key;
  std::string_view name;  // the lot's name (valid during the call)
  model::ProductId product;
  model::StepId step;
  model::ToolId tool;
  std::uint32_t pass = 0;  // 0 first visit; +1 per rework loop
  std::uint32_t wafers = 25;
  model::SimTime queued{};    // joined the queue
  model::SimTime started{};   // tool began (setup/load)
  model::SimTime finished{};  // unloaded
  model::StepId next;         // the step the lot goes to next (invalid: its route is done or unknown)
  bool route_done = false;    // the lot leaves the fab after this step
};

struct LotRecord {
  LotKey key;
  std::string_view name;
  model::ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t wafers = 25;
  model::SimTime released{};
  model::SimTime completed{};
  model::SimTime due{};
};

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_release(const LotRecord&) {}                     // a new lot at its first step
  virtual void on_queue(LotRef, model::StepId, model::SimTime) {}  // joined the queue of the step's group
  virtual void on_track_in(model::ToolId, std::span<const LotRef>, model::StepId, model::SimTime) {}
  virtual void on_setup(model::ToolId, model::SetupId, model::SimTime) {}  // the tool's setup changed
  virtual void on_step(const StepRecord&) {}                               // track-out
  virtual void on_transport(LotRef, model::StepId /*to*/, model::SimTime /*arrival*/) {
  }  // left for the next step's group
  virtual void on_hold(LotRef, bool /*held*/, model::SimTime) {}
  virtual void on_scrap(LotRef, std::uint32_t /*wafers*/, model::SimTime) {}
  virtual void on_lot_completed(const LotRecord&) {}                       // left the fab, route done
  virtual void on_tool_state(model::ToolId, ToolState, model::SimTime) {}  // every E10 state change
};

}  // namespace fabtwin::des
