// Queries over a store's yield records (yield_query.hpp; schema in docs/operations.md).
#include "fabtwin/live/yield_query.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <variant>

#include "fabtwin/live/store.hpp"

namespace fabtwin::live {

using namespace fabtwin::model;

double YieldSums::wafer_yield_sd() const {
  if (!wafers) return 0.0;
  const double m = mean_wafer_yield();
  return std::sqrt(std::max(0.0, sum_y2 / static_cast<double>(wafers) - m * m));
}

YieldSums& YieldSums::operator+=(const YieldSums& o) {
  lots += o.lots;
  wafers += o.wafers;
  dies += o.dies;
  pass += o.pass;
  sum_y += o.sum_y;
  sum_y2 += o.sum_y2;
  for (std::size_t b = 0; b < bins.size(); ++b) bins[b] += o.bins[b];
  return *this;
}

namespace {

Error field_error(std::string field, std::string message) {
  return Error{"", 0, std::move(field), std::move(message)};
}

using Param = std::variant<std::int64_t, std::string>;

struct StmtFree {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFree>;

std::string text(sqlite3_stmt* s, int i) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

template <class T, std::size_t N>
void blob_array(sqlite3_stmt* s, int i, std::array<T, N>& out) {
  out.fill(0);
  const void* p = sqlite3_column_blob(s, i);
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, i));
  if (p) std::memcpy(out.data(), p, std::min(n, sizeof(T) * N));
}

// A filter resolved against the model: indices, the SQL condition on yield_lots (alias l).
struct Resolved {
  std::optional<std::vector<std::uint32_t>> products;  // nullopt: any
  std::optional<std::string> lot, tool;
  std::optional<std::uint32_t> step;
  std::vector<std::string> step_routes;  // routes the step number is on (empty: any route)
  std::optional<std::int64_t> from, to;
  bool none = false;  // the filter matches nothing (e.g. a product not on the route)

  bool by_lot_steps() const { return tool || step; }
  // " WHERE ..." (or "") with its parameters.
  std::string where(std::vector<Param>& params) const {
    std::vector<std::string> c;
    if (none) c.push_back("0");
    if (products) {
      std::string in;
      for (std::uint32_t p : *products) {
        in += in.empty() ? "?" : ", ?";
        params.emplace_back(static_cast<std::int64_t>(p));
      }
      c.push_back("l.product IN (" + (in.empty() ? std::string("NULL") : in) + ")");
    }
    if (from) {
      c.push_back("l.completed >= ?");
      params.emplace_back(*from);
    }
    if (to) {
      c.push_back("l.completed < ?");
      params.emplace_back(*to);
    }
    if (lot) {
      c.push_back("l.lot = ?");
      params.emplace_back(*lot);
    }
    if (by_lot_steps()) {
      std::string sub = "l.lot IN (SELECT lot FROM lot_steps WHERE 1";
      if (tool) {
        sub += " AND tool = ?";
        params.emplace_back(*tool);
      }
      if (step) {
        sub += " AND step = ?";
        params.emplace_back(static_cast<std::int64_t>(*step));
        if (!step_routes.empty()) {
          std::string in;
          for (const auto& r : step_routes) {
            in += in.empty() ? "?" : ", ?";
            params.emplace_back(r);
          }
          sub += " AND route IN (" + in + ")";
        }
      }
      c.push_back(sub + ")");
    }
    std::string w;
    for (const auto& x : c) w += (w.empty() ? " WHERE " : " AND ") + x;
    return w;
  }
};

}  // namespace

namespace {

// BEGIN ... COMMIT around a query's statements (declared before them, so it ends after them).
struct ReadTransaction {
  sqlite3* db;
  explicit ReadTransaction(sqlite3* d) : db(d) { sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr); }
  ~ReadTransaction() {
    if (sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK)
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  ReadTransaction(const ReadTransaction&) = delete;
  ReadTransaction& operator=(const ReadTransaction&) = delete;
};

}  // namespace

struct YieldQuery::Impl {
  std::string path;
  mutable std::mutex mu;
  mutable std::vector<sqlite3*> free;  // idle read connections

  ~Impl() {
    for (sqlite3* db : free) sqlite3_close_v2(db);
  }

