// CPU (OpenBLAS or the loop) and CUDA (cuBLAS) flow results agree within 1e-4 relative: the tiny
// fab and SMT2020_HVLM with its shipped calibration; the CUDA run's progress and its stop. Exits 77
// (CTest: skipped) where no CUDA device exists or the build has no CUDA backend.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <vector>

#include "fabtwin/compute/backend.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/io/load.hpp"
#include "flow_test_fab.hpp"

using namespace fabtwin;

namespace {

void check_close(double a, double b, const std::string& what) {
  const double m = std::max(std::abs(a), std::abs(b));
  INFO(what << ": cpu " << a << " cuda " << b);
  CHECK(std::abs(a - b) <= 1e-4 * m + 1e-12);
}

void compare(const flow::FlowModel& fm, const std::vector<flow::ScenarioInput>& in, flow::RunOptions o) {
  o.backend = compute::Backend::Cpu;
  o.threads = 2;
  const auto cpu = fm.run(in, o);
  o.backend = compute::Backend::Cuda;
  const auto gpu = fm.run(in, o);
  REQUIRE(cpu.size() == gpu.size());
  for (std::size_t s = 0; s < cpu.size(); ++s) {
    check_close(cpu[s].throughput_lots_per_day, gpu[s].throughput_lots_per_day, in[s].name + " throughput");
    check_close(cpu[s].wip_lots, gpu[s].wip_lots, in[s].name + " wip");
    check_close(cpu[s].cycle_time_days, gpu[s].cycle_time_days, in[s].name + " cycle time");
    check_close(cpu[s].completed_lots, gpu[s].completed_lots, in[s].name + " completed");
    for (std::size_t g = 0; g < cpu[s].utilisation.size(); ++g)
      check_close(cpu[s].utilisation[g], gpu[s].utilisation[g],
                  in[s].name + " utilisation " + std::to_string(g));
  }
}

}  // namespace

TEST_CASE("CPU and CUDA agree on the hand-computable fab", "[flow][gpu]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  std::vector<flow::ScenarioInput> in;
  for (int s = 0; s < 40; ++s)
    in.push_back({std::string("s").append(std::to_string(s)),
                  {1u, 2u + static_cast<unsigned>(s % 3)},
                  {},
                  {},
                  {0.6 + 0.01 * s}});
  flow::RunOptions o;
  o.warmup_days = 2;
  o.days = 5;
  o.period_hours = 0.02;
  compare(fm.value(), in, o);
}

TEST_CASE("a CUDA run reports its progress as the CPU's, and stops on the callback's exception",
          "[flow][gpu]") {
  const auto fm = flow::FlowModel::create(test::flow_fab(), test::flow_fab_calibration());
  REQUIRE(fm.ok());
  std::vector<flow::ScenarioInput> in(40, flow::ScenarioInput{"s", {}, {}, {}, {}});
  flow::RunOptions o;
  o.warmup_days = 1;
  o.days = 2.5;
  o.period_hours = 0.05;
  o.backend = compute::Backend::Cuda;
  std::vector<double> done;
  o.progress = [&](double d, double total) {
    CHECK(total == Approx(40 * 3.5));
    done.push_back(d);
  };
  fm->run(in, o);
  CHECK(done.size() == 4);  // after days 1, 2, 3 and at the end (all scenarios at once)
  REQUIRE(!done.empty());
  CHECK(done.back() == Approx(40 * 3.5));
  struct Stop {};
  int calls = 0;
  o.progress = [&](double, double) {
    ++calls;
    throw Stop{};
  };
  CHECK_THROWS_AS(fm->run(in, o), Stop);
  CHECK(calls == 1);
}

TEST_CASE("CPU and CUDA agree on SMT2020_HVLM scenarios", "[flow][gpu]") {
  const std::string dir = std::string(FABTWIN_DATA_DIR) + "/SMT2020_HVLM";
  auto m = io::load_model(dir);
  REQUIRE(m.ok());
  auto cal = flow::read_calibration(dir + ".flow.json");
  REQUIRE(cal.ok());
  const auto fm = flow::FlowModel::create(m.value(), cal.value());
  REQUIRE(fm.ok());
  std::vector<flow::ScenarioInput> in;
  for (int s = 0; s < 48; ++s) {
    flow::ScenarioInput x;
    x.name = std::string("s").append(std::to_string(s));
    x.release_factor = {0.85 + 0.003 * s, 1.0 - 0.002 * s};
    x.tools.resize(cal->groups.size());
    for (std::size_t g = 0; g < x.tools.size(); ++g) x.tools[g] = cal->groups[g].tools + ((g + s) % 7 == 0);
    in.push_back(std::move(x));
  }
  flow::RunOptions o;
  o.warmup_days = 10;
  o.days = 30;
  compare(fm.value(), in, o);
}

int main(int argc, char** argv) {
  if (!compute::cuda_available()) {
    std::printf("test_flow_gpu: skipped (%s)\n",
                compute::cuda_built() ? "no CUDA device" : "built without CUDA");
    return 77;
  }
  std::printf("test_flow_gpu: %s\n", compute::cuda_device_name().c_str());
  return Catch::Session().run(argc, argv);
}
