// Golden tests of every MES event kind on the mini-fab in follow mode: what each event does to the
// state view, the live KPIs and the observers, with times worked out by hand (minutes).
//
// The mini-fab in follow mode (twin_models/README.md): the six initial-WIP lots wait at t = 0 in the
// queue of their CURSTEP, in file order: Init_A_1 (r_A step 2, Implant_CD), Init_A_2 (r_A 3,
// Litho_E), Init_A_3 (r_A 5, Diffusion_AB), Init_B_1 (r_B 1, Diffusion_AB), Init_B_2 (r_B 4,
// Implant_CD), Init_B_3 (r_B 6, Litho_E, priority 20). Nothing moves without an event; a job's
// expected end is the model's MEAN time: setup + load + processing + unload.
#include <catch2/catch.hpp>

#include "tiny_fab.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;
using des::LotPlace;
using des::ToolState;

namespace {

struct Twin {
  des::Simulation sim;
  Recorder rec;
  explicit Twin(const Model& m = minifab_model()) : sim(follow_twin(m)) {
    rec.sim = &sim;
    sim.add_observer(&rec);
  }
  Twin(const Twin&) = delete;
  void ok(const des::Event& e) {
    const auto r = sim.apply(e);
    INFO(to_string(e.kind) << " " << (r.refused ? r.refused->what() : ""));
    REQUIRE(r.ok());
    CHECK_FALSE(r.late);
  }
  des::StateView view() const { return sim.view(); }
};

ToolGroupId gid(const des::Simulation& s, const char* name) {
  return s.model().find_tool_group(name).value();
}

}  // namespace

TEST_CASE("follow mode: the initial WIP waits in its queues and nothing moves while the clock runs",
          "[des][twin]") {
  Twin t;
  const auto v0 = t.view();
  CHECK(v0.mode == des::Mode::Follow);
  CHECK(v0.lots.size() == 6);
  CHECK(queue_names(queue_of(v0, t.sim, "Diffusion_AB")) == std::vector<std::string>{"Init_A_3", "Init_B_1"});
  CHECK(queue_names(queue_of(v0, t.sim, "Implant_CD")) == std::vector<std::string>{"Init_A_1", "Init_B_2"});
  CHECK(queue_names(queue_of(v0, t.sim, "Litho_E")) == std::vector<std::string>{"Init_A_2", "Init_B_3"});
  CHECK(count_state(v0.kpis, ToolState::Standby) == 5);
  // Ten days: no release, no failure, no PM, no dispatch (the schedules run in the shadow).
  t.sim.run_until(at_day(10));
  auto v = t.view();
  CHECK(v.version == v0.version);
  CHECK(v.now == at_day(10));
  v.now = v0.now;
  CHECK(v == v0);
  CHECK(t.rec.calls.empty());
  CHECK(t.rec.states.empty());
}

TEST_CASE("lot released: a new lot waits at its first step, findable by name, due by default at 1.5 x RPT",
          "[des][twin]") {
  Twin t;
  const auto v0 = t.sim.version();
  t.ok(released("EXT-1", "part_A", 10));
  CHECK(t.sim.version() > v0);
  CHECK(t.sim.now() == at_min(10));
  const auto v = t.view();
  const auto& l = lot_of(v, "EXT-1");
  CHECK(l.key == des::LotKey{des::LotKey::kExternal, 0});
  CHECK(t.sim.find_lot("EXT-1") == std::optional{l.key});
  CHECK(t.sim.lot_name(l.key) == "EXT-1");
  CHECK(l.product == t.sim.model().find_product("part_A").value());
  CHECK(l.priority == 10);
  CHECK(l.wafers == 25);
  CHECK(l.pass == 0);
  CHECK(l.released == at_min(10));
  // RPT of part_A (load + mean processing + unload, plus the mean transport of 7.5 min before every
  // step but the first, plus 2 % rework of step 6):
  //   160 + (34 + 7.5) + (59 + 7.5) + (54 + 7.5) + (180 + 7.5) + (14 + 7.5) + 0.02 x 21.5 = 538.93 min
  // due = 10 + 1.5 x 538.93 = 10 + 808.395 min = 600,000 + 48,503,700 ms
  CHECK(l.due == SimTime{Duration{600'000 + 48'503'700}});
  CHECK(l.step == step_of(t.sim, "r_A", 1));
  CHECK(l.place == LotPlace::Queued);
  CHECK(l.group == gid(t.sim, "Diffusion_AB"));
  CHECK_FALSE(l.tool.valid());
  CHECK_FALSE(l.held);
  CHECK(l.since == at_min(10));
  const auto& q = queue_of(v, t.sim, "Diffusion_AB");
  CHECK(queue_names(q) == std::vector<std::string>{"Init_A_3", "Init_B_1", "EXT-1"});
  CHECK(q.lots.back().since == at_min(10));
  CHECK(v.kpis.lots_in_fab == 7);
  CHECK(v.kpis.lots_released == 1);
  CHECK(v.kpis.lots_completed == 0);
  CHECK(v.counts.applied == 1);
  CHECK(t.rec.calls == std::vector<std::string>{"release EXT-1 @10", "queue EXT-1 step 1 @10"});

  // Priority, wafers and due as reported; the n-th external lot gets key sequence n - 1.
  t.ok(released("HOT-1", "part_B", 12, 20, 20, at_min(500)));
  const auto vh = t.view();
  const auto& h = lot_of(vh, "HOT-1");
  CHECK(h.key == des::LotKey{des::LotKey::kExternal, 1});
  CHECK(h.priority == 20);
  CHECK(h.wafers == 20);
  CHECK(h.due == at_min(500));
  CHECK(h.step == step_of(t.sim, "r_B", 1));
  CHECK(t.view().kpis.lots_released == 2);
}

TEST_CASE(
    "lot queued: the lot leaves its queue (or tool) for the queue of the named step; its wait starts then",
    "[des][twin]") {
  Twin t;
  t.ok(queued("Init_A_1", 3, 5));  // from Implant_CD (step 2) to Litho_E (step 3)
  auto v = t.view();
  const auto& l = lot_of(v, "Init_A_1");
  CHECK(l.step == step_of(t.sim, "r_A", 3));
  CHECK(l.place == LotPlace::Queued);
  CHECK(l.group == gid(t.sim, "Litho_E"));
  CHECK(l.since == at_min(5));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) == std::vector<std::string>{"Init_B_2"});
  // Arrival order (ties: release order): Init_A_2 and Init_B_3 since 0, Init_A_1 since 5.
  const auto& q = queue_of(v, t.sim, "Litho_E");
  CHECK(queue_names(q) == std::vector<std::string>{"Init_A_2", "Init_B_3", "Init_A_1"});
  CHECK(q.lots[2].since == at_min(5));
  CHECK(v.kpis.moves == 0);
  CHECK(t.rec.saw("queue Init_A_1 step 3 @5"));

  // Queued again where it already waits: applied, nothing moves (its wait still counts from 5).
  t.ok(queued("Init_A_1", 3, 8));
  CHECK(lot_of(t.view(), "Init_A_1").since == at_min(5));
  CHECK(queue_of(t.view(), t.sim, "Litho_E").lots[2].since == at_min(5));

  // Queued while on a tool (reality wins): the tool frees, the lot waits again.
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 10));
  t.ok(queued("Init_A_2", 3, 12));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.empty());
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Standby);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(12));
  CHECK(lot_of(v, "Init_A_2").place == LotPlace::Queued);
  CHECK(lot_of(v, "Init_A_2").since == at_min(12));
  CHECK(queue_names(queue_of(v, t.sim, "Litho_E")) ==
        std::vector<std::string>{"Init_B_3", "Init_A_1", "Init_A_2"});
}

