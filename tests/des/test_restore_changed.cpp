// des::Simulation::restore_changed: a warm state continued under a changed model and options (the
// what-if runner's shared warm-up). The same model and options continue exactly as the original;
// a new seed gives what fork(seed) gives; a shape-keeping delta takes effect; tools added to a group
// join idle while the saved tools keep their work; a dropped tool's lots wait in their queues
// again; other tables are refused; the warm-up end moves to the new options'.
#include <catch2/catch.hpp>
#include <map>

#include "fabtwin/des/scenario.hpp"
#include "twin_support.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using namespace fabtwin::test;

namespace {

des::Options opts(std::uint64_t seed, double warmup_days) {
  des::Options o;
  o.seed = seed;
  o.warmup = round_ms(warmup_days * kMsPerDay);
  return o;
}

// Completion records as comparable tuples.
std::vector<std::tuple<std::uint32_t, std::uint32_t, std::int64_t, std::int64_t>> completions(
    const des::Simulation& s) {
  std::vector<std::tuple<std::uint32_t, std::uint32_t, std::int64_t, std::int64_t>> v;
  for (const auto& c : s.completed_lots())
    v.emplace_back(c.key.source, c.key.sequence, c.released.time_since_epoch().count(),
                   c.completed.time_since_epoch().count());
  return v;
}

des::Scenario one(des::Delta d) {
  des::Scenario s;
  s.name = "t";
  s.deltas.push_back(std::move(d));
  return s;
}

}  // namespace

TEST_CASE("restore_changed with the same model and options continues as the original") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(7, 10)).value();
  sim.run_until(at_day(10));
  const std::string warm = sim.save();
  auto again = des::Simulation::restore_changed(m, opts(7, 10), warm);
  REQUIRE(again.ok());
  sim.run_until(at_day(30));
  again->run_until(at_day(30));
  CHECK(completions(*again) == completions(sim));
  CHECK(again->events() == sim.events());
  CHECK(again->kpis().tool_groups[2].productive == sim.kpis().tool_groups[2].productive);
}

TEST_CASE("restore_changed with another seed equals fork(seed)") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(1, 5)).value();
  sim.run_until(at_day(5));
  auto forked = sim.fork(99);
  auto restored = des::Simulation::restore_changed(m, opts(99, 5), sim.save());
  REQUIRE(restored.ok());
  forked.run_until(at_day(25));
  restored->run_until(at_day(25));
  CHECK(completions(*restored) == completions(forked));
  sim.run_until(at_day(25));
  CHECK(completions(sim) != completions(forked));  // the seed matters
}

TEST_CASE("restore_changed applies a shape-keeping delta from the checkpoint on") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 5)).value();
  sim.run_until(at_day(5));
  const std::string warm = sim.save();
  const auto before = completions(sim);
  const des::RuleRegistry rules;
  auto slow = des::apply_scenario(m, opts(3, 5), one({des::ProcessTimeDelta{"Litho_E", "", {}, 1.3}}), rules);
  REQUIRE(slow.ok());
  auto changed = des::Simulation::restore_changed(slow->model, slow->options, warm);
  REQUIRE(changed.ok());
  CHECK(completions(*changed) == before);  // the past is kept
  changed->run_until(at_day(40));
  sim.run_until(at_day(40));
  // Litho 30 % slower: its productive share rises, lots take longer.
  const des::Kpis k0 = sim.kpis(), k1 = changed->kpis();
  const auto& g0 = k0.tool_groups[2];
  const auto& g1 = k1.tool_groups[2];
  REQUIRE(g0.name == "Litho_E");
  CHECK(g1.productive > g0.productive * 1.05);
  CHECK(k1.products[0].cycle_time_days.mean > k0.products[0].cycle_time_days.mean);

  auto cr = des::apply_scenario(m, opts(3, 5), one({des::RuleDelta{"Diffusion_AB", "cr"}}), rules);
  REQUIRE(cr.ok());
  CHECK(des::Simulation::restore_changed(cr->model, cr->options, warm).ok());
}

