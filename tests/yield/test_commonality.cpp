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
