// Screen, then confirm: design generation (grid size and order, LHS strata), spec errors of the
// screen block by class, ranking by the objective, and a mini-fab screen whose confirmed scenarios
// are the flow model's top k with flow estimates beside the simulation.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <variant>

#include "fabtwin/flow/scenario.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/whatif/output.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/screen.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::whatif;

namespace {

const std::filesystem::path kDir = test::source_dir() / "twin_models" / "whatif";

std::string screen_spec(const std::string& screen, const std::string& extra = "") {
  return "{\n\"base\": {\"model\": \"../minifab.json\"},\n\"horizon_days\": 20,\n\"warmup_days\": 10,\n"
         "\"replications\": 2,\n" +
         extra + "\"screen\": " + screen + "\n}";
}
const std::string kSpace =
    "{\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2]}], \"release\": {\"min\": 0.9, \"max\": "
    "1.1}}";

model::Error spec_error(const std::string& text) {
  INFO(text);
  auto r = parse_spec(text, "spec.json", kDir);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().file == "spec.json");
  return r.error();
}

ScreenSpec parsed(const std::string& screen) {
  auto r = parse_spec(screen_spec(screen), "spec.json", kDir);
  REQUIRE(r.ok());
  return r->screen;
}

// A mini-fab spec read, its batch loaded with the flow model beside it, and its design screened.
struct Screened {
  Batch batch;
  flow::FlowModel fm;
  ScreenResult res;
};
Screened screened(const std::string& spec_text) {
  auto s = parse_spec(spec_text, "spec.json", kDir);
  REQUIRE(s.ok());
  auto b = load_batch(std::move(s.value()));
  REQUIRE(b.ok());
  auto fm = load_flow_model(b.value());
  REQUIRE(fm.ok());
  auto sr = screen(b.value(), fm.value(), 2);
  REQUIRE(sr.ok());
  return Screened{std::move(b.value()), std::move(fm.value()), std::move(sr.value())};
}

}  // namespace

TEST_CASE("screen: grid design has every combination, the last factor fastest", "[whatif][screen]") {
  const ScreenSpec sc =
      parsed("{\"space\": " + kSpace + ", \"design\": {\"type\": \"grid\", \"levels\": 3}}");
  REQUIRE(sc.factors.size() == 2);
  const auto d = make_design(sc);
  REQUIRE(d.size() == 2 * 3);
  CHECK(d[0] == std::vector<double>{1, 0.9});
  CHECK(d[1][1] == Approx(1.0));
  CHECK(d[2] == std::vector<double>{1, 1.1});
  CHECK(d[3] == std::vector<double>{2, 0.9});
  CHECK(d[5] == std::vector<double>{2, 1.1});
  // The ends exactly, every level inside the range (0.2 + (1 - 0.2) rounds to 1 + 2^-52; found by
  // fuzz_whatif).
  const ScreenSpec g = parsed(
      "{\"space\": {\"availability\": [{\"group\": \"Litho_E\", \"factor\": \"mttr_factor\", \"min\": "
      "0.2, \"max\": 1}]}, \"design\": {\"type\": \"grid\", \"levels\": 4}}");
  const auto gd = make_design(g);
  REQUIRE(gd.size() == 4);
  CHECK(gd.front()[0] == 0.2);
  CHECK(gd.back()[0] == 1.0);
  for (const auto& p : gd) CHECK((p[0] >= 0.2 && p[0] <= 1.0));
  // A range of counts is its whole numbers.
  const ScreenSpec r = parsed(
      "{\"space\": {\"tool_count\": [{\"group\": \"Diffusion_AB\", \"min\": 1, \"max\": 4}]}, \"design\": "
      "{\"type\": \"grid\"}}");
  CHECK(make_design(r).size() == 4);
}

