// The kernel ranks with built-in rules inline (dispatch.cpp: best_ranked for common key lists,
// best_builtin for the others) and with any other rule through RankRule::score. Both must pick
// the same lots: a registry whose rules forward to the built-in ones (so the kernel cannot tell
// they are built in) gives the same run, byte for byte, as the built-in registry.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "fabtwin/des/rules.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using namespace fabtwin::model;

namespace {

// A rule the kernel does not know: scores through the built-in rule of the same name.
class Forward final : public des::RankRule {
 public:
  explicit Forward(std::shared_ptr<const des::RankRule> inner) : inner_(std::move(inner)) {}
  std::string_view name() const override { return inner_->name(); }
  void score(const des::RankContext& ctx, std::span<const des::Candidate> c,
             std::span<double> out) const override {
    inner_->score(ctx, c, out);
  }

 private:
  std::shared_ptr<const des::RankRule> inner_;
};

std::shared_ptr<const des::RuleRegistry> forwarding_registry() {
  auto reg = std::make_shared<des::RuleRegistry>();
  const des::RuleRegistry builtin;
  for (const std::string& n : builtin.names()) reg->add(std::make_shared<Forward>(builtin.find(n)));
  return reg;
}

// Runs `days` under the built-in and the forwarding registry; every output must agree.
void same_runs(const Model& m, des::Options opt, double days) {
  auto a = des::Simulation::create(m, opt).value();
  opt.rules = forwarding_registry();
  auto b = des::Simulation::create(m, opt).value();
  const SimTime end{round_ms(days * kMsPerDay)};
  a.run_until(end);
  b.run_until(end);
  REQUIRE(a.events() == b.events());
  REQUIRE(a.completed_lots().size() == b.completed_lots().size());
  CHECK(a.completed_lots().size() > 0);
  for (std::size_t i = 0; i < a.completed_lots().size(); ++i) {
    const auto& x = a.completed_lots()[i];
    const auto& y = b.completed_lots()[i];
    INFO(i);
    REQUIRE(x.key.source == y.key.source);
    REQUIRE(x.key.sequence == y.key.sequence);
    REQUIRE(x.completed == y.completed);
  }
  CHECK(a.save() == b.save());  // queues, tools, pending events: the whole state
}

}  // namespace

TEST_CASE("inline ranking of built-in rules equals ranking through RankRule::score (SMT2020 HVLM)",
          "[des][rules]") {
  const Model m = io::load_model(test::hvlm()).value();
  for (const char* rule : {"fifo", "cr", "edd", "spt"}) {
    INFO(rule);
    same_runs(m, des::Options{.seed = 3, .rule = rule}, 12);
  }
  // Per-group rules: lists ending in rank_HP or rank_RSETUP.
  same_runs(
      m,
      des::Options{.seed = 4,
                   .rule = "cr",
                   .group_rules = {{"Diffusion_FE_120", "rank_HP"}, {"LithoTrack_FE_95", "rank_RSETUP"}}},
      12);
}

TEST_CASE("inline ranking equals ranking through RankRule::score for uncommon rank lists", "[des][rules]") {
  // Lists the kernel has no compiled loop for rank through best_builtin (other orders, 4 keys), one
  // of nine keys through RankRule::score in both runs.
  ModelData d = io::load_model(test::hvlm()).value().data();
  const std::vector<std::vector<RankKey>> lists = {
      {RankKey::Fifo, RankKey::HighestPriority},
      {RankKey::LeastSetup, RankKey::CriticalRatio},
      {RankKey::EarliestDue, RankKey::LeastSetup, RankKey::HighestPriority, RankKey::Fifo},
      {RankKey::HighestPriority, RankKey::ShortestProcessing, RankKey::LeastSetup},
      {RankKey::CriticalRatio},
      {RankKey::HighestPriority, RankKey::LeastSetup, RankKey::CriticalRatio, RankKey::Fifo,
       RankKey::EarliestDue, RankKey::ShortestProcessing, RankKey::LeastSetup, RankKey::HighestPriority,
       RankKey::Fifo}};  // > 8: scored
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g) d.tool_groups[g].ranks = lists[g % lists.size()];
  auto built = Model::build(d);
  if (!built.ok()) FAIL(built.error().what());
  const Model m = built.value();
  same_runs(m, des::Options{.seed = 5}, 12);
}
