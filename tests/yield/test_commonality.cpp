#include <catch2/catch.hpp>
#include <random>

#include "yield_test_util.hpp"

using namespace fabtwin;
using namespace fabtwin::yield;

namespace {

// Lots choose one of `tools` tools at each of `steps` steps at random; 25 wafers per lot with die
// yield 0.85 + lot_sd N(0,1) (per lot) + 0.06 N(0,1) (per wafer), minus `drop` for the wafers of
// lots that ran (bad_step, bad_tool).
YieldRecords synthetic(std::uint64_t seed, int lots, int steps, int tools, int bad_step, int bad_tool,
                       double drop, double lot_sd = 0.0) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 0.06), lot_noise(0.0, 1.0);
  YieldRecords rec;
  std::vector<StepTool> hist;
  for (int l = 0; l < lots; ++l) {
    hist.clear();
    bool bad = false;
    for (int s = 0; s < steps; ++s) {
      const int t = static_cast<int>(rng() % tools);
      hist.push_back(StepTool{model::StepId(s), model::ToolId(s * tools + t)});
      bad = bad || (s == bad_step && t == bad_tool);
    }
    const auto h = rec.add_history(hist);
    const double lot = lot_sd * lot_noise(rng);
    for (int w = 0; w < 25; ++w)
      rec.add_wafer(h, std::clamp(0.85 + lot + noise(rng) - (bad ? drop : 0.0), 0.0, 1.0));
  }
  return rec;
}

}  // namespace

TEST_CASE("commonality ranks a planted bad tool first and flags it", "[yield][commonality]") {
  const auto rec = synthetic(1, 1200, 30, 4, 12, 2, 0.01);
  const auto res = commonality(rec);
  REQUIRE(res.size() == 30 * 4);
  CHECK(res[0].pair.step == model::StepId(12));
  CHECK(res[0].pair.tool == model::ToolId(12 * 4 + 2));
  CHECK(res[0].significant);
  CHECK(res[0].difference < 0);
  CHECK(res[0].n_in + res[0].n_out == 1200u * 25);
  CHECK(res[0].units_in + res[0].units_out == 1200u);
  // Only the planted pair is significant (its step's other tools are not "worse" one-sided).
  for (std::size_t i = 1; i < res.size(); ++i) CHECK_FALSE(res[i].significant);
  // Ranking is by p, ascending.
  for (std::size_t i = 1; i < res.size(); ++i) CHECK(res[i - 1].p <= res[i].p);
}

TEST_CASE("on null datasets the corrected family-wise error rate stays near its 5% level",
          "[yield][commonality]") {
  // 40 datasets without any tool effect (120 pairs each). Holm controls the chance of any false
  // flag per dataset at 5%: expect ~2 of 40, allow 6 (P(X >= 7) = 0.3% for Binomial(40, 0.05)).
  // Without a correction nearly every dataset has some pair below 0.05.
  int holm_any = 0, raw_any = 0;
  for (std::uint64_t seed = 100; seed < 140; ++seed) {
    const auto rec = synthetic(seed, 1200, 30, 4, -1, -1, 0.0);
    const auto res = commonality(rec);
    REQUIRE(res.size() == 120);
    bool any = false, raw = false;
    for (const auto& r : res) any = any || r.significant, raw = raw || r.p < 0.05;
    holm_any += any;
    raw_any += raw;
  }
  INFO("datasets with a Holm-significant pair: " << holm_any << " / 40; with raw p < 0.05: " << raw_any);
  CHECK(holm_any <= 6);
  CHECK(raw_any >= 30);
}

TEST_CASE("with lot-to-lot variation the lot is the right test unit", "[yield][commonality]") {
  // Lot effects (sd 0.04) make the 25 wafers of a lot dependent: wafer-level tests then flag pairs
  // on nearly every null dataset, lot-level tests keep the error rate.
  int by_lot = 0, by_wafer = 0;
  for (std::uint64_t seed = 200; seed < 220; ++seed) {
    const auto rec = synthetic(seed, 400, 20, 3, -1, -1, 0.0, 0.04);
    auto any = [](const std::vector<PairResult>& res) {
      for (const auto& r : res)
        if (r.significant) return true;
      return false;
    };
    by_lot += any(commonality(rec));
    CommonalityOptions wafer_unit;
    wafer_unit.unit = TestUnit::Wafer;
    by_wafer += any(commonality(rec, wafer_unit));
  }
  INFO("null datasets flagged: by lot " << by_lot << " / 20, by wafer " << by_wafer << " / 20");
  CHECK(by_lot <= 4);
  CHECK(by_wafer >= 10);
}

