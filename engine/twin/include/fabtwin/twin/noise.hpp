#pragma once
// A fab deviates from its model: `perturb` draws, per tool group, a processing-time factor and a
// mean-time-to-failure factor, each log-uniform in [1/(1+F), 1+F], deterministic from the seed
// and the group's name, and applies them as scenario deltas (des::apply_scenario: every step's
// processing time on the group, the group's MTTF; other groups unchanged even where they share a
// calendar). Names of tools, steps, products and setups are kept, so events of the perturbed fab
// name the original model's entities.
#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/des/scenario.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"

namespace fabtwin::twin {

struct GroupNoise {
  std::string group;
  double process_factor = 1;
  double mttf_factor = 1;  // 1 where the group has no down calendar
};

struct Perturbed {
  des::ScenarioModel model;         // the perturbed model and options
  std::vector<GroupNoise> factors;  // per tool group, model order
};

// The factor for (seed, key) in [1/(1+F), 1+F]; F = 0 gives 1.
double noise_factor(double noise, std::uint64_t seed, std::string_view key);

// Fails (an Error naming "noise") if noise < 0 or not finite; noise = 0 returns the model unchanged.
model::Result<Perturbed> perturb(const model::Model& m, const des::Options& options, double noise,
                                 std::uint64_t seed);

}  // namespace fabtwin::twin
