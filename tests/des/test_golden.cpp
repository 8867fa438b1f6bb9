// Golden scenarios: tiny models whose event times were worked out by hand (times in minutes).
#include <catch2/catch.hpp>

#include "tiny_fab.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using fabtwin::test::minutes;
using fabtwin::test::TinyFab;
using fabtwin::test::Trace;

namespace {

struct Run {
  des::Simulation sim;
  Trace trace;
  Run(const Model& m, double until_min, std::uint64_t seed = 1)
      : sim(des::Simulation::create(m, des::Options{.seed = seed}).value()) {
    trace.sim = &sim;
    sim.add_observer(&trace);
    sim.run_until(SimTime{round_ms(until_min * kMsPerMinute)});
  }
  Run(const Run&) = delete;
  const Trace::Row& row(const std::string& lot, std::uint32_t step, std::uint32_t pass = 0) const {
    const auto* r = trace.find(lot, step, pass);
    if (!r) FAIL("no record of " << lot << " at step " << step << " pass " << pass);
    return *r;
  }
};

}  // namespace

TEST_CASE("a batch never starts below its minimum and is filled to its maximum in rank order",
          "[des][golden]") {
  TinyFab f;
  f.group("Furnace", 1);
  auto p = f.product("p", {{"Furnace", 100}});
  auto& s = f.step(p, 1);
  s.process_unit = ProcessUnit::PerBatch;
  s.batch_min = 50;           // wafers: 2 lots
  s.batch_max = 75;           // 3 lots
  f.order("L", p, 0, 10, 6);  // lots L_1..L_6 released at 0, 10, ..., 50
  Run r(f.build(), 1000);
  // L_1 waits for L_2; {L_1, L_2} run 10..110; then {L_3, L_4, L_5} 110..210; L_6 waits alone.
  CHECK(r.row("L_1", 1).start == 10);
  CHECK(r.row("L_2", 1).start == 10);
  CHECK(r.row("L_1", 1).end == 110);
  for (auto lot : {"L_3", "L_4", "L_5"}) {
    CHECK(r.row(lot, 1).start == 110);
    CHECK(r.row(lot, 1).end == 210);
  }
  // L_6 is alone below the minimum, but the order is exhausted and no other lot can come: it runs
  // alone when the furnace frees rather than wait forever.
  CHECK(r.row("L_6", 1).start == 210);
  CHECK(r.row("L_6", 1).end == 310);
}

TEST_CASE("a batch below its minimum waits while a compatible lot is still on its way", "[des][golden]") {
  TinyFab f;
  f.group("Furnace", 1);
  f.group("Clean", 1);
  auto p = f.product("p", {{"Clean", 30}, {"Furnace", 100}});
  auto& s = f.step(p, 2);
  s.process_unit = ProcessUnit::PerBatch;
  s.batch_min = 50;
  s.batch_max = 75;
  f.wip("W1", p, 2);  // waits at the furnace from 0
  f.wip("W2", p, 1);  // cleaned 0..30, then joins W1
  Run r(f.build(), 1000);
  CHECK(r.row("W1", 2).start == 30);
  CHECK(r.row("W2", 2).start == 30);
  CHECK(r.row("W1", 2).end == 130);
}

TEST_CASE("a cascading tool holds two lots in serial slots", "[des][golden]") {
  TinyFab f;
  f.group("Track", 1).cascade_capacity = 2;
  auto p = f.product("p", {{"Track", 10}});
  auto& s = f.step(p, 1);
  s.process_unit = ProcessUnit::PerPiece;  // 10 min per wafer, a wafer every 1 min through slot 1
  s.part_interval = Quantity{1, Unit::Minute};
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  f.wip("W3", p, 1);
  Run r(f.build(), 500);
  // A lone lot takes p + (n - 1) c = 10 + 24 = 34; the next lot enters once slot 1 is free at
  // n c = 25 and ends at 25 + 34 = 59.
  CHECK(r.row("W1", 1).start == 0);
  CHECK(r.row("W1", 1).end == 34);
  CHECK(r.row("W2", 1).start == 25);
  CHECK(r.row("W2", 1).end == 59);
  // W3 enters when W2's wafers have passed slot 1 (50), while W2 is still in slot 2.
  CHECK(r.row("W3", 1).start == 50);
  CHECK(r.row("W3", 1).end == 84);
}

