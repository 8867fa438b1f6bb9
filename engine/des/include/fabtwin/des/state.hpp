#pragma once
// The twin's state as a read-only value: a keyframe (every tool, queue and lot) and deltas (the
// whole records of what changed between two journal versions). Keyframe at v + every delta since v
// = the keyframe at the newest version, exactly (apply_delta).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/observer.hpp"
#include "fabtwin/model/ids.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::des {

enum class Mode : std::uint8_t {
  Autonomous,  // everything simulated (releases, failures, PMs, job ends)
  Follow,      // nothing moves without an event; the clock runs on (overdue jobs show)
};
std::string_view to_string(Mode m);  // "autonomous", "follow"

// Where a lot is.
enum class LotPlace : std::uint8_t {
  Queued,       // in the queue of `group` for `step`
  OnTool,       // processing on `tool` at `step`
  InTransport,  // between steps: `step` is the step it last performed (or its first, before any)
};
std::string_view to_string(LotPlace p);  // "queued", "on_tool", "in_transport"

struct LotOnTool {
  std::string lot;
  model::SimTime start{};         // track-in (setup and load begin)
  model::SimTime setup_end{};     // setup done (= start when no setup)
  model::SimTime expected_end{};  // unload done: drawn (autonomous) or the model's mean (follow)
  friend bool operator==(const LotOnTool&, const LotOnTool&) = default;
};

struct ToolView {
  model::ToolId tool;
  ToolState state = ToolState::Standby;
  model::SimTime since{};                    // in this state since
  model::SetupId setup;                      // current setup (invalid: none)
  std::vector<LotOnTool> lots;               // in track-in order
  std::optional<model::SimTime> down_until;  // expected end of a down or PM, where known
  friend bool operator==(const ToolView&, const ToolView&) = default;
};

struct QueuedLot {
  std::string lot;
  model::SimTime since{};  // joined the queue (its wait is now - since)
  friend bool operator==(const QueuedLot&, const QueuedLot&) = default;
};

struct QueueView {
  model::ToolGroupId group;
  std::vector<QueuedLot> lots;  // arrival order (ties: release order)
  friend bool operator==(const QueueView&, const QueueView&) = default;
};

struct LotView {
  std::string name;
  LotKey key;
  model::ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t wafers = 25;
  std::uint32_t pass = 0;
  model::SimTime released{}, due{};
  model::StepId step;
  LotPlace place = LotPlace::Queued;
  model::ToolGroupId group;  // Queued: the group whose queue holds it
  model::ToolId tool;        // OnTool
  bool held = false;
  model::SimTime since{};  // in this place since
  friend bool operator==(const LotView&, const LotView&) = default;
};

// Figures cheap enough for every frame.
struct LiveKpis {
  std::uint64_t lots_in_fab = 0;
  std::uint64_t lots_released = 0;
  std::uint64_t lots_completed = 0;
  std::uint64_t lots_scrapped = 0;
  std::uint64_t wafers_completed = 0;
  std::uint64_t moves = 0;  // steps performed (track-outs)
  std::uint64_t lots_held = 0;
  std::array<std::uint32_t, kToolStateCount> tools_by_state{};
  friend bool operator==(const LiveKpis&, const LiveKpis&) = default;
};

struct StateView {
  std::uint64_t version = 0;
  model::SimTime now{};
  Mode mode = Mode::Autonomous;
  std::vector<ToolView> tools;    // every tool, by id
  std::vector<QueueView> queues;  // every tool group, by id
  std::vector<LotView> lots;      // every lot in the fab, by name
  LiveKpis kpis;
  EventCounts counts;
  friend bool operator==(const StateView&, const StateView&) = default;
};

struct StateDelta {
  std::uint64_t from = 0, to = 0;  // versions
  model::SimTime now{};
  Mode mode = Mode::Autonomous;
  std::vector<ToolView> tools;         // whole records of tools that changed, by id
  std::vector<QueueView> queues;       // whole queues that changed, by group id
  std::vector<LotView> lots;           // whole records of lots that changed (or arrived), by name
  std::vector<std::string> lots_left;  // names of lots that left the fab (completed or scrapped), sorted
  LiveKpis kpis;
  EventCounts counts;
};

// Brings a keyframe at delta.from to delta.to. Throws std::invalid_argument if the versions do not chain.
void apply_delta(StateView& view, const StateDelta& delta);

}  // namespace fabtwin::des
