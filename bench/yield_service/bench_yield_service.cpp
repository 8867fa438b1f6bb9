// bench_yield_service --model PATH [--wafers N] [--days D] [--db FILE] [--repeat R] [--seed S]
//   YieldService latency over a year of yield records (docs/benchmarks.md "YieldService").
//   1. Fills a store with N wafers (default 500,000: 20,000 lots of 25) completed over D days
//      (default 365), synthetic but shaped like the live twin's: each lot a product of the model
//      (alternating), its route's every step on a random tool of the step's group at a random
//      health (1 to 1.3), the defect model's rates of that history and the Monte Carlo's wafers
//      and maps (yield_params.json). Written through the live twin's insert path (Store::append,
//      one commit per model day: yield_lots, yield_wafers, the yield_agg aggregates), without
//      simulating a year.
//   2. Serves it (server::Server on 127.0.0.1, a LiveTwin recovered from the store) and measures,
//      from a client over TCP, R calls each (default 50) of YieldSummary grouped by product, day,
//      tool and step over the whole year, a quarter, a 30-day month and one product's year (whole
//      days: the aggregates), a week starting inside a day (from the lots), and 1,000 WaferMap
//      fetches of random wafers (without and with a 256-pixel PNG). Prints p50 / p99 / max.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/live/store.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/v1/yield.grpc.pb.h"
#include "fabtwin/yield/defect_model.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"

