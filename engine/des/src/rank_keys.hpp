#pragma once
// The built-in rank rules' scores, one candidate at a time: rules.cpp scores whole queues with
// them and the kernel's generic inline ranker (best_builtin) uses them, so both give the same
// doubles; best_ranked compares the integers the integral ones are made of (the same order).
#include <cstdint>

#include "fabtwin/des/rules.hpp"

namespace fabtwin::des {

// Which built-in rule a RankRule is (Custom: another rule, or a built-in name re-registered).
enum class BuiltinRank : std::uint8_t { Custom, Priority, Setup, Fifo, CriticalRatio, Due, Processing };

BuiltinRank builtin_rank(const RankRule* rule);  // rules.cpp

// rank_HP: higher priority first.
inline double score_priority(const Candidate& c) { return -static_cast<double>(c.priority); }
// rank_RSETUP: shorter required setup first (setup_ms: the setup this tool needs).
inline double score_setup(std::int64_t setup_ms) { return static_cast<double>(setup_ms); }
// rank_FIFO: earlier arrival at the queue first.
inline double score_fifo(const Candidate& c) { return static_cast<double>(c.arrival_ms); }
// rank_CR: smaller critical ratio (due - now) / remaining expected work first.
inline double score_cr(const Candidate& c, std::int64_t now_ms) {
  const double slack = static_cast<double>(c.due_ms - now_ms);
  return slack / (c.remaining_work_ms > 1.0 ? c.remaining_work_ms : 1.0);
}
// rank_EDD: earlier due date first.
inline double score_due(const Candidate& c) { return static_cast<double>(c.due_ms); }
// rank_SPT: shorter expected processing time at this step first.
inline double score_processing(const Candidate& c) { return c.process_ms; }

}  // namespace fabtwin::des
