// SMT2020 / AutoSched AP text files -> ModelData -> Model::build. Mapping and readings:
// docs/model-format.md ("SMT2020 files").
#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <memory>
#include <new>
#include <sstream>

#include "fabtwin/io/civil_time.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"
#include "tsv.hpp"

namespace fabtwin::io {
namespace {

using namespace model;
using detail::Cell;
using detail::Col;
using detail::NameMap;
using detail::quote;
using detail::ReadError;
using detail::Table;

constexpr std::uint32_t kMaxToolsPerGroup = 100'000;  // STNQTY above this is refused
constexpr std::size_t kMaxTools = 1'000'000;          // tools over all groups
constexpr std::int64_t kSmtEpochUnixS = 1514764800;   // 2018-01-01T00:00:00Z: SimTime zero
constexpr std::uintmax_t kMaxFileBytes = 256u << 20;  // larger files are refused
// Note columns: remarks and flags recorded but never simulated. A row may leave them off (HVLM's
// WIP.txt line 2 leaves off HOTLOT and TRACE); any other missing field is an error, since a short row
// cannot show whether the fields it lost held values (docs/model-format.md, "Short rows").
constexpr std::string_view kNoteColumns[] = {"IGNORE", "ORDER", "HOTLOT", "TRACE"};

// A file by name: its text, or nullptr when there is none (throws ReadError when unreadable).
struct FileSource {
  std::function<const std::string*(const std::string& name)> get;
  std::function<std::string(const std::string& name)> label;  // how errors name the file
};

// Where a model row came from, to turn Model::build's "table[row]" errors into file:line.
struct Origin {
  std::string file;
  int line = 0;
  std::string field;  // overrides the column map when set
};

// Model::build field name -> SMT2020 column, per table.
std::string_view column_for(std::string_view table, std::string_view field) {
  struct Entry {
    std::string_view table, field, column;
  };
  static constexpr Entry kMap[] = {
      {"tool_groups", "name", "STNFAM"},
      {"tool_groups", "station_name", "STN"},
      {"tool_groups", "area", "STNGRP"},
      {"tool_groups", "location", "STNFAMLOC"},
      {"tool_groups", "tool_count", "STNQTY"},
      {"tool_groups", "first_tool", "STNQTY"},
      {"tool_groups", "rule", "RULE"},
      {"tool_groups", "ranks", "FWLRANK"},
      {"tool_groups", "wake", "WAKERESRANK"},
      {"tool_groups", "load_time", "LTIME"},
      {"tool_groups", "unload_time", "ULTIME"},
      {"tool_groups", "cascade_capacity", "STNCAP"},
      {"tool_groups", "setup_group", "SETUPGRP"},
      {"tools", "name", "STNFAM"},
      {"tools", "group", "STNFAM"},
      {"tools", "index_in_group", "STNQTY"},
      {"tools", "", "STNQTY"},
      {"steps", "route", "ROUTE"},
      {"steps", "index", "STEP"},
      {"steps", "number", "STEP"},
      {"steps", "description", "DESC"},
      {"steps", "tool_group", "STNFAM"},
      {"steps", "process_time", "PTIME"},
      {"steps", "process_unit", "PTPER"},
      {"steps", "batch_min", "BATCHMN"},
      {"steps", "batch_max", "BATCHMX"},
      {"steps", "setup", "SETUP"},
      {"steps", "setup_when", "WHEN"},
      {"steps", "setup_time", "STIME"},
      {"steps", "dedicate", "SVESTN"},
      {"steps", "dedicate_for", "FORSTEP"},
      {"steps", "batch_interval", "BatchInterval"},
      {"steps", "part_interval", "PartInterval"},
      {"steps", "rework_step", "RWKSTEP"},
      {"steps", "rework_percent", "REWORK"},
      {"steps", "rework_type", "RWKTYPE"},
      {"steps", "sample_percent", "StepPercent"},
      {"steps", "cqt_to", "STEP_CQT"},
      {"steps", "cqt", "CQT"},
      {"steps", "comment", "IGNORE"},
      {"steps", "", "STEP"},
      {"routes", "name", "ROUTE"},
      {"routes", "steps", "ROUTEFILE"},
      {"routes", "first_step", "ROUTEFILE"},
      {"products", "name", "PART"},
      {"products", "route", "ROUTE"},
      {"setup_transitions", "from", "CURSETUP"},
      {"setup_transitions", "to", "NEWSETUP"},
      {"setup_transitions", "time", "STIME"},
      {"setup_groups", "name", "SETUPGRP"},
      {"setup_groups", "members", "SETUP"},
      {"down_calendars", "name", "DOWNCALNAME"},
      {"down_calendars", "time_to_failure", "MTTF"},
      {"down_calendars", "time_to_repair", "MTTR"},
      {"pm_calendars", "name", "PMCALNAME"},
      {"pm_calendars", "interval", "MTBPM"},
      {"pm_calendars", "duration", "MTTR"},
      {"pm_calendars", "trigger", "PMCALTYPE"},
      {"attachments", "calendar", "CALNAME"},
      {"attachments", "target", "RESNAME"},
      {"attachments", "first_occurrence", "FOA"},
      {"transports", "from", "FROMLOC"},
      {"transports", "to", "TOLOC"},
      {"transports", "time", "DTIME"},
      {"orders", "lot", "LOT"},
      {"orders", "product", "PART"},
      {"orders", "pieces", "PIECES"},
      {"orders", "lots_per_release", "LOTSPERRPT"},
      {"orders", "interval", "REPEAT"},
      {"wip", "lot", "LOT"},
      {"wip", "product", "PART"},
      {"wip", "pieces", "PIECES"},
      {"wip", "current_step", "CURSTEP"},
      {"areas", "name", "STNGRP"},
      {"locations", "name", "STNFAMLOC"},
  };
  for (const auto& e : kMap)
    if (e.table == table && e.field == field) return e.column;
  return field;
}

// ---- field readers --------------------------------------------------------------------------

Unit read_unit(const Cell& c, bool time_only) {
  if (c.empty()) c.fail("missing unit");
  const auto u = parse_unit(c.text);
  if (!u) c.fail("unknown unit " + quote(c.text) + " (expected ms, sec, min, hr, day or pieces)");
  if (time_only && !is_time(*u)) c.fail("needs a time unit, not " + quote(c.text));
  return *u;
}

double non_negative(const Cell& c, bool is_time_value = true) {
  const double v = detail::number(c);
  if (v < 0) c.fail((is_time_value ? "negative time " : "negative value ") + quote(c.text));
  return v;
}

double percent(const Cell& c, double empty_value) {
  if (c.empty()) return empty_value;
  const double v = detail::number(c);
  if (!(v >= 0 && v <= 100)) c.fail(quote(c.text) + " is not a percentage within 0..100");
  return v;
}

// A time quantity from a value and a unit column; "" -> nullopt (a unit alone is ignored).
std::optional<Quantity> opt_time(const Cell& value, const Cell& unit) {
  if (value.empty()) return std::nullopt;
  const double v = non_negative(value);
  return Quantity{v, read_unit(unit, true)};
}

// A distribution from its kind, first and second value and unit columns (the SMT2020 readings:
// uniform a b = U[a - b, a + b]; normal/lognormal a b = mean, sd). `default_unit` stands in for
// an empty unit; `counts` marks a quantity counted in pieces rather than time.
Distribution read_dist(const Cell& kind, const Cell& a, const Cell& b, const Cell& unit,
                       std::optional<Unit> default_unit = std::nullopt, bool counts = false) {
  Distribution d;
  if (!kind.empty()) {
    const auto k = parse_dist_kind(kind.text);
    if (!k)
      kind.fail("unknown distribution " + quote(kind.text) +
                " (expected constant, uniform, exponential, normal or lognormal)");
    if (*k == DistKind::Triangular)
      kind.fail("triangular needs three values; SMT2020 files have two columns");
    d.kind = *k;
  }
  d.a = non_negative(a, !counts);
  const bool two = d.kind == DistKind::Uniform || d.kind == DistKind::Normal || d.kind == DistKind::Lognormal;
  if (two) {
    d.b = non_negative(b, !counts);
  } else if (!b.empty()) {
    b.fail(std::string(to_string(d.kind)) + " takes one value; " + std::string(b.col.name) +
           " must be empty");
  }
  if (unit.empty() && default_unit) {
    d.unit = *default_unit;
  } else {
    d.unit = read_unit(unit, !counts);
  }
  if (counts && d.unit != Unit::Piece) unit.fail("counts pieces: the unit must be pieces (or empty)");
  if (d.kind == DistKind::Uniform && d.b > d.a)
    b.fail("uniform half width " + quote(b.text) + " larger than its mean (draws below zero)");
  if (d.kind == DistKind::Lognormal && d.a == 0) a.fail("lognormal needs a positive mean");
  return d;
}

// "MM/DD/YY HH:MM:SS" (month/day 1-2 digits, year 2 digits = 20yy or 4 digits, seconds optional)
// -> time since 2018-01-01 00:00:00.
SimTime read_date(const Cell& c) {
  const std::string_view s = detail::required(c);
  std::size_t pos = 0;
  auto num = [&](std::size_t min_digits, std::size_t max_digits, unsigned& out) {
    std::size_t n = 0;
    unsigned v = 0;
    while (pos < s.size() && n < max_digits && s[pos] >= '0' && s[pos] <= '9') {
      v = v * 10 + static_cast<unsigned>(s[pos++] - '0');
      ++n;
    }
    out = v;
    return n >= min_digits ? n : 0;
  };
  auto lit = [&](char ch) {
    if (pos < s.size() && s[pos] == ch) {
      ++pos;
      return true;
    }
    return false;
  };
  CivilTime t;
  unsigned year = 0;
  std::size_t year_digits = 0;
  bool ok = num(1, 2, t.month) && lit('/') && num(1, 2, t.day) && lit('/') &&
            (year_digits = num(2, 4, year)) != 0 && year_digits != 3;
  if (ok && pos < s.size()) {
    ok = lit(' ');
    while (lit(' ')) {
    }
    ok = ok && num(1, 2, t.hour) && lit(':') && num(2, 2, t.minute);
    if (ok && lit(':')) ok = num(2, 2, t.second) != 0;
  }
  ok = ok && pos == s.size();
  t.year = year_digits == 2 ? 2000 + year : year;
  const auto ms = ok ? unix_ms_from_civil(t) : std::nullopt;
  if (!ms) c.fail(quote(s) + " is not a date (expected MM/DD/YY HH:MM:SS)");
  return SimTime{Duration{*ms - kSmtEpochUnixS * 1000}};
}

// ---- the reader -----------------------------------------------------------------------------

class Reader {
 public:
  Reader(const FileSource& src, std::string name) : src_(src) {
    d_.name = std::move(name);
    d_.source = "SMT2020";
    d_.epoch_unix_s = kSmtEpochUnixS;
  }

