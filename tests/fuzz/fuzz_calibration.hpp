#pragma once
// The flow calibration reader (flow::parse_calibration: `flow run --calibration`, a what-if spec's
// calibration) with arbitrary text. Beyond not crashing: an error names the file and says what; a
// calibration that reads keeps the reader's promises (tools whole and >= 1, times finite and >= 0,
// availability in (0, 1], rule parameters under distinct rank_ names), is written as JSON that
// reads back to the same text; and where its groups are the mini-fab's, the flow model takes it (or
// says why), runs its base and each calibrated rule on the first group to finite figures. Aborts
// otherwise. Shared by fuzz_calibration.cpp and the corpus test (tests/flow/test_fuzz_calibration.cpp).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>

#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/io/load.hpp"
#include "fuzz_check.hpp"

namespace fabtwin::fuzz {

[[noreturn]] inline void calibration_broken(const char* what) {
  std::fprintf(stderr, "calibration: %s\n", what);
  std::abort();
}

inline const model::Model& calibration_minifab() {
  static const model::Model m = io::load_model(FABTWIN_FUZZ_MINIFAB).value();
  return m;
}

inline void check_calibration(const flow::Calibration& c) {
  auto time = [](double v) { return std::isfinite(v) && v >= 0; };
  for (const flow::GroupCalibration& g : c.groups) {
    if (g.tools < 1) calibration_broken("a group without tools");
    if (!(g.availability > 0 && g.availability <= 1)) calibration_broken("an availability outside (0, 1]");
    if (!time(g.work_hours) || !time(g.nominal_work_hours) || !time(g.process_hours) ||
        !time(g.fixed_hours) || !time(g.queue_k_hours))
      calibration_broken("a time negative or not finite");
    std::set<std::string> names;
    for (const flow::RuleCalibration& r : g.rules) {
      if (r.rule.rfind("rank_", 0) != 0 || !names.insert(r.rule).second)
        calibration_broken("a rule not a rank_ name, or given twice");
      if (!time(r.work_hours) || !time(r.process_hours) || !time(r.fixed_hours) || !time(r.queue_k_hours))
        calibration_broken("a rule's time negative or not finite");
      if (g.under(r.rule) != &r) calibration_broken("a rule not found under its name");
    }
  }
}

inline void calibration_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = flow::parse_calibration(text, "c.json");
  if (!c.ok()) {
    if (c.error().file != "c.json") calibration_broken("an error that does not name the file");
    check_error(c.error());
    return;
  }
  check_calibration(c.value());
  const std::string written = flow::to_json(c.value());
  auto back = flow::parse_calibration(written, "back.json");
  if (!back.ok()) calibration_broken("the written calibration does not read");
  if (flow::to_json(back.value()) != written) calibration_broken("writing again gives other text");
  // The flow model on the mini-fab, where the groups are its own.
  const model::Model& m = calibration_minifab();
  auto fm = flow::FlowModel::create(m, c.value());
  if (!fm.ok()) {
    check_error(fm.error());
    return;
  }
  std::vector<flow::ScenarioInput> in(1);
  in[0].name = "base";
  for (const flow::RuleCalibration& r : c->groups.front().rules) {
    flow::ScenarioInput s;
    s.name = r.rule;
    s.rule.assign(m.tool_groups().size(), "");
    s.rule[0] = r.rule;
    in.push_back(std::move(s));
  }
  flow::RunOptions o;
  o.warmup_days = 1;
  o.days = 2;
  o.period_hours = 1;
  for (const flow::ScenarioResult& r : fm->run(in, o))
    if (!(r.throughput_lots_per_day >= 0) || !std::isfinite(r.wip_lots) || r.wip_lots < 0)
      calibration_broken("a flow run with a negative or non-finite figure");
}

}  // namespace fabtwin::fuzz
