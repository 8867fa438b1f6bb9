// The renderer on any Vulkan device (lavapipe here) with the validation layers on: pixels at the
// projected tops of tools show their E10 colours, a golden image matches within a tolerance, only
// dirty instances are uploaded, and the layers report nothing.
#define STB_IMAGE_IMPLEMENTATION
#include <stb_image.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>

#include "fabtwin/io/load.hpp"
#include "fabtwin/viewer/renderer.hpp"
#include "fabtwin/viewer/source.hpp"

using namespace fabtwin;
using namespace fabtwin::viewer;

namespace {
const std::string kRoot = FABTWIN_SOURCE_DIR;

struct Fixture {
  std::unique_ptr<StandaloneSource> src;
  std::unique_ptr<Scene> scene;
  std::unique_ptr<Renderer> renderer;
  Camera cam;
  Fixture(int w, int h, double days) {
    static model::Model m = io::load_model(kRoot + "/twin_models/minifab.json").value();
    src = StandaloneSource::create(m, days).value();
    auto fab = src->fab();
    auto layout = load_layout(kRoot + "/twin_models/layouts/minifab.json", fab);
    REQUIRE(layout.ok());
    scene = std::make_unique<Scene>(fab, layout.value(), load_meshes(kRoot + "/twin_models/meshes").value());
    REQUIRE(src->poll(*scene, 0).ok());
    RenderOptions o;
    o.width = w;
    o.height = h;
    o.validation = true;
    auto r = Renderer::create(o, *scene);
    if (!r) FAIL("renderer: " << r.error().message);
    renderer = std::move(r.value());
    cam.width = w;
    cam.height = h;
    auto b = scene->bounds();
    cam.fit(b[0], b[1]);
  }
  std::uint32_t tool(const char* name) const {
    return static_cast<std::uint32_t>(scene->fab().find_tool(name));
  }
};

// The 3x3 pixels around the projected top of `tool`, each equal to `c`.
bool region_is(const std::vector<std::uint8_t>& px, int w, const Camera& cam, const Scene& scene,
               std::uint32_t tool, Rgba c) {
  auto p = cam.project(scene.tool_top(tool));
  REQUIRE(p);
  int x0 = static_cast<int>((*p)[0]), y0 = static_cast<int>((*p)[1]);
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const auto* q = &px[(static_cast<std::size_t>(y0 + dy) * static_cast<std::size_t>(w) +
                           static_cast<std::size_t>(x0 + dx)) *
                          4];
      if (q[0] != c[0] || q[1] != c[1] || q[2] != c[2]) {
        WARN("tool " << scene.fab().tools[tool] << " at " << x0 + dx << "," << y0 + dy << ": " << int(q[0])
                     << "," << int(q[1]) << "," << int(q[2]) << " expected " << int(c[0]) << "," << int(c[1])
                     << "," << int(c[2]));
        return false;
      }
    }
  return true;
}
}  // namespace

TEST_CASE("a tool forced DOWN shows red, an idle tool yellow, every tool its state's colour",
          "[viewer][render]") {
  Fixture f(640, 360, 3.0);
  auto down = f.tool("Diffusion_AB_1");
  f.scene->force(down, des::ToolState::UnscheduledDown);
  auto st = f.renderer->render(*f.scene, f.cam);
  REQUIRE(st.ok());
  CHECK(st->draws >= 5);
  auto px = f.renderer->read_pixels();
  REQUIRE(px.ok());
  CHECK(region_is(px.value(), 640, f.cam, *f.scene, down, state_colour(des::ToolState::UnscheduledDown)));
  bool some_idle = false;
  for (std::uint32_t t = 0; t < f.scene->fab().tools.size(); ++t) {
    auto s = f.scene->shown_state(t);
    some_idle = some_idle || s == des::ToolState::Standby;
    CHECK(region_is(px.value(), 640, f.cam, *f.scene, t, state_colour(s)));
  }
  CHECK(some_idle);  // day 3 of the mini-fab, seed 1: Diffusion_AB_2 is idle
  // The background where nothing stands.
  CHECK(px.value()[0] == kBackground[0]);
  CHECK(f.renderer->validation_enabled());
  CHECK(f.renderer->validation_messages() == 0);
}

