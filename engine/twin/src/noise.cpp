// A perturbed copy of a model: the fab deviates from its model (noise.hpp).
#include "fabtwin/twin/noise.hpp"

#include <cmath>

namespace fabtwin::twin {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

double noise_factor(double noise, std::uint64_t seed, std::string_view key) {
  if (noise <= 0) return 1;
  std::uint64_t h = 0xcbf29ce484222325ull;  // FNV-1a of the key
  for (const char c : key) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ull;
  const double u = static_cast<double>(splitmix64(splitmix64(seed) ^ h) >> 11) * 0x1.0p-53;  // [0, 1)
  return std::exp((2 * u - 1) * std::log1p(noise));  // log-uniform in [1/(1+F), 1+F]
}

model::Result<Perturbed> perturb(const model::Model& m, const des::Options& options, double noise,
                                 std::uint64_t seed) {
  if (!std::isfinite(noise) || noise < 0)
    return model::Error{"", 0, "noise", "the noise factor must be finite and >= 0"};
  Perturbed p{des::ScenarioModel{m, options}, {}};
  if (noise == 0) return p;
  const auto& d = m.data();
  std::vector<bool> has_steps(d.tool_groups.size()), has_downs(d.tool_groups.size());
  for (const auto& s : d.steps) has_steps[s.tool_group.index()] = true;
  for (const auto& a : d.attachments) {
    if (a.is_pm) continue;
    for (std::size_t g = 0; g < d.tool_groups.size(); ++g)
      if (a.target_kind == model::AttachTarget::ToolGroup ? a.target == g
                                                          : a.target == d.tool_groups[g].area.value)
        has_downs[g] = true;
  }
  des::Scenario s{.name = "noise", .file = "", .deltas = {}};
  for (std::size_t g = 0; g < d.tool_groups.size(); ++g) {
    const std::string& name = d.tool_groups[g].name;
    GroupNoise f{name, 1, 1};
    if (has_steps[g]) {
      f.process_factor = noise_factor(noise, seed, "process:" + name);
      s.deltas.push_back({des::ProcessTimeDelta{
          .group = name, .route = "", .step = std::nullopt, .factor = f.process_factor}});
    }
    if (has_downs[g]) {
      f.mttf_factor = noise_factor(noise, seed, "mttf:" + name);
      s.deltas.push_back({des::AvailabilityDelta{.group = name, .mttf_factor = f.mttf_factor}});
    }
    p.factors.push_back(std::move(f));
  }
  auto r = des::apply_scenario(m, options, s, options.rules ? *options.rules : des::RuleRegistry{});
  if (!r.ok()) return r.error();
  p.model = std::move(r.value());
  return p;
}

}  // namespace fabtwin::twin
