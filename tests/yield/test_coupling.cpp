// Yield follows the simulated process history: commonality analysis finds a planted bad tool on a
// 60-day SMT2020 HVLM run and finds nothing when nothing is planted.
#include <algorithm>
#include <catch2/catch.hpp>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

struct Run {
  std::unique_ptr<yield::YieldTracker> tracker;
  std::vector<yield::PairResult> ranked;
};

Run run_hvlm(const yield::YieldParams& params, double days) {
  static const Model m = io::load_model(test::hvlm()).value();
  auto sim = des::Simulation::create(m, des::Options{.seed = 1, .rule = "fifo"}).value();
  Run r;
  r.tracker = yield::YieldTracker::make(m, params, {.run = {.threads = 2}}).value();
  sim.add_observer(r.tracker.get());
  sim.run_until(SimTime{round_ms(days * kMsPerDay)});
  r.tracker->flush();
  r.ranked = yield::commonality(r.tracker->records());
  return r;
}

yield::YieldParams shipped() {
  return yield::read_yield_params(test::source_dir() / "twin_models" / "yield_params.json").value();
}

}  // namespace

TEST_CASE("commonality ranks a planted bad tool first on a 60-day HVLM run", "[yield][coupling][slow]") {
  auto params = shipped();
  params.faults = {yield::ToolFault{"Litho_FE_98_2", 25.0}};  // a litho stepper adding 25x its defects
  const Run r = run_hvlm(params, 60);
  REQUIRE(r.tracker->lots().size() > 1500);
  REQUIRE(r.tracker->wafers().size() == 25 * r.tracker->lots().size());
  REQUIRE(!r.ranked.empty());
  const Model m = io::load_model(test::hvlm()).value();
  const auto& top = r.ranked.front();
  CHECK(m.tool(top.pair.tool).name == "Litho_FE_98_2");
  CHECK(top.significant);
  CHECK(top.difference < 0);
  // At that step its wafers yield visibly less than those of the other steppers.
  CHECK(top.yield_in < top.yield_out - 0.005);
  // Every significant pair is the planted tool (other tools are not dragged in).
  for (const auto& p : r.ranked)
    if (p.significant) CHECK(m.tool(p.pair.tool).name == "Litho_FE_98_2");
  // The tool and tool-group levels rank it (its group) first too.
  yield::CommonalityOptions o;
  o.levels = {yield::Level::Tool, yield::Level::ToolGroup};
  const auto levels = yield::commonality(r.tracker->records(), o);
  for (auto l : {yield::Level::Tool, yield::Level::ToolGroup}) {
    const auto top_l =
        std::find_if(levels.begin(), levels.end(), [&](const auto& x) { return x.level == l; });
    REQUIRE(top_l != levels.end());
    CHECK(m.tool(top_l->pair.tool).name == "Litho_FE_98_2");
    CHECK(m.tool_group(top_l->group).name == "Litho_FE_98");
    CHECK(top_l->significant);
  }
}

TEST_CASE("with nothing planted and tool health off, no pair is significant", "[yield][coupling][slow]") {
  auto params = shipped();
  params.faults.clear();
  params.health = yield::ToolHealthParams{};  // no drift, no excursion
  const Run r = run_hvlm(params, 60);
  REQUIRE(r.ranked.size() > 1000);  // many pairs tested
  std::size_t significant = 0;
  for (const auto& p : r.ranked) significant += p.significant;
  CHECK(significant == 0);
  yield::CommonalityOptions o;
  o.levels = {yield::Level::Tool, yield::Level::ToolGroup};
  const auto levels = yield::commonality(r.tracker->records(), o);
  const auto n = yield::tests_per_level(levels);
  CHECK(n[1] > 1000);
  CHECK(n[2] > 50);
  for (const auto& p : levels) CHECK_FALSE(p.significant);
}

