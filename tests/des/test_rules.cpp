// Dispatching rules behave as named; every built-in rule has an expectation here.
#include <catch2/catch.hpp>

#include <map>

#include "tiny_fab.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using fabtwin::test::TinyFab;
using fabtwin::test::Trace;

namespace {

// One tool busy with a blocker until t = 100; lots X, Y, Z queue behind it with different
// arrival, due date, processing time and remaining work. Returns the order they ran in.
std::string run_order(const std::string& rule_name) {
  TinyFab f;
  f.group("T", 1, {RankKey::Fifo});  // the rule under test replaces this base key
  f.group("Pre", 3);
  // X: arrives first (t=10), due late, long step, little work left.
  // Y: arrives second (t=20), due earliest, medium step, much work left.
  // Z: arrives last (t=30), due middle, shortest step, medium work left.
  auto blocker = f.product("b", {{"T", 100}});
  auto px = f.product("x", {{"Pre", 10}, {"T", 50}});
  auto py = f.product("y", {{"Pre", 20}, {"T", 30}, {"Pre", 900}});
  auto pz = f.product("z", {{"Pre", 30}, {"T", 5}, {"Pre", 300}});
  f.wip("B", blocker, 1);
  f.wip("X", px, 1, 10, 5000);
  f.wip("Y", py, 1, 10, 1000);
  f.wip("Z", pz, 1, 10, 2000);
  auto sim = des::Simulation::create(f.build(), des::Options{.rule = rule_name}).value();
  Trace tr;
  tr.sim = &sim;
  sim.add_observer(&tr);
  sim.run_until(SimTime{round_ms(2000 * kMsPerMinute)});
  std::vector<std::pair<double, std::string>> starts;
  for (const auto& r : tr.rows)
    if (r.tool == "T_1" && r.lot != "B") starts.emplace_back(r.start, r.lot);
  std::sort(starts.begin(), starts.end());
  std::string order;
  for (auto& [t, lot] : starts) order += lot;
  return order;
}

}  // namespace

TEST_CASE("each built-in dispatch rule orders a queue as its name says", "[des][rules]") {
  // At t = 100: now = 100; due X 5000, Y 1000, Z 2000; remaining work X 50, Y 930, Z 305 (min).
  // CR = (due - now) / remaining: X 98, Y 0.97, Z 6.2.
  const std::map<std::string, std::string> expected = {
      {"rank_FIFO", "XYZ"},  // arrival 10, 20, 30
      {"rank_EDD", "YZX"},   // due 1000, 2000, 5000
      {"rank_SPT", "ZYX"},   // 5, 30, 50 min
      {"rank_CR", "YZX"},    // 0.97, 6.2, 98
      {"rank_HP", "XYZ"},    // equal priority: ties go to release order (X, Y, Z)
      {"rank_RSETUP", "XYZ"},  // no setups: ties go to release order
  };
  const des::RuleRegistry builtin;
  for (const auto& name : builtin.names()) {
    INFO(name);
    REQUIRE(expected.count(name) == 1);  // a new built-in rule needs an expectation here
    CHECK(run_order(name) == expected.at(name));
  }
}

TEST_CASE("the CLI rule names map to rank rules", "[des][rules]") {
  CHECK(des::base_rule_name("fifo") == "rank_FIFO");
  CHECK(des::base_rule_name("cr") == "rank_CR");
  CHECK(des::base_rule_name("rank_EDD") == "rank_EDD");
  CHECK(!des::base_rule_name(""));
}
