// The viewer's scene without Vulkan: layouts (automatic and from a file, with its errors), meshes,
// colours, instances updated from keyframes and deltas (only what changed is dirty), the camera.
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "fabtwin/io/load.hpp"
#include "fabtwin/viewer/layout.hpp"
#include "fabtwin/viewer/scene.hpp"
#include "fabtwin/viewer/source.hpp"
#include "fabtwin/viewer/wafer_map.hpp"
#include "temp_dir.hpp"

using namespace fabtwin;
using namespace fabtwin::viewer;

namespace {
const std::string kRoot = FABTWIN_SOURCE_DIR;
const model::Model& minifab() {
  static model::Model m = io::load_model(kRoot + "/twin_models/minifab.json").value();
  return m;
}
std::vector<MeshData> meshes() { return load_meshes(kRoot + "/twin_models/meshes").value(); }

std::string write(const fabtwin::test::TempDir& dir, const std::string& text) {
  auto p = (dir.path / "layout.json").string();
  std::ofstream(p) << text;
  return p;
}
}  // namespace

TEST_CASE("mesh kinds follow the group and area names", "[viewer]") {
  CHECK(mesh_for_group("Litho_FE_95", "") == MeshKind::Stepper);
  CHECK(mesh_for_group("LithoMet_FE_38", "") == MeshKind::Metrology);
  CHECK(mesh_for_group("LithoTrack_FE_96", "") == MeshKind::WetBench);
  CHECK(mesh_for_group("Diffusion_FE_120", "") == MeshKind::Furnace);
  CHECK(mesh_for_group("Implant_128", "") == MeshKind::Implanter);
  CHECK(mesh_for_group("WE_FE_84", "") == MeshKind::WetBench);
  CHECK(mesh_for_group("Delay_32", "") == MeshKind::Stocker);
  CHECK(mesh_for_group("DE_BE_13", "") == MeshKind::Chamber);
  CHECK(mesh_for_group("X", "Implant") == MeshKind::Implanter);
  CHECK(parse_mesh_kind("furnace") == MeshKind::Furnace);
  CHECK_FALSE(parse_mesh_kind("teapot"));
}

TEST_CASE("every committed mesh loads with a flat top over its centre", "[viewer]") {
  auto ms = meshes();
  REQUIRE(ms.size() == kMeshKindCount);
  for (const auto& m : ms) {
    INFO(to_string(m.kind));
    CHECK(m.indices.size() % 3 == 0);
    CHECK(m.indices.size() >= 24);  // the octahedron marker: 8 triangles
    CHECK(m.top_at_centre > 0);
    CHECK(m.top_at_centre <= m.max[1] + 1e-4f);
  }
  CHECK(load_mesh(kRoot + "/twin_models/meshes/no-such.obj", MeshKind::Box).error().message ==
        "mesh file not found");
}

TEST_CASE("automatic layout: bays per area, no two tools on one spot", "[viewer]") {
  auto fab = fab_info(minifab());
  auto L = auto_layout(fab);
  REQUIRE(L.tools.size() == fab.tools.size());
  CHECK(L.bays.size() == fab.areas.size());
  for (std::size_t a = 0; a < L.tools.size(); ++a)
    for (std::size_t b = a + 1; b < L.tools.size(); ++b)
      CHECK(std::hypot(L.tools[a][0] - L.tools[b][0], L.tools[a][1] - L.tools[b][1]) >= 2.0f);
  // Every tool inside its area's bay.
  for (std::size_t t = 0; t < L.tools.size(); ++t) {
    const auto& bay = L.bays[fab.groups[fab.tool_group[t]].area];
    CHECK(L.tools[t][0] > bay.x);
    CHECK(L.tools[t][0] < bay.x + bay.width);
    CHECK(L.tools[t][1] > bay.z);
    CHECK(L.tools[t][1] < bay.z + bay.depth);
  }
}

TEST_CASE("automatic layout of SMT2020_HVLM", "[viewer]") {
  auto m = io::load_model(kRoot + "/twin_models/smt2020/SMT2020_HVLM");
  REQUIRE(m.ok());
  auto fab = fab_info(m.value());
  auto L = auto_layout(fab);
  CHECK(L.tools.size() == 1443);
  CHECK(L.groups[static_cast<std::size_t>(fab.find_group("Diffusion_FE_120"))].mesh == MeshKind::Furnace);
  CHECK(L.max[0] - L.min[0] < 400);
  CHECK(L.max[1] - L.min[1] < 400);
}

