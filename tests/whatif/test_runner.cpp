// The runner on the mini-fab: common random numbers narrow the paired CI against independent
// seeds; results do not depend on thread count or on how pairs are split over ranks; the shared
// warm-up and the outputs.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/whatif/output.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/spec.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"
#include "whatif_support.hpp"

using namespace fabtwin;
using namespace fabtwin::whatif;

namespace {

Batch batch(const std::string& body,
            const std::filesystem::path& dir = test::source_dir() / "twin_models" / "whatif") {
  auto s = parse_spec(body, "spec.json", dir);
  INFO((s.ok() ? "" : s.error().what()));
  REQUIRE(s.ok());
  auto b = load_batch(std::move(s.value()));
  INFO((b.ok() ? "" : b.error().what()));
  REQUIRE(b.ok());
  return std::move(b.value());
}

Results run_all(const Batch& b, unsigned threads, int ranks = 1) {
  const auto defs = metric_defs(b);
  const std::size_t pairs = b.scenarios.size() * b.spec.replications;
  std::vector<PairResult> all;
  for (int r = 0; r < ranks; ++r) {  // each "rank" runs its share, as under MPI
    const auto [first, last] = share(pairs, r, ranks);
    RunOptions o;
    o.threads = threads;
    auto part = run_pairs(b, defs, first, last, o);
    all.insert(all.end(), part.begin(), part.end());
  }
  return summarise_batch(b, defs, all);
}

const Row& row(const Results& r, std::size_t scenario, const std::string& metric,
               const std::string& subject = "all") {
  for (const Row& x : r.rows)
    if (x.scenario == scenario && r.defs[x.def].metric == metric && r.defs[x.def].subject == subject)
      return x;
  FAIL("no row " << metric << " " << subject);
  return r.rows.front();
}

std::string two_scenarios(bool crn, int reps) {
  return std::string(
             "{\"base\": {\"model\": \"../minifab.json\"}, \"horizon_days\": 40, \"warmup_days\": 10, ") +
         "\"replications\": " + std::to_string(reps) +
         ", \"seed\": 3, \"common_random_numbers\": " + (crn ? "true" : "false") +
         ", \"metrics\": [\"throughput\", \"cycle_time\", \"wip\"], "
         "\"scenarios\": [{\"name\": \"diffusion by CR\", \"deltas\": [{\"rule\": {\"group\": "
         "\"Diffusion_AB\", "
         "\"rule\": \"cr\"}}]}, {\"name\": \"litho 5 % slower\", \"deltas\": [{\"process_time_factor\": "
         "{\"group\": \"Litho_E\", \"factor\": 1.05}}]}]}";
}

}  // namespace

TEST_CASE("common random numbers: the paired CI is narrower than with independent seeds") {
  const Batch crn = batch(two_scenarios(true, 20)), ind = batch(two_scenarios(false, 20));
  const Results rc = run_all(crn, 2), ri = run_all(ind, 2);
  // The base is the same run either way (seeds seed + r, the same warm-up).
  CHECK(row(rc, 0, "cycle_time_mean_days").values == row(ri, 0, "cycle_time_mean_days").values);
  // (Today: ratios 0.41 to 0.52 over these six; fixed seeds, so the figures are reproducible.)
  double ratio_sum = 0;
  for (const char* metric : {"cycle_time_mean_days", "wip_lots", "throughput_lots_per_day"})
    for (std::size_t s : {1u, 2u}) {
      const double hc = row(rc, s, metric).diff->half_width, hi = row(ri, s, metric).diff->half_width;
      INFO(metric << " scenario " << s << ": CRN " << hc << ", independent " << hi);
      CHECK(hc < 0.7 * hi);
      ratio_sum += hc / hi;
    }
  CHECK(ratio_sum / 6 < 0.6);
  // And the shift a slower litho makes is resolved with CRN (its CI excludes 0).
  const Row& lit = row(rc, 2, "cycle_time_mean_days");
  CHECK(lit.diff->lo() > 0);
}

TEST_CASE("results depend neither on threads nor on the split over ranks") {
  test::TempDir tmp("whatif_runner");
  const Batch b = batch(R"({"base": {"model": "../minifab.json"}, "horizon_days": 12, "warmup_days": 4,
    "replications": 3, "seed": 5, "groups": ["Litho_E"],
    "scenarios": [{"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]},
                  {"name": "cr", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]}]})");
  CHECK(b.scenarios[1].own_warmup);
  CHECK_FALSE(b.scenarios[2].own_warmup);
  const Results one = run_all(b, 1), three = run_all(b, 3), ranks = run_all(b, 2, 4);
  CHECK(results_json(b, one) == results_json(b, three));
  CHECK(results_json(b, one) == results_json(b, ranks));
  CHECK(results_csv(one) == results_csv(ranks));
  CHECK(results_chart(one) == results_chart(ranks));
  // The shares cover every pair once, in order.
  for (int n : {1, 2, 3, 7}) {
    std::size_t next = 0;
    for (int r = 0; r < n; ++r) {
      const auto [first, last] = share(9, r, n);
      CHECK(first == next);
      next = last;
    }
    CHECK(next == 9);
  }
}