TEST_CASE("a lot's wafer maps follow from its history: recomputed maps match the summaries",
          "[yield][coupling]") {
  static const Model m = io::load_model(test::minifab()).value();
  auto params = shipped();
  params.products.clear();
  auto sim = des::Simulation::create(m, des::Options{.seed = 4}).value();
  auto tracker = yield::YieldTracker::make(m, params, {.run = {.threads = 1}, .batch_lots = 50}).value();
  sim.add_observer(tracker.get());
  sim.run_until(SimTime{round_ms(30 * kMsPerDay)});
  tracker->flush();
  REQUIRE(tracker->lots().size() > 300);
  for (std::size_t w : {std::size_t{0}, tracker->wafers().size() / 2, tracker->wafers().size() - 1}) {
    const auto map = tracker->wafer_map(w);
    std::uint32_t pass = 0;
    for (auto b : map) pass += b == yield::kBinPass;
    CHECK(pass == tracker->wafers()[w].summary.pass);
    CHECK(map.size() == tracker->wafers()[w].summary.dies);
  }
  // The mini-fab has no area in the parameters but Diffusion/Implant/Litho: those add defects.
  CHECK(tracker->lots()[0].rates.total_kill_density() > 0);
}

TEST_CASE("records_under(): redoing the yield part under other parameters equals simulating again",
          "[yield][coupling]") {
  static const Model m = io::load_model(test::minifab()).value();
  auto params = shipped();
  params.products.clear();
  params.faults.clear();
  auto planted = params;
  planted.faults = {yield::ToolFault{m.tools()[1].name, 8.0}};
  auto simulate = [&](const yield::YieldParams& p, bool keep) {
    auto sim = des::Simulation::create(m, des::Options{.seed = 4}).value();
    auto tr =
        yield::YieldTracker::make(m, p, {.run = {.threads = 1}, .batch_lots = 50, .keep_histories = keep})
            .value();
    sim.add_observer(tr.get());
    sim.run_until(SimTime{round_ms(30 * kMsPerDay)});
    tr->flush();
    return tr;
  };
  const auto base = simulate(params, true);
  const auto direct = simulate(planted, false);
  REQUIRE(base->wafers().size() > 1000);
  const auto same = base->records_under(params);
  REQUIRE(same.ok());
  CHECK(same->wafer_yield == base->records().wafer_yield);
  const auto replanted = base->records_under(planted);
  REQUIRE(replanted.ok());
  CHECK(replanted->wafer_yield == direct->records().wafer_yield);
  CHECK(replanted->pairs == direct->records().pairs);
  CHECK(replanted->wafer_yield != base->records().wafer_yield);
  CHECK(replanted->tool_group == base->records().tool_group);
  CHECK(replanted->history_stratum == base->records().history_stratum);
  // Refused: a tracker without histories; other tool health parameters.
  const auto no_hist = direct->records_under(params);
  REQUIRE_FALSE(no_hist.ok());
  CHECK(no_hist.error().field == "keep_histories");
  auto other_health = params;
  other_health.health.drift_per_day += 0.01;
  const auto bad = base->records_under(other_health);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "health");
}

TEST_CASE("the tracker gives commonality the model's tool groups and each lot's product as stratum",
          "[yield][coupling]") {
  static const Model m = io::load_model(test::minifab()).value();
  auto params = shipped();
  params.products.clear();
  auto sim = des::Simulation::create(m, des::Options{.seed = 2}).value();
  auto tr = yield::YieldTracker::make(m, params, {.run = {.threads = 1}}).value();
  sim.add_observer(tr.get());
  sim.run_until(SimTime{round_ms(20 * kMsPerDay)});
  tr->flush();
  const auto& rec = tr->records();
  REQUIRE(rec.tool_group.size() == m.tools().size());
  for (std::size_t t = 0; t < m.tools().size(); ++t) CHECK(rec.tool_group[t] == m.tools()[t].group);
  REQUIRE(rec.history_stratum.size() == rec.histories());
  for (const auto& l : tr->lots()) CHECK(rec.history_stratum[l.history] == l.product.value);
  yield::CommonalityOptions o;
  o.levels = {yield::Level::Tool, yield::Level::ToolGroup};
  for (const auto& r : yield::commonality(rec, o)) {
    CHECK(r.group == m.tool(r.pair.tool).group);
    CHECK_FALSE(r.pair.step.valid());
  }
}