TEST_CASE("on a cascading tool the next lot's load overlaps the previous lot's processing", "[des][golden]") {
  TinyFab f;
  auto& g = f.group("Track", 1);
  g.cascade_capacity = 2;
  g.load_time = Quantity{1, Unit::Minute};
  g.unload_time = Quantity{1, Unit::Minute};
  auto p = f.product("p", {{"Track", 10}});
  f.step(p, 1).process_unit = ProcessUnit::PerPiece;
  f.step(p, 1).part_interval = Quantity{1, Unit::Minute};
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  f.order("Hot", p, 20, 1000, 1, 20);
  Run r(f.build(), 500);
  // W1: load 0..1, wafers enter 1..26, ends 1 + 34 + 1 = 36. The next lot is taken at 25 (its
  // load ends as slot 1 frees at 26): the hot lot, released at 20, overtakes W2.
  CHECK(r.row("W1", 1).end == 36);
  CHECK(r.row("Hot_1", 1).start == 25);
  CHECK(r.row("Hot_1", 1).end == 26 + 34 + 1);
  CHECK(r.row("W2", 1).start == 50);  // Hot_1's wafers leave slot 1 at 51
  CHECK(r.row("W2", 1).end == 51 + 35);
}

TEST_CASE("a setup change is held for the setup group's minimum run while lots continue it",
          "[des][golden]") {
  TinyFab f;
  auto& g = f.group("Implant", 1, {RankKey::HighestPriority, RankKey::Fifo});
  g.rule = DispatchRule::LeastSetupMinRun;
  g.setup_group = SetupGroupId{0};
  auto pa = f.product("pa", {{"Implant", 30}});
  auto pb = f.product("pb", {{"Implant", 30}});
  const SetupId sa = f.setup("SA"), sb = f.setup("SB");
  f.step(pa, 1).setup = sa;
  f.step(pb, 1).setup = sb;
  f.d.setup_transitions = {{std::nullopt, sa, {10, Unit::Minute}, ""},
                           {std::nullopt, sb, {10, Unit::Minute}, ""}};
  f.d.setup_groups = {{"Gas", {{sa, 2, ""}, {sb, 2, ""}}}};
  f.wip("A1", pa, 1);
  f.wip("B1", pb, 1, 20);  // hot, but the run of SA is unfinished after A1 and A2 continues it
  f.wip("A2", pa, 1);
  f.wip("A3", pa, 1);
  f.order("B", pb, 200, 1000, 1);
  Run r(f.build(), 1000);
  CHECK(r.row("A1", 1).start == 0);
  CHECK(r.row("A1", 1).end == 40);  // 10 setup + 30
  CHECK(r.row("A2", 1).start == 40);
  CHECK(r.row("A2", 1).end == 70);    // no setup: same setup
  CHECK(r.row("B1", 1).start == 70);  // run of 2 done: the hot lot forces its setup
  CHECK(r.row("B1", 1).end == 110);
  // The run of SB is unfinished but no lot continues it: the tool changes rather than idle.
  CHECK(r.row("A3", 1).start == 110);
  CHECK(r.row("A3", 1).end == 150);
  CHECK(r.row("B_1", 1).start == 200);
  CHECK(r.row("B_1", 1).end == 240);
}

