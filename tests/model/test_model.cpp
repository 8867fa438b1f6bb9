#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "fabtwin/model/model.hpp"

using namespace fabtwin::model;

namespace {

// A valid two-step, one-tool-group model to mutate in tests.
ModelData tiny() {
  ModelData d;
  d.name = "tiny";
  d.areas = {{"Litho"}};
  d.locations = {{"Fab"}};
  ToolGroup g;
  g.name = "L1";
  g.area = AreaId{0};
  g.location = LocationId{0};
  g.tool_count = 2;
  g.ranks = {RankKey::HighestPriority, RankKey::Fifo};
  g.first_tool = ToolId{0};
  d.tool_groups = {g};
  d.tools = {{"L1_1", ToolGroupId{0}, 0}, {"L1_2", ToolGroupId{0}, 1}};
  d.setups = {{"A"}, {"B"}};
  d.setup_transitions = {{std::nullopt, SetupId{0}, {10, Unit::Minute}, ""},
                         {SetupId{0}, SetupId{1}, {7, Unit::Minute}, ""}};
  d.routes = {{"r", "", StepId{0}, 2}};
  Step s;
  s.route = RouteId{0};
  s.tool_group = ToolGroupId{0};
  s.process_time = {DistKind::Uniform, 10, 1, 0, Unit::Minute};
  s.number = 1;
  Step s2 = s;
  s2.index = 1;
  s2.number = 2;
  s2.setup = SetupId{1};
  d.steps = {s, s2};
  d.products = {{"p", "", "", RouteId{0}}};
  Order o;
  o.lot_prefix = "Lot_p";
  o.product = ProductId{0};
  o.interval = Distribution::constant(60, Unit::Minute);
  o.repeat_count = 10;
  d.orders = {o};
  return d;
}

}  // namespace

TEST_CASE("a valid model builds and answers look-ups", "[model]") {
  auto m = Model::build(tiny());
  REQUIRE(m.ok());
  CHECK(m->tools().size() == 2);
  CHECK(m->find_tool_group("L1") == ToolGroupId{0});
  CHECK(!m->find_tool_group("nope"));
  CHECK(m->route_steps(RouteId{0}).size() == 2);
}

TEST_CASE("setup time: exact transition first, then the any-setup row, none when unchanged", "[model]") {
  auto m = Model::build(tiny()).value();
  const Step& s = m.step(StepId{1});
  CHECK(m.setup_time(SetupId{0}, SetupId{1}, s) == Duration{7 * 60'000});
  CHECK(m.setup_time(std::nullopt, SetupId{0}, s) == Duration{10 * 60'000});
  CHECK(m.setup_time(SetupId{1}, SetupId{1}, s) == Duration{0});
  CHECK(m.setup_time(std::nullopt, SetupId{1}, s) == Duration{0});  // no row: free
  Step with_stime = s;
  with_stime.setup_time = Quantity{15, Unit::Minute};
  CHECK(m.setup_time(SetupId{0}, SetupId{1}, with_stime) == Duration{15 * 60'000});
}

TEST_CASE("build rejects bad models with the table, row and field", "[model]") {
  SECTION("duplicate name") {
    auto d = tiny();
    d.setups.push_back({"A"});
    auto m = Model::build(d);
    REQUIRE(!m.ok());
    CHECK(m.error().what() == "setups[2]: field 'name': duplicate name 'A' (also row 0)");
  }
  SECTION("dangling reference") {
    auto d = tiny();
    d.steps[1].tool_group = ToolGroupId{5};
    auto m = Model::build(d);
    REQUIRE(!m.ok());
    CHECK(m.error().field == "tool_group");
  }
  SECTION("negative time") {
    auto d = tiny();
    d.steps[0].process_time.a = -1;
    auto m = Model::build(d);
    REQUIRE(!m.ok());
    CHECK(m.error().message == "negative time");
  }
  SECTION("rework that goes forward") {
    auto d = tiny();
    d.steps[0].rework_step = StepId{1};
    d.steps[0].rework_percent = 5;
    REQUIRE(!Model::build(d).ok());
  }
  SECTION("WIP at a step of another route") {
    auto d = tiny();
    d.wip.push_back({"w", ProductId{0}, 10, 25, {}, StepId{7}, {}, "", false, ""});
    auto m = Model::build(d);
    REQUIRE(!m.ok());
    CHECK(m.error().field == "current_step");
  }
}

TEST_CASE("distributions: SMT2020 uniform a b is a +- b, exponential has mean a", "[model]") {
  Distribution u{DistKind::Uniform, 100, 5, 0, Unit::Minute};
  CHECK(u.sample(1e-12, 0.5) == Approx(95).margin(1e-6));
  CHECK(u.sample(1 - 1e-12, 0.5) == Approx(105).margin(1e-6));
  CHECK(u.mean_ms() == 100 * 60'000.0);
  Distribution e{DistKind::Exponential, 10, 0, 0, Unit::Minute};
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) sum += e.sample((i + 0.5) / n, 0.5);
  CHECK(sum / n == Approx(10).epsilon(0.01));
  Distribution t{DistKind::Triangular, 1, 2, 6, Unit::Hour};
  sum = 0;
  for (int i = 0; i < n; ++i) sum += t.sample((i + 0.5) / n, 0.5);
  CHECK(sum / n == Approx(3).epsilon(0.01));
}

TEST_CASE("llround_exact equals std::llround (halves, near-halves, large, negative, NaN)", "[model]") {
  std::vector<double> xs = {0.0,
                            -0.0,
                            0.5,
                            -0.5,
                            1.5,
                            -1.5,
                            2.5,
                            -2.5,
                            0.49999999999999994,
                            -0.49999999999999994,
                            4503599627370495.5,
                            -4503599627370495.5,
                            4503599627370496.0,
                            9007199254740993.0,
                            1e18,
                            -1e18,
                            1e-300};
  for (double b = 1; b < 1e16; b *= 3.7) {
    for (double d : {-1.0, 0.0, 1.0}) {
      const double x = b + d * 0.5;
      for (double y : {x, std::nextafter(x, 0.0), std::nextafter(x, 1e300), -x}) xs.push_back(y);
    }
  }
  std::uint64_t state = 12345;
  for (int i = 0; i < 100000; ++i) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    const double u = static_cast<double>(state >> 11) / 9007199254740992.0;
    xs.push_back((u - 0.5) * 1e9);
    xs.push_back(std::floor((u - 0.5) * 1e6) + 0.5);
  }
  for (const double x : xs) {
    INFO(x);
    REQUIRE(llround_exact(x) == static_cast<std::int64_t>(std::llround(x)));
  }
  CHECK(llround_exact(std::nan("")) == static_cast<std::int64_t>(std::llround(std::nan(""))));
}