  // A read connection from the pool (opened when none is idle), returned by the Lease.
  struct Lease {
    const Impl* impl;
    sqlite3* db;
    ~Lease() {
      if (!db) return;
      std::lock_guard lock(impl->mu);
      impl->free.push_back(db);
    }
  };
  Result<std::unique_ptr<Lease>> lease() const {
    {
      std::lock_guard lock(mu);
      if (!free.empty()) {
        sqlite3* db = free.back();
        free.pop_back();
        return std::unique_ptr<Lease>(new Lease{this, db});
      }
    }
    sqlite3* db = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string m = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
      sqlite3_close_v2(db);
      return Error{path, 0, "", "cannot open the store for reading: " + m};
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_exec(db, "PRAGMA cache_size = -32768", nullptr, nullptr, nullptr);
    return std::unique_ptr<Lease>(new Lease{this, db});
  }
  Result<Stmt> prepare(sqlite3* db, const std::string& sql, const std::vector<Param>& params) const {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), static_cast<int>(sql.size()), &s, nullptr) != SQLITE_OK)
      return Error{path, 0, "", std::string("cannot query the yield records: ") + sqlite3_errmsg(db)};
    Stmt st(s);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int at = static_cast<int>(i + 1);
      if (const auto* v = std::get_if<std::int64_t>(&params[i]))
        sqlite3_bind_int64(s, at, *v);
      else {
        const auto& t = std::get<std::string>(params[i]);
        sqlite3_bind_text(s, at, t.data(), static_cast<int>(t.size()), SQLITE_TRANSIENT);
      }
    }
    return st;
  }
  Error failed(sqlite3* db) const {
    return Error{path, 0, "", std::string("cannot read the yield records: ") + sqlite3_errmsg(db)};
  }
};

YieldQuery::YieldQuery(const Model& model, std::unique_ptr<Impl> impl, std::vector<yield::DieGrid> grids)
    : model_(&model), impl_(std::move(impl)), grids_(std::move(grids)) {}
YieldQuery::~YieldQuery() = default;

Result<std::unique_ptr<YieldQuery>> YieldQuery::open(const Model& model, const std::string& db_path,
                                                     std::vector<yield::DieGrid> grids) {
  auto impl = std::make_unique<Impl>();
  impl->path = db_path;
  {
    auto l = impl->lease();
    if (!l.ok()) return l.error();
    auto s = impl->prepare(l.value()->db, "SELECT value FROM meta WHERE key = 'schema_version'", {});
    if (!s.ok()) return s.error();
    if (sqlite3_step(s->get()) != SQLITE_ROW || text(s->get(), 0) != std::to_string(kSchemaVersion))
      return Error{db_path, 0, "schema_version",
                   "yield queries need a store of schema version " + std::to_string(kSchemaVersion) +
                       " (open it for writing once to migrate it)"};
  }
  return std::unique_ptr<YieldQuery>(new YieldQuery(model, std::move(impl), std::move(grids)));
}