TEST_CASE("track-in: the lot is on the tool; a setup runs first (E10 setup), then the tool is productive",
          "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_1"}, "Implant_CD_1", 2, 20));
  auto v = t.view();
  const auto& tool = tool_of(v, t.sim, "Implant_CD_1");
  // No setup yet -> SP_1: 12 min (setup.txt "any -> SP_1"); load 2; part_A step 2 mean 30; unload 2.
  //   setup end 20 + 12 = 32; expected end 20 + 12 + 2 + 30 + 2 = 66
  CHECK(tool.state == ToolState::Setup);
  CHECK(tool.since == at_min(20));
  CHECK(tool.setup == t.sim.model().find_setup("SP_1").value());
  REQUIRE(tool.lots.size() == 1);
  CHECK(tool.lots[0] == des::LotOnTool{"Init_A_1", at_min(20), at_min(32), at_min(66)});
  const auto& l = lot_of(v, "Init_A_1");
  CHECK(l.place == LotPlace::OnTool);
  CHECK(l.tool == t.sim.find_tool("Implant_CD_1").value());
  CHECK_FALSE(l.group.valid());
  CHECK(l.since == at_min(20));
  CHECK(l.step == step_of(t.sim, "r_A", 2));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) == std::vector<std::string>{"Init_B_2"});
  CHECK(count_state(v.kpis, ToolState::Setup) == 1);
  CHECK(count_state(v.kpis, ToolState::Standby) == 4);
  CHECK(t.rec.saw("setup Implant_CD_1 SP_1 @20"));
  CHECK(t.rec.saw("track_in Implant_CD_1 Init_A_1 @20"));

  // Just before the setup ends: still setup. At 32: productive, the version raised.
  t.sim.run_until(at_min(31));
  CHECK(tool_of(t.view(), t.sim, "Implant_CD_1").state == ToolState::Setup);
  const auto before = t.sim.version();
  t.sim.run_until(at_min(40));
  v = t.view();
  CHECK(v.version > before);
  CHECK(tool_of(v, t.sim, "Implant_CD_1").state == ToolState::Productive);
  CHECK(tool_of(v, t.sim, "Implant_CD_1").since == at_min(32));
  CHECK(count_state(v.kpis, ToolState::Productive) == 1);
  CHECK(t.rec.entered("Implant_CD_1", ToolState::Productive) == std::vector<double>{32});

  // part_B step 4 needs SP_3: none -> SP_3 15 min; end 41 + 15 + 2 + 45 + 2 = 105.
  t.ok(track_in({"Init_B_2"}, "Implant_CD_2", 4, 41));
  CHECK(tool_of(t.view(), t.sim, "Implant_CD_2").lots.at(0) ==
        des::LotOnTool{"Init_B_2", at_min(41), at_min(56), at_min(105)});
  // No setup on the stepper: productive at once; 25 wafers x 2.2 min: 42 + 2 + 55 + 2 = 101.
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 42));
  const auto vl = t.view();
  const auto& litho = tool_of(vl, t.sim, "Litho_E_1");
  CHECK(litho.state == ToolState::Productive);
  CHECK(litho.lots.at(0) == des::LotOnTool{"Init_A_2", at_min(42), at_min(42), at_min(101)});
  // Follow mode: nothing ends a job but its track-out, long after the expected end.
  t.sim.run_until(at_day(2));
  CHECK(tool_of(t.view(), t.sim, "Litho_E_1").lots.size() == 1);
  CHECK(t.view().kpis.moves == 0);
}