TEST_CASE("the shared warm-up: the base continues its warm state, a tool change warms up itself") {
  const Batch b = batch(R"({"base": {"model": "../minifab.json"}, "horizon_days": 10, "warmup_days": 5,
    "replications": 2, "metrics": ["throughput"],
    "scenarios": [{"name": "2 litho", "deltas": [{"tool_count": {"group": "Litho_E", "count": 2}}]}]})");
  // The base pair equals one straight run of the base model to warm-up + horizon.
  des::Options o = b.base_options;
  o.seed = pair_seed(b.spec, 0, 1);
  auto sim = des::Simulation::create(b.base_model, o).value();
  sim.run_until(model::SimTime{model::round_ms(15 * model::kMsPerDay)});
  std::size_t done = 0;
  for (const auto& c : sim.completed_lots())
    done += c.completed.time_since_epoch().count() >= 5 * 86'400'000LL;
  const Results r = run_all(b, 2);
  CHECK(row(r, 0, "throughput_lots_per_day").values[1] == Approx(done / 10.0));
  CHECK(r.shared_warmup == std::vector<bool>{true, false});
}

TEST_CASE("a checkpoint base: every pair starts from the saved state") {
  test::TempDir tmp("whatif_ckpt_run");
  const std::string state = test::write_state_file(tmp.file("warm.state"), 6);
  const Batch b =
      batch("{\"base\": {\"checkpoint\": \"" + state +
            "\"}, \"horizon_days\": 8, \"replications\": 3, \"metrics\": [\"throughput\", \"wip\"], "
            "\"scenarios\": [{\"name\": \"slow litho\", \"deltas\": [{\"process_time_factor\": "
            "{\"group\": \"Litho_E\", \"factor\": 1.2}}]}]}");
  CHECK(b.start_days == 6);
  const Results r = run_all(b, 2);
  const Row& wip = row(r, 1, "wip_lots");
  CHECK(wip.summary.n == 3);
  CHECK(wip.diff->mean > 0);  // a slower litho holds more lots
  const std::string json = results_json(b, r);
  CHECK(json.find("\"warmup\": \"checkpoint\"") != std::string::npos);
}

TEST_CASE("a checkpoint base with added tools: they join the saved state idle") {
  test::TempDir tmp("whatif_ckpt_tools");
  const std::string state = test::write_state_file(tmp.file("warm.state"), 6);
  const Batch b = batch("{\"base\": {\"checkpoint\": \"" + state +
                        "\"}, \"horizon_days\": 10, \"replications\": 3, \"groups\": [\"Litho_E\"], "
                        "\"metrics\": [\"throughput\", \"cycle_time\", \"utilisation\"], "
                        "\"scenarios\": [{\"name\": \"2 litho\", \"deltas\": [{\"tool_count\": "
                        "{\"group\": \"Litho_E\", \"count\": 2}}]}]}");
  REQUIRE(b.scenarios.size() == 2);
  CHECK_FALSE(b.scenarios[1].own_warmup);
  const Results r = run_all(b, 2);
  CHECK(r.shared_warmup == std::vector<bool>{true, true});
  // Two litho tools share the same work: each is about half as busy.
  const Row& util = row(r, 1, "utilisation", "Litho_E");
  REQUIRE(util.diff);
  CHECK(util.diff->hi() < 0);
  const double u0 = row(r, 0, "utilisation", "Litho_E").summary.mean, u1 = util.summary.mean;
  INFO(u0 << " " << u1);
  CHECK(u0 > 0.3);
  CHECK(u1 < 0.7 * u0);
  // The same batch split over ranks gives the same bytes.
  CHECK(results_json(b, run_all(b, 2, 3)) == results_json(b, r));
}

TEST_CASE("outputs: the CSV, the JSON and the chart") {
  test::TempDir tmp("whatif_out");
  const Batch b = batch(R"({"base": {"model": "../minifab.json"}, "horizon_days": 6, "warmup_days": 2,
    "replications": 2, "percentiles": [90], "groups": ["Litho_E"],
    "scenarios": [{"name": "cr, \"quoted\"", "deltas": [{"rule": {"group": "Diffusion_AB", "rule": "cr"}}]}]})");
  Results r = run_all(b, 2);
  const auto defs = metric_defs(b);
  // throughput x2, cycle time (mean, p90) x (all, part_A, part_B), wip x3, on_time x3, utilisation x1
  CHECK(defs.size() == 2 + 6 + 3 + 3 + 1);
  CHECK(r.rows.size() == 2 * defs.size());
  // A flow-model estimate, where given, goes into its column and onto the chart.
  r.rows[0].flow_estimate = 12.5;
  write_outputs(b, r, tmp.path / "out");
  const std::string csv = io::read_file(tmp.path / "out" / "results.csv").value();
  CHECK(csv.starts_with(
      "scenario,metric,subject,replications,mean,sd,ci95_low,ci95_high,diff_mean,diff_ci95_low,"
      "diff_ci95_high,flow_estimate\n"));
  CHECK(std::count(csv.begin(), csv.end(), '\n') == static_cast<long>(1 + r.rows.size()));
  CHECK(csv.find("base,throughput_lots_per_day,all,2,") != std::string::npos);
  CHECK(csv.find(",12.5\n") != std::string::npos);
  CHECK(csv.find("\"cr, \"\"quoted\"\"\",utilisation,Litho_E,2,") != std::string::npos);
  auto json = io::json::parse(io::read_file(tmp.path / "out" / "results.json").value());
  REQUIRE(json.ok());
  const auto& sc = json->find("scenarios")->as_array();
  REQUIRE(sc.size() == 2);
  const auto& m0 = sc[1].find("metrics")->as_array()[0];
  CHECK(m0.find("values")->as_array().size() == 2);
  CHECK(m0.find("diff_vs_base")->find("ci95")->as_array().size() == 2);
  CHECK(sc[0].find("metrics")->as_array()[0].find("flow_estimate")->as_number() == 12.5);
  const std::string png = io::read_file(tmp.path / "out" / "chart.png").value();
  CHECK(png.substr(1, 3) == "PNG");
  CHECK(png.size() > 1000);
}
