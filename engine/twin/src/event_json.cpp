// MES events <-> JSON lines (event_json.hpp).
#include "fabtwin/twin/event_json.hpp"

#include <cmath>
#include <stdexcept>

#include "fabtwin/io/civil_time.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/twin/event_fields.hpp"

namespace fabtwin::twin {

using des::Event;
using des::EventKind;
using io::json::Type;
using io::json::Value;

namespace {

// Every key of the format, in the order they are written.
enum Key : std::uint8_t {
  kId,
  kTime,
  kKind,
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
constexpr std::string_view kKeyNames[kKeyCount] = {
    "id",      "time",     "kind",   "lots", "tool",  "step",  "next_step", "route_done",
    "product", "priority", "wafers", "due",  "state", "until", "setup",     "calendar"};
constexpr std::uint32_t bit(Key k) { return 1u << k; }
constexpr std::uint32_t kCommon = bit(kId) | bit(kTime) | bit(kKind);

struct KindKeys {
  std::uint32_t allowed;   // besides id, time, kind
  std::uint32_t required;  // besides id, time, kind
};

// The JSON keys of the fields follow id, time and kind in EventField order.
static_assert(kLots == 3 && kCalendar == kLots + kEventFieldCount - 1);
KindKeys keys_of(EventKind k) {
  const EventFields f = event_fields(k);
  return {f.allowed << kLots, f.required << kLots};
}

void key(std::string& out, Key k) {
  out += ",\"";
  out += kKeyNames[k];
  out += "\":";
}
void str(std::string& out, Key k, std::string_view v) {
  key(out, k);
  io::json::append_quoted(out, v);
}
void num(std::string& out, Key k, std::uint32_t v) {
  key(out, k);
  out += std::to_string(v);
}
void time(std::string& out, Key k, model::SimTime t, std::int64_t epoch) {
  key(out, k);
  out += '"';
  out += format_time(t, epoch);
  out += '"';
}

// Thrown inside the reader only.
struct ReadError {
  std::string field, message;
};
[[noreturn]] void fail(Key k, std::string message) {
  throw ReadError{std::string(kKeyNames[k]), std::move(message)};
}

std::string type_name(Type t) {
  return std::string(t == Type::Array || t == Type::Object ? "an " : "a ") +
         std::string(io::json::to_string(t));
}
const Value& typed(Key k, const Value& v, Type t) {
  if (v.type() != t) fail(k, "expected " + type_name(t) + ", got " + type_name(v.type()));
  return v;
}
std::uint32_t whole(Key k, const Value& v, std::uint32_t min) {
  const double x = typed(k, v, Type::Number).as_number();
  if (std::trunc(x) != x || x < min || x > 4294967295.0)
    fail(k, io::json::format_number(x) + " is not a whole number in " + std::to_string(min) + "..4294967295");
  return static_cast<std::uint32_t>(x);
}
std::string text(Key k, const Value& v, bool nonempty) {
  const std::string& s = typed(k, v, Type::String).as_string();
  if (nonempty && s.empty()) fail(k, "empty string");
  return s;
}
model::SimTime when(Key k, const Value& v, std::int64_t epoch) {
  const std::string& s = typed(k, v, Type::String).as_string();
  const auto t = parse_time(s, epoch);
  if (!t) fail(k, "\"" + s + "\" is not an ISO-8601 UTC time like 2018-01-05T12:34:56.789Z");
  return *t;
}

}  // namespace

std::string format_time(model::SimTime t, std::int64_t epoch_unix_s) {
  const std::int64_t ms = t.time_since_epoch().count() + epoch_unix_s * 1000;
  if (ms < io::kIsoMinUnixMs || ms > io::kIsoMaxUnixMs)
    throw std::out_of_range("format_time: outside years 0000..9999");
  return io::format_iso8601(ms);
}

std::optional<model::SimTime> parse_time(std::string_view iso, std::int64_t epoch_unix_s) {
  if (iso.empty() || iso.back() != 'Z') return std::nullopt;
  const auto ms = io::parse_iso8601(iso);
  if (!ms) return std::nullopt;
  return model::SimTime{model::Duration{*ms - epoch_unix_s * 1000}};
}

std::optional<des::ToolState> parse_tool_state(std::string_view s) {
  for (int k = 0; k < des::kToolStateCount; ++k)
    if (des::to_string(static_cast<des::ToolState>(k)) == s) return static_cast<des::ToolState>(k);
  return std::nullopt;
}

void append_event_json(std::string& out, const Event& e, std::int64_t epoch) {
  const std::uint32_t allowed = keys_of(e.kind).allowed;
  out += "{\"id\":";
  io::json::append_quoted(out, e.id);
  time(out, kTime, e.time, epoch);
  str(out, kKind, des::to_string(e.kind));
  if (allowed & bit(kLots)) {
    key(out, kLots);
    out += '[';
    for (std::size_t i = 0; i < e.lots.size(); ++i) {
      if (i) out += ',';
      io::json::append_quoted(out, e.lots[i]);
    }
    out += ']';
  }
  if (allowed & bit(kTool)) str(out, kTool, e.tool);
  if ((allowed & bit(kStep)) && e.step) num(out, kStep, e.step);
  if ((allowed & bit(kNextStep)) && e.next_step) num(out, kNextStep, e.next_step);
  if ((allowed & bit(kRouteDone)) && e.route_done) {
    key(out, kRouteDone);
    out += "true";
  }
  if (allowed & bit(kProduct)) str(out, kProduct, e.product);
  if (allowed & bit(kPriority)) num(out, kPriority, e.priority);
  if (allowed & bit(kWafers)) num(out, kWafers, e.wafers);
  if ((allowed & bit(kDue)) && e.due) time(out, kDue, *e.due, epoch);
  if (allowed & bit(kState)) str(out, kState, des::to_string(e.state));
  if ((allowed & bit(kUntil)) && e.until) time(out, kUntil, *e.until, epoch);
  if (allowed & bit(kSetup)) str(out, kSetup, e.setup);
  if ((allowed & bit(kCalendar)) && !e.calendar.empty()) str(out, kCalendar, e.calendar);
  out += '}';
}

std::string event_to_json(const Event& e, std::int64_t epoch_unix_s) {
  std::string out;
  append_event_json(out, e, epoch_unix_s);
  return out;
}

model::Result<Event> parse_event_json(std::string_view line, std::int64_t epoch, int line_number,
                                      std::string_view file) {
  auto parsed = io::json::parse(line, file);
  if (!parsed.ok()) {
    model::Error err = parsed.error();
    err.line = line_number;
    return err;
  }
  const Value& v = parsed.value();
  if (!v.is_object())
    return model::Error{std::string(file), line_number, "",
                        "expected a JSON object, got " + type_name(v.type())};
  try {
    Event e;
    const Value* kind = v.find("kind");
    if (!kind) fail(kKind, "missing key \"kind\"");
    const std::string& ks = text(kKind, *kind, true);
    const auto k = des::parse_event_kind(ks);
    if (!k) {
      std::string list;
      for (int i = 0; i < des::kEventKindCount; ++i)
        list += (i ? ", " : "") + std::string(des::to_string(static_cast<EventKind>(i)));
      fail(kKind, "unknown event kind \"" + ks + "\" (expected one of: " + list + ")");
    }
    e.kind = *k;
    const KindKeys kk = keys_of(e.kind);
    std::uint32_t seen = 0;
    for (const io::json::Member& m : v.as_object()) {
      Key key = kKeyCount;
      for (int i = 0; i < kKeyCount; ++i)
        if (kKeyNames[i] == m.key) key = static_cast<Key>(i);
      if (key == kKeyCount) throw ReadError{m.key, "unknown key \"" + m.key + "\""};
      if (!((kCommon | kk.allowed) & bit(key))) fail(key, "a " + ks + " event has no key \"" + m.key + "\"");
      seen |= bit(key);
      const Value& x = m.value;
      switch (key) {
        case kId:
          e.id = text(key, x, true);
          break;
        case kTime:
          e.time = when(key, x, epoch);
          break;
        case kKind:
          break;
        case kLots: {
          const auto& a = typed(key, x, Type::Array).as_array();
          if (a.empty()) fail(key, "no lot named");
          for (const Value& l : a) {
            if (!l.is_string()) fail(key, "expected lot names (strings), got " + type_name(l.type()));
            if (l.as_string().empty()) fail(key, "empty lot name");
            e.lots.push_back(l.as_string());
          }
          break;
        }
        case kTool:
          e.tool = text(key, x, true);
          break;
        case kStep:
          e.step = whole(key, x, 1);
          break;
        case kNextStep:
          e.next_step = whole(key, x, 1);
          break;
        case kRouteDone:
          e.route_done = typed(key, x, Type::Bool).as_bool();
          break;
        case kProduct:
          e.product = text(key, x, true);
          break;
        case kPriority:
          e.priority = whole(key, x, 0);
          break;
        case kWafers:
          e.wafers = whole(key, x, 0);
          break;
        case kDue:
          e.due = when(key, x, epoch);
          break;
        case kState: {
          const std::string& s = text(key, x, true);
          const auto st = parse_tool_state(s);
          if (!st) fail(key, "unknown E10 state \"" + s + "\"");
          e.state = *st;
          break;
        }
        case kUntil:
          e.until = when(key, x, epoch);
          break;
        case kSetup:
          e.setup = text(key, x, true);
          break;
        case kCalendar:
          e.calendar = text(key, x, true);
          break;
        case kKeyCount:
          break;
      }
    }
    const std::uint32_t missing = (kCommon | kk.required) & ~seen;
    for (int i = 0; i < kKeyCount; ++i)
      if (missing & bit(static_cast<Key>(i)))
        fail(static_cast<Key>(i),
             "missing key \"" + std::string(kKeyNames[i]) + "\" (a " + ks + " event needs it)");
    return e;
  } catch (const ReadError& r) {
    return model::Error{std::string(file), line_number, r.field, r.message};
  }
}

EventFields event_fields(EventKind k) {
  using F = EventField;
  constexpr auto b = field_bit;
  switch (k) {
    case EventKind::LotReleased:
      return {b(F::Lots) | b(F::Product) | b(F::Priority) | b(F::Wafers) | b(F::Due),
              b(F::Lots) | b(F::Product) | b(F::Wafers)};
    case EventKind::LotQueued:
    case EventKind::Rework:
      return {b(F::Lots) | b(F::Step), b(F::Lots) | b(F::Step)};
    case EventKind::TrackIn:
      return {b(F::Lots) | b(F::Tool) | b(F::Step), b(F::Lots) | b(F::Tool)};
    case EventKind::TrackOut:
      return {b(F::Lots) | b(F::Tool) | b(F::Step) | b(F::NextStep) | b(F::RouteDone),
              b(F::Lots) | b(F::Tool)};
    case EventKind::Hold:
    case EventKind::HoldRelease:
      return {b(F::Lots), b(F::Lots)};
    case EventKind::Scrap:
      return {b(F::Lots) | b(F::Wafers), b(F::Lots) | b(F::Wafers)};
    case EventKind::ToolState:
      return {b(F::Tool) | b(F::State) | b(F::Until), b(F::Tool) | b(F::State)};
    case EventKind::PmStart:
      return {b(F::Tool) | b(F::Calendar) | b(F::Until), b(F::Tool)};
    case EventKind::PmEnd:
      return {b(F::Tool) | b(F::Calendar), b(F::Tool)};
    case EventKind::SetupChange:
      return {b(F::Tool) | b(F::Setup), b(F::Tool) | b(F::Setup)};
  }
  return {};
}

}  // namespace fabtwin::twin
