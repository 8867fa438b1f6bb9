// The change journal: for random event sequences, a keyframe view() at version v plus the delta
// changes_since(v) equals view() now, exactly, with the journal's log on, off, or too small to
// reach back; a subscriber that catches up by deltas sees every view.
#include <catch2/catch.hpp>
#include <optional>
#include <random>

#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;
using des::LotPlace;
using des::ToolState;

namespace {

// Random MES events drawn from the current view: mostly valid, some refused (unknown names, wrong
// tools, steps off the route ...), some late, in increasing time.
class EventDraw {
 public:
  EventDraw(const des::Simulation& sim, std::uint64_t seed) : sim_(sim), rng_(seed) {}

  double clock() const { return t_; }
  std::uint64_t r(std::uint64_t n) { return rng_() % n; }

  des::Event next(const des::StateView& v) {
    t_ += r(4) == 0 ? 0.0 : static_cast<double>(r(30 * 60'000)) / 60'000;  // whole ms
    const double at = r(25) == 0 ? t_ - 45 : t_;                           // some late
    const auto& m = sim_.model();
    const auto lot = [&]() -> const des::LotView* {
      return v.lots.empty() ? nullptr : &v.lots[r(v.lots.size())];
    };
    const auto lot_name = [&]() -> std::string {
      const auto* l = lot();
      return !l || r(15) == 0 ? "NOPE-" + std::to_string(r(3)) : l->name;
    };
    const auto number = [&](const des::LotView& l) { return m.step(l.step).number; };
    const auto tool_name = [&]() -> std::string {
      return r(20) == 0 ? "NOPE_1" : m.tools()[r(m.tools().size())].name;
    };
    const auto tool_of_group = [&](ToolGroupId g) {
      const auto& tg = m.tool_group(g);
      return m.tools()[tg.first_tool.index() + r(tg.tool_count)].name;
    };
    switch (r(16)) {
      case 0:
      case 1: {
        const std::string name =
            r(10) == 0 && !v.lots.empty() ? lot()->name : "R-" + std::to_string(++released_);
        return released(name, r(2) ? "part_A" : "part_B", at,
                        r(10) == 0 ? 0 : 25 - static_cast<std::uint32_t>(r(3)), r(5) == 0 ? 20 : 10);
      }
      case 2: {  // queued at its next step (in transport), its own step, or any
        const auto* l = lot();
        if (!l) return hold("NOPE", at);
        const std::uint32_t n = number(*l) + (l->place == LotPlace::InTransport ? 1 : 0);
        return queued(l->name, r(4) == 0 ? static_cast<std::uint32_t>(r(8)) : n, at);
      }
      case 3:
      case 4:
      case 5: {  // track-in of queued lots (a batch at the furnaces) on a tool of their group
        std::vector<const des::LotView*> q;
        for (const auto& l : v.lots)
          if (l.place == LotPlace::Queued) q.push_back(&l);
        if (q.empty()) return hold("NOPE", at);
        const auto* l = q[r(q.size())];
        std::vector<std::string> lots{l->name};
        for (const auto* o : q)
          if (o != l && o->step == l->step && lots.size() < 3 && r(2)) lots.push_back(o->name);
        const std::string tool = r(10) == 0 ? tool_name() : tool_of_group(l->group);
        return track_in(lots, tool, r(10) == 0 ? 0 : number(*l), at);
      }
      case 6:
      case 7:
      case 8: {  // track-out of a lot on a tool
        std::vector<const des::LotView*> on;
        for (const auto& l : v.lots)
          if (l.place == LotPlace::OnTool) on.push_back(&l);
        if (on.empty()) return hold("NOPE", at);
        const auto* l = on[r(on.size())];
        const std::string tool = r(12) == 0 ? tool_name() : m.tool(l->tool).name;
        const std::uint32_t n = number(*l);
        const auto how = r(4);
        return track_out(l->name, tool, r(10) == 0 ? 0 : n, at,
                         how == 1   ? n + 1
                         : how == 2 ? static_cast<std::uint32_t>(r(8))
                                    : 0,
                         how == 3 && n == 6);
      }
      case 9: {
        const auto* l = lot();
        if (l && l->held && r(4) != 0) return unhold(l->name, at);
        return r(2) ? hold(lot_name(), at) : unhold(lot_name(), at);
      }
      case 10: {
        const auto* l = lot();
        if (!l) return scrap("NOPE", 1, at);
        const auto k = r(4);  // all its wafers, a few, none or too many
        return scrap(l->name,
                     k == 0   ? l->wafers
                     : k == 1 ? 0
                     : k == 2 ? l->wafers + 1
                              : static_cast<std::uint32_t>(1 + r(5)),
                     at);
      }
      case 11:
        return rework(lot_name(), static_cast<std::uint32_t>(r(8)), at);
      case 12:
      case 13: {
        const auto s = static_cast<ToolState>(r(des::kToolStateCount));
        return tool_state(tool_name(), s, at,
                          r(3) == 0 ? std::optional{at + static_cast<double>(r(300))} : std::nullopt);
      }
      case 14: {
        static const char* cals[] = {"", "Litho_E_WK", "Diffusion_AB_MN", "Implant_CD_PC", "NOPE"};
        const std::string cal = cals[r(5)];
        return r(2) ? pm_start(tool_name(), at, cal, r(2) ? std::optional{at + 240.0} : std::nullopt)
                    : pm_end(tool_name(), at, cal);
      }
      default: {
        static const char* setups[] = {"SP_1", "SP_2", "SP_3", "SP_9"};
        return setup_change(tool_name(), setups[r(4)], at);
      }
    }
  }

 private:
  const des::Simulation& sim_;
  std::mt19937_64 rng_;
  double t_ = 0;
  int released_ = 0;
};

// A reader that keeps a keyframe and catches up by deltas.
struct Subscriber {
  des::StateView view;
  void catch_up(const des::Simulation& sim) {
    const auto d = sim.changes_since(view.version);
    REQUIRE(d);
    CHECK(d->from == view.version);
    CHECK(d->to == sim.version());
    des::apply_delta(view, *d);
  }
};

void check_keyframes(const des::Simulation& sim, const std::vector<des::StateView>& keyframes) {
  const auto now = sim.view();
  for (const auto& k : keyframes) {
    const auto d = sim.changes_since(k.version);
    INFO("keyframe at version " << k.version << ", now " << now.version);
    REQUIRE(d);
    auto merged = k;
    des::apply_delta(merged, *d);
    CHECK(merged == now);
  }
}

}  // namespace

TEST_CASE("changes since a version newer than the twin's are unknown", "[des][twin]") {
  auto sim = follow_twin(minifab_model());
  CHECK_FALSE(sim.changes_since(sim.version() + 1));
  sim.enable_journal();
  REQUIRE(sim.apply(released("X", "part_A", 1)).ok());
  CHECK_FALSE(sim.changes_since(sim.version() + 1));
  const auto d = sim.changes_since(sim.version());
  REQUIRE(d);
  CHECK(d->from == d->to);
  auto v = sim.view();
  auto k = v;
  des::apply_delta(k, *d);
  CHECK(k == v);
  // A delta applies only to the keyframe it starts from.
  auto old = v;
  old.version -= 1;
  CHECK_THROWS_AS(des::apply_delta(old, *d), std::invalid_argument);
}

TEST_CASE("a new twin's version covers every record it holds: nothing changed since it", "[des][twin]") {
  // (A regression: create() once set the version to 1 after the initial WIP lots were stamped with
  // versions 2, 3, ..., so they showed in every delta until they changed again.)
  auto sim = follow_twin(minifab_model());
  const auto d = sim.changes_since(sim.version());
  REQUIRE(d);
  CHECK(d->lots.empty());
  CHECK(d->queues.empty());
  CHECK(d->tools.empty());
}

TEST_CASE("mini-fab, random events in follow mode: keyframe + delta = view, journal on, off or short",
          "[des][twin]") {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    INFO("seed " << seed);
    // Three twins fed the same events: the journal's log on, off, and too small to reach back.
    auto on = follow_twin(minifab_model());
    auto off = follow_twin(minifab_model());
    auto small = follow_twin(minifab_model());
    on.enable_journal();
    small.enable_journal(16);
    des::Simulation* sims[] = {&on, &off, &small};
    EventDraw draw(on, seed);
    std::mt19937_64 rng(seed * 7919);
    std::vector<des::StateView> keys[3];
    Subscriber subs[3];
    for (int i = 0; i < 3; ++i) subs[i].view = sims[i]->view();
    std::uint64_t applied = 0, refused = 0;
    for (int step = 0; step < 1500; ++step) {
      const auto v = on.view();
      if (rng() % 50 == 0) {
        for (auto* s : sims) s->count_duplicate();
      } else if (rng() % 30 == 0) {
        const auto t = at_min(draw.clock() + 60);
        for (auto* s : sims) s->run_until(t);
      } else {
        const auto e = draw.next(v);
        des::ApplyResult r[3];
        for (int i = 0; i < 3; ++i) r[i] = sims[i]->apply(e);
        CHECK(r[1].ok() == r[0].ok());
        CHECK(r[2].ok() == r[0].ok());
        (r[0].ok() ? applied : refused) += 1;
      }
      // The journal changes nothing in the state.
      const auto now_on = on.view();
      REQUIRE(off.view() == now_on);
      REQUIRE(small.view() == now_on);
      for (int i = 0; i < 3; ++i) {
        if (rng() % 10 == 0) keys[i].push_back(sims[i]->view());
        if (rng() % 7 == 0) {
          subs[i].catch_up(*sims[i]);
          REQUIRE(subs[i].view == now_on);
        }
      }
      if (rng() % 100 == 0)
        for (int i = 0; i < 3; ++i) check_keyframes(*sims[i], keys[i]);
    }
    for (int i = 0; i < 3; ++i) {
      check_keyframes(*sims[i], keys[i]);
      subs[i].catch_up(*sims[i]);
      CHECK(subs[i].view == sims[i]->view());
    }
    // The draws reach the interesting states: both outcomes, lots through their routes.
    CHECK(applied > 400);
    CHECK(refused > 100);
    const auto k = on.live_kpis();
    CHECK(k.moves > 50);
    CHECK(k.lots_released > 50);
    CHECK(k.lots_scrapped > 0);
    CHECK(on.event_counts().late > 0);
  }
}

TEST_CASE("mini-fab, random events in autonomous mode: keyframe + delta = view; a restored copy keeps step",
          "[des][twin]") {
  for (const std::uint64_t seed : {4u, 5u}) {
    INFO("seed " << seed);
    const des::Options opt{.seed = seed};
    auto sim = des::Simulation::create(minifab_model(), opt).value();
    sim.enable_journal(64);
    EventDraw draw(sim, seed);
    std::mt19937_64 rng(seed);
    std::vector<des::StateView> keys;
    Subscriber sub{sim.view()};
    std::optional<des::Simulation> copy;  // restored from a checkpoint, fed the same events
    std::uint64_t applied = 0;
    for (int step = 0; step < 1200; ++step) {
      const auto e = draw.next(sim.view());
      const auto r = sim.apply(e);
      applied += r.ok();
      if (copy) {
        const auto rc = copy->apply(e);
        CHECK(rc.ok() == r.ok());
        REQUIRE(copy->view() == sim.view());
      }
      if (rng() % 200 == 0) copy.emplace(des::Simulation::restore(minifab_model(), opt, sim.save()).value());
      if (rng() % 10 == 0) keys.push_back(sim.view());
      if (rng() % 5 == 0) {
        sub.catch_up(sim);
        REQUIRE(sub.view == sim.view());
      }
    }
    check_keyframes(sim, keys);
    CHECK(applied > 300);
    CHECK(sim.live_kpis().lots_completed > 10);
    if (copy) {
      const auto t = sim.now() + Duration{static_cast<std::int64_t>(2 * kMsPerDay)};
      sim.run_until(t);
      copy->run_until(t);
      CHECK(copy->view() == sim.view());
    }
  }
}

TEST_CASE("SMT2020 HVLM autonomous, run in random steps with a few events: keyframe + delta = view",
          "[des][twin]") {
  const Model& m = hvlm_model();
  auto on = autonomous_sim(m, 5);
  auto off = autonomous_sim(m, 5);
  on.enable_journal();
  std::mt19937_64 rng(11);
  std::vector<des::StateView> keys_on, keys_off;
  Subscriber sub{on.view()};
  double hours = 0;
  for (int step = 0; step < 24; ++step) {
    hours += 1 + static_cast<double>(rng() % 12);
    const auto t = SimTime{round_ms(hours * 3'600'000.0)};
    on.run_until(t);
    off.run_until(t);
    // A few events at now: hold or release a lot, a tool down for two hours or back up, a release.
    const auto v = on.view();
    des::Event e;
    const double now_min = min_of(t);
    const auto& lot = v.lots[rng() % v.lots.size()];
    const auto& tool = m.tools()[rng() % m.tools().size()].name;
    switch (rng() % 5) {
      case 0:
        e = lot.held ? unhold(lot.name, now_min) : hold(lot.name, now_min);
        break;
      case 1:
        e = tool_state(tool, ToolState::UnscheduledDown, now_min, now_min + 120);
        break;
      case 2:
        e = tool_state(tool, ToolState::Standby, now_min);
        break;
      case 3:
        e = released("EXT-" + std::to_string(step), m.products()[rng() % m.products().size()].name, now_min);
        break;
      default:
        e = scrap(lot.name, 1, now_min);
        break;
    }
    const auto ra = on.apply(e), rb = off.apply(e);
    INFO(to_string(e.kind) << ": " << (ra.refused ? ra.refused->what() : "applied"));
    CHECK(ra.ok() == rb.ok());
    const auto now_on = on.view();
    REQUIRE(off.view() == now_on);
    if (rng() % 3 == 0) {
      keys_on.push_back(now_on);
      keys_off.push_back(off.view());
    }
    if (rng() % 2 == 0) {
      sub.catch_up(on);
      REQUIRE(sub.view == now_on);
    }
    if (step % 8 == 7) {
      check_keyframes(on, keys_on);
      check_keyframes(off, keys_off);
    }
  }
  CHECK(on.live_kpis().moves > 1000);
  CHECK(on.event_counts().applied > 10);
}

TEST_CASE("a forecast fork switched to autonomous: the delta from before the switch = its view after",
          "[des][twin]") {
  auto twin = follow_twin(minifab_model());
  // What the switch gives a simulated end: a job on a tool down without a known end, a lot
  // between steps (its next step named), a held lot between steps, a running job.
  for (const auto& e :
       {track_in({"Init_A_2"}, "Litho_E_1", 3, 0), tool_state("Litho_E_1", ToolState::UnscheduledDown, 10),
        track_in({"Init_A_1"}, "Implant_CD_1", 2, 20), track_out("Init_A_1", "Implant_CD_1", 2, 66, 3),
        track_in({"Init_B_2"}, "Implant_CD_2", 4, 70), hold("Init_B_2", 80),
        track_out("Init_B_2", "Implant_CD_2", 4, 140), track_in({"Init_A_3"}, "Diffusion_AB_1", 5, 150)})
    REQUIRE(twin.apply(e).ok());
  twin.run_until(at_min(200));
  for (const bool journal : {false, true}) {
    auto fork = twin.fork();
    if (journal) fork.enable_journal();
    const auto before = fork.view();
    fork.set_mode(des::Mode::Autonomous);
    const auto after = fork.view();
    CHECK(after.version > before.version);
    CHECK(after.mode == des::Mode::Autonomous);
    // The down without an end got a drawn repair: it shows.
    CHECK(tool_of(after, fork, "Litho_E_1").down_until.has_value());
    const auto d = fork.changes_since(before.version);
    REQUIRE(d);
    auto merged = before;
    des::apply_delta(merged, *d);
    CHECK(merged == after);
    // And on: the same after a day of simulation.
    fork.run_until(at_day(1));
    const auto d2 = fork.changes_since(before.version);
    REQUIRE(d2);
    merged = before;
    des::apply_delta(merged, *d2);
    CHECK(merged == fork.view());
  }
}