TEST_CASE("track-out: the tool frees; the lot waits between steps (in transport) for its next event",
          "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 30));  // expected end 30 + 59 = 89
  t.ok(track_out("Init_A_2", "Litho_E_1", 3, 85));   // reality: done at 85
  auto v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.empty());
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Standby);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(85));
  const auto& l = lot_of(v, "Init_A_2");
  CHECK(l.place == LotPlace::InTransport);
  CHECK(l.step == step_of(t.sim, "r_A", 3));  // the step it last performed
  CHECK(l.since == at_min(85));
  CHECK(v.kpis.moves == 1);
  CHECK(v.kpis.lots_in_fab == 6);
  CHECK(t.rec.saw("step Init_A_2 3 Litho_E_1 @85"));
  // Its next event puts it in the next queue.
  t.ok(queued("Init_A_2", 4, 95));
  v = t.view();
  CHECK(lot_of(v, "Init_A_2").place == LotPlace::Queued);
  CHECK(lot_of(v, "Init_A_2").since == at_min(95));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) ==
        std::vector<std::string>{"Init_A_1", "Init_B_2", "Init_A_2"});
}

TEST_CASE("track-out naming the next step: the lot still waits in transport until it is queued there",
          "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_1"}, "Implant_CD_1", 2, 0));  // 0 + 12 + 2 + 30 + 2 = 46
  t.ok(track_out("Init_A_1", "Implant_CD_1", 2, 46, 3));
  auto v = t.view();
  const auto& l = lot_of(v, "Init_A_1");
  CHECK(l.place == LotPlace::InTransport);
  CHECK(l.step == step_of(t.sim, "r_A", 3));  // on its way to step 3, as in a simulated transport
  CHECK(l.since == at_min(46));
  CHECK(queue_names(queue_of(v, t.sim, "Litho_E")) == std::vector<std::string>{"Init_A_2", "Init_B_3"});
  CHECK(v.kpis.moves == 1);
  t.ok(queued("Init_A_1", 3, 50));
  CHECK(queue_names(queue_of(t.view(), t.sim, "Litho_E")) ==
        std::vector<std::string>{"Init_A_2", "Init_B_3", "Init_A_1"});
}

TEST_CASE("track-out with route done: the lot leaves the fab and is counted completed", "[des][twin]") {
  Twin t;
  // Init_B_3 at r_B step 6: 2 + 25 x 0.4 + 2 = 14 min.
  t.ok(track_in({"Init_B_3"}, "Litho_E_1", 6, 100));
  CHECK(tool_of(t.view(), t.sim, "Litho_E_1").lots.at(0).expected_end == at_min(114));
  t.ok(track_out("Init_B_3", "Litho_E_1", 6, 114, 0, true));
  const auto v = t.view();
  CHECK(find_lot(v, "Init_B_3") == nullptr);
  CHECK_FALSE(t.sim.find_lot("Init_B_3"));
  CHECK(t.sim.lot_name(des::LotKey{0, 5}) == "Init_B_3");
  CHECK(v.kpis.lots_in_fab == 5);
  CHECK(v.kpis.lots_completed == 1);
  CHECK(v.kpis.wafers_completed == 25);
  CHECK(v.kpis.moves == 1);
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Standby);
  REQUIRE(t.sim.completed_lots().size() == 1);
  const auto& c = t.sim.completed_lots()[0];
  CHECK(c.key == des::LotKey{0, 5});
  CHECK(c.completed == at_min(114));
  CHECK(c.steps_performed == 1);
  CHECK(c.due == at_min(12 * 60));  // WIP.txt: 2018-01-01T12:00
  CHECK(t.rec.saw("completed Init_B_3 @114"));
  // Its name is free again: a new lot may take it.
  t.ok(released("Init_B_3", "part_B", 120));
  CHECK(lot_of(t.view(), "Init_B_3").key == des::LotKey{des::LotKey::kExternal, 0});

  // Follow mode: a track-out of a route's last step without a next step ends the route too.
  Twin u;
  u.ok(track_in({"Init_B_3"}, "Litho_E_1", 6, 0));
  u.ok(track_out("Init_B_3", "Litho_E_1", 6, 14));
  CHECK(u.view().kpis.lots_completed == 1);
  CHECK(find_lot(u.view(), "Init_B_3") == nullptr);
}

