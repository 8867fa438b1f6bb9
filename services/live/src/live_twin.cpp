// The live twin: simulation + ledger + store (live_twin.hpp; LIVE-TWIN.md "Durability").
#include "fabtwin/live/live_twin.hpp"

#include <chrono>

#include "fabtwin/twin/event_json.hpp"
#include "yield_recorder.hpp"

namespace fabtwin::live {

namespace {

std::int64_t ms(model::SimTime t) { return t.time_since_epoch().count(); }

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The options a store is bound to (meta rows): what makes a replay of its events give this twin.
std::vector<std::pair<std::string, std::string>> option_rows(const des::Options& o) {
  std::string group_rules;
  for (const auto& [g, r] : o.group_rules) group_rules += (group_rules.empty() ? "" : ",") + g + "=" + r;
  return {{"seed", std::to_string(o.seed)},
          {"rule", o.rule},
          {"mode", std::string(des::to_string(o.mode))},
          {"group_rules", group_rules},
          {"warmup_ms", std::to_string(o.warmup.count())},
          {"wip_sample_interval_ms", std::to_string(o.wip_sample_interval.count())},
          {"count_initial_wip", o.count_initial_wip ? "1" : "0"}};
}

model::Error with_context(const model::Error& e, const std::string& what) {
  model::Error out = e;
  out.message = what + ": " + e.message;
  return out;
}

}  // namespace

// Lot steps (track-outs) as store rows; they wait here until the next commit.
class LiveTwin::StepCollector final : public des::Observer {
 public:
  explicit StepCollector(const model::Model& m) : model_(&m) {}
  void on_step(const des::StepRecord& r) override {
    const model::Step& step = model_->step(r.step);
    rows.push_back({std::string(r.name), model_->product(r.product).name, model_->route(step.route).name,
                    step.number, model_->tool(r.tool).name, ms(r.started), ms(r.finished), r.wafers, seq});
  }
  std::vector<LotStepRow> rows;
  std::uint64_t seq = 0;  // the seq the rows get (the event being applied, or the last stored)

