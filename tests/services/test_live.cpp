// The live twin over its SQLite store: every acknowledged event stored once with its outcome, a
// reopened twin equal to the one that was closed (or crashed), a store that is not ours refused
// untouched, a failed commit acknowledged nothing. Real SQLite files in a temporary folder; the
// mini-fab's emulator is the event source.
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/live/store.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/replay.hpp"
#include "fabtwin/twin/state_file.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using des::Event;
using des::EventKind;
using live::LiveOptions;
using live::LiveTwin;
namespace fs = std::filesystem;

namespace {

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("fabtwin_live") {}
};

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

// The mini-fab's emulated events over `days` (ids e1, e2, ...).
const std::vector<Event>& emulated(double days = 4) {
  static std::map<double, std::vector<Event>> cache;
  auto& v = cache[days];
  if (!v.empty()) return v;
  std::ostringstream out;
  auto r = twin::emulate(minifab(), {.sim = {.seed = 1}, .days = days}, out);
  REQUIRE(r.ok());
  std::istringstream in(out.str());
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    auto e = twin::parse_event_json(line, minifab().data().epoch_unix_s, ++n);
    REQUIRE(e.ok());
    v.push_back(std::move(e.value()));
  }
  REQUIRE(v.size() > 500);
  return v;
}

LiveOptions follow_options(const std::string& db) {
  LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db;
  o.checkpoint_every_s = 0;  // only by count, so a test decides where checkpoints are
  return o;
}

std::unique_ptr<LiveTwin> open_twin(const LiveOptions& o) {
  auto t = LiveTwin::open(minifab(), o);
  if (!t.ok()) FAIL(t.error().what());
  return std::move(t.value());
}

// Ingests events [from, to) in batches of `batch`; every outcome is returned.
std::vector<twin::EventOutcome> ingest(LiveTwin& t, std::span<const Event> events, std::size_t batch = 64) {
  std::vector<twin::EventOutcome> all;
  for (std::size_t i = 0; i < events.size(); i += batch) {
    auto r = t.ingest(events.subspan(i, std::min(batch, events.size() - i)));
    if (!r.ok()) FAIL(r.error().what());
    all.insert(all.end(), r->begin(), r->end());
  }
  return all;
}

std::string read_bytes(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Runs SQL on the file directly (a second connection, as an operator's sqlite3 would).
void sql(const std::string& file, const std::string& statement) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  char* msg = nullptr;
  const int rc = sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &msg);
  const std::string m = msg ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  INFO(m);
  REQUIRE(rc == SQLITE_OK);
}

// The values of column `column` of every row `query` gives, as text.
std::vector<std::string> sql_column(const std::string& file, const std::string& query, int column = 0) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(file.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, query.c_str(), -1, &s, nullptr) == SQLITE_OK);
  std::vector<std::string> out;
  while (sqlite3_step(s) == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, column));
    out.emplace_back(p ? p : "<null>");
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

des::StateView view_of(const LiveTwin& t) {
  return t.read([](const des::Simulation& s) { return s.view(); });
}

std::size_t count_kind(std::span<const Event> events, EventKind k) {
  return static_cast<std::size_t>(
      std::count_if(events.begin(), events.end(), [&](const Event& e) { return e.kind == k; }));
}

// A track-out of a lot the fab does not have: refused (unknown lot).
Event refused_event(const std::string& id, model::SimTime t) {
  Event e;
  e.id = id;
  e.kind = EventKind::TrackOut;
  e.time = t;
  e.lots = {"no_such_lot"};
  e.tool = minifab().tools()[0].name;
  e.step = 1;
  return e;
}

}  // namespace

