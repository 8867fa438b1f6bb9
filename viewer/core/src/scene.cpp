#include "fabtwin/viewer/scene.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace fabtwin::viewer {

namespace {
constexpr Rgba kStateColours[des::kToolStateCount] = {
    {40, 190, 70, 255},    // productive: green
    {235, 205, 40, 255},   // standby: yellow
    {40, 200, 220, 255},   // setup: cyan
    {60, 110, 235, 255},   // engineering: blue
    {245, 140, 30, 255},   // scheduled down / PM: orange
    {225, 35, 35, 255},    // unscheduled down: red
    {130, 130, 130, 255},  // non-scheduled: grey
};
constexpr float kFoupHeight = 0.36f;

void set_colour(Instance& in, Rgba c) {
  for (int k = 0; k < 4; ++k) in.colour[k] = static_cast<float>(c[k]) / 255.f;
}

// Blue (cold) -> yellow -> red (hot).
Rgba heat(double v) {
  v = std::clamp(v, 0.0, 1.0);
  auto mix = [](Rgba a, Rgba b, double t) {
    Rgba r{};
    for (int k = 0; k < 4; ++k) r[k] = static_cast<std::uint8_t>(std::lround(a[k] + (b[k] - a[k]) * t));
    return r;
  };
  if (v < 0.5) return mix({40, 70, 200, 255}, {240, 220, 40, 255}, v * 2);
  return mix({240, 220, 40, 255}, {220, 30, 30, 255}, (v - 0.5) * 2);
}
}  // namespace

Rgba state_colour(des::ToolState s) { return kStateColours[static_cast<int>(s)]; }

std::optional<des::ToolState> parse_state(std::string_view s) {
  for (int i = 0; i < des::kToolStateCount; ++i)
    if (des::to_string(static_cast<des::ToolState>(i)) == s) return static_cast<des::ToolState>(i);
  if (s == "down") return des::ToolState::UnscheduledDown;
  if (s == "idle" || s == "up") return des::ToolState::Standby;
  if (s == "pm") return des::ToolState::ScheduledDown;
  return std::nullopt;
}

// ---- InstanceSet ----------------------------------------------------------------------------

void InstanceSet::resize(std::size_t n) {
  items.assign(n, Instance{});
  visible.clear();
  visible.reserve(n);
  pos_of_slot.assign(n, kHidden);
  slot_at.clear();
  dirty_flag.assign(n, 0);
  dirty.clear();
}

void InstanceSet::mark(std::uint32_t p) {
  if (!dirty_flag[p]) {
    dirty_flag[p] = 1;
    dirty.push_back(p);
  }
}

void InstanceSet::set(std::uint32_t i, const Instance& v) {
  if (std::memcmp(&items[i], &v, sizeof(Instance)) == 0) return;
  items[i] = v;
  bool show = v.scale[0] != 0;
  auto p = pos_of_slot[i];
  if (show && p != kHidden) {
    visible[p] = v;
    mark(p);
  } else if (show) {
    p = static_cast<std::uint32_t>(visible.size());
    visible.push_back(v);
    slot_at.push_back(i);
    pos_of_slot[i] = p;
    mark(p);
  } else if (p != kHidden) {
    // Hide: the last packed entry moves into its place.
    auto last = static_cast<std::uint32_t>(visible.size() - 1);
    if (p != last) {
      visible[p] = visible[last];
      slot_at[p] = slot_at[last];
      pos_of_slot[slot_at[p]] = p;
      mark(p);
    }
    visible.pop_back();
    slot_at.pop_back();
    pos_of_slot[i] = kHidden;
  }
}

void InstanceSet::mark_all() {
  for (std::uint32_t p = 0; p < visible.size(); ++p) mark(p);
}

