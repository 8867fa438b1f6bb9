// fabtwin.v1 live-twin messages: state keyframes and deltas survive the conversion exactly, MES
// events convert both ways, and a bad event in a request is named by its field.
#include <google/protobuf/util/message_differencer.h>

#include <catch2/catch.hpp>
#include <sstream>

#include "event_helpers.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using google::protobuf::util::MessageDifferencer;

namespace {

// The mini-fab's MES events over `days` of emulation.
std::vector<des::Event> emulated_events(const model::Model& m, double days) {
  std::ostringstream out;
  auto r = twin::emulate(m, {.sim = {.seed = 3}, .days = days}, out);
  REQUIRE(r.ok());
  std::vector<des::Event> v;
  std::istringstream in(out.str());
  int n = 0;
  for (std::string l; std::getline(in, l);) {
    auto e = twin::parse_event_json(l, m.data().epoch_unix_s, ++n);
    REQUIRE(e.ok());
    v.push_back(std::move(e.value()));
  }
  return v;
}

des::Simulation follow_twin(const model::Model& m) {
  auto sim = des::Simulation::create(m, {.seed = 3, .mode = des::Mode::Follow});
  REQUIRE(sim.ok());
  sim->enable_journal();
  return std::move(sim.value());
}

std::string diff(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  MessageDifferencer d;
  std::string report;
  d.ReportDifferencesToString(&report);
  return d.Compare(a, b) ? std::string{} : report.substr(0, 2000);
}

}  // namespace

TEST_CASE(
    "a keyframe and the deltas after it, converted, rebuild the converted keyframe at the newest version",
    "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const auto events = emulated_events(m, 4);
  REQUIRE(events.size() > 500);
  des::Simulation sim = follow_twin(m);
  twin::Ledger ledger(sim);

  v1::StateKeyframe rebuilt = twin_pb::to_proto(sim.view());
  std::size_t deltas = 0, lots_left = 0;
  for (std::size_t i = 0; i < events.size();) {
    // Chunks of growing size: single events, then merged deltas over many.
    const std::size_t n = std::min(events.size() - i, 1 + deltas % 37);
    for (std::size_t k = 0; k < n; ++k) ledger.apply(events[i + k]);
    i += n;
    const auto d = sim.changes_since(rebuilt.version());
    REQUIRE(d);
    const v1::StateDelta pd = twin_pb::to_proto(*d);
    lots_left += pd.lots_left_size();
    twin_pb::apply_delta(rebuilt, pd);
    ++deltas;
    if (deltas % 25 == 0) {
      const auto now = twin_pb::to_proto(sim.view());
      INFO("after event " << i);
      REQUIRE(diff(rebuilt, now) == "");
    }
  }
  const auto final_frame = twin_pb::to_proto(sim.view());
  CHECK(diff(rebuilt, final_frame) == "");
  CHECK(rebuilt.version() == sim.version());
  CHECK(rebuilt.lots_size() > 0);
  CHECK(lots_left > 0);  // completions were exercised

  // And back: the rebuilt message is the engine's view, field for field.
  const auto back = twin_pb::from_proto(rebuilt);
  REQUIRE(back.ok());
  CHECK(back.value() == sim.view());
}

TEST_CASE("a delta converted back to the engine's form applies as the engine's delta does", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const auto events = emulated_events(m, 2);
  des::Simulation sim = follow_twin(m);
  twin::Ledger ledger(sim);
  des::StateView view = sim.view();
  for (std::size_t i = 0; i < events.size(); i += 50) {
    for (std::size_t k = i; k < std::min(events.size(), i + 50); ++k) ledger.apply(events[k]);
    const auto d = twin_pb::from_proto(twin_pb::to_proto(*sim.changes_since(view.version)));
    REQUIRE(d.ok());
    des::apply_delta(view, d.value());
  }
  CHECK(view == sim.view());
}

TEST_CASE("a delta that does not start at the keyframe's version is refused", "[server][pb]") {
  v1::StateKeyframe k;
  k.set_version(7);
  v1::StateDelta d;
  d.set_from_version(6);
  d.set_to_version(9);
  CHECK_THROWS_AS(twin_pb::apply_delta(k, d), std::invalid_argument);
  d.set_from_version(7);
  d.add_tools()->set_tool(0);  // the keyframe has no tool 0
  CHECK_THROWS_AS(twin_pb::apply_delta(k, d), std::invalid_argument);
}

TEST_CASE("a keyframe with an unspecified enumeration is refused naming the field", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  des::Simulation sim = follow_twin(m);
  v1::StateKeyframe k = twin_pb::to_proto(sim.view());
  REQUIRE(k.tools_size() > 2);
  k.mutable_tools(2)->set_state(v1::TOOL_STATE_UNSPECIFIED);
  const auto r = twin_pb::from_proto(k);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().field == "tools[2].state");
}

TEST_CASE("every emulated MES event converts to a message and decodes back unchanged", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const auto events = emulated_events(m, 3);
  const twin_pb::EventDecoder decoder(m);
  std::array<int, des::kEventKindCount> kinds{};
  v1::IngestRequest request;
  for (const des::Event& e : events) {
    twin_pb::to_proto(e, *request.add_events());
    ++kinds[static_cast<int>(e.kind)];
  }
  const auto back = decoder.decode(request);
  REQUIRE(back.ok());
  REQUIRE(back->size() == events.size());
  for (std::size_t i = 0; i < events.size(); ++i) test::check_same_event(back.value()[i], events[i]);
  CHECK(kinds[static_cast<int>(des::EventKind::TrackIn)] > 0);
  CHECK(kinds[static_cast<int>(des::EventKind::LotReleased)] > 0);
}

