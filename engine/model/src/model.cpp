#include "fabtwin/model/model.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace fabtwin::model {

std::string Error::what() const {
  std::string s = file;
  if (line > 0) s.append(":").append(std::to_string(line));
  if (!s.empty()) s.append(": ");
  if (!field.empty()) s.append("field '").append(field).append("': ");
  s.append(message);
  return s;
}

std::string_view to_string(RankKey k) {
  switch (k) {
    case RankKey::HighestPriority:
      return "rank_HP";
    case RankKey::LeastSetup:
      return "rank_RSETUP";
    case RankKey::Fifo:
      return "rank_FIFO";
    case RankKey::CriticalRatio:
      return "rank_CR";
    case RankKey::EarliestDue:
      return "rank_EDD";
    case RankKey::ShortestProcessing:
      return "rank_SPT";
  }
  return "?";
}

std::optional<RankKey> parse_rank_key(std::string_view s) {
  for (auto k : {RankKey::HighestPriority, RankKey::LeastSetup, RankKey::Fifo, RankKey::CriticalRatio,
                 RankKey::EarliestDue, RankKey::ShortestProcessing})
    if (to_string(k) == s) return k;
  return std::nullopt;
}

std::string_view to_string(DispatchRule r) {
  return r == DispatchRule::HotLotFirst ? "rule_HotLotFIRST" : "rule_LSSU";
}
std::optional<DispatchRule> parse_dispatch_rule(std::string_view s) {
  if (s == "rule_HotLotFIRST") return DispatchRule::HotLotFirst;
  if (s == "rule_LSSU") return DispatchRule::LeastSetupMinRun;
  return std::nullopt;
}

std::string_view to_string(WakeRule w) { return w == WakeRule::LeastSetupTime ? "wake_LeastSetupTime" : ""; }

std::string_view to_string(ProcessUnit u) {
  switch (u) {
    case ProcessUnit::PerPiece:
      return "per_piece";
    case ProcessUnit::PerLot:
      return "per_lot";
    case ProcessUnit::PerBatch:
      return "per_batch";
  }
  return "?";
}
std::optional<ProcessUnit> parse_process_unit(std::string_view s) {
  if (s == "per_piece") return ProcessUnit::PerPiece;
  if (s == "per_lot") return ProcessUnit::PerLot;
  if (s == "per_batch") return ProcessUnit::PerBatch;
  return std::nullopt;
}

std::string_view to_string(SetupWhen w) { return w == SetupWhen::Need ? "need" : "always"; }
std::optional<SetupWhen> parse_setup_when(std::string_view s) {
  if (s == "need") return SetupWhen::Need;
  if (s == "always") return SetupWhen::Always;
  return std::nullopt;
}

struct Model::Index {
  std::unordered_map<std::string_view, ToolGroupId> tool_groups;
  std::unordered_map<std::string_view, ProductId> products;
  std::unordered_map<std::string_view, SetupId> setups;
  std::unordered_map<std::string_view, AreaId> areas;
  // setup_time lookup: key (from+1 or 0 for any) * n + to
  std::unordered_map<std::uint64_t, Duration> transitions;
  std::vector<std::vector<std::pair<SetupId, std::uint32_t>>> min_runs;  // per tool group
};