namespace {

Result<Resolved> resolve(const Model& m, const YieldFilter& f) {
  const auto& d = m.data();
  Resolved r;
  if (f.product) {
    auto it = std::find_if(d.products.begin(), d.products.end(),
                           [&](const Product& p) { return p.name == *f.product; });
    if (it == d.products.end()) return field_error("filter.product", "unknown product '" + *f.product + "'");
    r.products = std::vector<std::uint32_t>{static_cast<std::uint32_t>(it - d.products.begin())};
  }
  if (f.route) {
    auto it =
        std::find_if(d.routes.begin(), d.routes.end(), [&](const Route& x) { return x.name == *f.route; });
    if (it == d.routes.end()) return field_error("filter.route", "unknown route '" + *f.route + "'");
    const auto route = static_cast<std::uint32_t>(it - d.routes.begin());
    std::vector<std::uint32_t> on;
    for (std::uint32_t p = 0; p < d.products.size(); ++p)
      if (d.products[p].route.value == route && (!r.products || (*r.products)[0] == p)) on.push_back(p);
    if (on.empty()) r.none = true;
    r.products = on;
  }
  if (f.tool) {
    if (std::none_of(d.tools.begin(), d.tools.end(), [&](const Tool& t) { return t.name == *f.tool; }))
      return field_error("filter.tool", "unknown tool '" + *f.tool + "'");
    r.tool = f.tool;
  }
  if (f.step) {
    r.step = f.step;
    if (r.products) {
      std::set<std::uint32_t> routes;
      for (std::uint32_t p : *r.products) routes.insert(d.products[p].route.value);
      for (std::uint32_t rt : routes) {
        const Route& route = d.routes[rt];
        bool found = false;
        for (std::uint32_t s = 0; s < route.step_count && !found; ++s)
          found = d.steps[route.first_step.value + s].number == *f.step;
        if (!found)
          return field_error("filter.step",
                             "route '" + route.name + "' has no step " + std::to_string(*f.step));
        r.step_routes.push_back(route.name);
      }
    }
  }
  if (f.lot) r.lot = f.lot;
  if (f.from_ms && f.to_ms && *f.to_ms <= *f.from_ms)
    return field_error("filter.to_ms", "must be after filter.from_ms (" + std::to_string(*f.from_ms) +
                                           "), not " + std::to_string(*f.to_ms));
  r.from = f.from_ms;
  r.to = f.to_ms;
  return r;
}

std::int64_t floor_day(std::int64_t ms) {
  return ms >= 0 ? ms / kMsPerDay : -((-ms + kMsPerDay - 1) / kMsPerDay);
}

std::vector<yield::StepTool> decode_history(sqlite3_stmt* s, int col) {
  std::vector<yield::StepTool> out;
  const auto* p = static_cast<const std::uint32_t*>(sqlite3_column_blob(s, col));
  const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, col)) / (2 * sizeof(std::uint32_t));
  if (!p) return out;
  out.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t v[2];
    std::memcpy(v, reinterpret_cast<const char*>(p) + i * 2 * sizeof(std::uint32_t), sizeof v);
    out[i] = {StepId{v[0]}, ToolId{v[1]}};
  }
  return out;
}

// Sums of one lot row: columns wafers, dies, pass, sum_y, sum_y2, bins (u64 blob) from `col`.
YieldSums lot_sums(sqlite3_stmt* s, int col) {
  YieldSums y;
  y.lots = 1;
  y.wafers = static_cast<std::uint64_t>(sqlite3_column_int64(s, col));
  y.dies = static_cast<std::uint64_t>(sqlite3_column_int64(s, col + 1));
  y.pass = static_cast<std::uint64_t>(sqlite3_column_int64(s, col + 2));
  y.sum_y = sqlite3_column_double(s, col + 3);
  y.sum_y2 = sqlite3_column_double(s, col + 4);
  blob_array(s, col + 5, y.bins);
  return y;
}

}  // namespace

Result<std::uint64_t> YieldQuery::wafers(const YieldFilter& filter,
                                         const std::function<bool(const WaferInfo&)>& f) const {
  auto r = resolve(*model_, filter);
  if (!r.ok()) return r.error();
  auto l = impl_->lease();
  if (!l.ok()) return l.error();
  sqlite3* db = l.value()->db;
  std::vector<Param> params;
  const std::string sql =
      "SELECT l.lot, w.id & 65535, l.product, l.completed, w.dies, w.pass, w.bins FROM yield_lots l JOIN "
      "yield_wafers w ON w.id BETWEEN l.id * 65536 AND l.id * 65536 + 65535" +
      r->where(params) + " ORDER BY l.id, w.id";
  auto s = impl_->prepare(db, sql, params);
  if (!s.ok()) return s.error();
  std::uint64_t n = 0;
  WaferInfo w;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    sqlite3_stmt* q = s->get();
    w.lot = text(q, 0);
    w.wafer = static_cast<std::uint32_t>(sqlite3_column_int64(q, 1));
    w.product = ProductId{static_cast<std::uint32_t>(sqlite3_column_int64(q, 2))};
    w.completed_ms = sqlite3_column_int64(q, 3);
    w.dies = static_cast<std::uint32_t>(sqlite3_column_int64(q, 4));
    w.pass = static_cast<std::uint32_t>(sqlite3_column_int64(q, 5));
    blob_array(q, 6, w.bins);
    ++n;
    if (!f(w)) return n;
  }
  if (rc != SQLITE_DONE) return impl_->failed(db);
  return n;
}