TEST_CASE("screen: Latin hypercube puts one sample in each stratum of each factor", "[whatif][screen]") {
  const ScreenSpec sc = parsed(
      "{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2, 3]}], \"release\": "
      "{\"min\": "
      "0.8, \"max\": 1.2}, \"process_time\": [{\"group\": \"Litho_E\", \"min\": 0.5, \"max\": 1.5}]}, "
      "\"design\": {\"type\": \"lhs\", \"samples\": 60, \"seed\": 3}}");
  const auto d = make_design(sc);
  REQUIRE(d.size() == 60);
  for (std::size_t k = 1; k < 3; ++k) {  // continuous factors: strata are a permutation
    const Factor& f = sc.factors[k];
    std::set<long> strata;
    for (const auto& p : d) {
      CHECK(p[k] >= f.min);
      CHECK(p[k] <= f.max);
      strata.insert(static_cast<long>(std::floor((p[k] - f.min) / (f.max - f.min) * 60)));
    }
    CHECK(strata.size() == 60);
    CHECK(*strata.begin() == 0);
    CHECK(*strata.rbegin() == 59);
  }
  // Tool counts: each level equally often (60 / 3).
  for (double level : {1.0, 2.0, 3.0})
    CHECK(std::count_if(d.begin(), d.end(), [&](const auto& p) { return p[0] == level; }) == 20);
  // Deterministic in the seed, different for another.
  CHECK(make_design(sc) == d);
  ScreenSpec other = sc;
  other.seed = 4;
  CHECK(make_design(other) != d);
}

TEST_CASE("screen: spec errors name the file, line and path", "[whatif][screen]") {
  const std::string lhs = ", \"design\": {\"type\": \"lhs\", \"samples\": 10}}";
  auto e = spec_error(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": []}]}" + lhs));
  CHECK(e.field == "screen.space.rule[0].rules");
  e = spec_error(screen_spec(
      "{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [\"cr\", \"fastest\"]}]}" + lhs));
  CHECK(e.field == "screen.space.rule[0].rules[1]");
  CHECK(e.message.find("unknown dispatch rule") != std::string::npos);
  e = spec_error(screen_spec(
      "{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [\"cr\", \"rank_CR\"]}]}" + lhs));
  CHECK(e.field == "screen.space.rule[0].rules[1]");
  CHECK(e.message.find("twice") != std::string::npos);
  e = spec_error(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [3]}]}" + lhs));
  CHECK(e.field == "screen.space.rule[0].rules[0]");
  e = spec_error(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\"}]}" + lhs));
  CHECK(e.field == "screen.space.rule[0].rules");
  e =
      spec_error(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [\"cr\"]}, "
                             "{\"group\": \"Litho_E\", \"rules\": [\"spt\"]}]}" +
                             lhs));
  CHECK(e.field == "screen.space.rule[1]");
  e = spec_error(screen_spec("{\"space\": {\"tools\": []}" + lhs));
  CHECK(e.field == "screen.space.tools");
  e = spec_error(screen_spec("{\"space\": {}" + lhs));
  CHECK(e.field == "screen.space");
  e = spec_error(
      screen_spec("{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [2, 1]}]}" + lhs));
  CHECK(e.field == "screen.space.tool_count[0].counts[1]");
  CHECK(e.line == 6);
  e = spec_error(
      screen_spec("{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [0]}]}" + lhs));
  CHECK(e.field == "screen.space.tool_count[0].counts[0]");
  e = spec_error(screen_spec("{\"space\": {\"release\": {\"min\": 1.1, \"max\": 0.9}}" + lhs));
  CHECK(e.field == "screen.space.release.max");
  e = spec_error(screen_spec("{\"space\": {\"release\": {\"min\": 0, \"max\": 0.9}}" + lhs));
  CHECK(e.field == "screen.space.release.min");
  e =
      spec_error(screen_spec("{\"space\": {\"availability\": [{\"group\": \"Litho_E\", \"factor\": "
                             "\"speed\", \"min\": 1, \"max\": 2}]}" +
                             lhs));
  CHECK(e.field == "screen.space.availability[0].factor");
  e = spec_error(screen_spec("{\"space\": " + kSpace + ", \"design\": {\"type\": \"sobol\"}}"));
  CHECK(e.field == "screen.design.type");
  e = spec_error(screen_spec("{\"space\": " + kSpace + ", \"design\": {\"type\": \"lhs\"}}"));
  CHECK(e.field == "screen.design.samples");
  e = spec_error(
      screen_spec("{\"space\": " + kSpace + ", \"design\": {\"type\": \"grid\", \"levels\": 1001}}"));
  CHECK(e.field == "screen.design.levels");
  e = spec_error(screen_spec(
      "{\"space\": {\"process_time\": [{\"group\": \"Litho_E\", \"min\": 1, \"max\": 2}, {\"group\": "
      "\"Diffusion_AB\", \"min\": 1, \"max\": 2}, {\"group\": \"Implant_CD\", \"min\": 1, \"max\": 2}]}, "
      "\"design\": {\"type\": \"grid\", \"levels\": 101}}"));
  CHECK(e.field == "screen.design");
  CHECK(e.message.find("lhs") != std::string::npos);
  e = spec_error(
      screen_spec("{\"space\": " + kSpace + lhs.substr(0, lhs.size() - 1) + ", \"objective\": \"cheap\"}"));
  CHECK(e.field == "screen.objective");
  e = spec_error(screen_spec("{\"space\": " + kSpace + lhs.substr(0, lhs.size() - 1) + ", \"confirm\": 0}"));
  CHECK(e.field == "screen.confirm");
  e = spec_error(
      screen_spec("{\"space\": " + kSpace + lhs.substr(0, lhs.size() - 1) + ", \"calibration\": \"x\"}",
                  "\"flow\": {\"calibration\": \"y\"},\n"));
  CHECK(e.field == "screen.calibration");
  e = spec_error(screen_spec("{\"space\": " + kSpace + lhs, "\"flow\": {\"period_hours\": 0},\n"));
  CHECK(e.field == "flow.period_hours");

  // The model's meaning: an unknown group (load_batch), a missing calibration (load_flow_model),
  // a screen without the metrics it ranks by (screen).
  auto s = parse_spec(
      screen_spec("{\"space\": {\"tool_count\": [{\"group\": \"Litho_X\", \"counts\": [1]}]}" + lhs),
      "spec.json", kDir);
  REQUIRE(s.ok());
  auto b = load_batch(std::move(s.value()));
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().field == "screen.space.tool_count[0].group");
  CHECK(b.error().line == 6);
  // Rules are screened against the model's own lists: not with a rule for the whole base.
  s = parse_spec(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [\"cr\"]}]}" + lhs,
                             "\"rule\": \"edd\",\n"),
                 "spec.json", kDir);
  REQUIRE(s.ok());
  b = load_batch(std::move(s.value()));
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().field == "screen.space.rule[0]");
  CHECK(b.error().message.find("rank_EDD") != std::string::npos);
  s = parse_spec(screen_spec("{\"space\": " + kSpace + lhs.substr(0, lhs.size() - 1) +
                             ", \"calibration\": \"no.json\"}"),
                 "spec.json", kDir);
  REQUIRE(s.ok());
  b = load_batch(std::move(s.value()));
  REQUIRE(b.ok());
  auto fm = load_flow_model(b.value());
  REQUIRE_FALSE(fm.ok());
  CHECK(fm.error().field == "flow.calibration");
  CHECK(fm.error().message.find("fabtwin flow calibrate") != std::string::npos);
  s = parse_spec(screen_spec("{\"space\": " + kSpace + lhs, "\"metrics\": [\"wip\"],\n"), "spec.json", kDir);
  REQUIRE(s.ok());
  b = load_batch(std::move(s.value()));
  REQUIRE(b.ok());
  auto fm2 = load_flow_model(b.value());  // default: ../minifab.flow.json beside the model
  REQUIRE(fm2.ok());
  auto sr = screen(b.value(), fm2.value(), 1);
  REQUIRE_FALSE(sr.ok());
  CHECK(sr.error().field == "metrics");
}

