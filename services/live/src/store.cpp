// The live twin's SQLite store (store.hpp; schema in docs/operations.md "Store schema").
#include "fabtwin/live/store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <ostream>

namespace fabtwin::live {

namespace {

struct DbClose {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
struct StmtFinalize {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Db = std::unique_ptr<sqlite3, DbClose>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalize>;

constexpr int kBusyTimeoutMs = 5000;

// Schema 2's lot histories: each commit's rows go to lot_steps_recent, which has no index (a
// commit appends to its last pages); they move in bulk into lot_steps_indexed with every
// checkpoint, or once more than kRecentRowsMax wait. The view lot_steps is both (docs/operations.md
// "Store schema"): a lookup by lot, (step, tool) or (tool, track_out) uses an index on the first and
// scans the few recent rows.
constexpr std::uint64_t kRecentRowsMax = 65'536;

const char* const kLotStepsRecent = R"sql(
CREATE TABLE lot_steps_recent(
  lot TEXT NOT NULL,
  product TEXT NOT NULL,
  route TEXT NOT NULL,
  step INTEGER NOT NULL,
  tool TEXT NOT NULL,
  track_in INTEGER NOT NULL,
  track_out INTEGER NOT NULL,
  wafers INTEGER NOT NULL,
  seq INTEGER NOT NULL);
CREATE VIEW lot_steps AS
  SELECT lot, product, route, step, tool, track_in, track_out, wafers, seq FROM lot_steps_indexed
  UNION ALL
  SELECT lot, product, route, step, tool, track_in, track_out, wafers, seq FROM lot_steps_recent;
)sql";

const char* const kTables = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE events(
  seq INTEGER PRIMARY KEY,
  id TEXT UNIQUE,
  stamp INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  received_unix_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'late', 'refused')),
  reason TEXT,
  field TEXT,
  message TEXT);
CREATE TABLE checkpoints(
  seq INTEGER PRIMARY KEY,
  version INTEGER NOT NULL,
  sim_time INTEGER NOT NULL,
  created_unix_ms INTEGER NOT NULL,
  state BLOB NOT NULL,
  yield_state BLOB);
CREATE TABLE lot_steps_indexed(
  lot TEXT NOT NULL,
  product TEXT NOT NULL,
  route TEXT NOT NULL,
  step INTEGER NOT NULL,
  tool TEXT NOT NULL,
  track_in INTEGER NOT NULL,
  track_out INTEGER NOT NULL,
  wafers INTEGER NOT NULL,
  seq INTEGER NOT NULL);
CREATE INDEX lot_steps_lot ON lot_steps_indexed(lot);
CREATE INDEX lot_steps_tool_out ON lot_steps_indexed(tool, track_out);
CREATE INDEX lot_steps_step_tool ON lot_steps_indexed(step, tool);
)sql";

// Schema 3's yield records (docs/operations.md "Store schema"): a row per completed lot (its sums,
// its history as (step, tool) pairs), a row per wafer (rowid = lot id * 65536 + wafer: a lot's
// wafers are one rowid range), and the aggregates per (kind, block of `span` days, product, key)
// that summaries over whole days read instead of the lots.
const char* const kYieldTables = R"sql(
CREATE TABLE yield_lots(
  id INTEGER PRIMARY KEY,
  lot TEXT NOT NULL,
  product INTEGER NOT NULL,
  route INTEGER NOT NULL,
  released INTEGER NOT NULL,
  completed INTEGER NOT NULL,
  wafers INTEGER NOT NULL,
  dies INTEGER NOT NULL,
  pass INTEGER NOT NULL,
  sum_y REAL NOT NULL,
  sum_y2 REAL NOT NULL,
  bins BLOB NOT NULL,
  history BLOB NOT NULL);
CREATE INDEX yield_lots_lot ON yield_lots(lot);
CREATE INDEX yield_lots_product_completed ON yield_lots(product, completed);
CREATE INDEX yield_lots_completed ON yield_lots(completed);
CREATE TABLE yield_wafers(
  id INTEGER PRIMARY KEY,
  dies INTEGER NOT NULL,
  pass INTEGER NOT NULL,
  bins BLOB NOT NULL,
  map BLOB NOT NULL);
CREATE TABLE yield_agg(
  kind INTEGER NOT NULL,
  span INTEGER NOT NULL,
  start INTEGER NOT NULL,
  product INTEGER NOT NULL,
  key INTEGER NOT NULL,
  lots INTEGER NOT NULL,
  wafers INTEGER NOT NULL,
  dies INTEGER NOT NULL,
  pass INTEGER NOT NULL,
  sum_y REAL NOT NULL,
  sum_y2 REAL NOT NULL,
  bin0 INTEGER NOT NULL, bin1 INTEGER NOT NULL, bin2 INTEGER NOT NULL, bin3 INTEGER NOT NULL,
  bin4 INTEGER NOT NULL,
  PRIMARY KEY(kind, span, start, product, key)) WITHOUT ROWID;
)sql";

// Schema 4's finished what-if jobs of the server (docs/operations.md "Store schema").
const char* const kWhatIfTables = R"sql(
CREATE TABLE whatif_jobs(
  id TEXT PRIMARY KEY,
  number INTEGER NOT NULL UNIQUE,
  state TEXT NOT NULL CHECK (state IN ('done', 'failed', 'cancelled')),
  message TEXT NOT NULL,
  name TEXT NOT NULL,
  submitted_unix_ms INTEGER NOT NULL,
  finished_unix_ms INTEGER NOT NULL,
  total_days REAL NOT NULL,
  spec TEXT NOT NULL,
  results BLOB);
)sql";

// Schema 2 -> 3 in place: the yield tables (empty: lots completed before are not recorded) and
// the checkpoints' yield_state (NULL in the old ones: the recorder starts afresh from them).
const char* const kMigrate2To3 = "ALTER TABLE checkpoints ADD COLUMN yield_state BLOB;";

// Schema 1 -> 2 in place (an open for writing): the indexed table keeps schema 1's rows.
const char* const kMigrate1To2 = R"sql(
ALTER TABLE lot_steps RENAME TO lot_steps_indexed;
DROP INDEX lot_steps_step;
CREATE INDEX lot_steps_step_tool ON lot_steps_indexed(step, tool);
)sql";

