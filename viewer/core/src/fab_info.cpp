#include "fabtwin/viewer/fab_info.hpp"

namespace fabtwin::viewer {

std::int64_t FabInfo::find_tool(std::string_view name) const {
  for (std::size_t i = 0; i < tools.size(); ++i)
    if (tools[i] == name) return static_cast<std::int64_t>(i);
  return -1;
}

std::int64_t FabInfo::find_group(std::string_view name) const {
  for (std::size_t i = 0; i < groups.size(); ++i)
    if (groups[i].name == name) return static_cast<std::int64_t>(i);
  return -1;
}

FabInfo fab_info(const model::Model& model) {
  FabInfo f;
  f.name = model.name();
  for (const auto& a : model.areas()) f.areas.push_back(a.name);
  for (const auto& g : model.tool_groups()) {
    GroupInfo gi;
    gi.name = g.name;
    gi.area = g.area.valid() ? static_cast<std::uint32_t>(g.area.index()) : 0;
    gi.first_tool = ~0u;
    f.groups.push_back(gi);
  }
  for (std::size_t i = 0; i < model.tools().size(); ++i) {
    const auto& t = model.tools()[i];
    f.tools.push_back(t.name);
    auto g = static_cast<std::uint32_t>(t.group.index());
    f.tool_group.push_back(g);
    auto& gi = f.groups[g];
    if (gi.first_tool == ~0u) gi.first_tool = static_cast<std::uint32_t>(i);
    ++gi.tool_count;
  }
  for (auto& gi : f.groups)
    if (gi.first_tool == ~0u) gi.first_tool = 0;
  if (f.areas.empty()) f.areas.push_back("fab");
  for (const auto& s : model.steps())
    f.step_group.push_back(static_cast<std::uint32_t>(s.tool_group.index()));
  for (const auto& p : model.products()) f.products.push_back(p.name);
  for (const auto& s : model.setups()) f.setups.push_back(s.name);
  return f;
}

}  // namespace fabtwin::viewer
