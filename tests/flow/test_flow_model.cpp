// The flow model on a hand-computable fab: clearing function, steady-state figures, conservation,
// tool counts, threads, refusals.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <stdexcept>
#include <utility>
#include <vector>

#include "fabtwin/flow/flow.hpp"
#include "flow_test_fab.hpp"

using namespace fabtwin;
using Catch::Matchers::Contains;

namespace {
flow::RunOptions options(double warmup = 10, double days = 20, double dt = 0.01) {
  flow::RunOptions o;
  o.period_hours = dt;
  o.warmup_days = warmup;
  o.days = days;
  return o;
}
}  // namespace

TEST_CASE("the clearing function is increasing, 0 at no load, below 1 and solves its equation", "[flow]") {
  // k = 0: no queueing term, the busy share is min(w / p, 1) (capacity-limited fluid).
  for (double w : {0.01, 0.05, 0.1, 0.2, 5.0})
    CHECK(flow::busy_share(w, 0.1, 0) == Approx(std::min(w / 0.1, 1.0)));
  for (double p : {0.0, 0.1, 1.0, 3.0})
    for (double k : {0.05, 1.0, 5.0}) {
      CHECK(flow::busy_share(0, p, k) == 0);
      double prev = 0;
      for (double w = 1e-4; w < 1e4; w *= 1.7) {
        const double rho = flow::busy_share(w, p, k);
        INFO("p " << p << " k " << k << " w " << w);
        CHECK(rho > prev);
        CHECK(rho < 1);
        // w = rho p + k rho^2 / (1 - rho)
        CHECK(rho * p + k * rho * rho / (1 - rho) == Approx(w).epsilon(1e-9));
        prev = rho;
      }
      CHECK(flow::busy_share(1e9, p, k) > 0.999);
    }
}

TEST_CASE("a hand-computable fab: throughput, cycle time, WIP and utilisation", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  CHECK(fm->states() == 4);  // 3 steps + the product's sink
  const flow::ScenarioInput base{"base", {}, {}, {}, {}};
  const auto r = fm->run(std::span(&base, 1), options()).front();
  const double ct_h = test::flow_fab_cycle_time_hours();
  CHECK(r.throughput_lots_per_day == Approx(12).epsilon(1e-3));
  CHECK(r.cycle_time_days * 24 == Approx(ct_h).epsilon(1e-3));
  CHECK(r.wip_lots == Approx(0.5 * ct_h).epsilon(1e-3));
  CHECK(r.product_cycle_time_days[0] == Approx(r.cycle_time_days));
  CHECK(r.utilisation[0] == Approx(0.5).epsilon(1e-3));
  CHECK(r.utilisation[1] == Approx(0.3125).epsilon(1e-3));
}

TEST_CASE("one more tool shortens the queue as the calibration's k scales with 1 / tools", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  const std::vector<flow::ScenarioInput> in{{"base", {}, {}, {}, {}}, {"B+1", {1, 3}, {}, {}, {}}};
  const auto r = fm->run(in, options());
  const double rho = 0.5 / (3 * 0.8);
  const double ct_h = 2 * 0.7 + 1.25 + 0.4 * (2.0 / 3.0) * rho / (1 - rho);
  CHECK(r[1].cycle_time_days * 24 == Approx(ct_h).epsilon(1e-3));
  CHECK(r[1].cycle_time_days < r[0].cycle_time_days);
  CHECK(r[1].utilisation[1] == Approx(rho).epsilon(1e-3));
  CHECK(r[1].throughput_lots_per_day == Approx(r[0].throughput_lots_per_day).epsilon(1e-6));
}

