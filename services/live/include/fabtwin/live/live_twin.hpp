#pragma once
// live::LiveTwin: the live twin of docs LIVE-TWIN.md ("Durability"): one des::Simulation (follow
// or autonomous, journal on) behind a twin::Ledger, with every event stored in a live::Store
// before it is acknowledged. Thread-safe: ingest, advance_to and checkpoints take the write lock;
// read(), version() and now() a shared one.
//   ingest: ledger.apply each event (applied / late / duplicate / refused), then ONE commit of
//   the rows (duplicates not stored) and the lot steps they produced; outcomes are returned only
//   after the commit. A failed commit rebuilds the twin from the store and returns an Error:
//   nothing acknowledged, nothing half-applied.
//   open: a new store gives a fresh twin; an existing one is recovered: the newest checkpoint,
//   then every stored event after it in seq order (each run to its stored applied_at first, so a
//   late event is late again), then the duplicates counted since: the same state, journal version
//   and view() as when the last commit returned. Clock advances (advance_to) that no event or
//   checkpoint followed are not stored: recovery ends at the last event or checkpoint.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/live/store.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/params.hpp"

namespace fabtwin::live {

class YieldRecorder;

struct LiveOptions {
  des::Options sim;                                // seed, rule, mode (Follow: the live twin)
  std::string db_path = "fabtwin.db";              // the store (created if missing)
  std::uint64_t checkpoint_every_events = 50'000;  // stored events between checkpoints; 0: never by count
  double checkpoint_every_s = 300;                 // wall seconds between checkpoints; 0: never by time
  std::size_t checkpoints_kept = 3;                // newest K kept (at least 1)
  std::size_t journal_entries = 1u << 20;          // des::Simulation::enable_journal
  bool checkpoint_at_close = true;                 // false: the destructor writes none (a crash, for tests)
  // Yield records (docs/yield.md "Yield records"): the defect model and Monte Carlo run for every
  // lot the twin completes, the records stored with the commit that completed it. nullopt: none.
  std::optional<yield::YieldParams> yield;
};

// What open() did.
struct Recovery {
  bool created = false;                         // a new store
  std::optional<std::uint64_t> checkpoint_seq;  // the checkpoint it started from
  std::uint64_t events_replayed = 0;            // stored events after it
  std::uint64_t ids_loaded = 0;                 // ids seeding the duplicate check
  std::uint64_t duplicates = 0;                 // duplicates counted again after the events
  std::uint64_t outcome_mismatches =
      0;  // stored events whose outcome differs now (0 unless the engine changed)
  double wall_s = 0;
};

class LiveTwin {
 public:
  // Creates or recovers the twin of `model` over options.db_path. Fails (an Error) on a bad
  // rule, a store that cannot be opened or belongs to another model/options, or a checkpoint or
  // stored event that cannot be read back.
  static model::Result<std::unique_ptr<LiveTwin>> open(const model::Model& model, LiveOptions options);
  ~LiveTwin();  // writes a checkpoint if anything changed since the last one (checkpoint_at_close)
  LiveTwin(const LiveTwin&) = delete;
  LiveTwin& operator=(const LiveTwin&) = delete;

  // Applies and stores the events (one group commit); outcomes in input order, returned only
  // once durable. Error: the commit failed (the twin is rebuilt from the store; nothing of the
  // batch is acknowledged) or the twin is broken (a rebuild failed; every later call fails).
  model::Result<std::vector<twin::EventOutcome>> ingest(std::span<const des::Event> events);
  // Runs the clock to `t` (autonomous: simulates up to it); nothing if t <= now().
  void advance_to(model::SimTime t);
  // Writes a checkpoint now (the state, and lot steps the clock produced since the last commit).
  model::Result<std::uint64_t> checkpoint_now();

  // f(const des::Simulation&) under the shared lock; returns what f returns.
  template <class F>
  auto read(F&& f) const {
    std::shared_lock lock(mutex_);
    return std::forward<F>(f)(static_cast<const des::Simulation&>(*sim_));
  }
  std::uint64_t version() const;
  model::SimTime now() const;

  // The store (its calls are serialised; export_events reads a snapshot of its own).
  const Store& store() const { return *store_; }
  // Writable for the server's WhatIfService (its whatif_jobs table only; events and checkpoints
  // are the twin's to write).
  Store& store() { return *store_; }
  const Recovery& recovery() const { return recovery_; }
  // The last checkpoint that could not be written ("" when the last one was): ingest goes on.
  std::string last_checkpoint_error() const;
  const LiveOptions& options() const { return options_; }
  // The die grid of each product (by ProductId index) when yield is recorded; empty otherwise.
  const std::vector<yield::DieGrid>& yield_grids() const { return yield_grids_; }
  const model::Model& model() const { return model_; }
  // Tests only: the next `n` commits fail.
  void inject_commit_failures(int n) { store_->inject_commit_failures(n); }

 private:
  class StepCollector;
  LiveTwin(const model::Model& model, LiveOptions options);
  model::Result<bool> recover();  // (re)builds sim_, ledger_, seen_ from the store
  model::Result<std::uint64_t> checkpoint_locked();
  void maybe_checkpoint_locked();

  model::Model model_;
  LiveOptions options_;
  std::optional<Store> store_;
  std::unique_ptr<des::Simulation> sim_;
  std::unique_ptr<twin::Ledger> ledger_;
  std::unique_ptr<StepCollector> steps_;
  std::unique_ptr<YieldRecorder> yield_;  // when options_.yield is set
  std::vector<yield::DieGrid> yield_grids_;
  std::unordered_set<std::string> seen_;  // ids stored before the checkpoint recovery started from
  Recovery recovery_;
  std::uint64_t events_since_checkpoint_ = 0;
  std::uint64_t version_at_checkpoint_ = 0;  // the state the newest checkpoint holds (close skips
  std::int64_t time_at_checkpoint_ = -1;     // writing an equal one)
  std::string checkpoint_error_;
  std::chrono::steady_clock::time_point last_checkpoint_;
  bool broken_ = false;
  mutable std::shared_mutex mutex_;
};

}  // namespace fabtwin::live