TEST_CASE("Holm adjusts monotonically and Bonferroni is m x p", "[yield][commonality]") {
  const auto rec = synthetic(9, 300, 10, 3, 4, 1, 0.02);
  const auto holm = commonality(rec, {0.05, Correction::Holm});
  const auto bonf = commonality(rec, {0.05, Correction::Bonferroni});
  REQUIRE(holm.size() == bonf.size());
  const double m = static_cast<double>(holm.size());
  for (std::size_t i = 0; i < holm.size(); ++i) {
    CHECK(bonf[i].p_adjusted == Approx(std::min(1.0, m * bonf[i].p)));
    CHECK(holm[i].p_adjusted <= bonf[i].p_adjusted + 1e-15);
    if (i) CHECK(holm[i].p_adjusted >= holm[i - 1].p_adjusted);
  }
}

TEST_CASE("two-sided tests flag the good tools of a two-tool step too", "[yield][commonality]") {
  const auto rec = synthetic(5, 800, 8, 2, 3, 0, 0.02);
  const auto res = commonality(rec, {0.05, Correction::Holm, Alternative::TwoSided});
  REQUIRE(res.size() >= 2);
  // With two tools at step 3, "tool 0 worse" and "tool 1 better" are the same evidence.
  CHECK(res[0].pair == StepTool{model::StepId(3), model::ToolId(6)});
  CHECK(res[1].pair == StepTool{model::StepId(3), model::ToolId(7)});
  CHECK(res[0].significant);
  CHECK(res[1].significant);
  CHECK(res[1].difference > 0);
}

TEST_CASE("Student t CDF matches known quantiles", "[yield][commonality]") {
  CHECK(student_t_cdf(0.0, 5) == Approx(0.5));
  CHECK(student_t_cdf(2.015048, 5) == Approx(0.95).epsilon(1e-5));
  CHECK(student_t_cdf(-2.570582, 5) == Approx(0.025).epsilon(1e-5));
  CHECK(student_t_cdf(1.959964, 1e7) == Approx(0.975).epsilon(1e-6));
  CHECK(student_t_cdf(-12.0, 1000) < 1e-28);
}

namespace {

// 20 steps in one area, 3 tools each; lots pick tools at random; each wafer's die yield comes from
// the Monte Carlo. `faulty`: tool 1 of step 7 runs at 4x density.
std::vector<PairResult> simulated_commonality(bool faulty) {
  const int steps = 20, tools = 3, lots = 400;
  YieldParams p;
  p.areas = {{"A", 0.01, 1.0}};
  if (faulty) p.faults = {ToolFault{"s7t1", 4.0}};
  std::vector<std::string> step_area(steps, "A"), tool_names;
  for (int s = 0; s < steps; ++s)
    for (int t = 0; t < tools; ++t) {
      std::string name = "s";  // built piecewise: GCC 12 warns falsely (-Wrestrict) on "s" + to_string(...)
      name += std::to_string(s);
      name += 't';
      name += std::to_string(t);
      tool_names.push_back(name);
    }
  auto dm = DefectModel::make(p, step_area, tool_names);
  REQUIRE(dm);
  std::mt19937_64 rng(17);
  YieldRecords rec;
  std::vector<WaferRates> rates;
  std::vector<WaferRef> wafers;
  std::vector<std::uint32_t> hist_of_lot;
  for (int l = 0; l < lots; ++l) {
    std::vector<StepRecord> h;
    std::vector<StepTool> st;
    for (int s = 0; s < steps; ++s) {
      const auto tool = model::ToolId(static_cast<std::uint32_t>(s * tools + rng() % tools));
      h.push_back(StepRecord{model::StepId(s), tool, 1.0});
      st.push_back(StepTool{model::StepId(s), tool});
    }
    rates.push_back(dm->rates(h));
    hist_of_lot.push_back(rec.add_history(st));
    for (int w = 0; w < 25; ++w)
      wafers.push_back(WaferRef{static_cast<std::uint64_t>(l) * 25 + w, static_cast<std::uint32_t>(l)});
  }
  MonteCarlo mc(test::grid_mm(10, 10), McSettings{3, 2.0, {}});
  auto r = mc.run(rates, wafers, RunOptions{Backend::Cpu, 0, false, false});
  REQUIRE(r);
  for (std::size_t w = 0; w < wafers.size(); ++w)
    rec.add_wafer(hist_of_lot[wafers[w].rates], r->wafers[w].die_yield());
  return commonality(rec);
}

}  // namespace

