// The small JSON library and the civil-time helpers behind the native format.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "fabtwin/io/civil_time.hpp"
#include "fabtwin/io/json.hpp"

using namespace fabtwin::io;

TEST_CASE("json: every double survives write -> parse bit for bit", "[io]") {
  std::uint64_t x = 0x9E3779B97F4A7C15ull;
  int checked = 0;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;  // xorshift64: arbitrary bit patterns
    double d;
    std::memcpy(&d, &x, sizeof d);
    if (!std::isfinite(d)) continue;
    const std::string text = json::format_number(d);
    auto back = json::parse(text);
    REQUIRE(back.ok());
    if (d == 0) {
      CHECK(back->as_number() == 0);
    } else if (back->as_number() != d) {
      FAIL(text);
    }
    ++checked;
  }
  CHECK(checked > 19000);
  for (double d : {0.1, 501.33, 25.0665, 1e-300, 5e-324, 1.7976931348623157e308, 27397.61, 0.0426})
    CHECK(json::parse(json::format_number(d))->as_number() == d);
}

TEST_CASE("json: whole numbers are written without fraction or exponent", "[io]") {
  CHECK(json::format_number(25) == "25");
  CHECK(json::format_number(200000) == "200000");
  CHECK(json::format_number(-3) == "-3");
  CHECK(json::format_number(-0.0) == "0");
  CHECK(json::format_number(1514764800) == "1514764800");
  CHECK(json::format_number(0.5) == "0.5");
  CHECK(json::format_number(1e20) == "1e+20");
  CHECK(json::format_number(std::nan("")) == "null");
}

TEST_CASE("json: strings escape control characters and keep UTF-8; \\u escapes decode", "[io]") {
  std::string out;
  json::append_quoted(out, "a\"b\\c\n\t\x01 é");
  CHECK(out == "\"a\\\"b\\\\c\\n\\t\\u0001 é\"");
  auto v = json::parse(out);
  REQUIRE(v.ok());
  CHECK(v->as_string() == "a\"b\\c\n\t\x01 é");
  CHECK(json::parse(R"("\u00e9\ud83d\ude00\/")")->as_string() == "é\xF0\x9F\x98\x80/");
  CHECK_FALSE(json::parse(R"("\ud83d")").ok());
  CHECK_FALSE(json::parse(R"("\x")").ok());
  CHECK_FALSE(json::parse("\"a\tb\"").ok());
  CHECK_FALSE(json::parse("\"\xC3\x28\"").ok());
  // The writer never emits invalid UTF-8: a stray byte becomes U+FFFD.
  std::string latin1;
  json::append_quoted(latin1, "caf\xE9");
  CHECK(latin1 == "\"caf\xEF\xBF\xBD\"");
  CHECK(json::parse(latin1).ok());
}

TEST_CASE("json: values remember their lines; errors name line and column", "[io]") {
  auto v = json::parse("{\n  \"a\": [1,\n    2],\n  \"b\": {}\n}");
  REQUIRE(v.ok());
  CHECK(v->line() == 1);
  CHECK(v->find_member("a")->line == 2);
  CHECK(v->find("a")->as_array()[1].line() == 3);
  CHECK(v->find_member("b")->line == 4);
  auto e = json::parse("{\n  \"a\": 1,\n  \"b\" 2\n}", "x.json");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().file == "x.json");
  CHECK(e.error().line == 3);
  CHECK(e.error().message.find("expected ':'") != std::string::npos);
  CHECK(e.error().message.find("column 7") != std::string::npos);
}

TEST_CASE("json: malformed documents are refused", "[io]") {
  for (const char* bad : {"",           "   ",
                          "{",          "[1,]",
                          "{\"a\":1,}", "01",
                          "1.",         ".5",
                          "-",          "1e",
                          "+1",         "tru",
                          "nul",        "[1] 2",
                          "{\"a\" 1}",  "{1: 2}",
                          "'a'",        "1e999",
                          "-1e400",     "[",
                          "\"abc",      "{\"a\":1 \"b\":2}"}) {
    INFO(bad);
    CHECK_FALSE(json::parse(bad).ok());
  }
  CHECK(json::parse("\xEF\xBB\xBF{}").ok());  // a byte-order mark is skipped
}

