#include "fabtwin/twin_pb/twin_pb.hpp"

#include <algorithm>
#include <stdexcept>

#include "fabtwin/twin/event_fields.hpp"

namespace fabtwin::twin_pb {

using des::EventKind;

namespace {

constexpr std::int64_t kMaxTimeMs = 1'000'000'000'000'000;  // the engine's clock limit (10^15 ms)

std::int64_t ms(model::SimTime t) { return t.time_since_epoch().count(); }
model::SimTime at(std::int64_t v) { return model::SimTime{model::Duration{v}}; }

// ---- state: engine -> proto ----

void put(const des::ToolView& t, v1::ToolView& o) {
  o.set_tool(t.tool.value);
  o.set_state(to_proto(t.state));
  o.set_since_ms(ms(t.since));
  if (t.setup.valid()) o.set_setup(t.setup.value);
  for (const des::LotOnTool& l : t.lots) {
    v1::LotOnTool& x = *o.add_lots();
    x.set_lot(l.lot);
    x.set_start_ms(ms(l.start));
    x.set_setup_end_ms(ms(l.setup_end));
    x.set_expected_end_ms(ms(l.expected_end));
  }
  if (t.down_until) o.set_down_until_ms(ms(*t.down_until));
}

void put(const des::QueueView& q, v1::QueueView& o) {
  o.set_group(q.group.value);
  for (const des::QueuedLot& l : q.lots) {
    v1::QueuedLot& x = *o.add_lots();
    x.set_lot(l.lot);
    x.set_since_ms(ms(l.since));
  }
}

void put(const des::LotView& l, v1::LotView& o) {
  o.set_name(l.name);
  o.mutable_key()->set_source(l.key.source);
  o.mutable_key()->set_sequence(l.key.sequence);
  o.set_product(l.product.value);
  o.set_priority(l.priority);
  o.set_wafers(l.wafers);
  o.set_pass(l.pass);
  o.set_released_ms(ms(l.released));
  o.set_due_ms(ms(l.due));
  o.set_step(l.step.value);
  o.set_place(to_proto(l.place));
  if (l.group.valid()) o.set_group(l.group.value);
  if (l.tool.valid()) o.set_tool(l.tool.value);
  o.set_held(l.held);
  o.set_since_ms(ms(l.since));
}

void put(const des::LiveKpis& k, v1::LiveKpis& o) {
  o.set_lots_in_fab(k.lots_in_fab);
  o.set_lots_released(k.lots_released);
  o.set_lots_completed(k.lots_completed);
  o.set_lots_scrapped(k.lots_scrapped);
  o.set_wafers_completed(k.wafers_completed);
  o.set_moves(k.moves);
  o.set_lots_held(k.lots_held);
  for (std::uint32_t n : k.tools_by_state) o.add_tools_by_state(n);
}

void put(const des::EventCounts& c, v1::EventCounts& o) {
  o.set_applied(c.applied);
  o.set_late(c.late);
  o.set_duplicate(c.duplicate);
  o.set_refused(c.refused);
  for (int r = 0; r < des::kRefuseReasonCount; ++r) {
    if (c.refused_by_reason[r] == 0) continue;
    v1::RefusedCount& x = *o.add_refused_by_reason();
    x.set_reason(to_proto(static_cast<des::RefuseReason>(r)));
    x.set_count(c.refused_by_reason[r]);
  }
}

// ---- state: proto -> engine ----

// Enumerations: proto value v (1..count) is engine value v - 1.
template <class E>
bool enum_from(int v, int count, E& out) {
  if (v < 1 || v > count) return false;
  out = static_cast<E>(v - 1);
  return true;
}

model::Error bad(std::string field, std::string message) {
  return model::Error{.file = "", .line = 0, .field = std::move(field), .message = std::move(message)};
}

std::optional<model::Error> get(const v1::ToolView& o, const std::string& f, des::ToolView& t) {
  t.tool = model::ToolId{o.tool()};
  if (!enum_from(o.state(), des::kToolStateCount, t.state)) return bad(f + ".state", "no E10 state");
  t.since = at(o.since_ms());
  t.setup = o.has_setup() ? model::SetupId{o.setup()} : model::SetupId{};
  t.lots.clear();
  for (const v1::LotOnTool& x : o.lots())
    t.lots.push_back({x.lot(), at(x.start_ms()), at(x.setup_end_ms()), at(x.expected_end_ms())});
  t.down_until = o.has_down_until_ms() ? std::optional(at(o.down_until_ms())) : std::nullopt;
  return std::nullopt;
}

void get(const v1::QueueView& o, des::QueueView& q) {
  q.group = model::ToolGroupId{o.group()};
  q.lots.clear();
  for (const v1::QueuedLot& x : o.lots()) q.lots.push_back({x.lot(), at(x.since_ms())});
}

std::optional<model::Error> get(const v1::LotView& o, const std::string& f, des::LotView& l) {
  l.name = o.name();
  if (!o.has_key()) return bad(f + ".key", "missing");
  l.key = {o.key().source(), o.key().sequence()};
  l.product = model::ProductId{o.product()};
  l.priority = o.priority();
  l.wafers = o.wafers();
  l.pass = o.pass();
  l.released = at(o.released_ms());
  l.due = at(o.due_ms());
  l.step = model::StepId{o.step()};
  if (!enum_from(o.place(), 3, l.place)) return bad(f + ".place", "no lot place");
  l.group = o.has_group() ? model::ToolGroupId{o.group()} : model::ToolGroupId{};
  l.tool = o.has_tool() ? model::ToolId{o.tool()} : model::ToolId{};
  l.held = o.held();
  l.since = at(o.since_ms());
  return std::nullopt;
}

std::optional<model::Error> get(const v1::LiveKpis& o, const std::string& f, des::LiveKpis& k) {
  k.lots_in_fab = o.lots_in_fab();
  k.lots_released = o.lots_released();
  k.lots_completed = o.lots_completed();
  k.lots_scrapped = o.lots_scrapped();
  k.wafers_completed = o.wafers_completed();
  k.moves = o.moves();
  k.lots_held = o.lots_held();
  if (o.tools_by_state_size() != des::kToolStateCount)
    return bad(f + ".tools_by_state", "needs " + std::to_string(des::kToolStateCount) + " entries");
  for (int i = 0; i < des::kToolStateCount; ++i) k.tools_by_state[i] = o.tools_by_state(i);
  return std::nullopt;
}

std::optional<model::Error> get(const v1::EventCounts& o, const std::string& f, des::EventCounts& c) {
  c = {};
  c.applied = o.applied();
  c.late = o.late();
  c.duplicate = o.duplicate();
  c.refused = o.refused();
  for (int i = 0; i < o.refused_by_reason_size(); ++i) {
    des::RefuseReason r{};
    if (!enum_from(o.refused_by_reason(i).reason(), des::kRefuseReasonCount, r))
      return bad(f + ".refused_by_reason[" + std::to_string(i) + "].reason", "no refuse reason");
    c.refused_by_reason[static_cast<int>(r)] = o.refused_by_reason(i).count();
  }
  return std::nullopt;
}

std::string at_index(const char* name, int i) { return std::string(name) + "[" + std::to_string(i) + "]"; }

// ---- events ----

enum Key : std::uint32_t {
  kLots,
  kTool,
  kStep,
  kNextStep,
  kRouteDone,
  kProduct,
  kPriority,
  kWafers,
  kDue,
  kState,
  kUntil,
  kSetup,
  kCalendar,
  kKeyCount
};
constexpr const char* kKeyNames[kKeyCount] = {"lots",     "tool",     "step",    "next_step", "route_done",
                                              "product",  "priority", "wafers",  "due_ms",    "state",
                                              "until_ms", "setup",    "calendar"};
constexpr std::uint32_t bit(Key k) { return 1u << k; }

struct KindKeys {
  std::uint32_t allowed, required;
};

// The fields each kind uses and needs: the engine's table (twin/event_fields.hpp), in whose order
// Key lists them.
static_assert(kLots == 0 && kCalendar == twin::kEventFieldCount - 1);
KindKeys keys_of(EventKind k) {
  const twin::EventFields f = twin::event_fields(k);
  return {f.allowed, f.required};
}

// The fields of `e` that are set (non-default or present).
std::uint32_t present(const v1::MesEvent& e) {
  std::uint32_t s = 0;
  if (e.lots_size() > 0) s |= bit(kLots);
  if (!e.tool().empty()) s |= bit(kTool);
  if (e.step() != 0) s |= bit(kStep);
  if (e.next_step() != 0) s |= bit(kNextStep);
  if (e.route_done()) s |= bit(kRouteDone);
  if (!e.product().empty()) s |= bit(kProduct);
  if (e.has_priority()) s |= bit(kPriority);
  if (e.wafers() != 0) s |= bit(kWafers);
  if (e.has_due_ms()) s |= bit(kDue);
  if (e.state() != v1::TOOL_STATE_UNSPECIFIED) s |= bit(kState);
  if (e.has_until_ms()) s |= bit(kUntil);
  if (!e.setup().empty()) s |= bit(kSetup);
  if (!e.calendar().empty()) s |= bit(kCalendar);
  return s;
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 200)) {
    if (c == '"' || c == '\\') out += '\\';
    out += (static_cast<unsigned char>(c) < 0x20) ? '?' : c;
  }
  return out + (s.size() > 200 ? "...\"" : "\"");
}

}  // namespace