TEST_CASE("screen: ranking by the objective", "[whatif][screen]") {
  ScreenSpec sc;
  const std::vector<double> th{10.0, 10.2, 9.0, 10.0, 11.0};
  const std::vector<double> ct{5.0, 6.0, 3.0, 4.0, NAN};
  sc.objective = Objective::MaxThroughput;
  CHECK(rank_points(sc, 10.0, th, ct) == std::vector<std::size_t>{4, 1, 3, 0, 2});
  sc.objective = Objective::MinCycleTime;
  sc.throughput_tolerance = 0;
  // Feasible (throughput >= 10): 3 (ct 4), 0 (5), 1 (6), 4 (no cycle time, last of them); then 2.
  CHECK(rank_points(sc, 10.0, th, ct) == std::vector<std::size_t>{3, 0, 1, 4, 2});
  sc.throughput_tolerance = 0.1;  // 9.0 now feasible and the fastest
  CHECK(rank_points(sc, 10.0, th, ct) == std::vector<std::size_t>{2, 3, 0, 1, 4});
}

TEST_CASE("screen: tool cost errors name the key", "[whatif][screen]") {
  const std::string head = "{\"space\": " + kSpace + ", \"design\": {\"type\": \"lhs\", \"samples\": 10}";
  auto e = spec_error(screen_spec(head + ", \"tool_costs\": [1]}"));
  CHECK(e.field == "screen.tool_costs");
  e = spec_error(screen_spec(head + ", \"tool_costs\": {}}"));
  CHECK(e.field == "screen.tool_costs");
  e = spec_error(screen_spec(head + ", \"tool_costs\": {\"Litho_E\": -1}}"));
  CHECK(e.field == "screen.tool_costs.Litho_E");
  CHECK(e.line == 6);
  e = spec_error(screen_spec(head + ", \"tool_costs\": {\"Litho_E\": \"4\"}}"));
  CHECK(e.field == "screen.tool_costs.Litho_E");
  CHECK(e.message.find("expected a number") != std::string::npos);
  // A group whose count the space does not vary (or no group at all) costs nothing it could change.
  e = spec_error(screen_spec(head + ", \"tool_costs\": {\"Diffusion_AB\": 2}}"));
  CHECK(e.field == "screen.tool_costs.Diffusion_AB");
  CHECK(e.message.find("not screened") != std::string::npos);
  e = spec_error(screen_spec(head + ", \"budget\": 3}"));
  CHECK(e.field == "screen.budget");
  CHECK(e.message.find("tool_costs") != std::string::npos);
  e = spec_error(screen_spec(head + ", \"tool_costs\": {\"Litho_E\": 2}, \"budget\": \"x\"}"));
  CHECK(e.field == "screen.budget");
  e = spec_error(screen_spec(head + ", \"confirm\": \"cheapest\"}"));
  CHECK(e.field == "screen.confirm");
  e = spec_error(screen_spec(head + ", \"confirm\": \"efficient\"}"));
  CHECK(e.field == "screen.confirm");
  CHECK(e.message.find("tool_costs") != std::string::npos);
  CHECK(parsed(head + ", \"tool_costs\": {\"Litho_E\": 2}, \"confirm\": \"efficient\"}").confirm_efficient);
  const ScreenSpec sc = parsed(head + ", \"tool_costs\": {\"Litho_E\": 2.5}, \"budget\": 3}");
  CHECK(sc.costed);
  REQUIRE(sc.budget);
  CHECK(*sc.budget == 3);
  CHECK(sc.factors[0].unit_cost == 2.5);
  CHECK(sc.factors[1].unit_cost == 0);  // the release factor
}