Result<Summary> YieldQuery::summary(const YieldFilter& filter, GroupBy by) const {
  auto r = resolve(*model_, filter);
  if (!r.ok()) return r.error();
  auto l = impl_->lease();
  if (!l.ok()) return l.error();
  sqlite3* db = l.value()->db;
  // One read transaction: every block and the roll-up mark from the same snapshot of the store.
  const ReadTransaction snapshot(db);
  std::int64_t rolled = 0;  // days before this are in the blocks of more than one day
  {
    auto m = impl_->prepare(db, "SELECT value FROM meta WHERE key = 'yield_agg_rolled_until'", {});
    if (!m.ok()) return m.error();
    if (sqlite3_step(m->get()) == SQLITE_ROW) rolled = std::stoll(text(m->get(), 0));
  }
  const auto& d = model_->data();
  // Sums per (product, key): dense arrays for product, tool and step keys (O(1) per row), a map for days.
  struct Groups {
    std::size_t products = 0, keys = 0;  // keys 0: sparse (days)
    std::vector<YieldSums> dense;
    std::vector<char> used;
    std::map<std::pair<std::uint32_t, std::int64_t>, YieldSums> sparse;
    YieldSums* at(std::uint32_t p, std::int64_t k) {
      if (keys == 0) return &sparse[{p, k}];
      if (p >= products || k < 0 || static_cast<std::size_t>(k) >= keys) return nullptr;  // not of this model
      const std::size_t i = p * keys + static_cast<std::size_t>(k);
      used[i] = 1;
      return &dense[i];
    }
  } groups;
  groups.products = by == GroupBy::Product || by == GroupBy::Step ? d.products.size() : 1;
  groups.keys = by == GroupBy::Product ? 1
                : by == GroupBy::Tool  ? d.tools.size()
                : by == GroupBy::Step  ? d.steps.size()
                                       : 0;
  groups.dense.resize(groups.products * groups.keys);
  groups.used.resize(groups.dense.size());
  const auto add_to = [&](std::uint32_t p, std::int64_t k, const YieldSums& y) {
    if (YieldSums* g = groups.at(p, k)) *g += y;
  };
  Summary out;
  const bool whole_days = (!r->from || *r->from % kMsPerDay == 0) && (!r->to || *r->to % kMsPerDay == 0);
  out.pre_aggregated = !r->lot && !r->by_lot_steps() && !r->none && whole_days;
  const auto product_ok = [&](std::uint32_t p) {
    return !r->products || std::find(r->products->begin(), r->products->end(), p) != r->products->end();
  };
  if (out.pre_aggregated) {
    auto range =
        impl_->prepare(db, "SELECT min(start), max(start) FROM yield_agg WHERE kind = 0 AND span = 1", {});
    if (!range.ok()) return range.error();
    if (sqlite3_step(range->get()) != SQLITE_ROW) return impl_->failed(db);
    if (sqlite3_column_type(range->get(), 0) != SQLITE_NULL) {
      std::int64_t d0 = sqlite3_column_int64(range->get(), 0), d1 = sqlite3_column_int64(range->get(), 1) + 1;
      if (r->from) d0 = std::max(d0, floor_day(*r->from));
      if (r->to) d1 = std::min(d1, floor_day(*r->to));
      const char* cols =
          "product, key, lots, wafers, dies, pass, sum_y, sum_y2, bin0, bin1, bin2, bin3, bin4";
      auto read_rows = [&](sqlite3_stmt* q, bool day_key) -> Result<bool> {
        int rc;
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
          const auto p = static_cast<std::uint32_t>(sqlite3_column_int64(q, 0));
          if (!product_ok(p)) continue;
          const std::int64_t key = sqlite3_column_int64(q, 1);
          YieldSums y;
          y.lots = static_cast<std::uint64_t>(sqlite3_column_int64(q, 2));
          y.wafers = static_cast<std::uint64_t>(sqlite3_column_int64(q, 3));
          y.dies = static_cast<std::uint64_t>(sqlite3_column_int64(q, 4));
          y.pass = static_cast<std::uint64_t>(sqlite3_column_int64(q, 5));
          y.sum_y = sqlite3_column_double(q, 6);
          y.sum_y2 = sqlite3_column_double(q, 7);
          for (int b = 0; b < 5; ++b)
            y.bins[static_cast<std::size_t>(b)] = static_cast<std::uint64_t>(sqlite3_column_int64(q, 8 + b));
          const std::uint32_t gp = by == GroupBy::Product || by == GroupBy::Step ? p : 0;
          add_to(gp, day_key ? sqlite3_column_int64(q, 13) : key, y);
        }
        if (rc != SQLITE_DONE) return impl_->failed(db);
        return true;
      };
      if (d0 < d1) {
        if (by == GroupBy::Day) {
          auto q = impl_->prepare(db,
                                  std::string("SELECT ") + cols +
                                      ", start FROM yield_agg WHERE kind = 0 AND span = 1 AND start >= ? AND "
                                      "start < ?",
                                  {d0, d1});
          if (!q.ok()) return q.error();
          if (auto ok = read_rows(q->get(), true); !ok.ok()) return ok.error();
        } else {
          const std::int64_t kind = by == GroupBy::Product ? 0 : by == GroupBy::Tool ? 1 : 2;
          // One product: in the key (the primary key's prefix), so its rows alone are read.
          // A summary by tool over every product: the tool rows summed over products.
          const bool all = by == GroupBy::Tool && !r->products;
          const bool one = all || (r->products && r->products->size() == 1);
          const std::int64_t product = all ? std::int64_t{kYieldAggAllProducts} : one ? (*r->products)[0] : 0;
          auto q = impl_->prepare(db,
                                  std::string("SELECT ") + cols +
                                      " FROM yield_agg WHERE kind = ? AND span = ? AND start = ?" +
                                      (one ? " AND product = ?" : ""),
                                  {});
          if (!q.ok()) return q.error();
          // The range as blocks: at each day the largest aligned block that fits.
          for (std::int64_t day = d0; day < d1;) {
            std::int64_t span = 1;
            for (std::int64_t s : kYieldAggSpans)
              if (s == 1 || (day >= 0 && day % s == 0 && day + s <= d1 && day + s <= rolled)) {
                span = s;
                break;
              }
            sqlite3_reset(q->get());
            sqlite3_bind_int64(q->get(), 1, kind);
            sqlite3_bind_int64(q->get(), 2, span);
            sqlite3_bind_int64(q->get(), 3, day);
            if (one) sqlite3_bind_int64(q->get(), 4, product);
            if (auto ok = read_rows(q->get(), false); !ok.ok()) return ok.error();
            day += span;
          }
        }
      }
    }
  } else {
    std::vector<Param> params;
    const bool history = by == GroupBy::Tool || by == GroupBy::Step;
    const std::string sql =
        std::string("SELECT l.product, l.completed, l.wafers, l.dies, l.pass, l.sum_y, l.sum_y2, l.bins") +
        (history ? ", l.history" : "") + " FROM yield_lots l" + r->where(params) + " ORDER BY l.id";
    auto q = impl_->prepare(db, sql, params);
    if (!q.ok()) return q.error();
    int rc;
    std::vector<std::uint32_t> keys;
    std::vector<std::uint64_t> stamp(by == GroupBy::Step   ? d.steps.size()
                                     : by == GroupBy::Tool ? d.tools.size()
                                                           : 0,
                                     0);
    std::uint64_t lot_no = 0;
    while ((rc = sqlite3_step(q->get())) == SQLITE_ROW) {
      sqlite3_stmt* s = q->get();
      const auto p = static_cast<std::uint32_t>(sqlite3_column_int64(s, 0));
      const YieldSums y = lot_sums(s, 2);
      switch (by) {
        case GroupBy::Product:
          add_to(p, 0, y);
          break;
        case GroupBy::Day:
          add_to(0, floor_day(sqlite3_column_int64(s, 1)), y);
          break;
        case GroupBy::Tool:
        case GroupBy::Step: {
          // Each key once per lot: a stamp per key instead of sorting the history.
          ++lot_no;
          const auto* h = static_cast<const char*>(sqlite3_column_blob(s, 8));
          const auto n = static_cast<std::size_t>(sqlite3_column_bytes(s, 8)) / (2 * sizeof(std::uint32_t));
          keys.clear();
          for (std::size_t i = 0; i < n; ++i) {
            std::uint32_t v[2];
            std::memcpy(v, h + i * sizeof v, sizeof v);
            const std::uint32_t k = by == GroupBy::Step ? v[0] : v[1];
            if (k >= stamp.size() || stamp[k] == lot_no) continue;  // (an invalid tool: none recorded)
            stamp[k] = lot_no;
            keys.push_back(k);
          }
          for (std::uint32_t k : keys) add_to(by == GroupBy::Step ? p : 0, k, y);
          break;
        }
      }
    }
    if (rc != SQLITE_DONE) return impl_->failed(db);
  }
  std::vector<std::pair<std::pair<std::uint32_t, std::int64_t>, const YieldSums*>> found;
  if (groups.keys == 0)
    for (const auto& [k, y] : groups.sparse) found.push_back({k, &y});
  else
    for (std::size_t i = 0; i < groups.dense.size(); ++i)
      if (groups.used[i])
        found.push_back(
            {{static_cast<std::uint32_t>(i / groups.keys), static_cast<std::int64_t>(i % groups.keys)},
             &groups.dense[i]});
  for (const auto& [k, y] : found) {
    SummaryRow row;
    row.sums = *y;
    switch (by) {
      case GroupBy::Product:
        row.product = ProductId{k.first};
        break;
      case GroupBy::Day:
        row.day = k.second;
        break;
      case GroupBy::Tool:
        row.tool = ToolId{static_cast<std::uint32_t>(k.second)};
        break;
      case GroupBy::Step:
        row.product = ProductId{k.first};
        row.step = StepId{static_cast<std::uint32_t>(k.second)};
        break;
    }
    out.rows.push_back(row);
  }
  const auto pname = [&](ProductId p) -> const std::string& { return d.products[p.index()].name; };
  switch (by) {
    case GroupBy::Product:
      std::sort(out.rows.begin(), out.rows.end(), [&](const SummaryRow& a, const SummaryRow& b) {
        return pname(a.product) < pname(b.product);
      });
      break;
    case GroupBy::Day:
      break;  // map order: by day
    case GroupBy::Tool:
      std::sort(out.rows.begin(), out.rows.end(), [&](const SummaryRow& a, const SummaryRow& b) {
        return d.tools[a.tool.index()].name < d.tools[b.tool.index()].name;
      });
      break;
    case GroupBy::Step:
      std::sort(out.rows.begin(), out.rows.end(), [&](const SummaryRow& a, const SummaryRow& b) {
        const Step& sa = d.steps[a.step.index()];
        const Step& sb = d.steps[b.step.index()];
        const auto& ra = d.routes[sa.route.index()].name;
        const auto& rb = d.routes[sb.route.index()].name;
        if (ra != rb) return ra < rb;
        if (sa.number != sb.number) return sa.number < sb.number;
        return pname(a.product) < pname(b.product);
      });
      break;
  }
  return out;
}