  Result<Model> run() {
    read_setup_groups();
    read_tools();
    read_parts();
    read_setup_times();
    intern_group_setups();
    read_downcal();
    read_pmcal();
    read_attach();
    read_fromto();
    read_orders();
    read_wip();
    auto built = Model::build(std::move(d_));
    if (!built) return locate(built.error());
    return built;
  }

 private:
  // Loads and splits a file; `from` is the cell that names it (a route file in part.txt).
  Table load(const std::string& name, std::string_view first_column, const Cell* from = nullptr) {
    const std::string* text = src_.get(name);
    if (!text) {
      if (from) from->fail("file " + quote(name) + " not found");
      detail::fail(src_.label(name), 0, "", "file not found (an SMT2020 folder needs it)");
    }
    return Table(src_.label(name), *text, first_column, kNoteColumns);
  }

  void origin(const char* table, const Table& t, int line, std::string field = {}) {
    origins_[table].push_back(Origin{t.file(), line, std::move(field)});
  }

  Error locate(Error e) const {
    const auto tr = detail::split_table_row(e.file);
    if (!tr) return e;
    const auto it = origins_.find(tr->first);
    if (it == origins_.end() || tr->second >= it->second.size()) return e;
    const Origin& o = it->second[tr->second];
    e.file = o.file;
    e.line = o.line;
    e.field = o.field.empty() ? std::string(column_for(tr->first, e.field)) : o.field;
    return e;
  }

