#pragma once
// The ledger in front of a twin: every event id is remembered, a repeated id is acknowledged as a
// duplicate (counted in the twin, Simulation::count_duplicate) and not applied again; the others
// go to Simulation::apply. Ids of refused events are remembered too (a source that resends an
// event with the same id gets "duplicate", as the event store's unique id column would say).
// An event with an empty id is applied without a duplicate check.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/simulation.hpp"

namespace fabtwin::twin {

enum class Outcome : std::uint8_t {
  Applied,    // applied at its time
  Late,       // applied now: stamped before the twin's time
  Duplicate,  // an id seen before: not applied
  Refused,    // contradicts the state: nothing changed (refusal says why)
};
std::string_view to_string(Outcome o);  // "applied", "late", "duplicate", "refused"

struct EventOutcome {
  Outcome outcome = Outcome::Applied;
  std::optional<des::Refusal> refusal;  // Refused only
  bool applied() const { return outcome == Outcome::Applied || outcome == Outcome::Late; }
};

class Ledger {
 public:
  explicit Ledger(des::Simulation& sim) : sim_(&sim) {}  // the simulation must outlive the ledger

  EventOutcome apply(const des::Event& e);
  // Counts of the events that went through this ledger (the twin's own counts,
  // Simulation::event_counts, also hold events applied around it).
  const des::EventCounts& counts() const { return counts_; }
  bool seen(const std::string& id) const { return ids_.count(id) != 0; }
  std::size_t ids() const { return ids_.size(); }
  des::Simulation& sim() const { return *sim_; }

 private:
  des::Simulation* sim_;
  std::unordered_set<std::string> ids_;
  des::EventCounts counts_;
};

}  // namespace fabtwin::twin
