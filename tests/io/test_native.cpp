// The native JSON format: reading, defaults, exact round trips, and errors naming file, line, path.
#include <catch2/catch.hpp>
#include <cctype>
#include <filesystem>
#include <fstream>

#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "io_test_util.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using test::check_error;

namespace {

// A small model using every table, most optional fields left out.
const std::string kSmall = R"({
  "schema": "fabtwin.v1.Model",
  "name": "small",
  "areas": [{"name": "Litho"}, {"name": "Etch"}],
  "locations": [{"name": "Fab"}],
  "setups": [{"name": "A"}, {"name": "B"}],
  "setup_groups": [{"name": "G", "members": [{"setup": "A", "min_run": 3}]}],
  "tool_groups": [
    {"name": "L1", "area": "Litho", "location": "Fab", "tool_count": 2, "ranks": ["rank_HP", "rank_FIFO"], "setup_group": "G"},
    {"name": "E1", "area": "Etch", "location": "Fab", "tools": ["etch-a", "etch-b", "etch-c"], "ranks": ["rank_FIFO"], "cascade_capacity": 2}
  ],
  "setup_transitions": [
    {"to": "A", "time": {"value": 10, "unit": "min"}},
    {"from": "A", "to": "B", "time": {"value": 7, "unit": "min"}}
  ],
  "routes": [
    {"name": "r", "steps": [
      {"number": 10, "tool_group": "L1", "process_time": {"dist": "uniform", "mean": 10, "half_width": 1, "unit": "min"}, "setup": "A", "dedicate": true, "dedicate_for": 30, "cqt_to": 20, "cqt": {"value": 2, "unit": "hr"}},
      {"number": 20, "tool_group": "E1", "process_time": {"dist": "triangular", "min": 1, "mode": 2, "max": 4, "unit": "min"}, "process_unit": "per_piece", "part_interval": {"value": 0.5, "unit": "min"}},
      {"number": 30, "tool_group": "L1", "process_time": {"dist": "exponential", "mean": 5, "unit": "min"}, "rework_step": 10, "rework_percent": 2.5, "sample_percent": 50}
    ]}
  ],
  "products": [{"name": "p", "route": "r"}],
  "down_calendars": [
    {"name": "D", "time_to_failure": {"dist": "exponential", "mean": 7, "unit": "day"}, "time_to_repair": {"dist": "lognormal", "mean": 2, "sd": 1, "unit": "hr"}}
  ],
  "pm_calendars": [
    {"name": "W", "trigger": "mtbpm_by_pieces", "interval": {"value": 500, "unit": "pieces"}, "duration": {"dist": "normal", "mean": 3, "sd": 0.5, "unit": "hr"}}
  ],
  "attachments": [
    {"down_calendar": "D", "area": "Litho", "first_occurrence": {"dist": "exponential", "mean": 7, "unit": "day"}},
    {"pm_calendar": "W", "tool_group": "E1", "first_occurrence": {"dist": "constant", "value": 250, "unit": "pieces"}}
  ],
  "transports": [{"from": "Fab", "to": "Fab", "time": {"dist": "uniform", "mean": 7.5, "half_width": 2.5, "unit": "min"}}],
  "orders": [
    {"lot_prefix": "Lot_p", "product": "p", "start": "2018-01-01T00:00:00.000Z", "interval": {"dist": "constant", "value": 60, "unit": "min"}, "repeat_count": 100, "due": "2018-01-08T12:00:00.000Z"}
  ],
  "wip": [
    {"name": "W1", "product": "p", "current_step": 20, "priority": 20, "start": "2017-12-31T00:00:00Z", "due": 3600000}
  ]
}
)";

// 1-based line of the first occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  REQUIRE(pos != std::string::npos);
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// kSmall with the first `from` replaced by `to`.
std::string small_with(const std::string& from, const std::string& to) {
  std::string s = kSmall;
  const auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  s.replace(pos, from.size(), to);
  return s;
}

Result<Model> parse(const std::string& text) { return io::parse_native(text, "small.json"); }

}  // namespace

