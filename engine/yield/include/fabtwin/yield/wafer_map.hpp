#pragma once
// Wafer-map pictures: one wafer with its dies coloured by bin, and a stacked map (per-die fail rate
// over many wafers, white -> yellow -> red -> dark red). The wafer fills a square of `size` pixels;
// the usable radius is drawn as a thin grey circle.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "fabtwin/yield/geometry.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/png.hpp"

namespace fabtwin::yield {

// Colour of a die bin: pass green, random red, centre orange, edge ring purple, scratch blue;
// other codes grey.
std::array<std::uint8_t, 3> bin_colour(std::uint8_t bin);
// Colour of a fail rate on the stacked map's scale [0, scale_max] (clamped).
std::array<std::uint8_t, 3> rate_colour(double rate, double scale_max);

// One wafer: `bins` has grid.size() entries (DieBin). size >= 64 pixels.
Image render_wafer_map(const DieGrid& grid, std::span<const std::uint8_t> bins, std::uint32_t size = 512);
// Stacked map: `fail_rate` per die (0..1); colours scaled to [0, scale_max] (scale_max <= 0: the
// largest rate). A colour bar runs along the bottom edge.
Image render_stacked_map(const DieGrid& grid, std::span<const double> fail_rate, double scale_max = 0.0,
                         std::uint32_t size = 512);
// Per-die fail rate over all wafers of a batch run with keep_maps.
std::vector<double> stacked_fail_rate(const BatchResult& batch);

}  // namespace fabtwin::yield