// ---- enumerations ----

v1::Mode to_proto(des::Mode m) { return m == des::Mode::Follow ? v1::MODE_FOLLOW : v1::MODE_AUTONOMOUS; }
v1::ToolState to_proto(des::ToolState s) { return static_cast<v1::ToolState>(static_cast<int>(s) + 1); }
v1::LotPlace to_proto(des::LotPlace p) { return static_cast<v1::LotPlace>(static_cast<int>(p) + 1); }
v1::RefuseReason to_proto(des::RefuseReason r) {
  return static_cast<v1::RefuseReason>(static_cast<int>(r) + 1);
}
v1::EventKind to_proto(des::EventKind k) { return static_cast<v1::EventKind>(static_cast<int>(k) + 1); }
v1::Outcome to_proto(twin::Outcome o) { return static_cast<v1::Outcome>(static_cast<int>(o) + 1); }

// ---- model ----

v1::ModelSummary model_summary(const model::Model& m, des::Mode mode) {
  v1::ModelSummary s;
  s.set_name(m.name());
  s.set_epoch_unix_s(m.data().epoch_unix_s);
  for (const auto& a : m.areas()) s.add_areas(a.name);
  for (const auto& g : m.tool_groups()) {
    v1::ToolGroupSummary& x = *s.add_tool_groups();
    x.set_name(g.name);
    x.set_area(g.area.value);
    x.set_first_tool(g.first_tool.value);
    x.set_tool_count(g.tool_count);
  }
  for (const auto& t : m.tools()) {
    v1::ToolSummary& x = *s.add_tools();
    x.set_name(t.name);
    x.set_group(t.group.value);
  }
  for (const auto& p : m.products()) {
    v1::ProductSummary& x = *s.add_products();
    x.set_name(p.name);
    x.set_route(p.route.value);
  }
  for (const auto& r : m.routes()) {
    v1::RouteSummary& x = *s.add_routes();
    x.set_name(r.name);
    x.set_first_step(r.first_step.value);
    x.set_step_count(r.step_count);
  }
  for (const auto& st : m.steps()) {
    v1::StepSummary& x = *s.add_steps();
    x.set_route(st.route.value);
    x.set_number(st.number);
    x.set_description(st.description);
    x.set_tool_group(st.tool_group.value);
    if (st.setup) x.set_setup(st.setup->value);
  }
  for (const auto& su : m.setups()) s.add_setups(su.name);
  for (const auto& c : m.pm_calendars()) s.add_pm_calendars(c.name);
  s.set_mode(to_proto(mode));
  return s;
}

