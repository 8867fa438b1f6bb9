// Scenario deltas: each changes exactly what it names on the mini-fab and SMT2020 HVLM, keeps every
// other entity's identity (tool names and groups, calendar indices), and each refusal names the
// delta's field.
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <tuple>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;
using des::Delta;
using des::Scenario;

namespace {

const Model& minifab() {
  static const Model m = io::load_model(test::minifab()).value();
  return m;
}
const Model& hvlm() {
  static const Model m = io::load_model(test::hvlm()).value();
  return m;
}

Scenario one(Delta d) { return Scenario{"t", "", {std::move(d)}}; }

des::ScenarioModel apply_ok(const Model& m, const Scenario& s, const des::Options& o = {}) {
  auto r = des::apply_scenario(m, o, s, des::RuleRegistry{});
  INFO((r.ok() ? std::string() : r.error().what()));
  REQUIRE(r.ok());
  return std::move(r).value();
}

Error apply_err(const Model& m, const Scenario& s, const des::RuleRegistry& rules = {}) {
  auto r = des::apply_scenario(m, {}, s, rules);
  REQUIRE_FALSE(r.ok());
  return r.error();
}

ToolGroupId group(const Model& m, std::string_view name) { return m.find_tool_group(name).value(); }
std::size_t gindex(const Model& m, std::string_view name) { return group(m, name).index(); }

// What a tool group's tools get from the attachments, in attachment order (as the kernel compiles
// them): (pm?, calendar index, first occurrence).
using CalUse = std::tuple<bool, std::uint32_t, Distribution>;
std::vector<CalUse> calendars_of(const ModelData& d, std::size_t g) {
  std::vector<CalUse> out;
  for (const auto& a : d.attachments) {
    const bool hit =
        a.target_kind == AttachTarget::Area ? d.tool_groups[g].area.value == a.target : a.target == g;
    if (hit) out.emplace_back(a.is_pm, a.calendar, a.first_occurrence);
  }
  return out;
}

// Every step of the model, route name and step number -> step.
std::map<std::pair<std::string, std::uint32_t>, Step> steps_by_number(const Model& m) {
  std::map<std::pair<std::string, std::uint32_t>, Step> out;
  for (const auto& s : m.steps()) out.emplace(std::pair{m.route(s.route).name, s.number}, s);
  return out;
}

}  // namespace

TEST_CASE("an empty scenario gives the base model and options", "[des][scenario]") {
  const des::Options base{.seed = 7, .rule = "cr"};
  const auto r = apply_ok(minifab(), Scenario{"nothing", "", {}}, base);
  CHECK(r.model == minifab());
  CHECK(r.options.seed == 7);
  CHECK(r.options.rule == "cr");
  CHECK(r.options.group_rules.empty());
  CHECK(r.options.rules == nullptr);
}

TEST_CASE("scaling a distribution scales its mean and every draw, keeping its shape", "[des][scenario]") {
  const std::vector<Distribution> dists = {
      Distribution::constant(10, Unit::Minute),      {DistKind::Uniform, 10, 2, 0, Unit::Minute},
      {DistKind::Exponential, 10, 0, 0, Unit::Hour}, {DistKind::Triangular, 2, 5, 11, Unit::Minute},
      {DistKind::Normal, 10, 4, 0, Unit::Minute},    {DistKind::Lognormal, 10, 4, 0, Unit::Minute},
  };
  for (const auto& d : dists) {
    INFO(to_string(d.kind));
    const Distribution s = des::scale(d, 1.7);
    CHECK(s.kind == d.kind);
    CHECK(s.unit == d.unit);
    CHECK(s.mean() == Approx(1.7 * d.mean()));
    for (double u1 : {0.01, 0.3, 0.5, 0.77, 0.999})
      for (double u2 : {0.1, 0.6}) CHECK(s.sample(u1, u2) == Approx(1.7 * d.sample(u1, u2)).epsilon(1e-12));
  }
}

