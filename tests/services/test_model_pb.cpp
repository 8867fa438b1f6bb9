// fabtwin.v1.Model (proto/fabtwin/v1/model.proto) describes the native JSON format exactly:
// Protobuf's strict JSON parser reads every model the engine writes, refuses what is not in the
// schema naming the field and line, and a message becomes the same model the engine reads.
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/model_pb/model_pb.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
namespace json = fabtwin::io::json;

namespace {

std::string read_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

const model::Model& load(const std::filesystem::path& path) {
  auto m = io::load_model(path);
  if (!m) FAIL(m.error().what());
  static std::map<std::string, model::Model> cache;
  return cache.try_emplace(path.string(), std::move(m).value()).first->second;
}

struct Case {
  std::string label;
  std::filesystem::path path;
};
// The three models: the shipped mini-fab and both SMT2020 data sets converted to native JSON.
std::vector<Case> cases() {
  return {{"minifab.json", test::minifab()}, {"hvlm.json", test::hvlm()}, {"lvhm.json", test::lvhm()}};
}

// 1-based line of the first occurrence of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
  const auto pos = text.find(needle);
  REQUIRE(pos != std::string::npos);
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n'));
}

// `text` with the first `from` replaced by `to`.
std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  REQUIRE(pos != std::string::npos);
  text.replace(pos, from.size(), to);
  return text;
}

// Key order is free in the native format and proto3 has no presence for arrays (an empty array
// is not written): compare documents with members sorted and empty arrays left out.
json::Value canonical(json::Value v) {
  if (v.is_array()) {
    for (auto& x : v.as_array()) x = canonical(std::move(x));
  } else if (v.is_object()) {
    auto& members = v.as_object();
    std::erase_if(members,
                  [](const json::Member& m) { return m.value.is_array() && m.value.as_array().empty(); });
    for (auto& m : members) m.value = canonical(std::move(m.value));
    std::sort(members.begin(), members.end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  }
  return v;
}

json::Value parse_json(const std::string& text) {
  auto v = json::parse(text);
  if (!v) FAIL(v.error().what());
  return std::move(v).value();
}

void check_error(const model::Error& e, const std::string& file, int line, const std::string& field,
                 const std::string& words = "") {
  INFO("error: " << e.what());
  CHECK(e.file == file);
  CHECK(e.line == line);
  CHECK(e.field == field);
  CHECK(e.message.find(words) != std::string::npos);
  CHECK_FALSE(e.message.empty());
}

model::Result<v1::Model> parse(const std::string& text) {
  return model_pb::parse_native_message(text, "minifab.json");
}

}  // namespace

TEST_CASE("minifab.json reads as a fabtwin.v1.Model with Protobuf's strict JSON parser", "[services]") {
  auto msg = model_pb::read_native_message(test::minifab());
  if (!msg) FAIL(msg.error().what());
  CHECK(msg->schema() == "fabtwin.v1.Model");
  CHECK(msg->name() == "minifab");
  CHECK(static_cast<std::size_t>(msg->tool_groups_size()) == load(test::minifab()).tool_groups().size());
  CHECK(msg->tool_groups(0).load_time().unit() == "min");
  CHECK(msg->tool_groups(0).has_cascade_capacity());
  CHECK_FALSE(msg->tool_groups(0).has_wake());  // left out, stays left out
}

TEST_CASE("the SMT2020 HVLM and LVHM models as native JSON read as fabtwin.v1.Model, every table whole",
          "[services]") {
  for (const auto& c : cases()) {
    INFO(c.label);
    const model::Model& m = load(c.path);
    auto msg = model_pb::parse_native_message(io::to_native_json(m), c.label);
    if (!msg) FAIL(msg.error().what());
    CHECK(static_cast<std::size_t>(msg->tool_groups_size()) == m.tool_groups().size());
    CHECK(static_cast<std::size_t>(msg->routes_size()) == m.routes().size());
    std::size_t steps = 0;
    for (const auto& r : msg->routes()) steps += static_cast<std::size_t>(r.steps_size());
    CHECK(steps == m.steps().size());
    CHECK(static_cast<std::size_t>(msg->setups_size()) == m.setups().size());
    CHECK(static_cast<std::size_t>(msg->attachments_size()) == m.attachments().size());
    CHECK(static_cast<std::size_t>(msg->orders_size()) == m.orders().size());
    CHECK(static_cast<std::size_t>(msg->wip_size()) == m.wip().size());
  }
}

