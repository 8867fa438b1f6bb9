#include <catch2/catch.hpp>

#include "fabtwin/yield/params.hpp"
#include "test_paths.hpp"

using namespace fabtwin::yield;

TEST_CASE("the shipped yield parameters load", "[yield][params]") {
  auto p = read_yield_params(fabtwin::test::source_dir() / "twin_models" / "yield_params.json");
  INFO((p ? "" : p.error().what()));
  REQUIRE(p);
  CHECK(p->wafer.diameter_mm == 300.0);
  CHECK(p->wafer.edge_exclusion_mm == 3.0);
  CHECK(p->cluster_alpha > 0);
  CHECK(p->areas.size() >= 10);
  CHECK(p->areas.size() <= kMaxAreas);
  CHECK(p->faults.empty());  // the shipped example faults are disabled
  const WaferGeometry g = p->geometry_for("part_3");
  CHECK(g.die_width_mm > 0);
  CHECK(p->geometry_for("no such product").die_width_mm == p->default_die_width_mm);
}

TEST_CASE("a full parameter file round-trips its values", "[yield][params]") {
  const char* text = R"({
  "schema": "fabtwin.v1.YieldParams",
  "_comment": "ignored",
  "seed": 77,
  "wafer": {"diameter_mm": 200, "edge_exclusion_mm": 2, "scribe_mm": 0.08},
  "cluster_alpha": 1.5,
  "default_die_mm": [9, 8],
  "products": [{"product": "p1", "die_mm": [12, 11]}],
  "areas": [{"name": "Litho", "d0_per_step": 0.001, "kill_ratio": 0.4}],
  "default_area": {"d0_per_step": 0.0002, "kill_ratio": 0.3},
  "signatures": {"centre_sigma_mm": 33, "edge_ring_width_mm": 7, "scratch_length_mm": 90, "scratch_width_mm": 0.5},
  "tool_health": {"drift_per_day": 0.01, "drift_max": 0.4, "excursion_multiplier": 2.5, "excursion_lots": 3},
  "faults": [{"tool": "T1", "density_multiplier": 2, "signature": "edge_ring", "intensity": 1.2, "probability": 0.4},
             {"tool": "T2", "signature": "scratch", "intensity": 5, "enabled": false}]
})";
  auto p = parse_yield_params(text, "x.json");
  INFO((p ? "" : p.error().what()));
  REQUIRE(p);
  CHECK(p->seed == 77);
  CHECK(p->wafer.diameter_mm == 200);
  CHECK(p->wafer.scribe_mm == 0.08);
  CHECK(p->cluster_alpha == 1.5);
  CHECK(p->geometry_for("p1").die_width_mm == 12);
  CHECK(p->geometry_for("p2").die_height_mm == 8);
  CHECK(p->areas[0].kill_ratio == 0.4);
  CHECK(p->default_area.d0_per_step == 0.0002);
  CHECK(p->shapes.scratch_width_mm == 0.5);
  CHECK(p->health.excursion_lots == 3);
  REQUIRE(p->faults.size() == 1);
  CHECK(p->faults[0].signature == Signature::EdgeRing);
  CHECK(p->faults[0].probability == 0.4);
}

TEST_CASE("parameter errors name file, line and field", "[yield][params]") {
  auto p = parse_yield_params(
      "{\"schema\": \"fabtwin.v1.YieldParams\",\n \"areas\": [{\"name\": \"A\",\n \"kill_ratio\": 1.5}]}",
      "bad.json");
  REQUIRE(!p);
  CHECK(p.error().file == "bad.json");
  CHECK(p.error().line == 3);
  CHECK(p.error().field == "areas[0].kill_ratio");

  p = parse_yield_params("{\"schema\": \"fabtwin.v1.YieldParams\",\n\n \"clusteralpha\": 2}", "typo.json");
  REQUIRE(!p);
  CHECK(p.error().field == "clusteralpha");
  CHECK(p.error().message == "unknown key");

  p = parse_yield_params("{\"schema\": \"other\"}", "s.json");
  REQUIRE(!p);
  CHECK(p.error().field == "schema");

  p = parse_yield_params(
      "{\"schema\": \"fabtwin.v1.YieldParams\", \"faults\": [{\"tool\": \"X\", \"signature\": \"donut\"}]}",
      "f.json");
  REQUIRE(!p);
  CHECK(p.error().field == "faults[0].signature");

  p = parse_yield_params("{\"schema\": ", "trunc.json");
  REQUIRE(!p);
  CHECK(p.error().file == "trunc.json");
}
