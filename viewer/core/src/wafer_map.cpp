// The Yield panel's die maps as rectangles (wafer_map.hpp).
#include "fabtwin/viewer/wafer_map.hpp"

#include <algorithm>
#include <cmath>

namespace fabtwin::viewer {

namespace {
constexpr std::array<Rgba, kBinCount> kBinColours{{
    {60, 180, 75, 255},   // pass
    {230, 60, 50, 255},   // random defects
    {245, 150, 30, 255},  // centre
    {150, 80, 210, 255},  // edge ring
    {60, 160, 230, 255},  // scratch
}};
constexpr Rgba kOtherBin{128, 128, 128, 255};

model::Error bad(const std::string& field, const std::string& what) {
  return model::Error{"YieldService", 0, field, what};
}

model::Result<bool> check_grid(const DieGridData& g, std::size_t values, const char* values_field) {
  if (g.rows <= 0 || g.columns <= 0 || g.rows > 4096 || g.columns > 4096)
    return bad("grid", "die grid of " + std::to_string(g.rows) + " x " + std::to_string(g.columns));
  if (g.die_column.size() != g.die_row.size())
    return bad("grid.die_row", "die_column and die_row differ in length");
  if (g.die_column.size() != values)
    return bad(values_field,
               std::to_string(values) + " values for " + std::to_string(g.die_column.size()) + " dies");
  for (std::size_t i = 0; i < g.die_column.size(); ++i)
    if (g.die_column[i] < 0 || g.die_column[i] >= g.columns || g.die_row[i] < 0 || g.die_row[i] >= g.rows)
      return bad("grid", "die " + std::to_string(i) + " lies outside the grid");
  return true;
}
}  // namespace

std::string_view bin_name(std::uint32_t bin) {
  static constexpr std::array<std::string_view, kBinCount> names{"pass", "random", "centre", "edge",
                                                                 "scratch"};
  return bin < kBinCount ? names[bin] : std::string_view("other");
}

Rgba bin_colour(std::uint32_t bin) { return bin < kBinCount ? kBinColours[bin] : kOtherBin; }

Rgba fail_rate_colour(double rate, double scale_max) {
  double v = scale_max > 0 ? rate / scale_max : 0;
  v = std::clamp(std::isfinite(v) ? v : 0.0, 0.0, 1.0);
  auto mix = [](Rgba a, Rgba b, double t) {
    Rgba r{};
    for (int k = 0; k < 4; ++k) r[k] = static_cast<std::uint8_t>(std::lround(a[k] + (b[k] - a[k]) * t));
    return r;
  };
  if (v < 0.5) return mix({30, 40, 120, 255}, {240, 220, 40, 255}, v * 2);
  return mix({240, 220, 40, 255}, {220, 30, 30, 255}, (v - 0.5) * 2);
}

std::array<float, 4> GridPlacement::rect(int column, int row) const {
  float x0 = x + static_cast<float>(column) * cell;
  float y0 = y + static_cast<float>(rows - 1 - row) * cell;
  return {x0, y0, x0 + cell - gap, y0 + cell - gap};
}

GridPlacement place_grid(const DieGridData& g, float x, float y, float size) {
  GridPlacement p;
  p.rows = std::max(g.rows, 1);
  p.columns = std::max(g.columns, 1);
  p.cell = size / static_cast<float>(std::max(p.rows, p.columns));
  p.gap = p.cell >= 4 ? 1.f : 0.f;
  p.x = x + (size - p.cell * static_cast<float>(p.columns)) / 2;
  p.y = y + (size - p.cell * static_cast<float>(p.rows)) / 2;
  return p;
}

model::Result<std::vector<DieRect>> wafer_rects(const WaferMapData& m, float x, float y, float size) {
  if (auto r = check_grid(m.grid, m.die_bins.size(), "die_bins"); !r) return r.error();
  auto p = place_grid(m.grid, x, y, size);
  std::vector<DieRect> out;
  out.reserve(m.die_bins.size());
  for (std::uint32_t i = 0; i < m.die_bins.size(); ++i) {
    auto r = p.rect(m.grid.die_column[i], m.grid.die_row[i]);
    out.push_back({r[0], r[1], r[2], r[3], bin_colour(m.die_bins[i]), i});
  }
  return out;
}

model::Result<std::vector<DieRect>> stacked_rects(const StackedMapData& m, float x, float y, float size,
                                                  double scale_max) {
  if (auto r = check_grid(m.grid, m.fail_rate.size(), "fail_rate"); !r) return r.error();
  if (scale_max <= 0) {
    scale_max = 0;
    for (double v : m.fail_rate)
      if (std::isfinite(v)) scale_max = std::max(scale_max, v);
    if (scale_max <= 0) scale_max = 1;
  }
  auto p = place_grid(m.grid, x, y, size);
  std::vector<DieRect> out;
  out.reserve(m.fail_rate.size());
  for (std::uint32_t i = 0; i < m.fail_rate.size(); ++i) {
    auto r = p.rect(m.grid.die_column[i], m.grid.die_row[i]);
    out.push_back({r[0], r[1], r[2], r[3], fail_rate_colour(m.fail_rate[i], scale_max), i});
  }
  return out;
}

void rasterise(const std::vector<DieRect>& rects, int width, int height, std::vector<std::uint8_t>& rgba) {
  rgba.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 4);
  for (const auto& r : rects) {
    // Pixel (px, py) is filled when its centre lies inside the rectangle.
    int x0 = std::max(0, static_cast<int>(std::ceil(r.x0 - 0.5f)));
    int x1 = std::min(width, static_cast<int>(std::ceil(r.x1 - 0.5f)));
    int y0 = std::max(0, static_cast<int>(std::ceil(r.y0 - 0.5f)));
    int y1 = std::min(height, static_cast<int>(std::ceil(r.y1 - 0.5f)));
    for (int py = y0; py < y1; ++py)
      for (int px = x0; px < x1; ++px) {
        auto* q = &rgba[(static_cast<std::size_t>(py) * static_cast<std::size_t>(width) +
                         static_cast<std::size_t>(px)) *
                        4];
        std::copy(r.colour.begin(), r.colour.end(), q);
      }
  }
}

}  // namespace fabtwin::viewer