// ---- state ----

void to_proto(const des::StateView& v, v1::StateKeyframe& o) {
  o.Clear();
  o.set_version(v.version);
  o.set_now_ms(ms(v.now));
  o.set_mode(to_proto(v.mode));
  o.mutable_tools()->Reserve(static_cast<int>(v.tools.size()));
  for (const auto& t : v.tools) put(t, *o.add_tools());
  o.mutable_queues()->Reserve(static_cast<int>(v.queues.size()));
  for (const auto& q : v.queues) put(q, *o.add_queues());
  o.mutable_lots()->Reserve(static_cast<int>(v.lots.size()));
  for (const auto& l : v.lots) put(l, *o.add_lots());
  put(v.kpis, *o.mutable_kpis());
  put(v.counts, *o.mutable_counts());
}

void to_proto(const des::StateDelta& d, v1::StateDelta& o) {
  o.Clear();
  o.set_from_version(d.from);
  o.set_to_version(d.to);
  o.set_now_ms(ms(d.now));
  o.set_mode(to_proto(d.mode));
  for (const auto& t : d.tools) put(t, *o.add_tools());
  for (const auto& q : d.queues) put(q, *o.add_queues());
  for (const auto& l : d.lots) put(l, *o.add_lots());
  for (const auto& n : d.lots_left) o.add_lots_left(n);
  put(d.kpis, *o.mutable_kpis());
  put(d.counts, *o.mutable_counts());
}

