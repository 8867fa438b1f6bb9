// The state view (keyframes), the change journal (deltas) and live KPIs.
#include <algorithm>
#include <stdexcept>
#include <string>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

std::string_view to_string(Mode m) { return m == Mode::Follow ? "follow" : "autonomous"; }

std::string_view to_string(LotPlace p) {
  switch (p) {
    case LotPlace::Queued:
      return "queued";
    case LotPlace::OnTool:
      return "on_tool";
    case LotPlace::InTransport:
      return "in_transport";
  }
  return "?";
}

namespace {

SimTime at(std::int64_t ms) { return SimTime{Duration{ms}}; }

}  // namespace

ToolView Simulation::Impl::tool_view(std::uint32_t t) const {
  const Impl& s = *this;
  const ToolRt& tool = s.tools[t];
  ToolView v;
  v.tool = ToolId{t};
  v.state = s.derived_state(t);
  v.since = at(tool.state_since);
  if (tool.setup != kNone) v.setup = SetupId{tool.setup};
  for (const Job& job : tool.jobs)
    for (const std::uint32_t id : job.lots)
      v.lots.push_back({s.cold[id].name, at(job.start), at(job.setup_end), at(job.end)});
  if (tool.avail != Avail::Up && tool.avail_until >= 0) v.down_until = at(tool.avail_until);
  return v;
}

QueueView Simulation::Impl::queue_view(std::uint32_t g) const {
  const Impl& s = *this;
  QueueView v;
  v.group = ToolGroupId{g};
  for (const Candidate& e : s.groups[g].queue)  // already in arrival order (CandQueue)
    v.lots.push_back({s.cold[e.lot].name, at(e.arrival_ms)});
  return v;
}

LotView Simulation::Impl::lot_view(std::uint32_t id) const {
  const Impl& s = *this;
  const Lot& lot = s.lots[id];
  LotView v;
  v.name = s.cold[id].name;
  v.key = lot.key;
  v.product = ProductId{lot.product};
  v.priority = lot.priority;
  v.wafers = lot.wafers;
  v.pass = lot.pass;
  v.released = at(lot.released);
  v.due = at(lot.due);
  v.step = StepId{lot.step};
  v.place = lot.place;
  if (lot.place == LotPlace::Queued) v.group = ToolGroupId{s.c->steps[lot.step].group};
  if (lot.place == LotPlace::OnTool) v.tool = ToolId{lot.tool};
  v.held = lot.held;
  v.since = at(lot.since);
  return v;
}

namespace {
bool by_name(const LotView& a, const LotView& b) { return a.name < b.name; }
}  // namespace

LiveKpis Simulation::live_kpis() const {
  const Impl& s = *impl_;
  LiveKpis k;
  k.lots_in_fab = s.lots_alive;
  k.lots_released = s.lots_released;
  k.lots_completed = s.completed.size();
  k.lots_scrapped = s.lots_scrapped;
  k.wafers_completed = s.wafers_completed;
  k.moves = s.moves;
  k.lots_held = s.lots_held;
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) ++k.tools_by_state[static_cast<int>(s.derived_state(t))];
  return k;
}

std::uint64_t Simulation::version() const { return impl_->journal.version; }

StateView Simulation::view() const {
  const Impl& s = *impl_;
  StateView v;
  v.version = s.journal.version;
  v.now = at(s.now);
  v.mode = s.mode;
  v.tools.reserve(s.tools.size());
  for (std::uint32_t t = 0; t < s.tools.size(); ++t) v.tools.push_back(s.tool_view(t));
  v.queues.reserve(s.groups.size());
  for (std::uint32_t g = 0; g < s.groups.size(); ++g) v.queues.push_back(s.queue_view(g));
  v.lots.reserve(s.lots_alive);
  for (std::uint32_t id = 0; id < s.lots.size(); ++id)
    if (s.lots[id].queue_pos != kDone) v.lots.push_back(s.lot_view(id));
  std::sort(v.lots.begin(), v.lots.end(), by_name);
  v.kpis = live_kpis();
  v.counts = s.counts;
  return v;
}

