// MES events as JSON lines: round trip, the time format, and every class of parse error.
#include <catch2/catch.hpp>

#include "event_helpers.hpp"
#include "fabtwin/twin/event_json.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using des::Event;
using des::EventKind;

namespace {

constexpr std::int64_t kEpoch = 1514764800;  // 2018-01-01T00:00:00Z
SimTime ms(std::int64_t v) { return SimTime{Duration{v}}; }

Event make(EventKind k) {
  Event e;
  e.id = "ev-" + std::string(des::to_string(k));
  e.time = ms(390'896'789);
  e.kind = k;
  return e;
}

// One event of every kind, with every key its kind uses set.
std::vector<Event> every_kind() {
  std::vector<Event> v;
  Event e = make(EventKind::LotReleased);
  e.lots = {"Lot \"A\"_1"};
  e.product = "part_A";
  e.priority = 20;
  e.wafers = 24;
  e.due = ms(500'000'000);
  v.push_back(e);
  e = make(EventKind::LotQueued);
  e.lots = {"L1"};
  e.step = 3;
  v.push_back(e);
  e = make(EventKind::TrackIn);
  e.lots = {"L1", "L2", "L3"};
  e.tool = "Diffusion_AB_1";
  e.step = 1;
  v.push_back(e);
  e = make(EventKind::TrackOut);
  e.lots = {"L1"};
  e.tool = "Litho_E_1";
  e.step = 6;
  e.next_step = 6;
  v.push_back(e);
  e = make(EventKind::TrackOut);
  e.id = "done";
  e.lots = {"L1"};
  e.tool = "Litho_E_1";
  e.step = 6;
  e.route_done = true;
  v.push_back(e);
  e = make(EventKind::Hold);
  e.lots = {"L1"};
  v.push_back(e);
  e = make(EventKind::HoldRelease);
  e.lots = {"L1"};
  v.push_back(e);
  e = make(EventKind::Scrap);
  e.lots = {"L1"};
  e.wafers = 2;
  v.push_back(e);
  e = make(EventKind::Rework);
  e.lots = {"L1"};
  e.step = 2;
  v.push_back(e);
  e = make(EventKind::ToolState);
  e.tool = "Implant_CD_2";
  e.state = des::ToolState::UnscheduledDown;
  e.until = ms(400'000'000);
  v.push_back(e);
  e = make(EventKind::PmStart);
  e.tool = "Implant_CD_2";
  e.calendar = "PM_implant";
  e.until = ms(400'000'001);
  v.push_back(e);
  e = make(EventKind::PmEnd);
  e.tool = "Implant_CD_2";
  e.calendar = "PM_implant";
  v.push_back(e);
  e = make(EventKind::SetupChange);
  e.tool = "Implant_CD_1";
  e.setup = "SP_2";
  v.push_back(e);
  return v;
}

model::Error parse_error(std::string_view line, int n = 7) {
  auto r = twin::parse_event_json(line, kEpoch, n, "events.jsonl");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().line == n);
  CHECK(r.error().file == "events.jsonl");
  return r.error();
}

}  // namespace

TEST_CASE("times are ISO-8601 UTC with milliseconds from the model's epoch", "[twin][json]") {
  CHECK(twin::format_time(ms(0), kEpoch) == "2018-01-01T00:00:00.000Z");
  // 4 days + 12:34:56.789 = 4 * 86'400'000 + 45'296'789 ms
  CHECK(twin::format_time(ms(390'896'789), kEpoch) == "2018-01-05T12:34:56.789Z");
  CHECK(twin::parse_time("2018-01-05T12:34:56.789Z", kEpoch) == ms(390'896'789));
  CHECK(twin::parse_time("2017-12-31T23:59:59.999Z", kEpoch) == ms(-1));
  CHECK(twin::format_time(ms(0), 0) == "1970-01-01T00:00:00.000Z");
  CHECK_FALSE(twin::parse_time("2018-01-05T12:34:56.789", kEpoch));    // no zone
  CHECK_FALSE(twin::parse_time("2018-01-05 12:34:56Z", kEpoch));       // no 'T'
  CHECK_FALSE(twin::parse_time("2018-02-30T00:00:00Z", kEpoch));       // no such day
  CHECK_FALSE(twin::parse_time("2018-01-05T12:34:56.7891Z", kEpoch));  // below a millisecond
}

