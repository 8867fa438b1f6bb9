// Forecasts: a follow-mode twin forked into autonomous replications.
#include <catch2/catch.hpp>
#include <sstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin/replay.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

SimTime days(double d) { return SimTime{round_ms(d * kMsPerDay)}; }

// A follow-mode twin of the mini-fab after `d` emulated days.
des::Simulation live_twin(const Model& m, double d) {
  std::ostringstream events;
  REQUIRE(twin::emulate(m, {.days = d}, events).ok());
  std::istringstream in(events.str());
  auto r = twin::replay(m, in, {.until = days(d)});
  REQUIRE(r.ok());
  return std::move(r->sim);
}

}  // namespace

TEST_CASE("spread: mean, Student t 95 % half-width and interpolated quantiles", "[twin][forecast]") {
  const auto s = twin::spread({4, 1, 3, 2});
  CHECK(s.n == 4);
  CHECK(s.mean == Approx(2.5));
  CHECK(s.p10 == Approx(1.3));
  CHECK(s.p50 == Approx(2.5));
  CHECK(s.p90 == Approx(3.7));
  CHECK(s.ci95 == Approx(3.182 * 1.2909944 / 2).epsilon(1e-4));  // t(0.975, 3) * sd / sqrt(n)
  CHECK(twin::spread({7}).ci95 == 0);
  CHECK(twin::spread({}).n == 0);
}

TEST_CASE("fork(seed) draws anew from now on; fork(its own seed) is fork()", "[twin][forecast]") {
  const Model m = io::load_model(test::minifab()).value();
  auto sim = des::Simulation::create(m, {.seed = 3}).value();
  sim.run_until(days(5));
  auto same = sim.fork(3), plain = sim.fork(), other = sim.fork(twin::replication_seed(3, 0));
  for (auto* s : {&same, &plain, &other}) s->run_until(days(25));
  CHECK(same.save() == plain.save());
  CHECK(other.completed_lots().size() > 0);
  bool differs = other.completed_lots().size() != plain.completed_lots().size();
  for (std::size_t i = 0; !differs && i < plain.completed_lots().size(); ++i)
    differs = plain.completed_lots()[i].completed != other.completed_lots()[i].completed;
  CHECK(differs);
  CHECK(twin::replication_seed(3, 0) != twin::replication_seed(3, 1));
}

TEST_CASE("a forecast of a live twin: completions within the horizon, independent of threads",
          "[twin][forecast]") {
  const Model m = io::load_model(test::minifab()).value();
  const des::Simulation live = live_twin(m, 10);
  REQUIRE(live.mode() == des::Mode::Follow);
  const std::string before = live.save();
  twin::ForecastOptions o{.horizon_days = 5, .replications = 6, .seed = 9, .threads = 1, .at_hours = {24, 0}};
  const auto one = twin::forecast(live, o);
  REQUIRE(one.ok());
  CHECK(live.save() == before);  // only read
  CHECK(one->from == days(10));
  CHECK(one->to == days(15));
  CHECK(one->replications == 6);
  REQUIRE(one->lots.size() == live.view().lots.size());
  CHECK(one->lots_completed.n == 6);
  CHECK(one->lots_completed.mean > 0);
  CHECK(one->moves.mean > one->lots_completed.mean);
  bool some_spread = false, some_completed = false;
  for (const auto& l : one->lots) {
    CHECK(l.completed_fraction >= 0);
    CHECK(l.completed_fraction <= 1);
    REQUIRE(l.position_at.size() == 2);
    CHECK(l.position >= 1);
    CHECK(l.position <= l.route_steps);
    if (l.completion_ms.n > 0) {
      some_completed = true;
      CHECK(l.completion_ms.p10 >= 10 * kMsPerDay);
      CHECK(l.completion_ms.p90 <= 15 * kMsPerDay);
      CHECK(l.completion_ms.p10 <= l.completion_ms.p90);
      some_spread = some_spread || l.completion_ms.p90 > l.completion_ms.p10;
    }
    // At the start every lot is where the live twin has it, or (done between steps) one on.
    CHECK(l.position_at[1].p50 >= l.position);
    CHECK(l.position_at[0].p50 >= l.position_at[1].p50);
  }
  CHECK(some_completed);
  CHECK(some_spread);  // replications draw differently
  o.threads = 3;
  const auto three = twin::forecast(live, o);
  REQUIRE(three.ok());
  REQUIRE(three->lots.size() == one->lots.size());
  for (std::size_t i = 0; i < one->lots.size(); ++i) {
    CHECK(three->lots[i].name == one->lots[i].name);
    CHECK(three->lots[i].completion_ms.mean == one->lots[i].completion_ms.mean);
    CHECK(three->lots[i].completion_ms.n == one->lots[i].completion_ms.n);
  }
  CHECK(three->moves.mean == one->moves.mean);
}

TEST_CASE("a forecast refuses bad options, naming the field", "[twin][forecast]") {
  const Model m = io::load_model(test::minifab()).value();
  const des::Simulation live = live_twin(m, 3);
  auto field = [&](twin::ForecastOptions o) {
    const auto r = twin::forecast(live, o);
    REQUIRE_FALSE(r.ok());
    return r.error().field;
  };
  CHECK(field({.horizon_days = 0}) == "horizon_days");
  CHECK(field({.horizon_days = -1}) == "horizon_days");
  CHECK(field({.horizon_days = std::nan("")}) == "horizon_days");
  CHECK(field({.replications = 0}) == "replications");
  CHECK(field({.horizon_days = 1, .at_hours = {12, 25}}) == "at_hours[1]");
  CHECK(field({.lots = {"no such lot"}}) == "lots[0]");
  const std::string name = live.view().lots.at(0).name;
  const auto r = twin::forecast(live, {.horizon_days = 1, .replications = 2, .lots = {name}});
  REQUIRE(r.ok());
  REQUIRE(r->lots.size() == 1);
  CHECK(r->lots[0].name == name);
}