  // The id of a name, adding it (and its origin) on first sight.
  template <class Vec>
  std::uint32_t intern(NameMap<std::uint32_t>& ids, Vec& table, const char* table_name, const Cell& c) {
    const auto it = ids.find(c.text);
    if (it != ids.end()) return it->second;
    const auto id = static_cast<std::uint32_t>(table.size());
    ids.emplace(std::string(c.text), id);
    table.push_back({std::string(c.text)});
    origins_[table_name].push_back(Origin{c.table->file(), c.line, std::string(c.col.name)});
    return id;
  }

  // Records a new unique name; fails naming the earlier line when it is taken.
  void unique(NameMap<int>& seen, const Cell& c, std::string_view what) {
    const auto [it, fresh] = seen.emplace(std::string(c.text), c.line);
    if (!fresh)
      c.fail("duplicate " + std::string(what) + " " + quote(c.text) + " (also line " +
             std::to_string(it->second) + ")");
  }

  void read_setup_groups() {
    setupgrp_table_ = std::make_unique<Table>(load("setupgrp.txt", "SETUPGRP"));  // kept: cells point into it
    const Table& t = *setupgrp_table_;
    const Col group = t.require("SETUPGRP"), setup = t.require("SETUP"), minrun = t.column("MINRUN"),
              ignore = t.column("IGNORE");
    NameMap<int> seen_groups;
    NameMap<int> seen_members;
    for (const auto& row : t.rows()) {
      const Cell g = t.cell(row, group);
      if (!g.empty()) {
        unique(seen_groups, g, "setup group");
        setup_group_ids_.emplace(std::string(g.text), static_cast<std::uint32_t>(d_.setup_groups.size()));
        d_.setup_groups.push_back(SetupGroup{std::string(g.text), {}});
        origin("setup_groups", t, row.line);
        pending_members_.emplace_back();
        seen_members.clear();
      } else if (d_.setup_groups.empty()) {
        g.fail("the first row must name its setup group (an empty SETUPGRP continues the group above)");
      }
      const Cell s = t.cell(row, setup);
      detail::required(s);
      unique(seen_members, s, "setup in group " + d_.setup_groups.back().name + ":");
      pending_members_.back().push_back(PendingMember{s, detail::opt_whole(t.cell(row, minrun)).value_or(0),
                                                      std::string(t.cell(row, ignore).text)});
    }
  }