TEST_CASE("screen: costs on any factor by its label, an improvement costing", "[whatif][screen]") {
  const std::string space =
      "{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2]}], \"release\": {\"min\": "
      "0.9, "
      "\"max\": 1.1}, \"process_time\": [{\"group\": \"Litho_E\", \"min\": 0.8, \"max\": 1.2}], "
      "\"availability\": "
      "[{\"group\": \"Litho_E\", \"factor\": \"mttr_factor\", \"min\": 0.5, \"max\": 1}, {\"group\": "
      "\"Diffusion_AB\", \"factor\": \"mttf_factor\", \"min\": 1, \"max\": 2}], \"rule\": [{\"group\": "
      "\"Litho_E\", \"rules\": [\"fifo\", \"spt\"]}]}, \"design\": {\"type\": \"lhs\", \"samples\": 10}";
  const std::string costs =
      ", \"costs\": {\"tools:Litho_E\": 4, \"release\": 10, \"process_time:Litho_E\": 20, "
      "\"mttr_factor:Litho_E\": 2, \"mttf_factor:Diffusion_AB\": 3, \"rule:Litho_E\": 0.5}, \"budget\": 8}";
  auto spec = parse_spec(screen_spec(space + costs), "spec.json", kDir);
  REQUIRE(spec.ok());
  auto b = load_batch(std::move(spec.value()));
  REQUIRE(b.ok());
  const ScreenSpec& sc = b->spec.screen;
  CHECK(sc.costed);
  const model::Model& m = b->base_model;
  // Factors: tools, release, process time, mttr, mttf, rule (the spec's order of kinds).
  CHECK(point_cost(m, sc, std::vector<double>{1, 1, 1, 1, 1, 0}) == 0);  // the base's values
  // One more tool 4, release +0.1 1, 10 % faster 2, repairs twice as fast 1, failures half as
  // often 1.5, SPT 0.5.
  CHECK(point_cost(m, sc, std::vector<double>{2, 1.1, 0.9, 0.5, 1.5, 1}) == Approx(10));
  // Fewer starts and a slower process save.
  CHECK(point_cost(m, sc, std::vector<double>{1, 0.9, 1.2, 1, 1, 0}) == Approx(-1 - 4));

  const std::string lhs = space;
  auto e = spec_error(screen_spec(lhs + ", \"costs\": {\"tools:Implant_CD\": 1}}"));
  CHECK(e.field == "screen.costs.tools:Implant_CD");
  CHECK(e.message.find("rule:Litho_E") != std::string::npos);  // the labels it could be
  e = spec_error(screen_spec(lhs + ", \"costs\": {\"release\": -1}}"));
  CHECK(e.field == "screen.costs.release");
  e = spec_error(screen_spec(lhs + ", \"costs\": {}}"));
  CHECK(e.field == "screen.costs");
  e = spec_error(screen_spec(lhs + ", \"tool_costs\": {\"Litho_E\": 1}, \"costs\": {\"tools:Litho_E\": 2}}"));
  CHECK(e.field == "screen.costs.tools:Litho_E");
  CHECK(e.message.find("twice") != std::string::npos);
  // tool_costs and costs on other factors together.
  const ScreenSpec both = parsed(lhs + ", \"tool_costs\": {\"Litho_E\": 1}, \"costs\": {\"release\": 2}}");
  CHECK(both.factors[0].unit_cost == 1);
  CHECK(both.factors[1].unit_cost == 2);
}