namespace {

Error err(std::string table, std::size_t row, std::string field, std::string message) {
  // row is 0-based; reported 1-based as "table[row]"
  return Error{std::move(table) + "[" + std::to_string(row) + "]", 0, std::move(field), std::move(message)};
}

template <class Id, class Vec>
bool in_range(Id id, const Vec& v) {
  return id.valid() && id.index() < v.size();
}

std::optional<Error> check_dist(const Distribution& d, const std::string& table, std::size_t row,
                                const std::string& field) {
  auto bad = [&](const char* m) { return err(table, row, field, m); };
  if (!std::isfinite(d.a) || !std::isfinite(d.b) || !std::isfinite(d.c)) return bad("not a finite number");
  switch (d.kind) {
    case DistKind::Constant:
    case DistKind::Exponential:
      if (d.a < 0) return bad("negative time");
      break;
    case DistKind::Uniform:
      if (d.a < 0 || d.b < 0) return bad("negative time");
      if (d.b > d.a) return bad("uniform half width larger than its mean (draws below zero)");
      break;
    case DistKind::Triangular:
      if (d.a < 0) return bad("negative time");
      if (!(d.a <= d.b && d.b <= d.c)) return bad("triangular needs min <= mode <= max");
      break;
    case DistKind::Normal:
    case DistKind::Lognormal:
      if (d.a < 0 || d.b < 0) return bad("negative mean or deviation");
      if (d.kind == DistKind::Lognormal && d.a == 0) return bad("lognormal needs a positive mean");
      break;
  }
  return std::nullopt;
}

std::optional<Error> check_qty(const Quantity& q, const std::string& table, std::size_t row,
                               const std::string& field) {
  if (!std::isfinite(q.value)) return err(table, row, field, "not a finite number");
  if (q.value < 0) return err(table, row, field, "negative value");
  return std::nullopt;
}

template <class T, class F>
std::optional<Error> check_unique(const std::vector<T>& v, F name_of, const char* table, const char* field) {
  std::unordered_map<std::string_view, std::size_t> seen;
  for (std::size_t i = 0; i < v.size(); ++i) {
    std::string_view n = name_of(v[i]);
    if (n.empty()) return err(table, i, field, "empty name");
    auto [it, fresh] = seen.emplace(n, i);
    if (!fresh)
      return err(table, i, field,
                 "duplicate name '" + std::string(n) + "' (also row " + std::to_string(it->second) + ")");
  }
  return std::nullopt;
}

std::optional<Error> validate(const ModelData& d) {
  if (auto e = check_unique(
          d.areas, [](auto& x) -> std::string_view { return x.name; }, "areas", "name"))
    return e;
  if (auto e = check_unique(
          d.locations, [](auto& x) -> std::string_view { return x.name; }, "locations", "name"))
    return e;
  if (auto e = check_unique(
          d.tool_groups, [](auto& x) -> std::string_view { return x.name; }, "tool_groups", "name"))
    return e;
  if (auto e = check_unique(
          d.tools, [](auto& x) -> std::string_view { return x.name; }, "tools", "name"))
    return e;
  if (auto e = check_unique(
          d.setups, [](auto& x) -> std::string_view { return x.name; }, "setups", "name"))
    return e;
  if (auto e = check_unique(
          d.setup_groups, [](auto& x) -> std::string_view { return x.name; }, "setup_groups", "name"))
    return e;
  if (auto e = check_unique(
          d.routes, [](auto& x) -> std::string_view { return x.name; }, "routes", "name"))
    return e;
  if (auto e = check_unique(
          d.products, [](auto& x) -> std::string_view { return x.name; }, "products", "name"))
    return e;
  if (auto e = check_unique(
          d.down_calendars, [](auto& x) -> std::string_view { return x.name; }, "down_calendars", "name"))
    return e;
  if (auto e = check_unique(
          d.pm_calendars, [](auto& x) -> std::string_view { return x.name; }, "pm_calendars", "name"))
    return e;
  if (auto e = check_unique(
          d.orders, [](auto& x) -> std::string_view { return x.lot_prefix; }, "orders", "lot"))
    return e;
  if (auto e = check_unique(
          d.wip, [](auto& x) -> std::string_view { return x.name; }, "wip", "lot"))
    return e;

  // Tool groups own contiguous tool ranges, in order.
  std::uint32_t next_tool = 0;
  for (std::size_t i = 0; i < d.tool_groups.size(); ++i) {
    const auto& g = d.tool_groups[i];
    const std::string t = "tool_groups";
    if (!in_range(g.area, d.areas)) return err(t, i, "area", "unknown area");
    if (!in_range(g.location, d.locations)) return err(t, i, "location", "unknown location");
    if (g.tool_count == 0) return err(t, i, "tool_count", "a tool group needs at least one tool");
    if (g.cascade_capacity == 0) return err(t, i, "cascade_capacity", "must be at least 1");
    if (g.ranks.empty()) return err(t, i, "ranks", "empty rank list");
    if (auto e = check_qty(g.load_time, t, i, "load_time")) return e;
    if (auto e = check_qty(g.unload_time, t, i, "unload_time")) return e;
    if (!is_time(g.load_time.unit)) return err(t, i, "load_time", "needs a time unit");
    if (!is_time(g.unload_time.unit)) return err(t, i, "unload_time", "needs a time unit");
    if (g.setup_group && !in_range(*g.setup_group, d.setup_groups))
      return err(t, i, "setup_group", "unknown setup group");
    if (g.first_tool.value != next_tool)
      return err(t, i, "first_tool", "tools of a group must follow the previous group's");
    next_tool += g.tool_count;
  }
  if (next_tool != d.tools.size())
    return err("tools", d.tools.size(), "",
               "tool table has " + std::to_string(d.tools.size()) + " rows, tool groups count " +
                   std::to_string(next_tool));
  for (std::size_t i = 0; i < d.tools.size(); ++i) {
    const auto& tool = d.tools[i];
    if (!in_range(tool.group, d.tool_groups)) return err("tools", i, "group", "unknown tool group");
    const auto& g = d.tool_groups[tool.group.index()];
    if (g.first_tool.value + tool.index_in_group != i)
      return err("tools", i, "index_in_group", "does not match the group's tool range");
  }

  std::uint32_t next_step = 0;
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const auto& route = d.routes[r];
    if (route.step_count == 0) return err("routes", r, "steps", "a route needs at least one step");
    if (route.first_step.value != next_step)
      return err("routes", r, "first_step", "steps of a route must follow the previous route's");
    next_step += route.step_count;
  }
  if (next_step != d.steps.size())
    return err("steps", d.steps.size(), "", "step table does not match the routes");
  for (std::size_t i = 0; i < d.steps.size(); ++i) {
    const auto& s = d.steps[i];
    const std::string t = "steps";
    if (!in_range(s.route, d.routes)) return err(t, i, "route", "unknown route");
    const auto& route = d.routes[s.route.index()];
    if (route.first_step.value + s.index != i)
      return err(t, i, "index", "does not match the route's step range");
    if (!in_range(s.tool_group, d.tool_groups)) return err(t, i, "tool_group", "unknown tool group");
    if (auto e = check_dist(s.process_time, t, i, "process_time")) return e;
    if (!is_time(s.process_time.unit)) return err(t, i, "process_time", "needs a time unit");
    if (s.process_unit == ProcessUnit::PerBatch || s.batch_max > 0) {
      if (s.batch_max == 0) return err(t, i, "batch_max", "a per-batch step needs a maximum batch size");
      if (s.batch_min > s.batch_max) return err(t, i, "batch_min", "larger than batch_max");
    }
    if (s.setup && !in_range(*s.setup, d.setups)) return err(t, i, "setup", "unknown setup");
    if (s.setup_time) {
      if (auto e = check_qty(*s.setup_time, t, i, "setup_time")) return e;
      if (!is_time(s.setup_time->unit)) return err(t, i, "setup_time", "needs a time unit");
    }
    auto later_in_route = [&](std::optional<StepId> ref) {
      return !ref || (in_range(*ref, d.steps) && d.steps[ref->index()].route == s.route);
    };
    if (!later_in_route(s.dedicate_for)) return err(t, i, "dedicate_for", "step not in the same route");
    if (s.dedicate_for && d.steps[s.dedicate_for->index()].tool_group != s.tool_group)
      return err(t, i, "dedicate_for", "the dedicated step runs on another tool group");
    if (!later_in_route(s.rework_step)) return err(t, i, "rework_step", "step not in the same route");
    if (s.rework_step && s.rework_step->value > i)
      return err(t, i, "rework_step", "rework must go back to this or an earlier step");
    if (!(s.rework_percent >= 0 && s.rework_percent <= 100))
      return err(t, i, "rework_percent", "must be within 0..100");
    if (!(s.sample_percent >= 0 && s.sample_percent <= 100))
      return err(t, i, "sample_percent", "must be within 0..100");
    if (!later_in_route(s.cqt_to)) return err(t, i, "cqt_to", "step not in the same route");
    if (s.cqt_to && s.cqt_to->value <= i)
      return err(t, i, "cqt_to", "the queue-time limit must end at a later step");
    if (s.cqt_to.has_value() != s.cqt.has_value())
      return err(t, i, "cqt", "a queue-time limit needs both its step and its time");
    if (s.cqt) {
      if (auto e = check_qty(*s.cqt, t, i, "cqt")) return e;
      if (!is_time(s.cqt->unit)) return err(t, i, "cqt", "needs a time unit");
    }
    for (auto [q, f] :
         {std::pair{&s.batch_interval, "batch_interval"}, std::pair{&s.part_interval, "part_interval"}}) {
      if (*q) {
        if (auto e = check_qty(**q, t, i, f)) return e;
        if (!is_time((*q)->unit)) return err(t, i, f, "needs a time unit");
      }
    }
  }
  for (std::size_t i = 0; i < d.products.size(); ++i)
    if (!in_range(d.products[i].route, d.routes)) return err("products", i, "route", "unknown route");
  for (std::size_t i = 0; i < d.setup_transitions.size(); ++i) {
    const auto& st = d.setup_transitions[i];
    if (st.from && !in_range(*st.from, d.setups)) return err("setup_transitions", i, "from", "unknown setup");
    if (!in_range(st.to, d.setups)) return err("setup_transitions", i, "to", "unknown setup");
    if (auto e = check_qty(st.time, "setup_transitions", i, "time")) return e;
    if (!is_time(st.time.unit)) return err("setup_transitions", i, "time", "needs a time unit");
  }
  for (std::size_t i = 0; i < d.setup_groups.size(); ++i)
    for (const auto& m : d.setup_groups[i].members)
      if (!in_range(m.setup, d.setups)) return err("setup_groups", i, "members", "unknown setup");
  for (std::size_t i = 0; i < d.down_calendars.size(); ++i) {
    if (auto e = check_dist(d.down_calendars[i].time_to_failure, "down_calendars", i, "time_to_failure"))
      return e;
    if (auto e = check_dist(d.down_calendars[i].time_to_repair, "down_calendars", i, "time_to_repair"))
      return e;
    if (d.down_calendars[i].time_to_failure.mean() <= 0)
      return err("down_calendars", i, "time_to_failure", "mean must be positive");
  }
  for (std::size_t i = 0; i < d.pm_calendars.size(); ++i) {
    const auto& pm = d.pm_calendars[i];
    if (auto e = check_qty(pm.interval, "pm_calendars", i, "interval")) return e;
    if (pm.interval.value <= 0) return err("pm_calendars", i, "interval", "must be positive");
    if ((pm.trigger == PmTrigger::Pieces) != (pm.interval.unit == Unit::Piece))
      return err("pm_calendars", i, "interval", "a counter PM counts pieces, a calendar PM counts time");
    if (auto e = check_dist(pm.duration, "pm_calendars", i, "duration")) return e;
  }
  for (std::size_t i = 0; i < d.attachments.size(); ++i) {
    const auto& a = d.attachments[i];
    const std::size_t ncal = a.is_pm ? d.pm_calendars.size() : d.down_calendars.size();
    if (a.calendar >= ncal) return err("attachments", i, "calendar", "unknown calendar");
    const std::size_t ntarget = a.target_kind == AttachTarget::Area ? d.areas.size() : d.tool_groups.size();
    if (a.target >= ntarget) return err("attachments", i, "target", "unknown area or tool group");
    if (auto e = check_dist(a.first_occurrence, "attachments", i, "first_occurrence")) return e;
  }
  for (std::size_t i = 0; i < d.transports.size(); ++i) {
    const auto& tr = d.transports[i];
    if (!in_range(tr.from, d.locations) || !in_range(tr.to, d.locations))
      return err("transports", i, "from", "unknown location");
    if (auto e = check_dist(tr.time, "transports", i, "time")) return e;
  }
  for (std::size_t i = 0; i < d.orders.size(); ++i) {
    const auto& o = d.orders[i];
    if (!in_range(o.product, d.products)) return err("orders", i, "product", "unknown product");
    if (o.pieces == 0) return err("orders", i, "pieces", "a lot needs at least one wafer");
    if (o.lots_per_release == 0) return err("orders", i, "lots_per_release", "must be at least 1");
    if (auto e = check_dist(o.interval, "orders", i, "interval")) return e;
    if (o.repeat_count > 1 && o.interval.mean() <= 0) return err("orders", i, "interval", "must be positive");
  }
  for (std::size_t i = 0; i < d.wip.size(); ++i) {
    const auto& w = d.wip[i];
    if (!in_range(w.product, d.products)) return err("wip", i, "product", "unknown product");
    if (w.pieces == 0) return err("wip", i, "pieces", "a lot needs at least one wafer");
    if (!in_range(w.current_step, d.steps) ||
        d.steps[w.current_step.index()].route != d.products[w.product.index()].route)
      return err("wip", i, "current_step", "step not on the product's route");
  }
  return std::nullopt;
}

}  // namespace

