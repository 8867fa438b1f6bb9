// Scenario deltas as flow inputs, scenario lists, calibration files and the fit from simulation.
#include <catch2/catch.hpp>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/flow/scenario.hpp"
#include "fabtwin/scenario_io/scenario_json.hpp"
#include "flow_test_fab.hpp"

using namespace fabtwin;
using Catch::Matchers::Contains;

namespace {
des::Scenario scenario(std::string_view json) {
  auto s = scenario_io::parse_scenario(json, "s.json");
  if (!s.ok()) throw std::runtime_error(s.error().what());
  return s.value();
}
}  // namespace

TEST_CASE("the deltas the flow model understands become its inputs", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  auto in = flow::scenario_input(fm.value(), scenario(R"({"name": "x", "deltas": [
      {"tool_count": {"group": "B", "count": 5}},
      {"product_mix": {"product": "p", "factor": 0.8}},
      {"process_time_factor": {"group": "A", "factor": 1.1}},
      {"release": {"order": "L", "interval_factor": 0.5}}]})"));
  REQUIRE(in.ok());
  CHECK(in->name == "x");
  CHECK(in->tools == std::vector<std::uint32_t>{1, 5});
  REQUIRE(in->release_factor.size() == 1);
  CHECK(in->release_factor[0] == Approx(0.8 / 0.5));
  CHECK(in->work_factor[0] == Approx(1.1));
  CHECK(in->work_factor[1] == Approx(1.0));
  CHECK(in->availability == std::vector<double>{1.0, 0.8});  // no calendars: the calibrated shares
}

TEST_CASE("transport deltas and rules the calibration lacks are refused, naming the delta", "[flow]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  auto r = flow::scenario_input(fm.value(), scenario(R"({"name": "r", "deltas": [
      {"tool_count": {"group": "B", "count": 3}},
      {"rule": {"group": "A", "rule": "cr"}}]})"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "s.json");
  CHECK(r.error().line == 3);
  CHECK(r.error().field == "deltas[1].rule");
  CHECK_THAT(r.error().message, Contains("no parameters for tool group 'A' under rank_CR"));
  CHECK_THAT(r.error().message, Contains("--rules cr"));
  auto t = flow::scenario_input(fm.value(), scenario(R"({"deltas": [{"transport_factor": 2}]})"));
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().field == "deltas[0].transport_factor");
  CHECK_THAT(t.error().message, Contains("does not understand"));
  // What the engine refuses is refused with its error.
  auto u = flow::scenario_input(fm.value(),
                                scenario(R"({"deltas": [{"tool_count": {"group": "Z", "count": 3}}]})"));
  REQUIRE_FALSE(u.ok());
  CHECK_THAT(u.error().field, Contains("deltas[0].tool_count"));
}

TEST_CASE("a rule delta runs the group under the calibration's parameters for that rule", "[flow]") {
  auto cal = test::flow_fab_calibration();
  // Group A under rank_CR: more work per lot (setups), a longer sojourn, a longer queue.
  cal.groups[0].rules.push_back(flow::RuleCalibration{"rank_CR", 0.6, 0.55, 0.1, 0.5, 0.6, 0.5});
  const auto fm = flow::FlowModel::create(test::flow_fab(), cal);
  REQUIRE(fm.ok());
  auto in = flow::scenario_input(fm.value(), scenario(R"({"name": "cr", "deltas": [
      {"rule": {"group": "A", "rule": "cr"}}]})"));
  REQUIRE(in.ok());
  CHECK(in->rule == std::vector<std::string>{"rank_CR", ""});
  // The group's own base rule (rank_FIFO in the test fab's lists) is the base: no rule.
  auto own = flow::scenario_input(fm.value(), scenario(R"({"name": "fifo", "deltas": [
      {"rule": {"group": "A", "rule": "rank_FIFO"}}]})"));
  REQUIRE(own.ok());
  CHECK(own->rule == std::vector<std::string>{"", ""});

  // The same figures as a calibration whose own parameters for A are rank_CR's.
  auto as_own = test::flow_fab_calibration();
  as_own.groups[0].work_hours = 0.6;
  as_own.groups[0].process_hours = 0.55;
  as_own.groups[0].fixed_hours = 0.1;
  as_own.groups[0].queue_k_hours = 0.5;
  const auto fm2 = flow::FlowModel::create(test::flow_fab(), as_own);
  REQUIRE(fm2.ok());
  flow::RunOptions ro;
  ro.warmup_days = 20;
  ro.days = 60;
  const flow::ScenarioInput base{"base", {}, {}, {}, {}};
  const std::vector<flow::ScenarioInput> both{base, in.value(), own.value()};
  const auto got = fm->run(both, ro);
  const auto want = fm2->run(std::span(&base, 1), ro)[0];
  CHECK(got[1].cycle_time_days == Approx(want.cycle_time_days).epsilon(1e-12));
  CHECK(got[1].throughput_lots_per_day == Approx(want.throughput_lots_per_day).epsilon(1e-12));
  CHECK(got[1].utilisation[0] == Approx(want.utilisation[0]).epsilon(1e-12));
  CHECK(got[1].cycle_time_days > got[0].cycle_time_days);
  CHECK(got[2].cycle_time_days == got[0].cycle_time_days);
  // A rule the group has no calibration for is refused by the run too.
  flow::ScenarioInput bad = base;
  bad.rule = {"", "rank_CR"};
  CHECK_THROWS_WITH(fm->run(std::span(&bad, 1), ro), Contains("tool group B: no calibration under rule"));
}