std::vector<std::pair<std::uint32_t, std::uint32_t>> InstanceSet::take_dirty_ranges() {
  std::sort(dirty.begin(), dirty.end());
  std::vector<std::pair<std::uint32_t, std::uint32_t>> runs;
  for (auto i : dirty) {
    dirty_flag[i] = 0;
    if (i >= visible.size()) continue;  // hidden since it was marked
    if (!runs.empty() && runs.back().first + runs.back().second == i)
      ++runs.back().second;
    else
      runs.push_back({i, 1});
  }
  dirty.clear();
  return runs;
}

// ---- Scene ----------------------------------------------------------------------------------

Scene::Scene(FabInfo fab, Layout layout, std::vector<MeshData> meshes)
    : fab_(std::move(fab)), layout_(std::move(layout)), meshes_(std::move(meshes)) {
  stats_.resize(fab_.groups.size());
  forced_.assign(fab_.tools.size(), -1);
  overdue_.assign(fab_.tools.size(), 0);
  transport_by_area_.assign(fab_.areas.size(), 0);
  build_static();
}

void Scene::build_static() {
  auto size = [&](MeshKind k, std::size_t n) { sets_[static_cast<int>(k)].resize(n); };
  std::array<std::size_t, kMeshKindCount> counts{};
  tool_slot_.resize(fab_.tools.size());
  for (std::size_t t = 0; t < fab_.tools.size(); ++t) {
    auto k = static_cast<int>(layout_.groups[fab_.tool_group[t]].mesh);
    tool_slot_[t] = static_cast<std::uint32_t>(counts[k]++);
  }
  std::size_t groups = fab_.groups.size(), bays = layout_.bays.size();
  bay_of_area_.assign(fab_.areas.size(), -1);
  for (std::size_t b = 0; b < bays; ++b) bay_of_area_[layout_.bays[b].area] = static_cast<std::int32_t>(b);
  counts[static_cast<int>(MeshKind::Box)] = bays + groups;  // floors, then a WIP bar per group
  counts[static_cast<int>(MeshKind::Foup)] = groups * kFoupsPerGroup + bays * kTransportPerBay;
  counts[static_cast<int>(MeshKind::Marker)] =
      fab_.tools.size() + groups;  // overdue per tool, held per group
  for (int k = 0; k < kMeshKindCount; ++k) size(static_cast<MeshKind>(k), counts[k]);

  auto& box = instances(MeshKind::Box);
  for (std::size_t b = 0; b < bays; ++b) {
    const auto& bay = layout_.bays[b];
    Instance in;
    in.pos[0] = bay.x + bay.width / 2;
    in.pos[1] = -0.1f;
    in.pos[2] = bay.z + bay.depth / 2;
    in.scale[0] = bay.width;
    in.scale[1] = 0.1f;
    in.scale[2] = bay.depth;
    Rgba c = kFloorColour;
    if (b % 2) c = {66, 70, 80, 255};
    set_colour(in, c);
    box.set(static_cast<std::uint32_t>(b), in);
  }
  for (std::uint32_t t = 0; t < fab_.tools.size(); ++t) update_tool(t);
  for (auto& s : sets_) s.mark_all();
}

des::ToolState Scene::shown_state(std::uint32_t tool) const {
  if (forced_[tool] >= 0) return static_cast<des::ToolState>(forced_[tool]);
  if (have_state_ && tool < state_.tools.size()) return state_.tools[tool].state;
  return des::ToolState::Standby;
}

bool Scene::overdue(std::uint32_t tool) const { return overdue_[tool] != 0; }

