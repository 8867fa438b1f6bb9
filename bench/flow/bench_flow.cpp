// bench_flow: flow-model speed in scenario-years per second (scenarios x simulated years / wall
// seconds) on SMT2020_HVLM with its shipped calibration: the CPU backend on 1 and 2 threads, and
// CUDA where a device is usable (S = 1,000 and 10,000), plus the largest relative difference
// between CPU and CUDA results on the CPU's scenarios.
//
//   bench_flow [--model PATH] [--calibration FILE] [--cpu-scenarios 64] [--cpu-days 73]
//              [--gpu-scenarios 1000,10000] [--days 365] [--period-hours 0.25] [--threads 1,2] [--quick]
//
// Scenarios are drawn (fixed seed): release factor in [0.85, 1.0] per product and 0 or 1 extra
// tool on each of the ten most utilised tool groups. --quick: 16 CPU scenarios x 10 days, GPU
// 1,000 scenarios x 73 days.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/load.hpp"

using namespace fabtwin;

namespace {

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "bench_flow: %s\n", m.c_str());
  std::exit(1);
}

std::vector<long> list(const std::string& s) {
  std::vector<long> v;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');) v.push_back(std::stol(t));
  return v;
}

std::vector<flow::ScenarioInput> draw(const flow::FlowModel& fm, std::size_t n) {
  const auto& cal = fm.calibration();
  std::vector<std::size_t> order(cal.groups.size());
  for (std::size_t g = 0; g < order.size(); ++g) order[g] = g;
  std::sort(order.begin(), order.end(),
            [&](auto a, auto b) { return cal.groups[a].utilisation > cal.groups[b].utilisation; });
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> rel(0.85, 1.0);
  std::vector<flow::ScenarioInput> out(n);
  for (std::size_t s = 0; s < n; ++s) {
    auto& in = out[s];
    in.name = std::string("s").append(std::to_string(s));
    in.release_factor.assign(fm.model().products().size(), 1.0);
    for (auto& f : in.release_factor) f = rel(rng);
    in.tools.resize(cal.groups.size());
    for (std::size_t g = 0; g < cal.groups.size(); ++g) in.tools[g] = cal.groups[g].tools;
    for (std::size_t i = 0; i < std::min<std::size_t>(10, order.size()); ++i) in.tools[order[i]] += rng() & 1;
  }
  return out;
}

double rel_diff(double a, double b) {
  const double d = std::abs(a - b), m = std::max(std::abs(a), std::abs(b));
  return m > 0 ? d / m : 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, cal_path;
  long cpu_s = 64;
  double cpu_days = 73, days = 365, period = 0.25;
  std::vector<long> gpu_s{1000, 10000}, threads{1, 2};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die("missing value after " + a);
      return argv[++i];
    };
    if (a == "--model")
      model_path = next();
    else if (a == "--calibration")
      cal_path = next();
    else if (a == "--cpu-scenarios")
      cpu_s = std::stol(next());
    else if (a == "--cpu-days")
      cpu_days = std::stod(next());
    else if (a == "--gpu-scenarios")
      gpu_s = list(next());
    else if (a == "--days")
      days = std::stod(next());
    else if (a == "--period-hours")
      period = std::stod(next());
    else if (a == "--threads")
      threads = list(next());
    else if (a == "--quick")
      cpu_s = 16, cpu_days = 10, gpu_s = {1000}, days = 73;
    else
      die("unknown argument " + a);
  }
  if (model_path.empty()) {
    auto dir = io::data_dir();
    if (!dir.ok()) die(dir.error().what());
    model_path = (dir.value() / "smt2020" / "SMT2020_HVLM").string();
  }
  if (cal_path.empty()) cal_path = model_path + ".flow.json";
  auto m = io::load_model(model_path);
  if (!m.ok()) die(m.error().what());
  auto cal = flow::read_calibration(cal_path);
  if (!cal.ok()) die(cal.error().what());
  auto fm = flow::FlowModel::create(m.value(), cal.value());
  if (!fm.ok()) die(fm.error().what());
  std::printf("bench_flow: %s, K = %zu states, G = %zu tool groups, period %g h\n", m->name().c_str(),
              fm->states(), fm->tool_groups(), period);

  double last_cpu_s = 0;  // process CPU seconds of the last run (all threads)
  auto timed = [&](const std::vector<flow::ScenarioInput>& in, double d, compute::Backend b, unsigned t,
                   std::vector<flow::ScenarioResult>* keep) {
    flow::RunOptions o;
    o.days = d;
    o.warmup_days = 0;
    o.period_hours = period;
    o.threads = t;
    o.backend = b;
    const auto t0 = std::chrono::steady_clock::now();
    const std::clock_t c0 = std::clock();
    auto r = fm->run(in, o);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    last_cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
    if (keep) *keep = std::move(r);
    return wall;
  };
  const auto cpu_in = draw(fm.value(), static_cast<std::size_t>(cpu_s));
  std::vector<flow::ScenarioResult> cpu_res;
  for (long t : threads) {
    const double wall = timed(cpu_in, cpu_days, compute::Backend::Cpu, static_cast<unsigned>(t), &cpu_res);
    const double sy = cpu_s * cpu_days / 365.0;
    std::printf(
        "cpu  threads %ld: %ld scenarios x %g days = %.2f scenario-years in %.2f s: %.3f scenario-years/s "
        "(%.2f CPU s: %.3f scenario-years per CPU second)\n",
        t, cpu_s, cpu_days, sy, wall, sy / wall, last_cpu_s, last_cpu_s > 0 ? sy / last_cpu_s : 0.0);
  }
  if (!compute::cuda_available()) {
    std::printf("cuda: no usable device (%s)\n",
                compute::cuda_built() ? "built with CUDA" : "built without CUDA");
    return 0;
  }
  std::printf("cuda: %s\n", compute::cuda_device_name().c_str());
  {
    std::vector<flow::ScenarioResult> gpu_res;
    timed(cpu_in, cpu_days, compute::Backend::Cuda, 1, &gpu_res);
    double worst = 0;
    for (std::size_t s = 0; s < cpu_res.size(); ++s) {
      worst =
          std::max(worst, rel_diff(cpu_res[s].throughput_lots_per_day, gpu_res[s].throughput_lots_per_day));
      worst = std::max(worst, rel_diff(cpu_res[s].cycle_time_days, gpu_res[s].cycle_time_days));
      for (std::size_t g = 0; g < cpu_res[s].utilisation.size(); ++g)
        worst = std::max(worst, rel_diff(cpu_res[s].utilisation[g], gpu_res[s].utilisation[g]));
    }
    std::printf("cuda vs cpu on %ld scenarios: largest relative difference %.3g\n", cpu_s, worst);
  }
  for (long s : gpu_s) {
    const auto in = draw(fm.value(), static_cast<std::size_t>(s));
    const double wall = timed(in, days, compute::Backend::Cuda, 1, nullptr);
    const double sy = s * days / 365.0;
    std::printf("cuda: %ld scenarios x %g days = %.0f scenario-years in %.2f s: %.1f scenario-years/s\n", s,
                days, sy, wall, sy / wall);
    if (sy >= 1e4)
      std::printf("cuda: target 10^4 scenario-years in <= 60 s: %s (%.1f s per 10^4 scenario-years)\n",
                  wall / sy * 1e4 <= 60 ? "met" : "NOT met", wall / sy * 1e4);
  }
  return 0;
}
