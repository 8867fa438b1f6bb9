#include "fabtwin/flow/scenario.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>
#include <variant>

#include "fabtwin/io/file.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/scenario_io/scenario_json.hpp"
#include "structure.hpp"

namespace fabtwin::flow {

namespace {

struct DownShares {
  std::vector<double> failure, pm;  // per group, nominal shares of calendar time
};

// Nominal down shares per tool group from the calendars attached to it (or its area).
DownShares down_shares(const model::Model& m) {
  const std::size_t G = m.tool_groups().size();
  DownShares d{std::vector<double>(G, 0.0), std::vector<double>(G, 0.0)};
  for (const auto& a : m.attachments()) {
    double share = 0;
    if (a.is_pm) {
      const auto& c = m.pm_calendars()[a.calendar];
      const double dur = c.duration.mean_ms();
      const double iv = c.trigger == model::PmTrigger::Calendar
                            ? static_cast<double>(c.interval.duration().count())
                            : c.interval.value;  // wafers: relative only
      share = iv > 0 ? dur / iv : 0;
    } else {
      const auto& c = m.down_calendars()[a.calendar];
      const double f = c.time_to_failure.mean_ms(), r = c.time_to_repair.mean_ms();
      share = f + r > 0 ? r / (f + r) : 0;
    }
    auto& v = a.is_pm ? d.pm : d.failure;
    if (a.target_kind == model::AttachTarget::ToolGroup) {
      v[a.target] += share;
    } else {
      for (std::size_t g = 0; g < G; ++g)
        if (m.tool_groups()[g].area.value == a.target) v[g] += share;
    }
  }
  return d;
}

std::string lower(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

}  // namespace

model::Result<ScenarioInput> scenario_input(const FlowModel& flow, const des::Scenario& s) {
  const std::string file = s.file.empty() ? "scenario '" + s.name + "'" : s.file;
  for (std::size_t i = 0; i < s.deltas.size(); ++i)
    if (des::delta_key(s.deltas[i]) == "transport_factor")
      return model::Error{file, s.deltas[i].line, "deltas[" + std::to_string(i) + "].transport_factor",
                          "the flow model does not understand 'transport_factor' deltas (its transport "
                          "times are calibrated, not modelled); run this scenario in the simulation"};
  const model::Model& base = flow.model();
  auto applied = des::apply_scenario(base, des::Options{}, s, des::RuleRegistry{});
  if (!applied.ok()) return applied.error();
  const model::Model& m = applied->model;
  const Calibration& cal = flow.calibration();
  const std::size_t G = base.tool_groups().size(), P = base.products().size();
  ScenarioInput in;
  in.name = s.name;
  // Rules: a group whose base rank key becomes another rule works under that rule's calibration.
  for (std::size_t i = 0; i < s.deltas.size(); ++i) {
    const auto* rd = std::get_if<des::RuleDelta>(&s.deltas[i].change);
    if (!rd) continue;
    const std::size_t g = base.find_tool_group(rd->group)->index();  // apply_scenario checked both
    const std::string rule = des::base_rule_name(rd->rule).value();
    const bool own = des::own_base_rule(base.tool_groups()[g]) == rule;
    if (in.rule.empty()) in.rule.resize(G);
    in.rule[g] = own ? "" : rule;
    if (!own && !cal.groups[g].under(rule))
      return model::Error{file, s.deltas[i].line, "deltas[" + std::to_string(i) + "].rule",
                          "the flow calibration has no parameters for tool group '" + rd->group + "' under " +
                              rule + " (calibrate with: fabtwin flow calibrate --rules " +
                              lower(rule.substr(5)) + "); run this scenario in the simulation"};
  }
  in.tools.resize(G);
  for (std::size_t g = 0; g < G; ++g) in.tools[g] = m.tool_groups()[g].tool_count;
  const auto r0 = detail::release_rates(base), r1 = detail::release_rates(m);
  in.release_factor.resize(P);
  for (std::size_t p = 0; p < P; ++p)
    in.release_factor[p] = r0[p] > 0 ? r1[p] / r0[p] : (r1[p] > 0 ? 1.0 : 0.0);
  // Processing time: the work-weighted mean of the step factors of each group.
  const detail::FabStructure fab = detail::build_structure(base);
  std::vector<double> num(G, 0.0), den(G, 0.0);
  for (int k = 0; k < fab.K; ++k) {
    const int g = fab.group_of[k];
    if (g < 0) continue;
    const double b = base.steps()[fab.step_of[k]].process_time.mean();
    const double a = m.steps()[fab.step_of[k]].process_time.mean();
    const double w = fab.visit_rate(k) * fab.nominal_work_hours[k];
    num[g] += w * (b > 0 ? a / b : 1.0);
    den[g] += w;
  }
  in.work_factor.resize(G);
  for (std::size_t g = 0; g < G; ++g) in.work_factor[g] = den[g] > 0 ? num[g] / den[g] : 1.0;
  // Availability: the observed down shares scaled by the change of the nominal ones.
  const DownShares d0 = down_shares(base), d1 = down_shares(m);
  in.availability.resize(G);
  for (std::size_t g = 0; g < G; ++g) {
    const GroupCalibration& c = cal.groups[g];
    const double rf = d0.failure[g] > 0 ? d1.failure[g] / d0.failure[g] : 1.0;
    const double rp = d0.pm[g] > 0 ? d1.pm[g] / d0.pm[g] : 1.0;
    const double a = c.availability + c.unscheduled_down * (1 - rf) + c.pm_down * (1 - rp);
    in.availability[g] = std::clamp(a, 1e-3, 1.0);
  }
  return in;
}

namespace {
// "[i]" (built by appending: GCC 12 warns falsely on "[" + std::to_string(i)).
std::string bracketed(std::size_t i) { return std::string("[").append(std::to_string(i)).append("]"); }
}  // namespace

model::Result<std::vector<des::Scenario>> parse_scenario_list(std::string_view text,
                                                              std::string_view file_label) {
  auto doc = io::json::parse(text, file_label);
  if (!doc.ok()) return doc.error();
  std::vector<des::Scenario> out;
  const std::string file(file_label);
  if (!doc->is_array()) {
    auto one = scenario_io::parse_scenario(text, file_label);
    if (!one.ok()) return one.error();
    out.push_back(std::move(one.value()));
  } else {
    const auto& items = doc->as_array();
    for (std::size_t i = 0; i < items.size(); ++i) {
      const std::string prefix = bracketed(i);
      if (!items[i].is_object())
        return model::Error{file, items[i].line(), prefix, "expected a scenario object"};
      // Parsed on its own text; lines are shifted back to the file's.
      auto one = scenario_io::parse_scenario(io::json::write(items[i], {0, true}), file_label);
      if (!one.ok()) {
        model::Error e = one.error();
        e.line = items[i].line();
        e.field = prefix + (e.field.empty() ? "" : "." + e.field);
        return e;
      }
      for (auto& d : one->deltas) d.line = items[i].line();
      out.push_back(std::move(one.value()));
    }
  }
  std::set<std::string> names;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i].name.empty()) out[i].name = std::string("scenario ").append(std::to_string(i));
    if (!names.insert(out[i].name).second)
      return model::Error{file, 0, bracketed(i).append(".name"), "'" + out[i].name + "' is used twice"};
  }
  return out;
}

model::Result<std::vector<des::Scenario>> read_scenario_list(const std::filesystem::path& file) {
  auto text = io::read_file(file);
  if (!text.ok()) return text.error();
  return parse_scenario_list(text.value(), file.string());
}

}  // namespace fabtwin::flow