TEST_CASE("a new store holds the schema, the model and the options in meta, and the indexes", "[live]") {
  TempDir dir;
  const std::string db = dir.file("twin.db");
  std::uint64_t fingerprint = 0;
  {
    auto t = open_twin(follow_options(db));
    CHECK(t->recovery().created);
    fingerprint = t->read([](const des::Simulation& s) { return s.model_fingerprint(); });
    const auto& store = t->store();
    CHECK(store.meta_value("schema_version") == std::to_string(live::kSchemaVersion));
    CHECK(store.meta_value("model_name") == minifab().name());
    CHECK(store.meta_value("model_fingerprint") == std::to_string(fingerprint));
    CHECK(store.meta_value("seed") == "1");
    CHECK(store.meta_value("mode") == "follow");
    CHECK(store.meta_value("rule") == "");
    CHECK(store.meta_value("duplicates") == "0");
    CHECK(store.meta_value("created_at").value_or("").size() == 20);  // 2024-01-02T03:04:05Z
  }
  CHECK(sql_column(db, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
  CHECK(sql_column(db,
                   "SELECT type || ' ' || name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY "
                   "name") == std::vector<std::string>{"table checkpoints", "table events", "view lot_steps",
                                                       "table lot_steps_indexed", "table lot_steps_recent",
                                                       "table meta", "table whatif_jobs", "table yield_agg",
                                                       "table yield_lots", "table yield_wafers"});
  const auto indexes =
      sql_column(db, "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name");
  CHECK(indexes == std::vector<std::string>{
                       "CREATE INDEX lot_steps_lot ON lot_steps_indexed(lot)",
                       "CREATE INDEX lot_steps_step_tool ON lot_steps_indexed(step, tool)",
                       "CREATE INDEX lot_steps_tool_out ON lot_steps_indexed(tool, track_out)",
                       "CREATE INDEX yield_lots_completed ON yield_lots(completed)",
                       "CREATE INDEX yield_lots_lot ON yield_lots(lot)",
                       "CREATE INDEX yield_lots_product_completed ON yield_lots(product, completed)"});
  // Clean close wrote a checkpoint of the fresh twin; reopening checks the meta and recovers it.
  auto again = open_twin(follow_options(db));
  CHECK_FALSE(again->recovery().created);
  CHECK(again->recovery().checkpoint_seq == std::uint64_t{0});
}

TEST_CASE("a store of another schema version, model or options, or not SQLite, is refused and left as it was",
          "[live]") {
  TempDir dir;
  const std::string db = dir.file("twin.db");
  { open_twin(follow_options(db)); }

  SECTION("another schema version") {
    sql(db, "UPDATE meta SET value = '9' WHERE key = 'schema_version'");
    const std::string before = read_bytes(db);
    auto t = LiveTwin::open(minifab(), follow_options(db));
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().file == db);
    CHECK(t.error().field == "schema_version");
    CHECK_THAT(t.error().message, Catch::Contains("schema version 9") && Catch::Contains("versions 1 to 4"));
    CHECK(read_bytes(db) == before);
  }
  SECTION("another model") {
    model::ModelData data = minifab().data();
    data.name = "other_fab";
    data.steps[0].process_time.a *= 2;
    const model::Model other = model::Model::build(std::move(data)).value();
    const std::string before = read_bytes(db);
    auto t = LiveTwin::open(other, follow_options(db));
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().field == "model_fingerprint");
    CHECK_THAT(t.error().message, Catch::Contains(minifab().name()) && Catch::Contains("other_fab"));
    CHECK(read_bytes(db) == before);
  }
  SECTION("other options") {
    auto o = follow_options(db);
    o.sim.seed = 7;
    const std::string before = read_bytes(db);
    auto t = LiveTwin::open(minifab(), o);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().field == "seed");
    CHECK_THAT(t.error().message, Catch::Contains("'1'") && Catch::Contains("'7'"));
    CHECK(read_bytes(db) == before);
  }
  SECTION("a file that is not SQLite") {
    const std::string text = dir.file("notes.txt");
    std::ofstream(text) << "this is not a database, it is a text file of a few lines\n"
                        << std::string(200, 'x');
    const std::string before = read_bytes(text);
    auto o = follow_options(text);
    auto t = LiveTwin::open(minifab(), o);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().file == text);
    CHECK_THAT(t.error().message, Catch::Contains("not a SQLite database"));
    CHECK(read_bytes(text) == before);
    CHECK_FALSE(live::Store::open_existing(text).ok());
  }
  SECTION("a SQLite database that is not a store") {
    const std::string other = dir.file("other.db");
    sql(other, "CREATE TABLE t(x)");
    const std::string before = read_bytes(other);
    auto t = LiveTwin::open(minifab(), follow_options(other));
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().field == "meta");
    CHECK(read_bytes(other) == before);
  }
}

