// Scenario deltas applied to a copy of a model's tables (see scenario.hpp for what each keeps).
#include "fabtwin/des/scenario.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <set>
#include <unordered_set>
#include <utility>

namespace fabtwin::des {

using namespace model;

namespace {

constexpr std::uint32_t kMaxToolsPerGroup = 100'000;  // as the native reader

// Thrown inside apply_scenario only; never crosses the public API.
struct Refusal {
  Error error;
};

template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

std::string quoted(std::string_view s) {
  std::string q;
  q.reserve(s.size() + 2);
  q.append(1, '\'').append(s).append(1, '\'');
  return q;
}
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.10g", v);
  return buf;
}

class Applier {
 public:
  Applier(const Model& base, const Options& options, const Scenario& s, const RuleRegistry& rules)
      : base_(base), d_(base.data()), options_(options), s_(s), rules_(rules) {}

  Result<ScenarioModel> run() {
    try {
      for (i_ = 0; i_ < s_.deltas.size(); ++i_)
        std::visit([this](const auto& change) { apply(change); }, s_.deltas[i_].change);
    } catch (Refusal& r) {
      return std::move(r.error);
    }
    if (rule_applied_ && !options_.rules) options_.rules = std::make_shared<const RuleRegistry>(rules_);
    auto m = Model::build(std::move(d_));
    if (!m) return Error{file(), 0, "", "the scenario gives an invalid model: " + m.error().what()};
    return ScenarioModel{std::move(m).value(), std::move(options_)};
  }

 private:
  std::string file() const {
    if (!s_.file.empty()) return s_.file;
    return s_.name.empty() ? std::string("scenario") : "scenario " + quoted(s_.name);
  }
  // "deltas[i].<kind>.<key>" ("deltas[i].<kind>" for an empty key).
  std::string field(std::string_view key) const {
    std::string f = "deltas[" + std::to_string(i_) + "]." + std::string(delta_key(s_.deltas[i_]));
    if (!key.empty()) f.append(".").append(key);
    return f;
  }
  [[noreturn]] void fail(std::string_view key, std::string message) const {
    throw Refusal{Error{file(), s_.deltas[i_].line, field(key), std::move(message)}};
  }

  void check_factor(std::string_view key, double f) const {
    if (!std::isfinite(f)) fail(key, "factor is not a finite number");
    if (f <= 0) fail(key, "factor " + number(f) + " must be greater than 0");
  }
  void check_factor(std::string_view key, const std::optional<double>& f) const {
    if (f) check_factor(key, *f);
  }

  ToolGroupId group(std::string_view key, const std::string& name) const {
    if (name.empty()) fail(key, "missing tool group");
    auto g = base_.find_tool_group(name);
    if (!g) fail(key, "unknown tool group " + quoted(name));
    return *g;
  }

  // Tool groups an attachment's calendar reaches.
  bool hits(const Attachment& a, std::size_t g) const {
    return a.target_kind == AttachTarget::Area ? d_.tool_groups[g].area.value == a.target : a.target == g;
  }

  // ---- the deltas -----------------------------------------------------------------------------

