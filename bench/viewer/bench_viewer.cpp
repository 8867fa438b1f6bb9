// bench_viewer: the viewer's cost per frame on a big fab (docs/benchmarks.md "Viewer").
//   bench_viewer --model twin_models/smt2020/SMT2020_HVLM [--days 30] [--frames 60] [--step-s 60]
//                [--sizes 1280x720,1920x1080] [--device NAME] [--lod PIXELS]
// Runs the model (autonomous, seed 1) for --days, builds the scene (automatic layout) and then:
//  1. frame time: per size, --frames headless frames of the whole fab (fit camera, no readback),
//     the renderer waiting for each; median and 90th percentile; with the level of detail as the
//     viewer has it (--lod, default 12 px: equipment as boxes when a tool is smaller) and without;
//  2. update time: --frames steps of --step-s model seconds each; per step the CPU time of
//     changes_since + Scene::apply (the delta -> instances) and of the upload of the dirty ranges,
//     apart from the simulation's own run_until. Medians; instances and bytes per step.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "fabtwin/io/load.hpp"
#include "fabtwin/viewer/renderer.hpp"
#include "fabtwin/viewer/source.hpp"

using namespace fabtwin;
using namespace fabtwin::viewer;
using Clock = std::chrono::steady_clock;

namespace {
double ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}
int usage(const char* m) {
  std::fprintf(stderr, "bench_viewer: %s\n", m);
  return 2;
}
}  // namespace

int main(int argc, char** argv) {
  std::string model_path = "twin_models/smt2020/SMT2020_HVLM", sizes = "1280x720,1920x1080", device;
  double days = 30, step_s = 60, lod = 12;
  int frames = 60;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return usage(("missing value of " + a).c_str());
    std::string v = argv[++i];
    try {
      if (a == "--model")
        model_path = v;
      else if (a == "--days")
        days = std::stod(v);
      else if (a == "--frames")
        frames = std::stoi(v);
      else if (a == "--step-s")
        step_s = std::stod(v);
      else if (a == "--sizes")
        sizes = v;
      else if (a == "--device")
        device = v;
      else
        return usage(("unknown option " + a).c_str());
    } catch (const std::exception&) {
      return usage(("bad value of " + a + ": " + v).c_str());
    }
  }
  if (frames < 1 || days < 0 || step_s <= 0) return usage("--frames >= 1, --days >= 0, --step-s > 0");
  auto m = io::load_model(model_path);
  if (!m) return usage(m.error().what().c_str());
  auto t0 = Clock::now();
  auto src = StandaloneSource::create(m.value(), days);
  if (!src) return usage(src.error().what().c_str());
  auto t1 = Clock::now();
  auto fab = src.value()->fab();
  auto meshes = load_meshes("twin_models/meshes");
  if (!meshes) return usage(meshes.error().what().c_str());
  Scene scene(fab, auto_layout(fab), std::move(meshes.value()));
  if (!src.value()->poll(scene, 0)) return usage("keyframe");
  std::size_t instances = 0;
  for (int k = 0; k < kMeshKindCount; ++k)
    instances += scene.instances(static_cast<MeshKind>(k)).items.size();
  const auto& k = scene.state().kpis;
  std::printf(
      "model %s: %zu tools, %zu tool groups; day %.1f (%.1f s to simulate): %llu lots in fab; %zu instances "
      "in %d meshes\n",
      fab.name.c_str(), fab.tools.size(), fab.groups.size(), days, ms(t0, t1) / 1000,
      static_cast<unsigned long long>(k.lots_in_fab), instances, kMeshKindCount);

  std::vector<std::unique_ptr<Renderer>> keep;
  for (std::size_t pos = 0; pos < sizes.size();) {
    auto comma = sizes.find(',', pos);
    std::string s = sizes.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    pos = comma == std::string::npos ? sizes.size() : comma + 1;
    int w = 0, h = 0;
    if (std::sscanf(s.c_str(), "%dx%d", &w, &h) != 2) return usage(("bad size " + s).c_str());
    for (float l : {static_cast<float>(lod), 0.f}) {
      RenderOptions o;
      o.width = w;
      o.height = h;
      o.device = device;
      o.lod_pixels = l;
      auto r = Renderer::create(o, scene);
      if (!r) {
        std::fprintf(stderr, "bench_viewer: %s\n", r.error().message.c_str());
        return 1;
      }
      Camera cam;
      cam.width = w;
      cam.height = h;
      cam.fit_points(scene.floor_corners());
      std::vector<double> t;
      bool far = false;
      for (int f = 0; f < frames + 3; ++f) {
        auto a = Clock::now();
        auto st = r.value()->render(scene, cam, false);
        if (!st) return usage(st.error().message.c_str());
        far = st->far;
        if (f >= 3) t.push_back(ms(a, Clock::now()));  // 3 warm-up frames
      }
      std::printf("frame %dx%d on '%s', %s: median %.2f ms, p90 %.2f ms (%d frames)\n", w, h,
                  r.value()->device_name().c_str(),
                  far ? "equipment as boxes (level of detail)" : "full meshes", pct(t, 0.5), pct(t, 0.9),
                  frames);
      if (l == 0) keep.push_back(std::move(r.value()));
      if (lod == 0) break;
    }
  }
  // Updates from deltas: the last renderer's buffers receive the uploads.
  auto& renderer = *keep.back();
  auto& sim = src.value()->simulation();
  std::vector<double> sim_ms, apply_ms, upload_ms, touched, bytes, changed;
  std::uint64_t version = sim.version();
  for (int f = 0; f < frames; ++f) {
    auto a = Clock::now();
    sim.run_until(sim.now() + model::Duration{static_cast<std::int64_t>(step_s * 1000)});
    auto b = Clock::now();
    auto d = sim.changes_since(version);
    if (!d) return usage("journal lost the version");
    version = d->to;
    if (!scene.apply(*d)) return usage("delta");
    auto c = Clock::now();
    auto up = renderer.upload(scene);
    auto e = Clock::now();
    sim_ms.push_back(ms(a, b));
    apply_ms.push_back(ms(b, c));
    upload_ms.push_back(ms(c, e));
    touched.push_back(static_cast<double>(scene.touched()));
    bytes.push_back(static_cast<double>(up.bytes_uploaded));
    changed.push_back(
        static_cast<double>(d->tools.size() + d->queues.size() + d->lots.size() + d->lots_left.size()));
  }
  std::printf(
      "update per %.0f model s (%d steps, medians): delta -> scene %.3f ms, upload %.3f ms; %.0f records "
      "changed, "
      "%.0f instances recomputed, %.0f bytes uploaded (of %zu); simulation itself %.2f ms\n",
      step_s, frames, pct(apply_ms, 0.5), pct(upload_ms, 0.5), pct(changed, 0.5), pct(touched, 0.5),
      pct(bytes, 0.5), instances * sizeof(Instance), pct(sim_ms, 0.5));
  return 0;
}