TEST_CASE("adding a tool to DE_BE_11 adds exactly one tool and keeps every other tool's name and group",
          "[des][scenario][smt2020]") {
  const Model& base = hvlm();
  const ToolGroup& g = base.tool_group(group(base, "DE_BE_11"));
  const auto r = apply_ok(base, one({des::ToolCountDelta{"DE_BE_11", g.tool_count + 1}}));
  const Model& m = r.model;
  REQUIRE(m.tools().size() == base.tools().size() + 1);
  REQUIRE(m.tool_groups().size() == base.tool_groups().size());
  // The new tool: named as the model names tools, last in its group.
  const ToolGroup& ng = m.tool_group(group(m, "DE_BE_11"));
  CHECK(ng.tool_count == g.tool_count + 1);
  const Tool& added = m.tool(ToolId{ng.first_tool.value + g.tool_count});
  CHECK(added.name == "DE_BE_11_" + std::to_string(g.tool_count + 1));
  CHECK(added.group == group(m, "DE_BE_11"));
  CHECK(added.index_in_group == g.tool_count);
  // Every other tool keeps its name, group and index in the group; later groups shift by one.
  std::map<std::string, const Tool*> by_name;
  for (const auto& t : m.tools()) by_name.emplace(t.name, &t);
  for (const auto& t : base.tools()) {
    INFO(t.name);
    REQUIRE(by_name.count(t.name) == 1);
    CHECK(by_name[t.name]->group == t.group);
    CHECK(by_name[t.name]->index_in_group == t.index_in_group);
  }
  for (std::size_t i = 0; i < base.tool_groups().size(); ++i) {
    const auto& bg = base.tool_groups()[i];
    const auto& sg = m.tool_groups()[i];
    INFO(bg.name);
    if (bg.name != "DE_BE_11") CHECK(sg.tool_count == bg.tool_count);
    CHECK(sg.first_tool.value == bg.first_tool.value + (bg.first_tool.value > g.first_tool.value ? 1u : 0u));
  }
  // Nothing else changes.
  ModelData expect = base.data();
  expect.tool_groups = m.data().tool_groups;
  expect.tools = m.data().tools;
  CHECK(expect == m.data());
}

TEST_CASE("a tool count below the current drops the group's last tools only", "[des][scenario]") {
  const auto r = apply_ok(minifab(), one({des::ToolCountDelta{"Diffusion_AB", 1}}));
  std::vector<std::string> names;
  for (const auto& t : r.model.tools()) names.push_back(t.name);
  CHECK(names == std::vector<std::string>{"Diffusion_AB_1", "Implant_CD_1", "Implant_CD_2", "Litho_E_1"});
  CHECK(r.model.tool_group(group(r.model, "Implant_CD")).first_tool.value == 1);
  // The same count as the model's is no change at all.
  CHECK(apply_ok(minifab(), one({des::ToolCountDelta{"Litho_E", 1}})).model == minifab());
}

TEST_CASE("a rule delta sets the group's rule in the options, by registered or short name",
          "[des][scenario]") {
  class ByWafers final : public des::RankRule {
   public:
    std::string_view name() const override { return "rank_WAFERS"; }
    void score(const des::RankContext&, std::span<const des::Candidate> c,
               std::span<double> out) const override {
      for (std::size_t i = 0; i < c.size(); ++i) out[i] = c[i].wafers;
    }
  };
  des::RuleRegistry rules;
  rules.add(std::make_shared<ByWafers>());
  const Scenario s{"rules",
                   "",
                   {{des::RuleDelta{"Implant_CD", "edd"}},
                    {des::RuleDelta{"Litho_E", "rank_WAFERS"}},
                    {des::RuleDelta{"Implant_CD", "rank_CR"}}}};
  auto r = des::apply_scenario(minifab(), des::Options{.rule = "fifo"}, s, rules);
  REQUIRE(r.ok());
  // A later delta for the same group replaces the earlier one; the model is unchanged.
  using Pairs = std::vector<std::pair<std::string, std::string>>;
  CHECK(r->options.group_rules == Pairs{{"Implant_CD", "rank_CR"}, {"Litho_E", "rank_WAFERS"}});
  CHECK(r->options.rule == "fifo");
  CHECK(r->model == minifab());
  // The run's registry is the one the rules were checked against.
  REQUIRE(r->options.rules != nullptr);
  CHECK(r->options.rules->find("rank_WAFERS") != nullptr);
  // A user-registered rule is unknown to a registry without it.
  const Error e = apply_err(minifab(), one({des::RuleDelta{"Litho_E", "rank_WAFERS"}}));
  CHECK(e.field == "deltas[0].rule.rule");
  CHECK_THAT(e.message, Catch::Contains("'rank_WAFERS'") && Catch::Contains("rank_FIFO"));
}