  void apply(const ToolCountDelta& x) {
    const ToolGroupId g = group("group", x.group);
    if (x.count == 0) fail("count", "a tool group needs at least one tool");
    if (x.count > kMaxToolsPerGroup)
      fail("count",
           std::to_string(x.count) + " tools: at most " + std::to_string(kMaxToolsPerGroup) + " per group");
    ToolGroup& tg = d_.tool_groups[g.index()];
    const std::uint32_t old = tg.tool_count;
    if (x.count == old) return;
    // Tools of a group are contiguous: rebuild the table, keeping every other tool as it was.
    std::vector<Tool> tools;
    tools.reserve(d_.tools.size() - old + x.count);
    std::uint32_t next = 0;
    for (std::size_t gi = 0; gi < d_.tool_groups.size(); ++gi) {
      ToolGroup& grp = d_.tool_groups[gi];
      const std::uint32_t n = gi == g.index() ? x.count : grp.tool_count;
      for (std::uint32_t k = 0; k < n; ++k) {
        if (k < grp.tool_count)
          tools.push_back(d_.tools[grp.first_tool.index() + k]);
        else
          tools.push_back(Tool{grp.name + "_" + std::to_string(k + 1), ToolGroupId{gi}, k});
      }
      grp.first_tool = ToolId{next};
      grp.tool_count = n;
      next += n;
    }
    std::unordered_set<std::string_view> names;
    for (const Tool& t : tools)
      if (!names.insert(t.name).second) fail("count", "a new tool's name " + quoted(t.name) + " is taken");
    d_.tools = std::move(tools);
  }

  void apply(const RuleDelta& x) {
    const ToolGroupId g = group("group", x.group);
    if (x.rule.empty()) fail("rule", "missing rule name");
    const std::string name = base_rule_name(x.rule).value();
    if (!rules_.find(name)) {
      std::string known;
      for (const auto& n : rules_.names()) known += (known.empty() ? "" : ", ") + n;
      fail("rule", "unknown dispatch rule " + quoted(x.rule) + (name != x.rule ? " (" + name + ")" : "") +
                       "; known: " + known);
    }
    const std::string& gname = d_.tool_groups[g.index()].name;
    auto& gr = options_.group_rules;
    auto it = std::find_if(gr.begin(), gr.end(), [&](const auto& p) { return p.first == gname; });
    if (it != gr.end())
      it->second = name;
    else
      gr.emplace_back(gname, name);
    rule_applied_ = true;
  }

  static void scale_step(Step& s, double f) {
    s.process_time = scale(s.process_time, f);
    if (s.batch_interval) s.batch_interval->value *= f;
    if (s.part_interval) s.part_interval->value *= f;
  }

  void apply(const ProcessTimeDelta& x) {
    check_factor("factor", x.factor);
    const bool by_step = !x.route.empty() || x.step.has_value();
    if (!x.group.empty() && by_step) fail("group", "give a tool group, or a route and a step, not both");
    if (!by_step) {
      if (x.group.empty()) fail("group", "give a tool group, or a route and a step");
      const ToolGroupId g = group("group", x.group);
      bool any = false;
      for (Step& s : d_.steps)
        if (s.tool_group == g) {
          scale_step(s, x.factor);
          any = true;
        }
      if (!any) fail("group", "no step runs on tool group " + quoted(x.group));
      return;
    }
    if (x.route.empty()) fail("route", "missing route (the step's route)");
    auto r =
        std::find_if(d_.routes.begin(), d_.routes.end(), [&](const Route& rt) { return rt.name == x.route; });
    if (r == d_.routes.end()) fail("route", "unknown route " + quoted(x.route));
    if (!x.step) fail("step", "missing step number");
    for (std::uint32_t k = 0; k < r->step_count; ++k) {
      Step& s = d_.steps[r->first_step.index() + k];
      if (s.number == *x.step) {
        scale_step(s, x.factor);
        return;
      }
    }
    fail("step", "route " + quoted(x.route) + " has no step " + std::to_string(*x.step));
  }

  void apply(const ReleaseDelta& x) {
    if (x.order.empty()) fail("order", "missing order (lot prefix or order name)");
    check_factor("interval_factor", x.interval_factor);
    if (x.lots_per_release && *x.lots_per_release == 0) fail("lots_per_release", "must be at least 1");
    if (!x.interval_factor && !x.lots_per_release)
      fail("", "no change: give interval_factor and/or lots_per_release");
    std::vector<Order*> hit;
    for (Order& o : d_.orders)
      if (o.lot_prefix == x.order) hit.push_back(&o);
    if (hit.empty())
      for (Order& o : d_.orders)
        if (o.order_name == x.order) hit.push_back(&o);
    if (hit.empty())
      fail("order", "unknown order " + quoted(x.order) + " (neither a lot prefix nor an order name)");
    for (Order* o : hit) {
      if (x.interval_factor) o->interval = scale(o->interval, *x.interval_factor);
      if (x.lots_per_release) o->lots_per_release = *x.lots_per_release;
    }
  }