void Scene::update_tool(std::uint32_t tool) {
  ++touched_;
  auto g = fab_.tool_group[tool];
  const auto& gl = layout_.groups[g];
  Instance in;
  in.pos[0] = layout_.tools[tool][0];
  in.pos[2] = layout_.tools[tool][1];
  in.scale[0] = in.scale[1] = in.scale[2] = 1.f;
  Rgba c = state_colour(shown_state(tool));
  if (mode_ == ColourMode::HeatQueue) {
    c = heat(static_cast<double>(stats_[g].queued) / static_cast<double>(max_queue_));
  } else if (mode_ == ColourMode::HeatUtilisation) {
    const auto& st = stats_[g].tools_by_state;
    double busy =
        st[static_cast<int>(des::ToolState::Productive)] + st[static_cast<int>(des::ToolState::Setup)];
    c = heat(busy / std::max<double>(1, fab_.groups[g].tool_count));
  }
  set_colour(in, c);
  instances(gl.mesh).set(tool_slot_[tool], in);

  // Overdue marker: over the tool's back-right corner (never over the probe point).
  bool od = false;
  if (have_state_ && tool < state_.tools.size())
    for (const auto& l : state_.tools[tool].lots) od = od || l.expected_end < state_.now;
  overdue_[tool] = od;
  const auto& mesh = meshes_[static_cast<int>(gl.mesh)];
  Instance mk;
  if (od) {
    mk.pos[0] = in.pos[0] + mesh.max[0] * 0.8f;
    mk.pos[1] = mesh.max[1] + 0.3f;
    mk.pos[2] = in.pos[2] + mesh.min[2] * 0.8f;
    mk.scale[0] = mk.scale[1] = mk.scale[2] = 0.8f;
    mk.flags = 1;
    set_colour(mk, kOverdueColour);
  }
  instances(MeshKind::Marker).set(tool, mk);
}

void Scene::recount_group(std::uint32_t g) {
  auto& s = stats_[g];
  s = GroupStats{};
  if (have_state_ && g < state_.queues.size()) {
    const auto& q = state_.queues[g].lots;
    s.queued = static_cast<std::uint32_t>(q.size());
    for (const auto& ql : q) {
      s.longest_wait_h =
          std::max(s.longest_wait_h, static_cast<double>((state_.now - ql.since).count()) / 3.6e6);
      auto it = lot_index_.find(ql.lot);
      if (it != lot_index_.end() && state_.lots[it->second].held) ++s.held;
    }
  }
  const auto& gi = fab_.groups[g];
  for (std::uint32_t k = 0; k < gi.tool_count; ++k) {
    auto t = gi.first_tool + k;
    ++s.tools_by_state[static_cast<int>(shown_state(t))];
    if (have_state_ && t < state_.tools.size())
      s.on_tools += static_cast<std::uint32_t>(state_.tools[t].lots.size());
  }
}

void Scene::update_group(std::uint32_t g) {
  ++touched_;
  const auto& s = stats_[g];
  const auto& gl = layout_.groups[g];
  auto& foups = instances(MeshKind::Foup);
  // Stacked FOUPs: the first lots of the queue (held ones magenta).
  std::vector<bool> held;
  if (have_state_ && g < state_.queues.size())
    for (const auto& ql : state_.queues[g].lots) {
      if (held.size() == kFoupsPerGroup) break;
      auto it = lot_index_.find(ql.lot);
      held.push_back(it != lot_index_.end() && state_.lots[it->second].held);
    }
  for (std::uint32_t k = 0; k < kFoupsPerGroup; ++k) {
    Instance in;
    if (k < held.size()) {
      in.pos[0] = gl.wip[0] - 0.3f;
      in.pos[1] = static_cast<float>(k) * kFoupHeight;
      in.pos[2] = gl.wip[1];
      in.scale[0] = in.scale[1] = in.scale[2] = 1.f;
      set_colour(in, held[k] ? kHeldColour : kFoupColour);
    }
    foups.set(g * kFoupsPerGroup + k, in);
  }
  // The bar: height by queue length, colour by its share of the longest queue.
  Instance bar;
  if (s.queued > 0) {
    bar.pos[0] = gl.wip[0] + 0.45f;
    bar.pos[2] = gl.wip[1];
    bar.scale[0] = 0.35f;
    bar.scale[1] = 0.12f * static_cast<float>(s.queued);
    bar.scale[2] = 0.35f;
    set_colour(bar, heat(static_cast<double>(s.queued) / static_cast<double>(max_queue_)));
  }
  instances(MeshKind::Box).set(static_cast<std::uint32_t>(layout_.bays.size() + g), bar);
  Instance mk;
  if (s.held > 0) {
    mk.pos[0] = gl.wip[0] - 0.3f;
    mk.pos[1] = static_cast<float>(std::min<std::size_t>(held.size(), kFoupsPerGroup)) * kFoupHeight + 0.4f;
    mk.pos[2] = gl.wip[1];
    mk.scale[0] = mk.scale[1] = mk.scale[2] = 0.8f;
    mk.flags = 1;
    set_colour(mk, kHeldColour);
  }
  instances(MeshKind::Marker).set(static_cast<std::uint32_t>(fab_.tools.size() + g), mk);
}