TEST_CASE("ingest stores every event once with its outcome, and the lot steps of its track-outs", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto t = open_twin(follow_options(dir.file("twin.db")));
  const auto outcomes = ingest(*t, events, 100);
  REQUIRE(outcomes.size() == events.size());
  for (const auto& o : outcomes) CHECK(o.applied());
  const auto c = t->store().counts().value();
  CHECK(c.events == events.size());
  CHECK(c.applied + c.late == events.size());
  CHECK(c.refused == 0);
  CHECK(c.duplicates == 0);
  CHECK(c.last_seq == events.size());
  CHECK(c.lot_steps == count_kind(events, EventKind::TrackOut));
  // The rows keep the events in arrival order with their ids, kinds and JSON payloads.
  std::size_t i = 0;
  auto n = t->store().events_after(0, [&](const live::StoredEvent& s) {
    REQUIRE(i < events.size());
    CHECK(s.seq == i + 1);
    CHECK(s.row.id == events[i].id);
    CHECK(s.row.kind == des::to_string(events[i].kind));
    CHECK(s.row.stamp_ms == events[i].time.time_since_epoch().count());
    CHECK(s.row.payload == twin::event_to_json(events[i], minifab().data().epoch_unix_s));
    ++i;
  });
  CHECK(n.value() == events.size());
  // A lot step names the lot, its route step and tool as the track-out did.
  const auto first_out = std::find_if(events.begin(), events.end(),
                                      [](const Event& e) { return e.kind == EventKind::TrackOut; });
  const auto seq = std::to_string(first_out - events.begin() + 1);
  CHECK(sql_column(dir.file("twin.db"),
                   "SELECT lot || ' ' || step || ' ' || tool FROM lot_steps WHERE seq = " + seq) ==
        std::vector<std::string>{first_out->lots[0] + " " + std::to_string(first_out->step) + " " +
                                 first_out->tool});
}

TEST_CASE("a repeated id is a duplicate: acknowledged, counted, never applied or stored twice", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  const std::span<const Event> first(events.data(), 300);
  auto o = follow_options(dir.file("twin.db"));
  o.checkpoint_at_close = false;
  {
    auto t = open_twin(o);
    ingest(*t, first);
    const auto view = view_of(*t);
    // Again, in one batch with a repeat inside it.
    std::vector<Event> again(first.begin(), first.begin() + 20);
    again.push_back(first[0]);
    const auto r = t->ingest(again).value();
    for (const auto& x : r) CHECK(x.outcome == twin::Outcome::Duplicate);
    const auto after = view_of(*t);
    CHECK(after.tools == view.tools);
    CHECK(after.lots == view.lots);
    CHECK(after.counts.duplicate == 21);
    CHECK(t->store().counts()->events == 300);
    CHECK(t->store().counts()->duplicates == 21);
  }
  // After a restart the stored ids are still known.
  auto t = open_twin(o);
  const auto r = t->ingest(first.subspan(100, 5)).value();
  for (const auto& x : r) CHECK(x.outcome == twin::Outcome::Duplicate);
  CHECK(t->store().counts()->events == 300);
  CHECK(view_of(*t).counts.duplicate == 26);
}

TEST_CASE("a refused event is stored as refused with its reason, field and message", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto t = open_twin(follow_options(dir.file("twin.db")));
  ingest(*t, std::span<const Event>(events.data(), 50));
  const Event bad = refused_event("bad-1", events[49].time);
  const auto version = t->version();
  const auto r = t->ingest(std::span<const Event>(&bad, 1)).value();
  REQUIRE(r[0].outcome == twin::Outcome::Refused);
  CHECK(r[0].refusal->reason == des::RefuseReason::UnknownLot);
  CHECK(t->version() == version + 1);  // counted, nothing else changed
  std::optional<live::StoredEvent> stored;
  REQUIRE(t->store().events_after(50, [&](const live::StoredEvent& s) { stored = s; }).value() == 1);
  CHECK(stored->row.id == "bad-1");
  CHECK(stored->row.outcome == twin::Outcome::Refused);
  CHECK(stored->row.reason == "unknown_lot");
  CHECK(stored->row.field == r[0].refusal->field);
  CHECK(stored->row.message == r[0].refusal->message);
  CHECK(t->store().counts()->refused == 1);
}