  void apply(const ProductMixDelta& x) {
    if (x.product.empty()) fail("product", "missing product");
    check_factor("factor", x.factor);
    auto p = base_.find_product(x.product);
    if (!p) fail("product", "unknown product " + quoted(x.product));
    bool any = false;
    for (Order& o : d_.orders)
      if (o.product == *p) {
        o.interval = scale(o.interval, 1.0 / x.factor);
        any = true;
      }
    if (!any) fail("product", "product " + quoted(x.product) + " has no orders");
  }

  // A calendar of kind `pm` with index `cal`, reaching group `g` only: `cal` itself when no other
  // group uses it, else a clone appended to the calendars, to which g's attachments now point (an
  // area attachment is expanded in place into one tool-group attachment per group of the area).
  std::uint32_t own_calendar(bool pm, std::uint32_t cal, std::size_t g) {
    bool shared = false;
    for (const Attachment& a : d_.attachments)
      if (a.is_pm == pm && a.calendar == cal)
        for (std::size_t o = 0; o < d_.tool_groups.size() && !shared; ++o) shared = o != g && hits(a, o);
    if (!shared) return cal;

    const std::string& gname = d_.tool_groups[g].name;
    auto taken = [&](const std::string& n) {
      return pm ? std::any_of(d_.pm_calendars.begin(), d_.pm_calendars.end(),
                              [&](auto& c) { return c.name == n; })
                : std::any_of(d_.down_calendars.begin(), d_.down_calendars.end(),
                              [&](auto& c) { return c.name == n; });
    };
    std::string name = (pm ? d_.pm_calendars[cal].name : d_.down_calendars[cal].name) + "@" + gname;
    for (int k = 2; taken(name); ++k)
      name = (pm ? d_.pm_calendars[cal].name : d_.down_calendars[cal].name) + "@" + gname + "#" +
             std::to_string(k);
    std::uint32_t clone = 0;
    if (pm) {
      clone = static_cast<std::uint32_t>(d_.pm_calendars.size());
      PmCalendar c = d_.pm_calendars[cal];
      c.name = std::move(name);
      d_.pm_calendars.push_back(std::move(c));
    } else {
      clone = static_cast<std::uint32_t>(d_.down_calendars.size());
      DownCalendar c = d_.down_calendars[cal];
      c.name = std::move(name);
      d_.down_calendars.push_back(std::move(c));
    }

    std::vector<Attachment> out;
    out.reserve(d_.attachments.size() + d_.tool_groups.size());
    for (const Attachment& a : d_.attachments) {
      if (a.is_pm != pm || a.calendar != cal || !hits(a, g)) {
        out.push_back(a);
        continue;
      }
      if (a.target_kind == AttachTarget::ToolGroup) {
        out.push_back(a);
        out.back().calendar = clone;
        continue;
      }
      for (std::size_t o = 0; o < d_.tool_groups.size(); ++o) {
        if (!hits(a, o)) continue;
        Attachment per = a;
        per.target_kind = AttachTarget::ToolGroup;
        per.target = static_cast<std::uint32_t>(o);
        if (o == g) per.calendar = clone;
        out.push_back(per);
      }
    }
    d_.attachments = std::move(out);
    return clone;
  }