TEST_CASE("commonality finds a tool with raised defect density from simulated wafer maps",
          "[yield][commonality][mc]") {
  const auto res = simulated_commonality(true);
  REQUIRE(res.size() == 60);
  CHECK(res[0].pair.step == model::StepId(7));
  CHECK(res[0].pair.tool == model::ToolId(7 * 3 + 1));
  CHECK(res[0].significant);
  std::size_t sig = 0;
  for (const auto& x : res) sig += x.significant;
  CHECK(sig == 1);
}

TEST_CASE("with nothing planted no pair of the simulated fab passes the corrected level",
          "[yield][commonality][mc]") {
  const auto res = simulated_commonality(false);
  REQUIRE(res.size() == 60);
  for (const auto& x : res) CHECK_FALSE(x.significant);
}

// ---- Tool and ToolGroup levels -------------------------------------------------------------------

namespace {

// `groups` tool groups of `tools` tools; group g performs steps [g * steps, (g + 1) * steps) on its
// tools [g * tools, (g + 1) * tools), a tool drawn at random for every step of every lot. Every
// `stratum_every`-th lot belongs to stratum 1, the others to 0; stratum 1 yields `stratum_shift`
// more and its lot noise is `stratum_sd_factor` times larger. With `last_tool_stratum_1` only
// stratum 1 uses the groups' last tools; with `route_steps` each stratum has its own steps (as
// SMT2020 routes do), on the same tools. Each step run on `bad_tool` takes `drop` off the lot's
// yield.
struct Fab {
  int groups = 3, tools = 4, steps = 10, lots = 800;
  int bad_tool = -1;
  double drop = 0;
  double lot_sd = 0.005, wafer_sd = 0.06;
  int stratum_every = 2;
  double stratum_shift = 0.0, stratum_sd_factor = 1.0;
  bool last_tool_stratum_1 = false, route_steps = false;
  bool give_groups = true;
};

YieldRecords fab_records(const Fab& f, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  YieldRecords rec;
  if (f.give_groups)
    for (int t = 0; t < f.groups * f.tools; ++t) rec.tool_group.push_back(model::ToolGroupId(t / f.tools));
  std::vector<StepTool> hist;
  for (int l = 0; l < f.lots; ++l) {
    hist.clear();
    int bad = 0;
    const std::uint32_t stratum = l % f.stratum_every == f.stratum_every - 1 ? 1 : 0;
    for (int g = 0; g < f.groups; ++g)
      for (int s = 0; s < f.steps; ++s) {
        const int choices = f.last_tool_stratum_1 && stratum == 0 ? f.tools - 1 : f.tools;
        const int t = g * f.tools + static_cast<int>(rng() % choices);
        const int step =
            (f.route_steps ? static_cast<int>(stratum) * f.groups * f.steps : 0) + g * f.steps + s;
        hist.push_back(StepTool{model::StepId(step), model::ToolId(t)});
        bad += t == f.bad_tool;
      }
    const auto h = rec.add_history(hist, stratum);
    const double sd = f.lot_sd * (stratum ? f.stratum_sd_factor : 1.0);
    const double lot = 0.85 + (stratum ? f.stratum_shift : 0.0) + sd * z(rng) - bad * f.drop;
    for (int w = 0; w < 25; ++w) rec.add_wafer(h, std::clamp(lot + f.wafer_sd * z(rng), 0.0, 1.0));
  }
  return rec;
}

const CommonalityOptions kAllLevels{.levels = {Level::StepTool, Level::Tool, Level::ToolGroup}};

std::vector<CommonalityResult> of_level(const std::vector<CommonalityResult>& res, Level l) {
  std::vector<CommonalityResult> out;
  for (const auto& r : res)
    if (r.level == l) out.push_back(r);
  return out;
}

}  // namespace