TEST_CASE("events the twin never sees from the emulator convert both ways too", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const twin_pb::EventDecoder decoder(m);
  des::Event e;
  e.id = "x1";
  e.time = model::SimTime{model::Duration{1234}};
  e.kind = des::EventKind::ToolState;
  e.tool = m.tools()[0].name;
  e.state = des::ToolState::Engineering;
  e.until = model::SimTime{model::Duration{99'000}};
  auto r = decoder.decode(twin_pb::to_proto(e));
  REQUIRE(r.ok());
  test::check_same_event(r.value(), e);

  e = {};
  e.id = "x2";
  e.kind = des::EventKind::SetupChange;
  e.tool = m.tools()[0].name;
  REQUIRE_FALSE(m.setups().empty());
  e.setup = m.setups()[0].name;
  r = decoder.decode(twin_pb::to_proto(e));
  REQUIRE(r.ok());
  test::check_same_event(r.value(), e);
}

TEST_CASE("a bad event in a request is named by its index and field", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const twin_pb::EventDecoder decoder(m);
  const std::string tool = m.tools()[0].name;
  v1::IngestRequest req;
  for (int i = 0; i < 4; ++i) {
    v1::MesEvent& e = *req.add_events();
    e.set_id("e" + std::to_string(i));
    e.set_time_ms(1000 * i);
    e.set_kind(v1::EVENT_KIND_PM_END);
    e.set_tool(tool);
  }
  REQUIRE(decoder.decode(req).ok());

  struct Case {
    const char* what;
    std::function<void(v1::MesEvent&)> change;
    std::string field, message;
  };
  const std::vector<Case> cases = {
      {"unknown tool", [](v1::MesEvent& e) { e.set_tool("X"); }, "events[3].tool", "unknown tool \"X\""},
      {"no id", [](v1::MesEvent& e) { e.clear_id(); }, "events[3].id", "missing"},
      {"no kind", [](v1::MesEvent& e) { e.set_kind(v1::EVENT_KIND_UNSPECIFIED); }, "events[3].kind",
       "missing"},
      {"negative time", [](v1::MesEvent& e) { e.set_time_ms(-1); }, "events[3].time_ms", "outside"},
      {"a field the kind does not use", [](v1::MesEvent& e) { e.set_wafers(3); }, "events[3].wafers",
       "not used by kind pm_end"},
      {"a required field missing", [](v1::MesEvent& e) { e.set_kind(v1::EVENT_KIND_SETUP_CHANGE); },
       "events[3].setup", "missing (required by kind setup_change)"},
      {"unknown calendar", [](v1::MesEvent& e) { e.set_calendar("nope"); }, "events[3].calendar",
       "unknown PM calendar \"nope\""},
      {"setup as a tool state",
       [](v1::MesEvent& e) {
         e.set_kind(v1::EVENT_KIND_TOOL_STATE);
         e.set_state(v1::TOOL_STATE_SETUP);
       },
       "events[3].state", "setup is not reported"},
      {"an unknown product",
       [](v1::MesEvent& e) {
         e.set_kind(v1::EVENT_KIND_LOT_RELEASED);
         e.clear_tool();
         e.add_lots("L1");
         e.set_wafers(25);
         e.set_product("nope");
       },
       "events[3].product", "unknown product \"nope\""},
      {"two lots on a hold",
       [](v1::MesEvent& e) {
         e.set_kind(v1::EVENT_KIND_HOLD);
         e.clear_tool();
         e.add_lots("L1");
         e.add_lots("L2");
       },
       "events[3].lots", "names one lot"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    v1::IngestRequest bad = req;
    c.change(*bad.mutable_events(3));
    const auto r = decoder.decode(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().field == c.field);
    CHECK_THAT(r.error().message, Catch::Contains(c.message));
    CHECK_THAT(twin_pb::status_text(r.error()), Catch::StartsWith(c.field + ": "));
  }
}

TEST_CASE("the model summary names every tool, group, step and setup by index", "[server][pb]") {
  const model::Model m = io::load_model(test::minifab()).value();
  const v1::ModelSummary s = twin_pb::model_summary(m, des::Mode::Follow);
  CHECK(s.name() == m.name());
  CHECK(s.epoch_unix_s() == m.data().epoch_unix_s);
  CHECK(s.mode() == v1::MODE_FOLLOW);
  REQUIRE(s.tools_size() == static_cast<int>(m.tools().size()));
  for (int i = 0; i < s.tools_size(); ++i) {
    CHECK(s.tools(i).name() == m.tools()[i].name);
    const auto& g = s.tool_groups(static_cast<int>(s.tools(i).group()));
    CHECK(static_cast<std::uint32_t>(i) >= g.first_tool());
    CHECK(static_cast<std::uint32_t>(i) < g.first_tool() + g.tool_count());
  }
  REQUIRE(s.steps_size() == static_cast<int>(m.steps().size()));
  for (const auto& r : s.routes())
    for (std::uint32_t k = 0; k < r.step_count(); ++k)
      CHECK(s.routes(static_cast<int>(s.steps(static_cast<int>(r.first_step() + k)).route())).name() ==
            r.name());
  CHECK(s.setups_size() == static_cast<int>(m.setups().size()));
  CHECK(s.products_size() == static_cast<int>(m.products().size()));
}