TEST_CASE("to_model of the message is the model the engine reads, for the mini-fab, HVLM and LVHM",
          "[services]") {
  for (const auto& c : cases()) {
    INFO(c.label);
    const model::Model& m = load(c.path);
    const std::string text = c.path.extension() == ".json" ? read_text(c.path) : io::to_native_json(m);
    auto msg = model_pb::parse_native_message(text, c.label);
    if (!msg) FAIL(msg.error().what());
    auto back = model_pb::to_model(*msg);
    if (!back) FAIL(back.error().what());
    CHECK(back->data() == m.data());
    CHECK(*back == m);
  }
}

TEST_CASE("to_message round trip: model -> message -> model is the same model and the same message",
          "[services]") {
  for (const auto& c : cases()) {
    INFO(c.label);
    const model::Model& m = load(c.path);
    auto msg = model_pb::to_message(m);
    if (!msg) FAIL(msg.error().what());
    auto back = model_pb::to_model(*msg);
    if (!back) FAIL(back.error().what());
    CHECK(*back == m);
    auto again = model_pb::to_message(*back);
    REQUIRE(again.ok());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(*msg, *again));
    // The binary encoding carries it too (what the services will send).
    v1::Model decoded;
    REQUIRE(decoded.ParseFromString(msg->SerializeAsString()));
    auto from_binary = model_pb::to_model(decoded);
    REQUIRE(from_binary.ok());
    CHECK(*from_binary == m);
  }
}

TEST_CASE("JSON -> message -> JSON keeps every key and value of the engine's JSON", "[services]") {
  for (const auto& c : cases()) {
    INFO(c.label);
    const std::string engine_json = io::to_native_json(load(c.path));
    auto msg = model_pb::parse_native_message(engine_json, c.label);
    REQUIRE(msg.ok());
    auto text = model_pb::message_to_json(*msg);
    if (!text) FAIL(text.error().what());
    // Number spelling may differ (Protobuf's shortest round-trip form), values must not.
    CHECK(canonical(parse_json(*text)) == canonical(parse_json(engine_json)));
  }
  // The hand-written file too, keys it spells out at their default included.
  const std::string file = read_text(test::minifab());
  auto msg = parse(file);
  REQUIRE(msg.ok());
  auto text = model_pb::message_to_json(*msg);
  REQUIRE(text.ok());
  CHECK(canonical(parse_json(*text)) == canonical(parse_json(file)));
}

TEST_CASE("a message built in code becomes a model; defaults are the native ones", "[services]") {
  v1::Model msg;
  msg.set_schema("fabtwin.v1.Model");
  msg.set_name("built");
  msg.add_areas()->set_name("Litho");
  msg.add_locations()->set_name("Fab");
  auto* g = msg.add_tool_groups();
  g->set_name("L");
  g->set_area("Litho");
  g->set_location("Fab");
  g->set_tool_count(2);
  g->add_ranks("rank_FIFO");
  auto* r = msg.add_routes();
  r->set_name("r");
  auto* s = r->add_steps();
  s->set_number(0);  // step number 0 is valid: presence, not the value, says it is given
  s->set_tool_group("L");
  s->mutable_process_time()->set_dist("constant");
  s->mutable_process_time()->set_value(30);
  s->mutable_process_time()->set_unit("min");
  auto* p = msg.add_products();
  p->set_name("p");
  p->set_route("r");
  auto* o = msg.add_orders();
  o->set_lot_prefix("Lot");
  o->set_product("p");
  o->set_start("2018-01-02T00:00:00.000Z");
  o->set_due("2018-01-09T00:00:00.000Z");

  auto m = model_pb::to_model(msg, "request");
  if (!m) FAIL(m.error().what());
  CHECK(m->tools().size() == 2);
  CHECK(m->steps()[0].number == 0);
  CHECK(m->steps()[0].sample_percent == 100);  // left out: the native default, not proto3's 0
  CHECK(m->orders()[0].priority == 10);
  CHECK(m->orders()[0].pieces == 25);
  CHECK(m->orders()[0].start == model::SimTime{model::Duration{86'400'000}});
  CHECK(m->tool_groups()[0].cascade_capacity == 1);
}

