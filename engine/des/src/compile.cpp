// Model compilation: the static tables the kernel runs on (shared, immutable between forks).
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

namespace {

// Expected processing time (ms) of a lot of `wafers` at step s on a tool group of `capacity`.
double expected_proc_ms(const StepInfo& s, std::uint32_t wafers, std::uint32_t capacity) {
  const double p = s.proc.mean() * s.proc_scale;
  switch (s.unit) {
    case ProcessUnit::PerPiece:
      if (capacity > 1 && s.cascade_per_wafer && s.cascade_ms > 0) return p + (wafers - 1) * s.cascade_ms;
      return wafers * p;
    case ProcessUnit::PerLot:
    case ProcessUnit::PerBatch:
      return p;
  }
  return p;
}

// FNV-1a over the fields that shape a simulation (checkpoints refuse another model).
class Hasher {
 public:
  void bytes(const void* p, std::size_t n) {
    const auto* b = static_cast<const unsigned char*>(p);
    for (std::size_t i = 0; i < n; ++i) h_ = (h_ ^ b[i]) * 0x100000001b3ull;
  }
  void add(std::string_view s) { add(static_cast<std::uint64_t>(s.size())), bytes(s.data(), s.size()); }
  void add(std::uint64_t v) { bytes(&v, sizeof v); }
  void add(double v) { bytes(&v, sizeof v); }
  void add(const Distribution& d) {
    add(static_cast<std::uint64_t>(d.kind)), add(d.a), add(d.b), add(d.c),
        add(static_cast<std::uint64_t>(d.unit));
  }
  void add(const Quantity& q) { add(q.value), add(static_cast<std::uint64_t>(q.unit)); }
  template <class T>
  void add(const std::optional<T>& o) {
    add(static_cast<std::uint64_t>(o.has_value()));
    if (o) add(*o);
  }
  template <class Tag>
  void add(Id<Tag> id) {
    add(static_cast<std::uint64_t>(id.value));
  }
  void add(SimTime t) { add(static_cast<std::uint64_t>(t.time_since_epoch().count())); }
  std::uint64_t value() const { return h_; }

