// YieldService against a real server on the mini-fab: every query's answer is computed by hand from
// an independent reference, yield::YieldTracker on a replay of the same MES events (the engine's
// own records: per lot its history and product, per wafer its summary and, recomputed, its map).
// Also: bad requests named by field, the records surviving a crash and a recovery (the recorder's
// state in the checkpoint: lots in the fab at the checkpoint keep their whole history), and a
// schema 2 store migrated in place.
#include <grpcpp/grpcpp.h>
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>
#include <sstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "fabtwin/v1/yield.grpc.pb.h"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;

namespace {

constexpr std::int64_t kDay = 86'400'000;

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

const yield::YieldParams& params() {
  static const yield::YieldParams p =
      yield::read_yield_params(test::source_dir() / "twin_models" / "yield_params.json").value();
  return p;
}

// The mini-fab's MES events over 5 model days.
const std::vector<des::Event>& events() {
  static const std::vector<des::Event> v = [] {
    std::ostringstream out;
    auto r = twin::emulate(minifab(), {.sim = {.seed = 7}, .days = 5}, out);
    REQUIRE(r.ok());
    std::vector<des::Event> ev;
    std::istringstream in(out.str());
    int n = 0;
    for (std::string l; std::getline(in, l);) {
      auto e = twin::parse_event_json(l, minifab().data().epoch_unix_s, ++n);
      REQUIRE(e.ok());
      ev.push_back(std::move(e.value()));
    }
    return ev;
  }();
  return v;
}

// The reference: a follow simulation fed the same events through a ledger (as the live twin
// applies them), with the engine's YieldTracker and the names of the completed lots.
struct Reference : des::Observer {
  des::Simulation sim;
  twin::Ledger ledger;
  std::unique_ptr<yield::YieldTracker> tracker;
  std::map<std::uint64_t, std::string> names;  // lot key -> name
  explicit Reference(std::span<const des::Event> ev)
      : sim(des::Simulation::create(minifab(), {.mode = des::Mode::Follow}).value()), ledger(sim) {
    tracker = yield::YieldTracker::make(minifab(), params()).value();
    sim.add_observer(tracker.get());
    sim.add_observer(this);
    for (const auto& e : ev) ledger.apply(e);
    tracker->flush();
  }
  void on_lot_completed(const des::LotRecord& r) override {
    names[std::uint64_t{r.key.source} << 32 | r.key.sequence] = std::string(r.name);
  }
  std::string name(const yield::LotYield& l) const {
    return names.at(std::uint64_t{l.key.source} << 32 | l.key.sequence);
  }
};

struct Sums {
  std::uint64_t lots = 0, wafers = 0, dies = 0, pass = 0;
  double sum_y = 0, sum_y2 = 0;
  std::array<std::uint64_t, yield::kBinCount> bins{};
};

Sums lot_sums(const Reference& ref, std::size_t lot) {
  Sums s;
  s.lots = 1;
  for (const auto& w : ref.tracker->wafers()) {
    if (w.lot != lot) continue;
    ++s.wafers;
    s.dies += w.summary.dies;
    s.pass += w.summary.pass;
    const double y = w.summary.die_yield();
    s.sum_y += y;
    s.sum_y2 += y * y;
    for (std::size_t b = 0; b < yield::kBinCount; ++b) s.bins[b] += w.summary.bins[b];
  }
  return s;
}

void add(Sums& a, const Sums& b) {
  a.lots += b.lots;
  a.wafers += b.wafers;
  a.dies += b.dies;
  a.pass += b.pass;
  a.sum_y += b.sum_y;
  a.sum_y2 += b.sum_y2;
  for (std::size_t i = 0; i < a.bins.size(); ++i) a.bins[i] += b.bins[i];
}

void check_sums(const v1::YieldSums& got, const Sums& want, const std::string& what) {
  INFO(what);
  CHECK(got.lots() == want.lots);
  CHECK(got.wafers() == want.wafers);
  CHECK(got.dies() == want.dies);
  CHECK(got.pass() == want.pass);
  CHECK(got.die_yield() == Approx(static_cast<double>(want.pass) / want.dies).epsilon(1e-12));
  const double mean = want.sum_y / want.wafers;
  CHECK(got.mean_wafer_yield() == Approx(mean).epsilon(1e-12));
  CHECK(got.wafer_yield_sd() ==
        Approx(std::sqrt(std::max(0.0, want.sum_y2 / want.wafers - mean * mean))).margin(1e-9));
  REQUIRE(got.bins_size() == static_cast<int>(yield::kBinCount));
  for (int b = 0; b < got.bins_size(); ++b) CHECK(got.bins(b) == want.bins[static_cast<std::size_t>(b)]);
}

struct Served {
  test::TempDir dir{"fabtwin_yield"};
  std::unique_ptr<server::Server> server;
  std::unique_ptr<v1::YieldService::Stub> stub;
  void start(std::unique_ptr<live::LiveTwin> twin) {
    auto s = server::Server::start(std::move(twin), {.listen = ""});
    REQUIRE(s.ok());
    server = std::move(s.value());
    stub = v1::YieldService::NewStub(server->in_process_channel());
  }
};

live::LiveOptions options(const std::string& db) {
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db;
  o.yield = params();
  return o;
}

std::unique_ptr<live::LiveTwin> open_twin(const live::LiveOptions& o) {
  auto t = live::LiveTwin::open(minifab(), o);
  if (!t) FAIL(t.error().what());
  return std::move(t.value());
}

void ingest(live::LiveTwin& t, std::span<const des::Event> ev, std::size_t batch = 500) {
  for (std::size_t i = 0; i < ev.size(); i += batch) {
    auto r = t.ingest(ev.subspan(i, std::min(batch, ev.size() - i)));
    REQUIRE(r.ok());
  }
}

std::vector<v1::WaferRecord> list_wafers(v1::YieldService::Stub& stub, const v1::YieldFilter& f = {},
                                         std::uint32_t page = 0, int* pages = nullptr) {
  grpc::ClientContext ctx;
  v1::ListWafersRequest req;
  *req.mutable_filter() = f;
  req.set_page_size(page);
  auto reader = stub.ListWafers(&ctx, req);
  std::vector<v1::WaferRecord> out;
  int n = 0;
  for (v1::ListWafersReply r; reader->Read(&r); ++n)
    for (const auto& w : r.wafers()) out.push_back(w);
  const auto st = reader->Finish();
  REQUIRE(st.ok());
  if (pages) *pages = n;
  return out;
}

v1::YieldSummaryReply summary(v1::YieldService::Stub& stub, v1::GroupBy by, const v1::YieldFilter& f = {}) {
  grpc::ClientContext ctx;
  v1::YieldSummaryRequest req;
  *req.mutable_filter() = f;
  req.set_group_by(by);
  v1::YieldSummaryReply rep;
  const auto st = stub.YieldSummary(&ctx, req, &rep);
  INFO(st.error_message());
  REQUIRE(st.ok());
  return rep;
}

// The server's wafer list equals the reference's wafers (lot names, numbers, sums, bins).
void check_wafers_equal(const Reference& ref, const std::vector<v1::WaferRecord>& got) {
  const auto& d = minifab().data();
  REQUIRE(got.size() == ref.tracker->wafers().size());
  std::map<std::pair<std::string, std::uint32_t>, const v1::WaferRecord*> by_key;
  for (const auto& w : got) by_key[{w.lot(), w.wafer()}] = &w;
  for (const auto& w : ref.tracker->wafers()) {
    const auto& l = ref.tracker->lots()[w.lot];
    const auto it = by_key.find({ref.name(l), w.slot + 1});
    REQUIRE(it != by_key.end());
    const v1::WaferRecord& g = *it->second;
    CHECK(g.product() == d.products[l.product.index()].name);
    CHECK(g.completed_ms() == l.completed.time_since_epoch().count());
    CHECK(g.dies() == w.summary.dies);
    CHECK(g.pass() == w.summary.pass);
    for (std::size_t b = 0; b < yield::kBinCount; ++b)
      CHECK(g.bins(static_cast<int>(b)) == w.summary.bins[b]);
  }
}

}  // namespace

