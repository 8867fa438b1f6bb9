// fabtwin yield mc|map: the yield Monte Carlo from the command line (docs/yield.md).
//   fabtwin yield mc  --wafers N --d0 D --alpha A --die-mm W H [--seed S] [--backend cpu|cuda]
//                     [--threads T] [--edge-exclusion MM] [--json]
//   fabtwin yield map --wafers N --d0 D --alpha A --die-mm W H --out FILE.png [--stacked]
//                     [--wafer I] [--centre I] [--edge-ring I] [--scratch I] [--probability P]
//                     [--size PX] [--seed S] [--backend cpu|cuda] [--threads T] [--edge-exclusion MM]
// Exit codes: 0 success, 1 failure while running (CUDA error, cannot write), 2 bad arguments.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "args.hpp"
#include "commands.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/yield/yield.hpp"

namespace {

using fabtwin::cli::Args;
using fabtwin::cli::UsageError;
namespace yield = fabtwin::yield;
namespace json = fabtwin::io::json;

constexpr const char* kUsage = R"(usage: fabtwin yield <mc|map|run> [options]

  mc   --wafers N --d0 D --alpha A --die-mm W H [--seed S] [--backend cpu|cuda] [--threads T]
       [--edge-exclusion MM] [--json]
       Monte Carlo die yield of N wafers with random + clustered defects (killer density D
       defects/cm^2, cluster parameter A; 0 = no clustering), no signatures, kill ratio 1; prints
       the yield with its 99% confidence interval, dies/s and the analytic yields.
  map  --wafers N --d0 D --alpha A --die-mm W H --out FILE.png [--stacked] [--wafer I]
       [--centre I] [--edge-ring I] [--scratch I] [--probability P] [--size PX] [--seed S]
       [--backend cpu|cuda] [--threads T] [--edge-exclusion MM]
       PNG of wafer I (default 0; dies coloured by bin) or, with --stacked, the per-die fail rate
       over the N wafers. --centre/--edge-ring/--scratch add that signature (killer defects/cm^2),
       left on each wafer with probability P (default 1).
  run  --model PATH --days N --out DIR [--rule R] [--seed S] [--params FILE] [--plant TOOL=MULT]
       [--backend cpu|cuda] [--threads T] [--json]
       simulate the fab, compute each completed lot's wafer maps from its process history; write
       wafers.csv, tools.csv, commonality.csv (ranked (step, tool) pairs) and yield.json
)";

struct Common {
  std::size_t wafers = 0;
  double d0 = 0, alpha = 0;
  yield::WaferGeometry geometry;
  std::uint64_t seed = 1;
  yield::Backend backend = yield::Backend::Cpu;
  unsigned threads = 0;
};

Common parse_common(const Args& a) {
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  Common c;
  const std::int64_t wafers = a.integer("--wafers", -1, 1);
  if (wafers < 1) throw UsageError("missing required option --wafers (a number of wafers >= 1)");
  c.wafers = static_cast<std::size_t>(wafers);
  if (!a.has("--d0")) throw UsageError("missing required option --d0 (killer defects/cm^2)");
  c.d0 = a.number("--d0", 0);
  if (c.d0 < 0) throw UsageError("--d0 must be >= 0 defects/cm^2");
  if (!a.has("--alpha")) throw UsageError("missing required option --alpha (cluster parameter; 0 = none)");
  c.alpha = a.number("--alpha", 0);
  if (c.alpha < 0) throw UsageError("--alpha must be >= 0 (0: no clustering)");
  const auto& die = a.values("--die-mm");
  if (die.empty()) throw UsageError("missing required option --die-mm W H (die width and height in mm)");
  for (int i = 0; i < 2; ++i) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(die[i], &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != die[i].size() || !(v > 0) || !std::isfinite(v))
      throw UsageError("--die-mm: '" + die[i] + "' is not a positive number of mm");
    (i == 0 ? c.geometry.die_width_mm : c.geometry.die_height_mm) = v;
  }
  c.geometry.edge_exclusion_mm = a.number("--edge-exclusion", 3.0);
  c.seed = static_cast<std::uint64_t>(a.integer("--seed", 1, 0));
  const std::string b = a.get("--backend").value_or("cpu");
  const auto backend = fabtwin::compute::parse_backend(b);
  if (!backend) throw UsageError("--backend must be cpu or cuda, not '" + b + "'");
  c.backend = *backend;
  c.threads = static_cast<unsigned>(a.integer("--threads", 0, 0));
  return c;
}

yield::DieGrid make_grid(const Common& c) {
  auto grid = yield::DieGrid::make(c.geometry);
  if (!grid) throw UsageError("bad wafer geometry: " + grid.error().field + " " + grid.error().message);
  return std::move(grid.value());
}