TEST_CASE("a processing-time factor on a group scales every step on it and nothing else", "[des][scenario]") {
  const Model& base = minifab();
  const auto m = apply_ok(base, one({des::ProcessTimeDelta{.group = "Implant_CD", .factor = 1.1}})).model;
  const auto gi = group(base, "Implant_CD");
  REQUIRE(m.steps().size() == base.steps().size());
  int changed = 0;
  for (std::size_t i = 0; i < base.steps().size(); ++i) {
    const Step& b = base.steps()[i];
    const Step& s = m.steps()[i];
    if (b.tool_group == gi) {
      ++changed;
      CHECK(s.process_time.mean() == Approx(1.1 * b.process_time.mean()));
      CHECK(s.process_time.b == Approx(1.1 * b.process_time.b));
      Step rest = s;
      rest.process_time = b.process_time;
      CHECK(rest == b);
    } else {
      CHECK(s == b);
    }
  }
  CHECK(changed == 4);  // steps 2 and 4 of both routes
  ModelData expect = base.data();
  expect.steps = m.data().steps;
  CHECK(expect == m.data());
}

TEST_CASE("a processing-time factor on one step scales that step only, cascading intervals too",
          "[des][scenario][smt2020]") {
  const Model& base = hvlm();
  const auto before = steps_by_number(base);
  // r_3 step 56 has a batch interval, step 2 a part interval (cascading tools).
  using Key = std::pair<std::string, std::uint32_t>;
  const Key batch{"r_3", 56}, part{"r_3", 2};
  REQUIRE(before.at(batch).batch_interval.has_value());
  REQUIRE(before.at(part).part_interval.has_value());
  const Scenario s{"steps",
                   "",
                   {{des::ProcessTimeDelta{.route = "r_3", .step = 56, .factor = 0.9}},
                    {des::ProcessTimeDelta{.route = "r_3", .step = 2, .factor = 0.9}}}};
  const auto m = apply_ok(base, s).model;
  int changed = 0;
  for (const auto& [key, st] : steps_by_number(m)) {
    const Step& b = before.at(key);
    if (key != batch && key != part) {
      CHECK(st == b);
      continue;
    }
    ++changed;
    CHECK(st.process_time.mean() == Approx(0.9 * b.process_time.mean()));
    for (auto q : {&Step::batch_interval, &Step::part_interval}) {
      REQUIRE((st.*q).has_value() == (b.*q).has_value());
      if (!(b.*q)) continue;
      CHECK((st.*q)->value == Approx(0.9 * (b.*q)->value));
      CHECK((st.*q)->unit == (b.*q)->unit);
    }
  }
  CHECK(changed == 2);
}

TEST_CASE("deltas apply in order and compose", "[des][scenario]") {
  const Scenario s{"twice",
                   "",
                   {{des::ProcessTimeDelta{.route = "r_A", .step = 3, .factor = 1.1}},
                    {des::ProcessTimeDelta{.group = "Litho_E", .factor = 2}}}};
  const auto m = apply_ok(minifab(), s).model;
  CHECK(steps_by_number(m).at({"r_A", 3}).process_time.mean() == Approx(2.2 * 2.2));  // 2.2 min * 1.1 * 2
  CHECK(steps_by_number(m).at({"r_B", 3}).process_time.mean() == Approx(2 * 2.4));
}