TEST_CASE("a batch track-in starts every lot together; each lot's track-out frees its place", "[des][twin]") {
  Twin t;
  for (const char* name : {"EXT-1", "EXT-2", "EXT-3"}) t.ok(released(name, "part_A", 0));
  t.ok(track_in({"EXT-1", "EXT-2", "EXT-3"}, "Diffusion_AB_1", 1, 40));
  // Per batch: 40 + 5 load + 150 + 5 unload = 200 for every lot of the batch.
  auto v = t.view();
  const auto& tool = tool_of(v, t.sim, "Diffusion_AB_1");
  CHECK(tool.state == ToolState::Productive);
  REQUIRE(tool.lots.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(tool.lots[i].lot == "EXT-" + std::to_string(i + 1));
    CHECK(tool.lots[i].start == at_min(40));
    CHECK(tool.lots[i].expected_end == at_min(200));
  }
  CHECK(queue_names(queue_of(v, t.sim, "Diffusion_AB")) == std::vector<std::string>{"Init_A_3", "Init_B_1"});
  CHECK(t.rec.saw("track_in Diffusion_AB_1 EXT-1 EXT-2 EXT-3 @40"));
  t.ok(track_out("EXT-1", "Diffusion_AB_1", 1, 200, 2));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Diffusion_AB_1").lots.size() == 2);
  CHECK(tool_of(v, t.sim, "Diffusion_AB_1").state == ToolState::Productive);
  CHECK(lot_of(v, "EXT-1").place == LotPlace::InTransport);
  CHECK(lot_of(v, "EXT-2").place == LotPlace::OnTool);
  t.ok(track_out("EXT-2", "Diffusion_AB_1", 1, 201, 2));
  t.ok(track_out("EXT-3", "Diffusion_AB_1", 1, 202, 2));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Diffusion_AB_1").lots.empty());
  CHECK(tool_of(v, t.sim, "Diffusion_AB_1").state == ToolState::Standby);
  CHECK(tool_of(v, t.sim, "Diffusion_AB_1").since == at_min(202));
  CHECK(v.kpis.moves == 3);
}

TEST_CASE("hold and release: a held lot stays where it is, flagged and counted", "[des][twin]") {
  Twin t;
  t.ok(hold("Init_B_2", 10));
  auto v = t.view();
  CHECK(lot_of(v, "Init_B_2").held);
  CHECK(lot_of(v, "Init_B_2").place == LotPlace::Queued);
  CHECK(lot_of(v, "Init_B_2").since == at_min(0));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) == std::vector<std::string>{"Init_A_1", "Init_B_2"});
  CHECK(v.kpis.lots_held == 1);
  CHECK(t.rec.saw("hold Init_B_2 @10"));
  t.ok(unhold("Init_B_2", 20));
  v = t.view();
  CHECK_FALSE(lot_of(v, "Init_B_2").held);
  CHECK(lot_of(v, "Init_B_2").place == LotPlace::Queued);
  CHECK(v.kpis.lots_held == 0);
  CHECK(t.rec.saw("unhold Init_B_2 @20"));
}

TEST_CASE("a lot held on a tool, tracked out and released waits between steps for its next event",
          "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 0));
  t.ok(hold("Init_A_2", 10));
  t.ok(track_out("Init_A_2", "Litho_E_1", 3, 59));  // no next step given: the MES will say
  CHECK(lot_of(t.view(), "Init_A_2").place == LotPlace::InTransport);
  CHECK(lot_of(t.view(), "Init_A_2").held);
  t.ok(unhold("Init_A_2", 60));
  // Released, it is still between steps 3 and 4: it has not finished its route.
  const auto v = t.view();
  REQUIRE(find_lot(v, "Init_A_2") != nullptr);
  CHECK(lot_of(v, "Init_A_2").place == LotPlace::InTransport);
  CHECK_FALSE(lot_of(v, "Init_A_2").held);
  CHECK(v.kpis.lots_completed == 0);
  CHECK(v.kpis.lots_in_fab == 6);
  // Named next step, held: released, it still waits for its queue event (nothing moves without one).
  t.ok(track_in({"Init_A_1"}, "Implant_CD_1", 2, 70));  // 70 + 12 + 2 + 30 + 2 = 116
  t.ok(hold("Init_A_1", 80));
  t.ok(track_out("Init_A_1", "Implant_CD_1", 2, 116, 3));
  t.ok(unhold("Init_A_1", 120));
  const auto w = t.view();
  CHECK(lot_of(w, "Init_A_1").place == LotPlace::InTransport);
  CHECK(lot_of(w, "Init_A_1").since == at_min(116));
  CHECK(queue_names(queue_of(w, t.sim, "Litho_E")) == std::vector<std::string>{"Init_B_3"});
}

TEST_CASE("scrap: wafers leave the lot; at zero the lot leaves the fab, counted scrapped", "[des][twin]") {
  Twin t;
  t.ok(scrap("Init_B_2", 5, 10));
  auto v = t.view();
  CHECK(lot_of(v, "Init_B_2").wafers == 20);
  CHECK(lot_of(v, "Init_B_2").place == LotPlace::Queued);
  CHECK(v.kpis.lots_scrapped == 0);
  CHECK(t.rec.saw("scrap Init_B_2 5 @10"));
  t.ok(scrap("Init_B_2", 20, 20));
  v = t.view();
  CHECK(find_lot(v, "Init_B_2") == nullptr);
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) == std::vector<std::string>{"Init_A_1"});
  CHECK(v.kpis.lots_scrapped == 1);
  CHECK(v.kpis.lots_in_fab == 5);
  CHECK(v.kpis.lots_completed == 0);
  CHECK(t.sim.completed_lots().size() == 0);
  // A lot scrapped on a tool frees it.
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 30));
  t.ok(scrap("Init_A_2", 25, 40));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.empty());
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Standby);
  CHECK(v.kpis.lots_scrapped == 2);
  CHECK(v.kpis.lots_in_fab == 4);
}

