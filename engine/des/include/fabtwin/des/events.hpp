#pragma once
// MES events: what happened in the real fab. Simulation::apply sets the twin's state from them
// (docs/api.md "Events"; the design in LIVE-TWIN terms: reality wins). Names, not ids: an event
// names lots, tools, products, setups and PM calendars as the model and the MES spell them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/observer.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::des {

enum class EventKind : std::uint8_t {
  LotReleased,  // a new lot (lots[0], product, priority, due, wafers) joins the queue of its route's first
                // step
  LotQueued,    // lots[0] leaves wherever it was and joins the queue of `step`
  TrackIn,      // lots (one, or a batch) start on `tool` at `step` (a setup change if the step needs one)
  TrackOut,     // lots[0] is done at `step` on `tool`; `next_step` / `route_done` say where it goes
  Hold,         // lots[0] is frozen where it is: it cannot be dispatched or moved on
  HoldRelease,  // lots[0] is free again
  Scrap,        // `wafers` wafers leave lots[0]; at 0 the lot leaves the fab
  Rework,       // lots[0] is sent back to `step` (its pass count rises) and joins that step's queue
  ToolState,    // `tool` is put in `state` (an E10 state other than setup), until `until` if given
  PmStart,      // `tool` starts a PM (of `calendar`, if given), until `until` if given
  PmEnd,        // `tool`'s PM ends; the PM counter of that calendar restarts
  SetupChange,  // `tool` now has setup `setup`
};
inline constexpr int kEventKindCount = 12;
std::string_view to_string(EventKind k);                      // "lot_released", "lot_queued", "track_in", ...
std::optional<EventKind> parse_event_kind(std::string_view);  // the inverse

struct Event {
  std::string id;         // unique per source; a repeated id is a duplicate (checked by the caller's ledger)
  model::SimTime time{};  // when it happened (model time); before now(): applied now and counted late
  EventKind kind = EventKind::LotQueued;
  std::vector<std::string> lots;  // the lot (a batch for TrackIn)
  std::string tool;
  std::uint32_t step = 0;       // step number on the lot's route (STEP as written); 0: not given
  std::uint32_t next_step = 0;  // TrackOut: the step the MES routes the lot to next; 0: not given
  bool route_done = false;      // TrackOut: the route is done, the lot leaves the fab
  std::string product;          // LotReleased
  std::uint32_t priority = 10;  // LotReleased: 10 normal, 20 hot, 30 super hot
  std::uint32_t wafers = 0;     // LotReleased: wafers in the lot; Scrap: wafers scrapped
  std::optional<model::SimTime>
      due;  // LotReleased: due date (default: release + the product's raw process time x 1.5)
  ToolState state = ToolState::Standby;  // ToolState: Productive or Standby mean "up"
  std::optional<model::SimTime>
      until;             // ToolState, PmStart: expected end (follow mode: the down lasts until reported)
  std::string setup;     // SetupChange
  std::string calendar;  // PmStart, PmEnd: the PM calendar (optional)
};

// Why an event was refused (it changed nothing).
enum class RefuseReason : std::uint8_t {
  Malformed,  // a field missing or out of range for the kind
  UnknownLot,
  UnknownTool,
  UnknownStep,  // not a step of the lot's route
  UnknownProduct,
  UnknownSetup,
  UnknownCalendar,
  LotExists,       // released under a name already in the fab
  LotOnHold,       // the lot is held
  LotNotHeld,      // release of a lot that is not held
  LotOnTool,       // the lot is processing (rework, hold on a batch start ...)
  NotOnTool,       // track-out of a lot that is not on that tool
  WrongToolGroup,  // the tool does not serve the step
  ToolDown,        // track-in on a tool that is not up
  ToolFull,        // track-in on a tool whose slots are all taken
  NotDown,         // PM end of a tool that is not in a PM
};
inline constexpr int kRefuseReasonCount = 16;
std::string_view to_string(RefuseReason r);  // "unknown_lot", ...

struct Refusal {
  RefuseReason reason = RefuseReason::Malformed;
  std::string field;    // e.g. "lots[1]", "tool", "step"
  std::string message;  // e.g. "lot 'Lot_3_7' is not on tool 'Litho_FE_98_2'"
  std::string what() const { return field + ": " + message; }
};

// The outcome of Simulation::apply: applied (perhaps late) or refused (nothing changed).
struct ApplyResult {
  std::optional<Refusal> refused;
  bool late = false;
  bool ok() const { return !refused; }
};

// Counts of events seen by a twin (part of its state: saved in checkpoints, shown in views).
struct EventCounts {
  std::uint64_t applied = 0;  // late ones included
  std::uint64_t late = 0;
  std::uint64_t duplicate = 0;  // counted by the ledger that checks ids (Simulation::count_duplicate)
  std::uint64_t refused = 0;
  std::array<std::uint64_t, kRefuseReasonCount> refused_by_reason{};
  friend bool operator==(const EventCounts&, const EventCounts&) = default;
};

}  // namespace fabtwin::des