const char* const kMoveRecent = R"sql(
INSERT INTO lot_steps_indexed SELECT * FROM lot_steps_recent ORDER BY rowid;
DELETE FROM lot_steps_recent;
)sql";

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string iso_utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

model::Error error(const std::string& path, std::string field, std::string message) {
  return model::Error{path, 0, std::move(field), std::move(message)};
}

std::string text_column(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

std::optional<twin::Outcome> parse_outcome(std::string_view s) {
  if (s == "applied") return twin::Outcome::Applied;
  if (s == "late") return twin::Outcome::Late;
  if (s == "refused") return twin::Outcome::Refused;
  return std::nullopt;
}

// Binds text (NULL for an empty string when `null_if_empty`).
struct YieldAggKey {
  int kind;  // 0 product, 1 tool, 2 step
  std::int64_t span, start;
  std::uint32_t product, key;
  friend auto operator<=>(const YieldAggKey&, const YieldAggKey&) = default;
};
struct YieldAggSums {
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;
  double sum_y = 0, sum_y2 = 0;
  std::array<std::uint64_t, yield::kBinCount> bins{};
  YieldAggSums& operator+=(const YieldAggSums& o) {
    lots += o.lots;
    wafers += o.wafers;
    dies += o.dies;
    pass += o.pass;
    sum_y += o.sum_y;
    sum_y2 += o.sum_y2;
    for (std::size_t b = 0; b < bins.size(); ++b) bins[b] += o.bins[b];
    return *this;
  }
};

void bind_text(sqlite3_stmt* s, int i, std::string_view v, bool null_if_empty = false) {
  if (null_if_empty && v.empty())
    sqlite3_bind_null(s, i);
  else
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

}  // namespace

struct Store::Impl {
  std::string path;
  Db db;
  bool read_only = false;
  Stmt insert_event, insert_step, add_duplicates, insert_checkpoint;
  Stmt insert_yield_lot, insert_yield_wafer, upsert_yield_agg;
  std::uint64_t last_seq = 0;
  std::uint64_t recent_rows = 0;  // rows in lot_steps_recent (committed)
  // Days before this are in the yield_agg blocks of more than one day (meta yield_agg_rolled_until);
  // pending: as the open transaction leaves it.
  std::int64_t agg_rolled_until = 0, agg_rolled_pending = 0;
  int schema_version = kSchemaVersion;  // the file's, as opened (1: migrated by an open for writing)
  int fail_commits = 0;
  mutable std::mutex mutex;

  model::Error fail(std::string what) const {
    return error(path, "", std::move(what) + ": " + sqlite3_errmsg(db.get()));
  }
  // Runs SQL without results; "" on success, else SQLite's message.
  std::string exec(const char* sql) const {
    char* msg = nullptr;
    if (sqlite3_exec(db.get(), sql, nullptr, nullptr, &msg) == SQLITE_OK) return {};
    std::string m = msg ? msg : sqlite3_errmsg(db.get());
    sqlite3_free(msg);
    return m.empty() ? "error" : m;
  }
  model::Result<Stmt> prepare(const char* sql) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
      return fail("cannot prepare a statement");
    return Stmt(s);
  }
  model::Result<bool> prepare_writers() {
    auto a = prepare(
        "INSERT INTO events(seq, id, stamp, applied_at, received_unix_ms, kind, payload, outcome, reason, "
        "field, "
        "message) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!a.ok()) return a.error();
    auto b = prepare(
        "INSERT INTO lot_steps_recent(lot, product, route, step, tool, track_in, track_out, wafers, seq) "
        "VALUES "
        "(?1, ?2, "
        "?3, ?4, ?5, ?6, ?7, ?8, ?9)");
    if (!b.ok()) return b.error();
    auto c =
        prepare("UPDATE meta SET value = CAST(CAST(value AS INTEGER) + ?1 AS TEXT) WHERE key = 'duplicates'");
    if (!c.ok()) return c.error();
    auto d = prepare(
        "INSERT OR REPLACE INTO checkpoints(seq, version, sim_time, created_unix_ms, state, yield_state) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    if (!d.ok()) return d.error();
    auto yl = prepare(
        "INSERT INTO yield_lots(lot, product, route, released, completed, wafers, dies, pass, sum_y, sum_y2, "
        "bins, history) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!yl.ok()) return yl.error();
    auto yw = prepare("INSERT INTO yield_wafers(id, dies, pass, bins, map) VALUES (?1, ?2, ?3, ?4, ?5)");
    if (!yw.ok()) return yw.error();
    auto ya = prepare(
        "INSERT INTO yield_agg(kind, span, start, product, key, lots, wafers, dies, pass, sum_y, sum_y2, "
        "bin0, "
        "bin1, bin2, bin3, bin4) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, "
        "?16) "
        "ON CONFLICT(kind, span, start, product, key) DO UPDATE SET lots = lots + excluded.lots, wafers = "
        "wafers + excluded.wafers, dies = dies + excluded.dies, pass = pass + excluded.pass, sum_y = sum_y + "
        "excluded.sum_y, sum_y2 = sum_y2 + excluded.sum_y2, bin0 = bin0 + excluded.bin0, bin1 = bin1 + "
        "excluded.bin1, bin2 = bin2 + excluded.bin2, bin3 = bin3 + excluded.bin3, bin4 = bin4 + "
        "excluded.bin4");
    if (!ya.ok()) return ya.error();
    insert_yield_lot = std::move(yl.value());
    insert_yield_wafer = std::move(yw.value());
    upsert_yield_agg = std::move(ya.value());
    insert_event = std::move(a.value());
    insert_step = std::move(b.value());
    add_duplicates = std::move(c.value());
    insert_checkpoint = std::move(d.value());
    return true;
  }
  // One row of `sql` as text columns; nullopt when no row; an Error on failure.
  model::Result<std::optional<std::string>> scalar(const char* sql) const {
    auto s = prepare(sql);
    if (!s.ok()) return s.error();
    const int rc = sqlite3_step(s->get());
    if (rc == SQLITE_ROW) {
      if (sqlite3_column_type(s->get(), 0) == SQLITE_NULL) return std::optional<std::string>();
      return std::optional<std::string>(text_column(s->get(), 0));
    }
    if (rc == SQLITE_DONE) return std::optional<std::string>();
    return fail("cannot read");
  }
  model::Result<bool> insert_steps(std::span<const LotStepRow> steps) {
    sqlite3_stmt* s = insert_step.get();
    for (const LotStepRow& r : steps) {
      bind_text(s, 1, r.lot);
      bind_text(s, 2, r.product);
      bind_text(s, 3, r.route);
      sqlite3_bind_int64(s, 4, r.step);
      bind_text(s, 5, r.tool);
      sqlite3_bind_int64(s, 6, r.track_in_ms);
      sqlite3_bind_int64(s, 7, r.track_out_ms);
      sqlite3_bind_int64(s, 8, r.wafers);
      sqlite3_bind_int64(s, 9, static_cast<sqlite3_int64>(r.seq));
      const int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) return fail("cannot store a lot step");
    }
    return true;
  }
  // Inserts yield records and adds them to the aggregates (inside the caller's transaction).
  model::Result<bool> insert_yield(std::span<const YieldLotRow> lots) {
    if (lots.empty()) return true;
    static_assert(yield::kBinCount == 5, "yield_agg has columns bin0..bin4");
    std::map<YieldAggKey, YieldAggSums> agg;
    std::int64_t max_day = -1;
    for (const YieldLotRow& l : lots) {
      YieldAggSums sums;
      sums.lots = 1;
      std::vector<std::uint32_t> wafer_bins;
      for (const YieldWaferRow& w : l.wafers) {
        ++sums.wafers;
        sums.dies += w.dies;
        sums.pass += w.pass;
        const double y = w.dies ? static_cast<double>(w.pass) / w.dies : 0.0;
        sums.sum_y += y;
        sums.sum_y2 += y * y;
        for (std::uint32_t b = 0; b < yield::kBinCount; ++b) sums.bins[b] += w.bins[b];
      }
      sqlite3_stmt* s = insert_yield_lot.get();
      bind_text(s, 1, l.lot);
      sqlite3_bind_int64(s, 2, l.product);
      sqlite3_bind_int64(s, 3, l.route);
      sqlite3_bind_int64(s, 4, l.released_ms);
      sqlite3_bind_int64(s, 5, l.completed_ms);
      sqlite3_bind_int64(s, 6, static_cast<sqlite3_int64>(sums.wafers));
      sqlite3_bind_int64(s, 7, static_cast<sqlite3_int64>(sums.dies));
      sqlite3_bind_int64(s, 8, static_cast<sqlite3_int64>(sums.pass));
      sqlite3_bind_double(s, 9, sums.sum_y);
      sqlite3_bind_double(s, 10, sums.sum_y2);
      sqlite3_bind_blob(s, 11, sums.bins.data(), static_cast<int>(sizeof(sums.bins)), SQLITE_STATIC);
      std::vector<std::uint32_t> hist;
      hist.reserve(l.history.size() * 2);
      for (const yield::StepTool& st : l.history) {
        hist.push_back(st.step.value);
        hist.push_back(st.tool.value);
      }
      sqlite3_bind_blob(s, 12, hist.data(), static_cast<int>(hist.size() * sizeof(std::uint32_t)),
                        SQLITE_STATIC);
      int rc = sqlite3_step(s);
      sqlite3_reset(s);
      if (rc != SQLITE_DONE) return fail("cannot store the yield record of lot '" + l.lot + "'");
      const auto lot_id = static_cast<std::int64_t>(sqlite3_last_insert_rowid(db.get()));
      sqlite3_stmt* w = insert_yield_wafer.get();
      for (std::size_t i = 0; i < l.wafers.size(); ++i) {
        const YieldWaferRow& r = l.wafers[i];
        sqlite3_bind_int64(w, 1, lot_id * 65536 + static_cast<std::int64_t>(i + 1));
        sqlite3_bind_int64(w, 2, r.dies);
        sqlite3_bind_int64(w, 3, r.pass);
        sqlite3_bind_blob(w, 4, r.bins.data(), static_cast<int>(sizeof(r.bins)), SQLITE_STATIC);
        sqlite3_bind_blob(w, 5, r.map.data(), static_cast<int>(r.map.size()), SQLITE_STATIC);
        rc = sqlite3_step(w);
        sqlite3_reset(w);
        if (rc != SQLITE_DONE) return fail("cannot store a wafer of lot '" + l.lot + "'");
      }
      // The aggregates: the lot counts once per product, per tool it used and per step it ran.
      const std::int64_t day = l.completed_ms >= 0 ? l.completed_ms / kMsPerDay : -1;
      std::vector<std::uint32_t> tools, steps;
      for (const yield::StepTool& st : l.history) {
        if (st.tool.valid()) tools.push_back(st.tool.value);
        steps.push_back(st.step.value);
      }
      std::sort(tools.begin(), tools.end());
      tools.erase(std::unique(tools.begin(), tools.end()), tools.end());
      std::sort(steps.begin(), steps.end());
      steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
      max_day = std::max(max_day, day);
      for (const std::int64_t span : kYieldAggSpans) {
        // A day not rolled up yet gets its day row only: its blocks get it when it is rolled up.
        if (span > 1 && (day < 0 || day >= agg_rolled_pending)) continue;
        const std::int64_t start = day >= 0 ? day / span * span : day;
        agg[{0, span, start, l.product, 0}] += sums;
        for (std::uint32_t t : tools) {
          agg[{1, span, start, l.product, t}] += sums;
          agg[{1, span, start, kYieldAggAllProducts, t}] += sums;  // a tool's rows over all products
        }
        for (std::uint32_t st : steps) agg[{2, span, start, l.product, st}] += sums;
      }
    }
    sqlite3_stmt* a = upsert_yield_agg.get();
    for (const auto& [k, v] : agg) {
      sqlite3_bind_int64(a, 1, k.kind);
      sqlite3_bind_int64(a, 2, k.span);
      sqlite3_bind_int64(a, 3, k.start);
      sqlite3_bind_int64(a, 4, k.product);
      sqlite3_bind_int64(a, 5, k.key);
      sqlite3_bind_int64(a, 6, static_cast<sqlite3_int64>(v.lots));
      sqlite3_bind_int64(a, 7, static_cast<sqlite3_int64>(v.wafers));
      sqlite3_bind_int64(a, 8, static_cast<sqlite3_int64>(v.dies));
      sqlite3_bind_int64(a, 9, static_cast<sqlite3_int64>(v.pass));
      sqlite3_bind_double(a, 10, v.sum_y);
      sqlite3_bind_double(a, 11, v.sum_y2);
      for (std::uint32_t b = 0; b < yield::kBinCount; ++b)
        sqlite3_bind_int64(a, 12 + static_cast<int>(b), static_cast<sqlite3_int64>(v.bins[b]));
      const int rc = sqlite3_step(a);
      sqlite3_reset(a);
      if (rc != SQLITE_DONE) return fail("cannot update the yield aggregates");
    }
    return roll_up(max_day);
  }
  // Adds the day rows of days [agg_rolled_pending, until) to the blocks of 4 to 256 days; days
  // complete when a later day's lot arrives (the twin's completions come in time order; a lot of
  // a day rolled up already goes to its blocks directly). One pass per block size, in SQL, over
  // those days' rows only (kind IN (...) lets the primary key find them).
  model::Result<bool> roll_up(std::int64_t until) {
    if (until <= agg_rolled_pending) return true;
    for (const std::int64_t span : kYieldAggSpans) {
      if (span == 1) continue;
      const std::string sp = std::to_string(span);
      const std::string sql =
          "INSERT INTO yield_agg(kind, span, start, product, key, lots, wafers, dies, pass, sum_y, sum_y2, "
          "bin0, "
          "bin1, bin2, bin3, bin4) SELECT kind, " +
          sp + ", start / " + sp + " * " + sp +
          ", product, key, sum(lots), sum(wafers), sum(dies), sum(pass), sum(sum_y), sum(sum_y2), sum(bin0), "
          "sum(bin1), sum(bin2), sum(bin3), sum(bin4) FROM yield_agg WHERE kind IN (0, 1, 2) AND span = 1 "
          "AND start >= " +
          std::to_string(agg_rolled_pending) + " AND start < " + std::to_string(until) +
          " GROUP BY kind, start / " + sp +
          ", product, key ON CONFLICT(kind, span, start, product, key) DO UPDATE "
          "SET lots = lots + excluded.lots, wafers = wafers + excluded.wafers, dies = dies + excluded.dies, "
          "pass = "
          "pass + excluded.pass, sum_y = sum_y + excluded.sum_y, sum_y2 = sum_y2 + excluded.sum_y2, bin0 = "
          "bin0 + "
          "excluded.bin0, bin1 = bin1 + excluded.bin1, bin2 = bin2 + excluded.bin2, bin3 = bin3 + "
          "excluded.bin3, "
          "bin4 = bin4 + excluded.bin4";
      if (std::string m = exec(sql.c_str()); !m.empty())
        return error(path, "", "cannot roll up the yield aggregates: " + m);
    }
    const std::string meta = "INSERT OR REPLACE INTO meta(key, value) VALUES ('yield_agg_rolled_until', '" +
                             std::to_string(until) + "')";
    if (std::string m = exec(meta.c_str()); !m.empty())
      return error(path, "", "cannot roll up the yield aggregates: " + m);
    agg_rolled_pending = until;
    return true;
  }
  // Moves the recent lot steps into the indexed table (inside the caller's transaction).
  model::Result<bool> move_recent() {
    if (std::string m = exec(kMoveRecent); !m.empty())
      return error(path, "", "cannot index the lot steps: " + m);
    return true;
  }
  // Schema 1, 2 or 3 -> 4 in one transaction (a store opened for writing).
  model::Result<bool> migrate() {
    if (schema_version == kSchemaVersion) return true;
    if (auto b = begin(); !b.ok()) return b.error();
    std::string sql;
    if (schema_version == 1) sql += std::string(kMigrate1To2) + kLotStepsRecent;
    if (schema_version <= 2) sql += std::string(kMigrate2To3) + kYieldTables;
    sql += std::string(kWhatIfTables) + "UPDATE meta SET value = '" + std::to_string(kSchemaVersion) +
           "' WHERE key = 'schema_version';";
    const std::string from =
        "cannot migrate the store from schema version " + std::to_string(schema_version) + ": ";
    if (std::string m = exec(sql.c_str()); !m.empty()) {
      exec("ROLLBACK");
      return error(path, "schema_version", from + m);
    }
    if (std::string m = exec("COMMIT"); !m.empty()) {
      exec("ROLLBACK");
      return error(path, "schema_version", from + m);
    }
    schema_version = kSchemaVersion;
    return true;
  }
  // COMMIT (or the injected fault); on any failure the transaction is rolled back.
  model::Result<bool> commit() {
    if (fail_commits > 0) {
      --fail_commits;
      exec("ROLLBACK");
      return error(path, "", "commit failed: injected fault");
    }
    if (std::string m = exec("COMMIT"); !m.empty()) {
      exec("ROLLBACK");
      return error(path, "", "commit failed: " + m);
    }
    return true;
  }
  model::Result<bool> begin() {
    if (read_only) return error(path, "", "the store is open read-only");
    if (std::string m = exec("BEGIN IMMEDIATE"); !m.empty())
      return error(path, "", "cannot begin a transaction: " + m);
    return true;
  }

  // Opens the connection and checks, reading only, that the file is SQLite and a fabtwin store
  // of this schema version. `fresh` is set when the file is missing or empty (and `create`
  // allows making it): the schema is then still to be written.
  static model::Result<std::unique_ptr<Impl>> connect(const std::string& path, bool create, bool read_only,
                                                      bool& fresh) {
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    const bool empty = exists && std::filesystem::file_size(path, ec) == 0 && !ec;
    fresh = !exists || empty;
    if (fresh && !create) return error(path, "", exists ? "the file is empty, not a store" : "no such file");
    if (exists && std::filesystem::is_directory(path, ec))
      return error(path, "", "is a directory, not a store");
    auto impl = std::make_unique<Impl>();
    impl->path = path;
    impl->read_only = read_only;
    sqlite3* raw = nullptr;
    const int flags =
        (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | (fresh ? SQLITE_OPEN_CREATE : 0)) |
        SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    impl->db.reset(raw);
    if (rc != SQLITE_OK)
      return error(path, "", std::string("cannot open: ") + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_busy_timeout(raw, kBusyTimeoutMs);
    sqlite3_extended_result_codes(raw, 1);
    if (fresh) return impl;
    // Reading the schema is the first access to the file: a file that is not SQLite fails here.
    auto tables = impl->scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'");
    if (!tables.ok()) {
      if ((sqlite3_errcode(raw) & 0xff) == SQLITE_NOTADB)
        return error(path, "", "not a SQLite database (not a fabtwin store)");
      return tables.error();
    }
    if (!tables.value() || *tables.value() != "1") {
      auto any = impl->scalar("SELECT count(*) FROM sqlite_master");
      if (any.ok() && any.value() && *any.value() == "0") {  // an empty database: make it a store
        if (!create) return error(path, "", "an empty SQLite database, not a store");
        fresh = true;
        return impl;
      }
      return error(path, "meta", "a SQLite database but not a fabtwin store (no meta table)");
    }
    auto v = impl->scalar("SELECT value FROM meta WHERE key = 'schema_version'");
    if (!v.ok()) return v.error();
    if (!v.value()) return error(path, "schema_version", "missing from the meta table (not a fabtwin store)");
    // Versions 1 (lot_steps a table with three indexes), 2 (no yield tables) and 3 (no what-if
    // jobs) are read as they are and migrated when opened for writing.
    if (*v.value() == "1" || *v.value() == "2" || *v.value() == "3")
      impl->schema_version = std::stoi(*v.value());
    else if (*v.value() != std::to_string(kSchemaVersion))
      return error(path, "schema_version",
                   "the store has schema version " + *v.value() + "; this build reads versions 1 to " +
                       std::to_string(kSchemaVersion));
    return impl;
  }

  // WAL, synchronous=FULL; then the cached statements and the last seq. The WAL is copied into
  // the database every 16384 pages (64 MiB) rather than SQLite's 1000: a lot_steps index page
  // that many commits touch is then written back once, not once per commit (HVLM ingest 10.6k ->
  // 16.3k events/s, docs/benchmarks.md); a 64 MiB page cache keeps the indexes' hot pages.
  model::Result<bool> setup_writer() {
    if (std::string m =
            exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 16384; "
                 "PRAGMA cache_size = -65536;");
        !m.empty())
      return error(path, "", "cannot set WAL mode: " + m);
    if (auto g = migrate(); !g.ok()) return g.error();
    if (auto p = prepare_writers(); !p.ok()) return p.error();
    auto r = scalar("SELECT count(*) FROM lot_steps_recent");
    if (!r.ok()) return r.error();
    recent_rows = r.value() ? std::stoull(*r.value()) : 0;
    auto rolled = scalar("SELECT value FROM meta WHERE key = 'yield_agg_rolled_until'");
    if (!rolled.ok()) return rolled.error();
    agg_rolled_until = agg_rolled_pending = rolled.value() ? std::stoll(*rolled.value()) : 0;
    return load_last_seq();
  }
  model::Result<bool> load_last_seq() {
    auto s = scalar("SELECT max(seq) FROM events");
    if (!s.ok()) return s.error();
    last_seq = s.value() ? std::stoull(*s.value()) : 0;
    return true;
  }
};

Store::Store(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

model::Result<Store> Store::open(const std::string& path, const StoreIdentity& identity) {
  bool fresh = false;
  auto c = Impl::connect(path, true, false, fresh);
  if (!c.ok()) return c.error();
  std::unique_ptr<Impl> impl = std::move(c.value());
  if (fresh) {
    // The schema and the meta rows in one transaction (WAL first: it cannot change inside one).
    if (std::string m = impl->exec("PRAGMA journal_mode = WAL"); !m.empty())
      return error(path, "", "cannot create the store: " + m);
    if (auto b = impl->begin(); !b.ok()) return b.error();
    if (std::string m =
            impl->exec((std::string(kTables) + kLotStepsRecent + kYieldTables + kWhatIfTables).c_str());
        !m.empty()) {
      impl->exec("ROLLBACK");
      return error(path, "", "cannot create the store: " + m);
    }
    std::vector<std::pair<std::string, std::string>> rows = {
        {"schema_version", std::to_string(kSchemaVersion)},
        {"model_name", identity.model_name},
        {"model_fingerprint", std::to_string(identity.model_fingerprint)},
        {"created_at", iso_utc_now()},
        {"duplicates", "0"}};
    rows.insert(rows.end(), identity.options.begin(), identity.options.end());
    auto ins = impl->prepare("INSERT INTO meta(key, value) VALUES (?1, ?2)");
    if (!ins.ok()) {
      impl->exec("ROLLBACK");
      return ins.error();
    }
    for (const auto& [k, v] : rows) {
      bind_text(ins->get(), 1, k);
      bind_text(ins->get(), 2, v);
      const int rc = sqlite3_step(ins->get());
      sqlite3_reset(ins->get());
      if (rc != SQLITE_DONE) {
        auto e = impl->fail("cannot create the store");
        impl->exec("ROLLBACK");
        return e;
      }
    }
    ins->reset();
    if (std::string m = impl->exec("COMMIT"); !m.empty()) {
      impl->exec("ROLLBACK");
      return error(path, "", "cannot create the store: " + m);
    }
  } else {
    // Another model or other options: an Error naming the key, the file untouched.
    Store probe(std::move(impl));
    const auto value = [&](const std::string& k) { return probe.meta_value(k).value_or("<none>"); };
    const std::string fp = std::to_string(identity.model_fingerprint);
    if (value("model_fingerprint") != fp)
      return error(path, "model_fingerprint",
                   "the store belongs to model '" + value("model_name") + "' (fingerprint " +
                       value("model_fingerprint") + "), not to model '" + identity.model_name +
                       "' (fingerprint " + fp + ")");
    for (const auto& [k, v] : identity.options)
      if (value(k) != v)
        return error(path, k, "the store was created with " + k + " '" + value(k) + "', not '" + v + "'");
    impl = std::move(probe.impl_);
  }
  if (auto s = impl->setup_writer(); !s.ok()) return s.error();
  return Store(std::move(impl));
}

model::Result<Store> Store::open_existing(const std::string& path, bool read_only) {
  bool fresh = false;
  auto c = Impl::connect(path, false, read_only, fresh);
  if (!c.ok()) return c.error();
  std::unique_ptr<Impl> impl = std::move(c.value());
  if (read_only) {
    if (auto s = impl->load_last_seq(); !s.ok()) return s.error();
  } else if (auto s = impl->setup_writer(); !s.ok()) {
    return s.error();
  }
  return Store(std::move(impl));
}

const std::string& Store::path() const { return impl_->path; }

std::vector<std::pair<std::string, std::string>> Store::meta() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::pair<std::string, std::string>> out;
  auto s = impl_->prepare("SELECT key, value FROM meta ORDER BY key");
  if (!s.ok()) return out;
  while (sqlite3_step(s->get()) == SQLITE_ROW)
    out.emplace_back(text_column(s->get(), 0), text_column(s->get(), 1));
  return out;
}

std::optional<std::string> Store::meta_value(std::string_view key) const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->prepare("SELECT value FROM meta WHERE key = ?1");
  if (!s.ok()) return std::nullopt;
  bind_text(s->get(), 1, key);
  if (sqlite3_step(s->get()) != SQLITE_ROW) return std::nullopt;
  return text_column(s->get(), 0);
}

model::Result<std::uint64_t> Store::append(const Batch& batch) {
  std::lock_guard lock(impl_->mutex);
  Impl& m = *impl_;
  if (auto b = m.begin(); !b.ok()) return b.error();
  auto abort = [&](model::Error e) -> model::Result<std::uint64_t> {
    m.exec("ROLLBACK");
    m.agg_rolled_pending = m.agg_rolled_until;
    return e;
  };
  sqlite3_stmt* s = m.insert_event.get();
  std::uint64_t seq = m.last_seq;
  for (const EventRow& r : batch.events) {
    const bool refused = r.outcome == twin::Outcome::Refused;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(++seq));
    bind_text(s, 2, r.id, true);
    sqlite3_bind_int64(s, 3, r.stamp_ms);
    sqlite3_bind_int64(s, 4, r.applied_at_ms);
    sqlite3_bind_int64(s, 5, r.received_unix_ms);
    bind_text(s, 6, r.kind);
    bind_text(s, 7, r.payload);
    bind_text(s, 8, twin::to_string(r.outcome));
    if (refused) {
      bind_text(s, 9, r.reason);
      bind_text(s, 10, r.field);
      bind_text(s, 11, r.message);
    } else {
      for (int i = 9; i <= 11; ++i) sqlite3_bind_null(s, i);
    }
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) return abort(m.fail("cannot store event '" + r.id + "'"));
  }
  if (auto w = m.insert_steps(batch.steps); !w.ok()) return abort(w.error());
  if (auto y = m.insert_yield(batch.yield); !y.ok()) return abort(y.error());
  std::uint64_t recent = m.recent_rows + batch.steps.size();
  if (recent > kRecentRowsMax) {
    if (auto v = m.move_recent(); !v.ok()) return abort(v.error());
    recent = 0;
  }
  if (batch.duplicates) {
    sqlite3_stmt* d = m.add_duplicates.get();
    sqlite3_bind_int64(d, 1, static_cast<sqlite3_int64>(batch.duplicates));
    const int rc = sqlite3_step(d);
    sqlite3_reset(d);
    if (rc != SQLITE_DONE) return abort(m.fail("cannot count duplicates"));
  }
  if (auto c = m.commit(); !c.ok()) {
    m.agg_rolled_pending = m.agg_rolled_until;
    return c.error();
  }
  m.agg_rolled_until = m.agg_rolled_pending;
  m.last_seq = seq;
  m.recent_rows = recent;
  return seq;
}

