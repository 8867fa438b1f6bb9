// Scenario files: every delta kind reads from JSON, writes back the same, and every malformed
// document is refused naming file, line and field; a read scenario's model errors name its lines.
#include <catch2/catch.hpp>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/scenario_io/scenario_json.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using model::Error;

namespace {

const char* kAll = R"({
  "schema": "fabtwin.v1.Scenario",
  "name": "every delta",
  "deltas": [
    {"tool_count": {"group": "Litho_E", "count": 2}},
    {"rule": {"group": "Implant_CD", "rule": "rank_CR"}},
    {"process_time_factor": {"group": "Diffusion_AB", "factor": 1.1}},
    {"process_time_factor": {"route": "r_A", "step": 3, "factor": 0.9}},
    {"release": {"order": "Lot_A", "interval_factor": 0.95, "lots_per_release": 2}},
    {"product_mix": {"product": "part_B", "factor": 1.05}},
    {"availability": {"group": "Implant_CD", "mttf_factor": 1.2, "mttr_factor": 0.8,
                      "pm_interval_factor": 1.5, "pm_duration_factor": 0.9}},
    {"transport_factor": 1.2}
  ]
})";

template <class T>
const T& as(const des::Delta& d) {
  REQUIRE(std::holds_alternative<T>(d.change));
  return std::get<T>(d.change);
}

