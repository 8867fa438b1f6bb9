#pragma once
// The flow model's view of a fab model: states (product, step) + one sink per product, routing
// with sampling and rework, nominal work and sojourn per step, visits per released lot, base
// release rates. Shared by FlowModel and the calibration fit.
#include <vector>

#include "fabtwin/model/model.hpp"

namespace fabtwin::flow::detail {

struct FabStructure {
  int K = 0, G = 0, P = 0;
  std::vector<int> group_of, product_of, step_of;  // [K]; step_of: model StepId value (-1 sinks)
  std::vector<double> entry;                       // [K]
  std::vector<int> pred_offset, pred_src;          // CSR, [K + 1], [n]
  std::vector<double> pred_prob;
  std::vector<double> nominal_work_hours;  // [K]: tool-hours per visit (model's means)
  std::vector<double> wall_hours;          // [K]: load + process wall time + unload per visit
  std::vector<double> transport_hours;     // [K]: mean transport to the step
  std::vector<double> visits;              // [K]: visits per released lot of its product
  std::vector<double> release_per_hour;    // [P]: base release rate, lots per hour
  std::vector<double> wip0;                // [K]: the model's initial WIP
  // Visit rate of each state at base releases (lots per hour): visits * release rate.
  double visit_rate(int k) const { return visits[k] * release_per_hour[product_of[k]]; }
};

FabStructure build_structure(const model::Model& m);

// Release rate (lots per hour) of each product in `m` from its orders (lots per release / mean
// interval; orders with no repeats count 0).
std::vector<double> release_rates(const model::Model& m);

}  // namespace fabtwin::flow::detail