TEST_CASE("a minimum run waits for a lot that will continue it, already on its way", "[des][golden]") {
  TinyFab f;
  auto& g = f.group("Implant", 1, {RankKey::HighestPriority, RankKey::Fifo});
  g.rule = DispatchRule::LeastSetupMinRun;
  g.setup_group = SetupGroupId{0};
  f.group("Pre", 1);
  auto pa = f.product("pa", {{"Implant", 30}});
  auto pb = f.product("pb", {{"Implant", 30}});
  auto pc = f.product("pc", {{"Pre", 120}, {"Implant", 30}});
  const SetupId sa = f.setup("SA"), sb = f.setup("SB");
  f.step(pa, 1).setup = sa;
  f.step(pb, 1).setup = sb;
  f.step(pc, 2).setup = sb;
  f.d.setup_transitions = {{std::nullopt, sa, {10, Unit::Minute}, ""},
                           {std::nullopt, sb, {10, Unit::Minute}, ""}};
  f.d.setup_groups = {{"Gas", {{sa, 2, ""}, {sb, 2, ""}}}};
  f.wip("A1", pa, 1);
  f.wip("B1", pb, 1, 20);
  f.wip("A2", pa, 1);
  f.wip("A3", pa, 1);
  f.wip("C1", pc, 1);  // at Pre until 120, then needs SB at Implant
  Run r(f.build(), 1000);
  CHECK(r.row("B1", 1).start == 70);
  CHECK(r.row("B1", 1).end == 110);
  // The SB run is unfinished and C1 will continue it: the tool waits for C1 (110..120) rather
  // than set up for A3.
  CHECK(r.row("C1", 2).start == 120);
  CHECK(r.row("C1", 2).end == 150);
  CHECK(r.row("A3", 1).start == 150);
  CHECK(r.row("A3", 1).end == 190);
}

TEST_CASE("a dedicated step waits for the tool that ran its lens step", "[des][golden]") {
  TinyFab f;
  f.group("Litho", 2);
  f.group("Etch", 2);
  auto p = f.product("p", {{"Litho", 10}, {"Etch", 60}, {"Litho", 20}});
  f.step(p, 1).dedicate = true;
  f.step(p, 1).dedicate_for = f.step_id(p, 3);
  f.wip("W1", p, 1);             // Litho_1 0..10, Etch 10..70
  f.wip("W2", p, 1);             // Litho_2 0..10, Etch 10..70
  f.order("R", p, 65, 1000, 1);  // R_1 takes Litho_1 (idle longest, by list order) 65..75
  Run r(f.build(), 1000);
  CHECK(r.row("W1", 1).tool == "Litho_1");
  CHECK(r.row("W2", 1).tool == "Litho_2");
  CHECK(r.row("R_1", 1).tool == "Litho_1");
  CHECK(r.row("R_1", 1).start == 65);
  // W1 reaches step 3 at 70 while Litho_2 is idle, but waits for Litho_1 (free at 75).
  CHECK(r.row("W1", 3).tool == "Litho_1");
  CHECK(r.row("W1", 3).queued == 70);
  CHECK(r.row("W1", 3).start == 75);
  CHECK(r.row("W2", 3).tool == "Litho_2");
  CHECK(r.row("W2", 3).start == 70);
}

TEST_CASE("a breakdown while busy suspends processing until the repair ends", "[des][golden]") {
  TinyFab f;
  f.group("Etch", 1);
  auto p = f.product("p", {{"Etch", 60}});
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  f.d.down_calendars = {{"BRK", "mttf_by_cal", minutes(100000), minutes(20), ""}};
  f.d.attachments = {{false, 0, AttachTarget::Area, 0, minutes(30)}};  // first failure at 30
  Run r(f.build(), 1000);
  CHECK(r.row("W1", 1).start == 0);
  CHECK(r.row("W1", 1).end == 80);  // 60 processing + 20 repair
  CHECK(r.row("W2", 1).start == 80);
  CHECK(r.row("W2", 1).end == 140);
  // Tool states: busy at 0, down 30..50, busy again until 80.
  std::vector<std::pair<des::ToolState, double>> seen;
  for (const auto& [tool, st, at] : r.trace.tool_states) seen.emplace_back(st, at);
  REQUIRE(seen.size() >= 3);
  CHECK(seen[0] == std::pair{des::ToolState::Productive, 0.0});
  CHECK(seen[1] == std::pair{des::ToolState::UnscheduledDown, 30.0});
  CHECK(seen[2] == std::pair{des::ToolState::Productive, 50.0});
  const auto k = r.sim.kpis();
  CHECK(k.tool_groups[0].unscheduled_down == Approx(20.0 / 1000));
}

