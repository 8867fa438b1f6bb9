#include "fabtwin/yield/defect_model.hpp"

#include <algorithm>
#include <cassert>
#include <unordered_map>

namespace fabtwin::yield {

double tool_health(const ToolHealthParams& h, double days_since_pm, std::uint32_t lots_since_repair) {
  const double drift = std::min(h.drift_per_day * std::max(days_since_pm, 0.0), h.drift_max);
  double m = 1.0 + drift;
  if (lots_since_repair < h.excursion_lots) m *= h.excursion_multiplier;
  return m;
}

model::Result<DefectModel> DefectModel::make(const YieldParams& p, std::span<const std::string> step_area,
                                             std::span<const std::string> tool_names) {
  DefectModel m;
  std::unordered_map<std::string, int> area_index;
  for (const auto& a : p.areas) {
    area_index.emplace(a.name, static_cast<int>(m.area_names_.size()));
    m.area_names_.push_back(a.name);
    m.d0_.push_back(a.d0_per_step);
    m.kill_.push_back(a.kill_ratio);
  }
  int other = -1;
  m.step_area_.resize(step_area.size());
  for (std::size_t s = 0; s < step_area.size(); ++s) {
    auto it = area_index.find(step_area[s]);
    int a = it != area_index.end() ? it->second : -1;
    if (a < 0 && p.default_area.d0_per_step > 0) {
      if (other < 0) {
        other = static_cast<int>(m.area_names_.size());
        m.area_names_.push_back("other");
        m.d0_.push_back(p.default_area.d0_per_step);
        m.kill_.push_back(p.default_area.kill_ratio);
      }
      a = other;
    }
    if (a >= 0 && m.d0_[a] <= 0) a = -1;
    m.step_area_[s] = static_cast<std::int16_t>(a);
  }
  if (m.area_names_.size() > kMaxAreas)
    return model::Error{"", 0, "areas", "more than " + std::to_string(kMaxAreas) + " areas (kMaxAreas)"};
  m.tool_fault_.assign(tool_names.size(), -1);
  std::unordered_map<std::string, std::size_t> tool_index;
  for (std::size_t t = 0; t < tool_names.size(); ++t) tool_index.emplace(tool_names[t], t);
  for (const auto& f : p.faults) {
    auto it = tool_index.find(f.tool);
    if (it == tool_index.end())
      return model::Error{"", 0, "faults.tool",
                          "fault names tool '" + f.tool + "', which is not in the model"};
    if (m.tool_fault_[it->second] >= 0)
      return model::Error{"", 0, "faults.tool", "two faults name tool '" + f.tool + "'"};
    m.tool_fault_[it->second] = static_cast<std::int32_t>(m.faults_.size());
    m.faults_.push_back(f);
  }
  return m;
}

WaferRates DefectModel::rates(std::span<const StepRecord> history) const {
  WaferRates r;
  r.n_areas = area_count();
  for (const StepRecord& rec : history) {
    // An invalid tool: a step run before the twin started, on a tool nobody recorded (nominal).
    assert(rec.step.index() < step_area_.size() &&
           (!rec.tool.valid() || rec.tool.index() < tool_fault_.size()));
    const int f = rec.tool.valid() ? tool_fault_[rec.tool.index()] : -1;
    const int a = step_area_[rec.step.index()];
    if (a >= 0) {
      double d = d0_[a] * rec.health;
      if (f >= 0) d *= faults_[f].density_multiplier;
      r.defect_density[a] += d;
      r.kill_density[a] += d * kill_[a];
    }
    if (f >= 0 && faults_[f].signature != Signature::None && faults_[f].intensity > 0)
      r.add_event(
          SignatureEvent{rec.step.value, faults_[f].signature, faults_[f].intensity, faults_[f].probability});
  }
  return r;
}

}  // namespace fabtwin::yield
