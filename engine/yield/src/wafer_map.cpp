#include "fabtwin/yield/wafer_map.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace fabtwin::yield {

std::array<std::uint8_t, 3> bin_colour(std::uint8_t bin) {
  switch (bin) {
    case kBinPass:
      return {60, 170, 75};
    case kBinRandom:
      return {215, 40, 40};
    case kBinCentre:
      return {255, 140, 20};
    case kBinEdgeRing:
      return {150, 90, 190};
    case kBinScratch:
      return {30, 110, 200};
    default:
      return {128, 128, 128};
  }
}

std::array<std::uint8_t, 3> rate_colour(double rate, double scale_max) {
  // white -> yellow -> red -> dark red
  static constexpr double stops[4][3] = {{255, 255, 255}, {255, 220, 60}, {220, 40, 30}, {90, 0, 10}};
  double t = scale_max > 0 ? rate / scale_max : 0.0;
  t = std::clamp(t, 0.0, 1.0) * 3.0;
  const int i = std::min(2, static_cast<int>(t));
  const double f = t - i;
  std::array<std::uint8_t, 3> c{};
  for (int k = 0; k < 3; ++k)
    c[k] = static_cast<std::uint8_t>(std::lround(stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f));
  return c;
}

namespace {

struct Frame {
  double scale;   // pixels per mm
  double cx, cy;  // pixel position of the wafer centre
  std::uint32_t size;
};

Frame frame(const DieGrid& grid, std::uint32_t size) {
  const double d = grid.geometry().diameter_mm;
  return Frame{(size - 4) / d, size / 2.0, size / 2.0, size};
}

// Wafer disc (light grey), usable-radius circle.
void draw_wafer(Image& img, const DieGrid& grid, const Frame& f) {
  const double R = grid.geometry().diameter_mm / 2 * f.scale;
  const double r = grid.usable_radius_mm() * f.scale;
  for (std::uint32_t y = 0; y < f.size; ++y)
    for (std::uint32_t x = 0; x < f.size; ++x) {
      const double dx = x + 0.5 - f.cx, dy = y + 0.5 - f.cy;
      const double d = std::sqrt(dx * dx + dy * dy);
      if (d <= R) img.set(x, y, 225, 225, 228);
      if (std::fabs(d - r) < 0.6) img.set(x, y, 150, 150, 155);
    }
}

template <class ColourOf>
void draw_dies(Image& img, const DieGrid& grid, const Frame& f, ColourOf colour_of) {
  const double hw = grid.geometry().die_width_mm / 2, hh = grid.geometry().die_height_mm / 2;
  // A 1 px street between dies when dies are at least 6 px wide and high.
  const long gap = (2 * hw * f.scale >= 6 && 2 * hh * f.scale >= 6) ? 1 : 0;
  for (std::uint32_t i = 0; i < grid.size(); ++i) {
    const auto c = colour_of(i);
    // Die rectangle in pixels (y up in wafer coordinates -> down in the image).
    const long x0 = std::lround(f.cx + (grid.x_mm()[i] - hw) * f.scale);
    const long x1 = std::lround(f.cx + (grid.x_mm()[i] + hw) * f.scale) - 1 - gap;
    const long y0 = std::lround(f.cy - (grid.y_mm()[i] + hh) * f.scale);
    const long y1 = std::lround(f.cy - (grid.y_mm()[i] - hh) * f.scale) - 1 - gap;
    for (long y = std::max(0L, y0); y <= std::min<long>(f.size - 1, y1); ++y)
      for (long x = std::max(0L, x0); x <= std::min<long>(f.size - 1, x1); ++x)
        img.set(static_cast<std::uint32_t>(x), static_cast<std::uint32_t>(y), c[0], c[1], c[2]);
  }
}

}  // namespace

Image render_wafer_map(const DieGrid& grid, std::span<const std::uint8_t> bins, std::uint32_t size) {
  assert(bins.size() == grid.size() && size >= 64);
  Image img(size, size);
  const Frame f = frame(grid, size);
  draw_wafer(img, grid, f);
  draw_dies(img, grid, f, [&](std::uint32_t i) { return bin_colour(bins[i]); });
  return img;
}

Image render_stacked_map(const DieGrid& grid, std::span<const double> fail_rate, double scale_max,
                         std::uint32_t size) {
  assert(fail_rate.size() == grid.size() && size >= 64);
  if (!(scale_max > 0)) {
    scale_max = 0;
    for (double r : fail_rate) scale_max = std::max(scale_max, r);
    if (!(scale_max > 0)) scale_max = 1;
  }
  Image img(size, size);
  const Frame f = frame(grid, size);
  draw_wafer(img, grid, f);
  draw_dies(img, grid, f, [&](std::uint32_t i) { return rate_colour(fail_rate[i], scale_max); });
  // Colour bar: bottom-left, 0 .. scale_max from left to right.
  const std::uint32_t bw = size / 3, bh = std::max(4u, size / 64), y0 = size - bh - 2;
  for (std::uint32_t x = 0; x < bw; ++x) {
    const auto c = rate_colour(scale_max * x / (bw - 1), scale_max);
    for (std::uint32_t y = y0; y < y0 + bh; ++y) img.set(2 + x, y, c[0], c[1], c[2]);
  }
  return img;
}

std::vector<double> stacked_fail_rate(const BatchResult& batch) {
  std::vector<double> rate(batch.dies_per_wafer, 0.0);
  if (batch.maps.empty() || batch.wafers.empty()) return rate;
  std::vector<std::uint64_t> fails(batch.dies_per_wafer, 0);
  for (std::size_t w = 0; w < batch.wafers.size(); ++w) {
    const auto m = batch.map(w);
    for (std::uint32_t i = 0; i < batch.dies_per_wafer; ++i) fails[i] += m[i] != kBinPass;
  }
  for (std::uint32_t i = 0; i < batch.dies_per_wafer; ++i)
    rate[i] = static_cast<double>(fails[i]) / static_cast<double>(batch.wafers.size());
  return rate;
}

}  // namespace fabtwin::yield
