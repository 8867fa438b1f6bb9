// Replay of an events file into a follow-mode twin (replay.hpp).
#include "fabtwin/twin/replay.hpp"

#include <chrono>
#include <istream>

#include "fabtwin/twin/event_json.hpp"

namespace fabtwin::twin {

Replayer::Replayer(des::Simulation& sim, std::size_t max_listed)
    : sim_(&sim), ledger_(sim), epoch_(sim.model().data().epoch_unix_s), max_listed_(max_listed) {}

void Replayer::refuse(std::uint64_t line, std::string id, des::RefuseReason reason, std::string field,
                      std::string message) {
  ++report_.refused;
  ++report_.refused_by_reason[static_cast<int>(reason)];
  if (report_.refusals.size() < max_listed_)
    report_.refusals.push_back({line, std::move(id), reason, std::move(field), std::move(message)});
}

std::optional<Outcome> Replayer::feed(std::string_view line, std::uint64_t n) {
  if (line.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
  ++report_.events_read;
  auto e = parse_event_json(line, epoch_, static_cast<int>(n));
  if (!e.ok()) {
    ++report_.unreadable;
    refuse(n, "", des::RefuseReason::Malformed, e.error().field, e.error().message);
    report_.end = sim_->now();
    return Outcome::Refused;
  }
  EventOutcome o = ledger_.apply(e.value());
  switch (o.outcome) {
    case Outcome::Late:
      ++report_.late;
      [[fallthrough]];
    case Outcome::Applied:
      ++report_.applied;
      break;
    case Outcome::Duplicate:
      ++report_.duplicate;
      break;
    case Outcome::Refused:
      refuse(n, e->id, o.refusal->reason, std::move(o.refusal->field), std::move(o.refusal->message));
      break;
  }
  report_.end = sim_->now();
  return o.outcome;
}

model::Result<ReplayResult> replay(const model::Model& model, std::istream& events,
                                   const ReplayOptions& options) {
  des::Options sopt = options.sim;
  sopt.mode = des::Mode::Follow;
  auto sim = des::Simulation::create(model, sopt);
  if (!sim.ok()) return sim.error();
  ReplayResult r{std::move(sim.value()), {}};
  const auto t0 = std::chrono::steady_clock::now();
  {
    Replayer replayer(r.sim, options.max_listed);
    std::string line;
    std::uint64_t n = 0;
    while (std::getline(events, line)) replayer.feed(line, ++n);
    if (events.bad()) return model::Error{"", static_cast<int>(n), "", "cannot read the events"};
    r.report = replayer.report();
  }
  r.report.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (options.until && *options.until > r.sim.now()) r.sim.run_until(*options.until);
  r.report.end = r.sim.now();
  return r;
}

std::string report_text(const ReplayReport& r) {
  std::string out;
  out += "events read " + std::to_string(r.events_read) + ": applied " + std::to_string(r.applied) +
         " (late " + std::to_string(r.late) + "), duplicate " + std::to_string(r.duplicate) + ", refused " +
         std::to_string(r.refused);
  if (r.unreadable) out += " (unreadable " + std::to_string(r.unreadable) + ")";
  out += "\n";
  for (int k = 0; k < des::kRefuseReasonCount; ++k)
    if (r.refused_by_reason[k])
      out += "  refused " + std::string(des::to_string(static_cast<des::RefuseReason>(k))) + ": " +
             std::to_string(r.refused_by_reason[k]) + "\n";
  for (const RefusedEvent& f : r.refusals)
    out += "line " + std::to_string(f.line) + (f.id.empty() ? "" : " (" + f.id + ")") + ": " +
           std::string(des::to_string(f.reason)) + ": " + (f.field.empty() ? "" : f.field + ": ") +
           f.message + "\n";
  if (r.refusals.size() < r.refused) {
    out += '(';
    out += std::to_string(r.refused - r.refusals.size());
    out += " more refusals not listed)\n";
  }
  return out;
}

io::json::Value report_json(const ReplayReport& r) {
  using io::json::Value;
  Value v = Value::object();
  v.add("events_read", r.events_read);
  v.add("applied", r.applied);
  v.add("late", r.late);
  v.add("duplicate", r.duplicate);
  v.add("refused", r.refused);
  v.add("unreadable", r.unreadable);
  Value& by = v.add("refused_by_reason", Value::object());
  for (int k = 0; k < des::kRefuseReasonCount; ++k)
    if (r.refused_by_reason[k])
      by.add(std::string(des::to_string(static_cast<des::RefuseReason>(k))), r.refused_by_reason[k]);
  Value& list = v.add("refusals", Value::array());
  for (const RefusedEvent& f : r.refusals) {
    Value& x = list.push_back(Value::object());
    x.add("line", f.line);
    x.add("id", f.id);
    x.add("reason", des::to_string(f.reason));
    x.add("field", f.field);
    x.add("message", f.message);
  }
  return v;
}

}  // namespace fabtwin::twin