TEST_CASE("scenario lists: one document or an array; errors name the item", "[flow]") {
  auto one = flow::parse_scenario_list(R"({"name": "a", "deltas": []})", "f.json");
  REQUIRE(one.ok());
  CHECK(one->size() == 1);
  auto two = flow::parse_scenario_list(
      "[{\"name\": \"a\", \"deltas\": []},\n {\"deltas\": [{\"tool_count\": {\"group\": \"B\", \"count\": "
      "2}}]}]",
      "f.json");
  REQUIRE(two.ok());
  CHECK((*two)[1].name == "scenario 1");
  CHECK((*two)[1].deltas[0].line == 2);
  auto bad = flow::parse_scenario_list(
      "[{\"name\": \"a\", \"deltas\": []},\n {\"deltas\": [{\"tool_count\": {\"group\": 3}}]}]", "f.json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().file == "f.json");
  CHECK(bad.error().line == 2);
  CHECK_THAT(bad.error().field, Contains("[1].deltas[0].tool_count"));
  auto dup =
      flow::parse_scenario_list(R"([{"name": "a", "deltas": []}, {"name": "a", "deltas": []}])", "f.json");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().field == "[1].name");
  auto notobj = flow::parse_scenario_list("[1]", "f.json");
  REQUIRE_FALSE(notobj.ok());
  CHECK(notobj.error().field == "[0]");
  CHECK_FALSE(flow::parse_scenario_list("[", "f.json").ok());
  CHECK_FALSE(flow::read_scenario_list("/nonexistent/s.json").ok());
}

TEST_CASE("calibration files round-trip and bad ones are refused naming the field", "[flow]") {
  const auto c = test::flow_fab_calibration();
  const std::string text = flow::to_json(c);
  auto back = flow::parse_calibration(text, "c.json");
  REQUIRE(back.ok());
  REQUIRE(back->groups.size() == 2);
  CHECK(back->groups[1].name == "B");
  CHECK(back->groups[1].queue_k_hours == c.groups[1].queue_k_hours);
  CHECK(back->groups[1].availability == c.groups[1].availability);
  CHECK(flow::to_json(back.value()) == text);
  // With parameters under other rules.
  auto with_rules = c;
  with_rules.groups[1].rules.push_back(flow::RuleCalibration{"rank_SPT", 0.9, 0.95, 0.25, 0.3, 0.3, 0.2});
  const std::string rtext = flow::to_json(with_rules);
  auto rback = flow::parse_calibration(rtext, "c.json");
  REQUIRE(rback.ok());
  REQUIRE(rback->groups[1].rules.size() == 1);
  CHECK(rback->groups[1].under("rank_SPT")->queue_k_hours == 0.3);
  CHECK(rback->groups[1].under("rank_CR") == nullptr);
  CHECK(flow::to_json(rback.value()) == rtext);

  auto expect = [](std::string_view t, const std::string& field) {
    auto r = flow::parse_calibration(t, "c.json");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().file == "c.json");
    CHECK(r.error().field == field);
  };
  expect(R"({"groups": [], "extra": 1})", "extra");
  expect(R"({"schema": "other", "groups": []})", "schema");
  expect(R"({"model": "m"})", "groups");
  const std::string g =
      R"({"name": "A", "tools": 1, "work_hours": 1, "nominal_work_hours": 1, "availability": 1,
      "process_hours": 1, "fixed_hours": 0, "queue_k_hours": 0})";
  REQUIRE(flow::parse_calibration("{\"groups\": [" + g + "]}", "c.json").ok());
  auto with = [&](const std::string& from, const std::string& to) {
    std::string s = g;
    s.replace(s.find(from), from.size(), to);
    return "{\"groups\": [" + s + "]}";
  };
  expect(with("\"availability\": 1", "\"availability\": 0"), "groups[0].availability");
  expect(with("\"tools\": 1", "\"tools\": 1.5"), "groups[0].tools");
  expect(with("\"work_hours\": 1,", ""), "groups[0].work_hours");
  expect(with("\"queue_k_hours\": 0", "\"queue_k_hours\": -1"), "groups[0].queue_k_hours");
  expect(with("\"name\": \"A\"", "\"name\": 1"), "groups[0].name");
  expect(with("\"fixed_hours\": 0", "\"fixed_hours\": 0, \"bogus\": 0"), "groups[0].bogus");
  const std::string rule = R"("work_hours": 1, "process_hours": 1, "fixed_hours": 0, "queue_k_hours": 0)";
  REQUIRE(flow::parse_calibration(
              with("\"queue_k_hours\": 0", "\"queue_k_hours\": 0, \"rules\": {\"rank_CR\": {" + rule + "}}"),
              "c.json")
              .ok());
  expect(with("\"queue_k_hours\": 0", "\"queue_k_hours\": 0, \"rules\": [1]"), "groups[0].rules");
  expect(with("\"queue_k_hours\": 0", "\"queue_k_hours\": 0, \"rules\": {\"cr\": {" + rule + "}}"),
         "groups[0].rules.cr");
  expect(with("\"queue_k_hours\": 0", "\"queue_k_hours\": 0, \"rules\": {\"rank_CR\": {\"work_hours\": 1}}"),
         "groups[0].rules.rank_CR.process_hours");
  expect(with("\"queue_k_hours\": 0",
              "\"queue_k_hours\": 0, \"rules\": {\"rank_CR\": {" + rule + ", \"x\": 1}}"),
         "groups[0].rules.rank_CR.x");
  expect(with("\"queue_k_hours\": 0",
              "\"queue_k_hours\": 0, \"rules\": {\"rank_CR\": {\"work_hours\": -1, \"process_hours\": 1, "
              "\"fixed_hours\": 0, \"queue_k_hours\": 0}}"),
         "groups[0].rules.rank_CR.work_hours");
}