TEST_CASE("a release delta changes the interval and lots per release of one order", "[des][scenario]") {
  const Model& base = minifab();
  const auto m = apply_ok(base, one({des::ReleaseDelta{"Lot_A", 0.5, 2}})).model;
  CHECK(m.orders()[0].lot_prefix == "Lot_A");
  CHECK(m.orders()[0].interval.mean() == Approx(90));  // 180 min / 2
  CHECK(m.orders()[0].lots_per_release == 2);
  CHECK(m.orders()[1] == base.orders()[1]);
  CHECK(m.orders()[2] == base.orders()[2]);
  ModelData expect = base.data();
  expect.orders = m.data().orders;
  CHECK(expect == m.data());
  // By order name (ORDER) as well; only the lots per release.
  const auto byname = apply_ok(base, one({des::ReleaseDelta{"O_Lot_B", std::nullopt, 3}})).model;
  CHECK(byname.orders()[1].lots_per_release == 3);
  CHECK(byname.orders()[1].interval == base.orders()[1].interval);
}

TEST_CASE("a product-mix factor scales the start rate of that product's orders only", "[des][scenario]") {
  const Model& base = minifab();
  const auto m = apply_ok(base, one({des::ProductMixDelta{"part_A", 1.25}})).model;
  // part_A: Lot_A (180 min) and HotLot_A (2880 min) release 1.25 times as often.
  CHECK(m.orders()[0].interval.mean() == Approx(180 / 1.25));
  CHECK(m.orders()[2].interval.mean() == Approx(2880 / 1.25));
  CHECK(m.orders()[1] == base.orders()[1]);
}

TEST_CASE("an availability delta on a group sharing an area calendar clones it for that group only",
          "[des][scenario][smt2020]") {
  const Model& base = hvlm();
  const std::size_t g = gindex(base, "DE_BE_11");
  const auto& bd = base.data();
  const auto before = calendars_of(bd, g);
  const auto r = apply_ok(base, one({des::AvailabilityDelta{"DE_BE_11", 2.0, 0.5, 1.5, 0.8}}));
  const auto& d = r.model.data();
  // Existing calendars keep their index and contents; clones are appended.
  REQUIRE(d.down_calendars.size() == bd.down_calendars.size() + 1);  // BREAK_Dry_Etch is shared by the area
  // Its PM calendars are attached to it alone (SMT2020 names them per group): changed in place.
  REQUIRE(d.pm_calendars.size() == bd.pm_calendars.size());
  for (std::size_t i = 0; i < bd.down_calendars.size(); ++i)
    CHECK(d.down_calendars[i] == bd.down_calendars[i]);
  for (std::size_t i = 0; i < bd.pm_calendars.size(); ++i) {
    bool own = false;
    for (const auto& [pm, cal, foa] : before) own = own || (pm && cal == i);
    if (!own) CHECK(d.pm_calendars[i] == bd.pm_calendars[i]);
  }
  std::uint32_t down = UINT32_MAX;
  for (const auto& [pm, cal, foa] : before)
    if (!pm) down = cal;
  REQUIRE(down < bd.down_calendars.size());
  const DownCalendar& clone = d.down_calendars.back();
  const DownCalendar& orig = bd.down_calendars[down];
  CHECK(clone.name == orig.name + "@DE_BE_11");
  CHECK(clone.time_to_failure.mean() == Approx(2 * orig.time_to_failure.mean()));
  CHECK(clone.time_to_repair.mean() == Approx(0.5 * orig.time_to_repair.mean()));
  // Every other group reaches the same calendars, with the same indices, first occurrences and
  // order, as in the base model.
  for (std::size_t o = 0; o < bd.tool_groups.size(); ++o) {
    if (o == g) continue;
    INFO(bd.tool_groups[o].name);
    CHECK(calendars_of(d, o) == calendars_of(bd, o));
  }
  // DE_BE_11 reaches the clone where it reached the area calendar, in the same order.
  const auto after = calendars_of(d, g);
  REQUIRE(after.size() == before.size());
  for (std::size_t k = 0; k < before.size(); ++k) {
    const auto& [bpm, bcal, bfoa] = before[k];
    const auto& [pm, cal, foa] = after[k];
    CHECK(pm == bpm);
    if (!bpm) {
      CHECK(cal == d.down_calendars.size() - 1);
      CHECK(foa.mean() == Approx(2 * bfoa.mean()));  // the first failure is a time to failure too
    } else {
      CHECK(foa == bfoa);  // the first PM keeps its time
      const PmCalendar& was = bd.pm_calendars[bcal];
      const PmCalendar& now = d.pm_calendars[cal];
      CHECK(now.interval.value == Approx(1.5 * was.interval.value));
      CHECK(now.duration.mean() == Approx(0.8 * was.duration.mean()));
      CHECK(cal == bcal);
    }
  }
  // Tools and steps are untouched.
  CHECK(d.tools == bd.tools);
  CHECK(d.steps == bd.steps);
}

