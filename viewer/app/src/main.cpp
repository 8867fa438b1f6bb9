// fabtwin-viewer: the fab in 3D (docs/viewer.md).
//   fabtwin-viewer --model PATH [--speed X] [--start-days D]        standalone (in-process simulation)
//   fabtwin-viewer --connect HOST:PORT [--token T]                   live (TwinService.StreamState)
//   ... --headless --width W --height H --frames N --out frame.png  offscreen, writes a PNG
//   fabtwin-viewer --connect HOST:PORT --headless --wafer-map LOT:WAFER --out map.png
//                                                                    the Yield panel's die map of one wafer
//   fabtwin-viewer --connect HOST:PORT --headless --yield-panel TOOL|all --out maps.png
//                                                                    one round of the Yield panel's queries
// Exit codes: 0 success, 1 a failure while running (no Vulkan device, no server, an unreadable
// model), 2 bad arguments.
#define GLFW_INCLUDE_VULKAN
#include <GLFW/glfw3.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "app.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/load.hpp"
#ifdef FABTWIN_VIEWER_HAVE_LIVE
#include "fabtwin/client/client.hpp"
#endif

namespace fabtwin::viewer {
namespace {

constexpr int kExitFailure = 1, kExitUsage = 2;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string model, connect, token, layout, meshes, out = "frame.png", camera = "fit", heat, device;
  std::string wait_state, screenshot, wafer_map, pick, yield_panel;
  double yield_refresh = 10;
  std::string token_file, tls_ca, tls_cert, tls_key;
  bool tls = false;
  std::vector<std::string> force, probe;
  double speed = 60, start_days = 0, timeout = 30;
  std::uint64_t seed = 1;
  bool headless = false, validation = false, stats = false;
  int width = 1280, height = 720, frames = -1;  // -1: headless 1, windowed until closed
};

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

std::string data_path(const std::string& rel) {
  auto d = io::data_dir();
  if (!d) return "";
  return (d.value() / rel).string();
}

// "fit", "top", "group:NAME", "tool:NAME" or "yaw,pitch,distance[,x,y,z]".
void apply_camera(const std::string& spec, const Scene& scene, Camera& cam) {
  cam.fit_points(scene.floor_corners());
  if (spec == "fit") return;
  if (spec == "top") {
    cam.pitch_deg = 89.9f;
    cam.yaw_deg = 0;
    cam.fit_points(scene.floor_corners());
    return;
  }
  auto focus = [&](Vec3 lo, Vec3 hi) {
    lo = {lo[0] - 2, 0, lo[2] - 2};
    hi = {hi[0] + 2, hi[1], hi[2] + 2};
    cam.fit(lo, hi);
  };
  if (spec.rfind("group:", 0) == 0) {
    auto g = scene.fab().find_group(spec.substr(6));
    if (g < 0) throw UsageError("--camera: unknown tool group '" + spec.substr(6) + "'");
    const auto& gi = scene.fab().groups[static_cast<std::size_t>(g)];
    Vec3 lo{1e30f, 0, 1e30f}, hi{-1e30f, 0, -1e30f};
    for (std::uint32_t k = 0; k < gi.tool_count; ++k) {
      auto tb = scene.tool_bounds(gi.first_tool + k);
      for (int i = 0; i < 3; ++i) {
        lo[i] = std::min(lo[i], tb[0][i]);
        hi[i] = std::max(hi[i], tb[1][i]);
      }
    }
    focus(lo, hi);
    return;
  }
  if (spec.rfind("tool:", 0) == 0) {
    auto t = scene.fab().find_tool(spec.substr(5));
    if (t < 0) throw UsageError("--camera: unknown tool '" + spec.substr(5) + "'");
    auto tb = scene.tool_bounds(static_cast<std::uint32_t>(t));
    focus(tb[0], tb[1]);
    return;
  }
  std::vector<float> v;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    auto comma = spec.find(',', pos);
    std::string part = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    char* end = nullptr;
    float x = std::strtof(part.c_str(), &end);
    if (part.empty() || *end != '\0' || !std::isfinite(x))
      throw UsageError("--camera '" + spec +
                       "': fit, top, group:NAME, tool:NAME or yaw,pitch,distance[,x,y,z]");
    v.push_back(x);
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  if (v.size() != 3 && v.size() != 6)
    throw UsageError("--camera '" + spec +
                     "': give 3 numbers (yaw,pitch,distance) or 6 (and the target x,y,z)");
  if (v[1] < 5 || v[1] > 89.9f || v[2] <= 0)
    throw UsageError("--camera: pitch must be 5 to 89.9 degrees, distance > 0");
  cam.yaw_deg = v[0];
  cam.pitch_deg = v[1];
  cam.distance = v[2];
  if (v.size() == 6) cam.target = {v[3], v[4], v[5]};
}

struct Forced {
  std::uint32_t tool;
  des::ToolState state;
};

std::pair<std::uint32_t, des::ToolState> parse_tool_state(const std::string& opt, const std::string& s,
                                                          const FabInfo& fab) {
  auto eq = s.find('=');
  if (eq == std::string::npos) throw UsageError(opt + " '" + s + "': expected TOOL=STATE");
  auto t = fab.find_tool(s.substr(0, eq));
  if (t < 0) throw UsageError(opt + " '" + s + "': unknown tool '" + s.substr(0, eq) + "'");
  auto st = parse_state(s.substr(eq + 1));
  if (!st)
    throw UsageError(
        opt + " '" + s + "': unknown state '" + s.substr(eq + 1) +
        "' (productive, standby, setup, engineering, scheduled_down, unscheduled_down, non_scheduled, down, "
        "idle, pm)");
  return {static_cast<std::uint32_t>(t), *st};
}

struct Setup {
  std::unique_ptr<Source> source;
  std::unique_ptr<Scene> scene;
  std::vector<Forced> forced;
  std::vector<std::uint32_t> probes;
  std::optional<std::pair<std::uint32_t, des::ToolState>> wait;
};

int fail(const std::string& m) {
  std::fprintf(stderr, "fabtwin-viewer: %s\n", m.c_str());
  return kExitFailure;
}

#ifdef FABTWIN_VIEWER_HAVE_LIVE
LiveOptions live_options(const Args& a) {
  LiveOptions lo;
  lo.target = a.connect;
  lo.token = a.token;
  if (!a.token_file.empty()) {
    auto t = client::read_token_file(a.token_file);
    if (!t) throw UsageError("--token-file: " + t.error().what());
    lo.token = t.value();
  }
  lo.tls = a.tls;
  lo.tls_ca = a.tls_ca;
  lo.tls_cert = a.tls_cert;
  lo.tls_key = a.tls_key;
  lo.connect_timeout_s = a.timeout;
  return lo;
}

// --headless --wafer-map LOT:WAFER: the Yield panel's die map of one wafer (the same rectangles and
// colours) drawn into --out, without the scene or Vulkan. Prints the wafer, its bins and where the
// grid lies in the image (so a test can probe each die's pixel).
int run_wafer_map(const Args& a) {
  auto colon = a.wafer_map.rfind(':');
  char* end = nullptr;
  unsigned long w = colon == std::string::npos ? 0 : std::strtoul(a.wafer_map.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || colon == 0 || end == a.wafer_map.c_str() + colon + 1 || *end != '\0' ||
      w == 0 || w > 1000)
    throw UsageError("--wafer-map '" + a.wafer_map + "': expected LOT:WAFER (wafer 1..)");
  std::string lot = a.wafer_map.substr(0, colon);
  YieldClient::Options o;
  o.live = live_options(a);
  o.worker = false;
  o.deadline_s = a.timeout;
  auto yc = YieldClient::create(o);
  if (!yc) return fail(yc.error().what());
  auto m = yc.value()->wafer_map(lot, static_cast<std::uint32_t>(w));
  if (!m) return fail(m.error().what());
  float size = static_cast<float>(std::min(a.width, a.height)) - 16;
  float x = (static_cast<float>(a.width) - size) / 2, y = (static_cast<float>(a.height) - size) / 2;
  auto rects = wafer_rects(m.value(), x, y, size);
  if (!rects) return fail(rects.error().what());
  std::vector<std::uint8_t> px(static_cast<std::size_t>(a.width) * static_cast<std::size_t>(a.height) * 4);
  for (std::size_t i = 0; i < px.size(); i += 4) std::copy(kBackground.begin(), kBackground.end(), &px[i]);
  rasterise(rects.value(), a.width, a.height, px);
  if (auto r = write_png(a.out, a.width, a.height, px); !r) return fail(r.error().what());
  const auto& mm = m.value();
  std::printf("wafer-map %s %u: product %s, completed day %.3f, %u dies, %u pass, die yield %.4f\n",
              mm.lot.c_str(), mm.wafer, mm.product.c_str(),
              static_cast<double>(mm.completed_ms) / 86'400'000.0, mm.dies, mm.pass, mm.die_yield);
  std::printf("wafer-map bins");
  for (std::uint32_t b = 0; b < mm.bins.size(); ++b)
    std::printf(" %s=%u", std::string(bin_name(b)).c_str(), mm.bins[b]);
  std::printf("\n");
  auto p = place_grid(mm.grid, x, y, size);
  std::printf("wafer-map grid %d x %d, origin %.3f %.3f, cell %.4f, gap %.1f\n", mm.grid.rows,
              mm.grid.columns, p.x, p.y, p.cell, p.gap);
  std::printf("fabtwin-viewer: wrote %s (%dx%d, %zu dies)\n", a.out.c_str(), a.width, a.height,
              rects->size());
  return 0;
}
#endif

#ifdef FABTWIN_VIEWER_HAVE_LIVE
// --headless --yield-panel TOOL|all: a round of the Yield panel's queries and a refresh (YieldClient, as the
// windowed panel's worker runs them), printed, and its two maps (the newest wafer's bins, the
// stacked fail rate) side by side in --out. A refusal: the panel's one-line message, exit 1.
int run_yield_panel(const Args& a) {
  YieldClient::Options o;
  o.live = live_options(a);
  o.worker = false;
  o.deadline_s = a.timeout;
  o.first_tool = a.yield_panel == "all" ? "" : a.yield_panel;
  auto yc = YieldClient::create(o);
  if (!yc) return fail(yc.error().what());
  // Two rounds, as a refresh: the second lists only the wafers completed since the first's oldest.
  auto v = yc.value()->run_round();
  if (v.message.empty()) v = yc.value()->run_round();
  std::printf("yield-panel rounds %llu\n", static_cast<unsigned long long>(v.rounds));
  std::printf("yield-panel filter %s\n", v.tool.empty() ? "all" : v.tool.c_str());
  for (const auto& r : v.summary)
    std::printf("yield-panel summary %s lots %llu wafers %llu dies %llu pass %llu die_yield %.6f\n",
                r.key.c_str(), static_cast<unsigned long long>(r.lots),
                static_cast<unsigned long long>(r.wafers), static_cast<unsigned long long>(r.dies),
                static_cast<unsigned long long>(r.pass), r.die_yield);
  for (const auto& w : v.wafers)
    std::printf("yield-panel wafer %s %u %s %lld %.6f\n", w.lot.c_str(), w.wafer, w.product.c_str(),
                static_cast<long long>(w.completed_ms), w.die_yield);
  if (!v.message.empty()) return fail(v.message);
  float size = std::min(static_cast<float>(a.width) / 2, static_cast<float>(a.height)) - 16;
  std::vector<std::uint8_t> px(static_cast<std::size_t>(a.width) * static_cast<std::size_t>(a.height) * 4);
  for (std::size_t i = 0; i < px.size(); i += 4) std::copy(kBackground.begin(), kBackground.end(), &px[i]);
  float y = (static_cast<float>(a.height) - size) / 2;
  if (v.map) {
    auto r = wafer_rects(*v.map, 8, y, size);
    if (!r) return fail(r.error().what());
    rasterise(r.value(), a.width, a.height, px);
    std::printf("yield-panel map %s %u %s pass %u dies %u\n", v.map->lot.c_str(), v.map->wafer,
                v.map->product.c_str(), v.map->pass, v.map->dies);
  }
  if (v.stacked) {
    auto r = stacked_rects(*v.stacked, static_cast<float>(a.width) / 2 + 8, y, size);
    if (!r) return fail(r.error().what());
    rasterise(r.value(), a.width, a.height, px);
    double mx = 0;
    for (double f : v.stacked->fail_rate) mx = std::max(mx, f);
    std::printf("yield-panel stacked %s wafers %llu dies %zu max_fail_rate %.6f\n",
                v.stacked->product.c_str(), static_cast<unsigned long long>(v.stacked->wafers),
                v.stacked->fail_rate.size(), mx);
  }
  if (auto r = write_png(a.out, a.width, a.height, px); !r) return fail(r.error().what());
  std::printf("fabtwin-viewer: wrote %s (%dx%d)\n", a.out.c_str(), a.width, a.height);
  return 0;
}
#endif

// Source, layout, meshes, scene. Returns an exit code on failure.
std::optional<int> make_setup(const Args& a, Setup& s) {
  if (!a.model.empty()) {
    std::string path = a.model;
    if (!std::filesystem::exists(path)) {
      auto alt = data_path(a.model);
      if (!alt.empty() && std::filesystem::exists(alt)) path = alt;
    }
    auto m = io::load_model(path);
    if (!m) return fail("--model: " + m.error().what());
    auto src = StandaloneSource::create(m.value(), a.start_days, a.seed);
    if (!src) return fail(src.error().what());
    s.source = std::move(src.value());
  } else {
#ifdef FABTWIN_VIEWER_HAVE_LIVE
    auto src = connect_live(live_options(a));
    if (!src) return fail(src.error().what());
    s.source = std::move(src.value());
#else
    return fail("--connect: this build has no gRPC client (built with FABTWIN_SERVICES=OFF)");
#endif
  }
  const FabInfo& fab = s.source->fab();
  Layout layout;
  std::string layout_path = a.layout;
  if (layout_path.empty()) {
    auto p = data_path("layouts/" + fab.name + ".json");
    if (!p.empty() && std::filesystem::exists(p)) layout_path = p;
  }
  if (layout_path.empty() || layout_path == "auto") {
    layout = auto_layout(fab);
  } else {
    auto l = load_layout(layout_path, fab);
    if (!l) return fail("--layout: " + l.error().what());
    layout = std::move(l.value());
  }
  std::string mesh_dir = a.meshes.empty() ? data_path("meshes") : a.meshes;
  auto meshes = load_meshes(mesh_dir);
  if (!meshes) return fail("meshes: " + meshes.error().what());
  s.scene = std::make_unique<Scene>(fab, std::move(layout), std::move(meshes.value()));
  for (const auto& f : a.force) {
    auto [t, st] = parse_tool_state("--force", f, fab);
    s.forced.push_back({t, st});
  }
  for (const auto& p : a.probe) {
    auto t = fab.find_tool(p);
    if (t < 0) throw UsageError("--probe: unknown tool '" + p + "'");
    s.probes.push_back(static_cast<std::uint32_t>(t));
  }
  if (!a.wait_state.empty()) s.wait = parse_tool_state("--wait-state", a.wait_state, fab);
  if (a.heat == "queue")
    s.scene->set_colour_mode(ColourMode::HeatQueue);
  else if (a.heat == "util")
    s.scene->set_colour_mode(ColourMode::HeatUtilisation);
  return std::nullopt;
}

void apply_forced(Setup& s) {
  for (const auto& f : s.forced) s.scene->force(f.tool, f.state);
}

void print_probes(const Setup& s, const Camera& cam, const std::vector<std::uint8_t>& px, int w, int h) {
  for (auto t : s.probes) {
    auto p = cam.project(s.scene->tool_top(t));
    if (!p || (*p)[0] < 0 || (*p)[1] < 0 || (*p)[0] >= static_cast<float>(w) ||
        (*p)[1] >= static_cast<float>(h)) {
      std::printf("probe %s off-screen\n", s.scene->fab().tools[t].c_str());
      continue;
    }
    int x = static_cast<int>((*p)[0]), y = static_cast<int>((*p)[1]);
    const auto* q =
        &px[(static_cast<std::size_t>(y) * static_cast<std::size_t>(w) + static_cast<std::size_t>(x)) * 4];
    std::printf("probe %s %d %d %d %d %d %s\n", s.scene->fab().tools[t].c_str(), x, y, q[0], q[1], q[2],
                std::string(des::to_string(s.scene->shown_state(t))).c_str());
  }
}

// Polls until the scene has a state (live: the first keyframe) and, with --wait-state, until
// that tool is in that state.
std::optional<int> wait_ready(const Args& a, Setup& s) {
  auto start = Clock::now();
  bool announced = false;
  while (true) {
    auto r = s.source->poll(*s.scene, 0);
    if (!r) return fail(r.error().what());
    if (s.scene->has_state() && !announced) {
      std::printf("fabtwin-viewer: %s\n", s.source->describe().c_str());
      std::fflush(stdout);
      announced = true;
    }
    bool ok = s.scene->has_state();
    if (ok && s.wait) ok = s.scene->state().tools[s.wait->first].state == s.wait->second;
    if (ok) return std::nullopt;
    if (ms_since(start) > a.timeout * 1000) {
      if (!s.scene->has_state()) return fail("no state from the source within --timeout");
      return fail("--wait-state " + a.wait_state + ": not reached within --timeout (" + s.source->describe() +
                  ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

int run_headless(const Args& a, Setup& s) {
  if (auto r = wait_ready(a, s)) return *r;
  apply_forced(s);
  RenderOptions ro;
  ro.width = a.width;
  ro.height = a.height;
  ro.validation = a.validation;
  ro.device = a.device;
  auto rr = Renderer::create(ro, *s.scene);
  if (!rr) return fail(rr.error().message);
  auto& renderer = *rr.value();
  Camera cam;
  cam.width = a.width;
  cam.height = a.height;
  apply_camera(a.camera, *s.scene, cam);
  std::vector<double> frame_ms, update_ms;
  std::size_t bytes = 0;
  for (int f = 0; f < a.frames; ++f) {
    auto t0 = Clock::now();
    if (f > 0) {
      auto r = s.source->poll(*s.scene, static_cast<std::int64_t>(a.speed * 1000.0 / 30.0));
      if (!r) return fail(r.error().what());
      apply_forced(s);
    }
    double upd = ms_since(t0);
    auto t1 = Clock::now();
    auto st = renderer.render(*s.scene, cam, f + 1 == a.frames);
    if (!st) return fail(st.error().message);
    frame_ms.push_back(ms_since(t1));
    update_ms.push_back(upd);
    bytes += st->bytes_uploaded;
  }
  auto px = renderer.read_pixels();
  if (!px) return fail(px.error().message);
  if (!a.out.empty()) {
    auto w = write_png(a.out, renderer.width(), renderer.height(), px.value());
    if (!w) return fail(w.error().what());
  }
  print_probes(s, cam, px.value(), renderer.width(), renderer.height());
  if (a.stats) {
    auto med = [](std::vector<double> v) {
      std::sort(v.begin(), v.end());
      return v.empty() ? 0.0 : v[v.size() / 2];
    };
    std::printf(
        "stats: device '%s', %dx%d, %d frames, median frame %.2f ms, median update %.3f ms, %zu instance "
        "bytes uploaded\n",
        renderer.device_name().c_str(), renderer.width(), renderer.height(), a.frames, med(frame_ms),
        med(update_ms), bytes);
    std::uint32_t g_max = 0;
    for (std::uint32_t g = 0; g < s.scene->fab().groups.size(); ++g)
      if (s.scene->group_stats(g).queued > s.scene->group_stats(g_max).queued) g_max = g;
    std::printf("stats: longest queue %s (%u lots); %llu lots in fab\n",
                s.scene->fab().groups[g_max].name.c_str(), s.scene->group_stats(g_max).queued,
                static_cast<unsigned long long>(s.scene->state().kpis.lots_in_fab));
  }
  std::printf("fabtwin-viewer: wrote %s (%dx%d, device '%s', %s; validation %s: %u messages)\n",
              a.out.c_str(), renderer.width(), renderer.height(), renderer.device_name().c_str(),
              s.source->describe().c_str(), renderer.validation_enabled() ? "on" : "off",
              renderer.validation_messages());
  if (renderer.validation_messages() > 0) return fail("the validation layers reported messages (above)");
  return 0;
}

// ---- windowed -------------------------------------------------------------------------------

struct Input {
  Camera* cam = nullptr;
  double last_x = 0, last_y = 0;
  bool dragging_left = false, dragging_right = false;
  double scroll = 0;
};

int run_windowed(const Args& a, Setup& s) {
  if (!glfwInit()) return fail("cannot open a window (no display?): use --headless");
  if (!glfwVulkanSupported()) {
    glfwTerminate();
    return fail("GLFW found no Vulkan loader");
  }
  glfwWindowHint(GLFW_CLIENT_API, GLFW_NO_API);
  GLFWwindow* win = glfwCreateWindow(a.width, a.height, ("fabtwin-viewer: " + s.source->fab().name).c_str(),
                                     nullptr, nullptr);
  if (!win) {
    glfwTerminate();
    return fail("cannot create a window");
  }
  int code = 0;
  {
    if (auto r = wait_ready(a, s)) {
      glfwDestroyWindow(win);
      glfwTerminate();
      return *r;
    }
    apply_forced(s);
    RenderOptions ro;
    ro.window = win;
    ro.validation = a.validation;
    ro.device = a.device;
    auto rr = Renderer::create(ro, *s.scene);
    if (!rr) {
      glfwDestroyWindow(win);
      glfwTerminate();
      return fail(rr.error().message);
    }
    auto& renderer = *rr.value();
    Camera cam;
    cam.width = renderer.width();
    cam.height = renderer.height();
    apply_camera(a.camera, *s.scene, cam);
    Input in;
    in.cam = &cam;
    glfwSetWindowUserPointer(win, &in);
    bool ui = ui_init(renderer, win);
    glfwSetScrollCallback(win, [](GLFWwindow* w, double, double dy) {
      if (!ui_wants_mouse()) static_cast<Input*>(glfwGetWindowUserPointer(w))->scroll += dy;
    });
    UiState st;
    st.speed = a.speed;
    if (!a.pick.empty()) {
      auto t = s.scene->fab().find_tool(a.pick);
      if (t < 0) throw UsageError("--pick: unknown tool '" + a.pick + "'");
      st.picked = static_cast<std::uint32_t>(t);
    }
#ifdef FABTWIN_VIEWER_HAVE_LIVE
    std::unique_ptr<YieldClient> yield;
    if (s.source->live() && ui) {
      YieldClient::Options o;
      o.live = live_options(a);
      o.refresh_s = a.yield_refresh;
      if (!a.pick.empty()) o.first_tool = a.pick;
      auto yc = YieldClient::create(o);
      if (yc) {
        yield = std::move(yc.value());
        st.yield = yield.get();
      } else {
        std::fprintf(stderr, "fabtwin-viewer: no Yield panel: %s\n", yc.error().what().c_str());
      }
    }
    auto capture_start = Clock::now();
#endif
    auto last = Clock::now();
    for (int frame = 0; !glfwWindowShouldClose(win); ++frame) {
      glfwPollEvents();
      double dt = std::min(0.25, ms_since(last) / 1000.0);
      last = Clock::now();
      // Mouse: left drag orbits, right drag pans, wheel zooms, click picks; keys: F focus, H heat, space
      // pause.
      double mx, my;
      glfwGetCursorPos(win, &mx, &my);
      int ww, wh, fw, fh;
      glfwGetWindowSize(win, &ww, &wh);
      glfwGetFramebufferSize(win, &fw, &fh);
      double sx = ww ? static_cast<double>(fw) / ww : 1, sy = wh ? static_cast<double>(fh) / wh : 1;
      cam.width = std::max(fw, 1);
      cam.height = std::max(fh, 1);
      if (!ui_wants_mouse()) {
        bool l = glfwGetMouseButton(win, GLFW_MOUSE_BUTTON_LEFT) == GLFW_PRESS;
        bool r = glfwGetMouseButton(win, GLFW_MOUSE_BUTTON_RIGHT) == GLFW_PRESS ||
                 glfwGetMouseButton(win, GLFW_MOUSE_BUTTON_MIDDLE) == GLFW_PRESS;
        if (l && in.dragging_left)
          cam.orbit(static_cast<float>(-(mx - in.last_x) * 0.3), static_cast<float>((my - in.last_y) * 0.3));
        if (r && in.dragging_right)
          cam.pan(static_cast<float>((mx - in.last_x) * sx), static_cast<float>((my - in.last_y) * sy));
        if (l && !in.dragging_left) {
          auto hit = s.scene->pick(cam.ray(static_cast<float>(mx * sx), static_cast<float>(my * sy)));
          if (hit) st.picked = hit;
        }
        in.dragging_left = l;
        in.dragging_right = r;
        st.hovered = s.scene->pick(cam.ray(static_cast<float>(mx * sx), static_cast<float>(my * sy)));
      } else {
        in.dragging_left = in.dragging_right = false;
      }
      in.last_x = mx;
      in.last_y = my;
      if (in.scroll != 0) cam.zoom(static_cast<float>(std::pow(0.88, in.scroll)));
      in.scroll = 0;
      if (!ui_wants_keyboard()) {
        static bool f_down = false, h_down = false, sp_down = false;
        bool f = glfwGetKey(win, GLFW_KEY_F) == GLFW_PRESS, h = glfwGetKey(win, GLFW_KEY_H) == GLFW_PRESS,
             sp = glfwGetKey(win, GLFW_KEY_SPACE) == GLFW_PRESS;
        if (f && !f_down) st.focus_request = true;
        if (h && !h_down)
          s.scene->set_colour_mode(
              static_cast<ColourMode>((static_cast<int>(s.scene->colour_mode()) + 1) % 3));
        if (sp && !sp_down && !s.source->live()) st.paused = !st.paused;
        f_down = f;
        h_down = h;
        sp_down = sp;
      }
      if (st.focus_request && st.picked) {
        auto g = s.scene->fab().tool_group[*st.picked];
        apply_camera("group:" + s.scene->fab().groups[g].name, *s.scene, cam);
      }
      st.focus_request = false;
      auto t0 = Clock::now();
      auto pr = s.source->poll(*s.scene, st.paused ? 0 : static_cast<std::int64_t>(st.speed * dt * 1000.0));
      if (!pr) {
        code = fail(pr.error().what());
        break;
      }
      apply_forced(s);
      st.update_ms = ms_since(t0);
      if (ui) ui_frame(*s.scene, *s.source, st);
      bool capture = !a.screenshot.empty() && a.frames > 0 && frame + 1 >= a.frames;
#ifdef FABTWIN_VIEWER_HAVE_LIVE
      // A screenshot waits (up to --timeout) for the Yield panel's first answer to the pick.
      if (capture && st.yield && ms_since(capture_start) < a.timeout * 1000) {
        auto v = st.yield->view();
        std::string want = st.picked ? s.scene->fab().tools[*st.picked] : "";
        if (v.rounds == 0 || v.tool != want) {
          capture = false;
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
      }
#endif
      auto t1 = Clock::now();
      FrameStats fs;
      auto r = renderer.present(*s.scene, cam, ui ? Renderer::Overlay(ui_render) : Renderer::Overlay{},
                                capture, &fs);
      if (!r) {
        code = fail(r.error().message);
        break;
      }
      st.frame_ms = ms_since(t1);
      st.bytes_uploaded = fs.bytes_uploaded;
      if (capture && r.value()) {
        auto px = renderer.read_pixels();
        if (!px) {
          code = fail(px.error().message);
          break;
        }
        auto w = write_png(a.screenshot, renderer.width(), renderer.height(), px.value());
        if (!w) {
          code = fail(w.error().what());
          break;
        }
        print_probes(s, cam, px.value(), renderer.width(), renderer.height());
        std::printf(
            "fabtwin-viewer: screenshot %s (%dx%d, device '%s', windowed; validation %s: %u messages)\n",
            a.screenshot.c_str(), renderer.width(), renderer.height(), renderer.device_name().c_str(),
            renderer.validation_enabled() ? "on" : "off", renderer.validation_messages());
        break;
      }
      if (a.frames > 0 && a.screenshot.empty() && frame + 1 >= a.frames) break;
    }
    vkDeviceWaitIdle(renderer.device());
    if (ui) ui_shutdown();
    if (code == 0 && renderer.validation_messages() > 0)
      code = fail("the validation layers reported messages (above)");
  }
  glfwDestroyWindow(win);
  glfwTerminate();
  return code;
}

}  // namespace
}  // namespace fabtwin::viewer

int main(int argc, char** argv) {
  using namespace fabtwin::viewer;
  Args a;
  CLI::App app{"fabtwin-viewer: the fab in 3D, live (--connect) or from an in-process simulation (--model)"};
  auto* model = app.add_option("--model", a.model, "model file or SMT2020 folder (standalone)");
  auto* conn = app.add_option("--connect", a.connect, "HOST:PORT of `fabtwin serve` (live)");
  model->excludes(conn);
  auto* token =
      app.add_option("--token", a.token, "live: sent as `authorization: Bearer TOKEN` (prefer --token-file)")
          ->needs(conn);
  app.add_option("--token-file", a.token_file, "live: the token from this file's first line")
      ->needs(conn)
      ->excludes(token);
  app.add_flag("--tls", a.tls,
               "live: TLS with the system's root certificates (implied by --tls-ca, --tls-cert)")
      ->needs(conn);
  app.add_option("--tls-ca", a.tls_ca, "live: TLS: the CA certificate (PEM) that signed the server's")
      ->needs(conn);
  app.add_option("--tls-cert", a.tls_cert, "live: TLS: this client's certificate (PEM), with --tls-key")
      ->needs(conn);
  app.add_option("--tls-key", a.tls_key, "live: TLS: the private key (PEM) of --tls-cert")->needs(conn);
  app.add_option("--speed", a.speed, "standalone: model seconds per wall second (default 60)")
      ->check(CLI::Range(0.0, 1e9));
  app.add_option("--start-days", a.start_days, "standalone: run the simulation this long first")
      ->check(CLI::Range(0.0, 3650.0));
  app.add_option("--seed", a.seed, "standalone: random seed");
  app.add_option("--layout", a.layout,
                 "layout file (default: twin_models/layouts/<model>.json, else automatic; 'auto')");
  app.add_option("--meshes", a.meshes, "folder of the equipment meshes (default twin_models/meshes)");
  app.add_flag("--headless", a.headless, "render offscreen and write --out");
  app.add_option("--width", a.width, "image or window width")->check(CLI::Range(16, 16384));
  app.add_option("--height", a.height, "image or window height")->check(CLI::Range(16, 16384));
  app.add_option("--frames", a.frames, "frames to render (windowed: 0 = until closed)")
      ->check(CLI::Range(0, 1000000));
  app.add_option("--out", a.out, "headless: the PNG written after the last frame");
  app.add_option("--screenshot", a.screenshot, "windowed: PNG of the swapchain image after --frames frames");
  app.add_option("--camera", a.camera, "fit | top | group:NAME | tool:NAME | yaw,pitch,distance[,x,y,z]");
  app.add_option("--force", a.force, "TOOL=STATE: show TOOL in STATE whatever the state says (repeatable)");
  app.add_option("--heat", a.heat, "colour tools by their group's queue length or utilisation")
      ->check(CLI::IsMember({"queue", "util"}));
  app.add_option("--probe", a.probe, "print the pixel at TOOL's top after the last frame (repeatable)");
  app.add_option("--wait-state", a.wait_state, "TOOL=STATE: render once the state shows it (live)");
  app.add_option("--timeout", a.timeout, "seconds to wait for the server, the first state, --wait-state")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_flag("--validation", a.validation, "Vulkan validation layers; a message fails the run");
  app.add_option("--device", a.device, "prefer the Vulkan device whose name contains this");
  app.add_flag("--stats", a.stats, "print frame and update times");
  app.add_option("--wafer-map", a.wafer_map,
                 "live, headless: draw wafer LOT:WAFER's die map (the Yield panel's) into --out")
      ->needs(conn);
  app.add_option(
         "--yield-panel", a.yield_panel,
         "live, headless: one round of the Yield panel's queries for TOOL (or 'all'); maps into --out")
      ->needs(conn);
  app.add_option("--pick", a.pick, "windowed: pick this tool at start (inspector; the Yield panel's filter)");
  app.add_option("--yield-refresh", a.yield_refresh,
                 "live: the Yield panel's refresh period in seconds (default 10)")
      ->check(CLI::Range(0.5, 3600.0));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "fabtwin-viewer: %s\n", e.what());
    return kExitUsage;
  }
#ifndef NDEBUG
  a.validation = true;  // debug builds: validation on
#endif
  if (a.model.empty() == a.connect.empty()) {
    std::fprintf(stderr, "fabtwin-viewer: give --model PATH or --connect HOST:PORT\n");
    return kExitUsage;
  }
  if (a.frames < 0) a.frames = a.headless ? 1 : 0;
  if (a.headless && a.frames < 1) {
    std::fprintf(stderr, "fabtwin-viewer: --frames must be at least 1 with --headless\n");
    return kExitUsage;
  }
  try {
    if (!a.wafer_map.empty() || !a.yield_panel.empty()) {
      if (!a.headless || (!a.wafer_map.empty() && !a.yield_panel.empty())) {
        std::fprintf(stderr, "fabtwin-viewer: --wafer-map or --yield-panel (one of them) needs --headless\n");
        return kExitUsage;
      }
#ifdef FABTWIN_VIEWER_HAVE_LIVE
      return a.wafer_map.empty() ? run_yield_panel(a) : run_wafer_map(a);
#else
      return fail("--wafer-map: this build has no gRPC client (built with FABTWIN_SERVICES=OFF)");
#endif
    }
    Setup s;
    if (auto r = make_setup(a, s)) return *r;
    return a.headless ? run_headless(a, s) : run_windowed(a, s);
  } catch (const UsageError& e) {
    std::fprintf(stderr, "fabtwin-viewer: %s\n", e.what());
    return kExitUsage;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fabtwin-viewer: error: %s\n", e.what());
    return kExitFailure;
  }
}