using namespace fabtwin;
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "bench_yield_service: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, db = "/tmp/bench_yield_service.db";
  std::uint64_t wafers = 500'000, seed = 1;
  int days = 365, repeat = 50;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_yield_service: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--model")
      model_path = next();
    else if (a == "--wafers")
      wafers = std::stoull(next());
    else if (a == "--days")
      days = std::stoi(next());
    else if (a == "--db")
      db = next();
    else if (a == "--repeat")
      repeat = std::stoi(next());
    else if (a == "--seed")
      seed = std::stoull(next());
    else {
      std::fprintf(
          stderr,
          "usage: bench_yield_service --model PATH [--wafers N] [--days D] [--db FILE] [--repeat R]\n");
      return 2;
    }
  }
  if (model_path.empty()) return fail("--model PATH is required (e.g. twin_models/smt2020/SMT2020_HVLM)");
  auto loaded = io::load_model(model_path);
  if (!loaded.ok()) return fail(loaded.error().what());
  const model::Model& m = loaded.value();
  const auto& d = m.data();
  auto params = yield::read_yield_params(io::require_data("yield_params.json"));
  if (!params.ok()) return fail(params.error().what());

  // The store: created by a live twin (its identity), then filled through Store::append.
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  live::LiveOptions lo;
  lo.sim.mode = des::Mode::Follow;
  lo.db_path = db;
  lo.yield = params.value();
  {
    auto t = live::LiveTwin::open(m, lo);
    if (!t.ok()) return fail(t.error().what());
  }
  std::vector<std::string> step_area(d.steps.size()), tool_names(d.tools.size());
  for (std::size_t s = 0; s < d.steps.size(); ++s)
    step_area[s] = d.areas[d.tool_groups[d.steps[s].tool_group.index()].area.index()].name;
  for (std::size_t t = 0; t < d.tools.size(); ++t) tool_names[t] = d.tools[t].name;
  auto defects = yield::DefectModel::make(params.value(), step_area, tool_names);
  if (!defects.ok()) return fail(defects.error().what());
  std::vector<yield::MonteCarlo> mc;
  for (const auto& p : d.products)
    mc.emplace_back(yield::DieGrid::make(params->geometry_for(p.name)).value(),
                    yield::McSettings{params->seed, params->cluster_alpha, params->shapes});

  const auto t_fill = Clock::now();
  std::uint64_t lots_total = 0, wafers_total = 0;
  {
    auto store = live::Store::open_existing(db, false);
    if (!store.ok()) return fail(store.error().what());
    std::mt19937_64 rng(seed);
    const std::uint64_t lots = (wafers + 24) / 25;
    std::uint64_t lot_no = 0;
    for (int day = 0; day < days; ++day) {
      const std::uint64_t until =
          lots * static_cast<std::uint64_t>(day + 1) / static_cast<std::uint64_t>(days);
      live::Batch batch;
      for (; lot_no < until; ++lot_no) {
        live::YieldLotRow row;
        const auto product = static_cast<std::uint32_t>(lot_no % d.products.size());
        const auto& route = m.route_of(model::ProductId{product});
        row.lot = "Lot_" + std::to_string(lot_no);
        row.product = product;
        row.route = d.products[product].route.value;
        row.completed_ms = day * live::kMsPerDay + static_cast<std::int64_t>(rng() % live::kMsPerDay);
        row.released_ms = row.completed_ms - 40 * live::kMsPerDay;
        std::vector<yield::StepRecord> hist;
        for (std::uint32_t s = 0; s < route.step_count; ++s) {
          const model::StepId step{route.first_step.value + s};
          const auto& g = d.tool_groups[d.steps[step.index()].tool_group.index()];
          const model::ToolId tool{g.first_tool.value + static_cast<std::uint32_t>(rng() % g.tool_count)};
          const double health = 1.0 + 0.3 * static_cast<double>(rng() % 1000) / 1000.0;
          hist.push_back({step, tool, health});
          row.history.push_back({step, tool});
        }
        const yield::WaferRates rates[1] = {defects->rates(hist)};
        std::vector<yield::WaferRef> refs(25);
        for (std::uint32_t w = 0; w < 25; ++w)
          refs[w] = {yield::YieldTracker::wafer_uid({1, static_cast<std::uint32_t>(lot_no)}, w), 0};
        yield::RunOptions ro;
        ro.keep_maps = true;
        ro.count_defects = false;
        ro.threads = 1;
        auto res = mc[product].run(rates, refs, ro);
        if (!res.ok()) return fail(res.error().what());
        row.wafers.resize(25);
        for (std::uint32_t w = 0; w < 25; ++w) {
          const auto& s = res->wafers[w];
          auto& out = row.wafers[w];
          out.dies = s.dies;
          out.pass = s.pass;
          std::copy(std::begin(s.bins), std::end(s.bins), out.bins.begin());
          const auto map = res->map(w);
          out.map.assign(map.begin(), map.end());
        }
        batch.yield.push_back(std::move(row));
        ++lots_total;
        wafers_total += 25;
      }
      auto a = store->append(batch);
      if (!a.ok()) return fail(a.error().what());
    }
  }
  const double fill_s = ms_since(t_fill) / 1000;
  std::printf("filled %s: %llu lots, %llu wafers over %d days in %.1f s (%.0f MB)\n", db.c_str(),
              static_cast<unsigned long long>(lots_total), static_cast<unsigned long long>(wafers_total),
              days, fill_s, static_cast<double>(fs::file_size(db)) / 1e6);
  std::fflush(stdout);

  auto twin = live::LiveTwin::open(m, lo);
  if (!twin.ok()) return fail(twin.error().what());
  auto srv = server::Server::start(std::move(twin.value()), {.listen = "127.0.0.1:0"});
  if (!srv.ok()) return fail(srv.error().what());
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(srv.value()->port()),
                                     grpc::InsecureChannelCredentials());
  auto stub = v1::YieldService::NewStub(channel);

  struct Case {
    std::string name;
    v1::YieldFilter filter;
  };
  const std::int64_t day = live::kMsPerDay;
  std::vector<Case> cases(5);
  cases[0].name = "year";
  cases[1].name = "quarter (days 90-180)";
  cases[1].filter.set_from_ms(90 * day);
  cases[1].filter.set_to_ms(180 * day);
  cases[2].name = "month (days 200-230)";
  cases[2].filter.set_from_ms(200 * day);
  cases[2].filter.set_to_ms(230 * day);
  cases[3].name = "year, product " + d.products[0].name;
  cases[3].filter.set_product(d.products[0].name);
  cases[4].name = "week from day 100.5 (lots)";
  cases[4].filter.set_from_ms(100 * day + day / 2);
  cases[4].filter.set_to_ms(107 * day + day / 2);
  const std::pair<v1::GroupBy, const char*> groups[] = {{v1::GROUP_BY_PRODUCT, "product"},
                                                        {v1::GROUP_BY_DAY, "day"},
                                                        {v1::GROUP_BY_TOOL, "tool"},
                                                        {v1::GROUP_BY_STEP, "step"}};
  std::printf("\nYieldSummary (%d calls each, over TCP):\n", repeat);
  std::printf("%-30s %-8s %8s %6s %9s %9s %9s\n", "range", "by", "rows", "agg", "p50 ms", "p99 ms", "max ms");
  for (const Case& c : cases)
    for (const auto& [by, name] : groups) {
      std::vector<double> t;
      int rows = 0;
      bool agg = false;
      for (int i = -2; i < repeat; ++i) {  // two warm-up calls
        grpc::ClientContext ctx;
        v1::YieldSummaryRequest req;
        *req.mutable_filter() = c.filter;
        req.set_group_by(by);
        v1::YieldSummaryReply rep;
        const auto t0 = Clock::now();
        const auto st = stub->YieldSummary(&ctx, req, &rep);
        const double ms = ms_since(t0);
        if (!st.ok()) return fail("YieldSummary: " + st.error_message());
        if (i >= 0) t.push_back(ms);
        rows = rep.rows_size();
        agg = rep.pre_aggregated();
      }
      std::printf("%-30s %-8s %8d %6s %9.2f %9.2f %9.2f\n", c.name.c_str(), name, rows, agg ? "yes" : "no",
                  percentile(t, 0.5), percentile(t, 0.99), percentile(t, 1.0));
      std::fflush(stdout);
    }

  std::printf("\nWaferMap (1000 random wafers each, over TCP):\n");
  std::mt19937_64 rng(seed + 1);
  for (const std::uint32_t png : {0u, 256u}) {
    std::vector<double> t;
    std::size_t bytes = 0;
    for (int i = -20; i < 1000; ++i) {
      grpc::ClientContext ctx;
      v1::WaferMapRequest req;
      req.set_lot("Lot_" + std::to_string(rng() % lots_total));
      req.set_wafer(1 + static_cast<std::uint32_t>(rng() % 25));
      req.set_png_size(png);
      v1::WaferMapReply rep;
      const auto t0 = Clock::now();
      const auto st = stub->WaferMap(&ctx, req, &rep);
      const double ms = ms_since(t0);
      if (!st.ok()) return fail("WaferMap: " + st.error_message());
      if (i >= 0) t.push_back(ms);
      bytes = rep.png().size();
    }
    std::printf("png_size %-4u p50 %.2f ms, p99 %.2f ms, max %.2f ms (png %zu bytes)\n", png,
                percentile(t, 0.5), percentile(t, 0.99), percentile(t, 1.0), bytes);
  }
  srv.value()->shutdown();
  return 0;
}