Error parse_err(std::string_view text) {
  auto r = scenario_io::parse_scenario(text, "s.json");
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("a scenario file reads every kind of delta, with its line", "[io][scenario]") {
  auto r = scenario_io::parse_scenario(kAll, "all.json");
  INFO((r.ok() ? std::string() : r.error().what()));
  REQUIRE(r.ok());
  const des::Scenario& s = *r;
  CHECK(s.name == "every delta");
  CHECK(s.file == "all.json");
  REQUIRE(s.deltas.size() == 8);
  const std::vector<int> lines = {5, 6, 7, 8, 9, 10, 11, 13};  // availability spans two lines
  for (std::size_t i = 0; i < s.deltas.size(); ++i) CHECK(s.deltas[i].line == lines[i]);
  CHECK(as<des::ToolCountDelta>(s.deltas[0]).group == "Litho_E");
  CHECK(as<des::ToolCountDelta>(s.deltas[0]).count == 2);
  CHECK(as<des::RuleDelta>(s.deltas[1]).rule == "rank_CR");
  CHECK(as<des::ProcessTimeDelta>(s.deltas[2]).group == "Diffusion_AB");
  CHECK(as<des::ProcessTimeDelta>(s.deltas[2]).factor == 1.1);
  CHECK_FALSE(as<des::ProcessTimeDelta>(s.deltas[2]).step.has_value());
  CHECK(as<des::ProcessTimeDelta>(s.deltas[3]).route == "r_A");
  CHECK(as<des::ProcessTimeDelta>(s.deltas[3]).step == 3u);
  CHECK(as<des::ReleaseDelta>(s.deltas[4]).interval_factor == 0.95);
  CHECK(as<des::ReleaseDelta>(s.deltas[4]).lots_per_release == 2u);
  CHECK(as<des::ProductMixDelta>(s.deltas[5]).product == "part_B");
  const auto& av = as<des::AvailabilityDelta>(s.deltas[6]);
  CHECK(av.mttf_factor == 1.2);
  CHECK(av.mttr_factor == 0.8);
  CHECK(av.pm_interval_factor == 1.5);
  CHECK(av.pm_duration_factor == 0.9);
  CHECK(as<des::TransportDelta>(s.deltas[7]).factor == 1.2);
  // It applies to the mini-fab.
  const auto m = io::load_model(test::minifab()).value();
  auto applied = des::apply_scenario(m, {}, s, des::RuleRegistry{});
  INFO((applied.ok() ? std::string() : applied.error().what()));
  CHECK(applied.ok());
}

TEST_CASE("a scenario written as JSON reads back to the same deltas", "[io][scenario]") {
  const des::Scenario s = scenario_io::parse_scenario(kAll).value();
  const std::string text = scenario_io::to_scenario_json(s);
  const des::Scenario back = scenario_io::parse_scenario(text).value();
  CHECK(back.name == s.name);
  REQUIRE(back.deltas.size() == s.deltas.size());
  for (std::size_t i = 0; i < s.deltas.size(); ++i) {
    INFO(i);
    CHECK(back.deltas[i].change.index() == s.deltas[i].change.index());
  }
  // Optional members absent stay absent; everything else is the same document.
  CHECK(scenario_io::to_scenario_json(back) == text);
  const auto partial =
      scenario_io::parse_scenario(R"({"deltas": [{"release": {"order": "Lot_B", "lots_per_release": 3}}]})")
          .value();
  const auto again = scenario_io::parse_scenario(scenario_io::to_scenario_json(partial)).value();
  CHECK_FALSE(as<des::ReleaseDelta>(again.deltas[0]).interval_factor.has_value());
  CHECK(as<des::ReleaseDelta>(again.deltas[0]).lots_per_release == 3u);
  CHECK(again.name.empty());
}

TEST_CASE("a malformed scenario file is refused naming its line and field", "[io][scenario]") {
  struct Case {
    std::string text;
    int line;
    std::string field;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"{\"name\": \"x\",\n \"deltas\": [\n {\"tool_count\": {\"group\": \"A\", \"count\": \"3\"}}]}", 3,
       "deltas[0].tool_count.count", "expected a number, got a string"},
      {"{\"deltas\": [\n{\"tool_count\": {\"group\": \"A\", \"count\": 2.5}}]}", 2,
       "deltas[0].tool_count.count", "2.5 is not a whole number"},
      {"{\"deltas\": [\n{\"tool_count\": {\"group\": \"A\", \"count\": -1}}]}", 2,
       "deltas[0].tool_count.count", "-1 is not a whole number"},
      {"{\"deltas\": [\n{\"tool_count\": {\"count\": 2}}]}", 2, "deltas[0].tool_count.group", "missing key"},
      {"{\"deltas\": [{\"transport_factor\": 1.1},\n{\"release\": {\"order\": \"L\",\n \"interval\": 2}}]}",
       3, "deltas[1].release.interval", "unknown key \"interval\""},
      {"{\"deltas\": [\n{\"speedup\": 2}]}", 2, "deltas[0].speedup", "unknown delta \"speedup\""},
      {"{\"deltas\": [\n{\"transport_factor\": 1.1, \"product_mix\": {}}]}", 2, "deltas[0]",
       "exactly one key"},
      {"{\"deltas\": [\n{}]}", 2, "deltas[0]", "exactly one key"},
      {"{\"deltas\": [\n 3]}", 2, "deltas[0]", "expected an object, got a number"},
      {"{\"deltas\": [\n{\"transport_factor\": \"fast\"}]}", 2, "deltas[0].transport_factor",
       "expected a number"},
      {"{\"deltas\": [\n{\"availability\": {\"group\": \"G\", \"mttf_factor\": true}}]}", 2,
       "deltas[0].availability.mttf_factor", "expected a number, got a bool"},
      {"{\"deltas\": [\n{\"rule\": [\"rank_CR\"]}]}", 2, "deltas[0].rule",
       "expected an object, got an array"},
      {"{\"name\": \"x\"}", 1, "deltas", "missing key \"deltas\""},
      {"{\"deltas\": {}}", 1, "deltas", "expected an array"},
      {"{\"schema\": \"fabtwin.v1.Model\", \"deltas\": []}", 1, "schema", "fabtwin.v1.Scenario"},
      {"{\"deltas\": [],\n \"extra\": 1}", 2, "extra", "unknown key \"extra\""},
      {"{\"name\": 3, \"deltas\": []}", 1, "name", "expected a string"},
      {"[]", 1, "", "expected an object"},
      {"{\"deltas\": [\n{\"transport_factor\": 1.1}\n,]}", 3, "", ""},  // JSON syntax: the parser's line
  };
  for (const auto& c : cases) {
    INFO(c.text);
    const Error e = parse_err(c.text);
    INFO(e.what());
    CHECK(e.file == "s.json");
    CHECK(e.line == c.line);
    CHECK(e.field == c.field);
    CHECK_THAT(e.message, Catch::Contains(c.says));
  }
}

TEST_CASE("a scenario read from a file names the file and line of a delta the model refuses",
          "[io][scenario]") {
  const auto s = scenario_io::parse_scenario(
                     "{\"name\": \"etch\", \"deltas\": [\n"
                     "  {\"transport_factor\": 1.1},\n"
                     "  {\"tool_count\": {\"group\": \"Etch_Z\", \"count\": 2}}\n"
                     "]}",
                     "etch.json")
                     .value();
  const auto m = io::load_model(test::minifab()).value();
  auto r = des::apply_scenario(m, {}, s, des::RuleRegistry{});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "etch.json");
  CHECK(r.error().line == 3);
  CHECK(r.error().field == "deltas[1].tool_count.group");
  CHECK_THAT(r.error().message, Catch::Contains("'Etch_Z'"));
  CHECK(r.error().what() == "etch.json:3: field 'deltas[1].tool_count.group': unknown tool group 'Etch_Z'");
}

TEST_CASE("a missing scenario file is refused naming it", "[io][scenario]") {
  auto r = scenario_io::read_scenario(test::source_dir() / "no-such-scenario.json");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().what(), Catch::Contains("no-such-scenario.json"));
}
