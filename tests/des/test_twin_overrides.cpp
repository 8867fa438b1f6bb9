// Reality wins: events applied to an AUTONOMOUS simulation override what it had scheduled (job
// ends, repairs, PM ends), late events are applied now and counted, duplicates are only counted.
// Tiny models with constant times (minutes), worked out by hand.
#include <catch2/catch.hpp>

#include "tiny_fab.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;
using des::LotPlace;
using des::ToolState;

namespace {

struct Auto {
  des::Simulation sim;
  Trace trace;
  Recorder rec;
  explicit Auto(const Model& m, des::Mode mode = des::Mode::Autonomous)
      : sim(des::Simulation::create(m, des::Options{.seed = 1, .mode = mode}).value()) {
    trace.sim = &sim;
    rec.sim = &sim;
    sim.add_observer(&trace);
    sim.add_observer(&rec);
  }
  Auto(const Auto&) = delete;
  des::ApplyResult ok(const des::Event& e) {
    const auto r = sim.apply(e);
    INFO(to_string(e.kind) << " " << (r.refused ? r.refused->what() : ""));
    REQUIRE(r.ok());
    return r;
  }
  std::size_t rows(const std::string& lot, std::uint32_t step) const {
    std::size_t n = 0;
    for (const auto& r : trace.rows) n += r.lot == lot && r.step_number == step;
    return n;
  }
};

// Etch (60 min) then Clean (10 min), one tool each.
Model etch_clean(bool breakdowns = false) {
  TinyFab f;
  f.group("Etch", 1);
  f.group("Clean", 1);
  auto p = f.product("p", {{"Etch", 60}, {"Clean", 10}});
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  if (breakdowns) {
    // Etch fails at 30, 20 min to repair, the next failure 100 min after each repair.
    f.d.down_calendars = {{"BRK", "mttf_by_cal", minutes(100), minutes(20), ""}};
    f.d.attachments = {{false, 0, AttachTarget::ToolGroup, 0, minutes(30)}};
  }
  return f.build();
}

}  // namespace

TEST_CASE("a track-out before the simulated job end finishes the lot once, at the event's time",
          "[des][twin]") {
  const Model m = etch_clean();
  Auto a(m);
  // Simulated: W1 on Etch 0..60. The MES reports it done at 30: W1 moves on (Clean 30..40, done),
  // Etch takes W2 at 30 (30..90). The simulated end of W1's job at 60 must not fire: W1 is not
  // finished twice and W2's job is not cut short.
  a.sim.run_until(at_min(30));  // see "an event is checked against the state at its own time" below
  a.ok(track_out("W1", "Etch_1", 1, 30));
  a.sim.run_until(at_min(200));
  CHECK(a.rows("W1", 1) == 1);
  CHECK(a.trace.find("W1", 1)->end == 30);
  CHECK(a.trace.find("W1", 2)->start == 30);
  CHECK(a.trace.find("W1", 2)->end == 40);
  CHECK(a.trace.find("W2", 1)->start == 30);
  CHECK(a.trace.find("W2", 1)->end == 90);
  CHECK(a.rows("W2", 1) == 1);
  CHECK(a.sim.completed_lots().size() == 2);
  const auto k = a.sim.live_kpis();
  CHECK(k.moves == 4);
  CHECK(k.lots_completed == 2);
  CHECK(to_minutes(a.sim.completed_lots()[0].completed.time_since_epoch()) == 40);
}

TEST_CASE("a track-out of one lot of a batch leaves the others to end as simulated", "[des][twin]") {
  TinyFab f;
  f.group("Furnace", 1);
  auto p = f.product("p", {{"Furnace", 100}});
  f.step(p, 1).process_unit = ProcessUnit::PerBatch;
  f.step(p, 1).batch_min = 50;
  f.step(p, 1).batch_max = 50;
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  const Model m = f.build();
  Auto a(m);
  a.sim.run_until(at_min(1));
  REQUIRE(tool_of(a.sim.view(), a.sim, "Furnace_1").lots.size() == 2);  // {W1, W2} 0..100
  a.ok(track_out("W1", "Furnace_1", 1, 50));
  a.sim.run_until(at_min(300));
  CHECK(a.rows("W1", 1) == 1);
  CHECK(a.rows("W2", 1) == 1);
  CHECK(a.trace.find("W1", 1)->end == 50);
  CHECK(a.trace.find("W2", 1)->end == 100);
  CHECK(a.sim.completed_lots().size() == 2);
}