void Scene::update_bay_transport(std::uint32_t area) {
  ++touched_;
  auto b = bay_of_area_[area];
  if (b < 0) return;
  const auto& bay = layout_.bays[static_cast<std::size_t>(b)];
  auto& foups = instances(MeshKind::Foup);
  std::uint32_t base = static_cast<std::uint32_t>(fab_.groups.size() * kFoupsPerGroup + b * kTransportPerBay);
  for (std::uint32_t k = 0; k < kTransportPerBay; ++k) {
    Instance in;
    if (k < transport_by_area_[area]) {
      in.pos[0] =
          bay.x + 0.6f + static_cast<float>(k) * std::max(0.45f, (bay.width - 1.2f) / kTransportPerBay);
      in.pos[2] = bay.z - 0.5f;
      in.scale[0] = in.scale[1] = in.scale[2] = 0.8f;
      set_colour(in, kTransportColour);
    }
    foups.set(base + k, in);
  }
}

void Scene::index_lots() {
  lot_index_.clear();
  lot_index_.reserve(state_.lots.size());
  for (std::size_t i = 0; i < state_.lots.size(); ++i) lot_index_.emplace(state_.lots[i].name, i);
}

namespace {
// Ids a frame may use must name things of the model (a frame from a server is checked before any
// of it is applied).
template <class Tools, class Queues, class Lots>
std::optional<std::string> bad_ids(const FabInfo& fab, const Tools& tools, const Queues& queues,
                                   const Lots& lots) {
  for (const auto& t : tools)
    if (t.tool.index() >= fab.tools.size()) return "a tool id outside the model";
  for (const auto& q : queues)
    if (q.group.index() >= fab.groups.size()) return "a tool group id outside the model";
  for (const auto& l : lots) {
    if (l.group.valid() && l.group.index() >= fab.groups.size())
      return "lot " + l.name + ": a tool group outside the model";
    if (l.tool.valid() && l.tool.index() >= fab.tools.size())
      return "lot " + l.name + ": a tool outside the model";
  }
  return std::nullopt;
}
}  // namespace

model::Result<bool> Scene::apply(const des::StateView& keyframe) {
  if (auto e = bad_ids(fab_, keyframe.tools, keyframe.queues, keyframe.lots))
    return model::Error{"", 0, "keyframe", *e};
  if (keyframe.tools.size() != fab_.tools.size() || keyframe.queues.size() != fab_.groups.size())
    return model::Error{"", 0, "keyframe",
                        "the state has " + std::to_string(keyframe.tools.size()) + " tools and " +
                            std::to_string(keyframe.queues.size()) + " tool groups; the model " +
                            std::to_string(fab_.tools.size()) + " and " + std::to_string(fab_.groups.size())};
  touched_ = 0;
  state_ = keyframe;
  have_state_ = true;
  index_lots();
  std::fill(transport_by_area_.begin(), transport_by_area_.end(), 0);
  for (const auto& l : state_.lots)
    if (l.place == des::LotPlace::InTransport && l.step.valid() && l.step.index() < fab_.step_group.size())
      ++transport_by_area_[fab_.groups[fab_.step_group[l.step.index()]].area];
  max_queue_ = 1;
  for (std::uint32_t g = 0; g < fab_.groups.size(); ++g) {
    recount_group(g);
    max_queue_ = std::max(max_queue_, stats_[g].queued);
  }
  for (std::uint32_t g = 0; g < fab_.groups.size(); ++g) update_group(g);
  for (std::uint32_t t = 0; t < fab_.tools.size(); ++t) update_tool(t);
  for (std::uint32_t a = 0; a < fab_.areas.size(); ++a) update_bay_transport(a);
  return true;
}

