#include "fabtwin/yield/geometry.hpp"

#include <cmath>
#include <numbers>

namespace fabtwin::yield {

double gross_dies_formula(double d, double s) {
  return std::numbers::pi * d * d / (4.0 * s) - std::numbers::pi * d / std::sqrt(2.0 * s);
}

double DieGrid::usable_area_cm2() const {
  const double r = usable_radius_mm();
  return std::numbers::pi * r * r / 100.0;
}

double DieGrid::far_corner_mm(std::uint32_t i) const {
  const double fx = std::fabs(x_[i]) + g_.die_width_mm / 2, fy = std::fabs(y_[i]) + g_.die_height_mm / 2;
  return std::sqrt(fx * fx + fy * fy);
}

std::int32_t DieGrid::die_at(int c, int r) const {
  if (c < 0 || r < 0 || c >= cols_ || r >= rows_) return -1;
  return cell_[static_cast<std::size_t>(r) * cols_ + c];
}

model::Result<DieGrid> DieGrid::make(const WaferGeometry& g) {
  auto bad = [](const char* field, const char* msg) { return model::Error{"", 0, field, msg}; };
  auto pos = [](double v) { return std::isfinite(v) && v > 0; };
  if (!pos(g.diameter_mm)) return bad("diameter_mm", "must be a positive number of mm");
  if (!std::isfinite(g.edge_exclusion_mm) || g.edge_exclusion_mm < 0 ||
      2 * g.edge_exclusion_mm >= g.diameter_mm)
    return bad("edge_exclusion_mm", "must be >= 0 and less than the radius");
  if (!pos(g.die_width_mm)) return bad("die_width_mm", "must be a positive number of mm");
  if (!pos(g.die_height_mm)) return bad("die_height_mm", "must be a positive number of mm");
  if (!std::isfinite(g.scribe_mm) || g.scribe_mm < 0) return bad("scribe_mm", "must be >= 0 mm");

  DieGrid best;
  best.g_ = g;
  const double R = g.diameter_mm / 2 - g.edge_exclusion_mm;
  const double px = g.die_width_mm + g.scribe_mm, py = g.die_height_mm + g.scribe_mm;
  const double hw = g.die_width_mm / 2, hh = g.die_height_mm / 2;
  const int nx = static_cast<int>(std::ceil(R / px)) + 1, ny = static_cast<int>(std::ceil(R / py)) + 1;
  std::size_t best_count = 0;
  bool have = false;
  for (int variant = 0; variant < 4; ++variant) {
    // Offset of die centres: a centre on the axis (0) or a street/corner on it (half a pitch).
    const double ox = (variant & 1) ? px / 2 : 0.0, oy = (variant & 2) ? py / 2 : 0.0;
    DieGrid cand;
    cand.g_ = g;
    cand.pitch_x_ = px;
    cand.pitch_y_ = py;
    cand.cols_ = 2 * nx + 1;
    cand.rows_ = 2 * ny + 1;
    cand.origin_x_ = ox - nx * px - px / 2;
    cand.origin_y_ = oy - ny * py - py / 2;
    cand.cell_.assign(static_cast<std::size_t>(cand.cols_) * cand.rows_, -1);
    for (int r = 0; r < cand.rows_; ++r) {
      const double cy = oy + (r - ny) * py;
      for (int c = 0; c < cand.cols_; ++c) {
        const double cx = ox + (c - nx) * px;
        const double fx = std::fabs(cx) + hw, fy = std::fabs(cy) + hh;
        if (fx * fx + fy * fy > R * R) continue;
        cand.cell_[static_cast<std::size_t>(r) * cand.cols_ + c] = static_cast<std::int32_t>(cand.x_.size());
        cand.x_.push_back(cx);
        cand.y_.push_back(cy);
        cand.col_.push_back(c);
        cand.row_.push_back(r);
      }
    }
    if (!have || cand.x_.size() > best_count) {
      best_count = cand.x_.size();
      best = std::move(cand);
      have = true;
    }
  }
  if (best_count == 0) return bad("die_width_mm", "no die fits inside the usable radius");
  return best;
}

}  // namespace fabtwin::yield