std::uint64_t Store::last_seq() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->last_seq;
}

model::Result<std::uint64_t> Store::all_ids(const std::function<void(std::string_view)>& f) const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->prepare("SELECT id FROM events WHERE id IS NOT NULL");
  if (!s.ok()) return s.error();
  std::uint64_t n = 0;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s->get(), 0));
    f(std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s->get(), 0))));
    ++n;
  }
  if (rc != SQLITE_DONE) return impl_->fail("cannot read the event ids");
  return n;
}

model::Result<std::uint64_t> Store::events_after(std::uint64_t seq,
                                                 const std::function<void(const StoredEvent&)>& f) const {
  std::lock_guard lock(impl_->mutex);
  auto s = impl_->prepare(
      "SELECT seq, id, stamp, applied_at, received_unix_ms, kind, payload, outcome, reason, field, message "
      "FROM events WHERE seq > ?1 ORDER BY seq");
  if (!s.ok()) return s.error();
  sqlite3_bind_int64(s->get(), 1, static_cast<sqlite3_int64>(seq));
  std::uint64_t n = 0;
  StoredEvent e;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    sqlite3_stmt* q = s->get();
    e.seq = static_cast<std::uint64_t>(sqlite3_column_int64(q, 0));
    e.row.id = text_column(q, 1);
    e.row.stamp_ms = sqlite3_column_int64(q, 2);
    e.row.applied_at_ms = sqlite3_column_int64(q, 3);
    e.row.received_unix_ms = sqlite3_column_int64(q, 4);
    e.row.kind = text_column(q, 5);
    e.row.payload = text_column(q, 6);
    const std::string outcome = text_column(q, 7);
    const auto o = parse_outcome(outcome);
    if (!o)
      return error(impl_->path, "outcome",
                   "event seq " + std::to_string(e.seq) + ": unknown outcome '" + outcome + "'");
    e.row.outcome = *o;
    e.row.reason = text_column(q, 8);
    e.row.field = text_column(q, 9);
    e.row.message = text_column(q, 10);
    f(e);
    ++n;
  }
  if (rc != SQLITE_DONE) return impl_->fail("cannot read the events");
  return n;
}