Result<WaferMapResult> YieldQuery::wafer_map(const std::string& lot, std::uint32_t wafer) const {
  if (grids_.empty())
    return field_error("yield", "yield recording is off (fabtwin serve --no-yield): no die grids");
  if (lot.empty()) return field_error("lot", "empty (name a completed lot)");
  auto l = impl_->lease();
  if (!l.ok()) return l.error();
  sqlite3* db = l.value()->db;
  auto s =
      impl_->prepare(db,
                     "SELECT l.product, l.completed, w.dies, w.pass, w.bins, w.map FROM yield_lots l JOIN "
                     "yield_wafers w ON w.id = l.id * 65536 + ? WHERE l.lot = ? ORDER BY l.id DESC LIMIT 1",
                     {static_cast<std::int64_t>(wafer), lot});
  if (!s.ok()) return s.error();
  const int rc = sqlite3_step(s->get());
  if (rc == SQLITE_ROW) {
    sqlite3_stmt* q = s->get();
    WaferMapResult out;
    out.wafer.lot = lot;
    out.wafer.wafer = wafer;
    out.wafer.product = ProductId{static_cast<std::uint32_t>(sqlite3_column_int64(q, 0))};
    out.wafer.completed_ms = sqlite3_column_int64(q, 1);
    out.wafer.dies = static_cast<std::uint32_t>(sqlite3_column_int64(q, 2));
    out.wafer.pass = static_cast<std::uint32_t>(sqlite3_column_int64(q, 3));
    blob_array(q, 4, out.wafer.bins);
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(q, 5));
    out.bins.assign(p, p + sqlite3_column_bytes(q, 5));
    if (out.wafer.product.index() >= grids_.size() ||
        out.bins.size() != grids_[out.wafer.product.index()].size())
      return Error{impl_->path, 0, "",
                   "lot '" + lot + "' wafer " + std::to_string(wafer) +
                       ": the stored map does not fit the product's die grid (other yield parameters?)"};
    return out;
  }
  if (rc != SQLITE_DONE) return impl_->failed(db);
  auto n = impl_->prepare(db, "SELECT wafers FROM yield_lots WHERE lot = ? ORDER BY id DESC LIMIT 1", {lot});
  if (!n.ok()) return n.error();
  if (sqlite3_step(n->get()) == SQLITE_ROW)
    return field_error("wafer", "lot '" + lot + "' has wafers 1 to " +
                                    std::to_string(sqlite3_column_int64(n->get(), 0)) + ", not " +
                                    std::to_string(wafer));
  return field_error(
      "lot", "no yield record of lot '" + lot + "' (not completed, or completed before yield was recorded)");
}