TEST_CASE("an availability delta on a group's own calendar changes it in place", "[des][scenario]") {
  const Model& base = minifab();
  const auto r = apply_ok(base, one({des::AvailabilityDelta{.group = "Litho_E", .pm_interval_factor = 2}}));
  const auto& d = r.model.data();
  REQUIRE(d.pm_calendars.size() == base.pm_calendars().size());  // Litho_E_WK belongs to Litho_E alone
  CHECK(d.pm_calendars[0].name == "Litho_E_WK");
  CHECK(d.pm_calendars[0].interval.value == Approx(14));  // 7 days * 2
  CHECK(d.pm_calendars[0].interval.unit == Unit::Day);
  ModelData expect = base.data();
  expect.pm_calendars[0] = d.pm_calendars[0];
  CHECK(expect == d);
}

TEST_CASE("a group sharing an area with others gets its own down calendar on the mini-fab",
          "[des][scenario]") {
  // Give the mini-fab's Implant area a second group sharing BREAK_Implant, then change one of them.
  ModelData data = minifab().data();
  ToolGroup extra = data.tool_groups[gindex(minifab(), "Implant_CD")];
  extra.name = "Implant_F";
  extra.tool_count = 1;
  extra.first_tool = ToolId{static_cast<std::uint32_t>(data.tools.size())};
  data.tool_groups.push_back(extra);
  data.tools.push_back(Tool{"Implant_F_1", ToolGroupId{data.tool_groups.size() - 1}, 0});
  const Model base = Model::build(data).value();
  const std::size_t f = gindex(base, "Implant_F");
  const std::size_t cd = gindex(base, "Implant_CD");

  const auto d =
      apply_ok(base, one({des::AvailabilityDelta{.group = "Implant_F", .mttr_factor = 3}})).model.data();
  REQUIRE(d.down_calendars.size() == base.down_calendars().size() + 1);
  CHECK(d.down_calendars.back().name == "BREAK_Implant@Implant_F");
  CHECK(d.down_calendars.back().time_to_repair.mean() == Approx(180));  // 60 min * 3
  CHECK(d.down_calendars[1] == base.down_calendars()[1]);               // BREAK_Implant itself unchanged
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g)
    if (g != f) CHECK(calendars_of(d, g) == calendars_of(base.data(), g));
  // The area attachment became one attachment per group of the area, in its place.
  CHECK(d.attachments.size() == base.attachments().size() + 1);
  CHECK(d.attachments[1].target_kind == AttachTarget::ToolGroup);
  CHECK(d.attachments[1].target == cd);
  CHECK(d.attachments[1].calendar == 1);
  CHECK(d.attachments[2].target == f);
  CHECK(d.attachments[2].calendar == d.down_calendars.size() - 1);
  // A second delta on the same group changes its clone in place.
  const Scenario twice{"twice",
                       "",
                       {{des::AvailabilityDelta{.group = "Implant_F", .mttr_factor = 3}},
                        {des::AvailabilityDelta{.group = "Implant_F", .mttf_factor = 2}}}};
  const auto d2 = apply_ok(base, twice).model.data();
  CHECK(d2.down_calendars.size() == d.down_calendars.size());
  CHECK(d2.down_calendars.back().time_to_failure.mean() == Approx(2 * 4320));
}

TEST_CASE("a transport factor scales every transport time", "[des][scenario]") {
  const Model& base = minifab();
  const auto m = apply_ok(base, one({des::TransportDelta{1.2}})).model;
  REQUIRE(m.transports().size() == base.transports().size());
  for (std::size_t i = 0; i < m.transports().size(); ++i) {
    CHECK(m.transports()[i].time.mean() == Approx(1.2 * base.transports()[i].time.mean()));
    CHECK(m.transports()[i].time.b == Approx(1.2 * base.transports()[i].time.b));
  }
  ModelData expect = base.data();
  expect.transports = m.data().transports;
  CHECK(expect == m.data());
}

