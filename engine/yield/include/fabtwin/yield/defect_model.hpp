#pragma once
// From a wafer's process history to the rates the Monte Carlo needs. The simulation records, for
// each step a lot ran, (step, tool, tool health then); the wafers of a lot share that history, so
// rates() is called once per lot and its result shared by the lot's wafers (WaferRef::rates).
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/model/ids.hpp"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield/rates.hpp"

namespace fabtwin::yield {

// One step of a wafer's history.
struct StepRecord {
  model::StepId step;   // global step id (route.first_step + index)
  model::ToolId tool;   // the tool that ran it; invalid: not known (nominal, no fault)
  double health = 1.0;  // density multiplier of that tool at that time (tool_health()); 1 = nominal
};

// Health multiplier of a tool: (1 + min(drift_per_day * days_since_pm, drift_max)), times
// excursion_multiplier while lots_since_repair < excursion_lots. days_since_pm < 0 counts as 0.
double tool_health(const ToolHealthParams& h, double days_since_pm, std::uint32_t lots_since_repair);

class DefectModel {
 public:
  // step_area[s]: the area name of step s (SMT2020: the STNGRP of the step's tool group);
  // tool_names[t]: the name of tool t. Steps of an area not in params.areas use default_area (as
  // one extra area "other", if its density is not zero). Fails when a fault names an unknown tool
  // or more than kMaxAreas areas would be needed.
  static model::Result<DefectModel> make(const YieldParams& params, std::span<const std::string> step_area,
                                         std::span<const std::string> tool_names);

  // Rates of one history. Every record's step and tool must be below the sizes given to make()
  // (asserted). Signature passes beyond kMaxEvents are counted in dropped_events.
  WaferRates rates(std::span<const StepRecord> history) const;

  std::uint32_t area_count() const { return static_cast<std::uint32_t>(area_names_.size()); }
  const std::string& area_name(std::uint32_t a) const { return area_names_[a]; }
  // Area index of step s, or -1 when the step adds no defects.
  int area_of_step(model::StepId s) const { return step_area_[s.index()]; }
  // Index into faults() of tool t's fault, or -1.
  int fault_of_tool(model::ToolId t) const { return tool_fault_[t.index()]; }
  const std::vector<ToolFault>& faults() const { return faults_; }

 private:
  std::vector<std::string> area_names_;
  std::vector<double> d0_, kill_;         // per area
  std::vector<std::int16_t> step_area_;   // per step: area index or -1
  std::vector<std::int32_t> tool_fault_;  // per tool: index into faults_ or -1
  std::vector<ToolFault> faults_;
};

}  // namespace fabtwin::yield
