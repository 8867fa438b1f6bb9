#pragma once
// The Yield panel's pictures as data (docs/viewer.md "Yield panel"): a wafer's die map (a colour
// per bin) and a stacked map (a heat colour per die fail rate), both as rectangles in a square
// (Dear ImGui draws them with its draw list; the headless --wafer-map mode rasterises the same
// rectangles into a PNG). No gRPC here: viewer_source's YieldClient fills these from YieldService.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/viewer/scene.hpp"

namespace fabtwin::viewer {

// A product's die grid (yield.proto DieGrid): die i at (die_column[i], die_row[i]), row 0 at the bottom.
struct DieGridData {
  int rows = 0, columns = 0;
  std::vector<int> die_column, die_row;
};

// One wafer (WaferMapReply).
struct WaferMapData {
  std::string lot, product;
  std::uint32_t wafer = 0;
  std::int64_t completed_ms = 0;
  std::uint32_t dies = 0, pass = 0;
  double die_yield = 0;
  std::vector<std::uint32_t> bins;  // dies per bin
  DieGridData grid;
  std::vector<std::uint32_t> die_bins;  // bin of die i
};

// The fail rate per die over a set of wafers of one product (StackedMapReply).
struct StackedMapData {
  std::string product;
  std::uint64_t wafers = 0;
  DieGridData grid;
  std::vector<double> fail_rate;
};

// Bins of yield.proto WaferRecord.bins: 0 pass, 1 random defects, 2 centre, 3 edge ring, 4 scratch.
inline constexpr std::uint32_t kBinCount = 5;
std::string_view bin_name(std::uint32_t bin);  // "pass", "random", "centre", "edge", "scratch", "bin N"
Rgba bin_colour(std::uint32_t bin);            // bins beyond 4: grey
// Fail-rate scale: 0 dark blue .. 1 (or more) red, through yellow.
Rgba fail_rate_colour(double rate, double scale_max);

struct DieRect {
  float x0, y0, x1, y1;  // screen pixels, y down
  Rgba colour;
  std::uint32_t die;  // index in grid order
};

// The layout of a grid in the square (x, y, size): square cells of size / max(rows, columns)
// (less a gap of 1 pixel where a cell is 4 pixels or more), the grid centred, row 0 at the bottom.
struct GridPlacement {
  float x = 0, y = 0, cell = 0, gap = 0;
  int rows = 0, columns = 0;
  // Die (column, row)'s rectangle.
  std::array<float, 4> rect(int column, int row) const;
};
GridPlacement place_grid(const DieGridData& g, float x, float y, float size);

// Checks the grid (rows, columns > 0; every die inside; as many dies as values) and returns a
// rectangle per die. Error: the field that does not fit (a server must not crash the viewer).
model::Result<std::vector<DieRect>> wafer_rects(const WaferMapData& m, float x, float y, float size);
// scale_max <= 0: the largest rate (or 1 when every rate is 0).
model::Result<std::vector<DieRect>> stacked_rects(const StackedMapData& m, float x, float y, float size,
                                                  double scale_max = 0);

// Fills the rectangles into an RGBA image of width x height (the headless --wafer-map PNG).
void rasterise(const std::vector<DieRect>& rects, int width, int height, std::vector<std::uint8_t>& rgba);

}  // namespace fabtwin::viewer
