#pragma once
// The orbit camera: a target point, yaw, pitch and distance; Vulkan clip space (y down, depth 0..1).
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::viewer {

using Vec3 = std::array<float, 3>;
using Mat4 = std::array<float, 16>;  // column-major

struct Camera {
  Vec3 target{0, 0, 0};
  float yaw_deg = 35;    // around +y, 0: looking along -z
  float pitch_deg = 50;  // above the horizon
  float distance = 50;
  float fov_y_deg = 45;
  int width = 1280, height = 720;

  Vec3 eye() const;
  Mat4 view() const;
  Mat4 projection() const;
  Mat4 view_projection() const;
  // Pixel (x right, y down; pixel centres at +0.5) of a world point; nullopt behind the camera.
  std::optional<std::array<float, 2>> project(const Vec3& p) const;
  // Ray from the eye through pixel (x, y): origin and unit direction.
  std::array<Vec3, 2> ray(float x, float y) const;

  void orbit(float dyaw_deg, float dpitch_deg);
  void pan(float dx_pixels, float dy_pixels);  // moves the target in the ground plane
  void zoom(float factor);                     // distance *= factor
  // Looks at a box (min, max) from the current angles, at a distance that fits it.
  void fit(const Vec3& min, const Vec3& max);
  // Looks at the centre of `points`' box from the current angles, as close as keeps them all in view.
  void fit_points(const std::vector<Vec3>& points);
};

}  // namespace fabtwin::viewer
