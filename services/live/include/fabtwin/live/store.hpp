#pragma once
// live::Store: the live twin's history in one SQLite file (docs/operations.md "Store schema"):
// every ingested event with its outcome (duplicates are acknowledged, counted, never stored again),
// periodic engine checkpoints and the lot histories (the view lot_steps). WAL journal, synchronous=FULL (a
// commit that returned survives a crash or power cut), busy timeout 5 s. One writer: the LiveTwin
// that owns it (and the server's WhatIfService, for its table of finished jobs only). Every call is
// serialised by an internal mutex. Errors are values naming the file.
#include <array>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "fabtwin/yield/commonality.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::live {

// meta.schema_version this build writes; it reads 1 to 3 too (and migrates them to 4 when it opens
// them for writing). 2: lot steps go to lot_steps_recent and move to lot_steps_indexed at
// checkpoints. 3: yield records (yield_lots, yield_wafers, the per-day aggregates yield_agg) and
// checkpoints.yield_state. 4: finished what-if jobs (whatif_jobs).
inline constexpr int kSchemaVersion = 4;

// Days per block of the yield aggregates (yield_agg.span), largest first: a day range is summed
// from at most a few blocks of each size.
inline constexpr std::int64_t kYieldAggSpans[] = {256, 64, 16, 4, 1};
inline constexpr std::int64_t kMsPerDay = 86'400'000;
// yield_agg.product of the tool rows summed over every product (a summary by tool without a
// product filter reads these: half the rows of a two-product fab).
inline constexpr std::uint32_t kYieldAggAllProducts = 0xFFFF'FFFFu;

// What a store belongs to, written to `meta` at creation and checked at every open: another
// model (fingerprint) or other options make open() fail, naming the key and both values.
struct StoreIdentity {
  std::string model_name;
  std::uint64_t model_fingerprint = 0;                       // des::Simulation::model_fingerprint()
  std::vector<std::pair<std::string, std::string>> options;  // (key, value): seed, rule, mode, ...
};

// One stored event. Every event that is not a duplicate gets a row, refused ones included.
struct EventRow {
  std::string id;                                  // "" is stored as NULL (no duplicate check for it)
  std::int64_t stamp_ms = 0;                       // the event's own time (model ms)
  std::int64_t applied_at_ms = 0;                  // the twin's time once applied or refused (model ms)
  std::int64_t received_unix_ms = 0;               // wall clock at ingest (unix ms)
  std::string kind;                                // des::to_string(EventKind): "track_in", ...
  std::string payload;                             // the event as one JSON line (twin::event_to_json)
  twin::Outcome outcome = twin::Outcome::Applied;  // Applied, Late or Refused (never Duplicate)
  std::string reason, field, message;              // Refused only: the refusal
};

struct StoredEvent {
  std::uint64_t seq = 0;  // 1, 2, ... in arrival order
  EventRow row;
};

// One performed step of a lot (a track-out), for lot histories and yield commonality.
struct LotStepRow {
  std::string lot, product, route;
  std::uint32_t step = 0;  // step number on the route
  std::string tool;
  std::int64_t track_in_ms = 0;   // tool began (setup/load), model ms
  std::int64_t track_out_ms = 0;  // unloaded, model ms
  std::uint32_t wafers = 0;
  std::uint64_t seq = 0;  // the event that produced it (autonomous mode: the last event stored before it)
};

// One wafer of a yield record.
struct YieldWaferRow {
  std::uint32_t dies = 0, pass = 0;
  std::array<std::uint32_t, yield::kBinCount> bins{};  // dies per bin (bins[0] == pass)
  std::vector<std::uint8_t> map;                       // bin of each die, in the product's DieGrid order
};

// The yield record of one completed lot (docs/yield.md "Yield records"): its history and the
// Monte Carlo's wafers. Products, routes, steps and tools are model indices (a store belongs to
// one model).
struct YieldLotRow {
  std::string lot;
  std::uint32_t product = 0, route = 0;
  std::int64_t released_ms = 0, completed_ms = 0;
  std::vector<yield::StepTool> history;  // (global step, tool) of each recorded step, in order
  std::vector<YieldWaferRow> wafers;     // wafer 1, 2, ...
};

// What one group commit writes: all of it or nothing.
struct Batch {
  std::vector<EventRow> events;  // get seq last_seq()+1, +2, ... in order
  std::vector<LotStepRow> steps;
  std::vector<YieldLotRow> yield;  // yield records of the lots these events (or the clock) completed
  std::uint64_t duplicates = 0;    // duplicates acknowledged in this batch (added to meta.duplicates)
};