void Simulation::enable_journal(std::size_t entries) {
  Journal& j = impl_->journal;
  j.logging = true;
  j.capacity = std::max<std::size_t>(entries, 16);
  j.log.clear();
  j.log_floor = j.version;
}

std::optional<StateDelta> Simulation::changes_since(std::uint64_t v) const {
  const Impl& s = *impl_;
  const Journal& j = s.journal;
  if (v > j.version || v < j.left_floor) return std::nullopt;
  StateDelta d;
  d.from = v;
  d.to = j.version;
  d.now = at(s.now);
  d.mode = s.mode;
  std::vector<std::uint32_t> tools, groups, lots;
  if (j.logging && v >= j.log_floor) {
    // O(changes): the log entries after v, each entity once.
    auto it = std::upper_bound(j.log.begin(), j.log.end(), v,
                               [](std::uint64_t x, const Journal::Entry& e) { return x < e.version; });
    for (; it != j.log.end(); ++it) {
      auto& out = it->kind == Journal::kTool ? tools : it->kind == Journal::kGroup ? groups : lots;
      out.push_back(it->index);
    }
    for (auto* vec : {&tools, &groups, &lots}) {
      std::sort(vec->begin(), vec->end());
      vec->erase(std::unique(vec->begin(), vec->end()), vec->end());
    }
  } else {
    // O(fab) over the version arrays (no log, or v older than it keeps): the same result.
    for (std::uint32_t t = 0; t < s.tools.size(); ++t)
      if (s.tools[t].version > v) tools.push_back(t);
    for (std::uint32_t g = 0; g < s.groups.size(); ++g)
      if (s.groups[g].version > v) groups.push_back(g);
    for (std::uint32_t id = 0; id < s.lots.size(); ++id)
      if (s.lots[id].version > v) lots.push_back(id);
  }
  for (const std::uint32_t t : tools) d.tools.push_back(s.tool_view(t));
  for (const std::uint32_t g : groups) d.queues.push_back(s.queue_view(g));
  for (const std::uint32_t id : lots)
    if (s.lots[id].queue_pos != kDone && s.lots[id].version > v) d.lots.push_back(s.lot_view(id));
  std::sort(d.lots.begin(), d.lots.end(), by_name);
  auto it = std::upper_bound(
      j.left.begin(), j.left.end(), v,
      [](std::uint64_t x, const std::pair<std::uint64_t, std::string>& e) { return x < e.first; });
  for (; it != j.left.end(); ++it) d.lots_left.push_back(it->second);
  std::sort(d.lots_left.begin(), d.lots_left.end());
  d.lots_left.erase(std::unique(d.lots_left.begin(), d.lots_left.end()), d.lots_left.end());
  d.kpis = live_kpis();
  d.counts = s.counts;
  return d;
}

void apply_delta(StateView& view, const StateDelta& d) {
  if (d.from != view.version)
    throw std::invalid_argument("apply_delta: the delta starts at version " + std::to_string(d.from) +
                                ", the view is at " + std::to_string(view.version));
  for (const ToolView& t : d.tools) {
    if (t.tool.index() >= view.tools.size()) throw std::invalid_argument("apply_delta: unknown tool id");
    view.tools[t.tool.index()] = t;
  }
  for (const QueueView& q : d.queues) {
    if (q.group.index() >= view.queues.size())
      throw std::invalid_argument("apply_delta: unknown tool group id");
    view.queues[q.group.index()] = q;
  }
  auto find = [&](const std::string& name) {
    return std::lower_bound(view.lots.begin(), view.lots.end(), name,
                            [](const LotView& l, const std::string& n) { return l.name < n; });
  };
  for (const std::string& name : d.lots_left) {
    const auto it = find(name);
    if (it != view.lots.end() && it->name == name) view.lots.erase(it);
  }
  for (const LotView& l : d.lots) {
    const auto it = find(l.name);
    if (it != view.lots.end() && it->name == l.name)
      *it = l;
    else
      view.lots.insert(it, l);
  }
  view.version = d.to;
  view.now = d.now;
  view.mode = d.mode;
  view.kpis = d.kpis;
  view.counts = d.counts;
}

}  // namespace fabtwin::des