TEST_CASE("to_model refuses what the engine refuses, naming the message field", "[services]") {
  auto msg = model_pb::read_native_message(test::minifab());
  REQUIRE(msg.ok());
  SECTION("a dangling reference") {
    msg->mutable_routes(0)->mutable_steps(1)->set_tool_group("NoSuchGroup");
    auto m = model_pb::to_model(*msg, "request");
    REQUIRE_FALSE(m.ok());
    check_error(m.error(), "request", 0, "routes[0].steps[1].tool_group",
                "unknown tool group \"NoSuchGroup\"");
  }
  SECTION("a required key left out") {
    msg->mutable_tool_groups(2)->clear_area();
    auto m = model_pb::to_model(*msg);
    REQUIRE_FALSE(m.ok());
    check_error(m.error(), "fabtwin.v1.Model", 0, "tool_groups[2].area", "missing key");
  }
  SECTION("an enumeration spelled wrong") {
    msg->mutable_routes(0)->mutable_steps(0)->set_process_unit("per_wafer");
    auto m = model_pb::to_model(*msg);
    REQUIRE_FALSE(m.ok());
    check_error(m.error(), "fabtwin.v1.Model", 0, "routes[0].steps[0].process_unit", "unknown value");
  }
  SECTION("a parameter of another distribution kind") {
    msg->mutable_routes(0)->mutable_steps(0)->mutable_process_time()->set_sd(1);
    auto m = model_pb::to_model(*msg);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().field.starts_with("routes[0].steps[0].process_time"));
  }
}

TEST_CASE("Protobuf refuses an unknown key, naming the field and its line", "[services]") {
  const std::string file = read_text(test::minifab());
  SECTION("in a table row") {
    const std::string bad =
        replaced(file, R"("cascade_capacity": 1)", R"("cascade_capacity": 1, "bogus": 2)");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "\"bogus\""), "tool_groups[0].bogus");
    REQUIRE_FALSE(io::parse_native(bad).ok());  // as the engine
  }
  SECTION("in a nested quantity") {
    const std::string bad =
        replaced(file, R"({"value": 5, "unit": "min"})", R"({"value": 5, "unit": "min", "sd": 1})");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "\"sd\": 1}"), "tool_groups[0].load_time.sd");
  }
  SECTION("a comment key at the top: the engine accepts no key starting with '_', nor does the schema") {
    const std::string bad = replaced(file, R"("name": "minifab",)", R"("name": "minifab", "_comment": "x",)");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", 3, "_comment");
    REQUIRE_FALSE(io::parse_native(bad).ok());
  }
  SECTION("the lowerCamelCase spelling of a key (json_name is pinned to the native key)") {
    const std::string bad = replaced(file, R"("tool_count": 2)", R"("toolCount": 2)");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "toolCount"), "tool_groups[0].toolCount");
    REQUIRE_FALSE(io::parse_native(bad).ok());
  }
}