TEST_CASE("a repair reported before the simulated one: up then, the repair cancelled, the next failure kept",
          "[des][twin]") {
  const Model m = etch_clean(true);
  // Simulated alone: Etch down 30..50 with W1 on it (60 min of work: ends 80); next failure 150.
  Auto base(m);
  base.sim.run_until(at_min(250));
  CHECK(base.rec.entered("Etch_1", ToolState::UnscheduledDown) == std::vector<double>{30, 150});
  CHECK(base.trace.find("W1", 1)->end == 80);

  // Repaired at 40 as the MES says: W1 was suspended 30..40 only (ends 70); nothing happens at 50;
  // the next failure comes 100 min after this repair: 140 .. 160.
  Auto a(m);
  a.sim.run_until(at_min(35));
  REQUIRE(a.sim.tool_state(a.sim.find_tool("Etch_1").value()) == ToolState::UnscheduledDown);
  a.ok(tool_state("Etch_1", ToolState::Standby, 40));
  CHECK(tool_of(a.sim.view(), a.sim, "Etch_1").state == ToolState::Productive);
  CHECK(tool_of(a.sim.view(), a.sim, "Etch_1").since == at_min(40));
  CHECK(tool_of(a.sim.view(), a.sim, "Etch_1").lots.at(0).expected_end == at_min(70));
  a.sim.run_until(at_min(250));
  CHECK(a.trace.find("W1", 1)->end == 70);
  CHECK(a.trace.find("W2", 1)->start == 70);
  using S = std::tuple<std::string, ToolState, double>;
  std::vector<S> etch;
  for (const auto& s : a.rec.states)
    if (std::get<0>(s) == "Etch_1") etch.push_back(s);
  // W2 follows W1 at 70 (60 min: 70..130); the next failure finds Etch idle at 140.
  CHECK(etch == std::vector<S>{{"Etch_1", ToolState::Productive, 0},
                               {"Etch_1", ToolState::UnscheduledDown, 30},
                               {"Etch_1", ToolState::Productive, 40},
                               {"Etch_1", ToolState::Standby, 70},
                               {"Etch_1", ToolState::Productive, 70},
                               {"Etch_1", ToolState::Standby, 130},
                               {"Etch_1", ToolState::UnscheduledDown, 140},
                               {"Etch_1", ToolState::Standby, 160}});
}

TEST_CASE("a repair reported early keeps the tool's failure draws: the next failure is the same draw later",
          "[des][twin]") {
  // Mini-fab, exponential failures: the time from a repair to the next failure is the calendar's
  // next draw whenever the repair happens (draws keyed by occurrence).
  const Model& m = minifab_model();
  Auto base(m);
  base.sim.run_until(at_day(30));
  const auto& st = base.rec.states;
  // Litho_E_1's first failure and what follows it.
  std::size_t i = 0;
  while (i < st.size() &&
         !(std::get<0>(st[i]) == "Litho_E_1" && std::get<1>(st[i]) == ToolState::UnscheduledDown))
    ++i;
  REQUIRE(i < st.size());
  const double f1 = std::get<2>(st[i]);
  std::size_t j = i + 1;
  while (j < st.size() && std::get<0>(st[j]) != "Litho_E_1") ++j;
  REQUIRE(j < st.size());
  const double r1 = std::get<2>(st[j]);  // repaired (up, or into a PM that was waiting)
  const auto fails = base.rec.entered("Litho_E_1", ToolState::UnscheduledDown);
  REQUIRE(fails.size() >= 2);
  const double f2 = fails[1];
  INFO("first failure " << f1 << ".." << r1 << ", next " << f2);
  REQUIRE(r1 - f1 > 2.0 / 60);

  Auto a(m);
  a.sim.run_until(SimTime{round_ms(f1 * kMsPerMinute)});
  REQUIRE(a.sim.tool_state(a.sim.find_tool("Litho_E_1").value()) == ToolState::UnscheduledDown);
  const double up = std::floor((f1 + r1) / 2 * 60000) / 60000;  // a whole ms between failure and repair
  a.ok(tool_state("Litho_E_1", ToolState::Standby, up));
  a.sim.run_until(at_day(30));
  const auto fa = a.rec.entered("Litho_E_1", ToolState::UnscheduledDown);
  REQUIRE(fa.size() >= 2);
  CHECK(fa[0] == f1);
  CHECK(fa[1] == Approx(up + (f2 - r1)).margin(1e-6));
}

TEST_CASE("a down reported over a simulated failure replaces its repair but keeps the failure calendar",
          "[des][twin]") {
  const Model m = etch_clean(true);
  // Simulated failure 30 (repair due 50). The MES reports the tool down until 60: the simulated
  // repair at 50 is cancelled, the tool comes up at 60, and fails again 100 min later, at 160.
  Auto a(m);
  a.sim.run_until(at_min(35));
  a.ok(tool_state("Etch_1", ToolState::UnscheduledDown, 35, 60));
  CHECK(tool_of(a.sim.view(), a.sim, "Etch_1").down_until == std::optional{at_min(60)});
  a.sim.run_until(at_min(55));
  CHECK(a.sim.tool_state(a.sim.find_tool("Etch_1").value()) == ToolState::UnscheduledDown);
  a.sim.run_until(at_min(250));
  // W1: 60 min of work, suspended 30..60: ends 90.
  CHECK(a.trace.find("W1", 1)->end == 90);
  CHECK(a.rec.entered("Etch_1", ToolState::UnscheduledDown) == std::vector<double>{30, 160});
}

