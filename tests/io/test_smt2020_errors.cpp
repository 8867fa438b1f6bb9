// The SMT2020 reader on bad input: one test per class of error, each naming file, line and field.
// Inputs are the HVLM files with one cell (or file) changed.
#include <catch2/catch.hpp>

#include "fabtwin/io/load.hpp"
#include "io_test_util.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using test::check_error;
using test::set_cell;
using Files = std::map<std::string, std::string>;

namespace {

const Files& hvlm_files() {
  static const Files files = test::read_dir(test::hvlm());
  return files;
}

// HVLM with one cell changed, read.
model::Result<model::Model> with_cell(const std::string& file, int line, const std::string& column,
                                      const std::string& value) {
  Files files = hvlm_files();
  set_cell(files, file, line, column, value);
  return io::parse_smt2020(files, "bad");
}

}  // namespace

TEST_CASE("the unchanged HVLM files read (the baseline of the error tests)", "[io]") {
  CHECK(io::parse_smt2020(hvlm_files(), "ok").ok());
}

TEST_CASE("missing file: a required file, a route file named in part.txt, a missing folder", "[io]") {
  Files files = hvlm_files();
  files.erase("attach.txt");
  check_error(io::parse_smt2020(files, "bad"), "attach.txt", 0, "", "file not found");

  files = hvlm_files();
  files.erase("route_4.txt");
  check_error(io::parse_smt2020(files, "bad"), "part.txt", 3, "ROUTEFILE", "'route_4.txt' not found");

  check_error(io::read_smt2020(test::smt2020_dir() / "no_such_folder"), "no_such_folder", 0, "",
              "not a folder");
  check_error(io::load_model(test::smt2020_dir() / "no_such_thing"), "no_such_thing", 0, "", "no such file");
}

TEST_CASE("a route file must be a plain name in the same folder", "[io]") {
  check_error(with_cell("part.txt", 2, "ROUTEFILE", "../SMT2020_LVHM/route_3.txt"), "part.txt", 2,
              "ROUTEFILE", "plain file name");
}

TEST_CASE("missing column: the header lacks a required column", "[io]") {
  Files files = hvlm_files();
  set_cell(files, "route_3.txt", 1, "STNFAM", "STNFAMILY");
  check_error(io::parse_smt2020(files, "bad"), "route_3.txt", 1, "STNFAM", "missing column");
  files = hvlm_files();
  set_cell(files, "WIP.txt", 1, "CURSTEP", "CUR_STEP");
  check_error(io::parse_smt2020(files, "bad"), "WIP.txt", 1, "CURSTEP", "missing column");
}

TEST_CASE("missing value in a required field", "[io]") {
  check_error(with_cell("route_3.txt", 5, "PTIME", ""), "route_3.txt", 5, "PTIME", "missing value");
  check_error(with_cell("route_3.txt", 5, "PTUNITS", ""), "route_3.txt", 5, "PTUNITS", "missing unit");
}

TEST_CASE("unknown tool group in a route", "[io]") {
  check_error(with_cell("route_3.txt", 17, "STNFAM", "NoSuchGroup"), "route_3.txt", 17, "STNFAM",
              "unknown tool group 'NoSuchGroup'");
  check_error(with_cell("attach.txt", 13, "RESNAME", "NoSuchGroup"), "attach.txt", 13, "RESNAME",
              "unknown tool group");
}

TEST_CASE("unknown product in order.txt and WIP.txt", "[io]") {
  check_error(with_cell("order.txt", 3, "PART", "part_9"), "order.txt", 3, "PART",
              "unknown product 'part_9'");
  check_error(with_cell("WIP.txt", 7, "PART", "part_9"), "WIP.txt", 7, "PART", "unknown product");
}

TEST_CASE("unknown setup group named by a tool group", "[io]") {
  check_error(with_cell("tool.txt.1l", 54, "SETUPGRP", "Implant_Air"), "tool.txt.1l", 54, "SETUPGRP",
              "unknown setup group 'Implant_Air'");
}