TEST_CASE("levels: names round-trip; the default tests (step, tool) pairs only", "[yield][commonality]") {
  for (Level l : {Level::StepTool, Level::Tool, Level::ToolGroup}) CHECK(parse_level(to_string(l)) == l);
  CHECK(to_string(Level::ToolGroup) == "tool_group");
  CHECK_FALSE(parse_level("Tool"));
  CHECK_FALSE(parse_level(""));
  const auto rec = fab_records(Fab{}, 3);
  const auto res = commonality(rec);
  REQUIRE(res.size() == 30 * 4);
  for (const auto& r : res) {
    CHECK(r.level == Level::StepTool);
    CHECK(r.group == model::ToolGroupId(r.pair.tool.value / 4));  // the given groups
    CHECK(r.df1 == r.units_in + r.units_out - 2);                 // pooled t
    CHECK(r.df2 == 0);
    CHECK(r.effect == Approx(r.difference).margin(1e-12));  // one wafer value per lot unit: the same means
  }
  const auto n = tests_per_level(commonality(rec, kAllLevels));
  CHECK(n[0] == 120);
  CHECK(n[1] == 12);
  CHECK(n[2] == 3);
}

TEST_CASE("a tool's small effect spread over its steps is found at the tool level, not per step",
          "[yield][commonality]") {
  // Each of tool 5's ~2.5 steps per lot takes 0.0015 off the lot's yield: per step that is about
  // 1.5 standard errors (lost among 120 tests), pooled over its 10 steps about 5.
  Fab f;
  f.bad_tool = 5;
  f.drop = 0.0015;
  const auto rec = fab_records(f, 11);
  const auto res = commonality(rec, kAllLevels);
  const auto steps = of_level(res, Level::StepTool), tools = of_level(res, Level::Tool);
  REQUIRE(steps.size() == 120);
  REQUIRE(tools.size() == 12);
  for (const auto& r : steps) CHECK_FALSE(r.significant);
  CHECK(tools[0].pair.tool == model::ToolId(5));
  CHECK_FALSE(tools[0].pair.step.valid());
  CHECK(tools[0].group == model::ToolGroupId(1));
  CHECK(tools[0].significant);
  CHECK(tools[0].statistic < -4);
  CHECK(tools[0].df1 == 800 - 2 - 1);  // units - strata - dose (n_G is constant within a stratum)
  CHECK(tools[0].df2 == 0);
  // The effect is the yield change per step on the tool (against another tool of its group): the
  // planted drop, within its standard error (drop / |t| ~ 0.0003).
  CHECK(tools[0].effect == Approx(-0.0015).margin(0.0008));
  CHECK(tools[0].units_in + tools[0].units_out == 800u);
  CHECK(tools[0].n_in == 25 * tools[0].units_in);
  for (std::size_t i = 1; i < tools.size(); ++i) CHECK_FALSE(tools[i].significant);
  // The ranking puts the tool-level finding first overall.
  CHECK(res[0].level == Level::Tool);
}

TEST_CASE("the group level finds the group with one bad tool and names it", "[yield][commonality]") {
  Fab f;
  f.bad_tool = 9;  // group 2
  f.drop = 0.002;
  const auto rec = fab_records(f, 21);
  const auto groups = of_level(commonality(rec, kAllLevels), Level::ToolGroup);
  REQUIRE(groups.size() == 3);
  CHECK(groups[0].group == model::ToolGroupId(2));
  CHECK(groups[0].pair.tool == model::ToolId(9));  // the worst tool of the group
  CHECK(groups[0].significant);
  CHECK(groups[0].df1 == 3);            // 4 tools: 3 contrasts
  CHECK(groups[0].df2 == 800 - 2 - 3);  // units - strata - contrasts
  CHECK(groups[0].statistic > 5);       // F
  CHECK_FALSE(groups[1].significant);
  CHECK_FALSE(groups[2].significant);
}

