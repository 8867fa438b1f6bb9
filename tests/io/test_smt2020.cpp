// The SMT2020 reader on the two shipped data sets: counts, spot-checked fields, readings.
#include <catch2/catch.hpp>

#include "fabtwin/io/load.hpp"
#include "io_test_util.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

const Model& hvlm() {
  static const Model m = [] {
    auto r = io::read_smt2020(test::hvlm());
    if (!r) FAIL(r.error().what());
    return std::move(r).value();
  }();
  return m;
}

const Model& lvhm() {
  static const Model m = [] {
    auto r = io::read_smt2020(test::lvhm());
    if (!r) FAIL(r.error().what());
    return std::move(r).value();
  }();
  return m;
}

const Step& step_of(const Model& m, std::string_view product, std::uint32_t number) {
  const auto p = m.find_product(product);
  REQUIRE(p);
  for (const auto& s : m.route_steps(m.product(*p).route))
    if (s.number == number) return s;
  FAIL("no step " << number);
  throw;
}

SimTime at(std::int64_t days, int h, int min, int s) {
  return SimTime{Duration{((days * 24 + h) * 60 + min) * 60'000LL + s * 1000LL}};
}

}  // namespace

TEST_CASE("HVLM reads as 106 tool groups, 1443 tools, routes of 583 and 343 steps, 2255 WIP lots", "[io]") {
  const Model& m = hvlm();
  CHECK(m.name() == "SMT2020_HVLM");
  CHECK(m.tool_groups().size() == 106);
  CHECK(m.tools().size() == 1443);
  REQUIRE(m.routes().size() == 2);
  CHECK(m.routes()[0].name == "r_3");
  CHECK(m.routes()[0].step_count == 583);
  CHECK(m.routes()[1].name == "r_4");
  CHECK(m.routes()[1].step_count == 343);
  CHECK(m.steps().size() == 926);
  CHECK(m.products().size() == 2);
  CHECK(m.wip().size() == 2255);
  CHECK(m.orders().size() == 5);
  CHECK(m.areas().size() == 12);
  CHECK(m.locations().size() == 2);
  CHECK(m.down_calendars().size() == 11);
  CHECK(m.pm_calendars().size() == 292);
  CHECK(m.attachments().size() == 303);
  CHECK(m.setup_transitions().size() == 13);
  CHECK(m.setup_groups().size() == 1);
  CHECK(m.transports().size() == 1);
  CHECK(m.data().epoch_unix_s == 1514764800);
}

TEST_CASE("LVHM reads as 106 tool groups, 1313 tools, 10 routes, 2156 WIP lots", "[io]") {
  const Model& m = lvhm();
  CHECK(m.name() == "SMT2020_LVHM");
  CHECK(m.tool_groups().size() == 106);
  CHECK(m.tools().size() == 1313);
  CHECK(m.routes().size() == 10);
  CHECK(m.products().size() == 10);
  CHECK(m.wip().size() == 2156);
  CHECK(m.orders().size() == 21);
  // part.txt order: part_1 .. part_10, route files read in that order.
  CHECK(m.products()[9].name == "part_10");
  CHECK(m.route_of(ProductId{9}).file == "route_10.txt");
  CHECK(m.route_of(ProductId{9}).step_count == 390);
  CHECK(m.tool_group(*m.find_tool_group("Litho_FE_92")).ranks.back() == RankKey::CriticalRatio);
}

TEST_CASE("tools are named <STNFAM>_<k>, k = 1..STNQTY, contiguous per group in file order", "[io]") {
  const Model& m = hvlm();
  const auto& g0 = m.tool_groups()[0];
  CHECK(g0.name == "DE_BE_11");
  CHECK(g0.tool_count == 10);  // STNQTY "10.0"
  CHECK(g0.first_tool == ToolId{0});
  CHECK(m.tools()[0].name == "DE_BE_11_1");
  CHECK(m.tools()[9].name == "DE_BE_11_10");
  CHECK(m.tools()[10].name == "DE_BE_12_1");
  CHECK(m.tools()[10].group == ToolGroupId{1});
  const auto delay = m.tool_group(*m.find_tool_group("Delay_32"));
  CHECK(delay.tool_count == 400);
  CHECK(m.data().locations[delay.location.index()].name == "Delay");
  CHECK(delay.load_time == Quantity{0, Unit::Minute});
  CHECK(delay.station_name == "Delay1");
  CHECK(m.tool(ToolId{delay.first_tool.value + 399}).name == "Delay_32_400");
  // Areas and locations in first-appearance order.
  CHECK(m.areas()[0].name == "Dry_Etch");
  CHECK(m.locations()[0].name == "Fab");
}

TEST_CASE("tool group columns: rule, ranks, wake, batching, load times, STNCAP (empty = 1)", "[io]") {
  const Model& m = hvlm();
  const auto& g = m.tool_group(*m.find_tool_group("DE_BE_13"));
  CHECK(g.rule == DispatchRule::HotLotFirst);
  CHECK(g.ranks == std::vector{RankKey::HighestPriority, RankKey::LeastSetup, RankKey::Fifo});
  CHECK(g.wake == WakeRule::LeastSetupTime);
  CHECK(g.cascade_capacity == 1);  // STNCAP empty
  CHECK(g.load_time == Quantity{1, Unit::Minute});
  CHECK(g.unload_time == Quantity{1, Unit::Minute});
  CHECK(g.action_list == "Custom_actlist_ASISemiOpersDuringSetupAndAdditionalLoadUnload");
  CHECK_FALSE(g.pre_rule_rwl);
  CHECK_FALSE(g.setup_group);
  const auto& furnace = m.tool_group(*m.find_tool_group("Diffusion_FE_120"));
  CHECK(furnace.batch_criterion == BatchCriterion::SameRouteStep);
  CHECK(furnace.batch_unit == BatchCountUnit::Piece);
  const auto& wet = m.tool_group(*m.find_tool_group("WE_FE_84"));
  CHECK(wet.cascade_capacity == 2);  // STNCAP "2.0"
}

TEST_CASE("a batch step keeps its min/max in wafers and its uniform a±b time", "[io]") {
  const Step& s = step_of(hvlm(), "part_3", 1);
  CHECK(s.description == "001_Diffusion");
  CHECK(hvlm().tool_group(s.tool_group).name == "Diffusion_FE_120");
  CHECK(s.process_unit == ProcessUnit::PerBatch);
  CHECK(s.batch_min == 125);
  CHECK(s.batch_max == 150);
  CHECK(s.process_time == Distribution{DistKind::Uniform, 501.33, 25.0665, 0, Unit::Minute});
  CHECK(s.process_time.min() == Approx(501.33 - 25.0665));
  CHECK(s.sample_percent == 100);  // StepPercent empty
  CHECK(s.comment == "Diffusion");
}

TEST_CASE("a cascading step keeps its PartInterval, another its BatchInterval", "[io]") {
  const Step& wet = step_of(hvlm(), "part_3", 2);
  CHECK(wet.process_unit == ProcessUnit::PerPiece);
  REQUIRE(wet.part_interval);
  CHECK(*wet.part_interval == Quantity{0.639, Unit::Minute});
  CHECK_FALSE(wet.batch_interval);
  const Step& planar = step_of(hvlm(), "part_3", 56);
  REQUIRE(planar.batch_interval);
  CHECK(*planar.batch_interval == Quantity{53.949, Unit::Minute});
}

TEST_CASE("steps: sampling, setups with STIME, dedication, rework and queue-time references", "[io]") {
  const Model& m = hvlm();
  CHECK(step_of(m, "part_3", 3).sample_percent == 56);
  const Step& litho = step_of(m, "part_3", 12);
  REQUIRE(litho.setup);
  CHECK(m.setups()[litho.setup->index()].name == "SU015_3");
  CHECK(litho.setup_when == SetupWhen::Need);
  REQUIRE(litho.setup_time);
  CHECK(*litho.setup_time == Quantity{8, Unit::Minute});
  const Step& implant = step_of(m, "part_3", 17);
  CHECK(implant.setup);
  CHECK_FALSE(implant.setup_time);  // from setup.txt

  const Step& lens = step_of(m, "part_3", 13);
  CHECK(lens.dedicate);
  REQUIRE(lens.dedicate_for);
  CHECK(m.step(*lens.dedicate_for).number == 113);
  CHECK(m.step(*lens.dedicate_for).route == lens.route);

  const Step& reg = step_of(m, "part_3", 67);
  REQUIRE(reg.rework_step);
  CHECK(m.step(*reg.rework_step).number == 65);
  CHECK(reg.rework_percent == 1.7);
  CHECK(reg.rework_type == "lot");

  const Step& cqt = step_of(m, "part_3", 30);
  REQUIRE(cqt.cqt_to);
  CHECK(m.step(*cqt.cqt_to).number == 31);
  REQUIRE(cqt.cqt);
  CHECK(*cqt.cqt == Quantity{2, Unit::Hour});
}

TEST_CASE("setups: names from routes, setup.txt, setupgrp.txt; empty CURSETUP means from any", "[io]") {
  const Model& m = hvlm();
  // First appearance: the first setup step of route r_3.
  CHECK(m.setups()[0].name == "SU015_3");
  const auto su128_1 = m.find_setup("SU128_1");
  const auto de13_1 = m.find_setup("DE_BE_13_1");
  const auto de13_2 = m.find_setup("DE_BE_13_2");
  REQUIRE(su128_1);
  REQUIRE(de13_1);
  REQUIRE(de13_2);
  const auto& t0 = m.setup_transitions()[0];
  CHECK(t0.from == de13_1);
  CHECK(t0.to == *de13_2);
  CHECK(t0.time == Quantity{7, Unit::Minute});
  CHECK(t0.comment == "DE_BE_13");
  const auto& any = m.setup_transitions()[4];
  CHECK_FALSE(any.from);
  CHECK(any.to == *su128_1);
  CHECK(any.time == Quantity{72, Unit::Minute});
  // Model::setup_time uses them: exact row first, then the any row.
  Step plain;
  CHECK(m.setup_time(de13_1, *de13_2, plain) == Duration{7 * 60'000});
  CHECK(m.setup_time(std::nullopt, *su128_1, plain) == Duration{72 * 60'000});
}

TEST_CASE("setup groups: continuation rows with empty SETUPGRP belong to the group above", "[io]") {
  const Model& m = hvlm();
  REQUIRE(m.setup_groups().size() == 1);
  const auto& g = m.setup_groups()[0];
  CHECK(g.name == "Implant_Gas");
  REQUIRE(g.members.size() == 9);
  CHECK(m.setups()[g.members[0].setup.index()].name == "SU128_1");
  CHECK(m.setups()[g.members[8].setup.index()].name == "SU91_3");
  CHECK(g.members[8].min_run == 7);
  CHECK(g.members[8].comment == "Implant_91");
  const auto implant = *m.find_tool_group("Implant_128");
  CHECK(m.tool_group(implant).rule == DispatchRule::LeastSetupMinRun);
  CHECK(m.tool_group(implant).setup_group == SetupGroupId{0});
  CHECK(m.min_run(implant, *m.find_setup("SU132_2")) == 7);
}

TEST_CASE("a counter PM counts pieces, and its attachment's FOA (empty FOAUNITS) counts pieces", "[io]") {
  const Model& m = hvlm();
  const auto& pms = m.pm_calendars();
  const auto it = std::find_if(pms.begin(), pms.end(), [](const auto& c) { return c.name == "DE_BE_11_WK"; });
  REQUIRE(it != pms.end());
  CHECK(it->trigger == PmTrigger::Pieces);
  CHECK(it->interval == Quantity{2000, Unit::Piece});
  CHECK(it->duration == Distribution{DistKind::Uniform, 8.74, 1.75, 0, Unit::Hour});
  CHECK(it->comment == "Dry_Etch");
  const auto cal = static_cast<std::uint32_t>(it - pms.begin());
  const auto& atts = m.attachments();
  const auto a =
      std::find_if(atts.begin(), atts.end(), [&](const auto& x) { return x.is_pm && x.calendar == cal; });
  REQUIRE(a != atts.end());
  CHECK(a->target_kind == AttachTarget::ToolGroup);
  CHECK(a->target == m.find_tool_group("DE_BE_11")->value);
  CHECK(a->first_occurrence == Distribution::constant(1880, Unit::Piece));
}

TEST_CASE("a calendar PM counts days; a breakdown attaches to an area with its FOA in minutes", "[io]") {
  const Model& m = hvlm();
  const auto& cal = m.pm_calendars()[0];
  CHECK(cal.name == "DefMet_BE_33_MN");
  CHECK(cal.trigger == PmTrigger::Calendar);
  CHECK(cal.interval == Quantity{30, Unit::Day});
  const auto& down = m.down_calendars()[0];
  CHECK(down.name == "BREAK_Def_Met");
  CHECK(down.type == "mttf_by_cal");
  CHECK(down.time_to_failure == Distribution{DistKind::Exponential, 10080, 0, 0, Unit::Minute});
  CHECK(down.time_to_repair == Distribution{DistKind::Exponential, 35.28, 0, 0, Unit::Minute});
  const auto& a = m.attachments()[0];
  CHECK_FALSE(a.is_pm);
  CHECK(a.calendar == 0);
  CHECK(a.target_kind == AttachTarget::Area);
  CHECK(a.target == m.find_area("Def_Met")->value);
  CHECK(a.first_occurrence == Distribution{DistKind::Exponential, 10080, 0, 0, Unit::Minute});
  const auto& pm_att = m.attachments()[11];  // DefMet_BE_33_MN, FOA 27.3 day
  CHECK(pm_att.is_pm);
  CHECK(pm_att.first_occurrence == Distribution::constant(27.3, Unit::Day));
}

TEST_CASE("transport Fab -> Fab is uniform 7.5 ± 2.5 min", "[io]") {
  const auto& t = hvlm().transports()[0];
  CHECK(t.from == t.to);
  CHECK(t.time == Distribution{DistKind::Uniform, 7.5, 2.5, 0, Unit::Minute});
  CHECK(t.time.min() == 5.0);
}

TEST_CASE("WIP lots: CURSTEP is a step number of the product's route; dates are ms since 2018-01-01",
          "[io]") {
  const Model& m = hvlm();
  const auto& w = m.wip()[0];
  CHECK(w.name == "Init_Lot_3_2");
  CHECK(m.product(w.product).name == "part_3");
  CHECK(m.step(w.current_step).number == 560);
  CHECK(m.step(w.current_step).route == m.product(w.product).route);
  CHECK(w.start == SimTime{});
  CHECK(w.due == at(1, 6, 19, 32));  // 01/02/18 06:19:32
  CHECK(w.priority == 10);
  CHECK(w.pieces == 25);
  CHECK(w.order_name == "O_Init_WIP");
  CHECK_FALSE(w.hot_lot_flag);  // HOTLOT missing on this short row
  const auto last = m.wip().back();
  CHECK(m.product(last.product).name == "part_4");
}

TEST_CASE("orders: periodic releases with the due date as an offset from the start", "[io]") {
  const Model& m = hvlm();
  const auto& o = m.orders()[0];
  CHECK(o.lot_prefix == "Lot_3");
  CHECK(o.priority == 10);
  CHECK(o.interval == Distribution::constant(51.69, Unit::Minute));
  CHECK(o.repeat_count == 200000);
  CHECK(o.lots_per_release == 1);
  CHECK(o.start == SimTime{});
  CHECK(o.due - o.start == at(53, 20, 7, 47).time_since_epoch());  // 02/23/18 20:07:47
  CHECK(o.order_name == "O_Lot_3");
  CHECK_FALSE(o.hot_lot_flag);
  CHECK(m.orders()[2].priority == 20);  // HotLot_3: hotness is PRIOR, not HOTLOT
  CHECK(m.orders()[4].priority == 30);
  CHECK(m.orders()[4].interval.a == 27397.61);
}

TEST_CASE("CRLF line ends, a byte-order mark, blank lines and spaces around fields read the same", "[io]") {
  auto files = test::read_dir(test::hvlm());
  for (auto& [name, text] : files) {
    std::string crlf;
    for (char c : text) {
      if (c == '\n')
        crlf += "\r\n";
      else
        crlf += c;
    }
    text = crlf;
  }
  files["tool.txt.1l"] = "\xEF\xBB\xBF" + files["tool.txt.1l"] + "\r\n\r\n";
  files["part.txt"] += "\t\t\t\t\r\n";  // all-empty row: skipped
  test::set_cell(files, "order.txt", 2, "PRIOR", " 10 ");
  auto m = io::parse_smt2020(files, "SMT2020_HVLM");
  REQUIRE(m.ok());
  CHECK(m->data().tool_groups == hvlm().data().tool_groups);
  CHECK(m->data().steps == hvlm().data().steps);
  CHECK(m->data().orders == hvlm().data().orders);
  CHECK(m->data().wip == hvlm().data().wip);
}

TEST_CASE("read_smt2020 equals parse_smt2020 of the same files; load_model picks the reader", "[io]") {
  auto from_memory = io::parse_smt2020(test::read_dir(test::hvlm()), "SMT2020_HVLM");
  REQUIRE(from_memory.ok());
  CHECK(*from_memory == hvlm());
  auto loaded = io::load_model(test::lvhm());
  REQUIRE(loaded.ok());
  CHECK(*loaded == lvhm());
}