v1::StateKeyframe to_proto(const des::StateView& view) {
  v1::StateKeyframe o;
  to_proto(view, o);
  return o;
}

v1::StateDelta to_proto(const des::StateDelta& delta) {
  v1::StateDelta o;
  to_proto(delta, o);
  return o;
}

model::Result<des::StateView> from_proto(const v1::StateKeyframe& o) {
  des::StateView v;
  v.version = o.version();
  v.now = at(o.now_ms());
  if (!enum_from(o.mode(), 2, v.mode)) return bad("mode", "no mode");
  v.tools.resize(o.tools_size());
  for (int i = 0; i < o.tools_size(); ++i)
    if (auto e = get(o.tools(i), at_index("tools", i), v.tools[i])) return *e;
  v.queues.resize(o.queues_size());
  for (int i = 0; i < o.queues_size(); ++i) get(o.queues(i), v.queues[i]);
  v.lots.resize(o.lots_size());
  for (int i = 0; i < o.lots_size(); ++i)
    if (auto e = get(o.lots(i), at_index("lots", i), v.lots[i])) return *e;
  if (auto e = get(o.kpis(), "kpis", v.kpis)) return *e;
  if (auto e = get(o.counts(), "counts", v.counts)) return *e;
  return v;
}

model::Result<des::StateDelta> from_proto(const v1::StateDelta& o) {
  des::StateDelta d;
  d.from = o.from_version();
  d.to = o.to_version();
  d.now = at(o.now_ms());
  if (!enum_from(o.mode(), 2, d.mode)) return bad("mode", "no mode");
  d.tools.resize(o.tools_size());
  for (int i = 0; i < o.tools_size(); ++i)
    if (auto e = get(o.tools(i), at_index("tools", i), d.tools[i])) return *e;
  d.queues.resize(o.queues_size());
  for (int i = 0; i < o.queues_size(); ++i) get(o.queues(i), d.queues[i]);
  d.lots.resize(o.lots_size());
  for (int i = 0; i < o.lots_size(); ++i)
    if (auto e = get(o.lots(i), at_index("lots", i), d.lots[i])) return *e;
  d.lots_left.assign(o.lots_left().begin(), o.lots_left().end());
  if (auto e = get(o.kpis(), "kpis", d.kpis)) return *e;
  if (auto e = get(o.counts(), "counts", d.counts)) return *e;
  return d;
}

void apply_delta(v1::StateKeyframe& k, const v1::StateDelta& d) {
  if (d.from_version() != k.version())
    throw std::invalid_argument("apply_delta: the delta starts at version " +
                                std::to_string(d.from_version()) + ", the keyframe is at " +
                                std::to_string(k.version()));
  for (const v1::ToolView& t : d.tools()) {
    if (t.tool() >= static_cast<std::uint32_t>(k.tools_size()))
      throw std::invalid_argument("apply_delta: unknown tool index " + std::to_string(t.tool()));
    *k.mutable_tools(static_cast<int>(t.tool())) = t;
  }
  for (const v1::QueueView& q : d.queues()) {
    if (q.group() >= static_cast<std::uint32_t>(k.queues_size()))
      throw std::invalid_argument("apply_delta: unknown tool group index " + std::to_string(q.group()));
    *k.mutable_queues(static_cast<int>(q.group())) = q;
  }
  // Lots stay sorted by name: drop those that left, then replace or insert the changed ones by
  // merging two sorted lists (O(lots + changed)).
  auto* lots = k.mutable_lots();
  if (d.lots_left_size() > 0) {
    auto& left = d.lots_left();
    auto end = std::remove_if(lots->begin(), lots->end(), [&](const v1::LotView& l) {
      return std::binary_search(left.begin(), left.end(), l.name());
    });
    lots->erase(end, lots->end());
  }
  if (d.lots_size() > 0) {
    google::protobuf::RepeatedPtrField<v1::LotView> merged;
    merged.Reserve(lots->size() + d.lots_size());
    int i = 0, j = 0;
    while (i < lots->size() || j < d.lots_size()) {
      if (j == d.lots_size() || (i < lots->size() && lots->Get(i).name() < d.lots(j).name())) {
        merged.Add()->Swap(lots->Mutable(i++));
      } else {
        if (i < lots->size() && lots->Get(i).name() == d.lots(j).name()) ++i;
        *merged.Add() = d.lots(j++);
      }
    }
    lots->Swap(&merged);
  }
  k.set_version(d.to_version());
  k.set_now_ms(d.now_ms());
  k.set_mode(d.mode());
  *k.mutable_kpis() = d.kpis();
  *k.mutable_counts() = d.counts();
}