TEST_CASE("rework: the lot goes back to the named step's queue, one pass more", "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 0));
  t.ok(track_out("Init_A_2", "Litho_E_1", 3, 59));
  t.ok(rework("Init_A_2", 2, 60));
  auto v = t.view();
  const auto& l = lot_of(v, "Init_A_2");
  CHECK(l.pass == 1);
  CHECK(l.step == step_of(t.sim, "r_A", 2));
  CHECK(l.place == LotPlace::Queued);
  CHECK(l.group == gid(t.sim, "Implant_CD"));
  CHECK(l.since == at_min(60));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) ==
        std::vector<std::string>{"Init_A_1", "Init_B_2", "Init_A_2"});
  // A queued lot reworked to an earlier step of the same group changes step and pass, and waits anew.
  t.ok(rework("Init_B_2", 2, 70));
  v = t.view();
  CHECK(lot_of(v, "Init_B_2").pass == 1);
  CHECK(lot_of(v, "Init_B_2").step == step_of(t.sim, "r_B", 2));
  CHECK(lot_of(v, "Init_B_2").since == at_min(70));
  CHECK(queue_names(queue_of(v, t.sim, "Implant_CD")) ==
        std::vector<std::string>{"Init_A_1", "Init_A_2", "Init_B_2"});
  // The pass shows in the lot's step records and its completion.
  t.ok(track_in({"Init_A_2"}, "Implant_CD_1", 2, 80));
  t.ok(track_out("Init_A_2", "Implant_CD_1", 2, 126, 3));
  CHECK(t.rec.saw("step Init_A_2 2 Implant_CD_1 @126"));
}

TEST_CASE("tool state: each E10 down state and back up; a job on a tool that goes down is suspended",
          "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 0));  // expected end 0 + 2 + 55 + 2 = 59
  t.ok(tool_state("Litho_E_1", ToolState::UnscheduledDown, 10));
  auto v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::UnscheduledDown);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(10));
  CHECK_FALSE(tool_of(v, t.sim, "Litho_E_1").down_until);
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.size() == 1);  // the job is suspended, not ended
  CHECK(lot_of(v, "Init_A_2").place == LotPlace::OnTool);
  CHECK(count_state(v.kpis, ToolState::UnscheduledDown) == 1);
  // Still down, now for engineering: one down from 10 on.
  t.ok(tool_state("Litho_E_1", ToolState::Engineering, 15));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Engineering);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(15));
  CHECK(count_state(v.kpis, ToolState::Engineering) == 1);
  // Up at 30: the job resumes; it was suspended 10..30, so its end moves by 20 min: 59 + 20 = 79.
  t.ok(tool_state("Litho_E_1", ToolState::Standby, 30));
  v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Productive);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(30));
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.at(0).expected_end == at_min(79));
  CHECK(t.rec.states ==
        std::vector<std::tuple<std::string, ToolState, double>>{{"Litho_E_1", ToolState::Productive, 0},
                                                                {"Litho_E_1", ToolState::UnscheduledDown, 10},
                                                                {"Litho_E_1", ToolState::Engineering, 15},
                                                                {"Litho_E_1", ToolState::Productive, 30}});

  // An idle tool through every down state and back up; `until` shows as the expected end.
  struct Case {
    ToolState s;
    double at, until;
  };
  for (const Case c : {Case{ToolState::Engineering, 100, 110}, Case{ToolState::ScheduledDown, 120, 130},
                       Case{ToolState::UnscheduledDown, 140, 150}, Case{ToolState::NonScheduled, 160, 170}}) {
    t.ok(tool_state("Diffusion_AB_2", c.s, c.at, c.until));
    v = t.view();
    CHECK(tool_of(v, t.sim, "Diffusion_AB_2").state == c.s);
    CHECK(tool_of(v, t.sim, "Diffusion_AB_2").since == at_min(c.at));
    CHECK(tool_of(v, t.sim, "Diffusion_AB_2").down_until == std::optional{at_min(c.until)});
    CHECK(count_state(v.kpis, c.s) == 1);
    // Follow mode: the down lasts until its end is reported, past `until` too.
    t.sim.run_until(at_min(c.until + 5));
    CHECK(tool_of(t.view(), t.sim, "Diffusion_AB_2").state == c.s);
    t.ok(tool_state("Diffusion_AB_2", ToolState::Productive, c.until + 5));  // "productive" means up
    v = t.view();
    CHECK(tool_of(v, t.sim, "Diffusion_AB_2").state == ToolState::Standby);
    CHECK(tool_of(v, t.sim, "Diffusion_AB_2").since == at_min(c.until + 5));
    CHECK_FALSE(tool_of(v, t.sim, "Diffusion_AB_2").down_until);
  }
  // An up report on an up tool changes nothing but the counts.
  const auto before = without_counts(t.view());
  t.ok(tool_state("Diffusion_AB_2", ToolState::Standby, 175));
  auto after = without_counts(t.view());
  after.now = before.now;
  CHECK(after == before);
}

