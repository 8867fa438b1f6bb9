// des::Simulation::restore_changed: a warm state continued under a changed model and options (the
// what-if runner's shared warm-up). The same model and options continue exactly as the original;
// a new seed gives what fork(seed) gives; a shape-keeping delta takes effect; a delta that changes
// the state's tables is refused; the warm-up end moves to the new options'.
#include <catch2/catch.hpp>

#include "fabtwin/des/scenario.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;

namespace {

des::Options opts(std::uint64_t seed, double warmup_days) {
  des::Options o;
  o.seed = seed;
  o.warmup = round_ms(warmup_days * kMsPerDay);
  return o;
}

// Completion records as comparable tuples.
std::vector<std::tuple<std::uint32_t, std::uint32_t, std::int64_t, std::int64_t>> completions(
    const des::Simulation& s) {
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::int64_t, std::int64_t>> v;
  for (const auto& c : s.completed_lots())
    v.emplace_back(c.key.source, c.key.sequence, c.released.time_since_epoch().count(),
                   c.completed.time_since_epoch().count());
  return v;
}

des::Scenario one(des::Delta d) {
  des::Scenario s;
  s.name = "t";
  s.deltas.push_back(std::move(d));
  return s;
}

}  // namespace

TEST_CASE("restore_changed with the same model and options continues as the original") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(7, 10)).value();
  sim.run_until(at_day(10));
  const std::string warm = sim.save();
  auto again = des::Simulation::restore_changed(m, opts(7, 10), warm);
  REQUIRE(again.ok());
  sim.run_until(at_day(30));
  again->run_until(at_day(30));
  CHECK(completions(*again) == completions(sim));
  CHECK(again->events() == sim.events());
  CHECK(again->kpis().tool_groups[2].productive == sim.kpis().tool_groups[2].productive);
}

TEST_CASE("restore_changed with another seed equals fork(seed)") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(1, 5)).value();
  sim.run_until(at_day(5));
  auto forked = sim.fork(99);
  auto restored = des::Simulation::restore_changed(m, opts(99, 5), sim.save());
  REQUIRE(restored.ok());
  forked.run_until(at_day(25));
  restored->run_until(at_day(25));
  CHECK(completions(*restored) == completions(forked));
  sim.run_until(at_day(25));
  CHECK(completions(sim) != completions(forked));  // the seed matters
}

TEST_CASE("restore_changed applies a shape-keeping delta from the checkpoint on") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 5)).value();
  sim.run_until(at_day(5));
  const std::string warm = sim.save();
  const auto before = completions(sim);
  const des::RuleRegistry rules;
  auto slow = des::apply_scenario(m, opts(3, 5), one({des::ProcessTimeDelta{"Litho_E", "", {}, 1.3}}), rules);
  REQUIRE(slow.ok());
  auto changed = des::Simulation::restore_changed(slow->model, slow->options, warm);
  REQUIRE(changed.ok());
  CHECK(completions(*changed) == before);  // the past is kept
  changed->run_until(at_day(40));
  sim.run_until(at_day(40));
  // Litho 30 % slower: its productive share rises, lots take longer.
  const des::Kpis k0 = sim.kpis(), k1 = changed->kpis();
  const auto& g0 = k0.tool_groups[2];
  const auto& g1 = k1.tool_groups[2];
  REQUIRE(g0.name == "Litho_E");
  CHECK(g1.productive > g0.productive * 1.05);
  CHECK(k1.products[0].cycle_time_days.mean > k0.products[0].cycle_time_days.mean);

  auto cr = des::apply_scenario(m, opts(3, 5), one({des::RuleDelta{"Diffusion_AB", "cr"}}), rules);
  REQUIRE(cr.ok());
  CHECK(des::Simulation::restore_changed(cr->model, cr->options, warm).ok());
}

TEST_CASE("restore_changed refuses a model whose tables do not fit the state") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 0)).value();
  sim.run_until(at_day(2));
  const des::RuleRegistry rules;
  auto more = des::apply_scenario(m, opts(3, 0), one({des::ToolCountDelta{"Litho_E", 2}}), rules);
  REQUIRE(more.ok());
  auto r = des::Simulation::restore_changed(more->model, more->options, sim.save());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("do not fit the model"));
  des::Options other = opts(3, 0);
  other.wip_sample_interval = round_ms(kMsPerDay / 2);
  auto w = des::Simulation::restore_changed(m, other, sim.save());
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().field == "wip_sample_interval");
  // The strict restore still refuses another seed.
  CHECK_FALSE(des::Simulation::restore(m, opts(4, 0), sim.save()).ok());
}

TEST_CASE("restore_changed moves the warm-up end") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(5, 0)).value();
  sim.run_until(at_day(10));
  auto later = des::Simulation::restore_changed(m, opts(5, 15), sim.save());
  REQUIRE(later.ok());
  later->run_until(at_day(30));
  sim.run_until(at_day(30));
  CHECK(completions(*later) == completions(sim));  // the same run
  const auto k0 = sim.kpis(), k1 = later->kpis();
  CHECK(k1.warmup_days == 15);
  // Statistics restarted at day 15: lots released before are not counted.
  CHECK(k1.products[0].completed_lots < k0.products[0].completed_lots);
  CHECK(k1.tool_groups[2].productive != k0.tool_groups[2].productive);
  // A warm-up end at the checkpoint's own time restarts the statistics there.
  auto now = des::Simulation::restore_changed(m, opts(5, 20), [&] {
    auto s20 = des::Simulation::create(m, opts(5, 0)).value();
    s20.run_until(at_day(20));
    return s20.save();
  }());
  REQUIRE(now.ok());
  now->run_until(at_day(30));
  const auto k2 = now->kpis();
  CHECK(k2.warmup_days == 20);
  CHECK(k2.tool_groups[2].productive != k0.tool_groups[2].productive);
  CHECK(k2.products[0].completed_lots < k1.products[0].completed_lots);
}
