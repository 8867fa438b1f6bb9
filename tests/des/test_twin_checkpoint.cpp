// Forks and checkpoints of the twin on the mini-fab: a follow-mode twin forks into a forecast that
// runs ahead while the twin stays as it was; save + restore gives the same state and the same
// future; restore refuses another model, other options and damaged bytes. (The SMT2020 HVLM
// checkpoint over 30 days is in test_twin_slow.cpp.)
#include <catch2/catch.hpp>

#include "fabtwin/report/report.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;
using des::LotPlace;
using des::ToolState;

namespace {

// A follow-mode twin some events into its day: jobs running, a lot between steps with its next
// step named, a held lot, a tool down, a released lot.
des::Simulation busy_twin() {
  auto twin = follow_twin(minifab_model());
  for (const auto& e :
       {released("EXT-1", "part_A", 5), released("EXT-2", "part_A", 6),
        track_in({"Init_A_2"}, "Litho_E_1", 3, 10), track_in({"Init_A_1"}, "Implant_CD_1", 2, 20),
        track_out("Init_A_1", "Implant_CD_1", 2, 66, 4),
        track_in({"EXT-1", "EXT-2", "Init_B_1"}, "Diffusion_AB_1", 1, 70), hold("Init_B_2", 75),
        tool_state("Diffusion_AB_2", ToolState::UnscheduledDown, 80)})
    REQUIRE(twin.apply(e).ok());
  twin.run_until(at_min(100));
  return twin;
}

std::uint64_t fnv(std::string_view b) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char ch : b) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}
// The bytes with their trailing FNV-1a checksum made right again (a damage the checksum misses).
std::string resealed(std::string body) {
  const std::uint64_t h = fnv(body);
  body.append(reinterpret_cast<const char*>(&h), 8);
  return body;
}

}  // namespace

TEST_CASE("a follow-mode twin forks into an autonomous forecast that runs ahead; the twin is untouched",
          "[des][twin]") {
  auto twin = busy_twin();
  const auto before = twin.view();
  auto fork = twin.fork();
  CHECK(fork.view() == before);
  CHECK(fork.mode() == des::Mode::Follow);
  Recorder rec;
  rec.sim = &fork;
  fork.add_observer(&rec);
  fork.set_mode(des::Mode::Autonomous);
  CHECK(fork.mode() == des::Mode::Autonomous);
  fork.run_until(twin.now() + Duration{static_cast<std::int64_t>(7 * kMsPerDay)});
  // Lots move: releases by the model's orders, steps, completions; tools fail and repair.
  const auto k = fork.live_kpis();
  CHECK(k.moves > 100);
  CHECK(k.lots_released > 50);
  CHECK(k.lots_completed > 10);
  CHECK_FALSE(rec.entered("Litho_E_1", ToolState::Productive).empty());
  // The lot the MES sent to step 4 goes there first.
  std::string first_queue;
  for (const auto& c : rec.calls)
    if (c.rfind("queue Init_A_1 ", 0) == 0) {
      first_queue = c;
      break;
    }
  CHECK(first_queue.rfind("queue Init_A_1 step 4 ", 0) == 0);
  // A fork's readers start from a keyframe: it keeps no departed lots from before it.
  CHECK_FALSE(twin.fork().changes_since(before.version - 1));
  // The twin did not move.
  CHECK(twin.view() == before);
  CHECK(twin.mode() == des::Mode::Follow);
  CHECK(twin.completed_lots().size() == 0);
  // And it goes on following events.
  REQUIRE(twin.apply(track_out("Init_A_2", "Litho_E_1", 3, 110)).ok());
  CHECK(lot_of(twin.view(), "Init_A_2").place == LotPlace::InTransport);
  // A forecast cannot become a twin again; the same mode is no change.
  CHECK_THROWS_AS(fork.set_mode(des::Mode::Follow), std::logic_error);
  fork.set_mode(des::Mode::Autonomous);
  twin.set_mode(des::Mode::Follow);
  CHECK(twin.view().version == twin.version());
}

TEST_CASE("forks of one twin with the same seed forecast the same future", "[des][twin]") {
  auto twin = busy_twin();
  auto a = twin.fork(), b = twin.fork();
  a.set_mode(des::Mode::Autonomous);
  b.set_mode(des::Mode::Autonomous);
  const auto t = twin.now() + Duration{static_cast<std::int64_t>(5 * kMsPerDay)};
  a.run_until(t);
  b.run_until(t);
  CHECK(a.view() == b.view());
  CHECK(report::kpis_json(a, a.kpis(), -1) == report::kpis_json(b, b.kpis(), -1));
}