TEST_CASE("restore_changed refuses a model whose tables do not fit the state") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 0)).value();
  sim.run_until(at_day(2));
  const des::RuleRegistry rules;
  // Fewer tools: only a what-if may drop tools; the strict restore names the model.
  auto fewer = des::apply_scenario(m, opts(3, 0), one({des::ToolCountDelta{"Diffusion_AB", 1}}), rules);
  REQUIRE(fewer.ok());
  auto r = des::Simulation::restore(fewer->model, fewer->options, sim.save());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().field == "model");
  // Another order: the release schedule's table does not fit.
  ModelData d = m.data();
  d.orders.push_back(d.orders[0]);
  d.orders.back().lot_prefix += "_extra";
  auto other_model = Model::build(std::move(d));
  REQUIRE(other_model.ok());
  auto o = des::Simulation::restore_changed(*other_model, opts(3, 0), sim.save());
  REQUIRE_FALSE(o.ok());
  CHECK_THAT(o.error().message, Catch::Contains("do not fit the model"));
  des::Options other = opts(3, 0);
  other.wip_sample_interval = round_ms(kMsPerDay / 2);
  auto w = des::Simulation::restore_changed(m, other, sim.save());
  REQUIRE_FALSE(w.ok());
  CHECK(w.error().field == "wip_sample_interval");
  // The strict restore still refuses another seed.
  CHECK_FALSE(des::Simulation::restore(m, opts(4, 0), sim.save()).ok());
}

namespace {
std::optional<ToolId> tool_named(const Model& m, std::string_view name) {
  for (std::uint32_t i = 0; i < m.data().tools.size(); ++i)
    if (m.data().tools[i].name == name) return ToolId{i};
  return std::nullopt;
}

// Per tool name: its track-ins, and its first track-out (lot, end) after the observer was added.
struct ToolLog : des::Observer {
  const Model* model = nullptr;
  std::map<std::string, int> track_ins;
  std::map<std::string, std::pair<std::string, std::int64_t>> first_out;
  void on_track_in(ToolId t, std::span<const des::LotRef>, StepId, SimTime) override {
    ++track_ins[model->tool(t).name];
  }
  void on_step(const des::StepRecord& r) override {
    first_out.try_emplace(model->tool(r.tool).name, std::string(r.name),
                          r.finished.time_since_epoch().count());
  }
};
}  // namespace