TEST_CASE("a hand-written native model reads, with struct defaults for omitted fields", "[io]") {
  auto r = parse(kSmall);
  if (!r) FAIL(r.error().what());
  const Model& m = *r;
  CHECK(m.name() == "small");
  CHECK(m.data().epoch_unix_s == 1514764800);  // default epoch 2018-01-01
  REQUIRE(m.tools().size() == 5);
  CHECK(m.tools()[1].name == "L1_2");    // generated from tool_count
  CHECK(m.tools()[2].name == "etch-a");  // listed by name
  CHECK(m.tool_group(ToolGroupId{1}).tool_count == 3);
  const auto& l1 = m.tool_group(ToolGroupId{0});
  CHECK(l1.rule == DispatchRule::HotLotFirst);
  CHECK(l1.cascade_capacity == 1);
  CHECK(l1.load_time == Quantity{0, Unit::Minute});
  CHECK(l1.setup_group == SetupGroupId{0});
  CHECK(m.min_run(ToolGroupId{0}, SetupId{0}) == 3);

  const auto steps = m.route_steps(RouteId{0});
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].process_unit == ProcessUnit::PerLot);
  CHECK(steps[0].sample_percent == 100);
  CHECK(steps[0].dedicate_for == StepId{2});
  CHECK(steps[0].cqt_to == StepId{1});
  CHECK(steps[1].process_time == Distribution{DistKind::Triangular, 1, 2, 4, Unit::Minute});
  CHECK(steps[2].rework_step == StepId{0});
  CHECK(steps[2].rework_percent == 2.5);

  CHECK(m.attachments()[1].first_occurrence == Distribution::constant(250, Unit::Piece));
  CHECK(m.down_calendars()[0].time_to_repair == Distribution{DistKind::Lognormal, 2, 1, 0, Unit::Hour});
  const auto& o = m.orders()[0];
  CHECK(o.priority == 10);
  CHECK(o.pieces == 25);
  CHECK(o.lots_per_release == 1);
  CHECK(o.due == SimTime{Duration{(7 * 24 + 12) * 3'600'000LL}});
  const auto& w = m.wip()[0];
  CHECK(w.start == SimTime{Duration{-86'400'000}});  // a day before the epoch; no "Z" is UTC too
  CHECK(w.due == SimTime{Duration{3'600'000}});      // a number: ms since the epoch
  CHECK(w.current_step == StepId{1});
}

TEST_CASE("to_native_json of a native model reads back equal and writes the same text", "[io]") {
  auto m = parse(kSmall);
  REQUIRE(m.ok());
  const std::string text = io::to_native_json(*m);
  auto back = io::parse_native(text);
  if (!back) FAIL(back.error().what() << "\n" << text);
  CHECK(*back == *m);
  CHECK(io::to_native_json(*back) == text);
  // Listed tool names are kept; generated ones are not written.
  CHECK(text.find("\"etch-a\"") != std::string::npos);
  CHECK(text.find("\"L1_1\"") == std::string::npos);
  // Times as ISO-8601 UTC strings with milliseconds.
  CHECK(text.find("\"due\": \"2018-01-01T01:00:00.000Z\"") != std::string::npos);
  CHECK(text.find("\"start\": \"2017-12-31T00:00:00.000Z\"") != std::string::npos);
}

TEST_CASE("round trip HVLM: SMT2020 -> native JSON -> model equal, and the JSON text is a fixed point",
          "[io]") {
  auto smt = io::read_smt2020(test::hvlm());
  REQUIRE(smt.ok());
  const std::string text = io::to_native_json(*smt);
  auto back = io::parse_native(text, "hvlm.json");
  if (!back) FAIL(back.error().what());
  CHECK(back->data() == smt->data());
  CHECK(*back == *smt);
  CHECK(io::to_native_json(*back) == text);
}

TEST_CASE("round trip LVHM: SMT2020 -> native JSON -> model equal, and the JSON text is a fixed point",
          "[io]") {
  auto smt = io::read_smt2020(test::lvhm());
  REQUIRE(smt.ok());
  const std::string text = io::to_native_json(*smt);
  auto back = io::parse_native(text, "lvhm.json");
  if (!back) FAIL(back.error().what());
  CHECK(*back == *smt);
  CHECK(io::to_native_json(*back) == text);
}

TEST_CASE("the native JSON keeps to what proto3 JSON can read: snake_case keys, no nulls, no dynamic keys",
          "[io]") {
  auto smt = io::read_smt2020(test::hvlm());
  REQUIRE(smt.ok());
  auto doc = io::json::parse(io::to_native_json(*smt));
  REQUIRE(doc.ok());
  CHECK(doc->find("schema")->as_string() == "fabtwin.v1.Model");
  std::size_t objects = 0;
  std::function<void(const io::json::Value&)> walk = [&](const io::json::Value& v) {
    CHECK_FALSE(v.is_null());
    if (v.is_object()) {
      ++objects;
      for (const auto& m : v.as_object()) {
        const bool snake = !m.key.empty() && std::all_of(m.key.begin(), m.key.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
        });
        if (!snake) FAIL("key " << m.key);
        walk(m.value);
      }
    } else if (v.is_array()) {
      for (const auto& x : v.as_array()) {
        // Arrays are homogeneous.
        CHECK(x.type() == v.as_array().front().type());
        walk(x);
      }
    }
  };
  walk(*doc);
  CHECK(objects > 5000);
}

