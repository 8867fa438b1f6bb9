// fabtwin yield mc|map: the yield Monte Carlo from the command line (docs/yield.md); `yield run` is
// in cmd_yield_run.cpp.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "commands.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/yield/yield.hpp"

namespace fabtwin::cli {

namespace {

namespace json = fabtwin::io::json;

struct Common {
  std::size_t wafers = 0;
  double d0 = 0, alpha = 0;
  std::vector<double> die_mm;
  yield::WaferGeometry geometry;
  std::uint64_t seed = 1;
  std::string backend_text = "cpu";
  yield::Backend backend = yield::Backend::Cpu;
  unsigned threads = 0;
  bool json = false;
  // map
  std::string out;
  bool stacked = false;
  std::size_t wafer = 0;
  std::uint32_t size = 512;
  double probability = 1.0;
  double centre = 0, edge_ring = 0, scratch = 0;
};

void add_common(CLI::App& c, Common& o) {
  required(add_whole(c, "--wafers", o.wafers, "number of wafers", 1));
  required(add_real(c, "--d0", o.d0, "killer defect density, defects/cm^2", 0));
  required(
      add_real(c, "--alpha", o.alpha, "cluster parameter of the negative binomial; 0: no clustering", 0));
  required(add_reals(c, "--die-mm", o.die_mm, 2, "die width and height in mm: W H", 0, kInf, true));
  add_real(c, "--edge-exclusion", o.geometry.edge_exclusion_mm, "wafer edge exclusion, mm", 0);
  add_whole(c, "--seed", o.seed, "random seed", 0);
  c.add_option("--backend", o.backend_text, "where the Monte Carlo runs: cpu or cuda")
      ->check(backend_name())
      ->type_name("cpu|cuda")
      ->capture_default_str();
  add_whole(c, "--threads", o.threads, "CPU threads; 0: all cores", 0, 4096);
}

// Resolves what the options alone do not (the backend, the die size).
void finish_common(Common& c) {
  c.geometry.die_width_mm = c.die_mm.at(0);
  c.geometry.die_height_mm = c.die_mm.at(1);
  c.backend = *fabtwin::compute::parse_backend(c.backend_text);
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

int mc(Common& c) {
  finish_common(c);
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

  if (c.json) {
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

int map(Common& c) {
  finish_common(c);
  if (c.wafer >= c.wafers) throw UsageError("--wafer must be below --wafers");
  const std::string& out = c.out;
  const auto size = c.size;
  const double prob = c.probability;
  const auto wafer = c.wafer;
  yield::WaferRates rates = yield::uniform_rates(c.d0);
  const std::pair<double, yield::Signature> sigs[] = {{c.centre, yield::Signature::Centre},
                                                      {c.edge_ring, yield::Signature::EdgeRing},
                                                      {c.scratch, yield::Signature::Scratch}};
  std::uint32_t step = 1;
  for (const auto& [intensity, kind] : sigs)
    if (intensity > 0) rates.add_event(yield::SignatureEvent{step++, kind, intensity, prob});
  const yield::DieGrid grid = make_grid(c);
  const yield::MonteCarlo sim(grid, yield::McSettings{c.seed, c.alpha, {}});
  const auto wafers = refs(c.wafers);
  const yield::WaferRates batch_rates[] = {rates};
  const auto r = run_or_throw(sim, batch_rates, wafers, yield::RunOptions{c.backend, c.threads, true, false});
  std::string what;
  yield::Image img;
  if (c.stacked) {
    const auto rate = yield::stacked_fail_rate(r);
    double top = 0;
    for (double x : rate) top = std::max(top, x);
    img = yield::render_stacked_map(grid, rate, 0.0, size);
    char buf[256];
    std::snprintf(
        buf, sizeof buf,
        "stacked map of %zu wafers x %u dies, die yield %.4f, per-die fail rate 0 (white) .. %.4f (dark red)",
        r.wafers.size(), grid.size(), r.die_yield(), top > 0 ? top : 1.0);
    what = buf;
  } else {
    const auto& s = r.wafers[wafer];
    img = yield::render_wafer_map(grid, r.map(wafer), size);
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

void add_yield_commands(CLI::App& root, Commands& out) {
  CLI::App* y =
      add_command(root, "yield", "Yield Monte Carlo, wafer maps, and yield following a simulated fab",
                  "docs/yield.md describes the model.");
  auto mo = std::make_shared<Common>();
  CLI::App* m =
      add_command(*y, "mc", "Monte Carlo die yield of N wafers; the analytic yields beside it",
                  "Random + clustered killer defects (density D0, cluster parameter alpha), no signatures,\n"
                  "kill ratio 1. Prints the die yield with its 99% confidence interval, dies/s and the\n"
                  "Poisson, Murphy, Seeds and negative binomial yields.");
  add_common(*m, *mo);
  m->add_flag("--json", mo->json, "print one JSON object");
  out.push_back({m, [mo] { return mc(*mo); }});

  auto po = std::make_shared<Common>();
  CLI::App* p =
      add_command(*y, "map", "A wafer map as a PNG: one wafer's dies by bin, or the stacked fail rate",
                  "--centre, --edge-ring and --scratch add that signature (killer defects/cm^2), left on\n"
                  "each wafer with probability --probability.");
  add_common(*p, *po);
  required(p->add_option("--out", po->out, "the PNG file to write")->type_name("FILE.png"));
  p->add_flag("--stacked", po->stacked, "the per-die fail rate over all wafers instead of one wafer");
  add_whole(*p, "--wafer", po->wafer, "which wafer to draw; below --wafers", 0);
  add_real(*p, "--centre", po->centre, "centre signature, killer defects/cm^2; 0: none", 0);
  add_real(*p, "--edge-ring", po->edge_ring, "edge-ring signature, killer defects/cm^2; 0: none", 0);
  add_real(*p, "--scratch", po->scratch, "scratch signature, killer defects/cm^2; 0: none", 0);
  add_real(*p, "--probability", po->probability, "probability that a wafer has the signatures", 0, 1);
  add_whole(*p, "--size", po->size, "picture size in pixels", 64, 8192);
  out.push_back({p, [po] { return map(*po); }});

  add_yield_run_command(*y, out);
  add_yield_power_command(*y, out);
}

}  // namespace fabtwin::cli
