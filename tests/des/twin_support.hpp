#pragma once
// Helpers for the twin tests: MES events built in one line, view lookups by name, the mini-fab
// and SMT2020 HVLM loaded once, and an observer that records what it is told.
#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/model/model.hpp"
#include "test_paths.hpp"

namespace fabtwin::test {

using namespace fabtwin::model;

inline SimTime at_min(double minutes) { return SimTime{round_ms(minutes * kMsPerMinute)}; }
inline SimTime at_day(double days) { return SimTime{round_ms(days * kMsPerDay)}; }
inline double min_of(SimTime t) { return to_minutes(t.time_since_epoch()); }

inline const Model& minifab_model() {
  static const Model m = io::load_model(minifab()).value();
  return m;
}
// SMT2020 HVLM: FABTWIN_DATA_DIR, or the copy shipped in twin_models/smt2020.
inline const Model& hvlm_model() {
  static const Model m = [] {
    auto p = hvlm();
    if (!std::filesystem::exists(p)) p = source_dir() / "twin_models" / "smt2020" / "SMT2020_HVLM";
    return io::load_model(p).value();
  }();
  return m;
}

inline des::Simulation follow_twin(const Model& m, std::uint64_t seed = 1) {
  return des::Simulation::create(m, des::Options{.seed = seed, .mode = des::Mode::Follow}).value();
}
inline des::Simulation autonomous_sim(const Model& m, std::uint64_t seed = 1) {
  return des::Simulation::create(m, des::Options{.seed = seed}).value();
}

// ---- events ---------------------------------------------------------------------------------

inline des::Event event(des::EventKind kind, double t_min) {
  static std::uint64_t next_id = 0;
  des::Event e;
  e.id = "ev-" + std::to_string(++next_id);
  e.kind = kind;
  e.time = at_min(t_min);
  return e;
}
inline des::Event released(const std::string& lot, const std::string& product, double t,
                           std::uint32_t wafers = 25, std::uint32_t priority = 10,
                           std::optional<SimTime> due = std::nullopt) {
  auto e = event(des::EventKind::LotReleased, t);
  e.lots = {lot};
  e.product = product;
  e.wafers = wafers;
  e.priority = priority;
  e.due = due;
  return e;
}
inline des::Event queued(const std::string& lot, std::uint32_t step, double t) {
  auto e = event(des::EventKind::LotQueued, t);
  e.lots = {lot};
  e.step = step;
  return e;
}
inline des::Event track_in(std::vector<std::string> lots, const std::string& tool, std::uint32_t step,
                           double t) {
  auto e = event(des::EventKind::TrackIn, t);
  e.lots = std::move(lots);
  e.tool = tool;
  e.step = step;
  return e;
}
inline des::Event track_out(const std::string& lot, const std::string& tool, std::uint32_t step, double t,
                            std::uint32_t next_step = 0, bool route_done = false) {
  auto e = event(des::EventKind::TrackOut, t);
  e.lots = {lot};
  e.tool = tool;
  e.step = step;
  e.next_step = next_step;
  e.route_done = route_done;
  return e;
}
inline des::Event hold(const std::string& lot, double t) {
  auto e = event(des::EventKind::Hold, t);
  e.lots = {lot};
  return e;
}
inline des::Event unhold(const std::string& lot, double t) {
  auto e = event(des::EventKind::HoldRelease, t);
  e.lots = {lot};
  return e;
}
inline des::Event scrap(const std::string& lot, std::uint32_t wafers, double t) {
  auto e = event(des::EventKind::Scrap, t);
  e.lots = {lot};
  e.wafers = wafers;
  return e;
}
inline des::Event rework(const std::string& lot, std::uint32_t step, double t) {
  auto e = event(des::EventKind::Rework, t);
  e.lots = {lot};
  e.step = step;
  return e;
}
inline des::Event tool_state(const std::string& tool, des::ToolState s, double t,
                             std::optional<double> until_min = std::nullopt) {
  auto e = event(des::EventKind::ToolState, t);
  e.tool = tool;
  e.state = s;
  if (until_min) e.until = at_min(*until_min);
  return e;
}
inline des::Event pm_start(const std::string& tool, double t, const std::string& calendar = "",
                           std::optional<double> until_min = std::nullopt) {
  auto e = event(des::EventKind::PmStart, t);
  e.tool = tool;
  e.calendar = calendar;
  if (until_min) e.until = at_min(*until_min);
  return e;
}
inline des::Event pm_end(const std::string& tool, double t, const std::string& calendar = "") {
  auto e = event(des::EventKind::PmEnd, t);
  e.tool = tool;
  e.calendar = calendar;
  return e;
}
inline des::Event setup_change(const std::string& tool, const std::string& setup, double t) {
  auto e = event(des::EventKind::SetupChange, t);
  e.tool = tool;
  e.setup = setup;
  return e;
}

// ---- views ----------------------------------------------------------------------------------

inline const des::LotView* find_lot(const des::StateView& v, const std::string& name) {
  for (const auto& l : v.lots)
    if (l.name == name) return &l;
  return nullptr;
}
inline const des::LotView& lot_of(const des::StateView& v, const std::string& name) {
  const auto* l = find_lot(v, name);
  if (!l) throw std::runtime_error("no lot " + name + " in the view");
  return *l;
}
inline const des::ToolView& tool_of(const des::StateView& v, const des::Simulation& sim,
                                    const std::string& name) {
  return v.tools.at(sim.find_tool(name).value().index());
}
inline const des::QueueView& queue_of(const des::StateView& v, const des::Simulation& sim,
                                      const std::string& group) {
  return v.queues.at(sim.model().find_tool_group(group).value().index());
}
inline std::vector<std::string> queue_names(const des::QueueView& q) {
  std::vector<std::string> out;
  for (const auto& l : q.lots) out.push_back(l.lot);
  return out;
}
inline StepId step_of(const des::Simulation& sim, const std::string& route, std::uint32_t number) {
  return sim.find_step(route, number).value();
}
inline std::uint32_t count_state(const des::LiveKpis& k, des::ToolState s) {
  return k.tools_by_state[static_cast<int>(s)];
}

// The view without what a refused event may change (its count and the version).
inline des::StateView without_counts(des::StateView v) {
  v.counts = {};
  v.version = 0;
  return v;
}

// ---- observer -------------------------------------------------------------------------------

// Records every call as one line ("track_in Implant_CD_1 Init_A_1 @20") and every tool state
// change as (tool, state, minute).
struct Recorder : des::Observer {
  const des::Simulation* sim = nullptr;
  std::vector<std::string> calls;
  std::vector<std::tuple<std::string, des::ToolState, double>> states;

