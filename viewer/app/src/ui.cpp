// Dear ImGui panels of the windowed viewer: KPIs (throughput, WIP, cycle time, E10 bar), the
// inspector of the tool under the cursor (or picked), time controls when standalone, the Yield
// panel when live (YieldService through YieldClient's worker: never a query on this thread).
#include <imgui.h>
#include <imgui_impl_glfw.h>
#include <imgui_impl_vulkan.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <string>

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

#ifdef FABTWIN_VIEWER_HAVE_LIVE
// Draws the rectangles at the cursor (a square of `size`) and advances the cursor past it.
void draw_rects(const std::vector<DieRect>& rects, ImVec2 at, float size) {
  auto* dl = ImGui::GetWindowDrawList();
  dl->AddRectFilled(at, ImVec2(at.x + size, at.y + size), IM_COL32(16, 16, 20, 255));
  for (const auto& r : rects)
    dl->AddRectFilled(ImVec2(at.x + r.x0, at.y + r.y0), ImVec2(at.x + r.x1, at.y + r.y1), to_u32(r.colour));
}

void yield_panel(const Scene& scene, UiState& ui) {
  if (!ui.yield) return;
  auto& yc = *ui.yield;
  const auto& fab = scene.fab();
  std::string tool = ui.picked && *ui.picked < fab.tools.size() ? fab.tools[*ui.picked] : "";
  yc.set_tool(tool);  // the pick is the filter (a no-op when unchanged)
  YieldView v = yc.view();
  const auto& io = ImGui::GetIO();
  // Top right (live: no time controls there), above the inspector.
  ImGui::SetNextWindowPos(ImVec2(io.DisplaySize.x - 8, 8), ImGuiCond_FirstUseEver, ImVec2(1, 0));
  ImGui::SetNextWindowSize(ImVec2(420, std::max(200.f, std::min(600.f, io.DisplaySize.y - 190))),
                           ImGuiCond_FirstUseEver);
  ImGui::SetNextWindowBgAlpha(0.8f);
  ImGui::Begin("Yield");
  ImGui::Text("filter: %s", tool.empty() ? "every tool (click a tool to filter)" : ("tool " + tool).c_str());
  ImGui::SameLine();
  if (ImGui::SmallButton("refresh")) yc.refresh();
  if (!v.message.empty()) {
    ImGui::PushStyleColor(ImGuiCol_Text, ImVec4(1, 0.45f, 0.35f, 1));
    ImGui::TextWrapped("%s", v.message.c_str());
    ImGui::PopStyleColor();
  } else if (v.rounds == 0) {
    ImGui::TextUnformatted("querying YieldService ...");
  }
  if (v.rounds == 0 || v.tool != tool) {
    if (v.rounds > 0) ImGui::TextUnformatted("(showing the previous filter; querying ...)");
  }
  for (const auto& r : v.summary)
    ImGui::TextWrapped("%s: %llu lots, %llu wafers, die yield %.2f%% (per wafer %.2f%% +- %.2f)",
                       r.key.c_str(), static_cast<unsigned long long>(r.lots),
                       static_cast<unsigned long long>(r.wafers), 100 * r.die_yield, 100 * r.mean_wafer_yield,
                       100 * r.wafer_yield_sd);
  if (v.rounds > 0 && v.message.empty() && v.wafers.empty())
    ImGui::TextUnformatted("no completed wafer matches yet");
  if (!v.wafers.empty()) {
    ImGui::Text("latest %zu wafers (newest first):", v.wafers.size());
    ImGui::BeginChild("wafers", ImVec2(0, 110), true);
    for (const auto& w : v.wafers) {
      bool sel = v.map && v.map->lot == w.lot && v.map->wafer == w.wafer;
      char label[160];
      std::snprintf(label, sizeof label, "%s #%u  %s  day %.2f  %.1f%%", w.lot.c_str(), w.wafer,
                    w.product.c_str(), static_cast<double>(w.completed_ms) / 86'400'000.0, 100 * w.die_yield);
      if (ImGui::Selectable(label, sel)) yc.choose_wafer(w.lot, w.wafer);
    }
    ImGui::EndChild();
  }
  const float size = 170;
  if (v.map) {
    const auto& m = *v.map;
    ImGui::TextWrapped("left: wafer %s #%u (%s), %u of %u dies good (%.1f%%)", m.lot.c_str(), m.wafer,
                       m.product.c_str(), m.pass, m.dies, 100 * m.die_yield);
    ImVec2 p = ImGui::GetCursorScreenPos();
    if (auto rects = wafer_rects(m, 0, 0, size)) draw_rects(rects.value(), p, size);
    if (v.stacked) {
      ImVec2 q(p.x + size + 12, p.y);
      if (auto rects = stacked_rects(*v.stacked, 0, 0, size)) draw_rects(rects.value(), q, size);
    }
    ImGui::Dummy(ImVec2(2 * size + 12, size));
    // Legend: a swatch and the count per bin.
    for (std::uint32_t b = 0; b < kBinCount; ++b) {
      ImVec2 s = ImGui::GetCursorScreenPos();
      float h = ImGui::GetTextLineHeight();
      ImGui::GetWindowDrawList()->AddRectFilled(s, ImVec2(s.x + h, s.y + h), to_u32(bin_colour(b)));
      ImGui::Dummy(ImVec2(h, h));
      ImGui::SameLine();
      ImGui::Text("%-8s %u", std::string(bin_name(b)).c_str(), b < m.bins.size() ? m.bins[b] : 0u);
      if (b + 1 < kBinCount && b % 2 == 0) ImGui::SameLine(180);
    }
  }
  if (v.stacked) {
    const auto& st = *v.stacked;
    double mx = 0;
    for (double r : st.fail_rate) mx = std::max(mx, r);
    ImGui::TextWrapped("right: fail rate per die over %llu wafers of %s%s",
                       static_cast<unsigned long long>(st.wafers), st.product.c_str(),
                       v.tool.empty() ? "" : (" through " + v.tool).c_str());
    // The heat scale 0 .. the largest rate.
    ImVec2 s = ImGui::GetCursorScreenPos();
    float w = 2 * size + 12, h = 10;
    auto* dl = ImGui::GetWindowDrawList();
    for (int i = 0; i < 64; ++i)
      dl->AddRectFilled(ImVec2(s.x + w * i / 64, s.y), ImVec2(s.x + w * (i + 1) / 64 + 1, s.y + h),
                        to_u32(fail_rate_colour((i + 0.5) / 64, 1)));
    ImGui::Dummy(ImVec2(w, h));
    ImGui::Text("0%%");
    ImGui::SameLine(w - 40);
    ImGui::Text("%.1f%%", 100 * (mx > 0 ? mx : 1));
  }
  ImGui::End();
}
#endif
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
#ifdef FABTWIN_VIEWER_HAVE_LIVE
  yield_panel(scene, ui);
#endif
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