TEST_CASE("lots are conserved: released = completed + WIP change, with sampling and rework", "[flow]") {
  test::TinyFab f;
  f.group("A", 1);
  f.group("B", 2);
  const auto p = f.product("p", {{"A", 30}, {"B", 60}, {"A", 30}, {"B", 20}});
  f.order("L", p, 0, 120, 100000);
  f.step(p, 2).sample_percent = 50;
  f.step(p, 3).rework_step = f.step_id(p, 1);
  f.step(p, 3).rework_percent = 10;
  f.d.wip.push_back({"W1", p, 10, 25, {}, f.step_id(p, 2), {}, "", false, ""});
  f.d.wip.push_back({"W2", p, 10, 25, {}, f.step_id(p, 4), {}, "", false, ""});
  const auto fm = flow::FlowModel::create(f.build(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  const std::vector<flow::ScenarioInput> in{
      {"base", {}, {}, {}, {}}, {"more", {}, {}, {}, {1.3}}, {"none", {}, {}, {}, {0.0}}};
  for (double warmup : {0.0, 3.0}) {
    const auto r = fm->run(in, options(warmup, 5, 0.05));
    for (const auto& x : r) {
      INFO(x.name << " warm-up " << warmup);
      CHECK(x.released_lots ==
            Approx(x.completed_lots + x.wip_end_lots - x.wip_start_lots).epsilon(1e-9).margin(1e-9));
    }
    CHECK(r[2].released_lots == 0);
    if (warmup == 0) CHECK(r[2].wip_start_lots == 2);
  }
  // In steady state every released lot leaves once (sampling and rework change the path only).
  const auto r = fm->run(in, options(20, 40, 0.02));
  CHECK(r[0].throughput_lots_per_day == Approx(12).epsilon(1e-3));
  CHECK(r[1].throughput_lots_per_day == Approx(12 * 1.3).epsilon(1e-3));
  CHECK(r[2].wip_end_lots < 1e-6);
}

TEST_CASE("results do not depend on the number of CPU threads", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  std::vector<flow::ScenarioInput> in;
  for (int s = 0; s < 70; ++s)
    in.push_back({std::string("s").append(std::to_string(s)),
                  {1u, 2u + static_cast<unsigned>(s % 3)},
                  {},
                  {},
                  {0.5 + 0.01 * s}});
  auto o = options(1, 2, 0.05);
  const auto one = fm->run(in, o);
  o.threads = 3;
  const auto three = fm->run(in, o);
  for (std::size_t s = 0; s < in.size(); ++s) {
    CHECK(one[s].cycle_time_days == three[s].cycle_time_days);
    CHECK(one[s].throughput_lots_per_day == three[s].throughput_lots_per_day);
  }
}

TEST_CASE("a run reports its progress in scenario-days, and an exception from it stops the run", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  std::vector<flow::ScenarioInput> in;
  for (int s = 0; s < 70; ++s)  // three blocks of scenarios
    in.push_back(
        {std::string("s").append(std::to_string(s)), {1u, 2u + static_cast<unsigned>(s % 3)}, {}, {}, {}});
  auto o = options(1, 2.5, 0.05);  // 1 + 2.5 days: reports once a day and at each block's end
  const auto plain = fm->run(in, o);
  for (unsigned threads : {1u, 3u}) {
    INFO(threads << " threads");
    o.threads = threads;
    std::vector<std::pair<double, double>> seen;
    o.progress = [&](double done, double total) { seen.emplace_back(done, total); };
    const auto r = fm->run(in, o);
    REQUIRE(!seen.empty());
    CHECK(seen.size() == 3 * 4);  // per block: after days 1, 2, 3 and at its end
    for (std::size_t i = 0; i < seen.size(); ++i) {
      CHECK(seen[i].second == Approx(70 * 3.5));
      if (i > 0) CHECK(seen[i].first > seen[i - 1].first);
    }
    CHECK(seen.back().first == Approx(70 * 3.5));
    for (std::size_t s = 0; s < in.size(); ++s) CHECK(r[s].cycle_time_days == plain[s].cycle_time_days);

    // The callback's exception leaves run(), and no block goes on to its end.
    struct Stop {};
    int calls = 0;
    o.progress = [&](double, double) {
      ++calls;
      throw Stop{};
    };
    CHECK_THROWS_AS(fm->run(in, o), Stop);
    CHECK(calls == 1);
  }
}

TEST_CASE("bad inputs and calibrations that do not fit are refused", "[flow]") {
  const auto model = test::flow_fab();
  auto cal = test::flow_fab_calibration();
  const auto fm = flow::FlowModel::create(model, cal);
  REQUIRE(fm.ok());
  const std::vector<flow::ScenarioInput> wrong_len{{"w", {1, 2, 3}, {}, {}, {}}};
  CHECK_THROWS_WITH(fm->run(wrong_len, options(0, 1)), Contains("'w'") && Contains("tools has 3 values"));
  const std::vector<flow::ScenarioInput> zero{{"z", {1, 0}, {}, {}, {}}};
  CHECK_THROWS_WITH(fm->run(zero, options(0, 1)), Contains("tool group B") && Contains("tools must be >= 1"));
  const std::vector<flow::ScenarioInput> avail{{"a", {}, {1.0, 1.5}, {}, {}}};
  CHECK_THROWS_AS(fm->run(avail, options(0, 1)), std::invalid_argument);
  auto o = options();
  o.period_hours = 0;
  CHECK_THROWS_AS(fm->run({}, o), std::invalid_argument);

  auto renamed = cal;
  renamed.groups[1].name = "C";
  auto r1 = flow::FlowModel::create(model, renamed);
  REQUIRE_FALSE(r1.ok());
  CHECK(r1.error().field == "groups[1].name");
  auto fewer = cal;
  fewer.groups.pop_back();
  auto r2 = flow::FlowModel::create(model, fewer);
  REQUIRE_FALSE(r2.ok());
  CHECK(r2.error().field == "groups");
  auto negative = cal;
  negative.groups[0].queue_k_hours = -1;
  CHECK_FALSE(flow::FlowModel::create(model, negative).ok());
}
