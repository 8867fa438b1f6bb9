// bench_yield: throughput of the yield Monte Carlo. Prints a table (dies/s, dies/s per core,
// wafers/s) for several die sizes, 1 and 2 CPU threads and CUDA where a device exists, then the
// "year of SMT2020_HVLM output" figure (500,000 wafers with a 12-area history and signatures).
//   bench_yield [--wafers N] [--threads T] [--repeat R] [--quick]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "fabtwin/yield/yield.hpp"

using namespace fabtwin;
using namespace fabtwin::yield;

namespace {

struct Case {
  const char* name;
  double w, h;  // die mm
  double d0;    // killer defects/cm^2
  double alpha;
};

// CPU time (user + system) of this process so far, seconds.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec * 1e-6;
}

struct Timing {
  double seconds = 1e30;  // best wall time (CUDA: kernel time)
  double cpu = 1e30;      // CPU seconds of the best-CPU-time repeat (per-core cost, robust to sharing)
  double yield = 0;
};

Timing measure(const MonteCarlo& mc, std::span<const WaferRates> rates, std::span<const WaferRef> wafers,
               const RunOptions& o, int repeat) {
  Timing t;
  for (int r = 0; r < repeat; ++r) {
    const double c0 = cpu_seconds();
    auto res = mc.run(rates, wafers, o);
    const double c = cpu_seconds() - c0;
    if (!res) {
      std::fprintf(stderr, "bench_yield: %s\n", res.error().what().c_str());
      std::exit(1);
    }
    t.seconds = std::min(t.seconds, o.backend == Backend::Cuda ? res->device_seconds : res->seconds);
    t.cpu = std::min(t.cpu, c);
    t.yield = res->die_yield();
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n_wafers = 200000;
  unsigned max_threads = 2;
  int repeat = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--wafers" && i + 1 < argc)
      n_wafers = std::strtoull(argv[++i], nullptr, 10);
    else if (a == "--threads" && i + 1 < argc)
      max_threads = static_cast<unsigned>(std::atoi(argv[++i]));
    else if (a == "--repeat" && i + 1 < argc)
      repeat = std::atoi(argv[++i]);
    else if (a == "--quick") {
      n_wafers = 20000;
      repeat = 1;
    } else {
      std::fprintf(stderr, "usage: bench_yield [--wafers N] [--threads T] [--repeat R] [--quick]\n");
      return 2;
    }
  }
  const bool cuda = compute::cuda_available();
  std::printf(
      "yield Monte Carlo benchmark: %zu wafers per case, best of %d; hardware threads %u; CUDA: %s\n\n",
      n_wafers, repeat, std::thread::hardware_concurrency(),
      cuda ? compute::cuda_device_name().c_str()
           : (compute::cuda_built() ? "built, no device" : "not built"));
  const Case cases[] = {
      {"10x10 mm, D0 0.2, a 2", 10, 10, 0.2, 2.0},
      {"5x5 mm, D0 0.2, a 2", 5, 5, 0.2, 2.0},
      {"20x20 mm, D0 0.2, a 2", 20, 20, 0.2, 2.0},
      {"10x10 mm, D0 1.0, a 0.5", 10, 10, 1.0, 0.5},
  };
  std::printf(
      "dies/s/core = dies/s / threads; dies/cpu-s = dies per CPU-second used (per-core cost even when\n"
      "the cores are shared with other work). CUDA: kernel time; its wafers/s include no transfers.\n\n");
  std::printf("%-26s %6s %-8s %4s %9s %12s %12s %12s %11s %8s\n", "case", "dies", "backend", "thr", "seconds",
              "dies/s", "dies/s/core", "dies/cpu-s", "wafers/s", "yield");
  std::vector<WaferRef> wafers(n_wafers);
  for (std::size_t w = 0; w < n_wafers; ++w) wafers[w] = WaferRef{w, 0};
  for (const Case& c : cases) {
    WaferGeometry g;
    g.die_width_mm = c.w;
    g.die_height_mm = c.h;
    auto grid = DieGrid::make(g);
    if (!grid) return 1;
    MonteCarlo mc(*grid, McSettings{1, c.alpha, {}});
    const WaferRates rates[] = {uniform_rates(c.d0)};
    const double dies = static_cast<double>(n_wafers) * grid->size();
    std::vector<unsigned> threads{1};
    if (max_threads >= 2) threads.push_back(2);
    if (max_threads > 2) threads.push_back(max_threads);
    for (bool maps : {false, true}) {
      for (unsigned t : threads) {
        RunOptions o{Backend::Cpu, t, maps, false};
        const Timing m = measure(mc, rates, wafers, o, repeat);
        std::printf("%-26s %6u %-8s %4u %9.4f %12.4g %12.4g %12.4g %11.4g %8.5f\n", c.name, grid->size(),
                    maps ? "cpu+map" : "cpu", t, m.seconds, dies / m.seconds, dies / m.seconds / t,
                    dies / m.cpu, n_wafers / m.seconds, m.yield);
      }
      if (cuda) {
        RunOptions o{Backend::Cuda, 0, maps, false};
        const Timing m = measure(mc, rates, wafers, o, repeat);
        std::printf("%-26s %6u %-8s %4s %9.4f %12.4g %12s %12s %11.4g %8.5f\n", c.name, grid->size(),
                    maps ? "cuda+map" : "cuda", "-", m.seconds, dies / m.seconds, "-", "-",
                    n_wafers / m.seconds, m.yield);
      }
    }
  }

  // A year of SMT2020_HVLM output: ~500,000 wafers (20,000 lots of 25), each lot with its own
  // 12-area history and a scratching tool seen by 10% of the lots; 12x10 mm dies; defect counts on.
  {
    const std::size_t lots = 20000, per_lot = 25;
    WaferGeometry g;
    g.die_width_mm = 12;
    g.die_height_mm = 10;
    g.scribe_mm = 0.1;
    auto grid = DieGrid::make(g);
    if (!grid) return 1;
    MonteCarlo mc(*grid, McSettings{7, 2.0, {}});
    std::vector<WaferRates> rates(lots);
    std::vector<WaferRef> refs;
    refs.reserve(lots * per_lot);
    for (std::size_t l = 0; l < lots; ++l) {
      WaferRates& r = rates[l];
      r.n_areas = 12;
      for (std::uint32_t a = 0; a < 12; ++a) {
        r.defect_density[a] = 0.02 * (1.0 + 0.1 * static_cast<double>((l + a) % 7));
        r.kill_density[a] = 0.4 * r.defect_density[a];
      }
      if (l % 10 == 0) r.add_event(SignatureEvent{100, Signature::Scratch, 5.0, 0.5});
      for (std::size_t w = 0; w < per_lot; ++w)
        refs.push_back(WaferRef{l * per_lot + w, static_cast<std::uint32_t>(l)});
    }
    std::printf(
        "\nyear of SMT2020_HVLM-like output: %zu wafers x %u dies (12x10 mm), 12 areas, defect counts, "
        "maps\n",
        refs.size(), grid->size());
    std::vector<unsigned> threads{1};
    if (max_threads >= 2) threads.push_back(2);
    for (unsigned t : threads) {
      RunOptions o{Backend::Cpu, t, true, true};
      const Timing m = measure(mc, rates, refs, o, 1);
      const double dies = refs.size() * static_cast<double>(grid->size());
      std::printf(
          "  cpu  %u thread(s): %8.3f s wall, %.3f CPU-s  (%.4g dies/s, %.4g dies/cpu-s, %.4g wafers/s, "
          "die yield %.4f)\n",
          t, m.seconds, m.cpu, dies / m.seconds, dies / m.cpu, refs.size() / m.seconds, m.yield);
    }
    if (cuda) {
      RunOptions o{Backend::Cuda, 0, true, true};
      auto res = mc.run(rates, refs, o);
      if (res)
        std::printf("  cuda          : %8.3f s wall, %.4f s kernels (%.4g dies/s in kernels)\n", res->seconds,
                    res->device_seconds,
                    refs.size() * static_cast<double>(grid->size()) / res->device_seconds);
    }
  }
  return 0;
}