TEST_CASE("far away, equipment is drawn as boxes that keep the state colours", "[viewer][render]") {
  Fixture f(640, 360, 3.0);
  f.scene->force(f.tool("Diffusion_AB_1"), des::ToolState::UnscheduledDown);
  auto near = f.renderer->render(*f.scene, f.cam);
  REQUIRE(near.ok());
  CHECK_FALSE(near->far);
  f.cam.zoom(4.f);
  auto far = f.renderer->render(*f.scene, f.cam);
  REQUIRE(far.ok());
  CHECK(far->far);
  auto px = f.renderer->read_pixels();
  REQUIRE(px.ok());
  for (std::uint32_t t = 0; t < f.scene->fab().tools.size(); ++t) {
    auto p = f.cam.project(f.scene->tool_top(t));
    REQUIRE(p);
    const auto* q =
        &px.value()[(static_cast<std::size_t>((*p)[1]) * 640 + static_cast<std::size_t>((*p)[0])) * 4];
    auto c = state_colour(f.scene->shown_state(t));
    INFO(f.scene->fab().tools[t]);
    CHECK(Rgba{q[0], q[1], q[2], 255} == c);
  }
  CHECK(f.renderer->validation_messages() == 0);
}

TEST_CASE("golden image of the mini-fab at a fixed camera", "[viewer][render]") {
  Fixture f(320, 180, 3.0);
  f.scene->force(f.tool("Diffusion_AB_1"), des::ToolState::UnscheduledDown);
  REQUIRE(f.renderer->render(*f.scene, f.cam).ok());
  auto px = f.renderer->read_pixels().value();
  const std::string golden = kRoot + "/tests/viewer/golden/minifab_320x180.png";
  if (std::getenv("FABTWIN_UPDATE_GOLDEN")) {
    REQUIRE(write_png(golden, 320, 180, px).ok());
    WARN("golden image rewritten: " << golden);
  }
  int w = 0, h = 0, n = 0;
  unsigned char* g = stbi_load(golden.c_str(), &w, &h, &n, 4);
  REQUIRE(g);
  REQUIRE(w == 320);
  REQUIRE(h == 180);
  // Tolerance: rasterisers differ in edge pixels; the colours and shapes must not.
  std::size_t off = 0;
  double sum = 0;
  for (std::size_t i = 0; i < px.size(); i += 4) {
    int d = 0;
    for (int k = 0; k < 3; ++k) d = std::max(d, std::abs(int(px[i + k]) - int(g[i + k])));
    sum += d;
    if (d > 8) ++off;
  }
  stbi_image_free(g);
  INFO("pixels off by more than 8: " << off << ", mean difference " << sum / (320.0 * 180));
  CHECK(off <= 320 * 180 / 200);  // at most 0.5 %
  CHECK(sum / (320.0 * 180) < 1.5);
  CHECK(f.renderer->validation_messages() == 0);
}

TEST_CASE("only the instances that changed are uploaded", "[viewer][render]") {
  Fixture f(160, 90, 2.0);
  auto first = f.renderer->render(*f.scene, f.cam);
  REQUIRE(first.ok());
  CHECK(first->bytes_uploaded > 0);  // everything, once
  auto again = f.renderer->render(*f.scene, f.cam);
  REQUIRE(again.ok());
  CHECK(again->bytes_uploaded == 0);
  f.scene->force(f.tool("Litho_E_1"), des::ToolState::Engineering);
  auto one = f.renderer->render(*f.scene, f.cam);
  REQUIRE(one.ok());
  CHECK(one->bytes_uploaded == sizeof(Instance));
  CHECK(one->ranges_uploaded == 1);
  // An hour of simulation: some instances change, far fewer than all.
  REQUIRE(f.src->poll(*f.scene, 3'600'000).ok());
  auto hour = f.renderer->render(*f.scene, f.cam);
  REQUIRE(hour.ok());
  CHECK(hour->bytes_uploaded < first->bytes_uploaded);
  CHECK(f.renderer->validation_messages() == 0);
}

TEST_CASE("bad sizes are errors, not aborts", "[viewer][render]") {
  static model::Model m = io::load_model(kRoot + "/twin_models/minifab.json").value();
  auto fab = fab_info(m);
  Scene scene(fab, auto_layout(fab), load_meshes(kRoot + "/twin_models/meshes").value());
  RenderOptions o;
  o.width = 4;
  auto r = Renderer::create(o, scene);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("image size") != std::string::npos);
  o.width = 64;
  o.height = 64;
  o.device = "no-such-device";
  r = Renderer::create(o, scene);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("no usable device matches --device 'no-such-device'") != std::string::npos);
}