TEST_CASE("YieldService: every query equals the hand-computed answer from the engine's own records",
          "[services][yield]") {
  const Reference ref(events());
  const auto& d = minifab().data();
  const auto& lots = ref.tracker->lots();
  REQUIRE(lots.size() >= 20);  // a few days of the mini-fab complete dozens of lots

  Served s;
  {
    auto t = open_twin(options(s.dir.file("live.db")));
    ingest(*t, events());
    s.start(std::move(t));
  }
  auto& stub = *s.stub;

  // Per lot of the reference: sums, day, distinct tools and steps.
  std::vector<Sums> sums(lots.size());
  std::vector<std::set<std::uint32_t>> tools(lots.size()), steps(lots.size());
  for (std::size_t l = 0; l < lots.size(); ++l) {
    sums[l] = lot_sums(ref, l);
    const auto& rec = ref.tracker->records();
    for (std::uint32_t i = rec.history_offset[lots[l].history]; i < rec.history_offset[lots[l].history + 1];
         ++i) {
      tools[l].insert(rec.pairs[i].tool.value);
      steps[l].insert(rec.pairs[i].step.value);
    }
  }
  const auto day_of = [&](std::size_t l) { return lots[l].completed.time_since_epoch().count() / kDay; };

  SECTION("ListWafers: every wafer, in pages, with the reference's sums and bins") {
    int pages = 0;
    const auto all = list_wafers(stub, {}, 7, &pages);
    check_wafers_equal(ref, all);
    CHECK(pages == static_cast<int>((all.size() + 6) / 7));
    // Completion order: lots by completion time, wafers 1.. within a lot.
    for (std::size_t i = 1; i < all.size(); ++i) CHECK(all[i - 1].completed_ms() <= all[i].completed_ms());
    // A lot filter: its wafers only.
    v1::YieldFilter f;
    f.set_lot(ref.name(lots[3]));
    const auto one = list_wafers(stub, f);
    REQUIRE(one.size() == lots[3].wafers);
    for (std::size_t i = 0; i < one.size(); ++i) CHECK(one[i].wafer() == i + 1);
    // A time range [from, to): the lots completed in it.
    const std::int64_t from = lots[5].completed.time_since_epoch().count();
    const std::int64_t to = lots[15].completed.time_since_epoch().count();
    f.Clear();
    f.set_from_ms(from);
    f.set_to_ms(to);
    std::uint64_t want = 0;
    for (const auto& l : lots)
      if (l.completed.time_since_epoch().count() >= from && l.completed.time_since_epoch().count() < to)
        want += l.wafers;
    CHECK(list_wafers(stub, f).size() == want);
  }

  SECTION("YieldSummary by product, day, tool and step, pre-aggregated and from the lots") {
    for (const int mode : {0, 1, 2}) {
      // 0: days 1 and 2 (whole days: aggregates of 1 day); 1: from day 1 plus 1 ms (from the lots);
      // 2: everything (aggregates of 4 days and of 1)
      const bool aggregated = mode != 1;
      INFO("mode " << mode);
      v1::YieldFilter f;
      std::int64_t from = 0, to = INT64_MAX;
      if (mode == 0) {
        from = kDay;
        to = 3 * kDay;
        f.set_to_ms(to);
      } else if (mode == 1) {
        from = kDay + 1;
      }
      if (mode != 2) f.set_from_ms(from);
      std::vector<std::size_t> in;
      for (std::size_t l = 0; l < lots.size(); ++l) {
        const auto c = lots[l].completed.time_since_epoch().count();
        if (c >= from && c < to) in.push_back(l);
      }
      REQUIRE(in.size() >= 5);

      // product
      std::map<std::string, Sums> want_p;
      for (std::size_t l : in) add(want_p[d.products[lots[l].product.index()].name], sums[l]);
      auto r = summary(stub, v1::GROUP_BY_PRODUCT, f);
      CHECK(r.pre_aggregated() == aggregated);
      REQUIRE(r.rows_size() == static_cast<int>(want_p.size()));
      for (const auto& row : r.rows())
        check_sums(row.sums(), want_p.at(row.product()), "product " + row.product());
      // day
      std::map<std::int64_t, Sums> want_d;
      for (std::size_t l : in) add(want_d[day_of(l)], sums[l]);
      r = summary(stub, v1::GROUP_BY_DAY, f);
      CHECK(r.pre_aggregated() == aggregated);
      REQUIRE(r.rows_size() == static_cast<int>(want_d.size()));
      for (const auto& row : r.rows())
        check_sums(row.sums(), want_d.at(row.day()), "day " + std::to_string(row.day()));
      // tool: a lot counts once per tool it used
      std::map<std::string, Sums> want_t;
      for (std::size_t l : in)
        for (std::uint32_t t : tools[l]) add(want_t[d.tools[t].name], sums[l]);
      r = summary(stub, v1::GROUP_BY_TOOL, f);
      CHECK(r.pre_aggregated() == aggregated);
      REQUIRE(r.rows_size() == static_cast<int>(want_t.size()));
      for (const auto& row : r.rows()) check_sums(row.sums(), want_t.at(row.tool()), "tool " + row.tool());
      for (int i = 1; i < r.rows_size(); ++i) CHECK(r.rows(i - 1).tool() < r.rows(i).tool());
      // step: (route, number, product)
      std::map<std::tuple<std::string, std::uint32_t, std::string>, Sums> want_s;
      for (std::size_t l : in)
        for (std::uint32_t st : steps[l]) {
          const auto& step = d.steps[st];
          add(want_s[{d.routes[step.route.index()].name, step.number,
                      d.products[lots[l].product.index()].name}],
              sums[l]);
        }
      r = summary(stub, v1::GROUP_BY_STEP, f);
      CHECK(r.pre_aggregated() == aggregated);
      REQUIRE(r.rows_size() == static_cast<int>(want_s.size()));
      for (const auto& row : r.rows())
        check_sums(row.sums(), want_s.at({row.route(), row.step(), row.product()}),
                   "step " + row.route() + " " + std::to_string(row.step()));
    }
  }

  SECTION("YieldSummary with product, route, tool, step and lot filters") {
    const std::string product = d.products[0].name;
    const std::string route = d.routes[d.products[0].route.index()].name;
    const std::string tool = d.tools[*tools[0].begin()].name;
    const auto& step0 = d.steps[*steps[0].rbegin()];
    const auto total = [&](auto keep) {
      Sums s;
      for (std::size_t l = 0; l < lots.size(); ++l)
        if (keep(l)) add(s, sums[l]);
      return s;
    };
    v1::YieldFilter f;
    f.set_product(product);
    auto r = summary(stub, v1::GROUP_BY_PRODUCT, f);
    CHECK(r.pre_aggregated());
    REQUIRE(r.rows_size() == 1);
    check_sums(r.rows(0).sums(), total([&](std::size_t l) { return lots[l].product.index() == 0; }),
               "product");
    f.Clear();
    f.set_route(route);
    r = summary(stub, v1::GROUP_BY_PRODUCT, f);
    REQUIRE(r.rows_size() == 1);
    check_sums(r.rows(0).sums(), total([&](std::size_t l) { return lots[l].product.index() == 0; }), "route");
    f.Clear();
    f.set_tool(tool);
    r = summary(stub, v1::GROUP_BY_PRODUCT, f);
    CHECK_FALSE(r.pre_aggregated());
    Sums want = total([&](std::size_t l) { return tools[l].count(*tools[0].begin()) > 0; });
    Sums got_total;
    for (const auto& row : r.rows()) {
      got_total.lots += row.sums().lots();
      got_total.wafers += row.sums().wafers();
      got_total.pass += row.sums().pass();
    }
    CHECK(got_total.lots == want.lots);
    CHECK(got_total.wafers == want.wafers);
    CHECK(got_total.pass == want.pass);
    f.Clear();
    f.set_route(d.routes[step0.route.index()].name);
    f.set_step(step0.number);
    f.set_tool(tool);
    r = summary(stub, v1::GROUP_BY_DAY, f);
    want = total([&](std::size_t l) {
      const auto& rec = ref.tracker->records();
      for (std::uint32_t i = rec.history_offset[lots[l].history]; i < rec.history_offset[lots[l].history + 1];
           ++i)
        if (rec.pairs[i].step.value == *steps[0].rbegin() && d.tools[rec.pairs[i].tool.index()].name == tool)
          return true;
      return false;
    });
    std::uint64_t got_lots = 0;
    for (const auto& row : r.rows()) got_lots += row.sums().lots();
    CHECK(got_lots == want.lots);
    f.Clear();
    f.set_lot(ref.name(lots[2]));
    r = summary(stub, v1::GROUP_BY_TOOL, f);
    REQUIRE(r.rows_size() == static_cast<int>(tools[2].size()));
    for (const auto& row : r.rows()) check_sums(row.sums(), sums[2], "lot's tool " + row.tool());
  }

  SECTION("WaferMap: the reference's recomputed die map, its grid, a PNG") {
    for (const std::size_t w :
         {std::size_t{0}, ref.tracker->wafers().size() / 2, ref.tracker->wafers().size() - 1}) {
      const auto& wy = ref.tracker->wafers()[w];
      const auto& l = lots[wy.lot];
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot(ref.name(l));
      req.set_wafer(wy.slot + 1);
      req.set_png_size(w == 0 ? 128 : 0);
      v1::WaferMapReply rep;
      REQUIRE(stub.WaferMap(&ctx, req, &rep).ok());
      const auto want = ref.tracker->wafer_map(w);
      REQUIRE(rep.die_bins_size() == static_cast<int>(want.size()));
      for (std::size_t i = 0; i < want.size(); ++i) CHECK(rep.die_bins(static_cast<int>(i)) == want[i]);
      const auto& grid = ref.tracker->monte_carlo(l.product).grid();
      CHECK(rep.grid().rows() == grid.rows());
      CHECK(rep.grid().columns() == grid.columns());
      REQUIRE(rep.grid().die_column_size() == static_cast<int>(grid.size()));
      CHECK(rep.grid().die_column(5) == grid.column()[5]);
      CHECK(rep.grid().die_row(5) == grid.row()[5]);
      CHECK(rep.wafer().pass() == wy.summary.pass);
      CHECK(std::count(want.begin(), want.end(), yield::kBinPass) == wy.summary.pass);
      if (w == 0)
        CHECK(rep.png().substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
      else
        CHECK(rep.png().empty());
    }
  }

  SECTION("StackedMap: the per-die fail rate over a product's wafers and over one lot") {
    for (std::uint32_t p = 0; p < d.products.size(); ++p) {
      grpc::ClientContext ctx;
      v1::StackedMapRequest req;
      req.mutable_filter()->set_product(d.products[p].name);
      req.set_png_size(96);
      v1::StackedMapReply rep;
      REQUIRE(stub.StackedMap(&ctx, req, &rep).ok());
      const auto want = ref.tracker->stacked_fail_rate(model::ProductId{p}, [](std::size_t) { return true; });
      std::uint64_t wafers = 0;
      for (const auto& l : lots)
        if (l.product.index() == p) wafers += l.wafers;
      CHECK(rep.wafers() == wafers);
      CHECK(rep.product() == d.products[p].name);
      REQUIRE(rep.fail_rate_size() == static_cast<int>(want.size()));
      for (std::size_t i = 0; i < want.size(); ++i)
        CHECK(rep.fail_rate(static_cast<int>(i)) == Approx(want[i]).margin(1e-12));
      CHECK(rep.png().substr(0, 4) == std::string("\x89PNG", 4));
    }
    grpc::ClientContext ctx;
    v1::StackedMapRequest req;
    req.mutable_filter()->set_lot(ref.name(lots[1]));
    v1::StackedMapReply rep;
    REQUIRE(stub.StackedMap(&ctx, req, &rep).ok());
    CHECK(rep.wafers() == lots[1].wafers);
    const auto want = ref.tracker->stacked_fail_rate(
        lots[1].product, [&](std::size_t w) { return ref.tracker->wafers()[w].lot == 1; });
    for (std::size_t i = 0; i < want.size(); ++i)
      CHECK(rep.fail_rate(static_cast<int>(i)) == Approx(want[i]).margin(1e-12));
  }

  SECTION("Commonality: the engine's analysis of the same records, ranked") {
    grpc::ClientContext ctx;
    v1::CommonalityRequest req;
    req.add_levels(v1::COMMONALITY_LEVEL_STEP_TOOL);
    v1::CommonalityReply rep;
    REQUIRE(stub.Commonality(&ctx, req, &rep).ok());
    const auto want = yield::commonality(ref.tracker->records());
    CHECK(rep.lots() == lots.size());
    CHECK(rep.wafers() == ref.tracker->wafers().size());
    REQUIRE(rep.rows_size() == static_cast<int>(want.size()));
    REQUIRE(rep.tests_size() == 3);
    CHECK(rep.tests(0) == want.size());
    std::map<std::tuple<std::string, std::uint32_t, std::string>, double> p_of;
    for (const auto& x : want) {
      const auto& step = d.steps[x.pair.step.index()];
      p_of[{d.routes[step.route.index()].name, step.number, d.tools[x.pair.tool.index()].name}] = x.p;
    }
    for (int i = 0; i < rep.rows_size(); ++i) {
      const auto& row = rep.rows(i);
      CHECK(row.level() == v1::COMMONALITY_LEVEL_STEP_TOOL);
      CHECK(row.p() == Approx(p_of.at({row.route(), row.step(), row.tool()})).margin(1e-12));
      if (i > 0) CHECK(rep.rows(i - 1).p_adjusted() <= row.p_adjusted());
    }
  }

  SECTION(
      "Commonality at every level: the engine's analysis with routes as strata and the model's tool groups") {
    grpc::ClientContext ctx;
    v1::CommonalityRequest req;  // no levels: all three
    req.set_bonferroni(true);
    v1::CommonalityReply rep;
    REQUIRE(stub.Commonality(&ctx, req, &rep).ok());
    yield::YieldRecords rec = ref.tracker->records();
    rec.history_stratum.assign(rec.histories(), 0);
    for (const auto& l : lots) rec.history_stratum[l.history] = d.products[l.product.index()].route.value;
    rec.tool_group.clear();
    for (const auto& t : d.tools) rec.tool_group.push_back(t.group);
    yield::CommonalityOptions o;
    o.levels = {yield::Level::StepTool, yield::Level::Tool, yield::Level::ToolGroup};
    o.correction = yield::Correction::Bonferroni;
    const auto want = yield::commonality(rec, o);
    const auto tests = yield::tests_per_level(want);
    REQUIRE(rep.rows_size() == static_cast<int>(want.size()));
    for (int i = 0; i < 3; ++i) CHECK(rep.tests(i) == tests[static_cast<std::size_t>(i)]);
    CHECK(tests[1] > 0);
    CHECK(tests[2] > 0);
    for (int i = 0; i < rep.rows_size(); ++i) {
      const auto& row = rep.rows(i);
      const auto& x = want[static_cast<std::size_t>(i)];
      INFO("row " << i);
      CHECK(static_cast<int>(row.level()) == static_cast<int>(x.level) + 1);
      CHECK(row.tool() == (x.pair.tool.valid() ? d.tools[x.pair.tool.index()].name : std::string()));
      CHECK(row.tool_group() == d.tool_groups[x.group.index()].name);
      CHECK(row.p() == Approx(x.p).margin(1e-12));
      CHECK(row.p_adjusted() == Approx(x.p_adjusted).margin(1e-12));
      CHECK(row.statistic() == Approx(x.statistic).margin(1e-9));
      CHECK(row.df1() == x.df1);
      CHECK(row.df2() == x.df2);
      CHECK(row.effect() == Approx(x.effect).margin(1e-12));
    }
  }

  SECTION("bad requests: INVALID_ARGUMENT naming the field, NOT_FOUND for an unknown wafer") {
    const auto summary_status = [&](const v1::YieldFilter& f, v1::GroupBy by = v1::GROUP_BY_PRODUCT) {
      grpc::ClientContext ctx;
      v1::YieldSummaryRequest req;
      *req.mutable_filter() = f;
      req.set_group_by(by);
      v1::YieldSummaryReply rep;
      return stub.YieldSummary(&ctx, req, &rep);
    };
    v1::YieldFilter f;
    f.set_product("X");
    auto st = summary_status(f);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK(st.error_message() == "filter.product: unknown product 'X'");
    f.Clear();
    f.set_tool("no-tool");
    CHECK(summary_status(f).error_message() == "filter.tool: unknown tool 'no-tool'");
    f.Clear();
    f.set_route("no-route");
    CHECK(summary_status(f).error_message() == "filter.route: unknown route 'no-route'");
    f.Clear();
    f.set_product(d.products[0].name);
    f.set_step(99999);
    st = summary_status(f);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::StartsWith("filter.step: route '"));
    f.Clear();
    f.set_from_ms(10);
    f.set_to_ms(10);
    CHECK_THAT(summary_status(f).error_message(), Catch::StartsWith("filter.to_ms: must be after"));
    st = summary_status({}, v1::GROUP_BY_UNSPECIFIED);
    CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(st.error_message(), Catch::StartsWith("group_by:"));
    {
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot("no-such-lot");
      req.set_wafer(1);
      v1::WaferMapReply rep;
      st = stub.WaferMap(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
      CHECK_THAT(st.error_message(), Catch::StartsWith("lot: "));
    }
    {
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot(ref.name(lots[0]));
      req.set_wafer(lots[0].wafers + 1);
      v1::WaferMapReply rep;
      st = stub.WaferMap(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
      CHECK_THAT(st.error_message(), Catch::StartsWith("wafer: "));
    }
    for (const auto& [wafer, png] : {std::pair{0u, 0u}, std::pair{1u, 10u}}) {
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot(ref.name(lots[0]));
      req.set_wafer(wafer);
      req.set_png_size(png);
      v1::WaferMapReply rep;
      st = stub.WaferMap(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::StartsWith(wafer == 0 ? "wafer: " : "png_size: "));
    }
    if (d.products.size() > 1) {
      grpc::ClientContext ctx;
      v1::StackedMapRequest req;  // every product
      v1::StackedMapReply rep;
      st = stub.StackedMap(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::StartsWith("filter.product: a stacked map is of one product"));
    }
    {
      grpc::ClientContext ctx;
      v1::CommonalityRequest req;
      req.add_levels(static_cast<v1::CommonalityLevel>(9));
      v1::CommonalityReply rep;
      st = stub.Commonality(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::StartsWith("levels[0]: "));
    }
    {
      grpc::ClientContext ctx;
      v1::CommonalityRequest req;
      req.set_significance(2);
      v1::CommonalityReply rep;
      st = stub.Commonality(&ctx, req, &rep);
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::StartsWith("significance: "));
    }
    {
      grpc::ClientContext ctx;
      v1::ListWafersRequest req;
      req.set_page_size(1'000'000);
      auto reader = stub.ListWafers(&ctx, req);
      v1::ListWafersReply rep;
      CHECK_FALSE(reader->Read(&rep));
      st = reader->Finish();
      CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
      CHECK_THAT(st.error_message(), Catch::StartsWith("page_size: "));
    }
  }
}

TEST_CASE(
    "YieldService: a crash and a recovery lose and double no record; lots in the fab at the checkpoint keep "
    "their history",
    "[services][yield]") {
  const Reference ref(events());
  test::TempDir dir("fabtwin_yield");
  auto o = options(dir.file("live.db"));
  o.checkpoint_every_events = 150;  // several checkpoints, with lots in the fab at each
  o.checkpoint_at_close = false;    // the destructor is a crash
  const auto& ev = events();
  const std::size_t half = ev.size() / 2;
  {
    auto t = open_twin(o);
    ingest(*t, std::span(ev).first(half), 100);
  }  // crash: no checkpoint at close; the events after the last checkpoint are replayed at the open
  {
    auto t = open_twin(o);
    CHECK(t->recovery().checkpoint_seq.has_value());
    CHECK(t->recovery().events_replayed > 0);
    ingest(*t, std::span(ev).subspan(half), 300);
    Served s;
    s.start(std::move(t));
    check_wafers_equal(ref, list_wafers(*s.stub));
    // The histories: lots per tool as the reference's (a history cut at a checkpoint would miss tools).
    std::map<std::string, std::uint64_t> want;
    const auto& rec = ref.tracker->records();
    for (const auto& l : ref.tracker->lots()) {
      std::set<std::uint32_t> used;
      for (std::uint32_t i = rec.history_offset[l.history]; i < rec.history_offset[l.history + 1]; ++i)
        used.insert(rec.pairs[i].tool.value);
      for (std::uint32_t t : used) ++want[minifab().data().tools[t].name];
    }
    const auto by_tool = summary(*s.stub, v1::GROUP_BY_TOOL);
    REQUIRE(by_tool.rows_size() == static_cast<int>(want.size()));
    for (const auto& row : by_tool.rows()) CHECK(row.sums().lots() == want.at(row.tool()));
    // The maps too: a lot in the fab at a checkpoint whose history were cut would draw other rates.
    for (std::size_t w = 0; w < ref.tracker->wafers().size(); w += 97) {
      const auto& wy = ref.tracker->wafers()[w];
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot(ref.name(ref.tracker->lots()[wy.lot]));
      req.set_wafer(wy.slot + 1);
      v1::WaferMapReply rep;
      REQUIRE(s.stub->WaferMap(&ctx, req, &rep).ok());
      const auto want = ref.tracker->wafer_map(w);
      CHECK(std::equal(want.begin(), want.end(), rep.die_bins().begin(), rep.die_bins().end()));
    }
  }
}

TEST_CASE("YieldService: a schema 2 store is migrated in place and records the lots completed after",
          "[services][yield]") {
  test::TempDir dir("fabtwin_yield");
  const std::string db = dir.file("v2.db");
  const auto& ev = events();
  const std::size_t half = ev.size() / 2;
  {
    auto o = options(db);
    o.yield.reset();
    auto t = open_twin(o);
    ingest(*t, std::span(ev).first(half));
  }
  {  // make it schema 2: no what-if jobs, no yield tables, no checkpoints.yield_state
    auto s = live::Store::open_existing(db, false);
    REQUIRE(s.ok());
  }
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    char* err = nullptr;
    const int rc =
        sqlite3_exec(raw,
                     "DROP TABLE whatif_jobs; DROP TABLE yield_lots; DROP TABLE yield_wafers; DROP TABLE "
                     "yield_agg; ALTER TABLE "
                     "checkpoints DROP COLUMN yield_state; UPDATE meta SET value = '2' WHERE key = "
                     "'schema_version';",
                     nullptr, nullptr, &err);
    INFO((err ? err : ""));
    REQUIRE(rc == SQLITE_OK);
    sqlite3_close(raw);
  }
  {
    auto r = live::Store::open_existing(db, true);
    REQUIRE(r.ok());
    CHECK(r->meta_value("schema_version") == "2");
    CHECK(r->counts()->yield_lots == 0);
  }
  auto t = open_twin(options(db));
  CHECK(t->store().meta_value("schema_version") == std::to_string(live::kSchemaVersion));
  const std::uint64_t events_before = t->store().last_seq();
  CHECK(events_before > 0);
  ingest(*t, std::span(ev).subspan(half));
  Served s;
  s.start(std::move(t));
  const auto got = list_wafers(*s.stub);
  CHECK_FALSE(got.empty());
  // Only lots completed after the migration, each with all its wafers.
  const Reference ref(events());
  std::set<std::string> lots;
  for (const auto& w : got) lots.insert(w.lot());
  std::uint64_t want = 0;
  for (const auto& l : ref.tracker->lots())
    if (lots.count(ref.name(l))) want += l.wafers;
  CHECK(got.size() == want);
  CHECK(lots.size() < ref.tracker->lots().size());
}