yield::BatchResult run_or_throw(const yield::MonteCarlo& mc, std::span<const yield::WaferRates> rates,
                                std::span<const yield::WaferRef> wafers, const yield::RunOptions& o) {
  auto r = mc.run(rates, wafers, o);
  if (!r) {
    if (r.error().field == "backend") throw UsageError("--backend cuda: " + r.error().message);
    throw std::runtime_error(r.error().what());
  }
  return std::move(r.value());
}

std::vector<yield::WaferRef> refs(std::size_t n) {
  std::vector<yield::WaferRef> w(n);
  for (std::size_t i = 0; i < n; ++i) w[i] = yield::WaferRef{i, 0};
  return w;
}

int mc(int argc, char** argv) {
  const Args a(
      argc, argv, 2,
      {"--wafers", "--d0", "--alpha", "--die-mm", "--seed", "--backend", "--threads", "--edge-exclusion"},
      {"--json"}, {{"--die-mm", 2}});
  const Common c = parse_common(a);
  const yield::DieGrid grid = make_grid(c);
  const yield::MonteCarlo sim(grid, yield::McSettings{c.seed, c.alpha, {}});
  const yield::WaferRates rates[] = {yield::uniform_rates(c.d0)};
  const auto wafers = refs(c.wafers);
  const auto r = run_or_throw(sim, rates, wafers, yield::RunOptions{c.backend, c.threads, false, false});

  // Mean and 99% interval over wafers (the independent units).
  double s = 0, s2 = 0;
  for (const auto& w : r.wafers) {
    const double y = w.die_yield();
    s += y;
    s2 += y * y;
  }
  const double n = static_cast<double>(r.wafers.size());
  const double mean = s / n;
  const double se = n > 1 ? std::sqrt(std::max(0.0, (s2 - s * s / n) / (n - 1)) / n) : 0.0;
  const double half = 2.5758293035489 * se;
  const double ad = grid.die_area_cm2() * c.d0;
  const auto an = yield::analytic_yields(ad, c.alpha);
  const double dies = static_cast<double>(r.total_dies());
  const double rate = r.seconds > 0 ? dies / r.seconds : 0.0;
  const unsigned threads = c.backend == yield::Backend::Cpu
                               ? (c.threads ? c.threads : std::max(1u, std::thread::hardware_concurrency()))
                               : 0;

  if (a.flag("--json")) {
    json::Value o = json::Value::object();
    o.add("wafers", json::Value(static_cast<unsigned long long>(r.wafers.size())));
    o.add("dies", json::Value(static_cast<unsigned long long>(r.total_dies())));
    o.add("dies_per_wafer", json::Value(grid.size()));
    o.add("die_yield", json::Value(r.die_yield()));
    json::Value ci = json::Value::array();
    ci.push_back(mean - half);
    ci.push_back(mean + half);
    o.add("die_yield_ci99", std::move(ci));
    o.add("dies_per_second", json::Value(rate));
    o.add("seconds", json::Value(r.seconds));
    if (c.backend == yield::Backend::Cuda)
      o.add("device_dies_per_second", json::Value(r.device_seconds > 0 ? dies / r.device_seconds : 0.0));
    o.add("backend", json::Value(std::string(fabtwin::compute::to_string(c.backend))));
    if (threads) o.add("threads", json::Value(threads));
    o.add("seed", json::Value(static_cast<unsigned long long>(c.seed)));
    o.add("d0", json::Value(c.d0));
    o.add("alpha", json::Value(c.alpha));
    o.add("die_mm", json::Value(json::Array{c.geometry.die_width_mm, c.geometry.die_height_mm}));
    o.add("die_area_cm2", json::Value(grid.die_area_cm2()));
    o.add("ad", json::Value(ad));
    json::Value ay = json::Value::object();
    ay.add("poisson", an.poisson);
    ay.add("murphy", an.murphy);
    ay.add("seeds", an.seeds);
    ay.add("negative_binomial", an.negative_binomial);
    o.add("analytic", std::move(ay));
    std::printf("%s\n", json::write(o).c_str());
    return 0;
  }
  std::printf("%zu wafers x %u dies (%.3g x %.3g mm, A %.4g cm^2), D0 %g /cm^2, alpha %g, seed %llu\n",
              r.wafers.size(), grid.size(), c.geometry.die_width_mm, c.geometry.die_height_mm,
              grid.die_area_cm2(), c.d0, c.alpha, static_cast<unsigned long long>(c.seed));
  std::printf("die yield (Monte Carlo)   %.6f   99%% CI [%.6f, %.6f]\n", r.die_yield(), mean - half,
              mean + half);
  std::printf("negative binomial         %.6f\n", an.negative_binomial);
  std::printf("Poisson                   %.6f\n", an.poisson);
  std::printf("Murphy                    %.6f\n", an.murphy);
  std::printf("Seeds                     %.6f\n", an.seeds);
  if (c.backend == yield::Backend::Cuda)
    std::printf("%.4g dies/s on cuda (%.3f s wall; %.4g dies/s in kernels)\n", rate, r.seconds,
                r.device_seconds > 0 ? dies / r.device_seconds : 0.0);
  else
    std::printf("%.4g dies/s on cpu, %u thread(s) (%.3f s)\n", rate, threads, r.seconds);
  return 0;
}