Result<StackedMapResult> YieldQuery::stacked_map(const YieldFilter& filter) const {
  if (grids_.empty())
    return field_error("yield", "yield recording is off (fabtwin serve --no-yield): no die grids");
  auto r = resolve(*model_, filter);
  if (!r.ok()) return r.error();
  auto l = impl_->lease();
  if (!l.ok()) return l.error();
  sqlite3* db = l.value()->db;
  std::vector<Param> params;
  const std::string sql =
      "SELECT l.product, w.map FROM yield_lots l JOIN yield_wafers w ON w.id BETWEEN l.id * 65536 AND l.id * "
      "65536 + 65535" +
      r->where(params);
  auto s = impl_->prepare(db, sql, params);
  if (!s.ok()) return s.error();
  std::map<std::uint32_t, std::pair<std::uint64_t, std::vector<std::uint64_t>>> per_product;
  int rc;
  while ((rc = sqlite3_step(s->get())) == SQLITE_ROW) {
    const auto p = static_cast<std::uint32_t>(sqlite3_column_int64(s->get(), 0));
    if (p >= grids_.size()) continue;
    auto& [n, fails] = per_product[p];
    if (fails.empty()) fails.assign(grids_[p].size(), 0);
    const auto* m = static_cast<const std::uint8_t*>(sqlite3_column_blob(s->get(), 1));
    const auto len =
        std::min<std::size_t>(static_cast<std::size_t>(sqlite3_column_bytes(s->get(), 1)), fails.size());
    for (std::size_t i = 0; i < len; ++i) fails[i] += m[i] != yield::kBinPass;
    ++n;
  }
  if (rc != SQLITE_DONE) return impl_->failed(db);
  if (per_product.size() > 1) {
    std::string names;
    for (const auto& [p, _] : per_product)
      names += (names.empty() ? "" : ", ") + model_->data().products[p].name;
    return field_error("filter.product",
                       "a stacked map is of one product; the filter's wafers are of " + names);
  }
  StackedMapResult out;
  if (per_product.empty()) {
    if (r->products && r->products->size() == 1) out.product = ProductId{(*r->products)[0]};
    return out;
  }
  const auto& [p, v] = *per_product.begin();
  out.product = ProductId{p};
  out.wafers = v.first;
  out.fail_rate.resize(v.second.size());
  for (std::size_t i = 0; i < v.second.size(); ++i)
    out.fail_rate[i] = static_cast<double>(v.second[i]) / static_cast<double>(v.first);
  return out;
}

