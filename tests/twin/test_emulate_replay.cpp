// The emulator plays the mini-fab; a follow-mode twin fed its events reaches the same state.
#include <catch2/catch.hpp>
#include <map>
#include <sstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/noise.hpp"
#include "fabtwin/twin/replay.hpp"
#include "fabtwin/twin/state_file.hpp"
#include "test_paths.hpp"
#include "twin_helpers.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using des::Event;
using des::EventKind;

namespace {

SimTime days(double d) { return SimTime{round_ms(d * kMsPerDay)}; }

struct Emulated {
  std::string events;
  std::string state;
  twin::EmulateResult result;
};

Emulated emulate(const Model& m, double d, double noise = 0, std::uint64_t seed = 1) {
  std::ostringstream out;
  auto r = twin::emulate(m, {.sim = {.seed = seed}, .days = d, .noise = noise}, out);
  REQUIRE(r.ok());
  std::string state = twin::state_text(r->sim);
  return {out.str(), std::move(state), std::move(r.value())};
}

std::vector<Event> read_events(const Model& m, const std::string& text) {
  std::vector<Event> v;
  int n = 0;
  for (const auto& l : test::lines_of(text)) {
    auto e = twin::parse_event_json(l, m.data().epoch_unix_s, ++n);
    REQUIRE(e.ok());
    v.push_back(std::move(e.value()));
  }
  return v;
}

}  // namespace

TEST_CASE("the emulator reports the mini-fab's events in order, one id each", "[twin][emulator]") {
  const Model m = io::load_model(test::minifab()).value();
  const auto em = emulate(m, 3);
  const auto events = read_events(m, em.events);
  REQUIRE(events.size() == em.result.events);
  REQUIRE(events.size() > 100);
  std::map<EventKind, int> kinds;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& e = events[i];
    CHECK(e.id == std::string("e").append(std::to_string(i + 1)));
    if (i) CHECK(e.time >= events[i - 1].time);
    ++kinds[e.kind];
  }
  CHECK(kinds[EventKind::LotReleased] > 0);
  CHECK(kinds[EventKind::LotQueued] > 0);
  CHECK(kinds[EventKind::TrackIn] > 0);
  CHECK(kinds[EventKind::TrackOut] > 0);
  CHECK(kinds.count(EventKind::SetupChange) == 0);  // implied by the track-ins
  for (int k = 0; k < des::kEventKindCount; ++k)
    CHECK(em.result.by_kind[k] == static_cast<std::uint64_t>(kinds[EventKind(k)]));

  // The initial WIP joins its queues at time zero, in file order (Init_A_1 at step 2 first).
  REQUIRE(events[0].kind == EventKind::LotQueued);
  CHECK(events[0].time == SimTime{});
  CHECK(events[0].lots == std::vector<std::string>{m.wip()[0].name});
  CHECK(events[0].step == m.step(m.wip()[0].current_step).number);

  // A release names the order's lot, product, priority, wafers and due date (release + 2.5 days).
  const auto rel = std::find_if(events.begin(), events.end(),
                                [](const Event& e) { return e.kind == EventKind::LotReleased; });
  REQUIRE(rel != events.end());
  CHECK(rel->lots[0] == "Lot_A_1");
  CHECK(rel->product == "part_A");
  CHECK(rel->wafers == 25);
  CHECK(rel->priority == 10);
  CHECK(rel->due == rel->time + round_ms(2.5 * kMsPerDay));

  // Every track-out says where the lot goes; the lot's next lot_queued (after its transport)
  // names that step.
  int checked = 0;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Event& out = events[i];
    if (out.kind != EventKind::TrackOut) continue;
    CHECK((out.next_step != 0) != out.route_done);
    if (out.route_done) continue;
    for (std::size_t j = i + 1; j < events.size(); ++j) {
      if (events[j].lots.empty() || events[j].lots[0] != out.lots[0]) continue;
      CHECK(events[j].kind == EventKind::LotQueued);
      CHECK(events[j].step == out.next_step);
      CHECK(events[j].time >= out.time);
      ++checked;
      break;
    }
  }
  CHECK(checked > 50);
}