TEST_CASE("a due PM waits for the running lot, then blocks new starts for its duration", "[des][golden]") {
  TinyFab f;
  f.group("Litho", 1);
  auto p = f.product("p", {{"Litho", 90}});
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  PmCalendar pm;
  pm.name = "PM_DAY";
  pm.trigger = PmTrigger::Calendar;
  pm.interval = Quantity{1, Unit::Day};
  pm.duration = Distribution::constant(2, Unit::Hour);
  f.d.pm_calendars = {pm};
  f.d.attachments = {{true, 0, AttachTarget::ToolGroup, 0, Distribution::constant(60, Unit::Minute)}};
  Run r(f.build(), 3000);
  CHECK(r.row("W1", 1).end == 90);
  CHECK(r.row("W2", 1).start == 210);  // PM 90..210
  CHECK(r.row("W2", 1).end == 300);
  // Start to start: the next PM at 90 + 1440.
  bool second_pm = false;
  for (const auto& [tool, st, at] : r.trace.tool_states)
    if (st == des::ToolState::ScheduledDown && at == 90 + 1440) second_pm = true;
  CHECK(second_pm);
}

TEST_CASE("a reworked lot goes back to its rework step and repeats the loop", "[des][golden]") {
  TinyFab f;
  f.group("Litho", 1);
  f.group("Met", 1);
  auto p = f.product("p", {{"Litho", 10}, {"Met", 10}});
  f.step(p, 2).rework_step = f.step_id(p, 1);
  f.step(p, 2).rework_percent = 50;
  f.wip("W1", p, 1);
  // Seed 3: the first pass at step 2 draws a rework, the second does not (pinned trace).
  Run r(f.build(), 1000, 3);
  CHECK(r.row("W1", 1, 0).end == 10);
  CHECK(r.row("W1", 2, 0).end == 20);
  CHECK(r.row("W1", 1, 1).start == 20);
  CHECK(r.row("W1", 2, 1).end == 40);
  CHECK(r.trace.find("W1", 1, 2) == nullptr);
  REQUIRE(r.sim.completed_lots().size() == 1);
  CHECK(r.sim.completed_lots()[0].reworks == 1);
  CHECK(to_minutes(r.sim.completed_lots()[0].completed.time_since_epoch()) == 40);
}

TEST_CASE("a lot not sampled skips the step in zero time", "[des][golden]") {
  TinyFab f;
  f.group("A", 1);
  f.group("Met", 1);
  auto p = f.product("p", {{"A", 10}, {"Met", 30}, {"A", 10}});
  f.step(p, 2).sample_percent = 0;
  f.wip("W1", p, 1);
  Run r(f.build(), 1000);
  CHECK(r.trace.find("W1", 2) == nullptr);
  CHECK(r.row("W1", 3).queued == 10);
  CHECK(r.row("W1", 3).end == 20);
}

TEST_CASE("a critical queue time exceeded is counted, not enforced", "[des][golden]") {
  TinyFab f;
  f.group("Clean", 1);
  f.group("Wait", 1);
  f.group("Furnace", 1);
  auto p = f.product("p", {{"Clean", 10}, {"Wait", 30}, {"Furnace", 10}});
  f.step(p, 1).cqt_to = f.step_id(p, 3);
  f.step(p, 1).cqt = Quantity{15, Unit::Minute};  // from end of step 1 (10) to start of step 3 (40)
  f.wip("W1", p, 1);
  auto q = f.product("q", {{"Clean", 5}, {"Furnace", 5}});
  f.step(q, 1).cqt_to = f.step_id(q, 2);
  f.step(q, 1).cqt = Quantity{15, Unit::Minute};
  f.order("Q", q, 100, 1000, 1);  // within its limit: Clean 100..105, Furnace 105..110
  Run r(f.build(), 1000);
  CHECK(r.row("W1", 3).start == 40);
  CHECK(r.row("Q_1", 2).start == 105);
  const auto k = r.sim.kpis();
  CHECK(k.cqt_checks == 2);
  CHECK(k.cqt_violations == 1);
}