TEST_CASE("layout files: positions, and errors naming the line and field", "[viewer]") {
  fabtwin::test::TempDir dir("fabtwin_viewer");
  auto fab = fab_info(minifab());
  auto ok = load_layout(kRoot + "/twin_models/layouts/minifab.json", fab);
  REQUIRE(ok.ok());
  CHECK(ok->tools[static_cast<std::size_t>(fab.find_tool("Litho_E_1"))] == std::array<float, 2>{8, 7});
  CHECK(ok->groups[static_cast<std::size_t>(fab.find_group("Implant_CD"))].mesh == MeshKind::Implanter);

  auto bad = [&](const std::string& text) { return load_layout(write(dir, text), fab).error(); };
  auto e = bad("{\n \"groups\": {\n  \"Nope\": {\"at\": [0, 0]}\n }\n}");
  CHECK(e.line == 3);
  CHECK(e.message == "unknown tool group 'Nope'");
  e = bad(R"({"groups": {"Diffusion_AB": {"at": [0, 0]}, "Implant_CD": {"at": [5, 0]}}})");
  CHECK(e.message == "tool group 'Litho_E' has no position");
  e = bad(R"({"groups": {"Diffusion_AB": {"at": [0]}}})");
  CHECK(e.field == "Diffusion_AB.at");
  e = bad(R"({"groups": {"Diffusion_AB": {"at": [0, 0], "mesh": "teapot"}}})");
  CHECK(e.field == "Diffusion_AB.mesh");
  e = bad(R"({"groups": {"Diffusion_AB": {"at": [0, 0], "per_row": 1.5}}})");
  CHECK(e.field == "Diffusion_AB.per_row");
  e = bad(R"({"tool_spacing": -1})");
  CHECK(e.field == "tool_spacing");
  e = bad(R"({"format": "other/2"})");
  CHECK(e.field == "format");
  e = bad(R"({"colour": 1})");
  CHECK(e.field == "colour");
  e = bad(R"({"bays": {"Mars": {"at": [0, 0], "size": [1, 1]}}})");
  CHECK(e.message == "unknown area 'Mars'");
  e = bad("{");
  CHECK(e.line == 1);
  CHECK(load_layout((dir.path / "missing.json").string(), fab).error().file.find("missing.json") !=
        std::string::npos);
}

TEST_CASE("colours per E10 state and state names", "[viewer]") {
  CHECK(state_colour(des::ToolState::UnscheduledDown) == Rgba{225, 35, 35, 255});
  CHECK(state_colour(des::ToolState::Standby) == Rgba{235, 205, 40, 255});
  CHECK(state_colour(des::ToolState::Productive) == Rgba{40, 190, 70, 255});
  CHECK(parse_state("down") == des::ToolState::UnscheduledDown);
  CHECK(parse_state("scheduled_down") == des::ToolState::ScheduledDown);
  CHECK(parse_state("idle") == des::ToolState::Standby);
  CHECK_FALSE(parse_state("broken"));
  // All seven distinct.
  for (int a = 0; a < des::kToolStateCount; ++a)
    for (int b = a + 1; b < des::kToolStateCount; ++b)
      CHECK(state_colour(static_cast<des::ToolState>(a)) != state_colour(static_cast<des::ToolState>(b)));
}

TEST_CASE("instance sets coalesce dirty items into runs", "[viewer]") {
  InstanceSet s;
  s.resize(10);
  Instance a;
  a.scale[0] = 1;
  for (std::uint32_t i : {7u, 2u, 3u, 4u, 9u}) s.set(i, a);
  s.set(3, a);  // same value: nothing new
  // Packed in the order shown: slots 7, 2, 3, 4, 9 at 0..4.
  CHECK(s.visible.size() == 5);
  CHECK(s.slot_at == std::vector<std::uint32_t>{7, 2, 3, 4, 9});
  auto runs = s.take_dirty_ranges();
  CHECK(runs == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{0, 5}});
  CHECK(s.take_dirty_ranges().empty());
  s.set(2, a);  // unchanged since: not dirty
  CHECK(s.take_dirty_ranges().empty());
  Instance b = a;
  b.colour[0] = 0.5f;
  s.set(4, b);  // changes in place
  CHECK(s.take_dirty_ranges() == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{3, 1}});
  s.set(2, Instance{});  // hidden: the last packed entry (slot 9) moves into its place
  CHECK(s.visible.size() == 4);
  CHECK(s.slot_at == std::vector<std::uint32_t>{7, 9, 3, 4});
  CHECK(s.pos_of_slot[9] == 1);
  CHECK(s.pos_of_slot[2] == InstanceSet::kHidden);
  CHECK(s.take_dirty_ranges() == std::vector<std::pair<std::uint32_t, std::uint32_t>>{{1, 1}});
  s.set(4, Instance{});  // the last one hidden: nothing moves, nothing to upload
  CHECK(s.visible.size() == 3);
  CHECK(s.take_dirty_ranges().empty());
  for (std::uint32_t p = 0; p < s.visible.size(); ++p) CHECK(s.pos_of_slot[s.slot_at[p]] == p);
}