TEST_CASE("emulator tool events: downs, repairs and PMs, nothing else", "[twin][emulator]") {
  const Model m = io::load_model(test::minifab()).value();
  const auto em = emulate(m, 20);
  const auto events = read_events(m, em.events);
  std::map<std::string, std::string> last;         // per tool: "down", "pm" or "up"
  std::map<std::string, std::string> pm_calendar;  // per tool: the calendar of its PM
  int downs = 0, pms = 0;
  for (const Event& e : events) {
    if (e.kind == EventKind::ToolState) {
      CHECK((e.state == des::ToolState::UnscheduledDown || e.state == des::ToolState::Standby));
      if (e.state == des::ToolState::UnscheduledDown) {
        CHECK(last[e.tool] != "down");
        last[e.tool] = "down";
        ++downs;
      } else {
        CHECK(last[e.tool] == "down");  // a repair follows a failure
        last[e.tool] = "up";
      }
    } else if (e.kind == EventKind::PmStart) {
      CHECK(last[e.tool] != "pm");
      // The PM's calendar is named (a replaying twin refuses one not attached to the tool).
      REQUIRE_FALSE(e.calendar.empty());
      bool known = false;
      for (const auto& c : m.pm_calendars()) known = known || c.name == e.calendar;
      CHECK(known);
      pm_calendar[e.tool] = e.calendar;
      last[e.tool] = "pm";
      ++pms;
    } else if (e.kind == EventKind::PmEnd) {
      CHECK(last[e.tool] == "pm");
      CHECK(e.calendar == pm_calendar[e.tool]);
      last[e.tool] = "up";
    }
  }
  CHECK(downs > 0);
  CHECK(pms > 0);
}

TEST_CASE("replaying the emulated mini-fab's 20 days gives the same state file", "[twin][replay]") {
  const Model m = io::load_model(test::minifab()).value();
  const auto em = emulate(m, 20);
  std::istringstream in(em.events);
  auto r = twin::replay(m, in, {.until = days(20)});
  REQUIRE(r.ok());
  const auto& rep = r->report;
  INFO(twin::report_text(rep));
  CHECK(rep.events_read == em.result.events);
  CHECK(rep.applied == em.result.events);
  CHECK(rep.refused == 0);
  CHECK(rep.duplicate == 0);
  CHECK(rep.late == 0);
  CHECK(r->sim.now() == days(20));
  CHECK(r->sim.mode() == des::Mode::Follow);
  const std::string replayed = twin::state_text(r->sim);
  INFO(test::first_difference(em.state, replayed));
  CHECK(replayed == em.state);
  CHECK(r->sim.live_kpis().moves == em.result.sim.live_kpis().moves);
  CHECK(r->sim.live_kpis().lots_completed == em.result.sim.live_kpis().lots_completed);
}

TEST_CASE("a fab that deviates from its model (--noise) is still followed exactly", "[twin][replay][noise]") {
  const Model m = io::load_model(test::minifab()).value();
  const auto plain = emulate(m, 10);
  const auto noisy = emulate(m, 10, 0.3, 7);
  CHECK(noisy.events != plain.events);  // other processing times and failures
  std::istringstream in(noisy.events);
  auto r = twin::replay(m, in, {.until = days(10)});  // the twin knows only the model
  REQUIRE(r.ok());
  CHECK(r->report.applied == noisy.result.events);
  CHECK(r->report.refused == 0);
  const std::string replayed = twin::state_text(r->sim);
  INFO(test::first_difference(noisy.state, replayed));
  CHECK(replayed == noisy.state);
}

TEST_CASE("noise factors lie in [1/(1+F), 1+F], depend on the seed, and 0 changes nothing", "[twin][noise]") {
  const Model m = io::load_model(test::minifab()).value();
  const double F = 0.25;
  auto a = twin::perturb(m, {}, F, 11);
  auto b = twin::perturb(m, {}, F, 11);
  auto c = twin::perturb(m, {}, F, 12);
  REQUIRE(a.ok());
  REQUIRE(c.ok());
  REQUIRE(a->factors.size() == m.tool_groups().size());
  bool differs = false;
  for (std::size_t g = 0; g < a->factors.size(); ++g) {
    for (const double f : {a->factors[g].process_factor, a->factors[g].mttf_factor}) {
      CHECK(f >= 1 / (1 + F) - 1e-12);
      CHECK(f <= 1 + F + 1e-12);
    }
    CHECK(a->factors[g].process_factor == b->factors[g].process_factor);
    differs |= a->factors[g].process_factor != c->factors[g].process_factor;
  }
  CHECK(differs);
  // The processing time of every step of a group scales by its factor; names stay.
  const auto& steps = m.steps();
  for (std::size_t i = 0; i < steps.size(); ++i) {
    const auto& g = m.tool_group(steps[i].tool_group).name;
    const auto it =
        std::find_if(a->factors.begin(), a->factors.end(), [&](const auto& f) { return f.group == g; });
    CHECK(a->model.model.steps()[i].process_time.mean() ==
          Approx(steps[i].process_time.mean() * it->process_factor));
  }
  CHECK(a->model.model.name() == m.name());
  auto none = twin::perturb(m, {}, 0, 11);
  REQUIRE(none.ok());
  CHECK(none->model.model == m);
  CHECK_FALSE(twin::perturb(m, {}, -0.1, 1).ok());
}

