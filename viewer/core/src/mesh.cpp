#include "fabtwin/viewer/mesh.hpp"

#include <assimp/postprocess.h>
#include <assimp/scene.h>

#include <algorithm>
#include <assimp/Importer.hpp>
#include <cctype>
#include <cmath>
#include <filesystem>

namespace fabtwin::viewer {

namespace {
constexpr std::string_view kNames[kMeshKindCount] = {"stepper",   "furnace",   "chamber", "wetbench",
                                                     "implanter", "metrology", "stocker", "foup",
                                                     "box",       "marker"};

std::string lower(std::string_view s) {
  std::string r(s);
  for (auto& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r;
}

std::optional<MeshKind> by_words(const std::string& s) {
  auto has = [&](std::string_view w) { return s.find(w) != std::string::npos; };
  if (has("met")) return MeshKind::Metrology;
  if (has("track")) return MeshKind::WetBench;
  if (has("litho") || has("stepper") || has("scanner")) return MeshKind::Stepper;
  if (has("implant")) return MeshKind::Implanter;
  if (has("diffusion") || has("furnace") || has("oxid") || has("anneal")) return MeshKind::Furnace;
  if (s.rfind("we_", 0) == 0 || has("wet") || has("clean")) return MeshKind::WetBench;
  if (has("delay") || has("stock")) return MeshKind::Stocker;
  return std::nullopt;
}
}  // namespace

std::string_view to_string(MeshKind k) { return kNames[static_cast<int>(k)]; }

std::optional<MeshKind> parse_mesh_kind(std::string_view s) {
  for (int i = 0; i < kMeshKindCount; ++i)
    if (kNames[i] == s) return static_cast<MeshKind>(i);
  return std::nullopt;
}

MeshKind mesh_for_group(std::string_view group, std::string_view area) {
  if (auto k = by_words(lower(group))) return *k;
  if (auto k = by_words(lower(area))) return *k;
  return MeshKind::Chamber;
}

model::Result<MeshData> load_mesh(const std::string& path, MeshKind kind) {
  auto fail = [&](std::string m) { return model::Error{path, 0, "", std::move(m)}; };
  if (!std::filesystem::is_regular_file(path)) return fail("mesh file not found");
  Assimp::Importer importer;
  const aiScene* scene = importer.ReadFile(path, aiProcess_Triangulate | aiProcess_JoinIdenticalVertices |
                                                     aiProcess_PreTransformVertices | aiProcess_GenNormals);
  if (!scene || (scene->mFlags & AI_SCENE_FLAGS_INCOMPLETE))
    return fail(std::string("cannot read mesh: ") + importer.GetErrorString());
  MeshData m;
  m.kind = kind;
  m.min = {1e30f, 1e30f, 1e30f};
  m.max = {-1e30f, -1e30f, -1e30f};
  for (unsigned mi = 0; mi < scene->mNumMeshes; ++mi) {
    const aiMesh* am = scene->mMeshes[mi];
    auto base = static_cast<std::uint32_t>(m.vertices.size());
    for (unsigned v = 0; v < am->mNumVertices; ++v) {
      Vertex vx{};
      vx.pos[0] = am->mVertices[v].x;
      vx.pos[1] = am->mVertices[v].y;
      vx.pos[2] = am->mVertices[v].z;
      if (am->mNormals) {
        vx.normal[0] = am->mNormals[v].x;
        vx.normal[1] = am->mNormals[v].y;
        vx.normal[2] = am->mNormals[v].z;
      }
      for (int k = 0; k < 3; ++k) {
        m.min[k] = std::min(m.min[k], vx.pos[k]);
        m.max[k] = std::max(m.max[k], vx.pos[k]);
      }
      m.vertices.push_back(vx);
    }
    for (unsigned f = 0; f < am->mNumFaces; ++f) {
      if (am->mFaces[f].mNumIndices != 3) continue;
      for (int k = 0; k < 3; ++k) m.indices.push_back(base + am->mFaces[f].mIndices[k]);
    }
  }
  if (m.indices.empty()) return fail("mesh holds no triangles");
  // The highest triangle over (0, 0) in the ground plane.
  m.top_at_centre = m.min[1];
  for (std::size_t i = 0; i + 2 < m.indices.size(); i += 3) {
    const float* a = m.vertices[m.indices[i]].pos;
    const float* b = m.vertices[m.indices[i + 1]].pos;
    const float* c = m.vertices[m.indices[i + 2]].pos;
    float d = (b[2] - c[2]) * (a[0] - c[0]) + (c[0] - b[0]) * (a[2] - c[2]);
    if (std::abs(d) < 1e-9f) continue;
    float l1 = ((b[2] - c[2]) * (0 - c[0]) + (c[0] - b[0]) * (0 - c[2])) / d;
    float l2 = ((c[2] - a[2]) * (0 - c[0]) + (a[0] - c[0]) * (0 - c[2])) / d;
    float l3 = 1 - l1 - l2;
    if (l1 < -1e-5f || l2 < -1e-5f || l3 < -1e-5f) continue;
    m.top_at_centre = std::max(m.top_at_centre, l1 * a[1] + l2 * b[1] + l3 * c[1]);
  }
  return m;
}

model::Result<std::vector<MeshData>> load_meshes(const std::string& folder) {
  std::vector<MeshData> out;
  for (int i = 0; i < kMeshKindCount; ++i) {
    auto k = static_cast<MeshKind>(i);
    auto m = load_mesh(folder + "/" + std::string(to_string(k)) + ".obj", k);
    if (!m) return m.error();
    out.push_back(std::move(m.value()));
  }
  return out;
}

}  // namespace fabtwin::viewer