TEST_CASE("a model changed by every kind of delta simulates", "[des][scenario]") {
  const Scenario s{"all",
                   "",
                   {{des::ToolCountDelta{"Litho_E", 2}},
                    {des::RuleDelta{"Implant_CD", "rank_CR"}},
                    {des::ProcessTimeDelta{.group = "Diffusion_AB", .factor = 1.05}},
                    {des::ProcessTimeDelta{.route = "r_B", .step = 4, .factor = 0.9}},
                    {des::ReleaseDelta{"Lot_B", 0.9, std::nullopt}},
                    {des::ProductMixDelta{"part_A", 1.1}},
                    {des::AvailabilityDelta{"Implant_CD", 1.2, 0.8, 1.5, 0.9}},
                    {des::TransportDelta{1.5}}}};
  const auto r = apply_ok(minifab(), s);
  auto sim = des::Simulation::create(r.model, r.options);
  REQUIRE(sim.ok());
  sim->run_until(SimTime{round_ms(10 * kMsPerDay)});
  CHECK(sim->kpis().lots_completed > 0);
}

TEST_CASE("every refused delta gives an error naming its field and value, and applies nothing",
          "[des][scenario]") {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  struct Case {
    Delta delta;
    std::string field;
    std::string says;
  };
  std::vector<Case> cases;
  auto add = [&](Delta d, std::string field, std::string says) {
    cases.push_back(Case{std::move(d), std::move(field), std::move(says)});
  };
  add({des::ToolCountDelta{"Nope", 2}}, "tool_count.group", "'Nope'");
  add({des::ToolCountDelta{"Litho_E", 0}}, "tool_count.count", "at least one tool");
  add({des::ToolCountDelta{"Litho_E", 100'001}}, "tool_count.count", "100001");
  add({des::RuleDelta{"Nope", "rank_CR"}}, "rule.group", "'Nope'");
  add({des::RuleDelta{"Litho_E", "rank_MAGIC"}}, "rule.rule", "'rank_MAGIC'");
  add({des::RuleDelta{"Litho_E", "magic"}}, "rule.rule", "rank_MAGIC");
  add({des::ProcessTimeDelta{.group = "Nope", .factor = 1.1}}, "process_time_factor.group", "'Nope'");
  add({des::ProcessTimeDelta{.group = "Litho_E", .factor = 0}}, "process_time_factor.factor",
      "greater than 0");
  add({des::ProcessTimeDelta{.group = "Litho_E", .factor = -1}}, "process_time_factor.factor", "-1");
  add({des::ProcessTimeDelta{.group = "Litho_E", .factor = nan}}, "process_time_factor.factor", "finite");
  add({des::ProcessTimeDelta{.group = "Litho_E", .factor = inf}}, "process_time_factor.factor", "finite");
  add({des::ProcessTimeDelta{.factor = 1.1}}, "process_time_factor.group", "route");
  add({des::ProcessTimeDelta{.group = "Litho_E", .route = "r_A", .step = 3, .factor = 1.1}},
      "process_time_factor.group", "not both");
  add({des::ProcessTimeDelta{.route = "r_Z", .step = 3, .factor = 1.1}}, "process_time_factor.route",
      "'r_Z'");
  add({des::ProcessTimeDelta{.route = "r_A", .step = 99, .factor = 1.1}}, "process_time_factor.step", "99");
  add({des::ProcessTimeDelta{.route = "r_A", .factor = 1.1}}, "process_time_factor.step", "missing");
  add({des::ProcessTimeDelta{.step = 3, .factor = 1.1}}, "process_time_factor.route", "missing");
  add({des::ReleaseDelta{"Lot_Q", 0.9, std::nullopt}}, "release.order", "'Lot_Q'");
  add({des::ReleaseDelta{"Lot_A", 0.0, std::nullopt}}, "release.interval_factor", "greater than 0");
  add({des::ReleaseDelta{"Lot_A", std::nullopt, 0}}, "release.lots_per_release", "at least 1");
  add({des::ReleaseDelta{"Lot_A", std::nullopt, std::nullopt}}, "release", "no change");
  add({des::ProductMixDelta{"part_Z", 1.1}}, "product_mix.product", "'part_Z'");
  add({des::ProductMixDelta{"part_A", -0.5}}, "product_mix.factor", "-0.5");
  add({des::AvailabilityDelta{.group = "Nope", .mttf_factor = 2}}, "availability.group", "'Nope'");
  add({des::AvailabilityDelta{.group = "Litho_E", .mttr_factor = 0}}, "availability.mttr_factor",
      "greater than 0");
  add({des::AvailabilityDelta{.group = "Litho_E", .pm_duration_factor = inf}},
      "availability.pm_duration_factor", "finite");
  add({des::AvailabilityDelta{.group = "Litho_E"}}, "availability", "no change");
  add({des::TransportDelta{0}}, "transport_factor", "greater than 0");
  add({des::TransportDelta{nan}}, "transport_factor", "finite");
  for (const auto& c : cases) {
    // A valid delta first: the refusal still applies nothing.
    Scenario s{"bad", "", {{des::ToolCountDelta{"Litho_E", 3}}, c.delta}};
    s.deltas[1].line = 17;
    const Error e = apply_err(minifab(), s);
    INFO(e.what());
    CHECK(e.field == "deltas[1]." + c.field);
    CHECK_THAT(e.message, Catch::Contains(c.says));
    CHECK(e.file == "scenario 'bad'");
    CHECK(e.line == 17);
  }
}

TEST_CASE("deltas that name something the model lacks are refused", "[des][scenario]") {
  // Without breakdowns or PMs on a group, its availability factors have nothing to change.
  ModelData data = minifab().data();
  data.attachments.clear();
  data.transports.clear();
  const Model bare = Model::build(data).value();
  Error e = apply_err(bare, one({des::AvailabilityDelta{.group = "Litho_E", .mttf_factor = 2}}));
  CHECK(e.field == "deltas[0].availability.mttf_factor");
  CHECK_THAT(e.message, Catch::Contains("no down calendar"));
  e = apply_err(bare, one({des::AvailabilityDelta{.group = "Litho_E", .pm_interval_factor = 2}}));
  CHECK(e.field == "deltas[0].availability.pm_interval_factor");
  CHECK_THAT(e.message, Catch::Contains("no PM calendar"));
  e = apply_err(bare, one({des::TransportDelta{2}}));
  CHECK(e.field == "deltas[0].transport_factor");
  // A product without orders, a tool group no step runs on.
  data = minifab().data();
  std::erase_if(data.orders, [](const Order& o) { return o.lot_prefix == "Lot_B"; });
  ToolGroup idle = data.tool_groups.back();
  idle.name = "Idle_G";
  idle.first_tool = ToolId{static_cast<std::uint32_t>(data.tools.size())};
  data.tools.push_back(Tool{"Idle_G_1", ToolGroupId{data.tool_groups.size()}, 0});
  data.tool_groups.push_back(idle);
  const Model sparse = Model::build(data).value();
  e = apply_err(sparse, one({des::ProductMixDelta{"part_B", 2}}));
  CHECK(e.field == "deltas[0].product_mix.product");
  CHECK_THAT(e.message, Catch::Contains("no orders"));
  e = apply_err(sparse, one({des::ProcessTimeDelta{.group = "Idle_G", .factor = 2}}));
  CHECK(e.field == "deltas[0].process_time_factor.group");
  CHECK_THAT(e.message, Catch::Contains("no step runs"));
  // A new tool whose name is already taken by a renamed tool.
  data = minifab().data();
  data.tools[0].name = "Diffusion_AB_3";
  const Model renamed = Model::build(data).value();
  e = apply_err(renamed, one({des::ToolCountDelta{"Diffusion_AB", 3}}));
  CHECK(e.field == "deltas[0].tool_count.count");
  CHECK_THAT(e.message, Catch::Contains("'Diffusion_AB_3'"));
}
