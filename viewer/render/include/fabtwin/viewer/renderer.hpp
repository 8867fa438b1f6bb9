#pragma once
// The Vulkan renderer: instanced meshes of a Scene from a Camera, into an offscreen image (read
// back as RGBA pixels, written as PNG) or a GLFW window's swapchain. Errors at the device edge are
// values: no Vulkan loader or device, a missing layer, extension or format gives an Error with one
// clear line, never an abort.
#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/viewer/camera.hpp"
#include "fabtwin/viewer/scene.hpp"

struct GLFWwindow;

namespace fabtwin::viewer {

struct RenderOptions {
  int width = 1280, height = 720;  // headless target size (windowed: the framebuffer's)
  bool validation = false;         // VK_LAYER_KHRONOS_validation + a messenger counting messages
  std::string device;              // a substring of the device name to prefer ("" = the best)
  GLFWwindow* window = nullptr;    // windowed: present to this window
  bool vsync = true;
  // Level of detail: equipment is drawn as bounding boxes where a 2 m tool at the camera target's
  // distance is under this many pixels tall (0: always the full meshes).
  float lod_pixels = 12;
};

struct FrameStats {
  std::size_t bytes_uploaded = 0;  // instance bytes copied this frame
  std::size_t ranges_uploaded = 0;
  std::size_t instances_drawn = 0;
  std::size_t draws = 0;
  bool far = false;  // equipment drawn as bounding boxes (RenderOptions::lod_pixels)
};

class Renderer {
 public:
  // Creates instance, device, target and pipeline and uploads the scene's meshes.
  static model::Result<std::unique_ptr<Renderer>> create(const RenderOptions& options, Scene& scene);
  ~Renderer();
  Renderer(const Renderer&) = delete;
  Renderer& operator=(const Renderer&) = delete;

  // Copies the dirty instance ranges of every mesh into the instance buffers; clears the marks.
  FrameStats upload(Scene& scene);
  // Headless: one frame into the offscreen image (waits for it); with `capture` also copied to
  // the readback buffer for read_pixels().
  model::Result<FrameStats> render(Scene& scene, const Camera& camera, bool capture = true);
  // The offscreen image (headless) or the last presented image when captured (windowed): RGBA rows.
  model::Result<std::vector<std::uint8_t>> read_pixels();

  // Windowed: acquire, draw the scene and `overlay` (in the same render pass), present. With
  // `capture` the frame is also copied for read_pixels(). Recreates the swapchain when the window
  // size changed; false (no frame) while the window is minimised.
  using Overlay = std::function<void(VkCommandBuffer)>;
  model::Result<bool> present(Scene& scene, const Camera& camera, const Overlay& overlay, bool capture,
                              FrameStats* stats = nullptr);
  // Runs `record` in a one-time command buffer and waits (e.g. ImGui's font upload).
  model::Result<bool> submit_now(const std::function<void(VkCommandBuffer)>& record);

  int width() const;
  int height() const;
  std::uint32_t validation_messages() const;  // warnings and errors reported by the layers
  const std::string& device_name() const;
  bool validation_enabled() const;

  // For Dear ImGui's Vulkan backend.
  VkInstance instance() const;
  VkPhysicalDevice physical_device() const;
  VkDevice device() const;
  std::uint32_t queue_family() const;
  VkQueue queue() const;
  VkRenderPass render_pass() const;
  std::uint32_t image_count() const;

  struct Impl;

 private:
  explicit Renderer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RGBA rows to a PNG file. Error: the file cannot be written.
model::Result<bool> write_png(const std::string& path, int width, int height,
                              const std::vector<std::uint8_t>& rgba);

}  // namespace fabtwin::viewer
