// SMT2020 HVLM: 30 days emulated, then replayed by a follow-mode twin from the events alone.
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/replay.hpp"
#include "fabtwin/twin/state_file.hpp"
#include "test_paths.hpp"
#include "twin_helpers.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

const SimTime kEnd{round_ms(30 * kMsPerDay)};

void print_report(const char* what, const twin::ReplayReport& r) {
  std::printf(
      "%s: %llu events read, %llu applied (%llu late), %llu duplicate, %llu refused in %.2f s: %.0f "
      "events/s\n",
      what, static_cast<unsigned long long>(r.events_read), static_cast<unsigned long long>(r.applied),
      static_cast<unsigned long long>(r.late), static_cast<unsigned long long>(r.duplicate),
      static_cast<unsigned long long>(r.refused), r.wall_s, r.wall_s > 0 ? r.events_read / r.wall_s : 0.0);
  for (int k = 0; k < des::kRefuseReasonCount; ++k)
    if (r.refused_by_reason[k])
      std::printf("  refused %s: %llu\n",
                  std::string(des::to_string(static_cast<des::RefuseReason>(k))).c_str(),
                  static_cast<unsigned long long>(r.refused_by_reason[k]));
  std::fflush(stdout);
}

}  // namespace

TEST_CASE(
    "HVLM: 30 days emulated, replayed from the events, give the same state; 5 % lost events are refused, not "
    "fatal",
    "[twin][smt2020][slow]") {
  const Model m = io::load_model(test::hvlm()).value();
  const auto dir = std::filesystem::temp_directory_path() / "fabtwin_twin_hvlm";
  std::filesystem::create_directories(dir);
  const auto events_file = dir / "events.jsonl";

  std::string emulated_state;
  std::uint64_t events = 0;
  {
    std::ofstream out(events_file, std::ios::binary);
    auto em = twin::emulate(m, {.sim = {.seed = 1}, .days = 30}, out);
    REQUIRE(em.ok());
    events = em->events;
    emulated_state = twin::state_text(em->sim);
    std::printf("emulate HVLM 30 days: %llu events in %.2f s (%llu lots in the fab at the end)\n",
                static_cast<unsigned long long>(events), em->wall_s,
                static_cast<unsigned long long>(em->sim.lots_in_fab()));
  }
  REQUIRE(events > 100000);

  {  // every event: the same state file
    std::ifstream in(events_file, std::ios::binary);
    auto r = twin::replay(m, in, {.until = kEnd});
    REQUIRE(r.ok());
    print_report("replay HVLM 30 days", r->report);
    CHECK(r->report.events_read == events);
    CHECK(r->report.applied == events);
    CHECK(r->report.refused == 0);
    CHECK(r->report.duplicate == 0);
    const std::string replayed = twin::state_text(r->sim);
    INFO(test::first_difference(emulated_state, replayed));
    CHECK(replayed == emulated_state);
  }

  {  // every 20th event deleted: the rest applied, refusals reported with reasons and lines
    std::ifstream in(events_file, std::ios::binary);
    std::ostringstream kept;
    std::uint64_t n = 0, deleted = 0;
    for (std::string line; std::getline(in, line);)
      if (++n % 20 == 0)
        ++deleted;
      else
        kept << line << '\n';
    std::istringstream lossy(kept.str());
    auto r = twin::replay(m, lossy, {.until = kEnd, .max_listed = 100000});
    REQUIRE(r.ok());
    const auto& rep = r->report;
    print_report("replay HVLM 30 days, 5 % deleted", rep);
    CHECK(rep.events_read == events - deleted);
    CHECK(rep.applied + rep.refused + rep.duplicate == rep.events_read);
    CHECK(rep.refused > 0);
    CHECK(rep.applied > rep.events_read / 2);
    CHECK(rep.unreadable == 0);
    std::uint64_t by_reason = 0;
    for (const auto c : rep.refused_by_reason) by_reason += c;
    CHECK(by_reason == rep.refused);
    REQUIRE_FALSE(rep.refusals.empty());
    for (const auto& f : rep.refusals) {
      CHECK(f.line >= 1);
      CHECK(f.line <= rep.events_read);
      CHECK_FALSE(f.id.empty());
      CHECK_FALSE(f.message.empty());
    }
    CHECK(r->sim.now() == kEnd);
    CHECK(r->sim.event_counts().refused == rep.refused);
    twin::ReplayReport head = rep;  // the report as a person reads it, first refusals only
    head.refusals.resize(std::min<std::size_t>(5, head.refusals.size()));
    std::printf("%s", twin::report_text(head).c_str());
  }
  std::filesystem::remove_all(dir);
}
