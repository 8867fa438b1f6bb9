// The yield run's figures (fabtwin/yield_tracker/summary.hpp) from a tracker fed by hand: per tool,
// per product, the lots behind a suspect pair, the worst wafer.
#include <algorithm>
#include <catch2/catch.hpp>
#include <set>

#include "fabtwin/io/load.hpp"
#include "fabtwin/yield_tracker/summary.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

struct Fed {
  Model model;
  std::unique_ptr<yield::YieldTracker> tracker;
  ProductId product{0};
  StepId s0, s1;
  ToolId x{0}, y{1}, z{2};
};

des::StepRecord step([[maybe_unused]] std::uint32_t slot, des::LotKey key, ProductId p, StepId s, ToolId t,
                     double day) {
  des::StepRecord r;

  r.key = key;
  r.product = p;
  r.step = s;
  r.tool = t;
  r.queued = r.started = SimTime{round_ms(day * kMsPerDay)};
  r.finished = SimTime{round_ms((day + 0.1) * kMsPerDay)};
  return r;
}

des::LotRecord done([[maybe_unused]] std::uint32_t slot, des::LotKey key, ProductId p, double day) {
  des::LotRecord r;

  r.key = key;
  r.product = p;
  r.released = SimTime{};
  r.completed = SimTime{round_ms(day * kMsPerDay)};
  return r;
}

// Lot A runs s0 on tool x, then s1 on tool z twice (a rework); lot B runs s0 on y, s1 on z. Both
// are flushed. Lot C (s0 on x) completes after the flush: it has no wafers yet.
Fed feed() {
  Fed f{io::load_model(test::minifab()).value(), nullptr};
  auto params = yield::read_yield_params(test::source_dir() / "twin_models" / "yield_params.json").value();
  f.tracker = yield::YieldTracker::make(f.model, params, {.run = {.threads = 1}}).value();
  const Route& r = f.model.route_of(f.product);
  f.s0 = r.step(0);
  f.s1 = r.step(1);
  auto& t = *f.tracker;
  const des::LotKey a{1, 0}, b{1, 1}, c{1, 2};
  t.on_step(step(0, a, f.product, f.s0, f.x, 1));
  t.on_step(step(1, b, f.product, f.s0, f.y, 1));
  t.on_step(step(0, a, f.product, f.s1, f.z, 2));
  t.on_step(step(0, a, f.product, f.s1, f.z, 3));
  t.on_step(step(1, b, f.product, f.s1, f.z, 2));
  t.on_lot_completed(done(0, a, f.product, 4));
  t.on_lot_completed(done(1, b, f.product, 4));
  t.flush();
  t.on_step(step(0, c, f.product, f.s0, f.x, 5));
  t.on_lot_completed(done(0, c, f.product, 6));
  return f;
}

double mean_yield(const yield::YieldTracker& t, std::initializer_list<std::uint32_t> lots) {
  double s = 0;
  int n = 0;
  for (const auto& w : t.wafers())
    if (std::find(lots.begin(), lots.end(), w.lot) != lots.end()) s += w.summary.die_yield(), ++n;
  return s / n;
}

}  // namespace

TEST_CASE("per tool: lots and wafers through it, counted once per lot, and their mean die yield",
          "[yield][summary]") {
  const Fed f = feed();
  const auto& t = *f.tracker;
  REQUIRE(t.lots().size() == 3);
  REQUIRE(t.wafers().size() == 50);
  const auto tools = yield::tool_yields(t);
  REQUIRE(tools.size() == 3);  // x, y, z in tool order; lot C (no wafers yet) adds nothing
  CHECK(tools[0].tool == f.x);
  CHECK(tools[0].lots == 1);
  CHECK(tools[0].wafers == 25);
  CHECK(tools[0].mean_die_yield == Approx(mean_yield(t, {0})));
  CHECK(tools[1].tool == f.y);
  CHECK(tools[1].wafers == 25);
  CHECK(tools[1].mean_die_yield == Approx(mean_yield(t, {1})));
  CHECK(tools[2].tool == f.z);
  CHECK(tools[2].lots == 2);
  CHECK(tools[2].wafers == 50);
  CHECK(tools[2].mean_die_yield == Approx(mean_yield(t, {0, 1})));
}