 private:
  std::uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace

std::uint64_t model_fingerprint(const Model& m) {
  const ModelData& d = m.data();
  Hasher h;
  using U = std::uint64_t;
  h.add(d.name), h.add(static_cast<U>(d.epoch_unix_s));
  for (const auto& x : d.areas) h.add(x.name);
  for (const auto& x : d.locations) h.add(x.name);
  for (const auto& g : d.tool_groups) {
    h.add(g.name), h.add(g.area), h.add(g.location), h.add(U{g.tool_count}), h.add(static_cast<U>(g.rule));
    for (auto r : g.ranks) h.add(static_cast<U>(r));
    h.add(static_cast<U>(g.wake)), h.add(static_cast<U>(g.batch_criterion)),
        h.add(static_cast<U>(g.batch_unit));
    h.add(g.load_time), h.add(g.unload_time), h.add(U{g.cascade_capacity}), h.add(g.setup_group),
        h.add(g.first_tool);
  }
  for (const auto& t : d.tools) h.add(t.name), h.add(t.group);
  for (const auto& x : d.setups) h.add(x.name);
  for (const auto& x : d.setup_transitions) h.add(x.from), h.add(x.to), h.add(x.time);
  for (const auto& x : d.setup_groups) {
    h.add(x.name);
    for (const auto& mbr : x.members) h.add(mbr.setup), h.add(U{mbr.min_run});
  }
  for (const auto& r : d.routes) h.add(r.name), h.add(r.first_step), h.add(U{r.step_count});
  for (const auto& s : d.steps) {
    h.add(s.route), h.add(U{s.number}), h.add(s.tool_group), h.add(s.process_time),
        h.add(static_cast<U>(s.process_unit));
    h.add(U{s.batch_min}), h.add(U{s.batch_max}), h.add(s.setup), h.add(static_cast<U>(s.setup_when)),
        h.add(s.setup_time);
    h.add(U{s.dedicate}), h.add(s.dedicate_for), h.add(s.batch_interval), h.add(s.part_interval),
        h.add(s.rework_step);
    h.add(s.rework_percent), h.add(s.sample_percent), h.add(s.cqt_to), h.add(s.cqt);
  }
  for (const auto& p : d.products) h.add(p.name), h.add(p.route);
  for (const auto& x : d.down_calendars) h.add(x.name), h.add(x.time_to_failure), h.add(x.time_to_repair);
  for (const auto& x : d.pm_calendars)
    h.add(x.name), h.add(static_cast<U>(x.trigger)), h.add(x.interval), h.add(x.duration);
  for (const auto& a : d.attachments)
    h.add(U{a.is_pm}), h.add(U{a.calendar}), h.add(static_cast<U>(a.target_kind)), h.add(U{a.target}),
        h.add(a.first_occurrence);
  for (const auto& t : d.transports) h.add(t.from), h.add(t.to), h.add(t.time);
  for (const auto& o : d.orders) {
    h.add(o.lot_prefix), h.add(o.product), h.add(U{o.priority}), h.add(U{o.pieces}), h.add(o.start),
        h.add(o.interval);
    h.add(U{o.repeat_count}), h.add(U{o.lots_per_release}), h.add(o.due);
  }
  for (const auto& w : d.wip)
    h.add(w.name), h.add(w.product), h.add(U{w.priority}), h.add(U{w.pieces}), h.add(w.start),
        h.add(w.current_step), h.add(w.due);
  return h.value();
}

Result<std::shared_ptr<const Compiled>> compile(const Model& m, const Options& opt) {
  auto c = std::make_shared<Compiled>();
  c->model = m;
  const auto& d = m.data();
  const RuleRegistry builtin;
  const RuleRegistry& reg = opt.rules ? *opt.rules : builtin;
  const auto base = base_rule_name(opt.rule);
  if (base && !reg.find(*base)) {
    std::string known;
    for (const auto& n : reg.names()) known += (known.empty() ? "" : ", ") + n;
    return Error{"", 0, "rule", "unknown dispatch rule '" + opt.rule + "' (" + *base + "); known: " + known};
  }

  c->nsetups = static_cast<std::uint32_t>(d.setups.size());
  c->nlocations = static_cast<std::uint32_t>(d.locations.size());
  c->nproducts = static_cast<std::uint32_t>(d.products.size());

  // Tool groups.
  c->groups.resize(d.tool_groups.size());
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
    const ToolGroup& tg = d.tool_groups[g];
    GroupInfo& gi = c->groups[g];
    gi.first_tool = tg.first_tool.value;
    gi.ntools = tg.tool_count;
    gi.capacity = tg.cascade_capacity;
    gi.load_ms = tg.load_time.duration().count();
    gi.unload_ms = tg.unload_time.duration().count();
    gi.location = tg.location.value;
    gi.delay_location = d.locations[tg.location.index()].name == "Delay";
    gi.min_run = tg.rule == DispatchRule::LeastSetupMinRun && tg.setup_group.has_value();
    gi.wake = tg.wake;
    gi.lot_batch_unit = tg.batch_unit == BatchCountUnit::Lot;
    for (std::size_t k = 0; k < tg.ranks.size(); ++k) {
      std::string name(to_string(tg.ranks[k]));
      // The CLI rule replaces the base (last) key of each list.
      if (base && k + 1 == tg.ranks.size() && tg.ranks[k] != RankKey::HighestPriority &&
          tg.ranks[k] != RankKey::LeastSetup)
        name = *base;
      auto rule = reg.find(name);
      if (!rule)
        return Error{"tool_groups[" + std::to_string(g) + "]", 0, "ranks",
                     "unknown dispatch rule '" + name + "'"};
      gi.ranks.push_back(rule.get());
      c->rule_owner.push_back(rule);
    }
    if (base && (tg.ranks.empty() || tg.ranks.back() == RankKey::HighestPriority ||
                 tg.ranks.back() == RankKey::LeastSetup)) {
      auto rule = reg.find(*base);
      gi.ranks.push_back(rule.get());
      c->rule_owner.push_back(rule);
    }
  }
  // Per-group rules (scenario deltas): that group's base (last) key becomes the rule, whatever
  // --rule says; a list ending in rank_HP / rank_RSETUP gets it appended.
  for (std::size_t i = 0; i < opt.group_rules.size(); ++i) {
    const auto& [group, rule_name] = opt.group_rules[i];
    const auto g = m.find_tool_group(group);
    const std::string field = "group_rules[" + std::to_string(i) + "]";
    if (!g) return Error{"", 0, field, "unknown tool group '" + group + "'"};
    auto rule = reg.find(rule_name);
    if (!rule) return Error{"", 0, field, "unknown dispatch rule '" + rule_name + "'"};
    const auto& keys = d.tool_groups[g->index()].ranks;
    auto& ranks = c->groups[g->index()].ranks;
    ranks.clear();
    for (const RankKey k : keys) ranks.push_back(reg.find(to_string(k)).get());
    if (keys.empty() || keys.back() == RankKey::HighestPriority || keys.back() == RankKey::LeastSetup)
      ranks.push_back(rule.get());
    else
      ranks.back() = rule.get();
    for (const auto* r : ranks)
      if (!r)
        return Error{"", 0, field, "a built-in rank rule of tool group '" + group + "' is not registered"};
    c->rule_owner.push_back(rule);
  }
  for (GroupInfo& gi : c->groups) {
    for (const RankRule* r : gi.ranks) gi.builtin.push_back(builtin_rank(r));
    if (std::find(gi.builtin.begin(), gi.builtin.end(), BuiltinRank::Custom) != gi.builtin.end() ||
        gi.builtin.size() > kMaxBuiltinRanks)
      gi.builtin.clear();
    gi.ranker = ranker_for(gi.builtin);
  }
  c->tool_group.resize(d.tools.size());
  for (std::size_t t = 0; t < d.tools.size(); ++t) c->tool_group[t] = d.tools[t].group.value;

