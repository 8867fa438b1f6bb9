#include "fabtwin/des/rules.hpp"

#include <cctype>

#include "rank_keys.hpp"

namespace fabtwin::des {
namespace {

// rank_HP: higher priority first.
class HighestPriority final : public RankRule {
 public:
  std::string_view name() const override { return "rank_HP"; }
  void score(const RankContext&, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_priority(c[i]);
  }
};

// rank_RSETUP: shorter required setup first.
class LeastSetup final : public RankRule {
 public:
  std::string_view name() const override { return "rank_RSETUP"; }
  void score(const RankContext&, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_setup(c[i].setup_ms);
  }
};

// rank_FIFO: earlier arrival at the queue first.
class Fifo final : public RankRule {
 public:
  std::string_view name() const override { return "rank_FIFO"; }
  void score(const RankContext&, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_fifo(c[i]);
  }
};

// rank_CR: smaller critical ratio (due - now) / remaining expected work first.
class CriticalRatio final : public RankRule {
 public:
  std::string_view name() const override { return "rank_CR"; }
  void score(const RankContext& ctx, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_cr(c[i], ctx.now_ms);
  }
};

// rank_EDD: earlier due date first.
class EarliestDue final : public RankRule {
 public:
  std::string_view name() const override { return "rank_EDD"; }
  void score(const RankContext&, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_due(c[i]);
  }
};

// rank_SPT: shorter expected processing time at this step first.
class ShortestProcessing final : public RankRule {
 public:
  std::string_view name() const override { return "rank_SPT"; }
  void score(const RankContext&, std::span<const Candidate> c, std::span<double> out) const override {
    for (std::size_t i = 0; i < c.size(); ++i) out[i] = score_processing(c[i]);
  }
};

}  // namespace

BuiltinRank builtin_rank(const RankRule* rule) {
  if (dynamic_cast<const HighestPriority*>(rule)) return BuiltinRank::Priority;
  if (dynamic_cast<const LeastSetup*>(rule)) return BuiltinRank::Setup;
  if (dynamic_cast<const Fifo*>(rule)) return BuiltinRank::Fifo;
  if (dynamic_cast<const CriticalRatio*>(rule)) return BuiltinRank::CriticalRatio;
  if (dynamic_cast<const EarliestDue*>(rule)) return BuiltinRank::Due;
  if (dynamic_cast<const ShortestProcessing*>(rule)) return BuiltinRank::Processing;
  return BuiltinRank::Custom;
}

RuleRegistry::RuleRegistry() {
  add(std::make_shared<HighestPriority>());
  add(std::make_shared<LeastSetup>());
  add(std::make_shared<Fifo>());
  add(std::make_shared<CriticalRatio>());
  add(std::make_shared<EarliestDue>());
  add(std::make_shared<ShortestProcessing>());
}

void RuleRegistry::add(std::shared_ptr<const RankRule> rule) {
  rules_[std::string(rule->name())] = std::move(rule);
}

std::shared_ptr<const RankRule> RuleRegistry::find(std::string_view name) const {
  auto it = rules_.find(name);
  return it == rules_.end() ? nullptr : it->second;
}

std::vector<std::string> RuleRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& [n, r] : rules_) out.push_back(n);
  return out;
}

std::optional<std::string> base_rule_name(std::string_view cli_rule) {
  if (cli_rule.empty()) return std::nullopt;
  if (cli_rule.starts_with("rank_")) return std::string(cli_rule);
  std::string up = "rank_";
  for (char ch : cli_rule) up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return up;
}

std::string own_base_rule(const model::ToolGroup& g) {
  if (g.ranks.empty() || g.ranks.back() == model::RankKey::HighestPriority ||
      g.ranks.back() == model::RankKey::LeastSetup)
    return "";
  return std::string(model::to_string(g.ranks.back()));
}

}  // namespace fabtwin::des