TEST_CASE("a hot lot overtakes normal lots waiting in the queue", "[des][golden]") {
  TinyFab f;
  f.group("Etch", 1);
  auto p = f.product("p", {{"Etch", 10}});
  f.wip("N1", p, 1);
  f.wip("N2", p, 1);
  f.order("Hot", p, 5, 1000, 1, 20);
  Run r(f.build(), 1000);
  CHECK(r.row("N1", 1).start == 0);
  CHECK(r.row("Hot_1", 1).start == 10);
  CHECK(r.row("N2", 1).start == 20);
}

TEST_CASE("load and unload add to the step time; setups come from setup.txt or STIME", "[des][golden]") {
  TinyFab f;
  auto& g = f.group("Implant", 1, {RankKey::HighestPriority, RankKey::LeastSetup, RankKey::Fifo});
  g.load_time = Quantity{1, Unit::Minute};
  g.unload_time = Quantity{2, Unit::Minute};
  auto pa = f.product("pa", {{"Implant", 30}});
  auto pb = f.product("pb", {{"Implant", 30}});
  const SetupId sa = f.setup("SA"), sb = f.setup("SB");
  f.step(pa, 1).setup = sa;
  f.step(pb, 1).setup = sb;
  f.step(pb, 1).setup_time = Quantity{5, Unit::Minute};
  f.d.setup_transitions = {{std::nullopt, sa, {10, Unit::Minute}, ""}, {sa, sb, {7, Unit::Minute}, ""}};
  f.wip("A1", pa, 1);
  f.wip("B1", pb, 1);
  f.wip("A2", pa, 1);
  Run r(f.build(), 1000);
  CHECK(r.row("A1", 1).end == 43);    // 10 setup + 1 + 30 + 2
  CHECK(r.row("A2", 1).start == 43);  // rank_RSETUP: no setup beats FIFO
  CHECK(r.row("A2", 1).end == 76);
  CHECK(r.row("B1", 1).end == 76 + 5 + 33);  // the step's STIME overrides setup.txt's 7
}

TEST_CASE("rank_RSETUP: the tool takes a lot needing no setup before an earlier lot needing one",
          "[des][golden]") {
  auto model = [](std::vector<RankKey> ranks) {
    TinyFab f;
    f.group("Implant", 1, std::move(ranks));
    f.group("Pre", 2);
    auto pa1 = f.product("pa1", {{"Implant", 30}});
    auto pa2 = f.product("pa2", {{"Pre", 15}, {"Implant", 30}});
    auto pb = f.product("pb", {{"Pre", 5}, {"Implant", 30}});
    const SetupId sa = f.setup("SA"), sb = f.setup("SB");
    f.step(pa1, 1).setup = sa;
    f.step(pa2, 2).setup = sa;
    f.step(pb, 2).setup = sb;
    f.d.setup_transitions = {{std::nullopt, sa, {10, Unit::Minute}, ""},
                             {std::nullopt, sb, {10, Unit::Minute}, ""},
                             {sa, sb, {7, Unit::Minute}, ""},
                             {sb, sa, {8, Unit::Minute}, ""}};
    f.wip("A1", pa1, 1);  // at Implant from 0: setup SA 0..10, runs to 40
    f.wip("B1", pb, 1);   // joins the Implant queue at 5, needs SB (7 from SA)
    f.wip("A2", pa2, 1);  // joins at 15, needs SA: no setup after A1
    return f.build();
  };
  SECTION("rank_RSETUP then rank_FIFO") {
    Run r(model({RankKey::LeastSetup, RankKey::Fifo}), 1000);
    CHECK(r.row("A1", 1).end == 40);
    CHECK(r.row("B1", 2).queued == 5);
    CHECK(r.row("A2", 2).queued == 15);
    CHECK(r.row("A2", 2).start == 40);  // setup 0 beats B1's 7, though B1 came first
    CHECK(r.row("A2", 2).end == 70);
    CHECK(r.row("B1", 2).start == 70);
    CHECK(r.row("B1", 2).end == 107);  // 7 setup SA -> SB + 30
  }
  SECTION("rank_FIFO alone: the same queue in arrival order") {
    Run r(model({RankKey::Fifo}), 1000);
    CHECK(r.row("B1", 2).start == 40);
    CHECK(r.row("B1", 2).end == 77);  // 7 + 30
    CHECK(r.row("A2", 2).start == 77);
    CHECK(r.row("A2", 2).end == 115);  // 8 setup SB -> SA + 30
  }
}