model::Result<std::optional<Checkpoint>> Store::newest_checkpoint() const {
  std::lock_guard lock(impl_->mutex);
  auto s =
      impl_->prepare(impl_->schema_version >= 3 ? "SELECT seq, version, sim_time, created_unix_ms, state, "
                                                  "yield_state FROM checkpoints ORDER BY seq DESC "
                                                  "LIMIT 1"
                                                : "SELECT seq, version, sim_time, created_unix_ms, state, "
                                                  "NULL FROM checkpoints ORDER BY seq DESC LIMIT 1");
  if (!s.ok()) return s.error();
  const int rc = sqlite3_step(s->get());
  if (rc == SQLITE_DONE) return std::optional<Checkpoint>();
  if (rc != SQLITE_ROW) return impl_->fail("cannot read the newest checkpoint");
  sqlite3_stmt* q = s->get();
  Checkpoint c;
  c.seq = static_cast<std::uint64_t>(sqlite3_column_int64(q, 0));
  c.version = static_cast<std::uint64_t>(sqlite3_column_int64(q, 1));
  c.sim_time_ms = sqlite3_column_int64(q, 2);
  c.created_unix_ms = sqlite3_column_int64(q, 3);
  const auto* p = static_cast<const char*>(sqlite3_column_blob(q, 4));
  c.state.assign(p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(q, 4)));
  if (const auto* y = static_cast<const char*>(sqlite3_column_blob(q, 5)))
    c.yield_state.assign(y, static_cast<std::size_t>(sqlite3_column_bytes(q, 5)));
  return std::optional<Checkpoint>(std::move(c));
}