TEST_CASE("json: duplicate keys are refused, also in large objects", "[io]") {
  CHECK_FALSE(json::parse(R"({"a": 1, "a": 2})").ok());
  std::string big = "{";
  for (int i = 0; i < 100; ++i) big += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ",";
  CHECK(json::parse(big.substr(0, big.size() - 1) + "}").ok());
  auto dup = json::parse(big + "\"k57\": 0}");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message.find("duplicate key \"k57\"") != std::string::npos);
}

TEST_CASE("json: nesting deeper than kMaxDepth is refused, not a stack overflow", "[io]") {
  const std::string ok = std::string(json::kMaxDepth, '[') + std::string(json::kMaxDepth, ']');
  CHECK(json::parse(ok).ok());
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = json::parse(deep);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("nesting deeper") != std::string::npos);
}

TEST_CASE("json: the writer puts scalar-only containers on one line, others indented", "[io]") {
  json::Value v = json::Value::object();
  v.add("name", "x");
  v.add("list", json::Value(json::Array{1, 2, "three"}));
  json::Value& inner = v.add("inner", json::Value::object());
  inner.add("q", json::Value(json::Object{{"value", 1.5, 0}, {"unit", "min", 0}}));
  v.add("empty", json::Value::array());
  v.add("flag", true);
  v.add("none", nullptr);
  CHECK(json::write(v) ==
        "{\n"
        "  \"name\": \"x\",\n"
        "  \"list\": [1, 2, \"three\"],\n"
        "  \"inner\": {\n"
        "    \"q\": {\"value\": 1.5, \"unit\": \"min\"}\n"
        "  },\n"
        "  \"empty\": [],\n"
        "  \"flag\": true,\n"
        "  \"none\": null\n"
        "}");
  CHECK(
      json::write(v, {0, false}) ==
      R"({"name":"x","list":[1,2,"three"],"inner":{"q":{"value":1.5,"unit":"min"}},"empty":[],"flag":true,"none":null})");
  auto back = json::parse(json::write(v));
  REQUIRE(back.ok());
  CHECK(*back == v);
}

TEST_CASE("civil time: days from civil dates, leap years, ISO-8601 both ways", "[io]") {
  CHECK(days_from_civil(1970, 1, 1) == 0);
  CHECK(days_from_civil(2018, 1, 1) * 86400 == 1514764800);
  CHECK(days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28) == 2);  // 2000 is a leap year
  CHECK(days_from_civil(1900, 3, 1) - days_from_civil(1900, 2, 28) == 1);  // 1900 is not
  CHECK(days_from_civil(1969, 12, 31) == -1);
  CHECK(days_in_month(2024, 2) == 29);
  CHECK(days_in_month(2023, 2) == 28);
  CHECK(format_iso8601(1514764800000) == "2018-01-01T00:00:00.000Z");
  CHECK(format_iso8601(1514764800000 + 109172123) == "2018-01-02T06:19:32.123Z");
  CHECK(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_iso8601(kIsoMinUnixMs) == "0000-01-01T00:00:00.000Z");
  CHECK(format_iso8601(kIsoMaxUnixMs) == "9999-12-31T23:59:59.999Z");
  CHECK(parse_iso8601("2018-01-02T06:19:32.123Z") == 1514764800000 + 109172123);
  CHECK(parse_iso8601("2018-01-02T06:19:32") == 1514764800000 + 109172000);
  CHECK(parse_iso8601("2018-01-02T06:19:32.5Z") == 1514764800000 + 109172500);
  CHECK(parse_iso8601("2018-01-02T06:19:32.123000000Z") == 1514764800000 + 109172123);
  for (const char* bad :
       {"2018-01-02", "2018-1-02T06:19:32Z", "2018-01-02T06:19:32.1234Z", "2018-02-29T00:00:00Z",
        "2018-01-02T24:00:00Z", "2018-01-02T06:19:32+01:00", "2018-01-02T06:19:32.Z", "x"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601(bad));
  }
  for (std::int64_t ms = kIsoMinUnixMs; ms < kIsoMaxUnixMs; ms += 987'654'321'123)
    CHECK(parse_iso8601(format_iso8601(ms)) == ms);
}
