#pragma once
// Equipment meshes: the kinds the viewer draws, which kind a tool group gets, and loading a mesh
// file (OBJ or glTF, through Assimp) into plain vertex and index arrays.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/error.hpp"

namespace fabtwin::viewer {

enum class MeshKind : std::uint8_t {
  Stepper,    // lithography scanner / stepper
  Furnace,    // diffusion furnace
  Chamber,    // cluster tool: etch, deposition, CMP, epitaxy (the default)
  WetBench,   // wet etch / clean, litho tracks
  Implanter,  // ion implanter
  Metrology,  // metrology and inspection
  Stocker,    // stockers, delay stations
  Foup,       // a lot (WIP stacks, lots in transport)
  Box,        // unit cube: floor, bays, WIP bars
  Marker,     // octahedron: overdue job, held lot
};
inline constexpr int kMeshKindCount = 10;
std::string_view to_string(MeshKind k);  // the file stem: "stepper", "furnace", ...
std::optional<MeshKind> parse_mesh_kind(std::string_view s);

// The mesh a tool group gets from its name, then its area (case-insensitive, first match):
// "met" -> metrology; "track" -> wet bench; "litho"/"stepper"/"scanner" -> stepper; "implant" ->
// implanter; "diffusion"/"furnace"/"oxid"/"anneal" -> furnace; "we_"/"wet"/"clean" -> wet bench;
// "delay"/"stock" -> stocker; anything else -> chamber.
MeshKind mesh_for_group(std::string_view group, std::string_view area);

struct Vertex {
  float pos[3];
  float normal[3];
};

struct MeshData {
  MeshKind kind = MeshKind::Box;
  std::vector<Vertex> vertices;
  std::vector<std::uint32_t> indices;
  std::array<float, 3> min{}, max{};  // bounds
  float top_at_centre = 0;            // height of the highest face over x = z = 0 (probe point)
};

// Loads `path` (any format Assimp reads; all meshes of the file merged). Error: the file is
// missing, unreadable or holds no triangles.
model::Result<MeshData> load_mesh(const std::string& path, MeshKind kind);
// Every kind from `folder`/<kind>.obj.
model::Result<std::vector<MeshData>> load_meshes(const std::string& folder);

}  // namespace fabtwin::viewer
