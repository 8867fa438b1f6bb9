#pragma once
// The scene: instances per mesh (position, size, colour) built from a layout, kept up to date from
// des::StateView keyframes and StateDelta deltas. Only instances whose values change are marked
// dirty; the renderer uploads the dirty ranges and clears them.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fabtwin/des/state.hpp"
#include "fabtwin/viewer/camera.hpp"
#include "fabtwin/viewer/fab_info.hpp"
#include "fabtwin/viewer/layout.hpp"
#include "fabtwin/viewer/mesh.hpp"

namespace fabtwin::viewer {

using Rgba = std::array<std::uint8_t, 4>;

// LIVE-TWIN.md "Viewer colours": productive green, standby yellow, setup cyan, engineering blue,
// scheduled down / PM orange, unscheduled down red, non-scheduled grey.
Rgba state_colour(des::ToolState s);
std::optional<des::ToolState> parse_state(std::string_view s);  // names of to_string, plus down/idle/pm/up
inline constexpr Rgba kHeldColour{200, 40, 200, 255};           // held lot (FOUP) and its marker
inline constexpr Rgba kOverdueColour{255, 255, 255, 255};       // marker above a tool past its expected end
inline constexpr Rgba kFoupColour{150, 160, 180, 255};          // lot waiting
inline constexpr Rgba kTransportColour{90, 200, 230, 255};      // lot in transport
inline constexpr Rgba kFloorColour{58, 62, 70, 255};
inline constexpr Rgba kBackground{24, 26, 30, 255};

// One instance as the shaders read it (48 bytes).
struct Instance {
  float pos[3] = {0, 0, 0};
  float yaw = 0;
  float scale[3] = {0, 0, 0};  // 0: hidden
  float flags = 0;
  float colour[4] = {0, 0, 0, 1};
};
static_assert(sizeof(Instance) == 48);

// The instances of one mesh. `items` holds every slot (a tool, a FOUP place, a marker place) by
// its fixed index; `visible` packs the slots that are shown (scale not 0), which is what the GPU
// draws, so hidden slots (empty FOUP places, absent markers) cost nothing. Showing, hiding or
// changing a slot touches one or two packed entries, marked dirty for the upload.
struct InstanceSet {
  std::vector<Instance> items;             // by slot
  std::vector<Instance> visible;           // packed: what is drawn
  std::vector<std::uint32_t> pos_of_slot;  // slot -> index in visible, or kHidden
  std::vector<std::uint32_t> slot_at;      // index in visible -> slot
  std::vector<std::uint8_t> dirty_flag;    // per index in visible
  std::vector<std::uint32_t> dirty;        // indices in visible marked since the last take
  static constexpr std::uint32_t kHidden = 0xFFFFFFFFu;

  void resize(std::size_t n);                    // n hidden slots
  void set(std::uint32_t i, const Instance& v);  // marks only what changes
  void mark_all();
  // Coalesced (first, count) runs of dirty entries of `visible`, sorted; clears the marks.
  std::vector<std::pair<std::uint32_t, std::uint32_t>> take_dirty_ranges();

 private:
  void mark(std::uint32_t p);
};

enum class ColourMode : std::uint8_t { State, HeatQueue, HeatUtilisation };

struct GroupStats {
  std::uint32_t queued = 0, held = 0, on_tools = 0, transport_to = 0;
  std::uint32_t tools_by_state[des::kToolStateCount] = {};
  double longest_wait_h = 0;
};

class Scene {
 public:
  static constexpr std::uint32_t kFoupsPerGroup = 12;  // stacked FOUPs per group; the bar shows the rest
  static constexpr std::uint32_t kTransportPerBay = 16;

  Scene(FabInfo fab, Layout layout, std::vector<MeshData> meshes);

  const FabInfo& fab() const { return fab_; }
  const Layout& layout() const { return layout_; }
  const std::vector<MeshData>& meshes() const { return meshes_; }
  InstanceSet& instances(MeshKind k) { return sets_[static_cast<int>(k)]; }
  const InstanceSet& instances(MeshKind k) const { return sets_[static_cast<int>(k)]; }

  // A whole state (first frame, or after the stream lost its place). Error: its tool or group
  // counts differ from the model's.
  model::Result<bool> apply(const des::StateView& keyframe);
  // Changes: only the tools, groups and bays they touch are recomputed. Error: no keyframe yet,
  // or the versions do not chain (the caller then takes a keyframe).
  model::Result<bool> apply(const des::StateDelta& delta);
  // The clock moved without changes (overdue markers depend on it).
  void set_now(model::SimTime now);

  // Display override: the tool is shown in `state` whatever the stream says (--force).
  void force(std::uint32_t tool, des::ToolState state);
  void set_colour_mode(ColourMode m);
  ColourMode colour_mode() const { return mode_; }

  const des::StateView& state() const { return state_; }
  bool has_state() const { return have_state_; }
  des::ToolState shown_state(std::uint32_t tool) const;
  const GroupStats& group_stats(std::uint32_t group) const { return stats_[group]; }
  bool overdue(std::uint32_t tool) const;

  // World point on the top of a tool over its centre (what a test probes).
  Vec3 tool_top(std::uint32_t tool) const;
  Vec3 group_centre(std::uint32_t group) const;
  std::array<Vec3, 2> tool_bounds(std::uint32_t tool) const;
  std::array<Vec3, 2> bounds() const;       // the whole floor
  std::vector<Vec3> floor_corners() const;  // each bay's corners, at the floor and 2.5 m up
  // The tool hit by a ray (nearest), by bounding box.
  std::optional<std::uint32_t> pick(const std::array<Vec3, 2>& ray) const;

  // Instances recomputed by the last apply()/set_now() (a benchmark figure).
  std::uint64_t touched() const { return touched_; }

 private:
  void build_static();
  void update_tool(std::uint32_t tool);
  void update_group(std::uint32_t group);
  void update_bay_transport(std::uint32_t area);
  void recount_group(std::uint32_t group);
  void index_lots();

  FabInfo fab_;
  Layout layout_;
  std::vector<MeshData> meshes_;
  std::array<InstanceSet, kMeshKindCount> sets_;
  std::vector<std::uint32_t> tool_slot_;  // tool -> index in its mesh set
  std::vector<std::int32_t> bay_of_area_;
  des::StateView state_;
  bool have_state_ = false;
  std::unordered_map<std::string, std::size_t> lot_index_;  // name -> state_.lots index
  std::vector<GroupStats> stats_;
  std::vector<std::uint32_t> transport_by_area_;
  std::vector<std::int16_t> forced_;  // per tool: -1 or a ToolState
  std::vector<std::uint8_t> overdue_;
  ColourMode mode_ = ColourMode::State;
  std::uint32_t max_queue_ = 1;
  std::uint64_t touched_ = 0;
};

}  // namespace fabtwin::viewer
