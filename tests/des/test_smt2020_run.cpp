// The SMT2020 data sets run: sane KPIs after a few weeks, and the fork property on a full fab.
#include <catch2/catch.hpp>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

TEST_CASE("SMT2020 HVLM runs 40 days with sane statistics", "[des][smt2020]") {
  const Model m = io::load_model(test::hvlm()).value();
  auto sim = des::Simulation::create(m, des::Options{.seed = 1, .rule = "fifo"}).value();
  sim.run_until(SimTime{round_ms(40 * kMsPerDay)});
  const auto k = sim.kpis();
  CHECK(k.lots_completed > 1000);  // initial WIP drains
  for (const auto& g : k.tool_groups) {
    INFO(g.name);
    // E10: the states add up to calendar time; setup and PM split scheduled down.
    const double sum =
        g.productive + g.standby + g.engineering + g.scheduled_down + g.unscheduled_down + g.non_scheduled;
    CHECK(g.scheduled_down == Approx(g.setup + g.pm).margin(1e-12));
    CHECK(sum == Approx(1.0).margin(1e-9));
    CHECK(g.utilisation_of_uptime <= 1.0 + 1e-9);
  }
  // Every lot completed performed at least the non-sampled steps of its route.
  for (const auto& cl : sim.completed_lots()) CHECK(cl.completed >= cl.released);
  // Litho groups have setups; implant groups with minimum runs report setup time.
  bool litho_setup = false;
  for (const auto& g : k.tool_groups)
    if (g.name == "LithoTrack_FE_95" && g.setup > 0) litho_setup = true;
  CHECK(litho_setup);
}

TEST_CASE("a fork of the SMT2020 LVHM twin matches the original (CR rule)", "[des][smt2020]") {
  const Model m = io::load_model(test::lvhm()).value();
  auto a = des::Simulation::create(m, des::Options{.seed = 2, .rule = "cr"}).value();
  a.run_until(SimTime{round_ms(5 * kMsPerDay)});
  auto b = a.fork();
  a.run_until(SimTime{round_ms(12 * kMsPerDay)});
  b.run_until(SimTime{round_ms(12 * kMsPerDay)});
  CHECK(a.events() == b.events());
  REQUIRE(a.completed_lots().size() == b.completed_lots().size());
  CHECK(a.lots_in_fab() == b.lots_in_fab());
}
