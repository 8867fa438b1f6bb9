// DES benchmark: one configuration per process (so peak resident memory is that run's), printed
// as one JSON line. bench/des/run repeats configurations and reports medians.
//   bench_des --model PATH --days N --rule fifo|cr [--seed S] [--forks K]
// Fork time: the first fork (cold: its memory is fresh from the system) and the median of K more.
#include <malloc.h>
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

int main(int argc, char** argv) {
  std::string path, rule = "fifo";
  double days = 730;
  std::uint64_t seed = 1;
  int forks = 11;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--model"))
      path = argv[i + 1];
    else if (!std::strcmp(argv[i], "--days"))
      days = std::atof(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--rule"))
      rule = argv[i + 1];
    else if (!std::strcmp(argv[i], "--seed"))
      seed = std::strtoull(argv[i + 1], nullptr, 10);
    else if (!std::strcmp(argv[i], "--forks"))
      forks = std::max(1, std::atoi(argv[i + 1]));
  }
  if (path.empty()) {
    std::fprintf(stderr, "usage: bench_des --model PATH [--days N] [--rule R] [--seed S]\n");
    return 2;
  }
  const auto t0 = std::chrono::steady_clock::now();
  auto m = io::load_model(path);
  if (!m.ok()) {
    std::fprintf(stderr, "%s\n", m.error().what().c_str());
    return 1;
  }
  const auto t1 = std::chrono::steady_clock::now();
  // CPU time of this thread: on a shared machine, wall time also counts the waits for a core.
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
  };
  const double cpu0 = cpu_now();
  auto sim = des::Simulation::create(m.value(), des::Options{.seed = seed, .rule = rule}).value();
  sim.run_until(SimTime{round_ms(days * kMsPerDay)});
  const auto t2 = std::chrono::steady_clock::now();
  const double cpu_s = cpu_now() - cpu0;
  // Fork cost: copy the whole state at the end of the run (time, and heap bytes it allocates).
  const std::size_t heap0 = mallinfo2().uordblks;
  const auto t3 = std::chrono::steady_clock::now();
  des::Simulation fork = sim.fork();
  const auto t4 = std::chrono::steady_clock::now();
  const double fork_mb = (static_cast<double>(mallinfo2().uordblks) - static_cast<double>(heap0)) / 1048576.0;
  std::vector<double> warm_ms;
  for (int i = 0; i < forks; ++i) {
    const auto a = std::chrono::steady_clock::now();
    des::Simulation f = sim.fork();
    warm_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - a).count());
    if (f.events() != sim.events()) return 1;
  }
  std::nth_element(warm_ms.begin(), warm_ms.begin() + warm_ms.size() / 2, warm_ms.end());
  const double fork_median_ms = warm_ms[warm_ms.size() / 2];
  // Checkpoint: save to bytes, restore from them.
  const auto t5 = std::chrono::steady_clock::now();
  const std::string bytes = sim.save();
  const auto t6 = std::chrono::steady_clock::now();
  auto restored = des::Simulation::restore(m.value(), des::Options{.seed = seed, .rule = rule}, bytes);
  const auto t7 = std::chrono::steady_clock::now();
  if (!restored.ok()) {
    std::fprintf(stderr, "restore: %s\n", restored.error().what().c_str());
    return 1;
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  const double load_s = std::chrono::duration<double>(t1 - t0).count();
  const double run_s = std::chrono::duration<double>(t2 - t1).count();
  const double fork_ms = std::chrono::duration<double, std::milli>(t4 - t3).count();
  std::printf(
      "{\"model\": \"%s\", \"rule\": \"%s\", \"days\": %g, \"seed\": %llu, \"load_seconds\": %.3f, "
      "\"run_seconds\": %.3f, \"cpu_seconds\": %.3f, \"events\": %llu, \"events_per_second\": %.0f, "
      "\"events_per_cpu_second\": %.0f, \"lots_completed\": %zu, "
      "\"fork_ms\": %.3f, \"fork_median_ms\": %.3f, \"fork_heap_mb\": %.2f, \"checkpoint_mb\": %.2f, "
      "\"save_ms\": %.1f, "
      "\"restore_ms\": %.1f, "
      "\"peak_rss_mb\": %.1f}\n",
      m->name().c_str(), rule.c_str(), days, static_cast<unsigned long long>(seed), load_s, run_s, cpu_s,
      static_cast<unsigned long long>(sim.events()), sim.events() / run_s, sim.events() / cpu_s,
      sim.completed_lots().size(), fork_ms, fork_median_ms, fork_mb, bytes.size() / 1048576.0,
      std::chrono::duration<double, std::milli>(t6 - t5).count(),
      std::chrono::duration<double, std::milli>(t7 - t6).count(), ru.ru_maxrss / 1024.0);
  return fork.events() == sim.events() ? 0 : 1;
}