  void read_tools() {
    const Table t = load("tool.txt.1l", "STNFAM");
    const Col fam = t.require("STNFAM"), stn = t.column("STN"), rule = t.column("RULE"),
              rank = t.require("FWLRANK"), wake = t.column("WAKERESRANK"), crit = t.column("BATCHCRITF"),
              per = t.column("BATCHPER"), ltime = t.column("LTIME"), ltunits = t.column("LTUNITS"),
              ultime = t.column("ULTIME"), ultunits = t.column("ULTUNITS"), cap = t.column("STNCAP"),
              qty = t.require("STNQTY"), grp = t.require("STNGRP"), actlist = t.column("STNFAMSTEP_ACTLIST"),
              loc = t.require("STNFAMLOC"), prerule = t.column("PRERULERWL"), setupgrp = t.column("SETUPGRP");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      ToolGroup g;
      const Cell name = cell(fam);
      detail::required(name);
      unique(seen, name, "tool group");
      g.name = name.text;
      g.station_name = cell(stn).text;
      if (const Cell c = cell(rule); !c.empty()) {
        const auto r = parse_dispatch_rule(c.text);
        if (!r)
          c.fail("unknown dispatch rule " + quote(c.text) + " (expected rule_HotLotFIRST or rule_LSSU)");
        g.rule = *r;
      }
      {
        const Cell c = cell(rank);
        std::string_view list = detail::required(c);
        while (!list.empty()) {
          const std::size_t semi = list.find(';');
          std::string_view key = list.substr(0, semi);
          while (!key.empty() && key.front() == ' ') key.remove_prefix(1);
          while (!key.empty() && key.back() == ' ') key.remove_suffix(1);
          list.remove_prefix(semi == std::string_view::npos ? list.size() : semi + 1);
          if (key.empty()) continue;
          const auto k = parse_rank_key(key);
          if (!k)
            c.fail("unknown rank " + quote(key) +
                   " (expected rank_HP, rank_RSETUP, rank_FIFO, rank_CR, rank_EDD or rank_SPT)");
          g.ranks.push_back(*k);
        }
        if (g.ranks.empty()) c.fail("empty rank list");
      }
      if (const Cell c = cell(wake); !c.empty()) {
        if (c.text != to_string(WakeRule::LeastSetupTime))
          c.fail("unknown wake rule " + quote(c.text) + " (expected wake_LeastSetupTime or empty)");
        g.wake = WakeRule::LeastSetupTime;
      }
      if (const Cell c = cell(crit); !c.empty()) {
        if (c.text != "crit_sameroutestep")
          c.fail("unknown batching criterion " + quote(c.text) + " (expected crit_sameroutestep or empty)");
        g.batch_criterion = BatchCriterion::SameRouteStep;
      }
      if (const Cell c = cell(per); !c.empty()) {
        if (c.text == "piece" || c.text == "pieces")
          g.batch_unit = BatchCountUnit::Piece;
        else if (c.text == "lot" || c.text == "lots")
          g.batch_unit = BatchCountUnit::Lot;
        else
          c.fail("unknown batch unit " + quote(c.text) + " (expected piece or lot)");
      }
      if (auto q = opt_time(cell(ltime), cell(ltunits))) g.load_time = *q;
      if (auto q = opt_time(cell(ultime), cell(ultunits))) g.unload_time = *q;
      g.cascade_capacity = detail::opt_whole(cell(cap), 1, 1000).value_or(1);
      {
        const Cell c = cell(qty);
        g.tool_count = detail::whole(c, 1, kMaxToolsPerGroup);
        if (d_.tools.size() + g.tool_count > kMaxTools)
          c.fail("more than " + std::to_string(kMaxTools) + " tools in all");
      }
      {
        const Cell c = cell(grp);
        detail::required(c);
        g.area = AreaId{intern(area_ids_, d_.areas, "areas", c)};
      }
      {
        const Cell c = cell(loc);
        detail::required(c);
        g.location = LocationId{intern(location_ids_, d_.locations, "locations", c)};
      }
      g.action_list = cell(actlist).text;
      g.pre_rule_rwl = detail::yes_no(cell(prerule));
      if (const Cell c = cell(setupgrp); !c.empty()) {
        const auto it = setup_group_ids_.find(c.text);
        if (it == setup_group_ids_.end())
          c.fail("unknown setup group " + quote(c.text) + " (not in setupgrp.txt)");
        g.setup_group = SetupGroupId{it->second};
      }
      const ToolGroupId gid{d_.tool_groups.size()};
      g.first_tool = ToolId{d_.tools.size()};
      for (std::uint32_t k = 0; k < g.tool_count; ++k) {
        d_.tools.push_back(Tool{g.name + "_" + std::to_string(k + 1), gid, k});
        origin("tools", t, row.line);
      }
      group_ids_.emplace(g.name, gid.value);
      d_.tool_groups.push_back(std::move(g));
      origin("tool_groups", t, row.line);
    }
  }

  void read_parts() {
    const Table t = load("part.txt", "PARTGRP");
    const Col grp = t.column("PARTGRP"), fam = t.column("PARTFAM"), part = t.require("PART"),
              file = t.require("ROUTEFILE"), route = t.column("ROUTE");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      const Cell name = t.cell(row, part);
      detail::required(name);
      unique(seen, name, "product");
      const Cell f = t.cell(row, file);
      const Cell r = t.cell(row, route);
      detail::required(f);
      if (f.text.find_first_of("/\\") != std::string_view::npos || f.text == "." || f.text == "..")
        f.fail("a route file must be a plain file name in the same folder, not " + quote(f.text));
      std::uint32_t rid;
      if (const auto it = route_by_file_.find(f.text); it != route_by_file_.end()) {
        rid = it->second;  // another product on the same route file
        if (!r.empty() && r.text != d_.routes[rid].name)
          r.fail("route file " + quote(f.text) + " holds route " + quote(d_.routes[rid].name));
      } else {
        rid = read_route(f, r);
        route_by_file_.emplace(std::string(f.text), rid);
        origins_["routes"].push_back(Origin{t.file(), row.line, {}});
      }
      d_.products.push_back(Product{std::string(name.text), std::string(t.cell(row, grp).text),
                                    std::string(t.cell(row, fam).text), RouteId{rid}});
      product_ids_.emplace(std::string(name.text), static_cast<std::uint32_t>(d_.products.size() - 1));
      origin("products", t, row.line);
    }
  }

