// Follow-mode twin: a lot between a track-out and its arrival is in transport; scheduled work
// (a setup end) runs on time after an event applied between two kernel events.
#include <catch2/catch.hpp>
#include <map>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using des::Event;
using des::EventKind;

namespace {

SimTime minute(double m) { return SimTime{round_ms(m * kMsPerMinute)}; }

des::LotView lot_view(const des::Simulation& s, const std::string& name) {
  for (const auto& v : s.view().lots)
    if (v.name == name) return v;
  FAIL("no lot " << name);
  return {};
}

struct ToolStates : des::Observer {
  std::vector<std::pair<des::ToolState, SimTime>> seen;
  void on_tool_state(ToolId, des::ToolState s, SimTime t) override { seen.emplace_back(s, t); }
};

}  // namespace

TEST_CASE(
    "follow mode: after a track-out naming the next step, the lot is in transport there until its lot_queued",
    "[des][twin]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  // Init_A_2 (part_A) waits at step 3 (Litho_E) from the start.
  REQUIRE(sim.apply(Event{.id = "1",
                          .time = minute(10),
                          .kind = EventKind::TrackIn,
                          .lots = {"Init_A_2"},
                          .tool = "Litho_E_1",
                          .step = 3})
              .ok());
  REQUIRE(sim.apply(Event{.id = "2",
                          .time = minute(60),
                          .kind = EventKind::TrackOut,
                          .lots = {"Init_A_2"},
                          .tool = "Litho_E_1",
                          .step = 3,
                          .next_step = 4})
              .ok());
  auto v = lot_view(sim, "Init_A_2");
  CHECK(v.place == des::LotPlace::InTransport);
  CHECK(m.step(v.step).number == 4);  // on its way to step 4, as during a simulated transport
  CHECK(v.since == minute(60));
  const auto implant = m.find_tool_group("Implant_CD").value();
  for (const auto& q : sim.view().queues)
    if (q.group == implant)
      for (const auto& l : q.lots) CHECK(l.lot != "Init_A_2");

  SECTION("its lot_queued puts it in the queue at the arrival time") {
    REQUIRE(
        sim
            .apply(Event{
                .id = "3", .time = minute(67), .kind = EventKind::LotQueued, .lots = {"Init_A_2"}, .step = 4})
            .ok());
    v = lot_view(sim, "Init_A_2");
    CHECK(v.place == des::LotPlace::Queued);
    CHECK(v.group == implant);
    CHECK(v.since == minute(67));
  }
  SECTION("a track-in without a step starts the step it is on its way to") {
    REQUIRE(sim.apply(Event{.id = "3",
                            .time = minute(70),
                            .kind = EventKind::TrackIn,
                            .lots = {"Init_A_2"},
                            .tool = "Implant_CD_1"})
                .ok());
    v = lot_view(sim, "Init_A_2");
    CHECK(v.place == des::LotPlace::OnTool);
    CHECK(m.step(v.step).number == 4);
  }
  SECTION("a forecast fork moves it on to that step") {
    auto f = sim.fork();
    f.set_mode(des::Mode::Autonomous);
    f.run_until(minute(75));
    v = lot_view(f, "Init_A_2");
    CHECK(m.step(v.step).number == 4);
    CHECK(v.pass == 0);
    CHECK(v.place != des::LotPlace::InTransport);  // arrived after a simulated transport (5..10 min)
  }
}

TEST_CASE("a setup started by an event between two kernel events ends on time", "[des][twin]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  ToolStates states;
  sim.add_observer(&states);
  // The clock stops between kernel events (the next one is the 180-minute release), then a
  // track-in schedules its setup end before that release.
  sim.run_until(minute(68));
  REQUIRE(sim.apply(Event{.id = "1",
                          .time = minute(68),
                          .kind = EventKind::TrackIn,
                          .lots = {"Init_B_2"},
                          .tool = "Implant_CD_2"})
              .ok());
  const auto tool = sim.find_tool("Implant_CD_2").value();
  const SimTime setup_end = sim.view().tools[tool.index()].lots.at(0).setup_end;
  REQUIRE(setup_end > minute(68));
  REQUIRE(setup_end < minute(131));
  sim.run_until(minute(131));
  REQUIRE(states.seen.size() == 2);
  CHECK(states.seen[0] == std::pair{des::ToolState::Setup, minute(68)});
  CHECK(states.seen[1] == std::pair{des::ToolState::Productive, setup_end});
  // Nothing is left behind the clock: the state checkpoints and restores.
  auto back = des::Simulation::restore(m, sim.options(), sim.save());
  INFO((back.ok() ? std::string() : back.error().what()));
  CHECK(back.ok());
}

// A follow-mode twin does not see the fab's failure clocks or how long a PM will take: a forecast
// fork (set_mode(Autonomous) after fork(seed)) draws them, each replication with its own seed.
TEST_CASE("forecast forks of a follow twin draw failures of their own, and a PM's end given its elapsed time",
          "[des][twin]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();

  SECTION("the first failure after the fork differs between replication seeds") {
    sim.run_until(minute(2 * 24 * 60));
    // The first unscheduled down of each tool within 20 days, per seed.
    auto first_failures = [&](std::uint64_t seed) {
      struct Downs : des::Observer {
        std::map<std::uint32_t, SimTime> first;
        void on_tool_state(ToolId t, des::ToolState s, SimTime at) override {
          if (s == des::ToolState::UnscheduledDown) first.emplace(t.index(), at);
        }
      } downs;
      auto f = sim.fork(seed);
      f.set_mode(des::Mode::Autonomous);
      f.add_observer(&downs);
      f.run_until(minute(22 * 24 * 60));
      f.remove_observer(&downs);
      return downs.first;
    };
    const auto a = first_failures(11), b = first_failures(12), a_again = first_failures(11);
    REQUIRE(a.size() >= 3);  // the mini-fab's tools fail every 3 days on average
    CHECK(a == a_again);     // reproducible per seed
    std::size_t differ = 0;
    for (const auto& [tool, at] : a)
      if (!b.count(tool) || b.at(tool) != at) ++differ;
    CHECK(differ == a.size());  // the shadow clocks of follow mode are not kept
  }

  SECTION("a PM under way ends within its duration from its start, not from the fork") {
    // Litho_E_WK: uniform 6 +- 1 h. Started at minute 10; forked 4.5 h later.
    REQUIRE(sim.apply(Event{.id = "pm",
                            .time = minute(10),
                            .kind = EventKind::PmStart,
                            .tool = "Litho_E_1",
                            .calendar = "Litho_E_WK"})
                .ok());
    sim.run_until(minute(10 + 270));
    const auto tool = sim.find_tool("Litho_E_1").value();
    for (std::uint64_t seed = 1; seed <= 20; ++seed) {
      auto f = sim.fork(seed);
      f.set_mode(des::Mode::Autonomous);
      const auto until = f.view().tools[tool.index()].down_until;
      REQUIRE(until.has_value());
      CHECK(*until > minute(10 + 270));
      CHECK(*until <= minute(10 + 7 * 60));  // drawn afresh from the fork: 5 to 7 h from now
    }
  }
}