model::Result<std::uint64_t> Store::write_checkpoint(const Checkpoint& c, std::span<const LotStepRow> steps,
                                                     std::size_t kept, std::span<const YieldLotRow> yield) {
  std::lock_guard lock(impl_->mutex);
  Impl& m = *impl_;
  if (auto b = m.begin(); !b.ok()) return b.error();
  auto abort = [&](model::Error e) -> model::Result<std::uint64_t> {
    m.exec("ROLLBACK");
    m.agg_rolled_pending = m.agg_rolled_until;
    return e;
  };
  if (auto w = m.insert_steps(steps); !w.ok()) return abort(w.error());
  if (auto y = m.insert_yield(yield); !y.ok()) return abort(y.error());
  if (auto v = m.move_recent(); !v.ok()) return abort(v.error());
  sqlite3_stmt* s = m.insert_checkpoint.get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(c.seq));
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(c.version));
  sqlite3_bind_int64(s, 3, c.sim_time_ms);
  sqlite3_bind_int64(s, 4, c.created_unix_ms ? c.created_unix_ms : unix_ms_now());
  sqlite3_bind_blob64(s, 5, c.state.data(), c.state.size(), SQLITE_STATIC);
  if (c.yield_state.empty())
    sqlite3_bind_null(s, 6);
  else
    sqlite3_bind_blob64(s, 6, c.yield_state.data(), c.yield_state.size(), SQLITE_STATIC);
  const int rc = sqlite3_step(s);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE) return abort(m.fail("cannot store the checkpoint"));
  const std::string keep = std::to_string(std::max<std::size_t>(kept, 1));
  const std::string prune =
      "DELETE FROM checkpoints WHERE seq NOT IN (SELECT seq FROM checkpoints ORDER BY seq DESC LIMIT " +
      keep + ")";
  if (std::string e = m.exec(prune.c_str()); !e.empty())
    return abort(error(m.path, "", "cannot prune checkpoints: " + e));
  if (auto k = m.commit(); !k.ok()) {
    m.agg_rolled_pending = m.agg_rolled_until;
    return k.error();
  }
  m.agg_rolled_until = m.agg_rolled_pending;
  m.recent_rows = 0;
  return c.seq;
}

