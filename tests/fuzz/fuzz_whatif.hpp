#pragma once
// The what-if spec reader (whatif::parse_spec) with arbitrary text, and for a spec that reads and
// whose base is the mini-fab model itself, the batch loader (load_batch: each delta's and group's
// meaning for the model) and the screening design. Beyond not crashing: an error names the spec
// file and says what; a spec that reads keeps the reader's promises (spec.hpp); a design's points
// lie in their factors' ranges. Aborts otherwise. Shared by fuzz_whatif.cpp and the corpus test
// (tests/whatif/test_fuzz_whatif.cpp). Other files a spec names are not read: its paths are
// arbitrary here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <string>

#include "fabtwin/whatif/screen.hpp"
#include "fabtwin/whatif/spec.hpp"
#include "fuzz_check.hpp"

namespace fabtwin::fuzz {

// The folder spec paths resolve against (FABTWIN_FUZZ_WHATIF_DIR: twin_models/whatif).
inline const std::filesystem::path& whatif_dir() {
  static const std::filesystem::path dir(FABTWIN_FUZZ_WHATIF_DIR);
  return dir;
}

[[noreturn]] inline void whatif_broken(const char* what) {
  std::fprintf(stderr, "what-if spec: %s\n", what);
  std::abort();
}

inline void check_spec(const whatif::Spec& s) {
  if (s.file != "spec.json") whatif_broken("the spec does not keep its file label");
  if (!(s.horizon_days > 0)) whatif_broken("a horizon that is not positive");
  if (!(s.warmup_days >= 0)) whatif_broken("a negative warm-up");
  if (s.replications < 2) whatif_broken("fewer than two replications");
  if (s.metrics.empty()) whatif_broken("no metrics");
  if (std::set<whatif::Metric>(s.metrics.begin(), s.metrics.end()).size() != s.metrics.size())
    whatif_broken("a metric twice");
  for (std::size_t i = 0; i < s.percentiles.size(); ++i)
    if (!(s.percentiles[i] > 0 && s.percentiles[i] <= 100) ||
        (i > 0 && !(s.percentiles[i - 1] < s.percentiles[i])))
      whatif_broken("percentiles out of (0, 100] or not ascending");
  if (s.scenario_lines.size() != s.scenarios.size()) whatif_broken("a scenario without its line");
  std::set<std::string> names;
  for (const auto& sc : s.scenarios)
    if (sc.name.empty() || sc.name == "base" || !names.insert(sc.name).second)
      whatif_broken("a scenario name empty, 'base' or given twice");
  if (s.live + !s.checkpoint.empty() + !s.model.empty() == 0) whatif_broken("no base");
  const whatif::ScreenSpec& sc = s.screen;
  if (!sc.given) return;
  if (sc.factors.empty()) whatif_broken("a screen without factors");
  for (const whatif::Factor& f : sc.factors) {
    if (!(f.min <= f.max)) whatif_broken("a factor's min above its max");
    if (f.discrete() && (f.levels.empty() || !std::is_sorted(f.levels.begin(), f.levels.end())))
      whatif_broken("tool counts empty or not ascending");
    if (!(f.unit_cost >= 0)) whatif_broken("a negative unit cost");
    if (f.kind == whatif::Factor::Kind::Rule) {
      if (f.rules.size() != f.levels.size()) whatif_broken("a rule factor without a rule per level");
      for (std::size_t k = 0; k < f.rules.size(); ++k)
        if (!f.rules[k].starts_with("rank_") || f.levels[k] != static_cast<double>(k) ||
            std::count(f.rules.begin(), f.rules.end(), f.rules[k]) != 1)
          whatif_broken("a rule level not a registry name, out of order or given twice");
    } else if (!f.rules.empty()) {
      whatif_broken("rules on a factor that is not a rule");
    }
  }
  if (sc.budget && !sc.costed) whatif_broken("a budget without costs");
  if (sc.confirm_efficient && !sc.costed) whatif_broken("efficient points confirmed without costs");
  if (sc.confirm < 1) whatif_broken("nothing to confirm");
}

inline void check_design(const whatif::ScreenSpec& sc) {
  double n = 1;
  for (const whatif::Factor& f : sc.factors)
    n *= f.discrete() ? static_cast<double>(f.levels.size()) : sc.levels;
  if (sc.lhs) n = sc.samples;
  if (n > 20000) return;  // valid, but slow to enumerate here
  const auto d = whatif::make_design(sc);
  if (d.size() != static_cast<std::size_t>(n)) whatif_broken("the design has another number of points");
  for (const auto& p : d) {
    if (p.size() != sc.factors.size()) whatif_broken("a point without a value per factor");
    for (std::size_t k = 0; k < p.size(); ++k) {
      const whatif::Factor& f = sc.factors[k];
      if (f.discrete() ? std::find(f.levels.begin(), f.levels.end(), p[k]) == f.levels.end()
                       : !(p[k] >= f.min && p[k] <= f.max))
        whatif_broken("a point outside its factor's levels or range");
    }
  }
}

inline void whatif_one(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto r = whatif::parse_spec(text, "spec.json", whatif_dir());
  if (!r.ok()) {
    if (r.error().file != "spec.json") whatif_broken("an error that does not name the spec file");
    check_error(r.error());
    return;
  }
  check_spec(r.value());
  if (r->screen.given) check_design(r->screen);
  // The batch: only on the mini-fab model (a spec's other paths are arbitrary here).
  const auto minifab = (whatif_dir() / ".." / "minifab.json").lexically_normal();
  if (r->live || !r->checkpoint.empty() || r->model.lexically_normal() != minifab) return;
  const std::size_t nscen = r->scenarios.size();
  auto b = whatif::load_batch(std::move(r.value()));
  if (!b.ok()) {
    if (b.error().file != "spec.json") whatif_broken("a batch error that does not name the spec file");
    check_error(b.error());
    return;
  }
  if (b->scenarios.size() != nscen + 1 || b->scenarios.front().name != "base")
    whatif_broken("the batch is not the base and one entry per scenario");
  for (const auto& e : b->scenarios)
    if (e.model.tool_groups().empty()) whatif_broken("a batch entry without a model");
}

}  // namespace fabtwin::fuzz