TEST_CASE("a follow-mode twin saved and restored has the same state and follows events the same",
          "[des][twin]") {
  auto twin = busy_twin();
  const std::string bytes = twin.save();
  auto restored = des::Simulation::restore(minifab_model(), twin.options(), bytes);
  REQUIRE(restored.ok());
  auto& r = restored.value();
  CHECK(r.view() == twin.view());
  CHECK(r.version() == twin.version());
  CHECK(r.mode() == des::Mode::Follow);
  CHECK(r.event_counts() == twin.event_counts());
  CHECK(r.find_lot("EXT-2") == twin.find_lot("EXT-2"));
  CHECK(r.lot_name(des::LotKey{des::LotKey::kExternal, 1}) == "EXT-2");
  CHECK(r.save() == bytes);  // canonical bytes
  // The same events from here give the same states.
  for (const auto& e : {track_out("EXT-1", "Diffusion_AB_1", 1, 230, 2), queued("EXT-1", 2, 240),
                        tool_state("Diffusion_AB_2", ToolState::Standby, 250), unhold("Init_B_2", 260),
                        scrap("Init_B_2", 25, 270), hold("NOPE", 280)}) {
    const auto x = twin.apply(e), y = r.apply(e);
    CHECK(x.ok() == y.ok());
    CHECK(r.view() == twin.view());
  }
  // And the same forecast.
  twin.set_mode(des::Mode::Autonomous);
  r.set_mode(des::Mode::Autonomous);
  twin.run_until(at_day(3));
  r.run_until(at_day(3));
  CHECK(r.view() == twin.view());
}

TEST_CASE("an autonomous mini-fab restored at day 10 runs on to day 40 exactly as the original",
          "[des][twin]") {
  const des::Options opt{.seed = 4, .rule = "cr"};
  auto a = des::Simulation::create(minifab_model(), opt).value();
  a.run_until(at_day(10));
  auto b = des::Simulation::restore(minifab_model(), opt, a.save()).value();
  a.run_until(at_day(40));
  b.run_until(at_day(40));
  CHECK(b.events() == a.events());
  CHECK(b.view() == a.view());
  REQUIRE(b.completed_lots().size() == a.completed_lots().size());
  CHECK(a.completed_lots().size() > 100);
  for (std::size_t i = 0; i < a.completed_lots().size(); ++i) {
    const auto& x = a.completed_lots()[i];
    const auto& y = b.completed_lots()[i];
    CHECK(
        (x.key == y.key && x.completed == y.completed && x.released == y.released && x.reworks == y.reworks));
  }
  CHECK(report::kpis_json(b, b.kpis(), -1) == report::kpis_json(a, a.kpis(), -1));
  CHECK(b.wip_samples().size() == a.wip_samples().size());
}

TEST_CASE("restore refuses another model, other options and damaged bytes, naming what differs",
          "[des][twin]") {
  const des::Options opt{.seed = 3};
  auto sim = des::Simulation::create(minifab_model(), opt).value();
  sim.run_until(at_day(2));
  const std::string bytes = sim.save();
  REQUIRE(des::Simulation::restore(minifab_model(), opt, bytes).ok());

  SECTION("another model") {
    ModelData d = minifab_model().data();
    d.steps[2].process_time.a *= 1.1;  // one processing time
    const Model other = Model::build(d).value();
    const auto r = des::Simulation::restore(other, opt, bytes);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().field == "model");
  }
  SECTION("another seed, rule, warm-up") {
    auto seed = des::Simulation::restore(minifab_model(), des::Options{.seed = 4}, bytes);
    REQUIRE_FALSE(seed.ok());
    CHECK(seed.error().field == "seed");
    CHECK(seed.error().message.find('3') != std::string::npos);
    auto rule = des::Simulation::restore(minifab_model(), des::Options{.seed = 3, .rule = "cr"}, bytes);
    REQUIRE_FALSE(rule.ok());
    CHECK(rule.error().field == "rule");
    auto warm =
        des::Simulation::restore(minifab_model(), des::Options{.seed = 3, .warmup = Duration{1}}, bytes);
    REQUIRE_FALSE(warm.ok());
    CHECK(warm.error().field == "warmup");
  }
  SECTION("truncated or corrupted bytes") {
    for (const std::size_t n :
         {std::size_t{0}, std::size_t{7}, std::size_t{30}, bytes.size() / 2, bytes.size() - 1}) {
      INFO("first " << n << " bytes");
      const auto r = des::Simulation::restore(minifab_model(), opt, bytes.substr(0, n));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().file == "checkpoint");
    }
    for (const std::size_t at : {std::size_t{3}, std::size_t{20}, bytes.size() / 3, bytes.size() - 3}) {
      INFO("byte " << at << " flipped");
      std::string bad = bytes;
      bad[at] = static_cast<char>(bad[at] ^ 0x5a);
      const auto r = des::Simulation::restore(minifab_model(), opt, bad);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().file == "checkpoint");
    }
    CHECK_FALSE(des::Simulation::restore(minifab_model(), opt, "not a checkpoint at all, just text").ok());
  }
  SECTION("truncated with a checksum made right: refused as truncated, never read past the end") {
    const std::string body = bytes.substr(0, bytes.size() - 8);
    for (std::size_t n = 24; n < body.size(); n += 1 + body.size() / 97) {
      INFO("first " << n << " bytes, resealed");
      const auto r = des::Simulation::restore(minifab_model(), opt, resealed(body.substr(0, n)));
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().file == "checkpoint");
    }
  }
}