TEST_CASE("every event kind round-trips through its JSON line", "[twin][json]") {
  const auto events = every_kind();
  std::vector<bool> kinds(des::kEventKindCount);
  for (const Event& e : events) {
    const std::string line = twin::event_to_json(e, kEpoch);
    INFO(line);
    CHECK(line.find('\n') == std::string::npos);
    auto back = twin::parse_event_json(line, kEpoch);
    REQUIRE(back.ok());
    test::check_same_event(back.value(), e);
    CHECK(twin::event_to_json(back.value(), kEpoch) == line);
    kinds[static_cast<int>(e.kind)] = true;
  }
  CHECK(std::count(kinds.begin(), kinds.end(), true) == des::kEventKindCount);
}

TEST_CASE("an event line holds only the keys its kind uses", "[twin][json]") {
  Event e = make(EventKind::TrackIn);
  e.lots = {"L1"};
  e.tool = "T_1";
  e.step = 4;
  e.product = "ignored";  // not a key of track_in
  e.setup = "ignored";
  CHECK(
      twin::event_to_json(e, kEpoch) ==
      R"({"id":"ev-track_in","time":"2018-01-05T12:34:56.789Z","kind":"track_in","lots":["L1"],"tool":"T_1","step":4})");
  Event q = make(EventKind::ToolState);
  q.tool = "T_1";
  q.state = des::ToolState::Standby;
  CHECK(
      twin::event_to_json(q, kEpoch) ==
      R"({"id":"ev-tool_state","time":"2018-01-05T12:34:56.789Z","kind":"tool_state","tool":"T_1","state":"standby"})");
  Event o = make(EventKind::TrackOut);  // optional keys left out when not given
  o.lots = {"L1"};
  o.tool = "T_1";
  CHECK(
      twin::event_to_json(o, kEpoch) ==
      R"({"id":"ev-track_out","time":"2018-01-05T12:34:56.789Z","kind":"track_out","lots":["L1"],"tool":"T_1"})");
}

TEST_CASE("the reader accepts keys in any order and applies the defaults", "[twin][json]") {
  auto r = twin::parse_event_json(
      R"({"kind":"lot_released","wafers":25,"product":"part_A","lots":["X"],"time":"2018-01-01T00:00:01Z","id":"1"})",
      kEpoch);
  REQUIRE(r.ok());
  CHECK(r->kind == EventKind::LotReleased);
  CHECK(r->time == ms(1000));
  CHECK(r->priority == 10);
  CHECK_FALSE(r->due.has_value());
}