TEST_CASE("a reopened twin has the view and version it had, with or without checkpoints", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  const std::size_t half = events.size() / 2;
  struct Case {
    const char* name;
    std::uint64_t every;  // checkpoint every N events (0: never)
    bool at_close;        // a clean close (checkpoint) or a crash
  };
  for (const Case c : {Case{"crash, no checkpoint", 0, false}, Case{"crash after checkpoints", 250, false},
                       Case{"clean close", 0, true}}) {
    DYNAMIC_SECTION(c.name) {
      auto o = follow_options(dir.file(std::string(c.name) + ".db"));
      o.checkpoint_every_events = c.every;
      o.checkpoint_at_close = c.at_close;
      des::StateView before;
      std::string state;
      {
        auto t = open_twin(o);
        ingest(*t, std::span<const Event>(events.data(), half), 64);
        // A late event (the clock was run ahead of it), duplicates and a refusal are state too.
        t->advance_to(events[half].time + model::Duration{60'000});
        ingest(*t, std::span<const Event>(events.data() + half, 40), 7);
        ingest(*t, std::span<const Event>(events.data() + 3, 5));
        const Event bad = refused_event("bad", events[half].time);
        ingest(*t, std::span<const Event>(&bad, 1));
        ingest(*t, std::span<const Event>(events.data() + half + 40, events.size() - half - 40), 256);
        CHECK(t->store().counts()->late > 0);
        before = view_of(*t);
        state = t->read([](const des::Simulation& s) { return twin::state_text(s); });
      }
      auto t = open_twin(o);
      const auto& rec = t->recovery();
      CHECK(rec.outcome_mismatches == 0);
      if (c.at_close) {
        CHECK(rec.events_replayed == 0);
      } else if (c.every) {
        REQUIRE(rec.checkpoint_seq.has_value());
        CHECK(rec.events_replayed < c.every + 256);
      } else {
        CHECK_FALSE(rec.checkpoint_seq.has_value());
        CHECK(rec.events_replayed == events.size() + 1);  // the 5 duplicates are not stored
      }
      const auto after = view_of(*t);
      CHECK(after.version == before.version);
      CHECK(after.counts == before.counts);
      CHECK(after.kpis == before.kpis);
      CHECK(after.now == before.now);
      CHECK(after == before);
      CHECK(t->read([](const des::Simulation& s) { return twin::state_text(s); }) == state);
      // It goes on as the first one would: the rest is refused as duplicates, new events apply.
      CHECK(t->ingest(std::span<const Event>(events.data(), 1))->front().outcome == twin::Outcome::Duplicate);
    }
  }
}

TEST_CASE("a replay of the exported events reproduces the live twin", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto t = open_twin(follow_options(dir.file("twin.db")));
  ingest(*t, events, 128);
  const Event bad = refused_event("refused-one", events.back().time);
  ingest(*t, std::span<const Event>(&bad, 1));
  ingest(*t, std::span<const Event>(events.data(), 10));  // duplicates: not exported
  std::stringstream out;
  REQUIRE(t->store().export_events(out).value() == events.size() + 1);
  auto r = twin::replay(minifab(), out);
  REQUIRE(r.ok());
  CHECK(r->report.events_read == events.size() + 1);
  CHECK(r->report.refused == 1);
  CHECK(r->report.duplicate == 0);
  CHECK(twin::state_text(r->sim) == t->read([](const des::Simulation& s) { return twin::state_text(s); }));
}

TEST_CASE("a failed commit acknowledges nothing and leaves the twin equal to the store", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto o = follow_options(dir.file("twin.db"));
  o.checkpoint_every_events = 200;
  auto t = open_twin(o);
  const std::size_t n = 500;
  ingest(*t, std::span<const Event>(events.data(), n));
  const auto before = view_of(*t);
  const auto counts = t->store().counts().value();
  t->inject_commit_failures(1);
  const std::span<const Event> next(events.data() + n, 100);
  auto r = t->ingest(next);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("not acknowledged") && Catch::Contains("injected fault"));
  CHECK(view_of(*t) == before);
  const auto after = t->store().counts().value();
  CHECK(after.events == counts.events);
  CHECK(after.lot_steps == counts.lot_steps);
  // The same batch again is new (nothing of it was kept), and the twin goes on as before.
  const auto again = t->ingest(next).value();
  for (const auto& x : again) CHECK(x.applied());
  CHECK(t->store().counts()->events == n + 100);
}

TEST_CASE("an autonomous twin reopens at its last checkpoint and runs on as it would have", "[live]") {
  TempDir dir;
  auto o = follow_options(dir.file("auto.db"));
  o.sim.mode = des::Mode::Autonomous;
  o.checkpoint_at_close = false;
  const model::SimTime day2{model::Duration{2 * 86'400'000LL}}, day3{model::Duration{3 * 86'400'000LL}};
  std::string at_day3;
  {
    auto t = open_twin(o);
    t->advance_to(day2);
    REQUIRE(t->checkpoint_now().ok());
    t->advance_to(day3);
    at_day3 = t->read([](const des::Simulation& s) { return twin::state_text(s); });
    CHECK(t->store().counts()->lot_steps > 0);
  }
  auto t = open_twin(o);
  CHECK(t->now() == day2);  // clock advances after the last checkpoint are not stored
  t->advance_to(day3);
  CHECK(t->read([](const des::Simulation& s) { return twin::state_text(s); }) == at_day3);
}

TEST_CASE("a store whose events cannot be read back fails to open, naming the event, and is not written",
          "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto o = follow_options(dir.file("twin.db"));
  o.checkpoint_at_close = false;
  { ingest(*open_twin(o), std::span<const Event>(events.data(), 100)); }
  sql(o.db_path, "UPDATE events SET payload = '{\"id\": \"e7\"' WHERE seq = 7");
  const std::string before = read_bytes(o.db_path);
  auto t = LiveTwin::open(minifab(), o);
  REQUIRE_FALSE(t.ok());
  CHECK_THAT(t.error().message, Catch::Contains("stored event seq 7"));
  CHECK(read_bytes(o.db_path) == before);  // no checkpoint of a half-recovered twin
  CHECK(live::Store::open_existing(o.db_path).value().counts()->checkpoints == 0);
}

TEST_CASE("readers see whole batches only while a writer ingests", "[live]") {
  TempDir dir;
  const auto& events = emulated();
  auto t = open_twin(follow_options(dir.file("twin.db")));
  const std::size_t batch = 50;
  // The version after each acknowledged batch: a reader must only ever see one of these.
  std::vector<std::uint64_t> acknowledged{t->version()};
  std::atomic<bool> done{false};
  std::vector<std::uint64_t> seen;
  std::thread reader([&] {
    while (!done.load()) seen.push_back(t->read([](const des::Simulation& s) { return s.view().version; }));
  });
  for (std::size_t i = 0; i < events.size(); i += batch) {
    REQUIRE(t->ingest(std::span<const Event>(events).subspan(i, std::min(batch, events.size() - i))).ok());
    acknowledged.push_back(t->version());
  }
  done = true;
  reader.join();
  REQUIRE_FALSE(seen.empty());
  for (std::size_t i = 1; i < seen.size(); ++i) CHECK(seen[i - 1] <= seen[i]);
  for (const auto v : seen) CHECK(std::binary_search(acknowledged.begin(), acknowledged.end(), v));
}

TEST_CASE("lot steps are queryable as soon as acknowledged; checkpoints move them under the indexes",
          "[live]") {
  TempDir dir;
  const auto& events = emulated();
  const std::string db = dir.file("twin.db");
  auto o = follow_options(db);
  o.checkpoint_every_events = 0;
  auto t = open_twin(o);
  ingest(*t, events, 100);
  const auto outs = std::to_string(count_kind(events, EventKind::TrackOut));
  const auto rows = [&](const char* table) {
    return sql_column(db, std::string("SELECT count(*) FROM ") + table).at(0);
  };
  // Before any checkpoint: every row is recent, and the view shows them all.
  CHECK(rows("lot_steps") == outs);
  CHECK(rows("lot_steps_recent") == outs);
  CHECK(rows("lot_steps_indexed") == "0");
  REQUIRE(t->checkpoint_now().ok());
  CHECK(rows("lot_steps") == outs);
  CHECK(rows("lot_steps_recent") == "0");
  CHECK(rows("lot_steps_indexed") == outs);
  // Lookups by lot, by (step, tool) and by tool and time go through an index of the view's first part.
  const auto plan = [&](const std::string& where) {
    std::string all;
    // EXPLAIN QUERY PLAN rows: id, parent, notused, detail.
    for (const auto& line : sql_column(db, "EXPLAIN QUERY PLAN SELECT * FROM lot_steps WHERE " + where, 3))
      all += line + "\n";
    return all;
  };
  CHECK_THAT(plan("lot = 'L1'"), Catch::Contains("USING INDEX lot_steps_lot"));
  CHECK_THAT(plan("step = 3 AND tool = 'T'"), Catch::Contains("USING INDEX lot_steps_step_tool"));
  CHECK_THAT(plan("tool = 'T' AND track_out BETWEEN 0 AND 1000"),
             Catch::Contains("USING INDEX lot_steps_tool_out"));
}

TEST_CASE("a schema version 1 store is read as it is and migrated when opened for writing", "[live]") {
  TempDir dir;
  const std::string db = dir.file("v1.db");
  sql(db, R"sql(
    CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
    CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, stamp INTEGER NOT NULL, applied_at INTEGER NOT NULL,
      received_unix_ms INTEGER NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, outcome TEXT NOT NULL,
      reason TEXT, field TEXT, message TEXT);
    CREATE TABLE checkpoints(seq INTEGER PRIMARY KEY, version INTEGER NOT NULL, sim_time INTEGER NOT NULL,
      created_unix_ms INTEGER NOT NULL, state BLOB NOT NULL);
    CREATE TABLE lot_steps(lot TEXT NOT NULL, product TEXT NOT NULL, route TEXT NOT NULL, step INTEGER NOT NULL,
      tool TEXT NOT NULL, track_in INTEGER NOT NULL, track_out INTEGER NOT NULL, wafers INTEGER NOT NULL,
      seq INTEGER NOT NULL);
    CREATE INDEX lot_steps_lot ON lot_steps(lot);
    CREATE INDEX lot_steps_tool_out ON lot_steps(tool, track_out);
    CREATE INDEX lot_steps_step ON lot_steps(step);
    INSERT INTO meta VALUES ('schema_version', '1'), ('model_name', 'm'), ('model_fingerprint', '1'),
      ('duplicates', '0');
    INSERT INTO lot_steps VALUES ('L1', 'P', 'R', 1, 'T1', 0, 10, 25, 1), ('L2', 'P', 'R', 2, 'T2', 5, 20, 25, 2);
  )sql");
  {
    auto r = live::Store::open_existing(db, true);
    REQUIRE(r.ok());
    CHECK(r->counts()->lot_steps == 2);
    CHECK(r->meta_value("schema_version") == "1");  // read-only: unchanged
  }
  {
    auto w = live::Store::open_existing(db, false);
    REQUIRE(w.ok());
    CHECK(w->meta_value("schema_version") == std::to_string(live::kSchemaVersion));
    CHECK(w->counts()->lot_steps == 2);
  }
  CHECK(sql_column(db, "SELECT lot FROM lot_steps WHERE step = 2 AND tool = 'T2'") ==
        std::vector<std::string>{"L2"});
  CHECK(sql_column(db,
                   "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name") ==
        std::vector<std::string>{"lot_steps_lot", "lot_steps_step_tool", "lot_steps_tool_out",
                                 "yield_lots_completed", "yield_lots_lot", "yield_lots_product_completed"});
  CHECK(sql_column(db, "SELECT count(*) FROM yield_lots") == std::vector<std::string>{"0"});
  CHECK(sql_column(db, "SELECT count(*) FROM whatif_jobs") == std::vector<std::string>{"0"});
  // Another version is refused, naming both.
  sql(db, "UPDATE meta SET value = '7' WHERE key = 'schema_version'");
  auto bad = live::Store::open_existing(db, true);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().field == "schema_version");
  CHECK_THAT(bad.error().message, Catch::Contains("schema version 7"));
}