TEST_CASE("restore_changed continues a checkpoint with tools added to a group") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 0)).value();
  sim.run_until(at_day(10));
  const std::string warm = sim.save();
  const des::RuleRegistry rules;
  // Two more diffusion tools: they come before the implant and litho tools, whose ids move by two.
  auto more = des::apply_scenario(m, opts(3, 0), one({des::ToolCountDelta{"Diffusion_AB", 4}}), rules);
  REQUIRE(more.ok());
  const Model& m4 = more->model;
  REQUIRE(m4.data().tools.size() == m.data().tools.size() + 2);
  auto grown_r = des::Simulation::restore_changed(m4, more->options, warm);
  REQUIRE(grown_r.ok());
  des::Simulation& grown = *grown_r;

  // Every saved tool keeps its state, jobs and lots under its name; the new ones are up and idle.
  const des::StateView v0 = sim.view(), v1 = grown.view();
  REQUIRE(v1.tools.size() == v0.tools.size() + 2);
  int busy_moved = 0;
  for (const des::ToolView& t0 : v0.tools) {
    const auto id = tool_named(m4, m.tool(t0.tool).name);
    REQUIRE(id);
    des::ToolView t1 = v1.tools[id->index()];
    t1.tool = t0.tool;
    CHECK(t1 == t0);
    busy_moved += id->value != t0.tool.value && !t0.lots.empty();
  }
  CHECK(busy_moved > 0);  // the test moves tools that hold lots
  // Lots on tools name the same tools (lots are in slot order in both).
  REQUIRE(v1.lots.size() == v0.lots.size());
  int on_moved = 0;
  for (std::size_t i = 0; i < v0.lots.size(); ++i) {
    des::LotView l1 = v1.lots[i];
    const des::LotView& l0 = v0.lots[i];
    REQUIRE(l1.name == l0.name);
    if (l0.tool.valid()) {
      REQUIRE(l1.tool.valid());
      CHECK(m4.tool(l1.tool).name == m.tool(l0.tool).name);
      on_moved += l1.tool != l0.tool;
      l1.tool = l0.tool;
    }
    CHECK(l1 == l0);
  }
  CHECK(on_moved > 0);
  for (const char* name : {"Diffusion_AB_3", "Diffusion_AB_4"}) {
    const auto id = tool_named(m4, name);
    REQUIRE(id);
    CHECK(v1.tools[id->index()].state == des::ToolState::Standby);
    CHECK(v1.tools[id->index()].lots.empty());
  }
  CHECK(completions(grown) == completions(sim));  // the past is kept

  // Jobs running at the checkpoint end as scheduled: each moved tool's first track-out is the
  // original run's.
  ToolLog log0, log1;
  log0.model = &m, log1.model = &m4;
  sim.add_observer(&log0);
  grown.add_observer(&log1);
  sim.run_until(at_day(40));
  grown.run_until(at_day(40));
  for (const des::ToolView& t0 : v0.tools) {
    const std::string& name = m.tool(t0.tool).name;
    if (t0.lots.empty() || name.rfind("Diffusion", 0) == 0) continue;
    INFO(name);
    REQUIRE(log0.first_out.count(name));
    REQUIRE(log1.first_out.count(name));
    CHECK(log1.first_out[name] == log0.first_out[name]);
  }
  // The new tools work, and the fab with four diffusion tools moves lots faster.
  CHECK(log1.track_ins["Diffusion_AB_3"] > 0);
  CHECK(log1.track_ins["Diffusion_AB_4"] > 0);
  const des::Kpis k0 = sim.kpis(), k1 = grown.kpis();
  CHECK(k1.tool_groups[0].tools == 4);
  CHECK(k1.tool_groups[0].productive < k0.tool_groups[0].productive);
  // Before it was added (days 0-10 of 40) a tool counts as non-scheduled: 2 x 10 / (4 x 40).
  CHECK(k1.tool_groups[0].non_scheduled == Approx(k0.tool_groups[0].non_scheduled * 0.5 + 0.125));

  // The grown state saves and restores like any other (same model: the same run).
  grown_r = des::Simulation::restore_changed(m4, more->options, warm);
  REQUIRE(grown_r.ok());
  grown_r->run_until(at_day(20));
  auto again = des::Simulation::restore(m4, more->options, grown_r->save());
  REQUIRE(again.ok());
  grown_r->run_until(at_day(40));
  again->run_until(at_day(40));
  CHECK(completions(*again) == completions(*grown_r));
  CHECK(completions(*grown_r) == completions(grown));
}

TEST_CASE("restore_changed moves the warm-up end") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(5, 0)).value();
  sim.run_until(at_day(10));
  auto later = des::Simulation::restore_changed(m, opts(5, 15), sim.save());
  REQUIRE(later.ok());
  later->run_until(at_day(30));
  sim.run_until(at_day(30));
  CHECK(completions(*later) == completions(sim));  // the same run
  const auto k0 = sim.kpis(), k1 = later->kpis();
  CHECK(k1.warmup_days == 15);
  // Statistics restarted at day 15: lots released before are not counted.
  CHECK(k1.products[0].completed_lots < k0.products[0].completed_lots);
  CHECK(k1.tool_groups[2].productive != k0.tool_groups[2].productive);
  // A warm-up end at the checkpoint's own time restarts the statistics there.
  auto now = des::Simulation::restore_changed(m, opts(5, 20), [&] {
    auto s20 = des::Simulation::create(m, opts(5, 0)).value();
    s20.run_until(at_day(20));
    return s20.save();
  }());
  REQUIRE(now.ok());
  now->run_until(at_day(30));
  const auto k2 = now->kpis();
  CHECK(k2.warmup_days == 20);
  CHECK(k2.tool_groups[2].productive != k0.tool_groups[2].productive);
  CHECK(k2.products[0].completed_lots < k1.products[0].completed_lots);
}

