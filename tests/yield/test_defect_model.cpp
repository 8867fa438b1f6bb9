#include <catch2/catch.hpp>

#include "yield_test_util.hpp"

using namespace fabtwin;
using namespace fabtwin::yield;

namespace {
YieldParams small_params() {
  YieldParams p;
  p.areas = {{"Litho", 0.01, 0.5}, {"Etch", 0.02, 0.25}, {"Metro", 0.0, 1.0}};
  p.default_area = AreaDefects{"*", 0.004, 1.0};
  p.faults = {ToolFault{"E2", 3.0, Signature::Scratch, 7.0, 0.5}};
  return p;
}
const std::vector<std::string> kStepArea = {"Litho", "Etch", "Metro", "Implant", "Etch"};
const std::vector<std::string> kTools = {"L1", "E1", "E2", "M1", "I1"};
}  // namespace

TEST_CASE("rates sum d0 x health (x fault multiplier) and kill ratio per area", "[yield][defect]") {
  auto m = DefectModel::make(small_params(), kStepArea, kTools);
  REQUIRE(m);
  REQUIRE(m->area_count() == 4);  // Litho, Etch, Metro, other (Implant via default_area)
  CHECK(m->area_name(3) == "other");
  CHECK(m->area_of_step(model::StepId(2)) == -1);  // Metro adds nothing (d0 = 0)
  const StepRecord hist[] = {{model::StepId(0), model::ToolId(0), 1.0},
                             {model::StepId(1), model::ToolId(2), 1.5},  // faulty tool E2
                             {model::StepId(2), model::ToolId(3), 1.0},
                             {model::StepId(3), model::ToolId(4), 2.0},
                             {model::StepId(4), model::ToolId(1), 1.0}};
  const WaferRates r = m->rates(hist);
  CHECK(r.n_areas == 4);
  CHECK(r.defect_density[0] == Approx(0.01));
  CHECK(r.kill_density[0] == Approx(0.005));
  CHECK(r.defect_density[1] == Approx(0.02 * 1.5 * 3.0 + 0.02));
  CHECK(r.kill_density[1] == Approx((0.02 * 1.5 * 3.0 + 0.02) * 0.25));
  CHECK(r.defect_density[2] == 0.0);
  CHECK(r.defect_density[3] == Approx(0.008));
  REQUIRE(r.n_events == 1);
  CHECK(r.events[0].kind == Signature::Scratch);
  CHECK(r.events[0].step == 1);
  CHECK(r.events[0].intensity == 7.0);
  CHECK(r.events[0].probability == 0.5);
}

TEST_CASE("signature passes beyond kMaxEvents are counted as dropped", "[yield][defect]") {
  auto m = DefectModel::make(small_params(), kStepArea, kTools);
  REQUIRE(m);
  std::vector<StepRecord> hist(kMaxEvents + 3, StepRecord{model::StepId(1), model::ToolId(2), 1.0});
  const WaferRates r = m->rates(hist);
  CHECK(r.n_events == kMaxEvents);
  CHECK(r.dropped_events == 3);
}

TEST_CASE("tool health drifts with time since PM and jumps after a repair", "[yield][defect]") {
  ToolHealthParams h{0.02, 0.5, 3.0, 5};
  CHECK(tool_health(h, 0.0, 100) == 1.0);
  CHECK(tool_health(h, 10.0, 100) == Approx(1.2));
  CHECK(tool_health(h, 100.0, 100) == Approx(1.5));  // capped
  CHECK(tool_health(h, -3.0, 100) == 1.0);
  CHECK(tool_health(h, 10.0, 4) == Approx(3.6));
  CHECK(tool_health(h, 10.0, 5) == Approx(1.2));
}

TEST_CASE("a fault naming an unknown tool is an error", "[yield][defect]") {
  YieldParams p = small_params();
  p.faults.push_back(ToolFault{"NOPE", 2.0});
  auto m = DefectModel::make(p, kStepArea, kTools);
  REQUIRE(!m);
  CHECK(m.error().message.find("NOPE") != std::string::npos);
}