TEST_CASE("unknown calendar in attach.txt", "[io]") {
  check_error(with_cell("attach.txt", 2, "CALNAME", "BREAK_Nothing"), "attach.txt", 2, "CALNAME",
              "unknown calendar 'BREAK_Nothing'");
  // A down calendar's name is not a PM calendar.
  check_error(with_cell("attach.txt", 2, "CALTYPE", "pm"), "attach.txt", 2, "CALNAME", "not in pmcal.txt");
}

TEST_CASE("unknown area or location", "[io]") {
  check_error(with_cell("attach.txt", 2, "RESNAME", "Nowhere"), "attach.txt", 2, "RESNAME",
              "unknown area 'Nowhere'");
  check_error(with_cell("fromto.txt", 2, "FROMLOC", "Moon"), "fromto.txt", 2, "FROMLOC",
              "unknown location 'Moon'");
}

TEST_CASE("bad number: not a number, out of range, not finite, trailing junk", "[io]") {
  const auto [text, words] = GENERATE(table<std::string, std::string>({
      {"abc", "'abc' is not a number"},
      {"1e999", "'1e999' is out of range"},
      {"nan", "'nan' is not a finite number"},
      {"inf", "'inf' is not a finite number"},
      {"12x", "'12x' is not a number (trailing characters)"},
      {"1,5", "trailing characters"},
      {"+3", "is not a number"},
  }));
  check_error(with_cell("route_3.txt", 5, "PTIME", text), "route_3.txt", 5, "PTIME", words);
}

TEST_CASE("bad whole number: a fraction or out of range", "[io]") {
  check_error(with_cell("tool.txt.1l", 2, "STNQTY", "10.5"), "tool.txt.1l", 2, "STNQTY",
              "not a whole number");
  check_error(with_cell("tool.txt.1l", 2, "STNQTY", "0"), "tool.txt.1l", 2, "STNQTY", "out of range");
  check_error(with_cell("tool.txt.1l", 2, "STNQTY", "1e9"), "tool.txt.1l", 2, "STNQTY", "out of range");
  check_error(with_cell("WIP.txt", 4, "PIECES", "-25"), "WIP.txt", 4, "PIECES", "out of range");
}

TEST_CASE("unknown unit", "[io]") {
  check_error(with_cell("route_3.txt", 5, "PTUNITS", "minutes"), "route_3.txt", 5, "PTUNITS",
              "unknown unit 'minutes'");
  check_error(with_cell("route_3.txt", 5, "PTUNITS", "pieces"), "route_3.txt", 5, "PTUNITS",
              "needs a time unit");
  // A counter PM's first occurrence counts pieces, not days.
  check_error(with_cell("attach.txt", 92, "FOAUNITS", "day"), "attach.txt", 92, "FOAUNITS", "counts pieces");
}

TEST_CASE("unknown distribution", "[io]") {
  check_error(with_cell("route_3.txt", 5, "PDIST", "gauss"), "route_3.txt", 5, "PDIST",
              "unknown distribution 'gauss'");
  check_error(with_cell("route_3.txt", 5, "PDIST", "triangular"), "route_3.txt", 5, "PDIST", "three values");
  // A constant takes one value.
  check_error(with_cell("route_3.txt", 5, "PDIST", "constant"), "route_3.txt", 5, "PTIME2",
              "takes one value");
}