TEST_CASE("restore_changed continues a checkpoint with tools dropped from groups") {
  const Model& m = minifab_model();
  auto sim = des::Simulation::create(m, opts(3, 0)).value();
  sim.run_until(at_day(10));
  const des::RuleRegistry rules;
  des::Scenario two;
  two.name = "fewer";
  two.deltas = {des::Delta{des::ToolCountDelta{"Diffusion_AB", 1}},
                des::Delta{des::ToolCountDelta{"Implant_CD", 1}}};
  auto fewer = des::apply_scenario(m, opts(3, 0), two, rules);
  REQUIRE(fewer.ok());
  const Model& m1 = fewer->model;
  auto cut_r = des::Simulation::restore_changed(m1, fewer->options, sim.save());
  REQUIRE(cut_r.ok());
  des::Simulation& cut = *cut_r;
  const des::StateView v0 = sim.view(), v1 = cut.view();
  REQUIRE(v1.tools.size() == v0.tools.size() - 2);
  // The kept tools keep their state under their names.
  for (const des::ToolView& t0 : v0.tools) {
    const auto id = tool_named(m1, m.tool(t0.tool).name);
    if (!id) continue;
    des::ToolView t1 = v1.tools[id->index()];
    t1.tool = t0.tool;
    CHECK(t1 == t0);
  }
  // Lots on a dropped tool wait at their step again; every other lot is where it was.
  REQUIRE(v1.lots.size() == v0.lots.size());
  int back = 0;
  for (std::size_t i = 0; i < v0.lots.size(); ++i) {
    const des::LotView& l0 = v0.lots[i];
    des::LotView l1 = v1.lots[i];
    INFO(l0.name);
    REQUIRE(l1.name == l0.name);
    if (l0.tool.valid() && !tool_named(m1, m.tool(l0.tool).name)) {
      ++back;
      CHECK(l1.place == des::LotPlace::Queued);
      CHECK(l1.step == l0.step);
      CHECK(l1.group == m.step(l0.step).tool_group);
      CHECK_FALSE(l1.tool.valid());
      continue;
    }
    if (l0.tool.valid()) {
      CHECK(m1.tool(l1.tool).name == m.tool(l0.tool).name);
      l1.tool = l0.tool;
    }
    CHECK(l1 == l0);
  }
  CHECK(back > 0);  // the dropped tools held lots
  // The fab goes on with one tool fewer in each group: lots keep completing, the remaining
  // diffusion tool works more.
  cut.run_until(at_day(40));
  sim.run_until(at_day(40));
  const des::Kpis k0 = sim.kpis(), k1 = cut.kpis();
  CHECK(k1.tool_groups[0].tools == 1);
  CHECK(k1.tool_groups[0].productive > k0.tool_groups[0].productive);
  CHECK(cut.completed_lots().size() > completions(sim).size() / 2);
  // The cut state saves and restores like any other.
  auto again = des::Simulation::restore(m1, fewer->options, cut.save());
  REQUIRE(again.ok());
  again->run_until(at_day(50));
  cut.run_until(at_day(50));
  CHECK(completions(*again) == completions(cut));
}