TEST_CASE("Protobuf refuses a value of the wrong type, naming the field and its line", "[services]") {
  const std::string file = read_text(test::minifab());
  SECTION("a string where a count goes") {
    const std::string bad = replaced(file, R"("tool_count": 2)", R"("tool_count": "two")");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "\"two\""), "tool_groups[0].tool_count", "two");
  }
  SECTION("a string where a number goes") {
    const std::string bad =
        replaced(file, R"({"value": 5, "unit": "min"})", R"({"value": "five", "unit": "min"})");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "\"five\""), "tool_groups[0].load_time.value",
                "five");
  }
  SECTION("a number where a string goes") {
    const std::string bad = replaced(file, R"("area": "Diffusion")", R"("area": 7)");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "\"area\": 7"), "tool_groups[0].area");
  }
  SECTION("a fraction where a count goes") {
    const std::string bad = replaced(file, R"("tool_count": 2)", R"("tool_count": 2.5)");
    auto msg = parse(bad);
    REQUIRE_FALSE(msg.ok());
    check_error(msg.error(), "minifab.json", line_of(bad, "2.5"), "tool_groups[0].tool_count", "2.5");
  }
  SECTION("whole numbers in any spelling are counts, as in the engine") {
    auto msg = parse(replaced(file, R"("tool_count": 2)", R"("tool_count": 2.0e0)"));
    if (!msg) FAIL(msg.error().what());
    CHECK(msg->tool_groups(0).tool_count() == 2);
  }
}

TEST_CASE("Protobuf refuses a key given twice and both members of a one-of", "[services]") {
  const std::string file = read_text(test::minifab());
  const std::string twice = replaced(file, R"("name": "minifab",)", R"("name": "minifab", "name": "again",)");
  auto msg = parse(twice);
  REQUIRE_FALSE(msg.ok());
  check_error(msg.error(), "minifab.json", 3, "name", "duplicate key \"name\"");

  const std::string both = replaced(file, R"("down_calendar": "BREAK_Diffusion",)",
                                    R"("down_calendar": "BREAK_Diffusion", "pm_calendar": "x",)");
  auto msg2 = parse(both);
  REQUIRE_FALSE(msg2.ok());
  check_error(msg2.error(), "minifab.json", line_of(both, "\"pm_calendar\": \"x\""),
              "attachments[0].pm_calendar");
}

TEST_CASE("a JSON syntax error names its line and column", "[services]") {
  const std::string file = read_text(test::minifab());
  const std::string bad = replaced(file, R"("locations": [)", R"("locations" [)");
  auto msg = parse(bad);
  REQUIRE_FALSE(msg.ok());
  check_error(msg.error(), "minifab.json", line_of(bad, "\"locations\" ["), "", "column");
  CHECK(msg.error().message.find('\n') == std::string::npos);  // one line
}

TEST_CASE("a byte-order mark is skipped and a missing file is named, as by the engine", "[services]") {
  auto msg = parse("\xEF\xBB\xBF" + read_text(test::minifab()));
  if (!msg) FAIL(msg.error().what());
  const auto missing = std::filesystem::temp_directory_path() / "fabtwin_test_model_pb_missing.json";
  auto none = model_pb::read_native_message(missing);
  REQUIRE_FALSE(none.ok());
  check_error(none.error(), missing.string(), 0, "", "file not found");
}

TEST_CASE("known gap: a time as ms since the epoch (valid native JSON) is refused by the schema",
          "[services]") {
  // The native format also accepts a whole number of ms since the epoch for an instant; the
  // schema's instants are ISO-8601 strings, so Protobuf refuses that form, naming the field.
  const std::string file = read_text(test::minifab());
  const std::string numeric = replaced(file, R"("start": "2018-01-01T00:00:00.000Z")", R"("start": 0)");
  REQUIRE(io::parse_native(numeric).ok());
  auto msg = parse(numeric);
  REQUIRE_FALSE(msg.ok());
  check_error(msg.error(), "minifab.json", line_of(numeric, "\"start\": 0"), "orders[0].start");
}