TEST_CASE("unknown enumerations: rule, rank, processing unit, calendar and resource types, yes/no", "[io]") {
  check_error(with_cell("tool.txt.1l", 2, "RULE", "rule_Random"), "tool.txt.1l", 2, "RULE",
              "unknown dispatch rule");
  check_error(with_cell("tool.txt.1l", 2, "FWLRANK", "rank_HP;rank_Luck"), "tool.txt.1l", 2, "FWLRANK",
              "unknown rank 'rank_Luck'");
  check_error(with_cell("route_3.txt", 5, "PTPER", "per_wafer"), "route_3.txt", 5, "PTPER",
              "unknown processing unit");
  check_error(with_cell("attach.txt", 2, "CALTYPE", "holiday"), "attach.txt", 2, "CALTYPE",
              "unknown calendar type");
  check_error(with_cell("attach.txt", 2, "RESTYPE", "stn"), "attach.txt", 2, "RESTYPE",
              "unknown resource type");
  check_error(with_cell("pmcal.txt", 2, "PMCALTYPE", "mtbpm_by_moon"), "pmcal.txt", 2, "PMCALTYPE",
              "unknown PM type");
  check_error(with_cell("route_3.txt", 14, "SVESTN", "maybe"), "route_3.txt", 14, "SVESTN", "not yes or no");
}

TEST_CASE("negative time", "[io]") {
  check_error(with_cell("route_3.txt", 5, "PTIME", "-5"), "route_3.txt", 5, "PTIME", "negative time '-5'");
  check_error(with_cell("tool.txt.1l", 2, "LTIME", "-1.0"), "tool.txt.1l", 2, "LTIME", "negative time");
  check_error(with_cell("downcal.txt", 2, "MTTR", "-35"), "downcal.txt", 2, "MTTR", "negative time");
  // uniform a b is U[a - b, a + b]: b > a would draw below zero.
  check_error(with_cell("route_3.txt", 2, "PTIME2", "600"), "route_3.txt", 2, "PTIME2", "half width");
}

TEST_CASE("bad date", "[io]") {
  check_error(with_cell("WIP.txt", 3, "DUE", "13/45/18 00:00:00"), "WIP.txt", 3, "DUE", "not a date");
  check_error(with_cell("order.txt", 2, "START", "2018-01-01"), "order.txt", 2, "START", "not a date");
  check_error(with_cell("order.txt", 2, "DUE", "02/30/18 00:00:00"), "order.txt", 2, "DUE", "not a date");
  check_error(with_cell("order.txt", 2, "DUE", "02/03/18 24:00:00"), "order.txt", 2, "DUE", "not a date");
}

TEST_CASE("duplicate name: tool group, product, order lot, WIP lot, calendar, step number", "[io]") {
  check_error(with_cell("tool.txt.1l", 3, "STNFAM", "DE_BE_11"), "tool.txt.1l", 3, "STNFAM",
              "duplicate tool group 'DE_BE_11' (also line 2)");
  check_error(with_cell("part.txt", 3, "PART", "part_3"), "part.txt", 3, "PART", "duplicate product");
  check_error(with_cell("order.txt", 3, "LOT", "Lot_3"), "order.txt", 3, "LOT", "duplicate order lot");
  check_error(with_cell("WIP.txt", 3, "LOT", "Init_Lot_3_2"), "WIP.txt", 3, "LOT",
              "duplicate WIP lot 'Init_Lot_3_2'");
  check_error(with_cell("downcal.txt", 3, "DOWNCALNAME", "BREAK_Def_Met"), "downcal.txt", 3, "DOWNCALNAME",
              "duplicate down calendar");
  check_error(with_cell("pmcal.txt", 3, "PMCALNAME", "DefMet_BE_33_MN"), "pmcal.txt", 3, "PMCALNAME",
              "duplicate PM calendar");
  check_error(with_cell("route_3.txt", 4, "STEP", "2"), "route_3.txt", 4, "STEP",
              "duplicate step number 2 (also line 3)");
  check_error(with_cell("setupgrp.txt", 3, "SETUP", "SU128_1"), "setupgrp.txt", 3, "SETUP",
              "duplicate setup");
}