TEST_CASE("screen: costs rank within the budget first, ties to the cheaper point", "[whatif][screen]") {
  ScreenSpec sc;
  sc.costed = true;
  sc.throughput_tolerance = 0;
  const std::vector<double> th{10.0, 10.2, 9.0, 10.0, 11.0, 10.5};
  const std::vector<double> ct{5.0, 6.0, 3.0, 4.0, NAN, 4.0};
  const std::vector<double> cost{0.0, 1.0, -2.0, 3.0, 5.0, 1.0};
  // No budget: as without costs, the tie at cycle time 4 (points 3 and 5) to the cheaper 5.
  CHECK(rank_points(sc, 10.0, th, ct) == std::vector<std::size_t>{3, 5, 0, 1, 4, 2});
  CHECK(rank_points(sc, 10.0, th, ct, cost) == std::vector<std::size_t>{5, 3, 0, 1, 4, 2});
  sc.budget = 2.0;  // points 3 (3) and 4 (5) over it
  CHECK(rank_points(sc, 10.0, th, ct, cost) == std::vector<std::size_t>{5, 0, 1, 2, 3, 4});
  sc.objective = Objective::MaxThroughput;
  CHECK(rank_points(sc, 10.0, th, ct, cost) == std::vector<std::size_t>{5, 1, 0, 2, 4, 3});

  // Efficient: meeting throughput >= 10, none cheaper and at least as fast, none as cheap and faster.
  sc.objective = Objective::MinCycleTime;
  // Candidates 0 (cost 0, ct 5), 1 (1, 6), 3 (3, 4), 5 (1, 4); 2 misses the floor, 4 has no cycle time.
  CHECK(efficient_points(sc, 10.0, th, ct, cost) ==
        std::vector<bool>{true, false, false, false, false, true});
  sc.objective = Objective::MaxThroughput;  // 2 (cost -2, th 9), 0 (0, 10), 5 (1, 10.5), 4 (5, 11)
  CHECK(efficient_points(sc, 10.0, th, ct, cost) == std::vector<bool>{true, false, true, false, true, true});
}