namespace {
// Lot-to-lens: per (lot, step) the tool that ran it; at a step another step dedicates a tool for,
// the lot's tool must be the one that ran that other step.
struct DedCheck : des::Observer {
  const Model* model = nullptr;
  std::map<std::uint32_t, std::vector<std::uint32_t>> dedicating;  // step -> the steps dedicating for it
  std::map<std::pair<std::string, std::uint32_t>, std::string> ran;
  bool checking = false;
  std::string dropped;  // a tool the model dropped: dedications to it no longer hold
  int checked = 0, wrong = 0;
  void on_step(const des::StepRecord& r) override {
    const std::string lot(r.name), tool = model->tool(r.tool).name;
    if (checking)
      if (auto it = dedicating.find(r.step.value); it != dedicating.end())
        for (const std::uint32_t a : it->second)
          if (auto done = ran.find({lot, a}); done != ran.end() && done->second != dropped)
            ++checked, wrong += done->second != tool;
    ran[{lot, r.step.value}] = tool;
  }
};
}  // namespace

TEST_CASE("restore_changed with a tool added on SMT2020 HVLM keeps dedications and jobs") {
  const Model& m = hvlm_model();
  const std::string& first_group = m.tool_group(m.data().tools[0].group).name;  // every other tool moves
  DedCheck check;
  check.model = &m;
  for (std::uint32_t s = 0; s < m.data().steps.size(); ++s)
    if (const Step& st = m.data().steps[s]; st.dedicate && st.dedicate_for)
      check.dedicating[st.dedicate_for->value].push_back(s);
  REQUIRE_FALSE(check.dedicating.empty());
  auto sim = des::Simulation::create(m, opts(2, 0)).value();
  sim.add_observer(&check);
  sim.run_until(at_day(20));
  sim.remove_observer(&check);
  const auto ran_before = check.ran;  // the tools of the steps before the checkpoint
  const des::RuleRegistry rules;
  const std::uint32_t n = m.tool_group(m.data().tools[0].group).tool_count;
  auto more = des::apply_scenario(m, opts(2, 0), one({des::ToolCountDelta{first_group, n + 1}}), rules);
  REQUIRE(more.ok());
  auto grown = des::Simulation::restore_changed(more->model, more->options, sim.save());
  REQUIRE(grown.ok());
  // Saved tools keep their state under their names.
  const des::StateView v0 = sim.view(), v1 = grown->view();
  for (const des::ToolView& t0 : v0.tools) {
    des::ToolView t1 = v1.tools[tool_named(more->model, m.tool(t0.tool).name)->index()];
    t1.tool = t0.tool;
    CHECK(t1 == t0);
  }
  // Dedications made before the checkpoint (their tools' ids moved) hold after it.
  check.model = &more->model;
  check.checking = true;
  grown->add_observer(&check);
  grown->run_until(at_day(30));
  CHECK(check.checked > 100);
  CHECK(check.wrong == 0);

  // One tool fewer in the group of a lot-to-lens target step: lots dedicated to the dropped tool
  // may run on any of the group's tools; every other dedication holds.
  const std::uint32_t target = check.dedicating.begin()->first;
  const ToolGroupId g = m.step(StepId{target}).tool_group;
  const ToolGroup& tg = m.tool_group(g);
  const std::string last = m.tool(ToolId{tg.first_tool.value + tg.tool_count - 1}).name;
  auto cut =
      des::apply_scenario(m, opts(2, 0), one({des::ToolCountDelta{tg.name, tg.tool_count - 1}}), rules);
  REQUIRE(cut.ok());
  auto cut_sim = des::Simulation::restore_changed(cut->model, cut->options, sim.save());
  REQUIRE(cut_sim.ok());
  DedCheck check2;
  check2.model = &cut->model;
  check2.dedicating = check.dedicating;
  check2.ran = ran_before;
  check2.dropped = last;
  check2.checking = true;
  cut_sim->add_observer(&check2);
  cut_sim->run_until(at_day(30));
  CHECK(check2.checked > 100);
  CHECK(check2.wrong == 0);
}
