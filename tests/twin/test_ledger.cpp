// The ledger: duplicate ids are acknowledged and not applied; outcomes and counts per reason.
#include <catch2/catch.hpp>

#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using des::Event;
using des::EventKind;

namespace {

SimTime minutes(double m) { return SimTime{round_ms(m * kMsPerMinute)}; }

Event release(std::string id, std::string lot, SimTime t) {
  Event e;
  e.id = std::move(id);
  e.time = t;
  e.kind = EventKind::LotReleased;
  e.lots = {std::move(lot)};
  e.product = "part_A";
  e.wafers = 25;
  return e;
}

}  // namespace

TEST_CASE("a repeated event id is a duplicate: acknowledged, counted, not applied", "[twin][ledger]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  twin::Ledger ledger(sim);
  const std::size_t before = sim.lots_in_fab();

  const auto first = ledger.apply(release("a", "X_1", minutes(10)));
  CHECK(first.outcome == twin::Outcome::Applied);
  CHECK(sim.lots_in_fab() == before + 1);
  const auto version = sim.version();

  // The same id again, even with another lot: not applied.
  const auto again = ledger.apply(release("a", "X_2", minutes(11)));
  CHECK(again.outcome == twin::Outcome::Duplicate);
  CHECK_FALSE(again.applied());
  CHECK(sim.lots_in_fab() == before + 1);
  CHECK_FALSE(sim.find_lot("X_2"));
  CHECK(sim.now() == minutes(10));  // the clock did not move for it
  CHECK(sim.event_counts().duplicate == 1);
  CHECK(sim.version() > version);  // the count is part of the state
  CHECK(ledger.counts().duplicate == 1);
  CHECK(ledger.counts().applied == 1);
  CHECK(ledger.seen("a"));
}

TEST_CASE("the ledger reports refusals with their reason, late events, and remembers refused ids",
          "[twin][ledger]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  twin::Ledger ledger(sim);
  REQUIRE(ledger.apply(release("r1", "X_1", minutes(30))).outcome == twin::Outcome::Applied);

  Event hold;
  hold.id = "h1";
  hold.time = minutes(31);
  hold.kind = EventKind::Hold;
  hold.lots = {"Nobody"};
  const auto refused = ledger.apply(hold);
  REQUIRE(refused.outcome == twin::Outcome::Refused);
  REQUIRE(refused.refusal);
  CHECK(refused.refusal->reason == des::RefuseReason::UnknownLot);
  CHECK(refused.refusal->field == "lots[0]");
  CHECK(sim.now() == minutes(30));  // a refused event changes nothing, clock included

  // The same id resent (corrected or not) is a duplicate: the store already holds it as refused.
  hold.lots = {"X_1"};
  CHECK(ledger.apply(hold).outcome == twin::Outcome::Duplicate);

  // Stamped before the twin's time: applied now, counted late.
  Event late = hold;
  late.id = "h2";
  late.time = minutes(5);
  const auto o = ledger.apply(late);
  CHECK(o.outcome == twin::Outcome::Late);
  CHECK(o.applied());
  CHECK(sim.now() == minutes(30));

  const auto& c = ledger.counts();
  CHECK(c.applied == 2);
  CHECK(c.late == 1);
  CHECK(c.duplicate == 1);
  CHECK(c.refused == 1);
  CHECK(c.refused_by_reason[static_cast<int>(des::RefuseReason::UnknownLot)] == 1);
  CHECK(sim.event_counts() == c);  // nothing reached this twin around the ledger
}

TEST_CASE("events without an id are applied without a duplicate check", "[twin][ledger]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  twin::Ledger ledger(sim);
  CHECK(ledger.apply(release("", "X_1", minutes(1))).outcome == twin::Outcome::Applied);
  const auto second = ledger.apply(release("", "X_1", minutes(2)));
  CHECK(second.outcome == twin::Outcome::Refused);  // the twin refuses it: the lot exists
  CHECK(second.refusal->reason == des::RefuseReason::LotExists);
  CHECK(ledger.ids() == 0);
}