TEST_CASE("the fit reads work per lot, availability and queue parameters off simulation runs", "[flow]") {
  const auto m = test::flow_fab();
  des::Options o;
  o.warmup = model::Duration{86'400'000LL * 5};
  std::vector<des::Kpis> runs;
  for (std::uint64_t seed : {1, 2}) {
    o.seed = seed;
    auto sim = des::Simulation::create(m, o);
    REQUIRE(sim.ok());
    sim->run_until(model::SimTime{model::Duration{86'400'000LL * 40}});
    runs.push_back(sim->kpis());
  }
  auto c = flow::fit(m, runs, 40, 5, 1);
  REQUIRE(c.ok());
  REQUIRE(c->groups.size() == 2);
  const auto& a = c->groups[0];
  CHECK(a.name == "A");
  CHECK(a.work_hours == Approx(0.5).epsilon(0.01));  // constant 30 min per lot, no setups
  CHECK(a.nominal_work_hours == Approx(0.5));
  CHECK(a.process_hours == Approx(0.5));
  CHECK(a.availability == Approx(1.0));
  CHECK(a.utilisation == Approx(0.5).epsilon(0.02));
  CHECK(c->groups[1].utilisation == Approx(0.25).epsilon(0.02));  // 0.5 lots/h x 1 h / 2 tools
  CHECK(c->replications == 2);
  CHECK_FALSE(flow::fit(m, {}, 40, 5, 1).ok());
  CHECK_FALSE(flow::fit(m, runs, 5, 5, 1).ok());
  // The fitted model reproduces the simulation's throughput.
  const auto fm = flow::FlowModel::create(m, c.value());
  REQUIRE(fm.ok());
  const flow::ScenarioInput base{"base", {}, {}, {}, {}};
  flow::RunOptions ro;
  ro.warmup_days = 5;
  ro.days = 35;
  ro.period_hours = 0.02;
  CHECK(fm->run(std::span(&base, 1), ro)[0].throughput_lots_per_day == Approx(12).epsilon(1e-3));
}

TEST_CASE("calibrating under other rules keeps the own fit and adds each rule's parameters", "[flow]") {
  const auto m = test::flow_fab();
  flow::CalibrateOptions o;
  o.days = 40;
  o.warmup_days = 5;
  o.replications = 2;
  o.threads = 2;
  auto own = flow::calibrate(m, o);
  REQUIRE(own.ok());
  CHECK(own->groups[0].rules.empty());
  o.rules = {"spt", "rank_CR"};
  auto c = flow::calibrate(m, o);
  REQUIRE(c.ok());
  for (std::size_t g = 0; g < 2; ++g) {
    auto without = c->groups[g];
    without.rules.clear();
    CHECK(flow::to_json(flow::Calibration{
              c->model_name, c->days, c->warmup_days, c->replications, c->seed, {without}}) ==
          flow::to_json(flow::Calibration{
              own->model_name, own->days, own->warmup_days, own->replications, own->seed, {own->groups[g]}}));
    REQUIRE(c->groups[g].rules.size() == 2);
    CHECK(c->groups[g].rules[0].rule == "rank_SPT");
    CHECK(c->groups[g].rules[1].rule == "rank_CR");
  }
  // One product, constant times: every rule gives the same queue as FIFO on this fab.
  CHECK(c->groups[0].under("rank_CR")->work_hours == Approx(c->groups[0].work_hours).epsilon(0.01));
  o.rules = {"bogus"};
  auto bad = flow::calibrate(m, o);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "rules[0]");
  o.rules = {"cr", "CR"};
  auto twice = flow::calibrate(m, o);
  REQUIRE_FALSE(twice.ok());
  CHECK(twice.error().field == "rules[1]");
}