model::Result<std::uint64_t> Store::export_events(std::ostream& out) const {
  // A connection of its own: one SELECT is one read transaction, a snapshot the writer does not wait for.
  bool fresh = false;
  auto c = Impl::connect(impl_->path, false, true, fresh);
  if (!c.ok()) return c.error();
  Impl& r = *c.value();
  auto s = r.prepare("SELECT payload FROM events ORDER BY seq");
  if (!s.ok()) return s.error();
  std::uint64_t n = 0;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    out.write(reinterpret_cast<const char*>(sqlite3_column_text(s->get(), 0)),
              sqlite3_column_bytes(s->get(), 0));
    out.put('\n');
    ++n;
  }
  if (rc != SQLITE_DONE) return r.fail("cannot read the events");
  if (!out) return error(impl_->path, "", "cannot write the export");
  return n;
}

model::Result<StoreCounts> Store::counts() const {
  std::lock_guard lock(impl_->mutex);
  StoreCounts c;
  auto s = impl_->prepare("SELECT outcome, count(*) FROM events GROUP BY outcome");
  if (!s.ok()) return s.error();
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    const std::string o = text_column(s->get(), 0);
    const auto n = static_cast<std::uint64_t>(sqlite3_column_int64(s->get(), 1));
    c.events += n;
    if (o == "applied") c.applied = n;
    if (o == "late") c.late = n;
    if (o == "refused") c.refused = n;
  }
  if (rc != SQLITE_DONE) return impl_->fail("cannot count the events");
  const auto number = [&](const char* sql) -> model::Result<std::optional<std::uint64_t>> {
    auto v = impl_->scalar(sql);
    if (!v.ok()) return v.error();
    if (!v.value()) return std::optional<std::uint64_t>();
    return std::optional<std::uint64_t>(std::stoull(*v.value()));
  };
  for (auto [sql, target] : {std::pair{"SELECT count(*) FROM checkpoints", &c.checkpoints},
                             std::pair{"SELECT count(*) FROM lot_steps", &c.lot_steps},
                             std::pair{"SELECT value FROM meta WHERE key = 'duplicates'", &c.duplicates},
                             std::pair{"SELECT max(seq) FROM events", &c.last_seq}}) {
    auto v = number(sql);
    if (!v.ok()) return v.error();
    *target = v.value().value_or(0);
  }
  if (impl_->schema_version >= 3)
    for (auto [sql, target] : {std::pair{"SELECT count(*) FROM yield_lots", &c.yield_lots},
                               std::pair{"SELECT count(*) FROM yield_wafers", &c.yield_wafers}}) {
      auto v = number(sql);
      if (!v.ok()) return v.error();
      *target = v.value().value_or(0);
    }
  if (impl_->schema_version >= 4) {
    auto v = number("SELECT count(*) FROM whatif_jobs");
    if (!v.ok()) return v.error();
    c.whatif_jobs = v.value().value_or(0);
  }
  auto newest = number("SELECT max(seq) FROM checkpoints");
  if (!newest.ok()) return newest.error();
  c.newest_checkpoint_seq = newest.value();
  return c;
}