model::Result<bool> Scene::apply(const des::StateDelta& d) {
  if (!have_state_) return model::Error{"", 0, "delta", "a delta before the first keyframe"};
  if (auto e = bad_ids(fab_, d.tools, d.queues, d.lots)) return model::Error{"", 0, "delta", *e};
  if (d.from != state_.version)
    return model::Error{"", 0, "delta",
                        "the delta starts at version " + std::to_string(d.from) + ", the scene holds " +
                            std::to_string(state_.version)};
  touched_ = 0;
  std::vector<std::uint32_t> groups, tools, areas;
  auto lot_area = [&](const des::LotView& l) -> std::int64_t {
    if (l.place != des::LotPlace::InTransport || !l.step.valid() || l.step.index() >= fab_.step_group.size())
      return -1;
    return fab_.groups[fab_.step_group[l.step.index()]].area;
  };
  // What the changed lots were before (held state in a queue, transport).
  auto before = [&](const std::string& name) {
    auto it = lot_index_.find(name);
    if (it == lot_index_.end()) return;
    const auto& l = state_.lots[it->second];
    if (l.place == des::LotPlace::Queued && l.group.valid())
      groups.push_back(static_cast<std::uint32_t>(l.group.index()));
    if (auto a = lot_area(l); a >= 0) {
      --transport_by_area_[static_cast<std::size_t>(a)];
      areas.push_back(static_cast<std::uint32_t>(a));
    }
  };
  for (const auto& l : d.lots) before(l.name);
  for (const auto& n : d.lots_left) before(n);
  bool lot_set_changed = !d.lots_left.empty();
  for (const auto& l : d.lots) lot_set_changed = lot_set_changed || !lot_index_.count(l.name);
  try {
    des::apply_delta(state_, d);
  } catch (const std::exception& e) {
    return model::Error{"", 0, "delta", e.what()};
  }
  if (lot_set_changed) index_lots();
  for (const auto& l : d.lots) {
    if (l.place == des::LotPlace::Queued && l.group.valid())
      groups.push_back(static_cast<std::uint32_t>(l.group.index()));
    if (auto a = lot_area(l); a >= 0) {
      ++transport_by_area_[static_cast<std::size_t>(a)];
      areas.push_back(static_cast<std::uint32_t>(a));
    }
  }
  for (const auto& q : d.queues) groups.push_back(static_cast<std::uint32_t>(q.group.index()));
  for (const auto& t : d.tools) {
    tools.push_back(static_cast<std::uint32_t>(t.tool.index()));
    groups.push_back(fab_.tool_group[t.tool.index()]);
  }
  auto uniq = [](std::vector<std::uint32_t>& v) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  };
  uniq(groups);
  uniq(tools);
  uniq(areas);
  std::uint32_t old_max = max_queue_;
  for (auto g : groups) recount_group(g);
  max_queue_ = 1;
  for (const auto& s : stats_) max_queue_ = std::max(max_queue_, s.queued);
  if (max_queue_ != old_max) {
    // Every bar's colour is relative to the longest queue; heat-map tool colours too.
    for (std::uint32_t g = 0; g < fab_.groups.size(); ++g) update_group(g);
    if (mode_ == ColourMode::HeatQueue)
      for (std::uint32_t t = 0; t < fab_.tools.size(); ++t) update_tool(t);
  } else {
    for (auto g : groups) update_group(g);
  }
  if (mode_ != ColourMode::State)
    for (auto g : groups)
      for (std::uint32_t k = 0; k < fab_.groups[g].tool_count; ++k)
        tools.push_back(fab_.groups[g].first_tool + k);
  uniq(tools);
  for (auto t : tools) update_tool(t);
  for (auto a : areas) update_bay_transport(a);
  set_now(d.now);
  return true;
}