  void apply(const AvailabilityDelta& x) {
    const ToolGroupId gid = group("group", x.group);
    const std::size_t g = gid.index();
    check_factor("mttf_factor", x.mttf_factor);
    check_factor("mttr_factor", x.mttr_factor);
    check_factor("pm_interval_factor", x.pm_interval_factor);
    check_factor("pm_duration_factor", x.pm_duration_factor);
    if (!x.mttf_factor && !x.mttr_factor && !x.pm_interval_factor && !x.pm_duration_factor)
      fail("", "no change: give mttf_factor, mttr_factor, pm_interval_factor and/or pm_duration_factor");

    auto calendars = [&](bool pm) {
      std::set<std::uint32_t> cals;
      for (const Attachment& a : d_.attachments)
        if (a.is_pm == pm && hits(a, g)) cals.insert(a.calendar);
      return cals;
    };
    const auto downs = calendars(false);
    const auto pms = calendars(true);
    if (downs.empty())
      for (auto [f, key] :
           {std::pair{&x.mttf_factor, "mttf_factor"}, std::pair{&x.mttr_factor, "mttr_factor"}})
        if (*f) fail(key, "tool group " + quoted(x.group) + " has no down calendar");
    if (pms.empty())
      for (auto [f, key] : {std::pair{&x.pm_interval_factor, "pm_interval_factor"},
                            std::pair{&x.pm_duration_factor, "pm_duration_factor"}})
        if (*f) fail(key, "tool group " + quoted(x.group) + " has no PM calendar");

    if (x.mttf_factor || x.mttr_factor)
      for (std::uint32_t cal : downs) {
        const std::uint32_t c = own_calendar(false, cal, g);
        DownCalendar& dc = d_.down_calendars[c];
        if (x.mttf_factor) {
          dc.time_to_failure = scale(dc.time_to_failure, *x.mttf_factor);
          // The first failure is a time to failure too (the calendar now reaches g only).
          for (Attachment& a : d_.attachments)
            if (!a.is_pm && a.calendar == c) a.first_occurrence = scale(a.first_occurrence, *x.mttf_factor);
        }
        if (x.mttr_factor) dc.time_to_repair = scale(dc.time_to_repair, *x.mttr_factor);
      }
    if (x.pm_interval_factor || x.pm_duration_factor)
      for (std::uint32_t cal : pms) {
        PmCalendar& pc = d_.pm_calendars[own_calendar(true, cal, g)];
        if (x.pm_interval_factor) pc.interval.value *= *x.pm_interval_factor;
        if (x.pm_duration_factor) pc.duration = scale(pc.duration, *x.pm_duration_factor);
      }
  }

  void apply(const TransportDelta& x) {
    check_factor("", x.factor);
    if (d_.transports.empty()) fail("", "the model has no transport times");
    for (Transport& t : d_.transports) t.time = scale(t.time, x.factor);
  }

  const Model& base_;
  ModelData d_;
  Options options_;
  const Scenario& s_;
  const RuleRegistry& rules_;
  std::size_t i_ = 0;
  bool rule_applied_ = false;
};

}  // namespace

std::string_view delta_key(const Delta& d) {
  return std::visit(Overloaded{
                        [](const ToolCountDelta&) { return std::string_view("tool_count"); },
                        [](const RuleDelta&) { return std::string_view("rule"); },
                        [](const ProcessTimeDelta&) { return std::string_view("process_time_factor"); },
                        [](const ReleaseDelta&) { return std::string_view("release"); },
                        [](const ProductMixDelta&) { return std::string_view("product_mix"); },
                        [](const AvailabilityDelta&) { return std::string_view("availability"); },
                        [](const TransportDelta&) { return std::string_view("transport_factor"); },
                    },
                    d.change);
}

Distribution scale(const Distribution& d, double factor) {
  Distribution s = d;
  s.a *= factor;
  s.b *= factor;
  s.c *= factor;
  return s;
}

Result<ScenarioModel> apply_scenario(const Model& base, const Options& base_options, const Scenario& s,
                                     const RuleRegistry& rules) {
  return Applier(base, base_options, s, rules).run();
}

}  // namespace fabtwin::des
