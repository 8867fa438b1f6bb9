#pragma once
// Where every tool stands on the fab floor: a bay per area, tool groups in rows inside their bay.
// From a layout file (docs/viewer.md "Layout files": twin_models/layouts/<model>.json) or the
// automatic default for any model.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/viewer/fab_info.hpp"
#include "fabtwin/viewer/mesh.hpp"

namespace fabtwin::viewer {

struct BayLayout {
  std::uint32_t area = 0;
  float x = 0, z = 0;          // corner with the smallest x and z
  float width = 0, depth = 0;  // along x and z
};

struct GroupLayout {
  float x = 0, z = 0;         // where its first tool stands
  std::uint32_t per_row = 8;  // tools per row (further rows behind, +z)
  MeshKind mesh = MeshKind::Chamber;
  std::array<float, 2> wip{};  // where its WIP stack stands (x, z)
};

struct Layout {
  float tool_spacing = 2.5f;                // between tools in a row
  float row_spacing = 3.0f;                 // between rows of one group
  std::vector<BayLayout> bays;              // one per area that has tool groups
  std::vector<GroupLayout> groups;          // per tool group
  std::vector<std::array<float, 2>> tools;  // per tool: (x, z) of its centre
  std::array<float, 2> min{}, max{};        // floor bounds
};

// Automatic: areas in model order as bays on a grid of about sqrt(1.6 n) columns; in a bay the groups
// in model order, each on its own row(s) of at most 10 tools with its WIP stack at the row's
// start, split into columns so that the bay is about as deep as it is wide.
Layout auto_layout(const FabInfo& fab);
// Reads a layout file; every tool group of the model must be placed and every name must exist
// (errors name the file, line and field).
model::Result<Layout> load_layout(const std::string& path, const FabInfo& fab);
// Places tools from the groups' positions and computes bays that were not given and the bounds.
void finish_layout(Layout& layout, const FabInfo& fab);

}  // namespace fabtwin::viewer