TEST_CASE("wake_LeastSetupTime: an arriving lot goes to the idle tool needing the least setup",
          "[des][golden]") {
  auto model = [](WakeRule wake) {
    TinyFab f;
    f.group("Implant", 3).wake = wake;
    auto pa0 = f.product("pa0", {{"Implant", 35}});
    auto pb0 = f.product("pb0", {{"Implant", 30}});
    auto pa = f.product("pa", {{"Implant", 30}});
    const SetupId sa = f.setup("SA"), sb = f.setup("SB");
    f.step(pa0, 1).setup = sa;
    f.step(pb0, 1).setup = sb;
    f.step(pa, 1).setup = sa;
    // Every change of setup takes 10 minutes.
    f.d.setup_transitions = {{std::nullopt, sa, {10, Unit::Minute}, ""},
                             {std::nullopt, sb, {10, Unit::Minute}, ""},
                             {sa, sb, {10, Unit::Minute}, ""},
                             {sb, sa, {10, Unit::Minute}, ""}};
    f.wip("A0", pa0, 1);  // all three tools need 10: the first idle takes it, Implant_1 0..45 (SA)
    f.wip("B0", pb0, 1);  // Implant_2 0..40 (SB)
    // Idle from then on: Implant_3 since 0 (no setup), Implant_2 since 40 (SB), Implant_1 since 45 (SA).
    f.order("A", pa, 100, 10, 2);  // A_1 at 100, A_2 at 110, both needing SA
    return f.build();
  };
  SECTION("least setup first, ties to the tool idle longest") {
    Run r(model(WakeRule::LeastSetupTime), 1000);
    CHECK(r.row("A0", 1).tool == "Implant_1");
    CHECK(r.row("A0", 1).end == 45);
    CHECK(r.row("B0", 1).tool == "Implant_2");
    CHECK(r.row("B0", 1).end == 40);
    // A_1 needs 0 on Implant_1 (idle the shortest), 10 on the others.
    CHECK(r.row("A_1", 1).tool == "Implant_1");
    CHECK(r.row("A_1", 1).start == 100);
    CHECK(r.row("A_1", 1).end == 130);
    // A_2 needs 10 on Implant_2 and Implant_3: Implant_3, idle since 0, beats Implant_2 (since 40).
    CHECK(r.row("A_2", 1).tool == "Implant_3");
    CHECK(r.row("A_2", 1).start == 110);
    CHECK(r.row("A_2", 1).end == 150);
  }
  SECTION("the default wake rule: the tool idle longest, whatever its setup") {
    Run r(model(WakeRule::LongestIdle), 1000);
    CHECK(r.row("A_1", 1).tool == "Implant_3");
    CHECK(r.row("A_1", 1).end == 140);  // 10 setup + 30
    CHECK(r.row("A_2", 1).tool == "Implant_2");
    CHECK(r.row("A_2", 1).end == 150);
  }
}