  // Setups and minimum runs.
  c->setup_matrix.assign(static_cast<std::size_t>(c->nsetups + 1) * c->nsetups, 0);
  Step plain;  // a step without its own STIME: setup.txt decides
  for (std::uint32_t to = 0; to < c->nsetups; ++to) {
    c->setup_matrix[to] = m.setup_time(std::nullopt, SetupId{to}, plain).count();
    for (std::uint32_t from = 0; from < c->nsetups; ++from)
      c->setup_matrix[(from + 1) * c->nsetups + to] = m.setup_time(SetupId{from}, SetupId{to}, plain).count();
  }
  c->min_run.assign(d.tool_groups.size() * std::max<std::uint32_t>(c->nsetups, 1), 0);
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g)
    for (std::uint32_t s = 0; s < c->nsetups; ++s)
      c->min_run[g * c->nsetups + s] = m.min_run(ToolGroupId{g}, SetupId{s});

  // Steps.
  c->steps.resize(d.steps.size());
  for (std::size_t i = 0; i < d.steps.size(); ++i) {
    const Step& st = d.steps[i];
    StepInfo& s = c->steps[i];
    const Route& r = d.routes[st.route.index()];
    s.group = st.tool_group.value;
    s.route_end = r.first_step.value + r.step_count;
    s.setup = st.setup ? st.setup->value : kNone;
    s.setup_override_ms = st.setup_time ? st.setup_time->duration().count() : -1;
    s.setup_always = st.setup_when == SetupWhen::Always;
    s.proc = st.process_time;
    s.proc_scale = ms_per(st.process_time.unit);
    s.unit = st.process_unit;
    if (st.part_interval) {
      s.cascade_ms = st.part_interval->value * ms_per(st.part_interval->unit);
      s.cascade_per_wafer = true;
    } else if (st.batch_interval) {
      s.cascade_ms = st.batch_interval->value * ms_per(st.batch_interval->unit);
    }
    s.batch_min = st.batch_min;
    s.batch_max = st.batch_max;
    s.dedicate_for = st.dedicate && st.dedicate_for ? st.dedicate_for->value : kNone;
    s.rework_step = st.rework_step ? st.rework_step->value : kNone;
    s.rework_p = st.rework_step ? st.rework_percent / 100.0 : 0.0;
    s.sample_p = st.sample_percent / 100.0;
    s.cqt_to = st.cqt_to ? st.cqt_to->value : kNone;
    s.cqt_ms = st.cqt ? st.cqt->duration().count() : 0;
    GroupInfo& gi = c->groups[s.group];
    if (s.batch_max > 0) gi.batching = true;
    if (s.setup != kNone || s.dedicate_for != kNone) gi.tool_dependent = true;
    s.expected_ms = gi.load_ms + expected_proc_ms(s, 25, gi.capacity) + gi.unload_ms;
  }
  for (std::size_t g = 0; g < c->groups.size(); ++g)
    if (c->groups[g].min_run) c->groups[g].tool_dependent = true;
  // Dedicated later steps make their group tool dependent too.
  for (const auto& s : c->steps)
    if (s.dedicate_for != kNone) {
      c->groups[c->steps[s.dedicate_for].group].tool_dependent = true;
      c->steps[s.dedicate_for].ded_target = true;
    }

