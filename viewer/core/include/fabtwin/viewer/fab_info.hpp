#pragma once
// What the viewer needs of a model: names of areas, tool groups and tools, and the tool group of
// every step. Built from a model::Model (standalone) or from a gRPC ModelSummary (live).
#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/model/model.hpp"

namespace fabtwin::viewer {

struct GroupInfo {
  std::string name;
  std::uint32_t area = 0;
  std::uint32_t first_tool = 0;  // tools [first_tool, first_tool + tool_count)
  std::uint32_t tool_count = 0;
};

struct FabInfo {
  std::string name;
  std::vector<std::string> areas;
  std::vector<GroupInfo> groups;
  std::vector<std::string> tools;
  std::vector<std::uint32_t> tool_group;  // per tool
  std::vector<std::uint32_t> step_group;  // per global step index
  std::vector<std::string> products;
  std::vector<std::string> setups;
  std::int64_t find_tool(std::string_view name) const;   // -1 if unknown
  std::int64_t find_group(std::string_view name) const;  // -1 if unknown
};

FabInfo fab_info(const model::Model& model);

}  // namespace fabtwin::viewer