TEST_CASE("tool groups are derived from shared steps when not given", "[yield][commonality]") {
  Fab f;
  f.give_groups = false;
  f.bad_tool = 5;
  f.drop = 0.003;
  const auto rec = fab_records(f, 5);
  const auto res = commonality(rec, kAllLevels);
  CHECK(tests_per_level(res)[2] == 3);
  for (const auto& r : res)
    CHECK(r.group == model::ToolGroupId(r.pair.tool.value / 4 * 4));  // lowest tool id
  const auto tools = of_level(res, Level::Tool);
  CHECK(tools[0].pair.tool == model::ToolId(5));
  CHECK(tools[0].group == model::ToolGroupId(4));
}

TEST_CASE("one stratum, one step per group: Tool is the simple regression, ToolGroup the one-way ANOVA",
          "[yield][commonality]") {
  // 3 tools, each lot runs the group's one step on one tool: a tool's dose is 0 or 1, so the Tool
  // test is the regression of y on that indicator (= pooled t of in vs out) and the ToolGroup test
  // the one-way ANOVA F across the 3 tools. Both computed here by hand.
  std::mt19937_64 rng(8);
  std::normal_distribution<double> z(0.0, 0.02);
  YieldRecords rec;
  std::vector<std::vector<double>> by_tool(3);
  for (int l = 0; l < 90; ++l) {
    const int t = l % 3;
    const StepTool st[1] = {{model::StepId(0), model::ToolId(t)}};
    const auto h = rec.add_history(st);
    const double y = 0.9 - (t == 2 ? 0.01 : 0.0) + z(rng);
    rec.add_wafer(h, y);
    by_tool[t].push_back(y);
  }
  const auto res = commonality(rec, kAllLevels);
  // One-way ANOVA.
  double grand = 0;
  for (const auto& v : by_tool)
    for (double y : v) grand += y / 90.0;
  double ssb = 0, ssw = 0;
  for (const auto& v : by_tool) {
    double m = 0;
    for (double y : v) m += y / static_cast<double>(v.size());
    ssb += static_cast<double>(v.size()) * (m - grand) * (m - grand);
    for (double y : v) ssw += (y - m) * (y - m);
  }
  const double f_hand = (ssb / 2) / (ssw / 87);
  const auto groups = of_level(res, Level::ToolGroup);
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].statistic == Approx(f_hand).epsilon(1e-9));
  CHECK(groups[0].df1 == 2);
  CHECK(groups[0].df2 == 87);
  CHECK(groups[0].p == Approx(f_upper_tail(f_hand, 2, 87)).epsilon(1e-9));
  // Tool 2 against the others: the pooled two-sample t (= the regression on its indicator).
  std::vector<double> in = by_tool[2], out = by_tool[0];
  out.insert(out.end(), by_tool[1].begin(), by_tool[1].end());
  auto mean = [](const std::vector<double>& v) {
    double s = 0;
    for (double y : v) s += y;
    return s / static_cast<double>(v.size());
  };
  const double mi = mean(in), mo = mean(out);
  double ss = 0;
  for (double y : in) ss += (y - mi) * (y - mi);
  for (double y : out) ss += (y - mo) * (y - mo);
  const double sp2 = ss / 88, t_hand = (mi - mo) / std::sqrt(sp2 * (1.0 / 30 + 1.0 / 60));
  const auto tools = of_level(res, Level::Tool);
  REQUIRE(tools.size() == 3);
  const auto it =
      std::find_if(tools.begin(), tools.end(), [](const auto& r) { return r.pair.tool.value == 2; });
  REQUIRE(it != tools.end());
  CHECK(it->statistic == Approx(t_hand).epsilon(1e-9));
  CHECK(it->df1 == 88);
  CHECK(it->effect == Approx(mi - mo).epsilon(1e-9));
  CHECK(it->p == Approx(student_t_cdf(t_hand, 88)).epsilon(1e-9));
  // The same as the step-level test of (step 0, tool 2).
  const auto steps = of_level(res, Level::StepTool);
  const auto st =
      std::find_if(steps.begin(), steps.end(), [](const auto& r) { return r.pair.tool.value == 2; });
  REQUIRE(st != steps.end());
  CHECK(st->statistic == Approx(t_hand).epsilon(1e-9));
  CHECK(groups[0].pair.tool == model::ToolId(2));  // the worst tool: the lowest t
}

