#pragma once
// Observers follow a simulation without the engine knowing them (yield model, twin service,
// viewer). Called synchronously from the event loop; keep them cheap. A forked simulation
// starts with no observers.
#include <cstdint>

#include "fabtwin/model/ids.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::des {

struct LotKey {                // stable identity of a lot across forks and scenarios
  std::uint32_t source = 0;    // 0: initial WIP; k + 1: order k
  std::uint32_t sequence = 0;  // WIP row, or lot number within the order (0-based)
  friend bool operator==(LotKey, LotKey) = default;
};

// One performed step of one lot.
struct StepRecord {
  std::uint32_t lot = 0;  // lot slot in the simulation (reused after the lot completes)
  LotKey key;
  model::ProductId product;
  model::StepId step;
  model::ToolId tool;
  std::uint32_t pass = 0;      // 0 first visit; +1 per rework loop
  std::uint32_t wafers = 25;
  model::SimTime queued{};     // joined the queue
  model::SimTime started{};    // tool began (setup/load)
  model::SimTime finished{};   // unloaded
};

struct LotRecord {
  std::uint32_t lot = 0;
  LotKey key;
  model::ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t wafers = 25;
  model::SimTime released{};
  model::SimTime completed{};
  model::SimTime due{};
};

enum class ToolState : std::uint8_t { Idle, Busy, Down, Pm };

class Observer {
 public:
  virtual ~Observer() = default;
  virtual void on_step(const StepRecord&) {}
  virtual void on_lot_completed(const LotRecord&) {}
  virtual void on_tool_state(model::ToolId, ToolState, model::SimTime) {}
};

}  // namespace fabtwin::des
