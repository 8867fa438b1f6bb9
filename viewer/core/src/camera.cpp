#include "fabtwin/viewer/camera.hpp"

#include <algorithm>
#include <cmath>
#define GLM_FORCE_DEPTH_ZERO_TO_ONE
#define GLM_FORCE_RADIANS
#include <glm/glm.hpp>
#include <glm/gtc/matrix_transform.hpp>
#include <glm/gtc/type_ptr.hpp>

namespace fabtwin::viewer {

namespace {
glm::vec3 g(const Vec3& v) { return {v[0], v[1], v[2]}; }
Mat4 m(const glm::mat4& x) {
  Mat4 r;
  std::copy(glm::value_ptr(x), glm::value_ptr(x) + 16, r.begin());
  return r;
}
glm::mat4 gm(const Mat4& x) { return glm::make_mat4(x.data()); }
}  // namespace

Vec3 Camera::eye() const {
  float yaw = glm::radians(yaw_deg), pitch = glm::radians(pitch_deg);
  glm::vec3 dir{std::sin(yaw) * std::cos(pitch), std::sin(pitch), std::cos(yaw) * std::cos(pitch)};
  glm::vec3 e = g(target) + dir * distance;
  return {e.x, e.y, e.z};
}

Mat4 Camera::view() const { return m(glm::lookAt(g(eye()), g(target), glm::vec3(0, 1, 0))); }

Mat4 Camera::projection() const {
  float aspect = static_cast<float>(std::max(width, 1)) / static_cast<float>(std::max(height, 1));
  float near_plane = std::max(0.05f, distance * 0.01f);
  glm::mat4 p = glm::perspective(glm::radians(fov_y_deg), aspect, near_plane, distance * 10.f + 100.f);
  p[1][1] *= -1;  // Vulkan: y down
  return m(p);
}

Mat4 Camera::view_projection() const { return m(gm(projection()) * gm(view())); }

std::optional<std::array<float, 2>> Camera::project(const Vec3& p) const {
  glm::vec4 c = gm(view_projection()) * glm::vec4(g(p), 1.f);
  if (c.w <= 1e-6f) return std::nullopt;
  float x = c.x / c.w, y = c.y / c.w;
  return std::array<float, 2>{(x * 0.5f + 0.5f) * static_cast<float>(width),
                              (y * 0.5f + 0.5f) * static_cast<float>(height)};
}

std::array<Vec3, 2> Camera::ray(float x, float y) const {
  glm::mat4 inv = glm::inverse(gm(view_projection()));
  float nx = x / static_cast<float>(width) * 2.f - 1.f, ny = y / static_cast<float>(height) * 2.f - 1.f;
  glm::vec4 a = inv * glm::vec4(nx, ny, 0.f, 1.f), b = inv * glm::vec4(nx, ny, 1.f, 1.f);
  glm::vec3 p0 = glm::vec3(a) / a.w, p1 = glm::vec3(b) / b.w;
  glm::vec3 d = glm::normalize(p1 - p0);
  return {Vec3{p0.x, p0.y, p0.z}, Vec3{d.x, d.y, d.z}};
}

void Camera::orbit(float dyaw, float dpitch) {
  yaw_deg = std::fmod(yaw_deg + dyaw, 360.f);
  pitch_deg = std::clamp(pitch_deg + dpitch, 5.f, 89.9f);
}

void Camera::pan(float dx, float dy) {
  float yaw = glm::radians(yaw_deg);
  float scale =
      distance * 2.f * std::tan(glm::radians(fov_y_deg) / 2) / static_cast<float>(std::max(height, 1));
  glm::vec3 right{std::cos(yaw), 0, -std::sin(yaw)}, fwd{-std::sin(yaw), 0, -std::cos(yaw)};
  glm::vec3 t = g(target) - right * dx * scale + fwd * dy * scale;
  target = {t.x, t.y, t.z};
}

void Camera::zoom(float factor) { distance = std::clamp(distance * factor, 1.f, 1e5f); }

void Camera::fit(const Vec3& mn, const Vec3& mx) {
  std::vector<Vec3> corners;
  for (int c = 0; c < 8; ++c)
    corners.push_back({(c & 1) ? mx[0] : mn[0], (c & 2) ? mx[1] : mn[1], (c & 4) ? mx[2] : mn[2]});
  fit_points(corners);
}

void Camera::fit_points(const std::vector<Vec3>& pts) {
  if (pts.empty()) return;
  Vec3 mn = pts[0], mx = pts[0];
  for (const auto& p : pts)
    for (int k = 0; k < 3; ++k) {
      mn[k] = std::min(mn[k], p[k]);
      mx[k] = std::max(mx[k], p[k]);
    }
  target = {(mn[0] + mx[0]) / 2, (mn[1] + mx[1]) / 2, (mn[2] + mx[2]) / 2};
  float r = 0.5f * glm::length(g(mx) - g(mn));
  float aspect = static_cast<float>(std::max(width, 1)) / static_cast<float>(std::max(height, 1));
  float half = glm::radians(fov_y_deg) / 2;
  float half_x = std::atan(std::tan(half) * aspect);
  distance = std::max(1.f, r / std::sin(std::min(half, half_x)));
  // The sphere is loose: bring the camera in while the box's corners stay inside 95 % of the view.
  auto inside = [&](float d) {
    distance = d;
    for (const auto& p : pts) {
      auto q = project(p);
      if (!q) return false;
      float fx = (*q)[0] / static_cast<float>(std::max(width, 1)),
            fy = (*q)[1] / static_cast<float>(std::max(height, 1));
      if (fx < 0.025f || fx > 0.975f || fy < 0.025f || fy > 0.975f) return false;
    }
    return true;
  };
  float lo = distance * 0.1f, hi = distance;
  for (int i = 0; i < 30; ++i) {
    float mid = (lo + hi) / 2;
    (inside(mid) ? hi : lo) = mid;
  }
  distance = std::max(1.f, hi);
}

}  // namespace fabtwin::viewer