TEST_CASE("finished what-if jobs: stored, read back by id, listed, replaced by id, pruned to the newest",
          "[live]") {
  TempDir dir;
  const std::string db = dir.file("jobs.db");
  auto store = live::Store::open(db, live::StoreIdentity{"m", 1, {}});
  REQUIRE(store.ok());
  CHECK(store->whatif_job_max_number().value() == 0);
  CHECK_FALSE(store->whatif_job("job-1").value());
  auto row = [](std::uint64_t n, std::string state, std::string results) {
    live::WhatIfJobRow j;
    j.id = "job-" + std::to_string(n);
    j.number = n;
    j.state = std::move(state);
    j.message = j.state == "done" ? "" : "why";
    j.name = "batch " + std::to_string(n);
    j.submitted_unix_ms = 1000 + static_cast<std::int64_t>(n);
    j.finished_unix_ms = 2000 + static_cast<std::int64_t>(n);
    j.total_days = 12.5 * static_cast<double>(n);
    j.spec = R"({"horizon_days": )" + std::to_string(n) + "}";
    j.results = std::move(results);
    return j;
  };
  const std::string bytes("\x00\x01binary\xff", 10);  // results are opaque bytes (NULs kept)
  REQUIRE(store->put_whatif_job(row(1, "done", bytes), 3).ok());
  REQUIRE(store->put_whatif_job(row(2, "failed", ""), 3).ok());
  REQUIRE(store->put_whatif_job(row(3, "cancelled", ""), 3).ok());
  auto one = store->whatif_job("job-1").value();
  REQUIRE(one);
  CHECK(one->number == 1);
  CHECK(one->state == "done");
  CHECK(one->message.empty());
  CHECK(one->submitted_unix_ms == 1001);
  CHECK(one->finished_unix_ms == 2001);
  CHECK(one->total_days == 12.5);
  CHECK(one->spec == R"({"horizon_days": 1})");
  CHECK(one->name == "batch 1");
  CHECK(one->results == bytes);
  CHECK(store->whatif_job("job-2").value()->message == "why");
  CHECK(store->whatif_job_max_number().value() == 3);
  CHECK(store->counts()->whatif_jobs == 3);
  // The same id again replaces it; a fourth job pushes the oldest out (kept 3).
  REQUIRE(store->put_whatif_job(row(2, "done", "r2"), 3).ok());
  CHECK(store->whatif_job("job-2").value()->results == "r2");
  REQUIRE(store->put_whatif_job(row(4, "done", "r4"), 3).ok());
  CHECK_FALSE(store->whatif_job("job-1").value());
  CHECK(store->counts()->whatif_jobs == 3);
  CHECK(store->whatif_job_max_number().value() == 4);
  // The listing: newest first, without spec and results.
  auto list = store->whatif_jobs(2);
  REQUIRE(list.ok());
  REQUIRE(list->size() == 2);
  CHECK((*list)[0].id == "job-4");
  CHECK((*list)[0].name == "batch 4");
  CHECK((*list)[0].total_days == 50);
  CHECK((*list)[0].results.empty());
  CHECK((*list)[1].id == "job-3");
  CHECK((*list)[1].state == "cancelled");
  CHECK((*list)[1].message == "why");
  CHECK(store->whatif_jobs(10)->size() == 3);
  // A state outside done/failed/cancelled is refused by the table, and nothing is half-stored.
  auto bad = store->put_whatif_job(row(5, "running", ""), 3);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("job-5"));
  CHECK(store->counts()->whatif_jobs == 3);
  CHECK(store->whatif_job_max_number().value() == 4);
}

TEST_CASE("a schema version 3 store has no what-if jobs until it is opened for writing", "[live]") {
  TempDir dir;
  const std::string db = dir.file("v3.db");
  REQUIRE(live::Store::open(db, live::StoreIdentity{"m", 1, {}}).ok());
  sql(db, "DROP TABLE whatif_jobs; UPDATE meta SET value = '3' WHERE key = 'schema_version';");
  {
    auto r = live::Store::open_existing(db, true);
    REQUIRE(r.ok());
    CHECK(r->meta_value("schema_version") == "3");
    CHECK_FALSE(r->whatif_job("job-1").value());
    CHECK(r->whatif_job_max_number().value() == 0);
    CHECK(r->counts()->whatif_jobs == 0);
  }
  auto w = live::Store::open(db, live::StoreIdentity{"m", 1, {}});
  REQUIRE(w.ok());
  CHECK(w->meta_value("schema_version") == "4");
  live::WhatIfJobRow j;
  j.id = "job-7";
  j.number = 7;
  j.state = "done";
  REQUIRE(w->put_whatif_job(j, 10).ok());
  CHECK(w->whatif_job_max_number().value() == 7);
}