TEST_CASE("dangling step reference: FORSTEP, RWKSTEP, STEP_CQT, CURSTEP to a step that does not exist",
          "[io]") {
  check_error(with_cell("route_3.txt", 14, "FORSTEP", "9999"), "route_3.txt", 14, "FORSTEP",
              "step 9999 does not exist in route 'r_3'");
  check_error(with_cell("route_3.txt", 68, "RWKSTEP", "9999"), "route_3.txt", 68, "RWKSTEP",
              "does not exist");
  check_error(with_cell("route_3.txt", 31, "STEP_CQT", "9999"), "route_3.txt", 31, "STEP_CQT",
              "does not exist");
  check_error(with_cell("WIP.txt", 10, "CURSTEP", "9999"), "WIP.txt", 10, "CURSTEP",
              "does not exist in route 'r_3'");
  // Step 583 exists in r_3 but not in r_4 (343 steps).
  check_error(with_cell("WIP.txt", 2001, "CURSTEP", "583"), "WIP.txt", 2001, "CURSTEP", "route 'r_4'");
}

TEST_CASE("step references that exist but point the wrong way", "[io]") {
  check_error(with_cell("route_3.txt", 68, "RWKSTEP", "100"), "route_3.txt", 68, "RWKSTEP", "earlier step");
  check_error(with_cell("route_3.txt", 31, "STEP_CQT", "30"), "route_3.txt", 31, "STEP_CQT", "later step");
  check_error(with_cell("route_3.txt", 14, "FORSTEP", "1"), "route_3.txt", 14, "FORSTEP",
              "another tool group");
  check_error(with_cell("route_3.txt", 31, "CQT", ""), "route_3.txt", 31, "CQT", "STEP_CQT without CQT");
  check_error(with_cell("route_3.txt", 2, "BATCHMN", "200"), "route_3.txt", 2, "BATCHMN",
              "larger than BATCHMX");
}

TEST_CASE("empty file", "[io]") {
  Files files = hvlm_files();
  files["setup.txt"] = "";
  check_error(io::parse_smt2020(files, "bad"), "setup.txt", 1, "CURSETUP", "empty file");
  files = hvlm_files();
  files["tool.txt.1l"] = "\r\n\n  \n";
  check_error(io::parse_smt2020(files, "bad"), "tool.txt.1l", 1, "STNFAM", "empty file");
  // A route file with a header and no steps.
  files = hvlm_files();
  files["route_4.txt"] = test::split_lines(files["route_4.txt"])[0] + "\n";
  check_error(io::parse_smt2020(files, "bad"), "route_4.txt", 1, "STEP", "at least one step");
}

TEST_CASE("binary garbage: NUL bytes and text that is not UTF-8", "[io]") {
  check_error(with_cell("WIP.txt", 10, "LOT", std::string("Init\0Lot", 8)), "WIP.txt", 10, "LOT",
              "binary data (byte 0x00)");
  check_error(with_cell("route_3.txt", 7, "DESC", "caf\xE9"), "route_3.txt", 7, "DESC", "not UTF-8");
  Files files = hvlm_files();
  files["pmcal.txt"] = std::string(
      "\x7F"
      "ELF\x02\x01\x01\0\0\0",
      10);
  check_error(io::parse_smt2020(files, "bad"), "pmcal.txt", 1, "", "binary data");
}

TEST_CASE("setupgrp.txt: a continuation row needs a group above it", "[io]") {
  check_error(with_cell("setupgrp.txt", 2, "SETUPGRP", ""), "setupgrp.txt", 2, "SETUPGRP", "first row");
}

TEST_CASE("a route file holding another route's name", "[io]") {
  check_error(with_cell("route_3.txt", 9, "ROUTE", "r_4"), "route_3.txt", 9, "ROUTE",
              "in the file of route 'r_3'");
}

// ---- short rows -------------------------------------------------------------------------------