TEST_CASE("PM start and end: scheduled down, a job suspended by it resumes later", "[des][twin]") {
  Twin t;
  t.ok(track_in({"Init_A_2"}, "Litho_E_1", 3, 0));  // expected end 59
  t.ok(pm_start("Litho_E_1", 20, "Litho_E_WK", 380));
  auto v = t.view();
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::ScheduledDown);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(20));
  CHECK(tool_of(v, t.sim, "Litho_E_1").down_until == std::optional{at_min(380)});
  CHECK(count_state(v.kpis, ToolState::ScheduledDown) == 1);
  t.ok(pm_end("Litho_E_1", 360));
  v = t.view();
  // Suspended 20..360: 59 + 340 = 399.
  CHECK(tool_of(v, t.sim, "Litho_E_1").state == ToolState::Productive);
  CHECK(tool_of(v, t.sim, "Litho_E_1").since == at_min(360));
  CHECK(tool_of(v, t.sim, "Litho_E_1").lots.at(0).expected_end == at_min(399));
  CHECK_FALSE(tool_of(v, t.sim, "Litho_E_1").down_until);
  // Without a calendar: the tool's (first) PM calendar.
  t.ok(pm_start("Diffusion_AB_1", 400));
  CHECK(tool_of(t.view(), t.sim, "Diffusion_AB_1").state == ToolState::ScheduledDown);
  t.ok(pm_end("Diffusion_AB_1", 410, "Diffusion_AB_MN"));
  CHECK(tool_of(t.view(), t.sim, "Diffusion_AB_1").state == ToolState::Standby);
}

TEST_CASE("a reported PM end restarts that calendar: a forecast has the next PM one interval after its start",
          "[des][twin]") {
  // Litho_E_WK: weekly, start to start, first at day 3. A PM reported on day 1 (1440 .. 1800 min)
  // moves the next one to 1440 + 7 x 1440 = 11,520 min (day 8); none on day 3.
  Twin t;
  t.ok(pm_start("Litho_E_1", 1440, "Litho_E_WK"));
  t.ok(pm_end("Litho_E_1", 1800));
  auto fork = t.sim.fork();
  Recorder rec;
  rec.sim = &fork;
  fork.add_observer(&rec);
  fork.set_mode(des::Mode::Autonomous);
  fork.run_until(at_day(9));
  const auto pms = rec.entered("Litho_E_1", ToolState::ScheduledDown);
  REQUIRE_FALSE(pms.empty());
  CHECK(pms.front() >= 11520);  // a due PM waits for the running job (or a repair)
  CHECK(pms.front() < 11520 + 1440);
}

TEST_CASE("setup change: the tool has the reported setup; the next track-in needs only the change from it",
          "[des][twin]") {
  Twin t;
  t.ok(setup_change("Implant_CD_1", "SP_2", 5));
  auto v = t.view();
  CHECK(tool_of(v, t.sim, "Implant_CD_1").setup == t.sim.model().find_setup("SP_2").value());
  CHECK(tool_of(v, t.sim, "Implant_CD_1").state == ToolState::Standby);
  CHECK(t.rec.saw("setup Implant_CD_1 SP_2 @5"));
  // part_B step 4 needs SP_3: from SP_2 8 min (setup.txt), not 15 from none.
  //   setup end 10 + 8 = 18; expected end 10 + 8 + 2 + 45 + 2 = 67
  t.ok(track_in({"Init_B_2"}, "Implant_CD_1", 4, 10));
  CHECK(tool_of(t.view(), t.sim, "Implant_CD_1").lots.at(0) ==
        des::LotOnTool{"Init_B_2", at_min(10), at_min(18), at_min(67)});
  // Set to what the next step needs: no setup at all.
  t.ok(setup_change("Implant_CD_2", "SP_1", 11));
  t.ok(track_in({"Init_A_1"}, "Implant_CD_2", 2, 12));  // 12 + 2 + 30 + 2 = 46
  v = t.view();
  CHECK(tool_of(v, t.sim, "Implant_CD_2").state == ToolState::Productive);
  CHECK(tool_of(v, t.sim, "Implant_CD_2").lots.at(0) ==
        des::LotOnTool{"Init_A_1", at_min(12), at_min(12), at_min(46)});
}

// ---- autonomous mode ------------------------------------------------------------------------

TEST_CASE("autonomous: a held lot is not dispatched; released, it starts at once", "[des][twin]") {
  TinyFab f;
  f.group("Etch", 1);
  f.group("Clean", 1);
  auto p = f.product("p", {{"Etch", 10}, {"Clean", 10}});
  f.wip("W1", p, 1);
  f.wip("W2", p, 1);
  const Model m = f.build();
  auto sim = autonomous_sim(m);
  Trace trace;
  trace.sim = &sim;
  sim.add_observer(&trace);
  REQUIRE(sim.apply(hold("W1", 0)).ok());
  sim.run_until(at_min(100));
  // W2 ran Etch 0..10 and Clean 10..20; W1 waits, held, though Etch is idle.
  REQUIRE(trace.find("W2", 2) != nullptr);
  CHECK(trace.find("W2", 2)->end == 20);
  CHECK(trace.find("W1", 1) == nullptr);
  auto v = sim.view();
  CHECK(lot_of(v, "W1").held);
  CHECK(lot_of(v, "W1").place == LotPlace::Queued);
  CHECK(tool_of(v, sim, "Etch_1").state == ToolState::Standby);
  REQUIRE(sim.apply(unhold("W1", 100)).ok());
  sim.run_until(at_min(200));
  REQUIRE(trace.find("W1", 1) != nullptr);
  CHECK(trace.find("W1", 1)->start == 100);
  CHECK(trace.find("W1", 2)->end == 120);
}