TEST_CASE("the reader refuses each kind of bad line, naming the line and the key", "[twin][json]") {
  const std::string head = R"("id":"e1","time":"2018-01-01T00:00:00.000Z")";
  SECTION("not JSON") {
    const auto e = parse_error(R"({"id":"e1",)");
    CHECK(e.field.empty());
  }
  SECTION("not an object") {
    const auto e = parse_error(R"(["track_in"])");
    CHECK(e.field.empty());
    CHECK_THAT(e.message, Catch::Contains("object"));
  }
  SECTION("no kind") { CHECK(parse_error("{" + head + R"(,"lots":["L"]})").field == "kind"); }
  SECTION("unknown kind") {
    const auto e = parse_error("{" + head + R"(,"kind":"teleport","lots":["L"]})");
    CHECK(e.field == "kind");
    CHECK_THAT(e.message, Catch::Contains("teleport") && Catch::Contains("track_in"));
  }
  SECTION("kind of the wrong type") { CHECK(parse_error("{" + head + R"(,"kind":3})").field == "kind"); }
  SECTION("unknown key") {
    const auto e = parse_error("{" + head + R"(,"kind":"hold","lots":["L"],"colour":"red"})");
    CHECK(e.field == "colour");
    CHECK_THAT(e.message, Catch::Contains("unknown key"));
  }
  SECTION("a key the kind does not use") {
    const auto e = parse_error("{" + head + R"(,"kind":"hold","lots":["L"],"tool":"T_1"})");
    CHECK(e.field == "tool");
    CHECK_THAT(e.message, Catch::Contains("hold"));
  }
  SECTION("wrong types") {
    CHECK(parse_error("{" + head + R"(,"kind":"lot_queued","lots":["L"],"step":"3"})").field == "step");
    CHECK(parse_error("{" + head + R"(,"kind":"lot_queued","lots":"L","step":3})").field == "lots");
    CHECK(parse_error("{" + head + R"(,"kind":"lot_queued","lots":[7],"step":3})").field == "lots");
    CHECK(parse_error("{" + head + R"(,"kind":"track_out","lots":["L"],"tool":"T","route_done":1})").field ==
          "route_done");
    CHECK(parse_error(R"({"id":5,"time":"2018-01-01T00:00:00Z","kind":"hold","lots":["L"]})").field == "id");
  }
  SECTION("numbers that are not whole, negative or step 0") {
    CHECK(parse_error("{" + head + R"(,"kind":"lot_queued","lots":["L"],"step":2.5})").field == "step");
    CHECK(parse_error("{" + head + R"(,"kind":"lot_queued","lots":["L"],"step":0})").field == "step");
    CHECK(parse_error("{" + head + R"(,"kind":"scrap","lots":["L"],"wafers":-1})").field == "wafers");
  }
  SECTION("bad times") {
    CHECK(parse_error(R"({"id":"e1","time":"2018-13-01T00:00:00Z","kind":"hold","lots":["L"]})").field ==
          "time");
    CHECK(parse_error(R"({"id":"e1","time":"2018-01-01T00:00:00","kind":"hold","lots":["L"]})").field ==
          "time");
    CHECK(parse_error(R"({"id":"e1","time":12,"kind":"hold","lots":["L"]})").field == "time");
    CHECK(parse_error("{" + head + R"(,"kind":"tool_state","tool":"T","state":"standby","until":"soon"})")
              .field == "until");
    CHECK(
        parse_error("{" + head + R"(,"kind":"lot_released","lots":["L"],"product":"p","wafers":1,"due":"x"})")
            .field == "due");
  }
  SECTION("unknown E10 state") {
    CHECK(parse_error("{" + head + R"(,"kind":"tool_state","tool":"T","state":"asleep"})").field == "state");
  }
  SECTION("a missing required key") {
    CHECK(parse_error(R"({"time":"2018-01-01T00:00:00Z","kind":"hold","lots":["L"]})").field == "id");
    CHECK(parse_error(R"({"id":"e1","kind":"hold","lots":["L"]})").field == "time");
    CHECK(parse_error("{" + head + R"(,"kind":"track_in","lots":["L"]})").field == "tool");
    CHECK(parse_error("{" + head + R"(,"kind":"lot_released","lots":["L"],"wafers":25})").field == "product");
    CHECK(parse_error("{" + head + R"(,"kind":"setup_change","tool":"T"})").field == "setup");
  }
  SECTION("empty names") {
    CHECK(parse_error("{" + head + R"(,"kind":"hold","lots":[]})").field == "lots");
    CHECK(parse_error("{" + head + R"(,"kind":"hold","lots":[""]})").field == "lots");
    CHECK(parse_error(R"({"id":"","time":"2018-01-01T00:00:00Z","kind":"hold","lots":["L"]})").field == "id");
  }
  SECTION("a duplicate key") {
    CHECK_FALSE(
        twin::parse_event_json("{" + head + "," + head + R"(,"kind":"hold","lots":["L"]})", kEpoch).ok());
  }
}