TEST_CASE("screen: the mini-fab screen confirms the flow's top k", "[whatif][screen]") {
  Screened sd = screened(screen_spec(
      "{\"space\": {\"tool_count\": [{\"group\": \"Diffusion_AB\", \"counts\": [2, 3]}], "
      "\"release\": {\"min\": 0.95, \"max\": 1.1}, \"process_time\": [{\"group\": \"Litho_E\", "
      "\"min\": 0.9, \"max\": 1.1}]}, \"design\": {\"type\": \"lhs\", \"samples\": 24, \"seed\": 5}, "
      "\"objective\": \"max_throughput\", \"confirm\": 2}",
      "\"metrics\": [\"throughput\", \"cycle_time\", \"utilisation\"],\n\"flow\": {\"warmup_days\": "
      "30},\n"
      "\"scenarios\": [{\"name\": \"cr\", \"deltas\": [{\"rule\": {\"group\": \"Diffusion_AB\", "
      "\"rule\": "
      "\"cr\"}}]}],\n"));
  Batch& batch = sd.batch;
  const flow::FlowModel& fm = sd.fm;
  const ScreenResult& res = sd.res;
  REQUIRE(res.points.size() == 24);
  REQUIRE(res.confirmed.size() == 2);
  CHECK(res.confirmed[0] == res.order[0]);
  CHECK(res.confirmed[1] == res.order[1]);
  CHECK(res.rank[res.order[0]] == 1);
  // Max throughput: the top point releases at least as much as any other.
  for (const auto& f : res.flow)
    CHECK(f.throughput_lots_per_day <= res.flow[res.order[0]].throughput_lots_per_day);
  REQUIRE(batch.scenarios.size() == 4);  // base, cr, #1, #2
  CHECK(res.first_confirmed == 2);
  CHECK(batch.scenarios[2].name == "#1 p" + std::to_string(res.order[0]));
  CHECK(batch.spec.scenarios.size() == 3);

  const auto defs = metric_defs(batch);
  RunOptions ro;
  ro.threads = 2;
  auto results = summarise_batch(batch, defs, run_pairs(batch, defs, 0, 4 * 2, ro));
  const auto flow = flow_for_batch(batch, fm, flow_options(batch.spec, 2));
  REQUIRE(flow.size() == 4);
  REQUIRE(flow[1]);  // the rule scenario: the calibration has Diffusion_AB under rank_CR
  CHECK(flow[1]->input.rule == std::vector<std::string>{"rank_CR", "", ""});
  REQUIRE(flow[2]);
  // The same flow figures as the screen's.
  CHECK(flow[2]->result.throughput_lots_per_day ==
        Approx(res.flow[res.order[0]].throughput_lots_per_day).epsilon(1e-12));
  fill_flow_estimates(results, batch, fm, flow);
  for (const Row& row : results.rows) {
    const MetricDef& d = results.defs[row.def];
    const bool estimable = d.metric == "utilisation" || d.metric == "cycle_time_mean_days" ||
                           (d.metric == "throughput_lots_per_day");
    if (!estimable)
      CHECK_FALSE(row.flow_estimate);
    else
      CHECK(row.flow_estimate);
    if (row.flow_estimate && d.metric == "throughput_lots_per_day")  // within 10 % of the simulation here
      CHECK(std::fabs(*row.flow_estimate / row.summary.mean - 1) < 0.1);
  }
  // Outputs: every point in screen.csv, the confirmed ones side by side in screen.json.
  const std::string csv = screen_csv(batch, res);
  CHECK(std::count(csv.begin(), csv.end(), '\n') == 1 + 1 + 24);
  auto doc = io::json::parse(screen_json(batch, res, results), "screen.json");
  REQUIRE(doc.ok());
  const auto& sc = doc->find("scenarios")->as_array();
  REQUIRE(sc.size() == 4);
  CHECK(sc[2].find("flow_rank")->as_number() == 1);
  CHECK(sc[3].find("flow_rank")->as_number() == 2);
  const double sim_rank = sc[2].find("simulation_rank")->as_number();
  CHECK((sim_rank == 1 || sim_rank == 2));
  CHECK(sc[1].find("flow")->is_null());
  CHECK(sc[2].find("simulation")->find("throughput_lots_per_day")->find("mean")->is_number());
  CHECK(screen_table(batch, res, results).find("#1 p") != std::string::npos);
}

