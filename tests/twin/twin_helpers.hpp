#pragma once
// Shared by the twin tests: reading events back, comparing state texts line by line.
#include <sstream>
#include <string>
#include <vector>

namespace fabtwin::test {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// "" when equal; else the first lines that differ (for the test's message) and a count.
inline std::string first_difference(const std::string& a, const std::string& b) {
  if (a == b) return {};
  const auto la = lines_of(a), lb = lines_of(b);
  std::string out;
  std::size_t shown = 0, differing = 0;
  for (std::size_t i = 0; i < std::max(la.size(), lb.size()); ++i) {
    const std::string x = i < la.size() ? la[i] : "<none>", y = i < lb.size() ? lb[i] : "<none>";
    if (x == y) continue;
    ++differing;
    if (shown++ < 10) out += "line " + std::to_string(i + 1) + ":\n  < " + x + "\n  > " + y + "\n";
  }
  return out + std::to_string(differing) + " lines differ (" + std::to_string(la.size()) + " vs " +
         std::to_string(lb.size()) + ")";
}

}  // namespace fabtwin::test
