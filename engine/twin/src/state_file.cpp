// The state file: a sorted text view of a twin for diff (state_file.hpp).
#include "fabtwin/twin/state_file.hpp"

#include <algorithm>

#include "fabtwin/twin/event_json.hpp"

namespace fabtwin::twin {

std::string state_text(const des::Simulation& sim) {
  const model::Model& m = sim.model();
  const des::StateView v = sim.view();
  std::string out;
  out += "# fabtwin state\t" + m.name() + "\t" + format_time(v.now, m.data().epoch_unix_s) + "\t" +
         std::to_string(v.now.time_since_epoch().count()) + "\n";
  out += "# tool\tstate\tsetup\tlots\n";
  std::vector<const des::ToolView*> tools;
  tools.reserve(v.tools.size());
  for (const auto& t : v.tools) tools.push_back(&t);
  std::sort(tools.begin(), tools.end(), [&](const des::ToolView* a, const des::ToolView* b) {
    return m.tool(a->tool).name < m.tool(b->tool).name;
  });
  std::vector<std::string> names;
  for (const des::ToolView* t : tools) {
    out += m.tool(t->tool).name;
    out += '\t';
    out += des::to_string(t->state);
    out += '\t';
    out += t->setup.valid() ? m.setups()[t->setup.index()].name : std::string("-");
    out += '\t';
    names.clear();
    for (const auto& l : t->lots) names.push_back(l.lot);
    std::sort(names.begin(), names.end());
    for (std::size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + names[i];
    if (names.empty()) out += '-';
    out += '\n';
  }
  out += "# lot\tproduct\tstep\tpass\twafers\tplace\theld\tsince_ms\n";
  for (const des::LotView& l : v.lots) {  // sorted by name
    out += l.name;
    out += '\t';
    out += m.product(l.product).name;
    out += '\t';
    out += std::to_string(m.step(l.step).number);
    out += '\t';
    out += std::to_string(l.pass);
    out += '\t';
    out += std::to_string(l.wafers);
    out += '\t';
    out += des::to_string(l.place);
    if (l.place == des::LotPlace::OnTool) out += " " + m.tool(l.tool).name;
    out += '\t';
    out += l.held ? "held" : "-";
    out += '\t';
    out += std::to_string(l.since.time_since_epoch().count());
    out += '\n';
  }
  return out;
}

}  // namespace fabtwin::twin
