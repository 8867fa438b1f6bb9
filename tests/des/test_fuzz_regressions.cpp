// Inputs the simulation fuzzer (tests/fuzz/fuzz_simulate.cpp) once broke, run again on every
// build: each model in tests/fuzz/corpus/simulate that reads is simulated for 30 days (or refused
// with the field named); its
// checkpoint restores and saves the same bytes, and keyframe + delta equals the keyframe now.
#include <catch2/catch.hpp>
#include <filesystem>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

TEST_CASE("models that once broke the simulation run 30 days and checkpoint cleanly", "[des][fuzz]") {
  const auto dir = test::source_dir() / "tests" / "fuzz" / "corpus" / "simulate";
  int ran = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    INFO(entry.path().filename().string());
    const auto text = io::read_file(entry.path());
    REQUIRE(text.ok());
    auto m = io::parse_native(text.value(), entry.path().string());
    if (!m) continue;
    auto created = des::Simulation::create(*m, des::Options{});
    if (!created.ok()) {  // refused (e.g. a time that would overflow the clock): the error names the field
      CHECK_FALSE(created.error().field.empty());
      continue;
    }
    des::Simulation sim = std::move(created.value());
    const des::StateView start = sim.view();
    sim.run_until(SimTime{round_ms(30 * kMsPerDay)});
    CHECK(sim.now() == SimTime{round_ms(30 * kMsPerDay)});
    des::StateView rebuilt = start;
    des::apply_delta(rebuilt, sim.changes_since(start.version).value());
    CHECK(rebuilt == sim.view());
    const std::string bytes = sim.save();
    auto back = des::Simulation::restore(*m, des::Options{}, bytes);
    REQUIRE(back.ok());
    CHECK(back->save() == bytes);
    ++ran;
  }
  CHECK(ran >= 1);
}

TEST_CASE("releases stamped before the model's epoch are skipped, later ones keep their numbers", "[des]") {
  ModelData d = io::load_model(test::minifab()).value().data();
  REQUIRE(!d.orders.empty());
  Order& o = d.orders[0];
  o.start = SimTime{round_ms(-10 * kMsPerDay)};
  o.interval = Distribution::constant(1, Unit::Day);
  o.repeat_count = 20;
  o.lots_per_release = 1;
  const Model m = Model::build(d).value();
  auto sim = des::Simulation::create(m, des::Options{}).value();
  sim.run_until(SimTime{round_ms(0.5 * kMsPerDay)});
  // Release 10 falls on day 0: the first one the run makes; releases 0..9 are history.
  CHECK(sim.find_lot(o.lot_prefix + "_11").has_value());
  CHECK_FALSE(sim.find_lot(o.lot_prefix + "_10").has_value());
  CHECK(sim.now() >= SimTime{});
}