namespace {

// HVLM with the last `n` fields of 1-based `line` of `file` cut off (tabs included).
Files without_last_fields(const std::string& file, int line, std::size_t n) {
  Files files = hvlm_files();
  auto lines = test::split_lines(files.at(file));
  auto fields = test::split_tabs(lines.at(static_cast<std::size_t>(line - 1)));
  REQUIRE(fields.size() > n);
  fields.resize(fields.size() - n);
  std::string joined;
  for (std::size_t i = 0; i < fields.size(); ++i) joined += (i ? "\t" : "") + fields[i];
  lines[static_cast<std::size_t>(line - 1)] = joined;
  files[file] = test::join_lines(lines);
  return files;
}

std::size_t fields_on(const std::string& file, int line) {
  const auto lines = test::split_lines(hvlm_files().at(file));
  return test::split_tabs(lines.at(static_cast<std::size_t>(line - 1))).size();
}

}  // namespace

TEST_CASE("a row shorter than its header is an error naming its first missing column", "[io]") {
  // route_3.txt line 31 holds a critical queue time: STEP_CQT 31, CQT 2 hr, then IGNORE.
  REQUIRE(fields_on("route_3.txt", 31) == 29);
  REQUIRE(test::get_cell(hvlm_files(), "route_3.txt", 31, "CQT") == "2");
  // Without its last four fields the row would read as a step without one: refused.
  check_error(io::parse_smt2020(without_last_fields("route_3.txt", 31, 4), "bad"), "route_3.txt", 31,
              "STEP_CQT", "short row: 25 of the header's 29 fields; STEP_CQT is missing");
  // Also when the lost fields were empty (line 2 has no CQT): a short row cannot show which it was.
  REQUIRE(test::get_cell(hvlm_files(), "route_3.txt", 2, "STEP_CQT").empty());
  check_error(io::parse_smt2020(without_last_fields("route_3.txt", 2, 4), "bad"), "route_3.txt", 2,
              "STEP_CQT", "short row");
  // A note column left off does not excuse a missing field before it: the first one is named.
  check_error(io::parse_smt2020(without_last_fields("WIP.txt", 3, 4), "bad"), "WIP.txt", 3, "DUE",
              "only IGNORE, ORDER, HOTLOT, TRACE may be left off");
  check_error(io::parse_smt2020(without_last_fields("order.txt", 2, 3), "bad"), "order.txt", 2, "DUE",
              "short row");
}

TEST_CASE("a row may leave off note columns (IGNORE, ORDER, HOTLOT, TRACE): it reads as if they were empty",
          "[io]") {
  const auto read = io::parse_smt2020(hvlm_files(), "hvlm");
  REQUIRE(read.ok());
  const model::Model& original = *read;
  // The shipped HVLM WIP.txt has such a row: line 2 stops after ORDER (8 of 10 fields).
  CHECK(fields_on("WIP.txt", 2) == 8);

  SECTION("a route row without IGNORE") {
    auto m = io::parse_smt2020(without_last_fields("route_3.txt", 31, 1), "hvlm");
    REQUIRE(m.ok());
    // The same model, but for that step's comment (IGNORE); its CQT is kept.
    model::ModelData expected = original.data();
    const std::string step = test::get_cell(hvlm_files(), "route_3.txt", 31, "STEP");
    int changed = 0;
    for (auto& s : expected.steps)
      if (expected.routes[s.route.index()].name == "r_3" && std::to_string(s.number) == step) {
        CHECK(s.comment == "Wet_Etch");
        CHECK(s.cqt.has_value());
        s.comment.clear();
        ++changed;
      }
    REQUIRE(changed == 1);
    CHECK(m->data() == expected);
  }
  SECTION("a WIP row without ORDER, HOTLOT and TRACE") {
    auto m = io::parse_smt2020(without_last_fields("WIP.txt", 3, 3), "hvlm");
    REQUIRE(m.ok());
    model::ModelData expected = original.data();
    REQUIRE(expected.wip.at(1).name == "Init_Lot_3_3");
    CHECK(expected.wip.at(1).order_name == "O_Init_WIP");
    expected.wip.at(1).order_name.clear();
    CHECK(m->data() == expected);
  }
}
