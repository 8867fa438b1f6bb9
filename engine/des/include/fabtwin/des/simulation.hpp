#pragma once
// des::Simulation: exact lot-level discrete-event simulation of a fab model, following the
// SMT2020 / AutoSched AP semantics (docs/model-format.md). The state is a value: copying (fork())
// duplicates it in milliseconds and shares nothing mutable, so a fork run on to time t gives
// exactly what the original gives at t. Random numbers are counter-based and keyed by entity
// (lot, step, pass; tool, calendar, occurrence), so results do not depend on event order and two
// scenarios share draws wherever they share entities.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "fabtwin/des/observer.hpp"
#include "fabtwin/des/rules.hpp"
#include "fabtwin/des/stats.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::des {

struct Options {
  std::uint64_t seed = 1;
  std::string rule;  // "" = the model's rank lists; else fifo|cr|edd|spt or any registered rank_ name
  model::Duration warmup{0};  // KPIs drop lots released before, tool statistics restart then
  model::Duration wip_sample_interval{86'400'000};  // WIP over time: one sample per day
  bool count_initial_wip = false;  // KPIs also count initial-WIP lots (they have no real release)
  std::shared_ptr<const RuleRegistry> rules;  // null: the built-in rules
  std::vector<std::pair<std::string, std::string>> group_rules;  // (tool group name, rule name): replaces that group's base (last) rank key
};

class Simulation {
 public:
  // Fails (an Error naming the rule) if a rank rule of the model or options is unknown.
  static model::Result<Simulation> create(const model::Model& model, Options options = {});

  Simulation(const Simulation& other);             // a fork: same state, no observers
  Simulation& operator=(const Simulation& other);
  Simulation(Simulation&&) noexcept;
  Simulation& operator=(Simulation&&) noexcept;
  ~Simulation();
  Simulation fork() const { return Simulation(*this); }

  // Runs every event up to and including time `t`; throws std::invalid_argument if t < now().
  void run_until(model::SimTime t);
  model::SimTime now() const;
  std::uint64_t events() const;  // events processed so far

  void add_observer(Observer* observer);  // not owned; must outlive the run
  void remove_observer(Observer* observer);

  const model::Model& model() const;
  const Options& options() const;

  // KPIs of everything up to now (see stats.hpp for what each figure counts).
  Kpis kpis() const;
  std::span<const CompletedLot> completed_lots() const;  // in completion order
  std::span<const WipSample> wip_samples() const;

  // Live views (for the twin service and viewer).
  std::size_t lots_in_fab() const;
  std::size_t queue_length(model::ToolGroupId group) const;
  ToolState tool_state(model::ToolId tool) const;
  std::string lot_name(LotKey key) const;

 private:
  struct Impl;
  explicit Simulation(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabtwin::des
