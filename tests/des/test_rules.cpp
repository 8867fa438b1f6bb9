// Dispatching rules behave as named; every built-in rule has an order test here, on queues where
// each rule gives an order no other rule gives.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <numeric>

#include "tiny_fab.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using fabtwin::test::TinyFab;
using fabtwin::test::Trace;

namespace {

// A queue of four lots A, B, C, D (release order: serial 0..3), listed out of that order so that
// a rule returning its input unchanged gives none of the expected orders. Times in ms; now = 1000.
//        priority  arrival  due   setup  remaining  process   CR = (due - now) / remaining
//   A       20       300    2000    20      1000       20     1000 / 1000  = 1.0
//   B       10       100    5000    10      3500       30     4000 / 3500  = 1.14
//   C       30       400    3000     5      4000       40     2000 / 4000  = 0.5
//   D       10       200    4000     0     15000       10     3000 / 15000 = 0.2
constexpr std::int64_t kNowMs = 1000;
constexpr const char* kNames = "ABCD";

std::vector<des::Candidate> queue_abcd() {
  auto lot = [](std::uint32_t serial, std::uint32_t priority, std::int64_t arrival, std::int64_t due,
                std::int64_t setup, double remaining, double process) {
    des::Candidate c;
    c.lot = serial;
    c.serial = serial;
    c.priority = priority;
    c.arrival_ms = arrival;
    c.due_ms = due;
    c.setup_ms = setup;
    c.remaining_work_ms = remaining;
    c.process_ms = process;
    return c;
  };
  return {lot(2, 30, 400, 3000, 5, 4000, 40), lot(0, 20, 300, 2000, 20, 1000, 20),
          lot(3, 10, 200, 4000, 0, 15000, 10), lot(1, 10, 100, 5000, 10, 3500, 30)};
}

// The order `rule` ranks `queue` in, as the kernel ranks it: lower score first, ties to the lot
// released first (lower serial).
std::string rank_order(const des::RankRule& rule, const std::vector<des::Candidate>& queue) {
  std::vector<double> score(queue.size());
  rule.score(des::RankContext{kNowMs, ToolId{0}}, queue, score);
  std::vector<std::size_t> idx(queue.size());
  std::iota(idx.begin(), idx.end(), std::size_t{0});
  std::sort(idx.begin(), idx.end(), [&](std::size_t i, std::size_t j) {
    return score[i] != score[j] ? score[i] < score[j] : queue[i].serial < queue[j].serial;
  });
  std::string order;
  for (std::size_t i : idx) order += kNames[queue[i].lot];
  return order;
}

// Every built-in rule's order of queue_abcd(), worked out by hand from the table above. A rule
// added to the built-in registry must be added here (the completeness test below fails until it is).
const std::map<std::string, std::string>& expected_abcd() {
  static const std::map<std::string, std::string> expected = {
      {"rank_HP", "CABD"},      // priority 30, 20, 10, 10: B and D tie, B was released first
      {"rank_RSETUP", "DCBA"},  // setup 0, 5, 10, 20
      {"rank_FIFO", "BDAC"},    // arrival 100, 200, 300, 400
      {"rank_CR", "DCAB"},      // 0.2, 0.5, 1.0, 1.14 (due / remaining, ignoring now, would give DCBA)
      {"rank_EDD", "ACDB"},     // due 2000, 3000, 4000, 5000
      {"rank_SPT", "DABC"},     // process 10, 20, 30, 40
  };
  return expected;
}

}  // namespace

TEST_CASE("every built-in rule has an order test, and no two rules give the same order", "[des][rules]") {
  const auto& expected = expected_abcd();
  const auto names = des::RuleRegistry().names();
  for (const auto& name : names) {
    INFO("rule " << name << " is registered but has no expected order in test_rules.cpp");
    CHECK(expected.count(name) == 1);
  }
  CHECK(expected.size() == names.size());  // no expectation for a rule that is gone
  // The queue separates the rules: each expected order belongs to one rule only.
  for (auto a = expected.begin(); a != expected.end(); ++a)
    for (auto b = std::next(a); b != expected.end(); ++b) {
      INFO(a->first << " and " << b->first);
      CHECK(a->second != b->second);
    }
}

TEST_CASE("each built-in rule ranks a queue as its name says", "[des][rules]") {
  const des::RuleRegistry builtin;
  const auto queue = queue_abcd();
  for (const auto& [name, order] : expected_abcd()) {
    INFO(name);
    const auto rule = builtin.find(name);
    REQUIRE(rule != nullptr);
    CHECK(rule->name() == name);
    CHECK(rank_order(*rule, queue) == order);
  }
}

namespace {

// One tool T busy with a blocker B until t = 100 (minutes); lots X, Y, Z queue behind it, coming
// from Pre. The rule under test is the tool group's only key. Returns the order X, Y, Z ran on T.
std::string run_order(const std::string& rule_name) {
  TinyFab f;
  f.group("T", 1, {RankKey::Fifo});  // the rule under test replaces this base key
  f.group("Pre", 3);
  auto blocker = f.product("b", {{"T", 100}});
  auto px = f.product("x", {{"Pre", 10}, {"T", 50}, {"Pre", 1950}});
  auto py = f.product("y", {{"Pre", 20}, {"T", 30}, {"Pre", 900}});
  auto pz = f.product("z", {{"Pre", 30}, {"T", 5}, {"Pre", 300}});
  const SetupId sy = f.setup("SY"), sz = f.setup("SZ");
  f.step(py, 2).setup = sy;
  f.step(pz, 2).setup = sz;
  f.d.setup_transitions = {{std::nullopt, sy, {20, Unit::Minute}, ""},
                           {std::nullopt, sz, {10, Unit::Minute}, ""}};
  f.wip("B", blocker, 1);
  f.wip("X", px, 1, 20, 5000);  // priority 20, due 5000
  f.wip("Y", py, 1, 10, 1000);
  f.wip("Z", pz, 1, 30, 2000);
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

TEST_CASE("in a simulation each built-in rule orders the queue it sees as its name says", "[des][rules]") {
  // The kernel fills in what the rules look at. At T (minutes):
  //        arrival  priority  due   step  remaining  setup from none
  //   X       10       20     5000   50     2000         -
  //   Y       20       10     1000   30      930        20 (SY)
  //   Z       30       30     2000    5      305        10 (SZ)
  // CR at 100: X 4900 / 2000 = 2.45, Y 900 / 930 = 0.97, Z 1900 / 305 = 6.2 -> Y (100..150, with
  // its setup); at 150: X 4850 / 2000 = 2.4, Z 1850 / 305 = 6.1 -> X, then Z.
  // RSETUP at 100: X 0, Y 20, Z 10 -> X (no setup: the tool stays without one); then Z 10 < Y 20.
  // The six orders are the six permutations of X, Y, Z: every rule is told apart.
  const std::map<std::string, std::string> expected = {
      {"rank_FIFO", "XYZ"},    // arrival 10, 20, 30
      {"rank_EDD", "YZX"},     // due 1000, 2000, 5000
      {"rank_SPT", "ZYX"},     // 5, 30, 50 min
      {"rank_CR", "YXZ"},      // see above
      {"rank_HP", "ZXY"},      // priority 30, 20, 10
      {"rank_RSETUP", "XZY"},  // see above
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