Result<Model> Model::build(ModelData data) {
  if (auto e = validate(data)) return *e;
  Model m;
  m.data_ = std::make_shared<const ModelData>(std::move(data));
  auto idx = std::make_shared<Index>();
  const auto& d = *m.data_;
  for (std::size_t i = 0; i < d.tool_groups.size(); ++i)
    idx->tool_groups.emplace(d.tool_groups[i].name, ToolGroupId{i});
  for (std::size_t i = 0; i < d.products.size(); ++i) idx->products.emplace(d.products[i].name, ProductId{i});
  for (std::size_t i = 0; i < d.setups.size(); ++i) idx->setups.emplace(d.setups[i].name, SetupId{i});
  for (std::size_t i = 0; i < d.areas.size(); ++i) idx->areas.emplace(d.areas[i].name, AreaId{i});
  const std::uint64_t n = d.setups.size();
  for (const auto& st : d.setup_transitions) {
    const std::uint64_t key = (st.from ? st.from->value + 1ull : 0ull) * n + st.to.value;
    idx->transitions.emplace(key, st.time.duration());  // first row wins
  }
  idx->min_runs.resize(d.tool_groups.size());
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g)
    if (auto sg = d.tool_groups[g].setup_group)
      for (const auto& mbr : d.setup_groups[sg->index()].members)
        idx->min_runs[g].emplace_back(mbr.setup, mbr.min_run);
  m.index_ = std::move(idx);
  return m;
}