Result<CommonalityOut> YieldQuery::commonality(const YieldFilter& filter, const CommonalityQuery& cq) const {
  if (!(cq.significance > 0 && cq.significance < 1))
    return field_error("significance", "must be in (0, 1), not " + std::to_string(cq.significance));
  auto r = resolve(*model_, filter);
  if (!r.ok()) return r.error();
  auto l = impl_->lease();
  if (!l.ok()) return l.error();
  sqlite3* db = l.value()->db;
  std::vector<Param> params;
  const std::string where = r->where(params);
  auto lots = impl_->prepare(
      db, "SELECT l.id, l.route, l.history FROM yield_lots l" + where + " ORDER BY l.id", params);
  if (!lots.ok()) return lots.error();
  yield::YieldRecords rec;
  std::map<std::int64_t, std::uint32_t> history_of;  // lot id -> history
  CommonalityOut out;
  int rc;
  while ((rc = sqlite3_step(lots->get())) == SQLITE_ROW) {
    const auto h = decode_history(lots->get(), 2);
    // Stratum: the route (the Tool and ToolGroup levels compare lots of one route).
    history_of[sqlite3_column_int64(lots->get(), 0)] =
        rec.add_history(h, static_cast<std::uint32_t>(sqlite3_column_int64(lots->get(), 1)));
    ++out.lots;
  }
  if (rc != SQLITE_DONE) return impl_->failed(db);
  auto wafers =
      impl_->prepare(db,
                     "SELECT l.id, w.dies, w.pass FROM yield_lots l JOIN yield_wafers w ON w.id BETWEEN l.id "
                     "* 65536 AND l.id * 65536 + 65535" +
                         where + " ORDER BY l.id, w.id",
                     params);
  if (!wafers.ok()) return wafers.error();
  while ((rc = sqlite3_step(wafers->get())) == SQLITE_ROW) {
    const auto it = history_of.find(sqlite3_column_int64(wafers->get(), 0));
    if (it == history_of.end()) continue;
    const auto dies = sqlite3_column_int64(wafers->get(), 1);
    rec.add_wafer(
        it->second,
        dies ? static_cast<double>(sqlite3_column_int64(wafers->get(), 2)) / static_cast<double>(dies) : 0.0);
    ++out.wafers;
  }
  if (rc != SQLITE_DONE) return impl_->failed(db);

  std::vector<CommonalityLevel> levels = cq.levels;
  if (levels.empty())
    levels = {CommonalityLevel::StepTool, CommonalityLevel::Tool, CommonalityLevel::ToolGroup};
  yield::CommonalityOptions o;
  o.significance = cq.significance;
  o.correction = cq.bonferroni ? yield::Correction::Bonferroni : yield::Correction::Holm;
  o.levels.clear();
  for (CommonalityLevel lv : levels)
    o.levels.push_back(lv == CommonalityLevel::StepTool ? yield::Level::StepTool
                       : lv == CommonalityLevel::Tool   ? yield::Level::Tool
                                                        : yield::Level::ToolGroup);
  const auto& d = model_->data();
  rec.tool_group.resize(d.tools.size());
  for (std::size_t t = 0; t < d.tools.size(); ++t) rec.tool_group[t] = d.tools[t].group;
  if (rec.histories() > 0) {
    const auto res = yield::commonality(rec, o);
    const auto tests = yield::tests_per_level(res);
    for (std::size_t i = 0; i < 3; ++i) out.tests[i] = static_cast<std::uint32_t>(tests[i]);
    for (const auto& x : res) {
      CommonalityRowOut row;
      row.level = x.level == yield::Level::StepTool ? CommonalityLevel::StepTool
                  : x.level == yield::Level::Tool   ? CommonalityLevel::Tool
                                                    : CommonalityLevel::ToolGroup;
      row.step = x.pair.step;
      row.tool = x.pair.tool;
      row.group = x.group;
      if (!row.group.valid() && x.pair.tool.valid()) row.group = d.tools[x.pair.tool.index()].group;
      row.lots = x.units_in + x.units_out;
      row.lots_in = x.units_in;
      row.yield_in = x.yield_in;
      row.yield_out = x.yield_out;
      row.effect = x.effect;
      row.statistic = x.statistic;
      row.df1 = x.df1;
      row.df2 = x.df2;
      row.p = x.p;
      row.p_adjusted = x.p_adjusted;
      row.significant = x.significant;
      out.rows.push_back(row);
    }
  }
  // (the engine ranks them: p_adjusted, then p, then level, then effect)
  return out;
}

model::Result<bool> check_filter(const model::Model& model, const YieldFilter& filter) {
  auto r = resolve(model, filter);
  if (!r.ok()) return r.error();
  return true;
}

}  // namespace fabtwin::live
