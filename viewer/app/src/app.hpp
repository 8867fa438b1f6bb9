#pragma once
// fabtwin-viewer's parts shared by main.cpp (options, loops) and ui.cpp (Dear ImGui panels).
#include <cstdint>
#include <string>

#include "fabtwin/viewer/camera.hpp"
#include "fabtwin/viewer/renderer.hpp"
#include "fabtwin/viewer/scene.hpp"
#include "fabtwin/viewer/source.hpp"
#include "fabtwin/viewer/yield_client.hpp"

struct GLFWwindow;

namespace fabtwin::viewer {

struct UiState {
  double speed = 60;  // model seconds per wall second (standalone)
  bool paused = false;
  std::optional<std::uint32_t> hovered, picked;  // tools
  bool focus_request = false;
  double frame_ms = 0, update_ms = 0;
  std::size_t bytes_uploaded = 0;
#ifdef FABTWIN_VIEWER_HAVE_LIVE
  YieldClient* yield = nullptr;  // live: the Yield panel's queries (null: no panel)
#endif
};

bool ui_init(Renderer& renderer, GLFWwindow* window);
// Builds this frame's panels (KPIs, inspector, time controls, Yield when live); call between glfwPollEvents
// and present.
void ui_frame(Scene& scene, Source& source, UiState& ui);
void ui_render(VkCommandBuffer cmd);
bool ui_wants_mouse();
bool ui_wants_keyboard();
void ui_shutdown();

}  // namespace fabtwin::viewer