 private:
  const model::Model* model_;
};

LiveTwin::LiveTwin(const model::Model& model, LiveOptions options)
    : model_(model), options_(std::move(options)), steps_(std::make_unique<StepCollector>(model_)) {}

LiveTwin::~LiveTwin() {
  std::unique_lock lock(mutex_);
  if (!sim_) return;
  if (!broken_ && options_.checkpoint_at_close &&
      (sim_->version() != version_at_checkpoint_ || ms(sim_->now()) != time_at_checkpoint_ ||
       !steps_->rows.empty() || (yield_ && !yield_->rows.empty())))
    (void)checkpoint_locked();
  sim_->remove_observer(steps_.get());
  if (yield_) sim_->remove_observer(yield_.get());
}

model::Result<std::unique_ptr<LiveTwin>> LiveTwin::open(const model::Model& model, LiveOptions options) {
  auto probe = des::Simulation::create(model, options.sim);
  if (!probe.ok()) return probe.error();
  StoreIdentity id{model.name(), probe->model_fingerprint(), option_rows(options.sim)};
  auto store = Store::open(options.db_path, id);
  if (!store.ok()) return store.error();
  std::unique_ptr<LiveTwin> t(new LiveTwin(model, std::move(options)));
  if (t->options_.yield) {
    auto rec = YieldRecorder::make(t->model_, *t->options_.yield);
    if (!rec.ok()) return with_context(rec.error(), "yield parameters");
    t->yield_ = std::move(rec.value());
    t->yield_grids_ = t->yield_->grids();
  }
  t->store_.emplace(std::move(store.value()));
  if (auto r = t->recover(); !r.ok()) return r.error();
  return t;
}

model::Result<bool> LiveTwin::recover() {
  // Built aside and swapped in once complete: a failed rebuild leaves the old twin readable and
  // the live twin broken (no checkpoint of a half-rebuilt state, no ingest).
  const auto t0 = std::chrono::steady_clock::now();
  broken_ = true;
  Recovery rec;
  auto cp = store_->newest_checkpoint();
  if (!cp.ok()) return cp.error();
  const std::uint64_t from = cp.value() ? cp.value()->seq : 0;
  auto created = cp.value() ? des::Simulation::restore(model_, options_.sim, cp.value()->state)
                            : des::Simulation::create(model_, options_.sim);
  if (!created.ok())
    return with_context(created.error(), "store '" + store_->path() + "': cannot restore checkpoint seq " +
                                             std::to_string(from));
  auto sim = std::make_unique<des::Simulation>(std::move(created.value()));
  auto ledger = std::make_unique<twin::Ledger>(*sim);
  // The yield recorder follows the replay from the checkpoint's state (its records of lots the
  // replay completes are in the store already: dropped).
  if (yield_) {
    if (sim_) sim_->remove_observer(yield_.get());
    if (auto r = yield_->restore(cp.value() ? cp.value()->yield_state : std::string()); !r.ok())
      return with_context(r.error(),
                          "store '" + store_->path() + "': checkpoint seq " + std::to_string(from));
    yield_->replaying = true;
    sim->add_observer(yield_.get());
  }
  rec.created = store_->last_seq() == 0 && !cp.value();
  if (cp.value()) rec.checkpoint_seq = from;

  // Every stored id is a duplicate from now on; those after the checkpoint also pass the ledger.
  std::unordered_set<std::string> seen;
  auto ids = store_->all_ids([&](std::string_view id) { seen.emplace(id); });
  if (!ids.ok()) return ids.error();
  rec.ids_loaded = ids.value();

  // The events after the checkpoint, each at the time it was applied at (a late one is late again).
  const std::int64_t epoch = model_.data().epoch_unix_s;
  std::optional<model::Error> failed;
  auto n = store_->events_after(from, [&](const StoredEvent& s) {
    if (failed) return;
    auto e = twin::parse_event_json(s.row.payload, epoch, static_cast<int>(s.seq), store_->path());
    if (!e.ok()) {
      failed = with_context(e.error(), "stored event seq " + std::to_string(s.seq));
      return;
    }
    if (s.row.applied_at_ms > ms(sim->now()))
      sim->run_until(model::SimTime{model::Duration{s.row.applied_at_ms}});
    const twin::EventOutcome o = ledger->apply(e.value());
    if (o.outcome != s.row.outcome) ++rec.outcome_mismatches;
  });
  if (yield_) yield_->replaying = false;
  if (!n.ok()) return n.error();
  if (failed) return *failed;
  rec.events_replayed = n.value();

  // Duplicates are not stored, only counted (meta.duplicates); those after the checkpoint again.
  const auto stored_dups = store_->meta_value("duplicates");
  const std::uint64_t total = stored_dups ? std::stoull(*stored_dups) : 0;
  for (std::uint64_t d = sim->event_counts().duplicate; d < total; ++d, ++rec.duplicates)
    sim->count_duplicate();

  if (sim_) sim_->remove_observer(steps_.get());
  ledger_ = std::move(ledger);  // (the old ledger pointed at the old simulation)
  sim_ = std::move(sim);
  seen_ = std::move(seen);
  sim_->enable_journal(options_.journal_entries);
  sim_->add_observer(steps_.get());
  steps_->rows.clear();
  if (yield_) yield_->rows.clear();
  steps_->seq = store_->last_seq();
  events_since_checkpoint_ = rec.events_replayed;
  version_at_checkpoint_ = cp.value() ? cp.value()->version : UINT64_MAX;
  time_at_checkpoint_ = cp.value() ? cp.value()->sim_time_ms : -1;
  // A checkpoint restored and nothing after it: the checkpoint is what close would write.
  if (cp.value() && n.value() == 0 && rec.duplicates == 0) version_at_checkpoint_ = sim_->version();
  last_checkpoint_ = std::chrono::steady_clock::now();
  rec.wall_s = std::chrono::duration<double>(last_checkpoint_ - t0).count();
  recovery_ = rec;
  broken_ = false;
  return true;
}

model::Result<std::vector<twin::EventOutcome>> LiveTwin::ingest(std::span<const des::Event> events) {
  std::unique_lock lock(mutex_);
  if (broken_)
    return model::Error{store_->path(), 0, "",
                        "the live twin could not be rebuilt after a failed commit; restart it"};
  std::vector<twin::EventOutcome> outcomes;
  if (events.empty()) return outcomes;
  outcomes.reserve(events.size());
  Batch batch;
  batch.events.reserve(events.size());
  const std::int64_t epoch = model_.data().epoch_unix_s;
  const std::int64_t received = unix_ms_now();
  std::uint64_t seq = store_->last_seq();
  // A fault while applying (an exception) or committing: nothing acknowledged, the twin rebuilt.
  const auto rebuild = [&](model::Error e) {
    e.message += " (batch of " + std::to_string(events.size()) +
                 " events not acknowledged; the twin was rebuilt from the store)";
    if (auto r = recover(); !r.ok()) e.message += "; the rebuild failed too: " + r.error().what();
    return e;
  };
  try {
    for (const des::Event& e : events) {
      if (!e.id.empty() && seen_.count(e.id)) {  // stored before the twin was (re)opened
        sim_->count_duplicate();
        ++batch.duplicates;
        outcomes.push_back({twin::Outcome::Duplicate, std::nullopt});
        continue;
      }
      steps_->seq = seq + 1;
      twin::EventOutcome o = ledger_->apply(e);
      if (o.outcome == twin::Outcome::Duplicate) {
        ++batch.duplicates;
        outcomes.push_back(std::move(o));
        continue;
      }
      ++seq;
      EventRow& row = batch.events.emplace_back();
      row.id = e.id;
      row.stamp_ms = ms(e.time);
      row.applied_at_ms = ms(sim_->now());
      row.received_unix_ms = received;
      row.kind = des::to_string(e.kind);
      twin::append_event_json(row.payload, e, epoch);
      row.outcome = o.outcome;
      if (o.refusal) {
        row.reason = des::to_string(o.refusal->reason);
        row.field = o.refusal->field;
        row.message = o.refusal->message;
      }
      outcomes.push_back(std::move(o));
    }
  } catch (const std::exception& x) {
    return rebuild(
        model::Error{store_->path(), 0, "", std::string("applying the batch failed: ") + x.what()});
  }
  steps_->seq = seq;
  batch.steps = std::move(steps_->rows);
  steps_->rows.clear();
  if (yield_) {
    batch.yield = std::move(yield_->rows);
    yield_->rows.clear();
  }
  auto committed = store_->append(batch);
  if (!committed.ok()) return rebuild(committed.error());  // nothing of the batch is stored
  events_since_checkpoint_ += batch.events.size();
  maybe_checkpoint_locked();
  return outcomes;
}

void LiveTwin::advance_to(model::SimTime t) {
  std::unique_lock lock(mutex_);
  if (broken_ || t <= sim_->now()) return;
  steps_->seq = store_->last_seq();
  sim_->run_until(t);
  maybe_checkpoint_locked();
}

model::Result<std::uint64_t> LiveTwin::checkpoint_now() {
  std::unique_lock lock(mutex_);
  if (broken_) return model::Error{store_->path(), 0, "", "the live twin is broken; restart it"};
  return checkpoint_locked();
}

model::Result<std::uint64_t> LiveTwin::checkpoint_locked() {
  Checkpoint c;
  c.seq = store_->last_seq();
  c.version = sim_->version();
  c.sim_time_ms = ms(sim_->now());
  c.created_unix_ms = unix_ms_now();
  c.state = sim_->save();
  if (yield_) c.yield_state = yield_->save();
  auto w = store_->write_checkpoint(
      c, steps_->rows, options_.checkpoints_kept,
      yield_ ? std::span<const YieldLotRow>(yield_->rows) : std::span<const YieldLotRow>());
  if (!w.ok()) {
    checkpoint_error_ = w.error().what();
    return w.error();
  }
  checkpoint_error_.clear();
  steps_->rows.clear();
  if (yield_) yield_->rows.clear();
  events_since_checkpoint_ = 0;
  version_at_checkpoint_ = c.version;
  time_at_checkpoint_ = c.sim_time_ms;
  last_checkpoint_ = std::chrono::steady_clock::now();
  return w;
}

void LiveTwin::maybe_checkpoint_locked() {
  const bool by_count =
      options_.checkpoint_every_events > 0 && events_since_checkpoint_ >= options_.checkpoint_every_events;
  const bool by_time =
      options_.checkpoint_every_s > 0 &&
      std::chrono::duration<double>(std::chrono::steady_clock::now() - last_checkpoint_).count() >=
          options_.checkpoint_every_s;
  if (by_count || by_time) (void)checkpoint_locked();
}

std::uint64_t LiveTwin::version() const {
  std::shared_lock lock(mutex_);
  return sim_->version();
}

model::SimTime LiveTwin::now() const {
  std::shared_lock lock(mutex_);
  return sim_->now();
}

std::string LiveTwin::last_checkpoint_error() const {
  std::shared_lock lock(mutex_);
  return checkpoint_error_;
}

}  // namespace fabtwin::live