  // Watched groups (minimum runs, batching): for each, every step's next visit to that group.
  for (std::uint32_t g = 0; g < c->groups.size(); ++g)
    if (c->groups[g].min_run || c->groups[g].batching) {
      c->groups[g].watch_index = static_cast<std::uint32_t>(c->watch_groups.size());
      c->watch_groups.push_back(g);
    }
  const std::size_t nsteps = c->steps.size();
  c->next_visit.assign(c->watch_groups.size() * nsteps, kNone);
  c->step_route.resize(nsteps);
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const Route& route = d.routes[r];
    for (std::uint32_t i = 0; i < route.step_count; ++i)
      c->step_route[route.first_step.value + i] = static_cast<std::uint32_t>(r);
    for (std::size_t w = 0; w < c->watch_groups.size(); ++w) {
      std::uint32_t next = kNone;
      for (std::uint32_t i = route.first_step.value + route.step_count; i-- > route.first_step.value;) {
        if (c->steps[i].group == c->watch_groups[w]) next = i;
        c->next_visit[w * nsteps + i] = next;
      }
    }
  }

  // Remaining work (CR) and raw process time (RPT) per route.
  c->transport.assign(static_cast<std::size_t>(c->nlocations) * c->nlocations, -1);
  for (std::size_t k = 0; k < d.transports.size(); ++k) {
    const auto& tr = d.transports[k];
    c->transport[tr.from.index() * c->nlocations + tr.to.index()] =
        static_cast<std::int32_t>(c->transports.size());
    c->transports.push_back(tr.time);
  }
  std::vector<double> rpt_route(d.routes.size(), 0.0);
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const Route& route = d.routes[r];
    const std::uint32_t first = route.first_step.value, end = first + route.step_count;
    double rem = 0;
    for (std::uint32_t i = end; i-- > first;) {
      rem += c->steps[i].sample_p * c->steps[i].expected_ms;
      c->steps[i].remaining_ms = rem;
    }
    // RPT: sampling-weighted step times + expected transport + expected rework loops.
    double rpt = 0;
    std::uint32_t prev_loc = kNone;
    std::vector<double> cum(route.step_count + 1, 0.0);
    for (std::uint32_t i = first; i < end; ++i) {
      const StepInfo& s = c->steps[i];
      const GroupInfo& gi = c->groups[s.group];
      double t = s.expected_ms;
      if (prev_loc != kNone && !gi.delay_location && !c->groups[c->steps[i - 1].group].delay_location) {
        const auto k = c->transport[prev_loc * c->nlocations + gi.location];
        if (k >= 0) t += c->transports[k].mean_ms();
      }
      prev_loc = gi.location;
      cum[i - first + 1] = cum[i - first] + s.sample_p * t;
      rpt += s.sample_p * t;
      if (s.rework_step != kNone) rpt += s.rework_p * (cum[i - first + 1] - cum[s.rework_step - first]);
    }
    rpt_route[r] = rpt;
  }
  c->rpt_ms.resize(d.products.size());
  for (std::size_t p = 0; p < d.products.size(); ++p) c->rpt_ms[p] = rpt_route[d.products[p].route.index()];

  // Calendars attached to tools: by area (stngrp) or tool group (stnfam).
  c->tool_down_first.assign(d.tools.size() + 1, 0);
  c->tool_pm_first.assign(d.tools.size() + 1, 0);
  std::vector<std::vector<DownSpec>> downs(d.tools.size());
  std::vector<std::vector<PmSpec>> pms(d.tools.size());
  // Random keys: (group, index in group, calendar * 16 + how often this calendar came before on
  // this tool), so adding tools to a group or calendars to the model changes no other tool's draws.
  std::vector<std::vector<std::uint32_t>> seen_down(d.tools.size()), seen_pm(d.tools.size());
  auto cal_key = [](std::size_t g, std::uint32_t k, std::uint32_t cal, std::vector<std::uint32_t>& seen) {
    const auto repeats = static_cast<std::uint32_t>(std::count(seen.begin(), seen.end(), cal));
    seen.push_back(cal);
    return CalKey{static_cast<std::uint32_t>(g), k, cal * 16 + std::min<std::uint32_t>(repeats, 15)};
  };
  for (const Attachment& a : d.attachments) {
    for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
      const ToolGroup& tg = d.tool_groups[g];
      const bool hit = a.target_kind == AttachTarget::Area ? tg.area.value == a.target : g == a.target;
      if (!hit) continue;
      if (d.locations[tg.location.index()].name == "Delay") continue;  // delay units never go down
      for (std::uint32_t k = 0; k < tg.tool_count; ++k) {
        const std::uint32_t t = tg.first_tool.value + k;
        if (!a.is_pm) {
          const DownCalendar& dc = d.down_calendars[a.calendar];
          downs[t].push_back({dc.time_to_failure, dc.time_to_repair, a.first_occurrence,
                              cal_key(g, k, a.calendar, seen_down[t])});
        } else {
          const PmCalendar& pc = d.pm_calendars[a.calendar];
          PmSpec ps;
          ps.by_pieces = pc.trigger == PmTrigger::Pieces;
          ps.interval = ps.by_pieces ? pc.interval.value : pc.interval.value * ms_per(pc.interval.unit);
          // Staggered first occurrence: the k-th of N tools at FOA * k / N.
          const double foa =
              a.first_occurrence.mean() * (ps.by_pieces ? 1.0 : ms_per(a.first_occurrence.unit));
          ps.first = foa * (k + 1) / tg.tool_count;
          ps.duration = pc.duration;
          ps.key = cal_key(g, k, a.calendar, seen_pm[t]);
          ps.calendar = a.calendar;
          pms[t].push_back(ps);
        }
      }
    }
  }
  for (std::size_t t = 0; t < d.tools.size(); ++t) {
    if (pms[t].size() > 32)
      return Error{"attachments", 0, "calendar",
                   "tool " + d.tools[t].name + " has " + std::to_string(pms[t].size()) +
                       " PM calendars attached; at most 32 are supported"};
    c->tool_down_first[t + 1] = c->tool_down_first[t] + static_cast<std::uint32_t>(downs[t].size());
    c->tool_pm_first[t + 1] = c->tool_pm_first[t] + static_cast<std::uint32_t>(pms[t].size());
    c->downs.insert(c->downs.end(), downs[t].begin(), downs[t].end());
    c->pms.insert(c->pms.end(), pms[t].begin(), pms[t].end());
  }
  c->tool_piece_first.assign(d.tools.size() + 1, 0);
  for (std::size_t t = 0; t < d.tools.size(); ++t) {
    for (std::uint32_t p = c->tool_pm_first[t]; p < c->tool_pm_first[t + 1]; ++p)
      if (c->pms[p].by_pieces) c->piece_pms.emplace_back(p, p - c->tool_pm_first[t]);
    c->tool_piece_first[t + 1] = static_cast<std::uint32_t>(c->piece_pms.size());
  }
  c->step_of_number.resize(d.routes.size());
  for (std::size_t r = 0; r < d.routes.size(); ++r) {
    const Route& route = d.routes[r];
    auto& v = c->step_of_number[r];
    for (std::uint32_t i = 0; i < route.step_count; ++i) {
      const std::uint32_t n = d.steps[route.first_step.value + i].number;
      if (n >= v.size()) v.resize(n + 1, kNone);
      if (v[n] == kNone) v[n] = route.first_step.value + i;
    }
  }
  for (std::size_t t = 0; t < d.tools.size(); ++t)
    c->tool_by_name.emplace(d.tools[t].name, static_cast<std::uint32_t>(t));
  c->fingerprint = model_fingerprint(m);
  // Times the clock must add without overflow: means and fixed times up to 10^15 ms (about 31,700
  // years); a draw is then far below the int64 range.
  constexpr double kMaxMs = 1e15;
  auto too_long = [&](double ms) { return !(ms >= 0 && ms <= kMaxMs); };
  auto refuse = [](std::string table, std::size_t row, std::string field) {
    return Error{table + "[" + std::to_string(row) + "]", 0, std::move(field),
                 "a time above 10^15 ms (about 31,700 years)"};
  };
  for (std::size_t g = 0; g < c->groups.size(); ++g) {
    if (too_long(static_cast<double>(c->groups[g].load_ms))) return refuse("tool_groups", g, "load_time");
    if (too_long(static_cast<double>(c->groups[g].unload_ms))) return refuse("tool_groups", g, "unload_time");
  }
  for (std::size_t i = 0; i < c->steps.size(); ++i) {
    const StepInfo& st = c->steps[i];
    if (too_long(st.proc.mean() * st.proc_scale * 25)) return refuse("steps", i, "process_time");
    if (too_long(st.cascade_ms * 25)) return refuse("steps", i, "part_interval");
    if (too_long(static_cast<double>(st.setup_override_ms)) && st.setup_override_ms != -1)
      return refuse("steps", i, "setup_time");
    if (too_long(static_cast<double>(st.cqt_ms))) return refuse("steps", i, "cqt");
  }
  for (const std::int64_t v : c->setup_matrix)
    if (too_long(static_cast<double>(v)))
      return Error{"setup_transitions", 0, "time", "a time above 10^15 ms (about 31,700 years)"};
  for (std::size_t k = 0; k < c->transports.size(); ++k)
    if (too_long(c->transports[k].mean_ms())) return refuse("transports", k, "time");
  for (const DownSpec& ds : c->downs)
    if (too_long(ds.ttf.mean_ms()) || too_long(ds.ttr.mean_ms()) || too_long(ds.first.mean_ms()))
      return Error{"down_calendars", 0, "time_to_failure", "a time above 10^15 ms (about 31,700 years)"};
  for (const PmSpec& ps : c->pms)
    if ((!ps.by_pieces && (too_long(ps.interval) || too_long(ps.first))) || too_long(ps.duration.mean_ms()))
      return Error{"pm_calendars", 0, "interval", "a time above 10^15 ms (about 31,700 years)"};
  for (std::size_t o = 0; o < d.orders.size(); ++o)
    if (too_long(d.orders[o].interval.mean_ms()) || d.orders[o].start.time_since_epoch().count() > kMaxMs)
      return refuse("orders", o, "interval");
  return std::shared_ptr<const Compiled>(std::move(c));
}

}  // namespace fabtwin::des