TEST_CASE("screen: rules are screened with the calibration's parameters under each rule",
          "[whatif][screen]") {
  // Litho_E at 1-2 tools under FIFO (its own), SPT or CR; Diffusion_AB under FIFO or EDD: a grid of 12.
  const std::string space =
      "{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2]}], \"rule\": [{\"group\": "
      "\"Litho_E\", \"rules\": [\"fifo\", \"spt\", \"cr\"]}, {\"group\": \"Diffusion_AB\", \"rules\": "
      "[\"edd\", "
      "\"fifo\"]}]}, \"design\": {\"type\": \"grid\"}, \"confirm\": 2}";
  Screened sd = screened(screen_spec(space, "\"metrics\": [\"throughput\", \"cycle_time\"],\n"));
  const ScreenResult& res = sd.res;
  const Batch& batch = sd.batch;
  REQUIRE(res.points.size() == 12);
  const auto& f = batch.spec.screen.factors;
  REQUIRE(f.size() == 3);
  CHECK(f[1].rules == std::vector<std::string>{"rank_FIFO", "rank_SPT", "rank_CR"});
  CHECK(f[1].label == "rule:Litho_E");
  // Point 0 (1 tool, FIFO, EDD): a rule delta for Diffusion_AB only (FIFO is Litho_E's own rule).
  const des::Scenario p0 = point_scenario(batch.base_model, batch.spec.screen, res.points[0], "p0");
  REQUIRE(p0.deltas.size() == 1);
  const auto* rd = std::get_if<des::RuleDelta>(&p0.deltas[0].change);
  REQUIRE(rd);
  CHECK(rd->group == "Diffusion_AB");
  CHECK(rd->rule == "rank_EDD");
  // Point 3 (1 tool, SPT, FIFO): Litho_E under SPT, whose calibrated queue is shorter than FIFO's.
  CHECK(res.points[3] == std::vector<double>{1, 1, 1});
  CHECK(res.flow[3].cycle_time_days < res.flow[1].cycle_time_days);  // point 1: the base's values
  CHECK(res.flow[1].cycle_time_days == Approx(res.base.cycle_time_days).epsilon(1e-12));
  const auto in3 =
      flow::scenario_input(sd.fm, point_scenario(batch.base_model, batch.spec.screen, res.points[3], "p3"));
  REQUIRE(in3.ok());
  CHECK(in3->rule == std::vector<std::string>{"", "", "rank_SPT"});
  // The confirmed points run under their rules in the simulation.
  REQUIRE(batch.scenarios.size() == 3);
  for (std::size_t k = 0; k < 2; ++k) {
    const auto& x = res.points[res.confirmed[k]];
    const auto& gr = batch.scenarios[1 + k].options.group_rules;
    const bool litho_rule = x[1] != 0, diff_rule = x[2] == 0;
    CHECK(gr.size() == static_cast<std::size_t>(litho_rule) + static_cast<std::size_t>(diff_rule));
    for (const auto& [group, rule] : gr)
      CHECK(rule ==
            (group == "Litho_E" ? f[1].rules[static_cast<std::size_t>(x[1])] : std::string("rank_EDD")));
  }
  // screen.csv names the rules.
  const std::string csv = screen_csv(batch, res);
  CHECK(csv.find("point,tools:Litho_E,rule:Litho_E,rule:Diffusion_AB,") == 0);
  CHECK(csv.find("\nbase,1,rank_FIFO,rank_FIFO,") != std::string::npos);
  CHECK(csv.find("\np3,1,rank_SPT,rank_FIFO,") != std::string::npos);

  // A rule the calibration lacks is refused naming the factor.
  auto s = parse_spec(screen_spec("{\"space\": {\"rule\": [{\"group\": \"Litho_E\", \"rules\": [\"fifo\", "
                                  "\"hp\"]}]}, \"design\": {\"type\": \"grid\"}}"),
                      "spec.json", kDir);
  REQUIRE(s.ok());
  auto b = load_batch(std::move(s.value()));
  REQUIRE(b.ok());
  auto fm = load_flow_model(b.value());
  REQUIRE(fm.ok());
  auto sr = screen(b.value(), fm.value(), 1);
  REQUIRE_FALSE(sr.ok());
  CHECK(sr.error().field == "screen.space.rule[0]");
  CHECK(sr.error().message.find("cannot take rank_HP") != std::string::npos);
  CHECK(sr.error().message.find("--rules hp") != std::string::npos);
}