TEST_CASE("totals per product count the flushed lots' wafers and dies", "[yield][summary]") {
  const Fed f = feed();
  const auto tot = yield::yield_totals(*f.tracker);
  CHECK(tot.lots == 2);
  CHECK(tot.wafers == 50);
  std::uint64_t dies = 0, pass = 0;
  for (const auto& w : f.tracker->wafers()) dies += w.summary.dies, pass += w.summary.pass;
  CHECK(tot.dies == dies);
  CHECK(tot.pass == pass);
  REQUIRE(tot.products.size() == 1);
  CHECK(tot.products[0].product == f.product);
  CHECK(tot.products[0].wafers == 50);
  CHECK(tot.products[0].die_yield() == Approx(static_cast<double>(pass) / dies));
}

TEST_CASE("a suspect pair's lots are those whose history holds it", "[yield][summary]") {
  const Fed f = feed();
  const auto on_x = yield::suspect_lots(*f.tracker, {f.s0, f.x});
  CHECK(on_x.through == std::vector<char>{1, 0, 1});
  CHECK(on_x.product == f.product);
  CHECK(on_x.wafers == 25);  // lot C has no wafers yet
  const auto on_z = yield::suspect_lots(*f.tracker, {f.s1, f.z});
  CHECK(on_z.through == std::vector<char>{1, 1, 0});
  CHECK(on_z.wafers == 50);
  const auto nobody = yield::suspect_lots(*f.tracker, {f.s1, f.x});
  CHECK(nobody.through == std::vector<char>{0, 0, 0});
  CHECK(!nobody.product.valid());
  CHECK(nobody.wafers == 0);
  // A Tool or ToolGroup result has no step: the lots with any step on the tool.
  const auto any_z = yield::suspect_lots(*f.tracker, {StepId{}, f.z});
  CHECK(any_z.through == std::vector<char>{1, 1, 0});
  const auto any_x = yield::suspect_lots(*f.tracker, {StepId{}, f.x});
  CHECK(any_x.through == std::vector<char>{1, 0, 1});
}

TEST_CASE("the worst wafer has the lowest die yield, the first of equals", "[yield][summary]") {
  const Fed f = feed();
  const auto worst = yield::worst_wafer(*f.tracker);
  REQUIRE(worst);
  const auto w = f.tracker->wafers();
  for (std::size_t i = 0; i < w.size(); ++i) {
    CHECK(w[i].summary.die_yield() >= w[*worst].summary.die_yield());
    if (i < *worst) CHECK(w[i].summary.die_yield() > w[*worst].summary.die_yield());
  }
}

TEST_CASE("a lot of more than 64 wafers gets a map for every wafer, each with its own key",
          "[yield][summary]") {
  const Model m = io::load_model(test::minifab()).value();
  auto params = yield::read_yield_params(test::source_dir() / "twin_models" / "yield_params.json").value();
  auto tracker = yield::YieldTracker::make(m, params, {.run = {.threads = 1}}).value();
  const ProductId p{0};
  const des::LotKey big{des::LotKey::kExternal, 7};
  tracker->on_step(step(0, big, p, m.route_of(p).step(0), ToolId{0}, 1));
  des::LotRecord r = done(0, big, p, 2);
  r.wafers = 100;
  tracker->on_lot_completed(r);
  tracker->flush();
  REQUIRE(tracker->wafers().size() == 100);
  std::set<std::uint64_t> uids;
  for (const auto& w : tracker->wafers()) uids.insert(w.uid);
  CHECK(uids.size() == 100);
  // Keys of the model's own lots are unchanged (the same maps as before larger lots were allowed).
  CHECK(yield::YieldTracker::wafer_uid(des::LotKey{1, 2}, 3) == ((std::uint64_t{1} << 32 | 2) << 6 | 3));
}
