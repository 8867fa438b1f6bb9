// libFuzzer target: a fuzzed native model that reads is simulated for 30 days (autonomous), then a
// follow-mode twin of it takes events built from its own state; views, deltas and checkpoints must
// stay consistent. Runs under ASan + UBSan (scripts/fuzz). Work is bounded so a model that merely
// releases a great many lots is not reported as a timeout.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

constexpr std::uint64_t kMaxEvents = 400'000;
constexpr std::size_t kMaxLots = 5'000;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_simulate: %s\n", what);
  std::abort();
}

// Keyframe + delta must equal the keyframe now; a checkpoint must restore to the same bytes.
void check_consistency(const des::Simulation& sim, const des::StateView& before) {
  auto delta = sim.changes_since(before.version);
  if (!delta) fail("no delta from an earlier version");
  des::StateView rebuilt = before;
  des::apply_delta(rebuilt, *delta);
  if (!(rebuilt == sim.view())) fail("keyframe + delta differs from the keyframe now");
  const std::string bytes = sim.save();
  auto back = des::Simulation::restore(sim.model(), sim.options(), bytes);
  if (!back.ok()) {
    std::fprintf(stderr, "restore: %s\n", back.error().what().c_str());
    fail("a checkpoint does not restore");
  }
  if (back->save() != bytes) fail("a restored checkpoint saves other bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto m = io::parse_native(input, "fuzz.json");
  if (!m) return 0;
  auto created = des::Simulation::create(*m, des::Options{.seed = size});
  if (!created.ok()) return 0;
  des::Simulation sim = std::move(created.value());
  const des::StateView start = sim.view();
  for (int day = 1; day <= 30; ++day) {
    sim.run_until(SimTime{round_ms(day * kMsPerDay)});
    if (sim.events() > kMaxEvents || sim.lots_in_fab() > kMaxLots) break;
  }
  check_consistency(sim, start);
  des::Simulation fork = sim.fork();
  fork.run_until(fork.now() + round_ms(kMsPerDay));

  // A follow-mode twin: move each lot along its route by events, checking refusals change nothing.
  auto twin_r = des::Simulation::create(*m, des::Options{.seed = 1, .mode = des::Mode::Follow});
  if (!twin_r.ok()) fail("follow mode refused a model autonomous mode took");
  des::Simulation twin = std::move(twin_r.value());
  twin.enable_journal(64);
  const des::StateView t0 = twin.view();
  std::int64_t t = 0;
  std::size_t steps = 0;
  for (const des::LotView& lot : t0.lots) {
    if (++steps > 200) break;
    const auto& step = m->step(lot.step);
    const auto& group = m->tool_group(step.tool_group);
    des::Event in;
    in.id = "i" + std::to_string(steps);
    in.time = SimTime{Duration{t += 60'000}};
    in.kind = des::EventKind::TrackIn;
    in.lots = {lot.name};
    in.tool =
        m->tool(ToolId{group.first_tool.value + static_cast<std::uint32_t>(steps % group.tool_count)}).name;
    in.step = step.number;
    const des::StateView v = twin.view();
    const auto r = twin.apply(in);
    if (!r.ok()) {
      des::StateView after = twin.view();
      after.counts = v.counts;
      after.version = v.version;
      if (!(after == v)) fail("a refused event changed the state");
      continue;
    }
    des::Event out = in;
    out.id = "o" + std::to_string(steps);
    out.kind = des::EventKind::TrackOut;
    out.time = SimTime{Duration{t += 3'600'000}};
    if (!twin.apply(out).ok()) fail("track-out of a lot just tracked in was refused");
  }
  check_consistency(twin, t0);
  twin.set_mode(des::Mode::Autonomous);
  twin.run_until(twin.now() + round_ms(2 * kMsPerDay));
  return 0;
}