  struct PendingRef {
    std::uint32_t step;  // global index of the step that refers
    int kind;            // 0 FORSTEP, 1 RWKSTEP, 2 STEP_CQT
    std::uint32_t number;
    Cell cell;
  };

  std::uint32_t read_route(const Cell& file_cell, const Cell& route_cell) {
    const Table t = load(std::string(file_cell.text), "ROUTE", &file_cell);
    const Col route = t.column("ROUTE"), step = t.require("STEP"), desc = t.column("DESC"),
              fam = t.require("STNFAM"), pdist = t.column("PDIST"), ptime = t.require("PTIME"),
              ptime2 = t.column("PTIME2"), ptunits = t.require("PTUNITS"), ptper = t.column("PTPER"),
              bmin = t.column("BATCHMN"), bmax = t.column("BATCHMX"), setup = t.column("SETUP"),
              when = t.column("WHEN"), stime = t.column("STIME"), stunits = t.column("STUNITS"),
              svestn = t.column("SVESTN"), forstep = t.column("FORSTEP"), bint = t.column("BatchInterval"),
              bintu = t.column("BatchIntUnits"), pint = t.column("PartInterval"),
              pintu = t.column("PartIntUnits"), rwkstep = t.column("RWKSTEP"), rework = t.column("REWORK"),
              rwktype = t.column("RWKTYPE"), percent_col = t.column("StepPercent"),
              cqtstep = t.column("STEP_CQT"), cqt = t.column("CQT"), cqtunits = t.column("CQTUNITS"),
              ignore = t.column("IGNORE");
    const RouteId rid{d_.routes.size()};
    Route r;
    r.file = file_cell.text;
    r.name = route_cell.text;
    r.first_step = StepId{d_.steps.size()};
    std::unordered_map<std::uint32_t, int> lines;  // step number -> line
    std::unordered_map<std::uint32_t, std::uint32_t>& by_number =
        step_numbers_.emplace_back();  // number -> global index
    std::vector<PendingRef> refs;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      if (const Cell c = cell(route); !c.empty()) {
        if (r.name.empty())
          r.name = c.text;
        else if (c.text != r.name)
          c.fail("route " + quote(c.text) + " in the file of route " + quote(r.name));
      }
      Step s;
      s.route = rid;
      s.index = static_cast<std::uint32_t>(d_.steps.size() - r.first_step.index());
      const auto gidx = static_cast<std::uint32_t>(d_.steps.size());
      {
        const Cell c = cell(step);
        s.number = detail::whole(c);
        const auto [it, fresh] = lines.emplace(s.number, row.line);
        if (!fresh)
          c.fail("duplicate step number " + std::to_string(s.number) + " (also line " +
                 std::to_string(it->second) + ")");
        by_number.emplace(s.number, gidx);
      }
      s.description = cell(desc).text;
      {
        const Cell c = cell(fam);
        detail::required(c);
        const auto it = group_ids_.find(c.text);
        if (it == group_ids_.end()) c.fail("unknown tool group " + quote(c.text) + " (not in tool.txt.1l)");
        s.tool_group = ToolGroupId{it->second};
      }
      s.process_time = read_dist(cell(pdist), cell(ptime), cell(ptime2), cell(ptunits));
      if (const Cell c = cell(ptper); !c.empty()) {
        const auto u = parse_process_unit(c.text);
        if (!u)
          c.fail("unknown processing unit " + quote(c.text) + " (expected per_piece, per_lot or per_batch)");
        s.process_unit = *u;
      }
      s.batch_min = detail::opt_whole(cell(bmin)).value_or(0);
      s.batch_max = detail::opt_whole(cell(bmax)).value_or(0);
      if (s.process_unit == ProcessUnit::PerBatch && s.batch_max == 0)
        cell(bmax).fail("a per_batch step needs BATCHMX");
      if (s.batch_min > s.batch_max && s.batch_max > 0) cell(bmin).fail("BATCHMN larger than BATCHMX");
      if (s.batch_min > 0 && s.batch_max == 0) cell(bmax).fail("BATCHMN without BATCHMX");
      if (const Cell c = cell(setup); !c.empty())
        s.setup = SetupId{intern(setup_ids_, d_.setups, "setups", c)};
      if (const Cell c = cell(when); !c.empty()) {
        const auto w = parse_setup_when(c.text);
        if (!w) c.fail("unknown setup condition " + quote(c.text) + " (expected need or always)");
        s.setup_when = *w;
      }
      s.setup_time = opt_time(cell(stime), cell(stunits));
      s.dedicate = detail::yes_no(cell(svestn));
      s.batch_interval = opt_time(cell(bint), cell(bintu));
      s.part_interval = opt_time(cell(pint), cell(pintu));
      s.rework_percent = percent(cell(rework), 0);
      s.rework_type = cell(rwktype).text;
      s.sample_percent = percent(cell(percent_col), 100);
      s.cqt = opt_time(cell(cqt), cell(cqtunits));
      s.comment = cell(ignore).text;
      const Col ref_cols[3] = {forstep, rwkstep, cqtstep};  // PendingRef::kind 0, 1, 2
      for (int k = 0; k < 3; ++k)
        if (const Cell c = cell(ref_cols[k]); !c.empty())
          refs.push_back(PendingRef{gidx, k, detail::whole(c), c});
      if (s.rework_percent > 0 && cell(rwkstep).empty()) cell(rwkstep).fail("REWORK without RWKSTEP");
      if (s.cqt && cell(cqtstep).empty()) cell(cqtstep).fail("CQT without STEP_CQT");
      if (!s.cqt && !cell(cqtstep).empty()) cell(cqt).fail("STEP_CQT without CQT");
      d_.steps.push_back(std::move(s));
      origin("steps", t, row.line);
    }
    if (d_.steps.size() == r.first_step.index())
      detail::fail(t.file(), 1, "STEP", "a route file needs at least one step");
    if (r.name.empty())
      detail::fail(t.file(), 1, "ROUTE", "no route name (ROUTE in part.txt or in the route file)");
    r.step_count = static_cast<std::uint32_t>(d_.steps.size() - r.first_step.index());
    for (const auto& ref : refs) {
      const auto it = by_number.find(ref.number);
      if (it == by_number.end())
        ref.cell.fail("step " + std::to_string(ref.number) + " does not exist in route " + quote(r.name));
      const std::uint32_t target = it->second;
      Step& s = d_.steps[ref.step];
      if (ref.kind == 0) {
        if (d_.steps[target].tool_group != s.tool_group)
          ref.cell.fail("step " + std::to_string(ref.number) + " runs on another tool group");
        s.dedicate_for = StepId{target};
      } else if (ref.kind == 1) {
        if (target > ref.step) ref.cell.fail("rework must go back to this or an earlier step");
        s.rework_step = StepId{target};
      } else {
        if (target <= ref.step) ref.cell.fail("the queue-time limit must end at a later step");
        s.cqt_to = StepId{target};
      }
    }
    if (const auto it = route_names_.find(r.name); it != route_names_.end())
      detail::fail(t.file(), 2, "ROUTE",
                   "duplicate route " + quote(r.name) + " (also in " + it->second + ")");
    route_names_.emplace(r.name, t.file());
    d_.routes.push_back(std::move(r));
    return rid.value;
  }

  void read_setup_times() {
    const Table t = load("setup.txt", "CURSETUP");
    const Col cur = t.require("CURSETUP"), next = t.require("NEWSETUP"), stime = t.require("STIME"),
              stunits = t.require("STUNITS"), ignore = t.column("IGNORE");
    for (const auto& row : t.rows()) {
      SetupTransition st;
      if (const Cell c = t.cell(row, cur); !c.empty())
        st.from = SetupId{intern(setup_ids_, d_.setups, "setups", c)};
      const Cell to = t.cell(row, next);
      detail::required(to);
      st.to = SetupId{intern(setup_ids_, d_.setups, "setups", to)};
      const Cell time = t.cell(row, stime);
      detail::required(time);
      st.time = *opt_time(time, t.cell(row, stunits));
      st.comment = t.cell(row, ignore).text;
      d_.setup_transitions.push_back(std::move(st));
      origin("setup_transitions", t, row.line);
    }
  }

  void intern_group_setups() {
    for (std::size_t g = 0; g < pending_members_.size(); ++g)
      for (const auto& m : pending_members_[g])
        d_.setup_groups[g].members.push_back(SetupGroupMember{
            SetupId{intern(setup_ids_, d_.setups, "setups", m.setup)}, m.min_run, m.comment});
  }

  void read_downcal() {
    const Table t = load("downcal.txt", "DOWNCALNAME");
    const Col name = t.require("DOWNCALNAME"), type = t.column("DOWNCALTYPE"), fdist = t.column("MTTFDIST"),
              mttf = t.require("MTTF"), mttf2 = t.column("MTTF2"), funits = t.require("MTTFUNITS"),
              rdist = t.column("MTTRDIST"), mttr = t.require("MTTR"), mttr2 = t.column("MTTR2"),
              runits = t.require("MTTRUNITS"), ignore = t.column("IGNORE");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      DownCalendar c;
      const Cell n = cell(name);
      detail::required(n);
      unique(seen, n, "down calendar");
      c.name = n.text;
      c.type = cell(type).text;
      c.time_to_failure = read_dist(cell(fdist), cell(mttf), cell(mttf2), cell(funits));
      if (c.time_to_failure.mean() <= 0) cell(mttf).fail("the mean time to failure must be positive");
      c.time_to_repair = read_dist(cell(rdist), cell(mttr), cell(mttr2), cell(runits));
      c.comment = cell(ignore).text;
      down_ids_.emplace(c.name, static_cast<std::uint32_t>(d_.down_calendars.size()));
      d_.down_calendars.push_back(std::move(c));
      origin("down_calendars", t, row.line);
    }
  }

  void read_pmcal() {
    const Table t = load("pmcal.txt", "PMCALNAME");
    const Col name = t.require("PMCALNAME"), type = t.require("PMCALTYPE"), mtbpm = t.require("MTBPM"),
              mtbpm_units = t.column("MTBPMUNITS"), rdist = t.column("MTTRDIST"), mttr = t.require("MTTR"),
              mttr2 = t.column("MTTR2"), runits = t.require("MTTRUNITS"), ignore = t.column("IGNORE");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      PmCalendar c;
      const Cell n = cell(name);
      detail::required(n);
      unique(seen, n, "PM calendar");
      c.name = n.text;
      const Cell ty = cell(type);
      if (ty.text == "mtbpm_by_cal")
        c.trigger = PmTrigger::Calendar;
      else if (ty.text == "mtbpm_by_pieces")
        c.trigger = PmTrigger::Pieces;
      else
        ty.fail("unknown PM type " + quote(ty.text) + " (expected mtbpm_by_cal or mtbpm_by_pieces)");
      const Cell iv = cell(mtbpm);
      const Cell iu = cell(mtbpm_units);
      const bool pieces = c.trigger == PmTrigger::Pieces;
      c.interval.value = non_negative(iv, !pieces);
      if (c.interval.value <= 0) iv.fail("the PM interval must be positive");
      if (pieces) {
        if (!iu.empty() && read_unit(iu, false) != Unit::Piece)
          iu.fail("a counter PM (mtbpm_by_pieces) counts pieces");
        c.interval.unit = Unit::Piece;
      } else {
        c.interval.unit = read_unit(iu, true);
      }
      c.duration = read_dist(cell(rdist), cell(mttr), cell(mttr2), cell(runits));
      c.comment = cell(ignore).text;
      pm_ids_.emplace(c.name, static_cast<std::uint32_t>(d_.pm_calendars.size()));
      d_.pm_calendars.push_back(std::move(c));
      origin("pm_calendars", t, row.line);
    }
  }

  void read_attach() {
    const Table t = load("attach.txt", "CALNAME");
    const Col name = t.require("CALNAME"), type = t.require("CALTYPE"), restype = t.require("RESTYPE"),
              resname = t.require("RESNAME"), fdist = t.column("FOADIST"), foa = t.require("FOA"),
              foa2 = t.column("FOA2"), funits = t.column("FOAUNITS");
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      Attachment a;
      const Cell ty = cell(type);
      if (ty.text == "down")
        a.is_pm = false;
      else if (ty.text == "pm")
        a.is_pm = true;
      else
        ty.fail("unknown calendar type " + quote(ty.text) + " (expected down or pm)");
      const Cell n = cell(name);
      detail::required(n);
      const auto& ids = a.is_pm ? pm_ids_ : down_ids_;
      const auto it = ids.find(n.text);
      if (it == ids.end())
        n.fail("unknown calendar " + quote(n.text) +
               (a.is_pm ? " (not in pmcal.txt)" : " (not in downcal.txt)"));
      a.calendar = it->second;
      const Cell rt = cell(restype);
      const Cell rn = cell(resname);
      detail::required(rn);
      if (rt.text == "stngrp") {
        a.target_kind = AttachTarget::Area;
        const auto at = area_ids_.find(rn.text);
        if (at == area_ids_.end())
          rn.fail("unknown area " + quote(rn.text) + " (no STNGRP of that name in tool.txt.1l)");
        a.target = at->second;
      } else if (rt.text == "stnfam") {
        a.target_kind = AttachTarget::ToolGroup;
        const auto gt = group_ids_.find(rn.text);
        if (gt == group_ids_.end()) rn.fail("unknown tool group " + quote(rn.text) + " (not in tool.txt.1l)");
        a.target = gt->second;
      } else {
        rt.fail("unknown resource type " + quote(rt.text) + " (expected stngrp or stnfam)");
      }
      const bool counts = a.is_pm && d_.pm_calendars[a.calendar].trigger == PmTrigger::Pieces;
      a.first_occurrence = read_dist(cell(fdist), cell(foa), cell(foa2), cell(funits),
                                     counts ? std::optional{Unit::Piece} : std::nullopt, counts);
      d_.attachments.push_back(a);
      origin("attachments", t, row.line);
    }
  }

  void read_fromto() {
    const Table t = load("fromto.txt", "FROMLOC");
    const Col from = t.require("FROMLOC"), to = t.require("TOLOC"), dist = t.column("DDIST"),
              time = t.require("DTIME"), time2 = t.column("DTIME2"), units = t.require("DUNITS");
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      auto location = [&](Col col) {
        const Cell c = cell(col);
        detail::required(c);
        const auto it = location_ids_.find(c.text);
        if (it == location_ids_.end())
          c.fail("unknown location " + quote(c.text) + " (no STNFAMLOC of that name in tool.txt.1l)");
        return LocationId{it->second};
      };
      Transport tr;
      tr.from = location(from);
      tr.to = location(to);
      tr.time = read_dist(cell(dist), cell(time), cell(time2), cell(units));
      d_.transports.push_back(tr);
      origin("transports", t, row.line);
    }
  }

  ProductId product(const Cell& c) {
    detail::required(c);
    const auto it = product_ids_.find(c.text);
    if (it == product_ids_.end()) c.fail("unknown product " + quote(c.text) + " (not in part.txt)");
    return ProductId{it->second};
  }

  void read_orders() {
    const Table t = load("order.txt", "LOT");
    const Col lot = t.require("LOT"), part = t.require("PART"), prior = t.column("PRIOR"),
              pieces = t.column("PIECES"), start = t.require("START"), rdist = t.column("RDIST"),
              repeat = t.require("REPEAT"), repeat2 = t.column("REPEAT2"), runits = t.require("RUNITS"),
              rpt = t.require("RPT#"), lots = t.column("LOTSPERRPT"), due = t.require("DUE"),
              order = t.column("ORDER"), hot = t.column("HOTLOT");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      Order o;
      const Cell n = cell(lot);
      detail::required(n);
      unique(seen, n, "order lot");
      o.lot_prefix = n.text;
      o.product = product(cell(part));
      o.priority = detail::opt_whole(cell(prior)).value_or(10);
      o.pieces = detail::opt_whole(cell(pieces), 1).value_or(25);
      o.start = read_date(cell(start));
      o.interval = read_dist(cell(rdist), cell(repeat), cell(repeat2), cell(runits));
      o.repeat_count = detail::whole(cell(rpt));
      o.lots_per_release = detail::opt_whole(cell(lots), 1).value_or(1);
      if (o.repeat_count > 1 && o.interval.mean() <= 0)
        cell(repeat).fail("a repeated release needs a positive interval");
      o.due = read_date(cell(due));
      o.order_name = cell(order).text;
      o.hot_lot_flag = detail::yes_no(cell(hot));
      d_.orders.push_back(std::move(o));
      origin("orders", t, row.line);
    }
  }

  void read_wip() {
    const Table t = load("WIP.txt", "LOT");
    const Col lot = t.require("LOT"), part = t.require("PART"), prior = t.column("PRIOR"),
              pieces = t.column("PIECES"), start = t.require("START"), curstep = t.require("CURSTEP"),
              due = t.require("DUE"), order = t.column("ORDER"), hot = t.column("HOTLOT"),
              trace = t.column("TRACE");
    NameMap<int> seen;
    for (const auto& row : t.rows()) {
      auto cell = [&](Col c) { return t.cell(row, c); };
      WipLot w;
      const Cell n = cell(lot);
      detail::required(n);
      unique(seen, n, "WIP lot");
      w.name = n.text;
      w.product = product(cell(part));
      w.priority = detail::opt_whole(cell(prior)).value_or(10);
      w.pieces = detail::opt_whole(cell(pieces), 1).value_or(25);
      w.start = read_date(cell(start));
      {
        const Cell c = cell(curstep);
        const std::uint32_t number = detail::whole(c);
        const RouteId rid = d_.products[w.product.index()].route;
        const auto& numbers = step_numbers_[rid.index()];
        const auto it = numbers.find(number);
        if (it == numbers.end())
          c.fail("step " + std::to_string(number) + " does not exist in route " +
                 quote(d_.routes[rid.index()].name));
        w.current_step = StepId{it->second};
      }
      w.due = read_date(cell(due));
      w.order_name = cell(order).text;
      w.hot_lot_flag = detail::yes_no(cell(hot));
      w.trace = cell(trace).text;
      d_.wip.push_back(std::move(w));
      origin("wip", t, row.line);
    }
  }

  struct PendingMember {
    Cell setup;
    std::uint32_t min_run;
    std::string comment;
  };

  const FileSource& src_;
  ModelData d_;
  std::unordered_map<std::string, std::vector<Origin>> origins_;
  NameMap<std::uint32_t> area_ids_, location_ids_, group_ids_, setup_ids_, setup_group_ids_, product_ids_,
      down_ids_, pm_ids_, route_by_file_;
  NameMap<std::string> route_names_;  // route name -> file
  std::vector<std::vector<PendingMember>> pending_members_;
  std::vector<std::unordered_map<std::uint32_t, std::uint32_t>> step_numbers_;  // per route: number -> StepId
  std::unique_ptr<Table> setupgrp_table_;
};

