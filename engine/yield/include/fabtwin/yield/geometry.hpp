#pragma once
// Wafer geometry: the die grid of one product on a wafer (dies fully inside the usable radius).
// Coordinates in mm with the wafer centre at (0, 0), x to the right, y up.
#include <cstdint>
#include <span>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::yield {

struct WaferGeometry {
  double diameter_mm = 300.0;      // wafer diameter
  double edge_exclusion_mm = 3.0;  // ring at the edge where no die may lie
  double die_width_mm = 10.0;      // die size in x (without scribe)
  double die_height_mm = 10.0;     // die size in y (without scribe)
  double scribe_mm = 0.0;          // street between dies; pitch = die size + scribe
};

// The standard gross-die estimate GDW = pi d^2 / (4 S) - pi d / sqrt(2 S), d: usable diameter (mm),
// S: die area including scribe (mm^2). An estimate, not an exact count.
double gross_dies_formula(double usable_diameter_mm, double die_area_mm2);

// Die grid of one geometry. Dies are numbered row by row from the bottom-left; a die is on the grid
// when its whole rectangle lies inside the usable radius (diameter/2 - edge exclusion). Of the four
// grid placements (a die centre or a die corner on the wafer centre, in x and in y) the one with the
// most dies is taken (ties: the first of centre/centre, corner/centre, centre/corner, corner/corner).
class DieGrid {
 public:
  // Fails (model::Error, field named) when a size is not positive / finite or no die fits.
  static model::Result<DieGrid> make(const WaferGeometry& g);

  const WaferGeometry& geometry() const { return g_; }
  std::uint32_t size() const { return static_cast<std::uint32_t>(x_.size()); }  // gross dies per wafer
  int columns() const { return cols_; }
  int rows() const { return rows_; }
  double pitch_x_mm() const { return pitch_x_; }
  double pitch_y_mm() const { return pitch_y_; }
  double origin_x_mm() const { return origin_x_; }  // left edge of grid column 0 (mm)
  double origin_y_mm() const { return origin_y_; }  // bottom edge of grid row 0 (mm)
  double usable_radius_mm() const { return g_.diameter_mm / 2 - g_.edge_exclusion_mm; }
  double die_area_cm2() const { return g_.die_width_mm * g_.die_height_mm / 100.0; }
  double usable_area_cm2() const;  // pi r^2 of the usable disc, cm^2

  std::span<const double> x_mm() const { return x_; }  // die centres
  std::span<const double> y_mm() const { return y_; }
  std::span<const std::int32_t> column() const { return col_; }
  std::span<const std::int32_t> row() const { return row_; }
  // Distance (mm) from the wafer centre to the farthest corner of die i.
  double far_corner_mm(std::uint32_t i) const;
  // The die at grid cell (c, r), or -1 (off the grid or not a full die).
  std::int32_t die_at(int c, int r) const;

 private:
  WaferGeometry g_;
  int cols_ = 0, rows_ = 0;
  double pitch_x_ = 0, pitch_y_ = 0, origin_x_ = 0, origin_y_ = 0;
  std::vector<double> x_, y_;
  std::vector<std::int32_t> col_, row_;
  std::vector<std::int32_t> cell_;  // cols_ * rows_, die index or -1
};

}  // namespace fabtwin::yield