TEST_CASE("a replay lists what it refused with line numbers and never stops", "[twin][replay]") {
  const Model m = io::load_model(test::minifab()).value();
  const std::string events =
      R"({"id":"1","time":"2018-01-01T01:00:00.000Z","kind":"lot_released","lots":["X"],"product":"part_A","wafers":25})"
      "\n"
      "\n"
      R"({"id":"2","time":"2018-01-01T01:01:00.000Z","kind":"track_in","lots":["X"],"tool":"Litho_E_1"})"
      "\n"
      R"({"id":"1","time":"2018-01-01T01:02:00.000Z","kind":"hold","lots":["X"]})"
      "\n"
      R"({"id":"3","time":"2018-01-01T01:03:00.000Z","kind":"hold","lots":["X"],"colour":"red"})"
      "\n"
      R"({"id":"4","time":"2018-01-01T00:59:00.000Z","kind":"hold","lots":["X"]})"
      "\n"
      R"({"id":"5","time":"2018-01-01T01:04:00.000Z","kind":"pm_end","tool":"Litho_E_1"})"
      "\n";
  std::istringstream in(events);
  auto r = twin::replay(m, in, {.until = days(1)});
  REQUIRE(r.ok());
  const auto& rep = r->report;
  CHECK(rep.events_read == 6);
  CHECK(rep.applied == 2);  // the release, the late hold
  CHECK(rep.late == 1);
  CHECK(rep.duplicate == 1);
  CHECK(rep.refused == 3);
  CHECK(rep.unreadable == 1);
  CHECK(rep.applied + rep.refused + rep.duplicate == rep.events_read);
  CHECK(rep.refused_by_reason[static_cast<int>(des::RefuseReason::WrongToolGroup)] == 1);
  CHECK(rep.refused_by_reason[static_cast<int>(des::RefuseReason::Malformed)] == 1);
  CHECK(rep.refused_by_reason[static_cast<int>(des::RefuseReason::NotDown)] == 1);
  REQUIRE(rep.refusals.size() == 3);
  CHECK(rep.refusals[0].line == 3);
  CHECK(rep.refusals[0].id == "2");
  CHECK(rep.refusals[0].field == "tool");
  CHECK(rep.refusals[1].line == 5);
  CHECK(rep.refusals[1].field == "colour");
  CHECK(rep.refusals[2].line == 7);
  CHECK(r->sim.now() == days(1));
  const std::string text = twin::report_text(rep);
  CHECK_THAT(text, Catch::Contains("line 3 (2): wrong_tool_group: tool:"));
  CHECK_THAT(text, Catch::Contains("refused not_down: 1"));
  const auto j = twin::report_json(rep);
  CHECK(j.find("refused")->as_number() == 3);
  CHECK(j.find("refusals")->as_array().size() == 3);
  CHECK(j.find("refused_by_reason")->find("malformed")->as_number() == 1);
}

TEST_CASE("a replayed twin checkpoints exactly and forks into an autonomous forecast",
          "[twin][replay][fork]") {
  const Model m = io::load_model(test::minifab()).value();
  const auto em = emulate(m, 6);
  auto twin_sim = des::Simulation::create(m, {.mode = des::Mode::Follow}).value();
  twin::Replayer replayer(twin_sim);
  // Feed events up to the first track-out after day 5: its lot is on its way to the next step.
  std::string lot;
  std::uint64_t n = 0;
  for (const auto& l : test::lines_of(em.events)) {
    REQUIRE(replayer.feed(l, ++n) == twin::Outcome::Applied);
    if (twin_sim.now() < days(5) || l.find("\"track_out\"") == std::string::npos ||
        l.find("next_step") == std::string::npos)
      continue;
    lot = l.substr(l.find("\"lots\":[\"") + 9);
    lot = lot.substr(0, lot.find('"'));
    break;
  }
  REQUIRE_FALSE(lot.empty());
  const auto in_transport = [&](const des::Simulation& s) {
    for (const auto& v : s.view().lots)
      if (v.name == lot) return v.place == des::LotPlace::InTransport;
    return false;
  };
  CHECK(in_transport(twin_sim));  // follow mode: it waits for its lot_queued

  auto back = des::Simulation::restore(m, twin_sim.options(), twin_sim.save());
  INFO((back.ok() ? std::string() : back.error().what()));
  REQUIRE(back.ok());
  CHECK(twin::state_text(back.value()) == twin::state_text(twin_sim));

  auto forecast = twin_sim.fork();
  forecast.set_mode(des::Mode::Autonomous);
  const auto moves = forecast.live_kpis().moves;
  forecast.run_until(twin_sim.now() + round_ms(kMsPerDay));
  CHECK(forecast.live_kpis().moves > moves);
  CHECK_FALSE(in_transport(forecast));  // it arrived (and perhaps went on)
  for (const auto& v : forecast.view().lots)
    if (v.place == des::LotPlace::InTransport) CHECK(v.since >= forecast.now() - round_ms(15 * kMsPerMinute));
  CHECK(in_transport(twin_sim));  // the twin itself did not move
}
