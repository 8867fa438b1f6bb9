// Dear ImGui panels of the windowed viewer: KPIs (throughput, WIP, cycle time, E10 bar), the
// inspector of the tool under the cursor (or picked), time controls when standalone.
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "app.hpp"

namespace fabtwin::viewer {

namespace {
VkDescriptorPool g_pool = VK_NULL_HANDLE;
VkDevice g_device = VK_NULL_HANDLE;

double days(model::SimTime t) { return static_cast<double>(t.time_since_epoch().count()) / 86'400'000.0; }
double hours(model::Duration d) { return static_cast<double>(d.count()) / 3'600'000.0; }

ImU32 to_u32(Rgba c) { return IM_COL32(c[0], c[1], c[2], c[3]); }

void kpi_panel(const Scene& scene, const Source& source, const UiState& ui) {
  ImGui::SetNextWindowPos(ImVec2(8, 8), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowSize(ImVec2(300, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.75f);
  ImGui::Begin("KPIs");
  const auto& s = scene.state();
  const auto& k = s.kpis;
  double d = std::max(1e-9, days(s.now));
  double thr = static_cast<double>(k.lots_completed) / d;
  ImGui::Text("%s", source.describe().c_str());
  ImGui::Text("model time: day %.2f   version %llu", days(s.now), static_cast<unsigned long long>(s.version));
  ImGui::Separator();
  ImGui::Text("throughput: %.1f lots/day (%llu lots, %llu wafers done)", thr,
              static_cast<unsigned long long>(k.lots_completed),
              static_cast<unsigned long long>(k.wafers_completed));
  ImGui::Text("WIP: %llu lots in fab, %llu held", static_cast<unsigned long long>(k.lots_in_fab),
              static_cast<unsigned long long>(k.lots_held));
  if (thr > 0)
    ImGui::Text("cycle time: %.2f days (Little's law: WIP / throughput)",
                static_cast<double>(k.lots_in_fab) / thr);
  else
    ImGui::Text("cycle time: - (no lot completed yet)");
  ImGui::Text("moves: %llu", static_cast<unsigned long long>(k.moves));
  // E10 breakdown as one stacked bar.
  ImGui::Text("tools by E10 state:");
  ImVec2 p = ImGui::GetCursorScreenPos();
  float w = ImGui::GetContentRegionAvail().x, h = 18;
  // What the scene shows (a --force override included), not only what the state says.
  std::array<std::uint32_t, des::kToolStateCount> by_state{};
  for (std::uint32_t t = 0; t < scene.fab().tools.size(); ++t)
    ++by_state[static_cast<int>(scene.shown_state(t))];
  std::uint32_t total = 0;
  for (auto n : by_state) total += n;
  float x = p.x;
  auto* dl = ImGui::GetWindowDrawList();
  for (int i = 0; i < des::kToolStateCount; ++i) {
    if (!total) break;
    float ww = w * static_cast<float>(by_state[i]) / static_cast<float>(total);
    dl->AddRectFilled(ImVec2(x, p.y), ImVec2(x + ww, p.y + h),
                      to_u32(state_colour(static_cast<des::ToolState>(i))));
    x += ww;
  }
  ImGui::Dummy(ImVec2(w, h));
  for (int i = 0; i < des::kToolStateCount; ++i) {
    auto st = static_cast<des::ToolState>(i);
    auto c = state_colour(st);
    ImGui::TextColored(ImVec4(c[0] / 255.f, c[1] / 255.f, c[2] / 255.f, 1), "%-16s %u",
                       std::string(des::to_string(st)).c_str(), by_state[i]);
  }
  ImGui::Separator();
  ImGui::Text("frame %.2f ms, update %.3f ms, %zu bytes uploaded", ui.frame_ms, ui.update_ms,
              ui.bytes_uploaded);
  const char* modes[] = {"E10 state", "heat: queue length", "heat: utilisation"};
  ImGui::Text("colours (H): %s", modes[static_cast<int>(scene.colour_mode())]);
  ImGui::End();
}

void inspector(const Scene& scene, const UiState& ui) {
  auto tool = ui.hovered ? ui.hovered : ui.picked;
  const auto& io = ImGui::GetIO();
  ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x - 8, io.DisplaySize.y - 8), ImGuiCond_FirstUseEver,
                          ImVec2(1, 1));
  ImGui::SetNextWindowSize(ImVec2(320, 160), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.75f);
  ImGui::Begin("Inspector");
  if (!tool) {
    ImGui::TextWrapped("Hover over a tool (click to keep it; F focuses its group).");
    ImGui::End();
    return;
  }
  const auto& fab = scene.fab();
  const auto& s = scene.state();
  auto t = *tool;
  auto g = fab.tool_group[t];
  const auto& tv = s.tools[t];
  ImGui::Text("tool %s (group %s, area %s)", fab.tools[t].c_str(), fab.groups[g].name.c_str(),
              fab.areas[fab.groups[g].area].c_str());
  auto shown = scene.shown_state(t);
  ImGui::Text("state: %s since day %.3f%s", std::string(des::to_string(shown)).c_str(), days(tv.since),
              shown != tv.state ? " (forced)" : "");
  if (tv.down_until) ImGui::Text("expected up: day %.3f", days(*tv.down_until));
  ImGui::Text("setup: %s", tv.setup.valid() && tv.setup.index() < fab.setups.size()
                               ? fab.setups[tv.setup.index()].c_str()
                               : "-");
  ImGui::Text("lots on the tool: %zu", tv.lots.size());
  for (const auto& l : tv.lots)
    ImGui::BulletText("%s  expected end day %.3f%s", l.lot.c_str(), days(l.expected_end),
                      l.expected_end < s.now ? "  OVERDUE" : "");
  const auto& gs = scene.group_stats(g);
  ImGui::Separator();
  ImGui::Text("group %s: %u tools, queue %u (%u held), longest wait %.1f h", fab.groups[g].name.c_str(),
              fab.groups[g].tool_count, gs.queued, gs.held, gs.longest_wait_h);
  int shown_lots = 0;
  for (const auto& q : s.queues[g].lots) {
    if (++shown_lots > 25) {
      ImGui::BulletText("... %zu more", s.queues[g].lots.size() - 25);
      break;
    }
    ImGui::BulletText("%s  waiting %.1f h", q.lot.c_str(), hours(s.now - q.since));
  }
  ImGui::End();
}

void time_controls(Source& source, UiState& ui) {
  if (source.live()) return;
  ImGui::SetNextWindowPos(ImVec2(ImGui::GetIO().DisplaySize.x - 8, 8), ImGuiCond_FirstUseEver, ImVec2(1, 0));
  ImGui::SetNextWindowSize(ImVec2(260, 0), ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.75f);
  ImGui::Begin("Time");
  ImGui::Checkbox("paused (space)", &ui.paused);
  float sp = static_cast<float>(ui.speed);
  if (ImGui::SliderFloat("speed", &sp, 1.f, 86400.f, "%.0f", ImGuiSliderFlags_Logarithmic)) ui.speed = sp;
  ImGui::End();
}
}  // namespace

bool ui_init(Renderer& r, GLFWwindow* window) {
  IMGUI_CHECKVERSION();
  ImGui::CreateContext();
  ImGui::GetIO().IniFilename = nullptr;
  ImGui::StyleColorsDark();
  if (!ImGui_ImplGlfw_InitForVulkan(window, true)) return false;
  VkDescriptorPoolSize sizes[] = {{VK_DESCRIPTOR_TYPE_COMBINED_IMAGE_SAMPLER, 16}};
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.flags = VK_DESCRIPTOR_POOL_CREATE_FREE_DESCRIPTOR_SET_BIT;
  pi.maxSets = 16;
  pi.poolSizeCount = 1;
  pi.pPoolSizes = sizes;
  g_device = r.device();
  if (vkCreateDescriptorPool(g_device, &pi, nullptr, &g_pool) != VK_SUCCESS) return false;
  ImGui_ImplVulkan_InitInfo info{};
  info.Instance = r.instance();
  info.PhysicalDevice = r.physical_device();
  info.Device = r.device();
  info.QueueFamily = r.queue_family();
  info.Queue = r.queue();
  info.DescriptorPool = g_pool;
  info.MinImageCount = 2;
  info.ImageCount = r.image_count();
  info.MSAASamples = VK_SAMPLE_COUNT_1_BIT;
  if (!ImGui_ImplVulkan_Init(&info, r.render_pass())) return false;
  auto up = r.submit_now([](VkCommandBuffer c) { ImGui_ImplVulkan_CreateFontsTexture(c); });
  ImGui_ImplVulkan_DestroyFontUploadObjects();
  return up.ok();
}

void ui_frame(Scene& scene, Source& source, UiState& ui) {
  ImGui_ImplVulkan_NewFrame();
  ImGui_ImplGlfw_NewFrame();
  ImGui::NewFrame();
  kpi_panel(scene, source, ui);
  inspector(scene, ui);
  time_controls(source, ui);
  ImGui::Render();
}

void ui_render(VkCommandBuffer cmd) { ImGui_ImplVulkan_RenderDrawData(ImGui::GetDrawData(), cmd); }
bool ui_wants_mouse() { return ImGui::GetCurrentContext() && ImGui::GetIO().WantCaptureMouse; }
bool ui_wants_keyboard() { return ImGui::GetCurrentContext() && ImGui::GetIO().WantCaptureKeyboard; }

void ui_shutdown() {
  ImGui_ImplVulkan_Shutdown();
  ImGui_ImplGlfw_Shutdown();
  ImGui::DestroyContext();
  if (g_pool) vkDestroyDescriptorPool(g_device, g_pool, nullptr);
  g_pool = VK_NULL_HANDLE;
}

}  // namespace fabtwin::viewer