TEST_CASE("Holm is applied within each level over that level's tests", "[yield][commonality]") {
  Fab f;
  f.bad_tool = 2;
  f.drop = 0.002;
  const auto rec = fab_records(f, 31);
  for (Correction c : {Correction::Holm, Correction::Bonferroni}) {
    CommonalityOptions o = kAllLevels;
    o.correction = c;
    const auto res = commonality(rec, o);
    for (Level l : {Level::StepTool, Level::Tool, Level::ToolGroup}) {
      auto rows = of_level(res, l);
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.p < b.p; });
      const double m = static_cast<double>(rows.size());
      REQUIRE(m == (l == Level::StepTool ? 120 : l == Level::Tool ? 12 : 3));
      double running = 0;
      for (std::size_t i = 0; i < rows.size(); ++i) {
        double adj = 0;
        if (c == Correction::Bonferroni) {
          adj = std::min(1.0, m * rows[i].p);
        } else {
          running = std::max(running, std::min(1.0, (m - static_cast<double>(i)) * rows[i].p));
          adj = running;
        }
        CHECK(rows[i].p_adjusted == Approx(adj).epsilon(1e-12));
        CHECK(rows[i].significant == (adj < 0.05));
      }
    }
    // Ranked by p_adjusted over all levels.
    for (std::size_t i = 1; i < res.size(); ++i) CHECK(res[i - 1].p_adjusted <= res[i].p_adjusted);
  }
}

TEST_CASE("null data: each level keeps its family-wise error rate, also with strata of unequal spread",
          "[yield][commonality]") {
  // 40 null datasets. Stratum 1 (every 10th lot) has its own steps, yields less, has 8x the lot
  // noise and is alone in using its groups' last tools, as a product with a larger die: with one
  // pooled variance those tools' effects would get too small a standard error (before units were
  // weighted by their stratum's variance, 11 of these datasets were flagged at the Tool level and
  // 21 at the ToolGroup level; now 2 and 1). Per
  // level, the chance of any false flag in a dataset is 5%: expect ~2 of 40, allow 6
  // (P(X >= 7) = 0.3% for Binomial(40, 0.05)). Seeded: the outcome is fixed, the bound is the
  // claim it checks.
  std::array<int, 3> any{};
  Fab f;
  f.lot_sd = 0.01;
  f.stratum_every = 10;
  f.stratum_shift = -0.05;
  f.stratum_sd_factor = 8.0;
  f.last_tool_stratum_1 = true;
  f.route_steps = true;
  f.lots = 600;
  for (std::uint64_t seed = 300; seed < 340; ++seed) {
    const auto res = commonality(fab_records(f, seed), kAllLevels);
    std::array<bool, 3> hit{};
    for (const auto& r : res) hit[static_cast<std::size_t>(r.level)] |= r.significant;
    for (std::size_t l = 0; l < 3; ++l) any[l] += hit[l];
  }
  INFO("null datasets flagged: step_tool " << any[0] << ", tool " << any[1] << ", tool_group " << any[2]
                                           << " of 40");
  for (int a : any) CHECK(a <= 6);
}

TEST_CASE("F upper tail matches known quantiles and t squared", "[yield][commonality]") {
  CHECK(f_upper_tail(4.102821, 2, 10) == Approx(0.05).epsilon(1e-5));
  CHECK(f_upper_tail(2.605975, 4, 40) == Approx(0.05).epsilon(1e-5));
  CHECK(f_upper_tail(0.0, 3, 7) == 1.0);
  const double t = -2.3;
  CHECK(f_upper_tail(t * t, 1, 25) == Approx(2 * student_t_cdf(t, 25)).epsilon(1e-10));
}
