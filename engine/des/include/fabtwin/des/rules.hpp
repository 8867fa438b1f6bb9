#pragma once
// Dispatching rules. A tool group's rank list (tool.txt.1l FWLRANK, e.g.
// rank_HP;rank_RSETUP;rank_FIFO) is a sequence of RankRules compared lexicographically; remaining
// ties go to the lot released first. A new rule is a RankRule registered under a name in a
// RuleRegistry: the simulation core needs no change.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/model/model.hpp"

namespace fabtwin::des {

// What a rule may look at for one waiting lot.
struct Candidate {
  std::uint32_t lot = 0;        // simulation lot slot
  std::uint32_t serial = 0;     // release order (initial WIP first): the final tie-break
  std::uint32_t priority = 10;  // PRIOR: 10 normal, 20 hot, 30 super hot
  std::uint32_t wafers = 25;
  std::int64_t arrival_ms = 0;   // when it joined this queue
  std::int64_t due_ms = 0;       // its due date
  std::int64_t setup_ms = 0;     // setup this tool needs before running it (0: none)
  double remaining_work_ms = 0;  // expected work from this step to the route's end (CR)
  double process_ms = 0;         // expected processing time of this step (SPT)
  model::StepId step;
  model::SetupId setup;     // the setup the step needs (invalid: none)
  model::ToolId dedicated;  // the only tool allowed to run it (invalid: any)
};

struct RankContext {
  std::int64_t now_ms = 0;
  model::ToolId tool;
};

class RankRule {
 public:
  virtual ~RankRule() = default;
  virtual std::string_view name() const = 0;
  // Writes one score per candidate into `out` (same size); lower ranks first. Never NaN.
  virtual void score(const RankContext& ctx, std::span<const Candidate> candidates,
                     std::span<double> out) const = 0;
};

// Names -> rules. Starts with the built-in ones: rank_HP, rank_RSETUP, rank_FIFO, rank_CR,
// rank_EDD, rank_SPT.
class RuleRegistry {
 public:
  RuleRegistry();
  void add(std::shared_ptr<const RankRule> rule);                     // replaces a rule of the same name
  std::shared_ptr<const RankRule> find(std::string_view name) const;  // nullptr if unknown
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::shared_ptr<const RankRule>, std::less<>> rules_;
};

// The --rule choice: replaces the last key of every rank list (the base rule: rank_FIFO in HVLM,
// rank_CR in LVHM), keeping the leading rank_HP / rank_RSETUP. Empty: the model's own lists.
std::optional<std::string> base_rule_name(std::string_view cli_rule);  // "fifo" -> "rank_FIFO"

// A tool group's own base rule: the last key of its rank list ("rank_FIFO"), the key a --rule or a
// rule delta replaces; "" where the list is empty or ends in rank_HP / rank_RSETUP (a rule is
// appended there).
std::string own_base_rule(const model::ToolGroup& g);

}  // namespace fabtwin::des