TEST_CASE("autonomous: a lot held on a tool finishes its step, then waits until released", "[des][twin]") {
  TinyFab f;
  f.group("Etch", 1);
  f.group("Clean", 1);
  auto p = f.product("p", {{"Etch", 10}, {"Clean", 10}});
  f.wip("W1", p, 1);
  const Model m = f.build();
  auto sim = autonomous_sim(m);
  Trace trace;
  trace.sim = &sim;
  sim.add_observer(&trace);
  REQUIRE(sim.apply(hold("W1", 5)).ok());  // on Etch 0..10
  sim.run_until(at_min(50));
  CHECK(trace.find("W1", 1)->end == 10);
  CHECK(trace.find("W1", 2) == nullptr);
  CHECK(lot_of(sim.view(), "W1").place == LotPlace::InTransport);
  REQUIRE(sim.apply(unhold("W1", 50)).ok());
  sim.run_until(at_min(100));
  REQUIRE(trace.find("W1", 2) != nullptr);
  CHECK(trace.find("W1", 2)->start == 50);
  CHECK(trace.find("W1", 2)->end == 60);
  CHECK(sim.completed_lots().size() == 1);
}

TEST_CASE("autonomous: a reported PM end restarts a wafer-count PM's counter", "[des][twin]") {
  // One tool, a PM every 100 wafers (4 lots of 25; the first also after 100), 5 min long. Lots
  // arrive every 20 min and take 10: L_1 0..10, L_2 20..30 (50 wafers counted). A PM reported
  // 30..35 restarts the count: L_3 (40), L_4 (60), L_5 (80), L_6 (100) make 100 wafers, so the next
  // PM follows L_6 at 110 (without the restart it would follow L_4, at 70).
  TinyFab f;
  f.group("Etch", 1);
  auto p = f.product("p", {{"Etch", 10}});
  f.order("L", p, 0, 20, 10);
  PmCalendar pm;
  pm.name = "PM_100";
  pm.trigger = PmTrigger::Pieces;
  pm.interval = Quantity{100, Unit::Piece};
  pm.duration = Distribution::constant(5, Unit::Minute);
  f.d.pm_calendars = {pm};
  f.d.attachments = {{true, 0, AttachTarget::ToolGroup, 0, Distribution::constant(100, Unit::Piece)}};
  const Model m = f.build();
  auto sim = autonomous_sim(m);
  Recorder rec;
  rec.sim = &sim;
  sim.add_observer(&rec);
  REQUIRE(sim.apply(pm_start("Etch_1", 30, "PM_100")).ok());
  REQUIRE(sim.apply(pm_end("Etch_1", 35)).ok());
  sim.run_until(at_min(150));
  CHECK(rec.entered("Etch_1", ToolState::ScheduledDown) == std::vector<double>{30, 110});

  // The same without the reported PM: after L_4, at 70.
  auto base = autonomous_sim(m);
  Recorder rb;
  rb.sim = &base;
  base.add_observer(&rb);
  base.run_until(at_min(150));
  CHECK(rb.entered("Etch_1", ToolState::ScheduledDown).at(0) == 70);
}

TEST_CASE("autonomous: a calendar PM that falls due during a reported PM of that calendar is that PM",
          "[des][twin]") {
  // A PM every day (start to start), the first at 600 min, 30 min long. The MES reports it
  // 590 .. 620: the due PM at 600 is done by it; the next is due 590 + 1440 = 2030.
  TinyFab f;
  f.group("Etch", 1);
  auto p = f.product("p", {{"Etch", 10}});
  f.wip("W1", p, 1);
  PmCalendar pm;
  pm.name = "PM_DAY";
  pm.trigger = PmTrigger::Calendar;
  pm.interval = Quantity{1, Unit::Day};
  pm.duration = Distribution::constant(30, Unit::Minute);
  f.d.pm_calendars = {pm};
  f.d.attachments = {{true, 0, AttachTarget::ToolGroup, 0, Distribution::constant(600, Unit::Minute)}};
  const Model m = f.build();
  auto sim = autonomous_sim(m);
  Recorder rec;
  rec.sim = &sim;
  sim.add_observer(&rec);
  REQUIRE(sim.apply(pm_start("Etch_1", 590, "PM_DAY")).ok());
  REQUIRE(sim.apply(pm_end("Etch_1", 620)).ok());
  sim.run_until(at_min(2100));
  CHECK(rec.entered("Etch_1", ToolState::ScheduledDown) == std::vector<double>{590, 2030});
  CHECK(rec.entered("Etch_1", ToolState::Standby) == std::vector<double>{10, 620, 2060});
}

// ---- cascading capacity above 2 -------------------------------------------------------------