TEST_CASE("load_model reads a file as native JSON; read_native names a missing file", "[io]") {
  auto m = parse(kSmall);
  REQUIRE(m.ok());
  const auto path = std::filesystem::temp_directory_path() / "fabtwin_test_io_small.json";
  std::ofstream(path) << io::to_native_json(*m);
  auto loaded = io::load_model(path);
  REQUIRE(loaded.ok());
  CHECK(*loaded == *m);
  std::filesystem::remove(path);
  check_error(io::read_native(path), "fabtwin_test_io_small.json", 0, "", "file not found");
}

TEST_CASE("native: a JSON syntax error names its line and column", "[io]") {
  const std::string bad =
      small_with(R"("locations": [{"name": "Fab"}],)", R"("locations": [{"name": "Fab"}])");
  check_error(parse(bad), "small.json", line_of(bad, "\"setups\""), "", "expected ',' or '}'");
  check_error(parse(""), "small.json", 1, "", "empty document");
  check_error(parse("{\n\"schema\": \"fabtwin.v1.Model\",\n\"name\": \"unterminated}\n"), "small.json", 3, "",
              "unterminated string");
  check_error(parse("{\"schema\": \"fabtwin.v1.Model\"} extra"), "small.json", 1, "",
              "after the end of the document");
}

TEST_CASE("native: a value of the wrong type", "[io]") {
  const std::string bad = small_with(R"("tool_count": 2)", R"("tool_count": "2")");
  check_error(parse(bad), "small.json", line_of(bad, "\"tool_count\": \"2\""), "tool_groups[0].tool_count",
              "expected a number, got string");
  const std::string bad2 = small_with(R"("areas": [{"name": "Litho"})", R"("areas": ["Litho")");
  check_error(parse(bad2), "small.json", line_of(bad2, "\"areas\""), "areas[0]",
              "expected an object, got string");
  check_error(parse(small_with(R"("tool_count": 2)", R"("tool_count": 2.5)")), "small.json",
              line_of(kSmall, "\"tool_count\": 2"), "tool_groups[0].tool_count", "not a whole number");
}

TEST_CASE("native: an unknown key (a typo) is an error", "[io]") {
  const std::string bad = small_with(R"("repeat_count": 100)", R"("repeat_cuont": 100)");
  check_error(parse(bad), "small.json", line_of(bad, "repeat_cuont"), "orders[0].repeat_cuont",
              "unknown key \"repeat_cuont\"");
  const std::string bad2 =
      small_with(R"("schema": "fabtwin.v1.Model",)", R"("schema": "fabtwin.v1.Model", "nmae": "x",)");
  check_error(parse(bad2), "small.json", 2, "nmae", "unknown key");
  // A parameter of another distribution kind.
  const std::string bad3 =
      small_with(R"({"dist": "exponential", "mean": 5, "unit": "min"})",
                 R"({"dist": "exponential", "mean": 5, "half_width": 1, "unit": "min"})");
  check_error(parse(bad3), "small.json", line_of(bad3, "\"exponential\", \"mean\": 5"),
              "routes[0].steps[2].process_time.half_width", "unknown key");
}

TEST_CASE("native: a dangling name or step number", "[io]") {
  const std::string bad =
      small_with(R"("tool_group": "E1", "process_time")", R"("tool_group": "E2", "process_time")");
  check_error(parse(bad), "small.json", line_of(bad, "\"E2\""), "routes[0].steps[1].tool_group",
              "unknown tool group \"E2\"");
  check_error(parse(small_with(R"("dedicate_for": 30)", R"("dedicate_for": 31)")), "small.json",
              line_of(kSmall, "dedicate_for"), "routes[0].steps[0].dedicate_for",
              "step 31 does not exist in route \"r\"");
  check_error(parse(small_with(R"("current_step": 20)", R"("current_step": 40)")), "small.json",
              line_of(kSmall, "current_step"), "wip[0].current_step", "step 40 does not exist");
  check_error(parse(small_with(R"("setup_group": "G")", R"("setup_group": "H")")), "small.json",
              line_of(kSmall, "setup_group\": \"G"), "tool_groups[0].setup_group",
              "unknown setup group \"H\"");
  check_error(parse(small_with(R"("setup": "A", "dedicate")", R"("setup": "Z", "dedicate")")), "small.json",
              line_of(kSmall, "\"setup\": \"A\", \"dedicate"), "routes[0].steps[0].setup",
              "unknown setup \"Z\"");
  check_error(parse(small_with(R"({"pm_calendar": "W")", R"({"pm_calendar": "D")")), "small.json",
              line_of(kSmall, "{\"pm_calendar\": \"W\""), "attachments[1].pm_calendar",
              "unknown PM calendar \"D\"");
}