// ---- events ----

void to_proto(const des::Event& e, v1::MesEvent& o) {
  o.Clear();
  o.set_id(e.id);
  o.set_time_ms(ms(e.time));
  o.set_kind(to_proto(e.kind));
  const std::uint32_t allowed = keys_of(e.kind).allowed;
  if (allowed & bit(kLots))
    for (const auto& l : e.lots) o.add_lots(l);
  if (allowed & bit(kTool)) o.set_tool(e.tool);
  if (allowed & bit(kStep)) o.set_step(e.step);
  if (allowed & bit(kNextStep)) o.set_next_step(e.next_step);
  if (allowed & bit(kRouteDone)) o.set_route_done(e.route_done);
  if (allowed & bit(kProduct)) o.set_product(e.product);
  if (allowed & bit(kPriority)) o.set_priority(e.priority);
  if (allowed & bit(kWafers)) o.set_wafers(e.wafers);
  if ((allowed & bit(kDue)) && e.due) o.set_due_ms(ms(*e.due));
  if (allowed & bit(kState)) o.set_state(to_proto(e.state));
  if ((allowed & bit(kUntil)) && e.until) o.set_until_ms(ms(*e.until));
  if (allowed & bit(kSetup)) o.set_setup(e.setup);
  if (allowed & bit(kCalendar)) o.set_calendar(e.calendar);
}

v1::MesEvent to_proto(const des::Event& event) {
  v1::MesEvent o;
  to_proto(event, o);
  return o;
}

EventDecoder::EventDecoder(const model::Model& model) : model_(&model) {
  for (std::size_t i = 0; i < model.tools().size(); ++i)
    tools_.emplace(model.tools()[i].name, static_cast<std::uint32_t>(i));
  for (std::size_t i = 0; i < model.pm_calendars().size(); ++i)
    calendars_.emplace(model.pm_calendars()[i].name, static_cast<std::uint32_t>(i));
}

