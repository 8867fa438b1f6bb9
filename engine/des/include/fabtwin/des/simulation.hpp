#pragma once
// des::Simulation: exact lot-level discrete-event simulation of a fab model, following the
// SMT2020 / AutoSched AP semantics (docs/model-format.md), and the engine's live twin: MES events
// set its state (apply), a read-only view and a change journal show it, checkpoints save and
// restore it. The state is a value: copying (fork()) duplicates it in milliseconds and shares
// nothing mutable, so a fork run on to time t gives exactly what the original gives at t. Random
// numbers are counter-based and keyed by entity (lot, step, pass; tool group, tool index in the
// group, calendar, occurrence), so results do not depend on event order and two scenarios share
// draws wherever they share entities.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/observer.hpp"
#include "fabtwin/des/rules.hpp"
#include "fabtwin/des/shared_log.hpp"
#include "fabtwin/des/state.hpp"
#include "fabtwin/des/stats.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::des {

struct Options {
  std::uint64_t seed = 1;
  std::string rule;  // "" = the model's rank lists; else fifo|cr|edd|spt or any registered rank_ name
  std::vector<std::pair<std::string, std::string>>
      group_rules;            // (tool group, rule name): replaces that group's base (last) rank key
  model::Duration warmup{0};  // KPIs drop lots released before, tool statistics restart then
  model::Duration wip_sample_interval{86'400'000};  // WIP over time: one sample per day
  bool count_initial_wip = false;             // KPIs also count initial-WIP lots (they have no real release)
  Mode mode = Mode::Autonomous;               // Follow: a live twin, moved by events only
  std::shared_ptr<const RuleRegistry> rules;  // null: the built-in rules
};

class Simulation {
 public:
  // Fails (an Error naming the rule) if a rank rule of the model or options is unknown.
  static model::Result<Simulation> create(const model::Model& model, Options options = {});

  Simulation(const Simulation& other);  // a fork: same state, no observers, empty journal log
  Simulation& operator=(const Simulation& other);
  Simulation(Simulation&&) noexcept;
  Simulation& operator=(Simulation&&) noexcept;
  ~Simulation();
  Simulation fork() const { return Simulation(*this); }
  // A fork whose draws from now on use `seed` (what is already scheduled stays): the
  // replications of a forecast. fork(options().seed) equals fork().
  Simulation fork(std::uint64_t seed) const;

  // Runs every event up to and including time `t`; throws std::invalid_argument if t < now().
  void run_until(model::SimTime t);
  model::SimTime now() const;
  std::uint64_t events() const;  // kernel events processed so far

  // ---- the twin -----------------------------------------------------------------------------
  // Applies one MES event: runs the clock to its time (an earlier stamp: applied now, counted
  // late), puts lots and tools in the reported state and cancels what the simulation had
  // scheduled against it. A refused event changes nothing (the clock included) and is counted.
  // In autonomous mode an event stamped ahead is checked against the state at its own time.
  ApplyResult apply(const Event& event);
  void count_duplicate();  // the caller's ledger saw a repeated id
  const EventCounts& event_counts() const;
  Mode mode() const;
  // Follow -> Autonomous (a forecast): jobs end at their expected ends, lots between steps move
  // on, downs without an end get a drawn repair. Throws std::logic_error for Autonomous -> Follow.
  void set_mode(Mode mode);

  // ---- names --------------------------------------------------------------------------------
  std::optional<LotKey> find_lot(std::string_view name) const;  // a lot in the fab
  std::optional<model::ToolId> find_tool(std::string_view name) const;
  std::optional<model::StepId> find_step(std::string_view route, std::uint32_t number) const;
  std::string lot_name(LotKey key) const;  // any lot ever seen ("" if unknown)

  // ---- state view and journal ---------------------------------------------------------------
  std::uint64_t version() const;  // raised by every change
  StateView view() const;         // the keyframe at version()
  LiveKpis live_kpis() const;
  // What changed since version v (whole records); nullopt if v is older than the journal keeps
  // (take a keyframe) or newer than version().
  std::optional<StateDelta> changes_since(std::uint64_t v) const;
  // Keeps a log of changes so changes_since costs O(changes) rather than O(fab); `entries`
  // bounds it (older versions then need a keyframe). Off by default; a fork starts without it.
  void enable_journal(std::size_t entries = 1u << 20);

  // ---- checkpoints --------------------------------------------------------------------------
  // The whole state as bytes (docs/api.md "Checkpoints": versioned binary format with the model
  // and options fingerprints). restore() needs the same model and options; else an Error names
  // what differs. A restored simulation run on to t writes the same outputs as one run straight.
  std::string save() const;
  static model::Result<Simulation> restore(const model::Model& model, Options options,
                                           std::string_view bytes);
  // A checkpoint continued under a changed model and options (a what-if from a warm state): the
  // model must keep the state's tables (same calendars, steps, orders, routes; tool counts may
  // differ; no calendar-cloning availability delta), else an Error ("the state's tables do not
  // fit the model"). A group's k-th saved tool is its k-th tool; added tools start up and idle now,
  // their calendars from now; a dropped tool's lots wait in their queues again (docs/api.md).
  // What is already scheduled stays (a job's end, the next release,
  // a drawn failure); draws from now on use the new model, options and options.seed; the warm-up
  // end becomes options.warmup (statistics restart then; none if it lies before the checkpoint's
  // time, or at it when the saved run's warm-up ended there already). Only
  // wip_sample_interval must equal the saved one.
  static model::Result<Simulation> restore_changed(const model::Model& model, Options options,
                                                   std::string_view bytes);
  // The options a checkpoint was saved with (rules: the built-in registry), without restoring it.
  static model::Result<Options> checkpoint_options(std::string_view bytes);
  std::uint64_t model_fingerprint() const;

  void add_observer(Observer* observer);  // not owned; must outlive the run
  void remove_observer(Observer* observer);

  const model::Model& model() const;
  const Options& options() const;

  // KPIs of everything up to now (see stats.hpp for what each figure counts).
  Kpis kpis() const;
  const SharedLog<CompletedLot>& completed_lots() const;  // in completion order; shared by forks
  const SharedLog<WipSample>& wip_samples() const;        // one per sample interval; shared by forks

  // Live counts.
  std::size_t lots_in_fab() const;
  std::size_t queue_length(model::ToolGroupId group) const;
  ToolState tool_state(model::ToolId tool) const;
  std::string pm_calendar(model::ToolId tool) const;  // the PM calendar running on it ("" when none)

 private:
  struct Impl;
  explicit Simulation(std::unique_ptr<Impl> impl);
  static model::Result<Simulation> restore_impl(const model::Model& model, Options options,
                                                std::string_view bytes, bool changed);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabtwin::des