struct Checkpoint {
  std::uint64_t seq = 0;             // the last event seq it includes (0: none)
  std::uint64_t version = 0;         // the twin's journal version
  std::int64_t sim_time_ms = 0;      // the twin's time
  std::int64_t created_unix_ms = 0;  // wall clock when written
  std::string state;                 // des::Simulation::save()
  std::string yield_state;           // the yield recorder's state ("" : none; schema 3)
};

// A finished what-if job of the server's WhatIfService (schema 4): kept across restarts.
struct WhatIfJobRow {
  std::string id;            // "job-<number>"
  std::uint64_t number = 0;  // ids continue after the largest stored number
  std::string state;         // "done", "failed" or "cancelled"
  std::string message;       // why it failed or was cancelled ("" when done)
  std::string name;          // the spec's "name" ("" when it has none)
  std::int64_t submitted_unix_ms = 0, finished_unix_ms = 0;
  double total_days = 0;  // the batch's simulated days (its progress total)
  std::string spec;       // the submitted spec JSON
  std::string results;    // opaque to the store (the service's serialised results); "" unless done
};

struct StoreCounts {
  std::uint64_t events = 0;                          // rows in `events`
  std::uint64_t applied = 0, late = 0, refused = 0;  // rows by outcome (applied: on time only)
  std::uint64_t duplicates = 0;                      // acknowledged as duplicates (meta.duplicates)
  std::uint64_t checkpoints = 0, lot_steps = 0;
  std::uint64_t yield_lots = 0, yield_wafers = 0;
  std::uint64_t whatif_jobs = 0;
  std::uint64_t last_seq = 0;
  std::optional<std::uint64_t> newest_checkpoint_seq;
};

class Store {
 public:
  // Opens the store at `path`, creating it (and its schema) if the file is missing or empty.
  // Fails (the file untouched) if it is not SQLite, not a fabtwin store, of another schema
  // version, or belongs to another model or options than `identity`.
  static model::Result<Store> open(const std::string& path, const StoreIdentity& identity);
  // Opens an existing store whatever its model (for `fabtwin store info/export`); checks the
  // schema version only. read_only: no write is possible (the file is never changed).
  static model::Result<Store> open_existing(const std::string& path, bool read_only = true);

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const std::string& path() const;
  // The meta table as (key, value) pairs, by key.
  std::vector<std::pair<std::string, std::string>> meta() const;
  std::optional<std::string> meta_value(std::string_view key) const;

  // Writes the batch in ONE transaction (group commit). Returns the last seq after it. On an
  // Error nothing of the batch is stored.
  model::Result<std::uint64_t> append(const Batch& batch);
  std::uint64_t last_seq() const;  // 0: no events

  // Calls f(id) for the id of every stored event (NULL ids skipped); returns how many.
  model::Result<std::uint64_t> all_ids(const std::function<void(std::string_view)>& f) const;
  // Calls f for every event with seq > `seq`, in seq order; returns how many.
  model::Result<std::uint64_t> events_after(std::uint64_t seq,
                                            const std::function<void(const StoredEvent&)>& f) const;
  model::Result<std::optional<Checkpoint>> newest_checkpoint() const;
  // Writes the checkpoint, `steps` (lot steps not yet stored) and `yield` (yield records not yet
  // stored) in one transaction; keeps the newest `kept` checkpoints (at least 1).
  model::Result<std::uint64_t> write_checkpoint(const Checkpoint& c, std::span<const LotStepRow> steps = {},
                                                std::size_t kept = 3,
                                                std::span<const YieldLotRow> yield = {});
  // The stored payloads as JSON lines, in seq order (refused included, duplicates never stored):
  // a twin::replay of them reproduces the twin. Read through a second connection (a snapshot),
  // so it does not hold up the writer. Returns the number of lines.
  model::Result<std::uint64_t> export_events(std::ostream& out) const;
  model::Result<StoreCounts> counts() const;

  // What-if jobs (schema 4). Stores a finished job (replacing one of the same id) and keeps the
  // newest `kept` by number, in one transaction.
  model::Result<bool> put_whatif_job(const WhatIfJobRow& job, std::size_t kept);
  // The stored job of that id (nullopt: none; a store of schema < 4 has none).
  model::Result<std::optional<WhatIfJobRow>> whatif_job(std::string_view id) const;
  // The largest stored job number (0: none).
  model::Result<std::uint64_t> whatif_job_max_number() const;
  // The newest `limit` stored jobs by number, newest first, without their spec and results.
  model::Result<std::vector<WhatIfJobRow>> whatif_jobs(std::size_t limit) const;

  // Tests only: the next `n` commits fail (rolled back) with an "injected fault" Error.
  void inject_commit_failures(int n);

 private:
  struct Impl;
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabtwin::live