  std::string tool(ToolId t) const { return sim->model().tool(t).name; }
  static std::string when(SimTime t) {
    const double m = min_of(t);
    return "@" + (m == static_cast<double>(static_cast<std::int64_t>(m))
                      ? std::to_string(static_cast<std::int64_t>(m))
                      : std::to_string(m));
  }
  void on_release(const des::LotRecord& r) override {
    calls.push_back("release " + std::string(r.name) + " " + when(r.released));
  }
  void on_queue(des::LotRef l, StepId s, SimTime t) override {
    calls.push_back("queue " + std::string(l.name) + " step " + std::to_string(sim->model().step(s).number) +
                    " " + when(t));
  }
  void on_track_in(ToolId t, std::span<const des::LotRef> lots, StepId, SimTime at) override {
    std::string s = "track_in " + tool(t);
    for (const auto& l : lots) s += " " + std::string(l.name);
    calls.push_back(s + " " + when(at));
  }
  void on_setup(ToolId t, SetupId s, SimTime at) override {
    calls.push_back("setup " + tool(t) + " " + sim->model().data().setups[s.index()].name + " " + when(at));
  }
  void on_step(const des::StepRecord& r) override {
    calls.push_back("step " + std::string(r.name) + " " + std::to_string(sim->model().step(r.step).number) +
                    " " + tool(r.tool) + " " + when(r.finished));
  }
  void on_hold(des::LotRef l, bool held, SimTime at) override {
    calls.push_back(std::string(held ? "hold " : "unhold ") + std::string(l.name) + " " + when(at));
  }
  void on_scrap(des::LotRef l, std::uint32_t wafers, SimTime at) override {
    calls.push_back("scrap " + std::string(l.name) + " " + std::to_string(wafers) + " " + when(at));
  }
  void on_lot_completed(const des::LotRecord& r) override {
    calls.push_back("completed " + std::string(r.name) + " " + when(r.completed));
  }
  void on_tool_state(ToolId t, des::ToolState s, SimTime at) override {
    states.emplace_back(tool(t), s, min_of(at));
  }

  // Minutes at which `tool` entered state `s`.
  std::vector<double> entered(const std::string& name, des::ToolState s) const {
    std::vector<double> out;
    for (const auto& [t, st, at] : states)
      if (t == name && st == s) out.push_back(at);
    return out;
  }
  bool saw(const std::string& call) const {
    for (const auto& c : calls)
      if (c == call) return true;
    return false;
  }
};

}  // namespace fabtwin::test

// Readable failures: times in minutes, states and places by name.
namespace Catch {
template <>
struct StringMaker<fabtwin::model::SimTime> {
  static std::string convert(fabtwin::model::SimTime t) {
    return std::to_string(t.time_since_epoch().count()) + " ms (" + std::to_string(fabtwin::test::min_of(t)) +
           " min)";
  }
};
template <>
struct StringMaker<fabtwin::des::LotOnTool> {
  static std::string convert(const fabtwin::des::LotOnTool& l) {
    return "{" + l.lot + " start " + StringMaker<fabtwin::model::SimTime>::convert(l.start) + ", setup end " +
           StringMaker<fabtwin::model::SimTime>::convert(l.setup_end) + ", end " +
           StringMaker<fabtwin::model::SimTime>::convert(l.expected_end) + "}";
  }
};
template <>
struct StringMaker<fabtwin::des::ToolState> {
  static std::string convert(fabtwin::des::ToolState s) { return std::string(fabtwin::des::to_string(s)); }
};
template <>
struct StringMaker<fabtwin::des::LotPlace> {
  static std::string convert(fabtwin::des::LotPlace p) { return std::string(fabtwin::des::to_string(p)); }
};
template <>
struct StringMaker<fabtwin::des::RefuseReason> {
  static std::string convert(fabtwin::des::RefuseReason r) { return std::string(fabtwin::des::to_string(r)); }
};
}  // namespace Catch
