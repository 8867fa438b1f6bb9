#include "fabtwin/viewer/layout.hpp"

#include <algorithm>
#include <cmath>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"

namespace fabtwin::viewer {

namespace {
constexpr float kWipSpace = 3.0f;  // before a group's first tool: its WIP stack and bar
constexpr float kMargin = 1.5f;
constexpr float kAisle = 5.0f;
constexpr std::uint32_t kAutoPerRow = 10;

std::uint32_t rows_of(const GroupInfo& g, std::uint32_t per_row) {
  return std::max<std::uint32_t>(1, (g.tool_count + per_row - 1) / std::max<std::uint32_t>(per_row, 1));
}
}  // namespace

void finish_layout(Layout& L, const FabInfo& fab) {
  L.tools.assign(fab.tools.size(), {0, 0});
  for (std::size_t g = 0; g < fab.groups.size(); ++g) {
    auto& gl = L.groups[g];
    const auto& gi = fab.groups[g];
    gl.wip = {gl.x - kWipSpace * 0.6f, gl.z};
    for (std::uint32_t k = 0; k < gi.tool_count; ++k) {
      std::uint32_t r = k / gl.per_row, c = k % gl.per_row;
      L.tools[gi.first_tool + k] = {gl.x + static_cast<float>(c) * L.tool_spacing,
                                    gl.z + static_cast<float>(r) * L.row_spacing};
    }
  }
  // Bays not given: the box around their groups' tools and WIP stacks.
  std::vector<bool> have(fab.areas.size(), false);
  for (const auto& b : L.bays) have[b.area] = true;
  for (std::uint32_t a = 0; a < fab.areas.size(); ++a) {
    if (have[a]) continue;
    float x0 = 1e30f, z0 = 1e30f, x1 = -1e30f, z1 = -1e30f;
    for (std::size_t g = 0; g < fab.groups.size(); ++g) {
      if (fab.groups[g].area != a) continue;
      const auto& gl = L.groups[g];
      x0 = std::min(x0, gl.wip[0]);
      z0 = std::min(z0, gl.wip[1]);
      x1 = std::max(x1, gl.wip[0]);
      z1 = std::max(z1, gl.wip[1]);
      for (std::uint32_t k = 0; k < fab.groups[g].tool_count; ++k) {
        const auto& t = L.tools[fab.groups[g].first_tool + k];
        x0 = std::min(x0, t[0]);
        z0 = std::min(z0, t[1]);
        x1 = std::max(x1, t[0]);
        z1 = std::max(z1, t[1]);
      }
    }
    if (x0 > x1) continue;  // an area without groups
    L.bays.push_back({a, x0 - kMargin, z0 - kMargin, x1 - x0 + 2 * kMargin, z1 - z0 + 2 * kMargin});
  }
  std::sort(L.bays.begin(), L.bays.end(),
            [](const BayLayout& a, const BayLayout& b) { return a.area < b.area; });
  L.min = {1e30f, 1e30f};
  L.max = {-1e30f, -1e30f};
  for (const auto& b : L.bays) {
    L.min = {std::min(L.min[0], b.x), std::min(L.min[1], b.z)};
    L.max = {std::max(L.max[0], b.x + b.width), std::max(L.max[1], b.z + b.depth)};
  }
  if (L.bays.empty()) L.min = L.max = {0, 0};
}

Layout auto_layout(const FabInfo& fab) {
  Layout L;
  L.groups.resize(fab.groups.size());
  for (std::size_t g = 0; g < fab.groups.size(); ++g) {
    const auto& gi = fab.groups[g];
    L.groups[g].per_row = std::max<std::uint32_t>(1, std::min(kAutoPerRow, gi.tool_count));
    L.groups[g].mesh = mesh_for_group(gi.name, gi.area < fab.areas.size() ? fab.areas[gi.area] : "");
  }
  // Per area: the widest row, then the groups split into columns so that a bay is about as deep
  // as it is wide (an area with many groups would otherwise be one long strip).
  constexpr float kColumnGap = 2.0f;
  std::size_t n_areas = fab.areas.size();
  std::vector<float> row_w(n_areas, 0), width(n_areas, 0), depth(n_areas, 0);
  std::vector<std::vector<std::uint32_t>> members(n_areas);
  auto group_depth = [&](std::size_t g) {
    return static_cast<float>(rows_of(fab.groups[g], L.groups[g].per_row)) * L.row_spacing;
  };
  for (std::size_t g = 0; g < fab.groups.size(); ++g) {
    auto a = fab.groups[g].area;
    members[a].push_back(static_cast<std::uint32_t>(g));
    row_w[a] = std::max(row_w[a], kWipSpace + static_cast<float>(L.groups[g].per_row - 1) * L.tool_spacing);
  }
  // Group positions relative to the bay's corner.
  std::vector<std::array<float, 2>> rel(fab.groups.size());
  for (std::size_t a = 0; a < n_areas; ++a) {
    if (members[a].empty()) continue;
    float total = 0;
    for (auto g : members[a]) total += group_depth(g);
    float cw = row_w[a] + kColumnGap;
    auto cols = static_cast<std::size_t>(std::max(1.0f, std::round(std::sqrt(total / cw))));
    float target = total / static_cast<float>(cols);
    std::size_t col = 0;
    float z = 0;
    for (auto g : members[a]) {
      float gd = group_depth(g);
      if (z > 0 && z + gd / 2 > target && col + 1 < cols) {
        ++col;
        z = 0;
      }
      rel[g] = {static_cast<float>(col) * cw + kWipSpace, z};
      z += gd;
      depth[a] = std::max(depth[a], z);
      width[a] = std::max(width[a], static_cast<float>(col) * cw + row_w[a]);
    }
  }
  std::vector<std::uint32_t> areas;
  for (std::uint32_t a = 0; a < n_areas; ++a)
    if (!members[a].empty()) areas.push_back(a);
  // Wider than deep (screens are): about sqrt(1.6 n) columns.
  auto cols = static_cast<std::size_t>(std::ceil(std::sqrt(1.6 * static_cast<double>(areas.size()))));
  cols = std::max<std::size_t>(cols, 1);
  // Column widths and row depths of the bay grid.
  std::vector<float> col_w(cols, 0);
  std::vector<float> row_d((areas.size() + cols - 1) / cols, 0);
  for (std::size_t i = 0; i < areas.size(); ++i) {
    col_w[i % cols] = std::max(col_w[i % cols], width[areas[i]]);
    row_d[i / cols] = std::max(row_d[i / cols], depth[areas[i]]);
  }
  for (std::size_t i = 0; i < areas.size(); ++i) {
    float x = 0, z = 0;
    for (std::size_t c = 0; c < i % cols; ++c) x += col_w[c] + 2 * kMargin + kAisle;
    for (std::size_t r = 0; r < i / cols; ++r) z += row_d[r] + 2 * kMargin + kAisle;
    for (auto g : members[areas[i]]) {
      L.groups[g].x = x + rel[g][0];
      L.groups[g].z = z + rel[g][1];
    }
  }
  finish_layout(L, fab);
  return L;
}

model::Result<Layout> load_layout(const std::string& path, const FabInfo& fab) {
  auto text = io::read_file(path);
  if (!text) return text.error();
  auto doc = io::json::parse(*text, path);
  if (!doc) return doc.error();
  auto err = [&](int line, std::string field, std::string msg) {
    return model::Error{path, line, std::move(field), std::move(msg)};
  };
  const auto& root = *doc;
  if (!root.is_object()) return err(root.line(), "", "a layout file is a JSON object");
  Layout L;
  L.groups.resize(fab.groups.size());
  std::vector<bool> placed(fab.groups.size(), false);
  auto number = [&](const io::json::Value& v, const std::string& field, float lo,
                    float hi) -> model::Result<float> {
    if (!v.is_number() || !std::isfinite(v.as_number()) || v.as_number() < lo || v.as_number() > hi)
      return err(
          v.line(), field,
          "must be a number in [" + io::json::format_number(lo) + ", " + io::json::format_number(hi) + "]");
    return static_cast<float>(v.as_number());
  };
  auto pair = [&](const io::json::Value& v, const std::string& field,
                  float lo) -> model::Result<std::array<float, 2>> {
    if (!v.is_array() || v.as_array().size() != 2) return err(v.line(), field, "must be an array [x, z]");
    std::array<float, 2> r{};
    for (int k = 0; k < 2; ++k) {
      auto n = number(v.as_array()[k], field, lo, 1e5f);
      if (!n) return n.error();
      r[k] = *n;
    }
    return r;
  };
  for (const auto& m : root.as_object()) {
    if (m.key == "format") {
      if (!m.value.is_string() || m.value.as_string() != "fabtwin-layout/1")
        return err(m.line, "format", "must be \"fabtwin-layout/1\"");
    } else if (m.key == "tool_spacing" || m.key == "row_spacing") {
      auto n = number(m.value, m.key, 0.5f, 100.f);
      if (!n) return n.error();
      (m.key == "tool_spacing" ? L.tool_spacing : L.row_spacing) = *n;
    } else if (m.key == "groups") {
      if (!m.value.is_object()) return err(m.line, "groups", "must be an object keyed by tool group");
      for (const auto& g : m.value.as_object()) {
        auto gi = fab.find_group(g.key);
        if (gi < 0) return err(g.line, "groups", "unknown tool group '" + g.key + "'");
        if (!g.value.is_object()) return err(g.line, g.key, "must be an object {\"at\": [x, z], ...}");
        auto& gl = L.groups[static_cast<std::size_t>(gi)];
        const auto& info = fab.groups[static_cast<std::size_t>(gi)];
        gl.mesh = mesh_for_group(info.name, info.area < fab.areas.size() ? fab.areas[info.area] : "");
        gl.per_row = std::max<std::uint32_t>(1, std::min<std::uint32_t>(10, info.tool_count));
        bool have_at = false;
        for (const auto& f : g.value.as_object()) {
          std::string field = g.key + "." + f.key;
          if (f.key == "at") {
            auto p = pair(f.value, field, -1e5f);
            if (!p) return p.error();
            gl.x = (*p)[0];
            gl.z = (*p)[1];
            have_at = true;
          } else if (f.key == "per_row") {
            auto n = number(f.value, field, 1, 1000);
            if (!n) return n.error();
            if (std::floor(*n) != *n) return err(f.line, field, "must be a whole number");
            gl.per_row = static_cast<std::uint32_t>(*n);
          } else if (f.key == "mesh") {
            auto k = f.value.is_string() ? parse_mesh_kind(f.value.as_string()) : std::nullopt;
            if (!k || *k == MeshKind::Foup || *k == MeshKind::Box || *k == MeshKind::Marker)
              return err(f.line, field,
                         "must be one of stepper, furnace, chamber, wetbench, implanter, metrology, stocker");
            gl.mesh = *k;
          } else {
            return err(f.line, field, "unknown field (at, per_row, mesh)");
          }
        }
        if (!have_at) return err(g.line, g.key + ".at", "missing");
        placed[static_cast<std::size_t>(gi)] = true;
      }
    } else if (m.key == "bays") {
      if (!m.value.is_object()) return err(m.line, "bays", "must be an object keyed by area");
      for (const auto& b : m.value.as_object()) {
        auto it = std::find(fab.areas.begin(), fab.areas.end(), b.key);
        if (it == fab.areas.end()) return err(b.line, "bays", "unknown area '" + b.key + "'");
        const auto* at = b.value.find("at");
        const auto* size = b.value.find("size");
        if (!b.value.is_object() || !at || !size || b.value.as_object().size() != 2)
          return err(b.line, b.key, "must be {\"at\": [x, z], \"size\": [width, depth]}");
        auto p = pair(*at, b.key + ".at", -1e5f);
        if (!p) return p.error();
        auto s = pair(*size, b.key + ".size", 0.1f);
        if (!s) return s.error();
        L.bays.push_back(
            {static_cast<std::uint32_t>(it - fab.areas.begin()), (*p)[0], (*p)[1], (*s)[0], (*s)[1]});
      }
    } else {
      return err(m.line, m.key, "unknown field (format, tool_spacing, row_spacing, groups, bays)");
    }
  }
  for (std::size_t g = 0; g < placed.size(); ++g)
    if (!placed[g]) return err(0, "groups", "tool group '" + fab.groups[g].name + "' has no position");
  finish_layout(L, fab);
  return L;
}

}  // namespace fabtwin::viewer