model::Result<des::Event> EventDecoder::decode(const v1::MesEvent& o, std::string_view field) const {
  const std::string f(field);
  auto fail = [&](const char* key, std::string message) { return bad(f + "." + key, std::move(message)); };
  des::Event e;
  if (o.id().empty()) return fail("id", "missing (every event needs an id, unique per source)");
  e.id = o.id();
  if (o.time_ms() < 0 || o.time_ms() > kMaxTimeMs)
    return fail("time_ms", std::to_string(o.time_ms()) + " is outside [0, 10^15] ms");
  e.time = at(o.time_ms());
  if (!enum_from(o.kind(), des::kEventKindCount, e.kind)) {
    return fail("kind", o.kind() == v1::EVENT_KIND_UNSPECIFIED ? std::string("missing")
                                                               : "unknown kind " + std::to_string(o.kind()));
  }
  const KindKeys kk = keys_of(e.kind);
  const std::uint32_t set = present(o);
  const std::string kind_name(des::to_string(e.kind));
  for (std::uint32_t k = 0; k < kKeyCount; ++k) {
    if ((kk.required & bit(Key(k))) && !(set & bit(Key(k))))
      return fail(kKeyNames[k], "missing (required by kind " + kind_name + ")");
    if ((set & bit(Key(k))) && !(kk.allowed & bit(Key(k))))
      return fail(kKeyNames[k], "not used by kind " + kind_name);
  }
  for (int i = 0; i < o.lots_size(); ++i) {
    if (o.lots(i).empty()) return fail(at_index("lots", i).c_str(), "empty lot name");
    e.lots.push_back(o.lots(i));
  }
  if (e.kind != EventKind::TrackIn && e.lots.size() > 1)
    return fail("lots", "kind " + kind_name + " names one lot, not " + std::to_string(e.lots.size()));
  if (!o.tool().empty()) {
    if (!tools_.count(o.tool())) return fail("tool", "unknown tool " + quoted(o.tool()));
    e.tool = o.tool();
  }
  e.step = o.step();
  e.next_step = o.next_step();
  e.route_done = o.route_done();
  if (!o.product().empty()) {
    if (!model_->find_product(o.product())) return fail("product", "unknown product " + quoted(o.product()));
    e.product = o.product();
  }
  if (o.has_priority()) e.priority = o.priority();
  e.wafers = o.wafers();
  if (o.has_due_ms()) {
    if (o.due_ms() < 0 || o.due_ms() > kMaxTimeMs)
      return fail("due_ms", std::to_string(o.due_ms()) + " is outside [0, 10^15] ms");
    e.due = at(o.due_ms());
  }
  if (set & bit(kState)) {
    if (!enum_from(o.state(), des::kToolStateCount, e.state))
      return fail("state", "unknown E10 state " + std::to_string(o.state()));
    if (e.state == des::ToolState::Setup)
      return fail("state", "setup is not reported as a tool state (send setup_change or track_in)");
  }
  if (o.has_until_ms()) {
    if (o.until_ms() < 0 || o.until_ms() > kMaxTimeMs)
      return fail("until_ms", std::to_string(o.until_ms()) + " is outside [0, 10^15] ms");
    e.until = at(o.until_ms());
  }
  if (!o.setup().empty()) {
    if (!model_->find_setup(o.setup())) return fail("setup", "unknown setup " + quoted(o.setup()));
    e.setup = o.setup();
  }
  if (!o.calendar().empty()) {
    if (!calendars_.count(o.calendar()))
      return fail("calendar", "unknown PM calendar " + quoted(o.calendar()));
    e.calendar = o.calendar();
  }
  return e;
}

model::Result<std::vector<des::Event>> EventDecoder::decode(const v1::IngestRequest& request) const {
  std::vector<des::Event> out;
  out.reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i) {
    auto e = decode(request.events(i), at_index("events", i));
    if (!e) return e.error();
    out.push_back(std::move(e.value()));
  }
  return out;
}

namespace {
void to_proto(const twin::Spread& s, v1::Interval& out) {
  out.set_mean(s.mean);
  out.set_p10(s.p10);
  out.set_p50(s.p50);
  out.set_p90(s.p90);
  out.set_ci95(s.ci95);
  out.set_n(s.n);
}
}  // namespace

void to_proto(const twin::ForecastResult& f, v1::ForecastReply& out) {
  out.Clear();
  out.set_from_version(f.from_version);
  out.set_from_ms(f.from.time_since_epoch().count());
  out.set_to_ms(f.to.time_since_epoch().count());
  out.set_replications(f.replications);
  out.mutable_lots()->Reserve(static_cast<int>(f.lots.size()));
  for (const twin::LotForecast& l : f.lots) {
    v1::LotForecast& p = *out.add_lots();
    p.set_lot(l.name);
    p.set_completed_fraction(l.completed_fraction);
    to_proto(l.completion_ms, *p.mutable_completion_ms());
    p.set_position(l.position);
    p.set_route_steps(l.route_steps);
    for (const twin::Spread& s : l.position_at) to_proto(s, *p.add_position_at());
  }
  to_proto(f.lots_completed, *out.mutable_lots_completed());
  to_proto(f.wafers_completed, *out.mutable_wafers_completed());
  to_proto(f.moves, *out.mutable_moves());
  out.set_wall_s(f.wall_s);
}

std::string status_text(const model::Error& e) {
  return e.field.empty() ? e.message : e.field + ": " + e.message;
}

void to_proto(std::string_view id, const twin::EventOutcome& outcome, v1::EventResult& out) {
  out.Clear();
  out.set_id(std::string(id));
  out.set_outcome(to_proto(outcome.outcome));
  if (outcome.refusal) {
    out.set_reason(to_proto(outcome.refusal->reason));
    out.set_field(outcome.refusal->field);
    out.set_message(outcome.refusal->message);
  }
}

}  // namespace fabtwin::twin_pb