void Scene::set_now(model::SimTime now) {
  if (!have_state_) return;
  state_.now = now;
  for (std::uint32_t t = 0; t < state_.tools.size(); ++t) {
    bool od = false;
    for (const auto& l : state_.tools[t].lots) od = od || l.expected_end < now;
    if (od != static_cast<bool>(overdue_[t])) update_tool(t);
  }
}

void Scene::force(std::uint32_t tool, des::ToolState state) {
  forced_[tool] = static_cast<std::int16_t>(state);
  recount_group(fab_.tool_group[tool]);
  update_tool(tool);
}

void Scene::set_colour_mode(ColourMode m) {
  if (m == mode_) return;
  mode_ = m;
  for (std::uint32_t t = 0; t < fab_.tools.size(); ++t) update_tool(t);
}

Vec3 Scene::tool_top(std::uint32_t tool) const {
  const auto& mesh = meshes_[static_cast<int>(layout_.groups[fab_.tool_group[tool]].mesh)];
  return {layout_.tools[tool][0], mesh.top_at_centre, layout_.tools[tool][1]};
}

std::array<Vec3, 2> Scene::tool_bounds(std::uint32_t tool) const {
  const auto& mesh = meshes_[static_cast<int>(layout_.groups[fab_.tool_group[tool]].mesh)];
  float x = layout_.tools[tool][0], z = layout_.tools[tool][1];
  return {Vec3{x + mesh.min[0], mesh.min[1], z + mesh.min[2]},
          Vec3{x + mesh.max[0], mesh.max[1], z + mesh.max[2]}};
}

Vec3 Scene::group_centre(std::uint32_t g) const {
  const auto& gi = fab_.groups[g];
  float x0 = 1e30f, z0 = 1e30f, x1 = -1e30f, z1 = -1e30f;
  for (std::uint32_t k = 0; k < gi.tool_count; ++k) {
    const auto& t = layout_.tools[gi.first_tool + k];
    x0 = std::min(x0, t[0]);
    x1 = std::max(x1, t[0]);
    z0 = std::min(z0, t[1]);
    z1 = std::max(z1, t[1]);
  }
  if (gi.tool_count == 0) return {layout_.groups[g].x, 0, layout_.groups[g].z};
  return {(x0 + x1) / 2, 1.f, (z0 + z1) / 2};
}

std::array<Vec3, 2> Scene::bounds() const {
  return {Vec3{layout_.min[0], 0, layout_.min[1]}, Vec3{layout_.max[0], 2.5f, layout_.max[1]}};
}

std::vector<Vec3> Scene::floor_corners() const {
  std::vector<Vec3> out;
  for (const auto& b : layout_.bays)
    for (int c = 0; c < 8; ++c)
      out.push_back({b.x + ((c & 1) ? b.width : 0), (c & 2) ? 2.5f : 0, b.z + ((c & 4) ? b.depth : 0)});
  return out;
}

std::optional<std::uint32_t> Scene::pick(const std::array<Vec3, 2>& ray) const {
  const auto& o = ray[0];
  const auto& d = ray[1];
  std::optional<std::uint32_t> best;
  float best_t = 1e30f;
  for (std::uint32_t t = 0; t < fab_.tools.size(); ++t) {
    auto b = tool_bounds(t);
    float t0 = 0, t1 = 1e30f;
    bool hit = true;
    for (int k = 0; k < 3 && hit; ++k) {
      if (std::abs(d[k]) < 1e-12f) {
        hit = o[k] >= b[0][k] && o[k] <= b[1][k];
        continue;
      }
      float a = (b[0][k] - o[k]) / d[k], c = (b[1][k] - o[k]) / d[k];
      if (a > c) std::swap(a, c);
      t0 = std::max(t0, a);
      t1 = std::min(t1, c);
      hit = t0 <= t1;
    }
    if (hit && t0 < best_t) {
      best_t = t0;
      best = t;
    }
  }
  return best;
}

}  // namespace fabtwin::viewer
