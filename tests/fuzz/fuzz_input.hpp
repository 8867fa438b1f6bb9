#pragma once
// How a fuzz input becomes SMT2020 files: sections separated by lines "#FILE <name>"; text before
// the first such line is tool.txt.1l. Shared by the fuzzer and the corpus regression test.
#include <map>
#include <string>
#include <string_view>

namespace fabtwin::fuzz {

inline constexpr std::string_view kFileMarker = "#FILE ";

inline std::map<std::string, std::string> split_smt2020_input(std::string_view data) {
  std::map<std::string, std::string> files;
  std::string name = "tool.txt.1l";
  std::string body;
  bool implicit = true;  // still in the unnamed first section
  auto flush = [&] {
    if (!implicit || !body.empty()) files[name] += body;
    implicit = false;
  };
  while (!data.empty()) {
    const std::size_t eol = data.find('\n');
    const std::string_view line = data.substr(0, eol == std::string_view::npos ? data.size() : eol + 1);
    data.remove_prefix(line.size());
    if (line.substr(0, kFileMarker.size()) == kFileMarker) {
      flush();
      body.clear();
      name = std::string(line.substr(kFileMarker.size()));
      while (!name.empty() && (name.back() == '\n' || name.back() == '\r')) name.pop_back();
      continue;
    }
    body += line;
  }
  flush();
  return files;
}

}  // namespace fabtwin::fuzz
