// The shipped mini-fab: its two representations agree, and a year of it is a balanced line.
#include <catch2/catch.hpp>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

TEST_CASE("minifab.json is its tab-separated source, named", "[des][minifab]") {
  const Model json = io::load_model(test::minifab()).value();
  const Model src = io::load_model(test::source_dir() / "twin_models" / "minifab-src").value();
  ModelData a = json.data(), b = src.data();
  CHECK(a.name == "minifab");
  a.name = b.name;
  a.source = b.source;
  CHECK(a == b);
}

TEST_CASE("a year of the mini-fab under each rule completes lots with sane KPIs", "[des][minifab]") {
  const Model m = io::load_model(test::minifab()).value();
  for (const char* rule : {"fifo", "cr", "edd", "spt"}) {
    INFO(rule);
    auto sim = des::Simulation::create(m, des::Options{.seed = 11, .rule = rule}).value();
    sim.run_until(SimTime{round_ms(365 * kMsPerDay)});
    const auto k = sim.kpis();
    REQUIRE(k.products.size() == 2);
    for (const auto& p : k.products) {
      CHECK(p.completed_lots > 1500);
      CHECK(p.x_factor > 1.0);
      CHECK(p.x_factor < 4.0);
    }
    // Releases 8 + 6 + 0.5 lots a day; completions keep up (no runaway WIP).
    CHECK(k.throughput_lots_per_day == Approx(14.5).epsilon(0.05));
    CHECK(sim.lots_in_fab() < 60);
    for (const auto& g : k.tool_groups) {
      CHECK(g.utilisation_of_uptime > 0.3);
      CHECK(g.utilisation_of_uptime < 0.99);
    }
  }
}
