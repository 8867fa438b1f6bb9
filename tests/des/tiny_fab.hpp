#pragma once
// Builds small hand-checkable models in code for the DES golden tests: constant times, no
// transport, no load/unload unless set.
#include <map>
#include <string>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::test {

using namespace fabtwin::model;

inline Distribution minutes(double v) { return Distribution::constant(v, Unit::Minute); }

struct TinyFab {
  ModelData d;

  TinyFab() {
    d.name = "tiny";
    d.areas = {{"Area"}};
    d.locations = {{"Fab"}};
  }

  ToolGroup& group(const std::string& name, std::uint32_t tools,
                   std::vector<RankKey> ranks = {RankKey::HighestPriority, RankKey::Fifo}) {
    ToolGroup g;
    g.name = name;
    g.area = AreaId{0};
    g.location = LocationId{0};
    g.tool_count = tools;
    g.ranks = std::move(ranks);
    g.first_tool = ToolId{d.tools.size()};
    for (std::uint32_t k = 0; k < tools; ++k)
      d.tools.push_back({name + "_" + std::to_string(k + 1), ToolGroupId{d.tool_groups.size()}, k});
    d.tool_groups.push_back(g);
    return d.tool_groups.back();
  }

  ToolGroupId gid(const std::string& name) const {
    for (std::size_t i = 0; i < d.tool_groups.size(); ++i)
      if (d.tool_groups[i].name == name) return ToolGroupId{i};
    throw std::runtime_error("no group " + name);
  }

  // A product with a route of steps (tool group name, minutes per lot); returns its id.
  ProductId product(const std::string& name, std::vector<std::pair<std::string, double>> steps) {
    Route r;
    r.name = "r_" + name;
    r.first_step = StepId{d.steps.size()};
    r.step_count = static_cast<std::uint32_t>(steps.size());
    const RouteId rid{d.routes.size()};
    for (std::size_t i = 0; i < steps.size(); ++i) {
      Step s;
      s.route = rid;
      s.index = static_cast<std::uint32_t>(i);
      s.number = static_cast<std::uint32_t>(i + 1);
      s.tool_group = gid(steps[i].first);
      s.process_time = minutes(steps[i].second);
      s.process_unit = ProcessUnit::PerLot;
      d.steps.push_back(s);
    }
    d.routes.push_back(r);
    d.products.push_back({name, "", "", rid});
    return ProductId{d.products.size() - 1};
  }

  Step& step(ProductId p, std::uint32_t number) {
    const Route& r = d.routes[d.products[p.index()].route.index()];
    return d.steps[r.first_step.index() + number - 1];
  }
  StepId step_id(ProductId p, std::uint32_t number) const {
    const Route& r = d.routes[d.products[p.index()].route.index()];
    return StepId{r.first_step.value + number - 1};
  }

  SetupId setup(const std::string& name) {
    for (std::size_t i = 0; i < d.setups.size(); ++i)
      if (d.setups[i].name == name) return SetupId{i};
    d.setups.push_back({name});
    return SetupId{d.setups.size() - 1};
  }

  void wip(const std::string& name, ProductId p, std::uint32_t step_number, std::uint32_t priority = 10,
           double due_min = 100000) {
    WipLot w;
    w.name = name;
    w.product = p;
    w.priority = priority;
    w.pieces = 25;
    w.current_step = step_id(p, step_number);
    w.due = SimTime{round_ms(due_min * kMsPerMinute)};
    d.wip.push_back(w);
  }

  void order(const std::string& prefix, ProductId p, double start_min, double every_min, std::uint32_t count,
             std::uint32_t priority = 10) {
    Order o;
    o.lot_prefix = prefix;
    o.product = p;
    o.priority = priority;
    o.pieces = 25;
    o.start = SimTime{round_ms(start_min * kMsPerMinute)};
    o.due = o.start + round_ms(10000 * kMsPerMinute);
    o.interval = minutes(every_min);
    o.repeat_count = count;
    d.orders.push_back(o);
  }

  Model build() const {
    auto m = Model::build(d);
    if (!m.ok()) throw std::runtime_error(m.error().what());
    return m.value();
  }
};

// Records every performed step and tool state change.
struct Trace : des::Observer {
  struct Row {
    std::string lot;
    std::uint32_t step_number;
    std::uint32_t pass;
    std::string tool;
    double queued, start, end;  // minutes
  };
  const des::Simulation* sim = nullptr;
  std::vector<Row> rows;
  std::vector<std::tuple<std::string, des::ToolState, double>> tool_states;

  void on_step(const des::StepRecord& r) override {
    const auto& m = sim->model();
    rows.push_back({sim->lot_name(r.key), m.step(r.step).number, r.pass, m.tool(r.tool).name,
                    to_minutes(r.queued.time_since_epoch()), to_minutes(r.started.time_since_epoch()),
                    to_minutes(r.finished.time_since_epoch())});
  }
  void on_tool_state(ToolId t, des::ToolState s, SimTime at) override {
    tool_states.emplace_back(sim->model().tool(t).name, s, to_minutes(at.time_since_epoch()));
  }
  const Row* find(const std::string& lot, std::uint32_t step, std::uint32_t pass = 0) const {
    for (const auto& r : rows)
      if (r.lot == lot && r.step_number == step && r.pass == pass) return &r;
    return nullptr;
  }
};

}  // namespace fabtwin::test
