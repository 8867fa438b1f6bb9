#include <catch2/catch.hpp>
#include <cmath>

#include "fabtwin/yield/geometry.hpp"

using namespace fabtwin::yield;

TEST_CASE("gross dies per wafer agree with the standard formula within a few percent", "[yield][geometry]") {
  const double sizes[][2] = {{5, 5}, {8, 8}, {10, 10}, {12, 10}, {7, 14}, {15, 15}};
  for (const auto& s : sizes) {
    WaferGeometry g;
    g.die_width_mm = s[0];
    g.die_height_mm = s[1];
    auto grid = DieGrid::make(g);
    REQUIRE(grid);
    const double est = gross_dies_formula(300.0 - 2 * 3.0, s[0] * s[1]);
    INFO("die " << s[0] << "x" << s[1] << " mm: grid " << grid->size() << ", formula " << est);
    CHECK(std::fabs(grid->size() - est) / est < 0.04);
  }
}

TEST_CASE("every die lies fully inside the usable radius and the grid is consistent", "[yield][geometry]") {
  WaferGeometry g;
  g.die_width_mm = 9.5;
  g.die_height_mm = 7.25;
  g.scribe_mm = 0.1;
  auto grid = DieGrid::make(g);
  REQUIRE(grid);
  const double R = grid->usable_radius_mm();
  CHECK(R == 147.0);
  for (std::uint32_t i = 0; i < grid->size(); ++i) {
    CHECK(grid->far_corner_mm(i) <= R);
    CHECK(grid->die_at(grid->column()[i], grid->row()[i]) == static_cast<std::int32_t>(i));
  }
  // A neighbour just outside: one more die in any direction must not fit at the row ends.
  std::uint32_t outside = 0;
  for (int r = 0; r < grid->rows(); ++r)
    for (int c = 0; c < grid->columns(); ++c) outside += grid->die_at(c, r) < 0;
  CHECK(outside > 0);
  CHECK(grid->die_area_cm2() == Approx(9.5 * 7.25 / 100));
}

TEST_CASE("a larger edge exclusion or die gives fewer dies", "[yield][geometry]") {
  WaferGeometry g;
  const auto base = DieGrid::make(g)->size();
  g.edge_exclusion_mm = 10;
  CHECK(DieGrid::make(g)->size() < base);
  g.edge_exclusion_mm = 3;
  g.die_width_mm = 11;
  CHECK(DieGrid::make(g)->size() < base);
}

TEST_CASE("bad geometry is an error naming the field", "[yield][geometry]") {
  WaferGeometry g;
  g.die_width_mm = 0;
  auto r = DieGrid::make(g);
  REQUIRE(!r);
  CHECK(r.error().field == "die_width_mm");
  g.die_width_mm = 400;
  r = DieGrid::make(g);
  REQUIRE(!r);
  CHECK(r.error().message.find("no die fits") != std::string::npos);
  g = WaferGeometry{};
  g.edge_exclusion_mm = 200;
  CHECK(DieGrid::make(g).error().field == "edge_exclusion_mm");
}
