#pragma once
// Screen, then confirm (docs/whatif.md "Screening"): a design (grid or Latin hypercube) over the
// spec's screen.space is evaluated with the flow model (engine/flow) in one batched run, ranked by
// the objective, and the best k become scenarios of a Batch that the runner simulates beside the
// base (and the spec's own scenarios) with common random numbers. Flow estimates of the figures
// the flow model computes fill Row::flow_estimate (also for `whatif run` with a "flow" block).
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "fabtwin/flow/flow.hpp"
#include "fabtwin/whatif/output.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/spec.hpp"

namespace fabtwin::whatif {

// The design: one vector of factor values per point (factor order of screen.factors). Grid: every
// combination (tool counts at their levels, continuous factors at `levels` evenly spaced values
// from min to max), the last factor varying fastest. LHS: `samples` points; each continuous
// factor's values fall one per stratum [min + (i / n)(max - min), min + ((i + 1) / n)(max - min));
// a tool count takes the level of its stratum (levels equally often, up to one). Deterministic in
// the seed (own generator: the same design on every platform).
std::vector<std::vector<double>> make_design(const ScreenSpec& screen);

// The engine deltas of one design point (values equal to the base's give no delta). Release is a
// product_mix delta on every product with an order.
des::Scenario point_scenario(const model::Model& base, const ScreenSpec& screen,
                             std::span<const double> point, std::string name);

// Point indices best first by the objective: max_throughput by throughput (descending), then cycle
// time; min_cycle_time by cycle time among the points with throughput >= base_throughput * (1 - tol),
// then the others by throughput (descending). With costs (one per point; empty: none), a point over
// the budget ranks after every point within it, and ties go to the cheaper point. Then by index.
std::vector<std::size_t> rank_points(const ScreenSpec& screen, double base_throughput,
                                     std::span<const double> throughput, std::span<const double> cycle_time,
                                     std::span<const double> cost = {});

// The cost of a point: each costed factor's change from the base's value in its unit (Factor::
// unit_cost: tools added, release up, process time down, ...; negative: a saving) times its cost.
double point_cost(const model::Model& base, const ScreenSpec& screen, std::span<const double> point);

// Per point: whether it is cost-efficient (on the Pareto front of cost against the objective): among
// the points that meet the objective's throughput (min_cycle_time: the floor above; max_throughput:
// any finite throughput), none costs less and is at least as good, and none costs the same and is
// better (cycle time for min_cycle_time, throughput for max_throughput).
std::vector<bool> efficient_points(const ScreenSpec& screen, double base_throughput,
                                   std::span<const double> throughput, std::span<const double> cycle_time,
                                   std::span<const double> cost);

// The flow model for a batch: spec.flow.calibration, else <model>.flow.json beside the model (a
// model folder: <folder>/<name>.flow.json; a base without a model file must give it). Errors name
// the spec file and "flow.calibration".
model::Result<flow::FlowModel> load_flow_model(const Batch& batch);
flow::RunOptions flow_options(const Spec& spec, unsigned threads);

// Flow results of each batch scenario where the flow model understands all its deltas (none for a
// scenario with a transport delta or a rule its calibration lacks).
struct FlowEstimate {
  flow::ScenarioInput input;
  flow::ScenarioResult result;
};
std::vector<std::optional<FlowEstimate>> flow_for_batch(const Batch& batch, const flow::FlowModel& fm,
                                                        const flow::RunOptions& options);
// Fills Row::flow_estimate for throughput_lots_per_day (all), cycle_time_mean_days and wip_lots
// (all, each product) and utilisation (busy share of uptime x the scenario's availability).
void fill_flow_estimates(Results& results, const Batch& batch, const flow::FlowModel& fm,
                         const std::vector<std::optional<FlowEstimate>>& flow);

struct ScreenResult {
  std::vector<std::vector<double>> points;
  flow::ScenarioResult base;               // the flow's base
  std::vector<flow::ScenarioResult> flow;  // per point
  std::vector<std::size_t> order;          // point indices, best first
  std::vector<std::size_t> rank;           // per point, 1-based
  std::vector<std::size_t> confirmed;  // the top k point indices (in rank order; "efficient": cheapest first)
  std::vector<double> cost;            // per point where the spec has tool costs (else empty)
  std::vector<bool> efficient;         // per point where the spec has tool costs: efficient_points
  std::size_t first_confirmed = 0;     // batch scenario index of confirmed[0]
  double flow_seconds = 0;
};

// Evaluates the design and appends the top k points (with "confirm": "efficient", the efficient
// points within the budget, cheapest first) to `batch` (scenarios and spec.scenarios) as scenarios
// named "#<flow rank> p<index>" (deltas applied as load_batch would). Errors name the spec file, the
// factor's line and path (a factor the model cannot take at its min or max). `progress` sees the
// flow run's (scenario-days done, in the run) as flow::RunOptions::progress does; an exception it
// throws stops the screen and leaves this call (the batch unchanged).
model::Result<ScreenResult> screen(Batch& batch, const flow::FlowModel& fm, unsigned threads,
                                   std::function<void(double, double)> progress = {});

// The flow side of a batch, as `whatif run|screen` and the WhatIfService use it: the flow model
// where the spec has a "flow" block or a screen is asked (nullopt otherwise). A screen asked of a
// spec without a "screen" block is an Error naming the field "screen"; load_flow_model's errors.
model::Result<std::optional<flow::FlowModel>> flow_model_for(const Batch& batch, bool screen);
// The summary of every pair (summarise_batch) with the flow estimates where there is a flow model.
Results summarise_with_flow(const Batch& batch, const std::vector<MetricDef>& defs,
                            const std::vector<PairResult>& pairs, const flow::FlowModel* fm,
                            unsigned threads);
// screen.csv and screen.json (name, text), in that order.
std::vector<std::pair<std::string, std::string>> screen_files(const Batch& batch, const ScreenResult& s,
                                                              const Results& results);

// screen.csv: every point (factors, flow figures, rank); screen.json: the confirmed points side by
// side with the simulation (flow rank, flow estimate, simulation mean and CI, simulation rank).
std::string screen_csv(const Batch& batch, const ScreenResult& s);
std::string screen_json(const Batch& batch, const ScreenResult& s, const Results& results);
// The side-by-side table as text (printed by the CLI, quoted in docs/whatif.md).
std::string screen_table(const Batch& batch, const ScreenResult& s, const Results& results);
// The simulation ranks of the confirmed points (1-based, by the objective on simulation means;
// base throughput = the simulation's base mean).
std::vector<std::size_t> simulation_ranks(const Batch& batch, const ScreenResult& s, const Results& results);

}  // namespace fabtwin::whatif