TEST_CASE("autonomous: a job on a tool reported down is suspended until the tool is up again",
          "[des][twin]") {
  const Model m = etch_clean();
  SECTION("down with a known end") {
    // W1 on Etch 0..60; down 30..90 (reported with its end): W1 ends 60 + 60 = 120, W2 follows.
    Auto a(m);
    a.ok(tool_state("Etch_1", ToolState::UnscheduledDown, 30, 90));
    a.sim.run_until(at_min(89));
    CHECK(a.sim.tool_state(a.sim.find_tool("Etch_1").value()) == ToolState::UnscheduledDown);
    CHECK(a.trace.find("W1", 1) == nullptr);
    a.sim.run_until(at_min(400));
    CHECK(a.rec.entered("Etch_1", ToolState::Productive) == std::vector<double>{0, 90, 120});
    REQUIRE(a.trace.find("W1", 1) != nullptr);
    CHECK(a.trace.find("W1", 1)->end == 120);
    CHECK(a.trace.find("W2", 1)->start == 120);
  }
  SECTION("down until reported up") {
    Auto a(m);
    a.ok(tool_state("Etch_1", ToolState::Engineering, 30));
    a.sim.run_until(at_min(200));
    CHECK(a.trace.find("W1", 1) == nullptr);  // still suspended
    CHECK(a.sim.tool_state(a.sim.find_tool("Etch_1").value()) == ToolState::Engineering);
    a.ok(tool_state("Etch_1", ToolState::Standby, 200));
    // Suspended 30..200: 60 + 170 = 230.
    CHECK(tool_of(a.sim.view(), a.sim, "Etch_1").lots.at(0).expected_end == at_min(230));
    a.sim.run_until(at_min(400));
    CHECK(a.trace.find("W1", 1)->end == 230);
  }
  SECTION("a reported PM") {
    Auto a(m);
    a.ok(pm_start("Etch_1", 30, "", 90));
    a.sim.run_until(at_min(400));
    CHECK(a.rec.entered("Etch_1", ToolState::ScheduledDown) == std::vector<double>{30});
    REQUIRE(a.trace.find("W1", 1) != nullptr);
    CHECK(a.trace.find("W1", 1)->end == 120);
  }
}

TEST_CASE("a late event is applied now and counted late; the clock does not go back", "[des][twin]") {
  const Model m = etch_clean();
  Auto a(m);
  a.sim.run_until(at_min(100));
  const auto before = a.sim.event_counts();
  const auto r = a.ok(hold("W2", 50));  // stamped before now (100)
  CHECK(r.late);
  CHECK(a.sim.now() == at_min(100));
  CHECK(a.sim.event_counts().late == before.late + 1);
  CHECK(a.sim.event_counts().applied == before.applied + 1);
  CHECK(lot_of(a.sim.view(), "W2").held);
  // A late release: the lot is released now (its stamp is the caller's to keep).
  const auto r2 = a.ok(released("X1", "p", 20));
  CHECK(r2.late);
  CHECK(lot_of(a.sim.view(), "X1").released == at_min(100));
  CHECK(lot_of(a.sim.view(), "X1").since == at_min(100));
  CHECK(a.sim.event_counts().late == before.late + 2);
  CHECK(a.sim.view().counts.late == before.late + 2);
  // An event at now is not late.
  CHECK_FALSE(a.ok(unhold("W2", 100)).late);

  // Follow mode the same.
  Auto f(m, des::Mode::Follow);
  f.sim.run_until(at_min(100));
  const auto rf = f.ok(track_in({"W1"}, "Etch_1", 1, 10));
  CHECK(rf.late);
  CHECK(tool_of(f.sim.view(), f.sim, "Etch_1").lots.at(0).start == at_min(100));
  CHECK(f.sim.event_counts().late == 1);
}

TEST_CASE("a duplicate is only counted: the state is unchanged, the version raised", "[des][twin]") {
  auto sim = follow_twin(minifab_model());
  REQUIRE(sim.apply(released("EXT-1", "part_A", 10)).ok());
  const auto before = sim.view();
  sim.count_duplicate();
  const auto after = sim.view();
  CHECK(after.version > before.version);
  CHECK(after.counts.duplicate == before.counts.duplicate + 1);
  CHECK(after.counts.applied == before.counts.applied);
  CHECK(after.counts.refused == before.counts.refused);
  CHECK(without_counts(after) == without_counts(before));
  CHECK(sim.event_counts().duplicate == 1);
  // The delta since the duplicate carries the counts.
  const auto d = sim.changes_since(before.version);
  REQUIRE(d);
  CHECK(d->counts.duplicate == 1);
  auto k = before;
  des::apply_delta(k, *d);
  CHECK(k == after);
}

TEST_CASE("an event stamped ahead is checked against the state at its own time (autonomous)", "[des][twin]") {
  // An event valid only once the simulation has moved on (here: W1 is put on Etch at 0 by the
  // simulation, its track-out reported for 30 while now() is still 0, before W1's arrival event
  // ran) is applied: apply checks it on a scratch copy run to its time (a refused event still does
  // not move the clock).
  const Model m = etch_clean();
  Auto a(m);
  const auto r = a.sim.apply(track_out("W1", "Etch_1", 1, 30));
  INFO((r.refused ? r.refused->what() : "applied"));
  CHECK(r.ok());
}
