#pragma once
// Replay: a follow-mode twin driven by an events file alone (JSON lines, event_json.hpp) through
// the Ledger. Every line is one event; blank lines are skipped. A line the codec refuses is
// counted as refused (reason malformed, field = its key) and listed; it never stops the replay.
// Invariant: applied + refused + duplicate == events_read.
#include <array>
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/twin/ledger.hpp"

namespace fabtwin::twin {

struct RefusedEvent {
  std::uint64_t line = 0;  // 1-based line in the events file
  std::string id;          // "" when the line could not be read
  des::RefuseReason reason = des::RefuseReason::Malformed;
  std::string field;
  std::string message;
};

struct ReplayReport {
  std::uint64_t events_read = 0;  // non-blank lines
  std::uint64_t applied = 0;      // late ones included
  std::uint64_t late = 0;
  std::uint64_t duplicate = 0;
  std::uint64_t refused = 0;     // unreadable lines included
  std::uint64_t unreadable = 0;  // lines the codec refused (also in refused, reason malformed)
  std::array<std::uint64_t, des::kRefuseReasonCount> refused_by_reason{};
  std::vector<RefusedEvent> refusals;  // in line order (at most ReplayOptions::max_listed)
  model::SimTime end{};                // the twin's time at the end
  double wall_s = 0;                   // time spent reading and applying (not run_until(until))
};

// Feeds lines to a twin: parse, then the ledger. Keeps the report.
class Replayer {
 public:
  // `sim` should be a follow-mode twin; it must outlive the replayer.
  Replayer(des::Simulation& sim, std::size_t max_listed = SIZE_MAX);
  // One line of the file (its 1-based number); returns what happened to it (nullopt: blank).
  std::optional<Outcome> feed(std::string_view line, std::uint64_t line_number);
  const ReplayReport& report() const { return report_; }
  Ledger& ledger() { return ledger_; }

 private:
  void refuse(std::uint64_t line, std::string id, des::RefuseReason reason, std::string field,
              std::string message);

  des::Simulation* sim_;
  Ledger ledger_;
  std::int64_t epoch_;
  std::size_t max_listed_;
  ReplayReport report_;
};

struct ReplayOptions {
  des::Options sim;  // seed, rule ... (the mode is forced to follow)
  // After the last event the clock runs on to this time (the emulation's end), if it is later.
  std::optional<model::SimTime> until;
  std::size_t max_listed = SIZE_MAX;  // refused events listed in the report
};

struct ReplayResult {
  des::Simulation sim;  // the twin at the end
  ReplayReport report;
};

// Replays every line of `events` into a new follow-mode twin of `model`. Fails only when the
// twin cannot be created (an unknown rule) or the stream cannot be read.
model::Result<ReplayResult> replay(const model::Model& model, std::istream& events,
                                   const ReplayOptions& options = {});

// The report for people (counts, refusals by reason, then each listed refusal with its line)
// and as JSON ({"events_read", "applied", "late", "duplicate", "refused", "unreadable",
// "refused_by_reason": {reason: n}, "refusals": [{"line", "id", "reason", "field", "message"}]}).
std::string report_text(const ReplayReport& r);
io::json::Value report_json(const ReplayReport& r);

}  // namespace fabtwin::twin