Result<Model> run_reader(const FileSource& src, std::string name) {
  try {
    Reader r(src, std::move(name));
    return r.run();
  } catch (const ReadError& e) {
    return e.error;
  } catch (const std::bad_alloc&) {
    return Error{"", 0, "", "out of memory while reading the model"};
  }
}

}  // namespace

Result<Model> parse_smt2020(const std::map<std::string, std::string>& files, std::string name) {
  FileSource src{[&](const std::string& n) -> const std::string* {
                   const auto it = files.find(n);
                   return it == files.end() ? nullptr : &it->second;
                 },
                 [](const std::string& n) { return n; }};
  return run_reader(src, std::move(name));
}

Result<Model> read_smt2020(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return Error{dir.string(), 0, "", "not a folder"};
  std::map<std::string, std::string> cache;
  FileSource src{[&](const std::string& n) -> const std::string* {
                   if (const auto it = cache.find(n); it != cache.end()) return &it->second;
                   const auto path = dir / n;
                   std::error_code e;
                   if (!std::filesystem::exists(path, e)) return nullptr;
                   auto text = read_file(path, kMaxFileBytes);
                   if (!text.ok()) detail::fail(text.error().file, 0, "", text.error().message);
                   return &cache.emplace(n, std::move(text).value()).first->second;
                 },
                 [&](const std::string& n) { return (dir / n).string(); }};
  auto name = dir.filename().string();
  if (name.empty()) name = dir.parent_path().filename().string();  // "dir/" has an empty filename
  return run_reader(src, name);
}

}  // namespace fabtwin::io
