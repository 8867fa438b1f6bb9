// The ledger: duplicate ids, outcomes and counts (ledger.hpp).
#include "fabtwin/twin/ledger.hpp"

namespace fabtwin::twin {

std::string_view to_string(Outcome o) {
  switch (o) {
    case Outcome::Applied:
      return "applied";
    case Outcome::Late:
      return "late";
    case Outcome::Duplicate:
      return "duplicate";
    case Outcome::Refused:
      return "refused";
  }
  return "?";
}

EventOutcome Ledger::apply(const des::Event& e) {
  if (!e.id.empty() && !ids_.insert(e.id).second) {
    sim_->count_duplicate();
    ++counts_.duplicate;
    return {Outcome::Duplicate, std::nullopt};
  }
  des::ApplyResult r = sim_->apply(e);
  if (r.refused) {
    ++counts_.refused;
    ++counts_.refused_by_reason[static_cast<int>(r.refused->reason)];
    return {Outcome::Refused, std::move(r.refused)};
  }
  ++counts_.applied;
  if (r.late) ++counts_.late;
  return {r.late ? Outcome::Late : Outcome::Applied, std::nullopt};
}

}  // namespace fabtwin::twin