TEST_CASE("native: a duplicate name or a duplicate key", "[io]") {
  const std::string bad = small_with(R"({"name": "Etch"})", R"({"name": "Litho"})");
  check_error(parse(bad), "small.json", line_of(kSmall, "\"areas\""), "areas[1].name",
              "duplicate area \"Litho\" (also areas[0])");
  check_error(parse(small_with(R"("number": 20)", R"("number": 10)")), "small.json",
              line_of(kSmall, "\"number\": 20"), "routes[0].steps[1].number", "duplicate step number 10");
  const std::string bad2 =
      small_with(R"({"name": "p", "route": "r"})", R"({"name": "p", "route": "r", "route": "r"})");
  check_error(parse(bad2), "small.json", line_of(bad2, "\"products\""), "", "duplicate key \"route\"");
}

TEST_CASE("native: schema, required keys, units, times and one-of fields are checked", "[io]") {
  check_error(parse(small_with("fabtwin.v1.Model", "fabtwin.v2.Model")), "small.json", 2, "schema",
              "is not fabtwin.v1.Model");
  check_error(parse(small_with(R"("tool_group": "L1", "process_time": {"dist": "exponential")",
                               R"("process_time": {"dist": "exponential")")),
              "small.json", line_of(kSmall, "\"number\": 30"), "routes[0].steps[2].tool_group",
              "missing key \"tool_group\"");
  check_error(
      parse(small_with(R"("half_width": 2.5, "unit": "min")", R"("half_width": 2.5, "unit": "minutes")")),
      "small.json", line_of(kSmall, "\"transports\""), "transports[0].time.unit", "unknown unit \"minutes\"");
  check_error(parse(small_with(R"("due": 3600000)", R"("due": "2018-02-30T00:00:00Z")")), "small.json",
              line_of(kSmall, "\"W1\""), "wip[0].due", "not an ISO-8601 time");
  check_error(parse(small_with(R"({"down_calendar": "D", "area": "Litho")",
                               R"({"down_calendar": "D", "pm_calendar": "W", "area": "Litho")")),
              "small.json", line_of(kSmall, "{\"down_calendar\": \"D\""), "attachments[0].pm_calendar",
              "exactly one of");
  check_error(parse(small_with(R"("dist": "normal")", R"("dist": "gauss")")), "small.json",
              line_of(kSmall, "\"normal\""), "pm_calendars[0].duration.dist",
              "unknown distribution \"gauss\"");
  check_error(parse(small_with(R"("process_unit": "per_piece")", R"("process_unit": "per_wafer")")),
              "small.json", line_of(kSmall, "per_piece"), "routes[0].steps[1].process_unit",
              "unknown value \"per_wafer\"");
}

TEST_CASE("native: an error found by Model::build points at the JSON object and key", "[io]") {
  // A queue-time limit must end at a later step: only Model::build checks this.
  check_error(parse(small_with(R"("cqt_to": 20)", R"("cqt_to": 10)")), "small.json",
              line_of(kSmall, "\"cqt_to\""), "routes[0].steps[0].cqt_to", "must end at a later step");
  check_error(parse(small_with(R"("mean": 10, "half_width": 1)", R"("mean": 10, "half_width": 11)")),
              "small.json", line_of(kSmall, "\"number\": 10"), "routes[0].steps[0].process_time",
              "half width");
  check_error(parse(small_with(R"("ranks": ["rank_FIFO"])", R"("ranks": [])")), "small.json",
              line_of(kSmall, "\"E1\", \"area\""), "tool_groups[1].ranks", "empty rank list");
}

TEST_CASE("native: binary data is refused with a clear message", "[io]") {
  check_error(parse(std::string("{\"schema\":\n\0\0\0", 14)), "small.json", 2, "", "binary data");
  check_error(parse("{\"name\": \"caf\xE9\"}"), "small.json", 1, "", "invalid UTF-8");
}

TEST_CASE("the shipped mini-fab (twin_models/minifab.json) reads and round-trips", "[io]") {
  auto m = io::load_model(test::minifab());
  if (!m) FAIL(m.error().what());
  CHECK(m->name() == "minifab");
  CHECK_FALSE(m->tool_groups().empty());
  auto back = io::parse_native(io::to_native_json(*m));
  REQUIRE(back.ok());
  CHECK(*back == *m);
}