std::span<const Step> Model::route_steps(RouteId id) const {
  const auto& r = route(id);
  return std::span<const Step>(data_->steps).subspan(r.first_step.index(), r.step_count);
}

std::optional<ToolGroupId> Model::find_tool_group(std::string_view name) const {
  auto it = index_->tool_groups.find(name);
  return it == index_->tool_groups.end() ? std::nullopt : std::optional{it->second};
}
std::optional<ProductId> Model::find_product(std::string_view name) const {
  auto it = index_->products.find(name);
  return it == index_->products.end() ? std::nullopt : std::optional{it->second};
}
std::optional<SetupId> Model::find_setup(std::string_view name) const {
  auto it = index_->setups.find(name);
  return it == index_->setups.end() ? std::nullopt : std::optional{it->second};
}
std::optional<AreaId> Model::find_area(std::string_view name) const {
  auto it = index_->areas.find(name);
  return it == index_->areas.end() ? std::nullopt : std::optional{it->second};
}

Duration Model::setup_time(std::optional<SetupId> from, SetupId to, const Step& step) const {
  if (from && *from == to && step.setup_when == SetupWhen::Need) return Duration{0};
  if (step.setup_time) return step.setup_time->duration();
  const std::uint64_t n = data_->setups.size();
  if (from) {
    auto it = index_->transitions.find((from->value + 1ull) * n + to.value);
    if (it != index_->transitions.end()) return it->second;
  }
  auto it = index_->transitions.find(to.value);
  return it != index_->transitions.end() ? it->second : Duration{0};
}

std::uint32_t Model::min_run(ToolGroupId group, SetupId setup) const {
  for (auto [s, n] : index_->min_runs[group.index()])
    if (s == setup) return n;
  return 0;
}

}  // namespace fabtwin::model