model::Result<bool> Store::put_whatif_job(const WhatIfJobRow& j, std::size_t kept) {
  std::lock_guard lock(impl_->mutex);
  Impl& m = *impl_;
  if (m.schema_version < 4) return error(m.path, "schema_version", "the store keeps no what-if jobs");
  if (auto b = m.begin(); !b.ok()) return b.error();
  auto abort = [&](model::Error e) -> model::Result<bool> {
    m.exec("ROLLBACK");
    return e;
  };
  auto ins = m.prepare(
      "INSERT OR REPLACE INTO whatif_jobs(id, number, state, message, submitted_unix_ms, finished_unix_ms, "
      "total_days, spec, results, name) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
  if (!ins.ok()) return abort(ins.error());
  sqlite3_stmt* s = ins->get();
  bind_text(s, 1, j.id);
  sqlite3_bind_int64(s, 2, static_cast<sqlite3_int64>(j.number));
  bind_text(s, 3, j.state);
  bind_text(s, 4, j.message);
  sqlite3_bind_int64(s, 5, j.submitted_unix_ms);
  sqlite3_bind_int64(s, 6, j.finished_unix_ms);
  sqlite3_bind_double(s, 7, j.total_days);
  bind_text(s, 8, j.spec);
  if (j.results.empty())
    sqlite3_bind_null(s, 9);
  else
    sqlite3_bind_blob64(s, 9, j.results.data(), j.results.size(), SQLITE_STATIC);
  bind_text(s, 10, j.name);
  if (sqlite3_step(s) != SQLITE_DONE) return abort(m.fail("cannot store what-if job '" + j.id + "'"));
  const std::string prune =
      "DELETE FROM whatif_jobs WHERE number NOT IN (SELECT number FROM whatif_jobs ORDER BY number DESC "
      "LIMIT " +
      std::to_string(std::max<std::size_t>(kept, 1)) + ")";
  if (std::string e = m.exec(prune.c_str()); !e.empty())
    return abort(error(m.path, "", "cannot prune what-if jobs: " + e));
  return m.commit();
}

namespace {
// The columns every what-if job query selects first, in this order (read_job reads them).
constexpr const char* kJobColumns =
    "id, number, state, message, name, submitted_unix_ms, finished_unix_ms, total_days";
void read_job(sqlite3_stmt* s, WhatIfJobRow& j) {
  j.id = text_column(s, 0);
  j.number = static_cast<std::uint64_t>(sqlite3_column_int64(s, 1));
  j.state = text_column(s, 2);
  j.message = text_column(s, 3);
  j.name = text_column(s, 4);
  j.submitted_unix_ms = sqlite3_column_int64(s, 5);
  j.finished_unix_ms = sqlite3_column_int64(s, 6);
  j.total_days = sqlite3_column_double(s, 7);
}
}  // namespace

model::Result<std::optional<WhatIfJobRow>> Store::whatif_job(std::string_view id) const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->schema_version < 4) return std::optional<WhatIfJobRow>();
  auto q = impl_->prepare(
      (std::string("SELECT ") + kJobColumns + ", spec, results FROM whatif_jobs WHERE id = ?1").c_str());
  if (!q.ok()) return q.error();
  sqlite3_stmt* s = q->get();
  bind_text(s, 1, id);
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<WhatIfJobRow>();
  if (rc != SQLITE_ROW) return impl_->fail("cannot read what-if job '" + std::string(id) + "'");
  WhatIfJobRow j;
  read_job(s, j);
  j.spec = text_column(s, 8);
  if (const auto* p = static_cast<const char*>(sqlite3_column_blob(s, 9)))
    j.results.assign(p, static_cast<std::size_t>(sqlite3_column_bytes(s, 9)));
  return std::optional<WhatIfJobRow>(std::move(j));
}

model::Result<std::vector<WhatIfJobRow>> Store::whatif_jobs(std::size_t limit) const {
  std::lock_guard lock(impl_->mutex);
  std::vector<WhatIfJobRow> out;
  if (impl_->schema_version < 4) return out;
  auto q = impl_->prepare(
      (std::string("SELECT ") + kJobColumns + " FROM whatif_jobs ORDER BY number DESC LIMIT ?1").c_str());
  if (!q.ok()) return q.error();
  sqlite3_stmt* s = q->get();
  sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(limit));
  int rc;
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) read_job(s, out.emplace_back());
  if (rc != SQLITE_DONE) return impl_->fail("cannot list the what-if jobs");
  return out;
}

model::Result<std::uint64_t> Store::whatif_job_max_number() const {
  std::lock_guard lock(impl_->mutex);
  if (impl_->schema_version < 4) return std::uint64_t{0};
  auto v = impl_->scalar("SELECT max(number) FROM whatif_jobs");
  if (!v.ok()) return v.error();
  return v.value() ? std::stoull(*v.value()) : std::uint64_t{0};
}

void Store::inject_commit_failures(int n) {
  std::lock_guard lock(impl_->mutex);
  impl_->fail_commits = n;
}

}  // namespace fabtwin::live