TEST_CASE("a cascading tool of capacity 3 holds three lots at once", "[des][twin]") {
  // STNCAP 3, 60 min per wafer, a wafer every 1 min through the first slot: a lot takes
  // 60 + 24 x 1 = 84 min and frees the first slot 25 min after it starts.
  //   W1 0 .. 84; W2 enters at 25 .. 109; W3 at 50 .. 134 (three lots on the tool 50 .. 84);
  //   W4: the first slot is free at 75 but all three slots are taken until W1 leaves at 84:
  //   84 .. 168.
  TinyFab f;
  f.group("Track", 1).cascade_capacity = 3;
  auto p = f.product("p", {{"Track", 60}});
  f.step(p, 1).process_unit = ProcessUnit::PerPiece;
  f.step(p, 1).part_interval = Quantity{1, Unit::Minute};
  for (const char* w : {"W1", "W2", "W3", "W4"}) f.wip(w, p, 1);
  const Model m = f.build();
  auto sim = autonomous_sim(m);
  Trace trace;
  trace.sim = &sim;
  sim.add_observer(&trace);
  sim.run_until(at_min(60));
  const auto v = sim.view();
  const auto& tool = tool_of(v, sim, "Track_1");
  REQUIRE(tool.lots.size() == 3);
  CHECK(tool.lots[0] == des::LotOnTool{"W1", at_min(0), at_min(0), at_min(84)});
  CHECK(tool.lots[1] == des::LotOnTool{"W2", at_min(25), at_min(25), at_min(109)});
  CHECK(tool.lots[2] == des::LotOnTool{"W3", at_min(50), at_min(50), at_min(134)});
  CHECK(queue_names(queue_of(v, sim, "Track")) == std::vector<std::string>{"W4"});
  sim.run_until(at_min(500));
  CHECK(trace.find("W1", 1)->end == 84);
  CHECK(trace.find("W2", 1)->end == 109);
  CHECK(trace.find("W3", 1)->end == 134);
  CHECK(trace.find("W4", 1)->start == 84);
  CHECK(trace.find("W4", 1)->end == 168);

  // Follow mode: three track-ins fill it; a fourth is refused (tool full), state unchanged.
  auto twin = follow_twin(m);
  for (int i = 0; i < 3; ++i)
    REQUIRE(twin.apply(track_in({"W" + std::to_string(i + 1)}, "Track_1", 1, 25.0 * i)).ok());
  CHECK(tool_of(twin.view(), twin, "Track_1").lots.size() == 3);
  // Follow mode: each lot's processing starts when the first slot frees: 0, 25, 50 (+ 84).
  CHECK(tool_of(twin.view(), twin, "Track_1").lots[2].expected_end == at_min(134));
  const auto before = without_counts(twin.view());
  const auto r = twin.apply(track_in({"W4"}, "Track_1", 1, 60));
  REQUIRE(r.refused);
  CHECK(r.refused->reason == des::RefuseReason::ToolFull);
  CHECK(without_counts(twin.view()) == before);
}

TEST_CASE("an external lot that completes counts in its product's KPIs and in no order's", "[des][twin]") {
  Twin t;
  t.ok(released("EXT-1", "part_A", 0));
  t.ok(track_in({"EXT-1"}, "Litho_E_1", 6, 10));  // reality wins: at step 6 now
  t.ok(track_out("EXT-1", "Litho_E_1", 6, 24, 0, true));
  REQUIRE(t.sim.completed_lots().size() == 1);
  CHECK(t.sim.completed_lots()[0].key == des::LotKey{des::LotKey::kExternal, 0});
  const auto k = t.sim.kpis();
  CHECK(k.lots_completed == 1);
  REQUIRE(k.products.size() == 2);
  CHECK(k.products[0].completed_lots == 1);  // part_A
  CHECK(k.products[0].cycle_time_days.mean == Approx(24.0 / 1440));
  for (const auto& o : k.orders) CHECK(o.completed_lots == 0);
}

TEST_CASE("names and lookups: lots by name, tools by name, steps by route and number, names of any lot seen",
          "[des][twin]") {
  auto sim = autonomous_sim(minifab_model());
  sim.run_until(at_min(1));
  CHECK(sim.find_tool("Litho_E_1") == std::optional{ToolId{4}});
  CHECK_FALSE(sim.find_tool("Litho_E_2"));
  CHECK(sim.find_step("r_A", 1) == std::optional{StepId{0}});
  CHECK(sim.find_step("r_B", 6) == std::optional{StepId{11}});
  CHECK(sim.model().step(sim.find_step("r_B", 4).value()).tool_group ==
        sim.model().find_tool_group("Implant_CD").value());
  CHECK_FALSE(sim.find_step("r_A", 7));
  CHECK_FALSE(sim.find_step("r_C", 1));
  // Initial WIP keys (0, row), order lots (order + 1, number - 1), named "<prefix>_<n>".
  CHECK(sim.find_lot("Init_B_2") == std::optional{des::LotKey{0, 4}});
  CHECK(sim.find_lot("Lot_A_1") == std::optional{des::LotKey{1, 0}});
  CHECK(sim.lot_name(des::LotKey{1, 0}) == "Lot_A_1");
  CHECK(sim.lot_name(des::LotKey{3, 4}) == "HotLot_A_5");
  CHECK(sim.lot_name(des::LotKey{9, 0}).empty());
  CHECK(sim.lot_name(des::LotKey{des::LotKey::kExternal, 0}).empty());
  CHECK_FALSE(sim.find_lot("Lot_A_2"));  // not released yet (every 180 min)
  // The live counts agree with the view.
  sim.run_until(at_day(2));
  const auto v = sim.view();
  std::uint32_t tools = 0;
  for (const auto n : v.kpis.tools_by_state) tools += n;
  CHECK(tools == sim.model().tools().size());
  CHECK(v.kpis.lots_in_fab == v.lots.size());
  CHECK(v.kpis.lots_in_fab == sim.lots_in_fab());
  for (const auto& q : v.queues) CHECK(q.lots.size() == sim.queue_length(q.group));
  for (const auto& t : v.tools) CHECK(t.state == sim.tool_state(t.tool));
}
