#pragma once
// A hand-computable fab for the flow tests: product p, route A (30 min) -> B (60 min) -> A (30 min),
// one lot every 120 min (0.5 lots/h); A has 1 tool, B 2 tools. With the calibration below:
//   rho_A = 2 visits * 0.5 lots/h * 0.5 h / 1 = 0.5,  T_A = 0.5 + 0.2 * 0.5 / 0.5 = 0.7 h
//   rho_B = 0.5 * 1 h / (2 * 0.8) = 0.3125,          T_B = (1 + 0.25) + 0.4 * 0.3125 / 0.6875 h
//   cycle time = 2 T_A + T_B, throughput 12 lots/day, WIP = 0.5 * cycle time (Little).
#include "fabtwin/flow/calibration.hpp"
#include "tiny_fab.hpp"

namespace fabtwin::test {

inline Model flow_fab(std::uint32_t tools_b = 2) {
  TinyFab f;
  f.group("A", 1);
  f.group("B", tools_b);
  const auto p = f.product("p", {{"A", 30}, {"B", 60}, {"A", 30}});
  f.order("L", p, 0, 120, 100000);
  return f.build();
}

inline flow::Calibration flow_fab_calibration() {
  flow::Calibration c;
  c.model_name = "tiny";
  flow::GroupCalibration a;
  a.name = "A";
  a.tools = 1;
  a.work_hours = a.nominal_work_hours = a.process_hours = 0.5;
  a.availability = 1;
  a.queue_k_hours = 0.2;
  flow::GroupCalibration b;
  b.name = "B";
  b.tools = 2;
  b.work_hours = b.nominal_work_hours = b.process_hours = 1.0;
  b.availability = 0.8;
  b.unscheduled_down = 0.2;
  b.fixed_hours = 0.25;
  b.queue_k_hours = 0.4;
  c.groups = {a, b};
  return c;
}

inline double flow_fab_cycle_time_hours() { return 2 * 0.7 + 1.25 + 0.4 * 0.3125 / 0.6875; }

}  // namespace fabtwin::test