TEST_CASE("screen: with tool costs and a budget the mini-fab screen confirms points within it",
          "[whatif][screen]") {
  // Litho_E (1 tool) and Diffusion_AB (2 tools) at 1-3 tools each, release 0.95-1.1: a second litho
  // tool costs 4, a third diffusion tool 1; the budget buys one litho tool or two diffusion tools.
  Screened sd = screened(
      screen_spec("{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2, 3]}, "
                  "{\"group\": \"Diffusion_AB\", \"min\": 1, \"max\": 3}], \"release\": {\"min\": 0.95, "
                  "\"max\": 1.1}}, \"design\": {\"type\": \"grid\", \"levels\": 3}, \"tool_costs\": "
                  "{\"Litho_E\": 4, \"Diffusion_AB\": 1}, \"budget\": 4, \"confirm\": 3}",
                  "\"metrics\": [\"throughput\", \"cycle_time\"],\n\"flow\": {\"warmup_days\": 30},\n"));
  Batch& batch = sd.batch;
  const ScreenResult& res = sd.res;
  REQUIRE(res.points.size() == 3 * 3 * 3);
  REQUIRE(res.cost.size() == res.points.size());
  std::size_t within = 0;
  for (std::size_t i = 0; i < res.points.size(); ++i) {
    const double litho = res.points[i][0], diffusion = res.points[i][1];
    CHECK(res.cost[i] == (litho - 1) * 4 + (diffusion - 2) * 1);
    CHECK(point_cost(batch.base_model, batch.spec.screen, res.points[i]) == res.cost[i]);
    within += res.cost[i] <= 4;
  }
  // Every point within the budget ranks before every point over it.
  for (std::size_t j = 0; j < res.order.size(); ++j) CHECK((res.cost[res.order[j]] <= 4) == (j < within));
  REQUIRE(res.confirmed.size() == 3);
  for (const std::size_t i : res.confirmed) CHECK(res.cost[i] <= 4);
  // The efficient points: at least the cheapest point meeting the throughput, and none dominated.
  const std::size_t nef =
      static_cast<std::size_t>(std::count(res.efficient.begin(), res.efficient.end(), true));
  CHECK(nef >= 1);
  const double floor_th = res.base.throughput_lots_per_day * (1 - batch.spec.screen.throughput_tolerance);
  for (std::size_t i = 0; i < res.points.size(); ++i)
    for (std::size_t j = 0; j < res.points.size(); ++j)
      if (res.efficient[i] && j != i && res.flow[j].throughput_lots_per_day >= floor_th)
        CHECK_FALSE(
            (res.cost[j] <= res.cost[i] && res.flow[j].cycle_time_days < res.flow[i].cycle_time_days));

  // Outputs: screen.csv's cost and efficient columns, screen.json's costs and budget.
  const std::string csv = screen_csv(batch, res);
  CHECK(csv.substr(0, csv.find('\n')).ends_with(",rank,confirmed,cost,efficient"));
  const std::string p0 = csv.substr(csv.find("\np0,") + 1);
  CHECK(p0.substr(0, p0.find('\n'))
            .ends_with("," + std::to_string(static_cast<int>(res.cost[0])) + "," +
                       (res.efficient[0] ? "1" : "0")));
  const auto defs = metric_defs(batch);
  RunOptions ro;
  ro.threads = 2;
  const std::size_t n = batch.scenarios.size();
  auto results = summarise_batch(batch, defs, run_pairs(batch, defs, 0, n * 2, ro));
  auto doc = io::json::parse(screen_json(batch, res, results), "screen.json");
  REQUIRE(doc.ok());
  CHECK(doc->find("costs")->find("tools:Litho_E")->as_number() == 4);
  CHECK(doc->find("budget")->as_number() == 4);
  const auto& sc = doc->find("scenarios")->as_array();
  REQUIRE(sc.size() == 4);
  CHECK(sc[0].find("cost")->as_number() == 0);
  CHECK(sc[1].find("cost")->as_number() == res.cost[res.confirmed[0]]);
  CHECK(screen_table(batch, res, results).find("cost") != std::string::npos);
}

TEST_CASE("screen: confirm \"efficient\" simulates the efficient points within the budget",
          "[whatif][screen]") {
  Screened sd = screened(screen_spec(
      "{\"space\": {\"tool_count\": [{\"group\": \"Litho_E\", \"counts\": [1, 2, 3]}, "
      "{\"group\": \"Diffusion_AB\", \"min\": 1, \"max\": 3}]}, \"design\": {\"type\": \"grid\"}, "
      "\"tool_costs\": {\"Litho_E\": 4, \"Diffusion_AB\": 1}, \"budget\": 5, \"confirm\": \"efficient\"}",
      "\"metrics\": [\"throughput\", \"cycle_time\"],\n\"flow\": {\"warmup_days\": 30},\n"));
  const ScreenResult& res = sd.res;
  std::vector<std::size_t> want;
  for (std::size_t i = 0; i < res.points.size(); ++i)
    if (res.efficient[i] && res.cost[i] <= 5 &&
        (res.points[i][0] != 1 || res.points[i][1] != 2))  // not the base
      want.push_back(i);
  REQUIRE_FALSE(want.empty());
  REQUIRE(res.confirmed.size() == want.size());
  CHECK(std::is_permutation(res.confirmed.begin(), res.confirmed.end(), want.begin()));
  for (std::size_t j = 1; j < res.confirmed.size(); ++j)
    CHECK(res.cost[res.confirmed[j - 1]] <= res.cost[res.confirmed[j]]);  // cheapest first
  // Each is a scenario of the batch named by its flow rank.
  REQUIRE(sd.batch.scenarios.size() == 1 + want.size());
  for (std::size_t j = 0; j < res.confirmed.size(); ++j) {
    const std::size_t i = res.confirmed[j];
    CHECK(sd.batch.scenarios[res.first_confirmed + j].name ==
          "#" + std::to_string(res.rank[i]) + " p" + std::to_string(i));
  }
}