TEST_CASE("a scene follows keyframe and deltas; only changed instances are dirty", "[viewer]") {
  auto src = StandaloneSource::create(minifab(), 2.0).value();
  auto fab = src->fab();
  Scene scene(fab, auto_layout(fab), meshes());
  auto st = src->poll(scene, 0);
  REQUIRE(st.ok());
  CHECK(st->keyframe);
  REQUIRE(scene.has_state());
  for (int k = 0; k < kMeshKindCount; ++k) scene.instances(static_cast<MeshKind>(k)).take_dirty_ranges();

  // Nothing happens: nothing is dirty.
  st = src->poll(scene, 0);
  REQUIRE(st.ok());
  CHECK_FALSE(st->keyframe);
  std::size_t dirty = 0;
  for (int k = 0; k < kMeshKindCount; ++k) dirty += scene.instances(static_cast<MeshKind>(k)).dirty.size();
  CHECK(dirty == 0);

  // A tool goes down by an event: its instance (and nothing of the other tools) changes colour.
  auto tool = static_cast<std::uint32_t>(fab.find_tool("Litho_E_1"));
  des::Event ev;
  ev.id = "t1";
  ev.time = src->simulation().now();
  ev.kind = des::EventKind::ToolState;
  ev.tool = "Litho_E_1";
  ev.state = des::ToolState::UnscheduledDown;
  REQUIRE(src->simulation().apply(ev).ok());
  st = src->poll(scene, 0);
  REQUIRE(st.ok());
  CHECK(st->deltas == 1);
  CHECK(scene.shown_state(tool) == des::ToolState::UnscheduledDown);
  auto kind = scene.layout().groups[fab.tool_group[tool]].mesh;
  auto& set = scene.instances(kind);
  bool tool_dirty = false;
  for (auto i : set.dirty) tool_dirty = tool_dirty || i == 0;  // Litho_E_1 is the only stepper
  CHECK(tool_dirty);
  CHECK(set.items[0].colour[0] == Approx(225 / 255.0));
  CHECK(set.visible[set.pos_of_slot[0]].colour[0] == Approx(225 / 255.0));
  // The other tool meshes were not touched by this delta.
  for (auto k : {MeshKind::Furnace, MeshKind::Implanter}) CHECK(scene.instances(k).dirty.empty());

  // The scene's state equals the simulation's keyframe after the delta.
  CHECK(scene.state() == src->simulation().view());

  // A long run: keyframe + deltas keep equal to the simulation's view, and forcing overrides.
  for (int i = 0; i < 50; ++i) REQUIRE(src->poll(scene, 600'000).ok());
  CHECK(scene.state() == src->simulation().view());
  scene.force(tool, des::ToolState::NonScheduled);
  CHECK(scene.shown_state(tool) == des::ToolState::NonScheduled);
}

TEST_CASE("a delta that does not chain is refused", "[viewer]") {
  auto fab = fab_info(minifab());
  Scene scene(fab, auto_layout(fab), meshes());
  des::StateDelta d;
  d.from = 5;
  d.to = 6;
  CHECK_FALSE(scene.apply(d).ok());  // no keyframe yet
  auto src = StandaloneSource::create(minifab(), 1.0).value();
  REQUIRE(src->poll(scene, 0).ok());
  d.from = scene.state().version + 7;
  d.to = d.from + 1;
  CHECK_FALSE(scene.apply(d).ok());
  des::StateView wrong;
  CHECK(scene.apply(wrong).error().message.find("tools") != std::string::npos);
  // Ids outside the model (a bad server): refused, nothing applied.
  auto before = scene.state();
  des::StateDelta bad;
  bad.from = before.version;
  bad.to = before.version + 1;
  des::ToolView tv;
  tv.tool = model::ToolId{999};
  bad.tools.push_back(tv);
  CHECK(scene.apply(bad).error().message == "a tool id outside the model");
  bad.tools.clear();
  des::QueueView qv;
  qv.group = model::ToolGroupId{77};
  bad.queues.push_back(qv);
  CHECK(scene.apply(bad).error().message == "a tool group id outside the model");
  CHECK(scene.state() == before);
  auto kf = before;
  kf.lots.at(0).tool = model::ToolId{12345};
  CHECK(scene.apply(kf).error().message.find("a tool outside the model") != std::string::npos);
  CHECK(scene.state() == before);
}

TEST_CASE("camera: projection, rays and picking agree", "[viewer]") {
  auto fab = fab_info(minifab());
  Scene scene(fab, auto_layout(fab), meshes());
  Camera cam;
  cam.width = 640;
  cam.height = 360;
  auto b = scene.bounds();
  cam.fit(b[0], b[1]);
  for (std::uint32_t t = 0; t < fab.tools.size(); ++t) {
    auto p = cam.project(scene.tool_top(t));
    REQUIRE(p);
    CHECK((*p)[0] > 0);
    CHECK((*p)[0] < 640);
    CHECK((*p)[1] > 0);
    CHECK((*p)[1] < 360);
    auto hit = scene.pick(cam.ray((*p)[0], (*p)[1]));
    REQUIRE(hit);
    CHECK(*hit == t);
  }
  CHECK_FALSE(scene.pick(cam.ray(1, 1)));
  // Orbit, pan and zoom move the camera; fit brings every corner back into view.
  auto d0 = cam.distance;
  cam.zoom(0.5f);
  CHECK(cam.distance == Approx(d0 * 0.5f));
  auto t0 = cam.target;
  cam.pan(100, 0);
  CHECK(cam.target != t0);
  cam.orbit(10, 100);
  CHECK(cam.pitch_deg <= 89.9f);
}

TEST_CASE("overdue jobs, held lots and heat maps show in the instances", "[viewer]") {
  auto src = StandaloneSource::create(minifab(), 3.0).value();
  auto fab = src->fab();
  Scene scene(fab, auto_layout(fab), meshes());
  des::StateView v = src->simulation().view();
  // A job past its expected end (what follow mode shows before the track-out comes).
  std::uint32_t busy = 0;
  while (busy < v.tools.size() && v.tools[busy].lots.empty()) ++busy;
  REQUIRE(busy < v.tools.size());
  v.tools[busy].lots[0].expected_end = v.now - model::Duration{60'000};
  // A held lot in a queue.
  std::size_t q = 0;
  while (q < v.queues.size() && v.queues[q].lots.empty()) ++q;
  REQUIRE(q < v.queues.size());
  const std::string held = v.queues[q].lots[0].lot;
  for (auto& l : v.lots)
    if (l.name == held) l.held = true;
  REQUIRE(scene.apply(v).ok());
  CHECK(scene.overdue(busy));
  const auto& markers = scene.instances(MeshKind::Marker);
  CHECK(markers.pos_of_slot[busy] != InstanceSet::kHidden);
  CHECK(markers.items[busy].colour[0] == 1.0f);  // white
  CHECK(scene.group_stats(static_cast<std::uint32_t>(q)).held == 1);
  CHECK(markers.pos_of_slot[fab.tools.size() + q] != InstanceSet::kHidden);  // the group's held marker
  const auto& foups = scene.instances(MeshKind::Foup);
  CHECK(foups.items[q * Scene::kFoupsPerGroup].colour[0] == Approx(kHeldColour[0] / 255.0));
  // Heat by queue: the tools of the group with the longest queue are the hottest (red, 220,30,30).
  scene.set_colour_mode(ColourMode::HeatQueue);
  std::uint32_t gmax = 0;
  for (std::uint32_t g = 0; g < fab.groups.size(); ++g)
    if (scene.group_stats(g).queued > scene.group_stats(gmax).queued) gmax = g;
  REQUIRE(scene.group_stats(gmax).queued > 0);
  auto t = fab.groups[gmax].first_tool;
  auto kind = scene.layout().groups[gmax].mesh;
  std::uint32_t slot = 0;  // tools take the slots of their mesh in tool order
  for (std::uint32_t k = 0; k < t; ++k) slot += scene.layout().groups[fab.tool_group[k]].mesh == kind;
  const auto& hot = scene.instances(kind).items[slot];
  CHECK(hot.colour[0] == Approx(220 / 255.0));
  CHECK(hot.colour[1] == Approx(30 / 255.0));
  scene.set_colour_mode(ColourMode::State);
  CHECK(scene.colour_mode() == ColourMode::State);
}

// The Yield panel's pictures (wafer_map.hpp): one rectangle per die in its grid cell, coloured by
// bin or by fail rate; grids that do not fit the values are errors naming the field.
TEST_CASE("wafer map: a rectangle per die, coloured by bin, row 0 at the bottom", "[viewer][yield]") {
  WaferMapData m;
  m.grid = {2, 3, {0, 1, 2, 1}, {0, 0, 0, 1}};  // 2 rows x 3 columns; die 3 at the top middle
  m.die_bins = {0, 1, 4, 2};
  auto r = wafer_rects(m, 10, 20, 30);  // cell 10, grid 30 x 20 centred in the 30 x 30 square
  REQUIRE(r);
  REQUIRE(r->size() == 4);
  const auto& d0 = (*r)[0];
  CHECK(d0.x0 == Approx(10));
  CHECK(d0.y0 == Approx(35));  // bottom row: y 25 + 10
  CHECK(d0.x1 == Approx(19));  // less the 1-pixel gap
  CHECK(d0.colour == bin_colour(0));
  CHECK((*r)[3].y0 == Approx(25));  // row 1 is above row 0
  CHECK((*r)[3].x0 == Approx(20));
  CHECK((*r)[1].colour == bin_colour(1));
  CHECK((*r)[2].colour == bin_colour(4));
  CHECK(bin_colour(0) != bin_colour(1));
  CHECK(bin_colour(7) == bin_colour(9));  // unknown bins: one grey
  CHECK(bin_name(3) == "edge");

  std::vector<std::uint8_t> px;
  rasterise(*r, 50, 60, px);
  REQUIRE(px.size() == 50u * 60u * 4u);
  auto at = [&](int x, int y) {
    const auto* q = &px[(static_cast<std::size_t>(y) * 50 + static_cast<std::size_t>(x)) * 4];
    return Rgba{q[0], q[1], q[2], q[3]};
  };
  CHECK(at(14, 40) == bin_colour(0));
  CHECK(at(24, 40) == bin_colour(1));
  CHECK(at(34, 40) == bin_colour(4));
  CHECK(at(24, 30) == bin_colour(2));
  CHECK(at(14, 30) == Rgba{0, 0, 0, 0});  // no die there
  CHECK(at(19, 40) == Rgba{0, 0, 0, 0});  // the gap between dies
}

TEST_CASE("stacked map: heat colours scaled to the largest rate", "[viewer][yield]") {
  StackedMapData m;
  m.grid = {1, 3, {0, 1, 2}, {0, 0, 0}};
  m.fail_rate = {0.0, 0.02, 0.04};
  auto r = stacked_rects(m, 0, 0, 30);
  REQUIRE(r);
  CHECK((*r)[0].colour == fail_rate_colour(0, 1));
  CHECK((*r)[2].colour == fail_rate_colour(1, 1));  // the largest rate: the top of the scale
  CHECK((*r)[1].colour == fail_rate_colour(0.5, 1));
  CHECK((*r)[0].colour != (*r)[2].colour);
  auto fixed = stacked_rects(m, 0, 0, 30, 0.08);
  REQUIRE(fixed);
  CHECK((*fixed)[2].colour == fail_rate_colour(0.5, 1));
  m.fail_rate = {0, 0, 0};
  auto zero = stacked_rects(m, 0, 0, 30);
  REQUIRE(zero);
  CHECK((*zero)[1].colour == fail_rate_colour(0, 1));
}

TEST_CASE("wafer map: replies that do not fit are errors naming the field", "[viewer][yield]") {
  WaferMapData m;
  m.grid = {2, 2, {0, 1}, {0, 1}};
  m.die_bins = {0};
  auto r = wafer_rects(m, 0, 0, 10);
  REQUIRE(!r);
  CHECK(r.error().field == "die_bins");
  m.die_bins = {0, 0};
  m.grid.die_row = {0, 2};  // row 2 of a 2-row grid
  r = wafer_rects(m, 0, 0, 10);
  REQUIRE(!r);
  CHECK(r.error().what().find("outside the grid") != std::string::npos);
  m.grid.die_row = {0};
  CHECK(!wafer_rects(m, 0, 0, 10));
  m.grid = {0, 2, {}, {}};
  m.die_bins = {};
  r = wafer_rects(m, 0, 0, 10);
  REQUIRE(!r);
  CHECK(r.error().field == "grid");
  StackedMapData s;
  s.grid = {1, 1, {0}, {0}};
  auto sr = stacked_rects(s, 0, 0, 10);
  REQUIRE(!sr);
  CHECK(sr.error().field == "fail_rate");
}
