// Every class of refused event (des::RefuseReason): the refusal names its reason and field, and the
// twin is unchanged (its view equal to before, clock included) but for the counts and the version.
#include <catch2/catch.hpp>
#include <set>

#include "tiny_fab.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;
using des::RefuseReason;
using des::ToolState;

namespace {

struct Refusals {
  des::Simulation sim;
  std::set<RefuseReason> seen;

  explicit Refusals(const Model& m, des::Mode mode = des::Mode::Follow)
      : sim(des::Simulation::create(m, des::Options{.seed = 1, .mode = mode}).value()) {}

  void ok(const des::Event& e) {
    const auto r = sim.apply(e);
    INFO(to_string(e.kind) << " " << (r.refused ? r.refused->what() : ""));
    REQUIRE(r.ok());
  }
  // `e` is stamped 10 min after now unless it says otherwise: a refused event must not move the clock.
  void refused(des::Event e, RefuseReason reason, const std::string& field, bool restamp = true) {
    if (restamp) e.time = sim.now() + Duration{600'000};
    const auto before = sim.view();
    const auto r = sim.apply(e);
    INFO(to_string(e.kind) << " expected " << to_string(reason) << " on " << field << "; got "
                           << (r.refused ? std::string(to_string(r.refused->reason)) + " " + r.refused->what()
                                         : "applied"));
    REQUIRE(r.refused);
    CHECK(r.refused->reason == reason);
    CHECK(r.refused->field == field);
    CHECK_FALSE(r.refused->message.empty());
    CHECK(r.refused->what().find(field) == 0);
    CHECK_FALSE(r.late);
    const auto after = sim.view();
    CHECK(without_counts(after) == without_counts(before));
    CHECK(after.version > before.version);
    CHECK(after.counts.refused == before.counts.refused + 1);
    const int k = static_cast<int>(reason);
    CHECK(after.counts.refused_by_reason[k] == before.counts.refused_by_reason[k] + 1);
    CHECK(after.counts.applied == before.counts.applied);
    CHECK(after.counts.late == before.counts.late);
    seen.insert(reason);
  }
};

}  // namespace

TEST_CASE("every refusal class names its reason and field and leaves the twin unchanged", "[des][twin]") {
  // All on one twin, one after another: each refusal leaves the state as it was for the next.
  Refusals t(minifab_model());
  // The state the events are refused against (mini-fab, follow mode):
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 1));                    // Litho_E_1 busy with Init_A_2 (step 3)
  t.ok(hold("Init_B_2", 2));                                          // Init_B_2 held in the Implant_CD queue
  t.ok(tool_state("Diffusion_AB_2", ToolState::UnscheduledDown, 3));  // down, not in a PM
  t.ok(pm_start("Implant_CD_2", 4, "Implant_CD_PC"));                 // in a PM
  t.ok(track_in({"Init_A_1"}, "Implant_CD_1", 2, 4));  // Implant_CD_1 busy with Init_A_1 (step 2)
  t.ok(track_in({"Init_B_1"}, "Diffusion_AB_1", 1, 5));
  t.ok(track_out("Init_B_1", "Diffusion_AB_1", 1, 6));  // Init_B_1 between steps, its next unknown

  {  // malformed
    auto no_lot = hold("x", 0);
    no_lot.lots.clear();
    t.refused(no_lot, RefuseReason::Malformed, "lots");
    auto two = hold("Init_A_3", 0);
    two.lots.push_back("Init_B_1");
    t.refused(two, RefuseReason::Malformed, "lots");
    t.refused(track_in({"Init_A_3", "Init_A_3"}, "Diffusion_AB_1", 5, 0), RefuseReason::Malformed, "lots[1]");
    t.refused(released("", "part_A", 0), RefuseReason::Malformed, "lots[0]");
    t.refused(released("EXT-0", "part_A", 0, 0), RefuseReason::Malformed, "wafers");
    t.refused(queued("Init_A_3", 0, 0), RefuseReason::Malformed, "step");
    t.refused(rework("Init_A_3", 0, 0), RefuseReason::Malformed, "step");
    t.refused(scrap("Init_A_3", 0, 0), RefuseReason::Malformed, "wafers");
    t.refused(scrap("Init_A_3", 26, 0), RefuseReason::Malformed, "wafers");
    t.refused(track_out("Init_A_2", "Litho_E_1", 3, 0, 4, true), RefuseReason::Malformed, "next_step");
    t.refused(tool_state("Litho_E_1", ToolState::Setup, 0), RefuseReason::Malformed, "state");
    t.refused(track_in({"Init_B_1"}, "Diffusion_AB_1", 0, 0), RefuseReason::Malformed,
              "step");  // which step?
    auto back = tool_state("Diffusion_AB_1", ToolState::UnscheduledDown, 0);
    back.time = t.sim.now() + Duration{600'000};
    back.until = t.sim.now();  // ends before it starts
    t.refused(back, RefuseReason::Malformed, "until", false);
    auto pm_back = pm_start("Diffusion_AB_1", 0);
    pm_back.time = t.sim.now() + Duration{600'000};
    pm_back.until = t.sim.now();
    t.refused(pm_back, RefuseReason::Malformed, "until", false);
    auto before_epoch = hold("Init_A_3", 0);
    before_epoch.time = SimTime{Duration{-1}};
    t.refused(before_epoch, RefuseReason::Malformed, "time", false);
    auto bad_kind = hold("Init_A_3", 0);
    bad_kind.kind = static_cast<des::EventKind>(200);
    t.refused(bad_kind, RefuseReason::Malformed, "kind");
  }
  {  // unknown lot, tool, step, product, setup, calendar
    t.refused(hold("NOPE", 0), RefuseReason::UnknownLot, "lots[0]");
    t.refused(track_in({"Init_A_3", "NOPE"}, "Diffusion_AB_1", 5, 0), RefuseReason::UnknownLot, "lots[1]");
    t.refused(track_out("NOPE", "Litho_E_1", 3, 0), RefuseReason::UnknownLot, "lots[0]");
    t.refused(track_in({"Init_A_3"}, "Diffusion_AB_9", 5, 0), RefuseReason::UnknownTool, "tool");
    t.refused(tool_state("NOPE", ToolState::Standby, 0), RefuseReason::UnknownTool, "tool");
    t.refused(setup_change("", "SP_1", 0), RefuseReason::UnknownTool, "tool");
    t.refused(queued("Init_A_3", 7, 0), RefuseReason::UnknownStep, "step");
    t.refused(rework("Init_A_3", 99, 0), RefuseReason::UnknownStep, "step");
    t.refused(track_in({"Init_A_3"}, "Diffusion_AB_1", 9, 0), RefuseReason::UnknownStep, "step");
    t.refused(track_out("Init_A_2", "Litho_E_1", 6, 0), RefuseReason::UnknownStep, "step");  // it runs step 3
    t.refused(track_out("Init_A_2", "Litho_E_1", 3, 0, 8), RefuseReason::UnknownStep, "next_step");
    t.refused(released("EXT-1", "part_Z", 0), RefuseReason::UnknownProduct, "product");
    t.refused(setup_change("Implant_CD_1", "SP_9", 0), RefuseReason::UnknownSetup, "setup");
    t.refused(pm_start("Litho_E_1", 0, "Diffusion_AB_MN"), RefuseReason::UnknownCalendar,
              "calendar");  // not on it
    t.refused(pm_start("Litho_E_1", 0, "NOPE"), RefuseReason::UnknownCalendar, "calendar");
    t.refused(pm_end("Implant_CD_2", 0, "Litho_E_WK"), RefuseReason::UnknownCalendar, "calendar");
  }
  {  // lot exists, on hold, not held, on a tool, not on the tool
    t.refused(released("Init_A_3", "part_A", 0), RefuseReason::LotExists, "lots[0]");
    t.refused(hold("Init_B_2", 0), RefuseReason::LotOnHold, "lots[0]");
    t.refused(queued("Init_B_2", 5, 0), RefuseReason::LotOnHold, "lots[0]");
    t.refused(rework("Init_B_2", 2, 0), RefuseReason::LotOnHold, "lots[0]");
    t.refused(track_in({"Init_A_3", "Init_B_2"}, "Diffusion_AB_1", 0, 0), RefuseReason::LotOnHold, "lots[1]");
    t.refused(unhold("Init_A_3", 0), RefuseReason::LotNotHeld, "lots[0]");
    t.refused(rework("Init_A_2", 2, 0), RefuseReason::LotOnTool, "lots[0]");
    t.refused(track_in({"Init_A_2"}, "Litho_E_1", 3, 0), RefuseReason::LotOnTool, "lots[0]");
    t.refused(track_out("Init_A_3", "Diffusion_AB_1", 5, 0), RefuseReason::NotOnTool, "lots[0]");
    t.refused(track_out("Init_A_2", "Implant_CD_1", 3, 0), RefuseReason::NotOnTool,
              "lots[0]");  // on Litho_E_1
  }
  {  // wrong tool group, tool down, tool full, not down
    t.refused(track_in({"Init_A_3"}, "Litho_E_1", 5, 0), RefuseReason::WrongToolGroup, "tool");
    // A batch of lots at steps of two tool groups.
    t.refused(track_in({"Init_A_3", "Init_B_3"}, "Diffusion_AB_1", 0, 0), RefuseReason::WrongToolGroup,
              "lots[1]");
    t.refused(track_in({"Init_A_3"}, "Diffusion_AB_2", 5, 0), RefuseReason::ToolDown, "tool");
    t.refused(track_in({"Init_B_1"}, "Diffusion_AB_2", 1, 0), RefuseReason::ToolDown, "tool");
    t.refused(track_in({"Init_B_3"}, "Litho_E_1", 6, 0), RefuseReason::ToolFull, "tool");
    t.refused(pm_end("Diffusion_AB_1", 0), RefuseReason::NotDown, "tool");  // up
    t.refused(pm_end("Diffusion_AB_2", 0), RefuseReason::NotDown, "tool");  // down, but not in a PM
  }
  CHECK(t.seen.size() == static_cast<std::size_t>(des::kRefuseReasonCount));
  CHECK(t.sim.event_counts().refused > 40);
  CHECK(t.sim.event_counts().applied == 7);
}

TEST_CASE("autonomous mode refuses the same way, its clock unmoved", "[des][twin]") {
  Refusals a(minifab_model(), des::Mode::Autonomous);
  a.sim.run_until(at_min(30));
  a.refused(hold("NOPE", 0), RefuseReason::UnknownLot, "lots[0]");
  a.refused(tool_state("Litho_E_1", ToolState::Setup, 0), RefuseReason::Malformed, "state");
  a.refused(pm_end("Litho_E_1", 0), RefuseReason::NotDown, "tool");
  a.refused(released("Init_A_3", "part_A", 0), RefuseReason::LotExists, "lots[0]");
  CHECK(a.sim.now() == at_min(30));
}

TEST_CASE("refused events are counted by reason in the counts and in every delta", "[des][twin]") {
  auto sim = follow_twin(minifab_model());
  sim.enable_journal();
  const auto v0 = sim.version();
  CHECK(sim.apply(hold("NOPE", 1)).refused);
  CHECK(sim.apply(hold("NOPE2", 2)).refused);
  CHECK(sim.apply(unhold("Init_A_1", 3)).refused);
  const auto& c = sim.event_counts();
  CHECK(c.refused == 3);
  CHECK(c.applied == 0);
  CHECK(c.refused_by_reason[static_cast<int>(RefuseReason::UnknownLot)] == 2);
  CHECK(c.refused_by_reason[static_cast<int>(RefuseReason::LotNotHeld)] == 1);
  CHECK(sim.now() == SimTime{});
  const auto d = sim.changes_since(v0);
  REQUIRE(d);
  CHECK(d->counts == c);
  CHECK(d->lots.empty());
}