int map(int argc, char** argv) {
  const Args a(
      argc, argv, 2,
      {"--wafers", "--d0", "--alpha", "--die-mm", "--seed", "--backend", "--threads", "--edge-exclusion",
       "--out", "--wafer", "--centre", "--edge-ring", "--scratch", "--probability", "--size"},
      {"--stacked"}, {{"--die-mm", 2}});
  const Common c = parse_common(a);
  const std::string out = a.require("--out");
  const std::int64_t wafer = a.integer("--wafer", 0, 0);
  if (static_cast<std::size_t>(wafer) >= c.wafers) throw UsageError("--wafer must be below --wafers");
  const std::int64_t size = a.integer("--size", 512, 64);
  if (size > 8192) throw UsageError("--size must be within [64, 8192] pixels");
  const double prob = a.number("--probability", 1.0);
  if (prob < 0 || prob > 1) throw UsageError("--probability must be within [0, 1]");
  yield::WaferRates rates = yield::uniform_rates(c.d0);
  const std::pair<const char*, yield::Signature> sigs[] = {{"--centre", yield::Signature::Centre},
                                                           {"--edge-ring", yield::Signature::EdgeRing},
                                                           {"--scratch", yield::Signature::Scratch}};
  std::uint32_t step = 1;
  for (const auto& [opt, kind] : sigs) {
    const double intensity = a.number(opt, 0.0);
    if (intensity < 0) throw UsageError(std::string(opt) + " must be >= 0 killer defects/cm^2");
    if (intensity > 0) rates.add_event(yield::SignatureEvent{step++, kind, intensity, prob});
  }
  const yield::DieGrid grid = make_grid(c);
  const yield::MonteCarlo sim(grid, yield::McSettings{c.seed, c.alpha, {}});
  const auto wafers = refs(c.wafers);
  const yield::WaferRates batch_rates[] = {rates};
  const auto r = run_or_throw(sim, batch_rates, wafers, yield::RunOptions{c.backend, c.threads, true, false});
  std::string what;
  yield::Image img;
  if (a.flag("--stacked")) {
    const auto rate = yield::stacked_fail_rate(r);
    double top = 0;
    for (double x : rate) top = std::max(top, x);
    img = yield::render_stacked_map(grid, rate, 0.0, static_cast<std::uint32_t>(size));
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "stacked map of %zu wafers x %u dies, die yield %.4f, per-die fail rate 0 (white) .. %.4f (dark red)",
        r.wafers.size(), grid.size(), r.die_yield(), top > 0 ? top : 1.0);
    what = buf;
  } else {
    const auto& s = r.wafers[static_cast<std::size_t>(wafer)];
    img = yield::render_wafer_map(grid, r.map(static_cast<std::size_t>(wafer)),
                                  static_cast<std::uint32_t>(size));
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "wafer %lld, %u of %u dies good (%.4f); fails: random %u, centre %u, edge ring %u, scratch %u",
        static_cast<long long>(wafer), s.pass, s.dies, s.die_yield(), s.bins[yield::kBinRandom],
        s.bins[yield::kBinCentre], s.bins[yield::kBinEdgeRing], s.bins[yield::kBinScratch]);
    what = buf;
  }
  auto w = yield::write_png(out, img);
  if (!w) throw std::runtime_error(w.error().what());
  std::printf("wrote %s: %s\n", out.c_str(), what.c_str());
  return 0;
}

}  // namespace

int cmd_yield(int argc, char** argv) {
  const std::string sub = argc > 1 ? argv[1] : "";
  try {
    if (sub == "mc") return mc(argc, argv);
    if (sub == "map") return map(argc, argv);
    if (sub == "--help" || sub == "-h" || sub == "help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (sub == "run") return fabtwin::cli::cmd_yield_run(argc, argv);
    std::fprintf(
        stderr, "fabtwin yield: %s (try: fabtwin yield --help)\n",
        sub.empty() ? "missing subcommand mc, map or run" : ("unknown subcommand '" + sub + "'").c_str());
    return 2;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "fabtwin yield %s: %s\n", sub.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fabtwin yield %s: error: %s\n", sub.c_str(), e.what());
    return 1;
  }
}
