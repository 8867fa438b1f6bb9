// fabtwin yield power --model PATH --days N --tools A,B,C [--multipliers 2,3,5,...] [--seeds 1,2,3]
//                     [--rule R] [--params FILE] [--threads T] [--out FILE.csv] [--json]
// The power of the commonality analysis: for each tool, the smallest planted density multiplier at
// which each level (step_tool, tool, tool_group) finds it. Per seed the fab is simulated once; a
// lot's process history does not depend on the yield parameters, so every (tool, multiplier) only
// redoes the yield part (YieldTracker::records_under: the Monte Carlo, then commonality()).
// "Found" at a level: the level's top-ranked test is the planted tool (tool_group: its group) and
// it is significant after the level's Holm correction (the analyst's first suspect is right). The
// multiplier reported per seed is the smallest rung from which every larger rung finds it.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"

namespace fabtwin::cli {

namespace json = fabtwin::io::json;
using namespace fabtwin::model;

namespace {

constexpr std::array kLevels{yield::Level::StepTool, yield::Level::Tool, yield::Level::ToolGroup};

struct PowerOptions {
  std::string model;
  double days = 0;
  std::vector<std::string> tools;
  std::vector<double> multipliers{2, 3, 5, 7, 10, 15, 20, 30};
  std::vector<std::uint64_t> seeds{1};
  std::string rule;
  std::optional<std::string> params;
  unsigned threads = 0;
  std::optional<std::string> out;
  bool json = false;
};

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t a = 0;
  while (a <= text.size()) {
    const std::size_t b = std::min(text.find(',', a), text.size());
    parts.push_back(text.substr(a, b - a));
    a = b + 1;
  }
  return parts;
}

// Increasing multipliers in (0, 1e6].
std::optional<std::vector<double>> parse_multipliers(const std::string& text) {
  std::vector<double> v;
  for (const auto& p : split(text)) {
    const auto x = parse_real(p);
    if (!x || *x <= 0 || *x > 1e6 || (!v.empty() && *x <= v.back())) return std::nullopt;
    v.push_back(*x);
  }
  return v;
}

std::optional<std::vector<std::uint64_t>> parse_seeds(const std::string& text) {
  std::vector<std::uint64_t> v;
  for (const auto& p : split(text)) {
    const auto x = parse_whole(p);
    if (!x || *x < 0 || std::find(v.begin(), v.end(), static_cast<std::uint64_t>(*x)) != v.end())
      return std::nullopt;
    v.push_back(static_cast<std::uint64_t>(*x));
  }
  return v;
}

std::optional<std::vector<std::string>> parse_tools(const std::string& text) {
  auto v = split(text);
  for (const auto& t : v)
    if (t.empty()) return std::nullopt;
  return v;
}

// How a level saw the planted tool in one run.
struct Seen {
  std::size_t rank = 0;  // 1-based rank of its best test in the level; 0: not tested
  double p_adjusted = 1;
  bool significant = false;
  bool found() const { return rank == 1 && significant; }
};

std::array<Seen, 3> evaluate(const std::vector<yield::CommonalityResult>& ranked, ToolId tool,
                             ToolGroupId group) {
  std::array<Seen, 3> seen{};
  std::array<std::size_t, 3> rank{};
  for (const auto& r : ranked) {
    const auto l = static_cast<std::size_t>(r.level);
    ++rank[l];
    const bool mine = r.level == yield::Level::ToolGroup ? r.group == group : r.pair.tool == tool;
    if (mine && seen[l].rank == 0) seen[l] = Seen{rank[l], r.p_adjusted, r.significant};
  }
  return seen;
}

int run(const PowerOptions& a) {
  const auto t0 = std::chrono::steady_clock::now();
  auto model = io::load_model(a.model);
  if (!model.ok()) throw std::runtime_error(model.error().what());
  const Model& m = model.value();
  std::vector<ToolId> tools;
  for (const auto& name : a.tools) {
    const auto& all = m.data().tools;
    const auto it = std::find_if(all.begin(), all.end(), [&](const Tool& t) { return t.name == name; });
    if (it == all.end()) throw UsageError("--tools: the model has no tool '" + name + "'");
    tools.push_back(ToolId{static_cast<std::size_t>(it - all.begin())});
  }
  const auto params_path =
      a.params ? std::filesystem::path(*a.params) : io::require_data("yield_params.json");
  auto params = yield::read_yield_params(params_path);
  if (!params.ok()) throw std::runtime_error(params.error().what());
  yield::TrackerOptions topt;
  topt.run.threads = a.threads;
  topt.keep_histories = true;
  yield::CommonalityOptions copt;
  copt.levels.assign(kLevels.begin(), kLevels.end());

  // found[tool][level][seed]: smallest rung from which every larger rung finds the tool (0: none).
  std::vector<std::array<std::vector<double>, 3>> found(tools.size());
  for (auto& f : found)
    for (auto& l : f) l.assign(a.seeds.size(), 0.0);
  std::optional<io::CsvWriter> csv;
  if (a.out) {
    csv.emplace(*a.out);
    csv->row("seed", "tool", "tool_group", "multiplier", "level", "rank", "p_adjusted", "significant",
             "found");
  }
  json::Value runs = json::Value::array();
  double sim_seconds = 0, yield_seconds = 0;
  std::size_t lots = 0, wafers = 0;
  for (std::size_t si = 0; si < a.seeds.size(); ++si) {
    const auto ts = std::chrono::steady_clock::now();
    auto tracker = yield::YieldTracker::make(m, params.value(), topt);
    if (!tracker.ok()) throw std::runtime_error(tracker.error().what());
    des::Options dopt;
    dopt.seed = a.seeds[si];
    dopt.rule = a.rule;
    auto sim = des::Simulation::create(m, dopt);
    if (!sim.ok()) throw std::runtime_error(sim.error().what());
    yield::YieldTracker& tr = *tracker.value();
    sim->add_observer(&tr);
    sim->run_until(SimTime{round_ms(a.days * kMsPerDay)});
    tr.flush();
    lots = tr.lots().size();
    wafers = tr.wafers().size();
    const auto ty = std::chrono::steady_clock::now();
    sim_seconds += std::chrono::duration<double>(ty - ts).count();
    for (std::size_t ti = 0; ti < tools.size(); ++ti) {
      const ToolId tool = tools[ti];
      const ToolGroupId group = m.tool(tool).group;
      std::array<std::vector<bool>, 3> hit;
      for (const double mult : a.multipliers) {
        auto p = params.value();
        std::erase_if(p.faults, [&](const yield::ToolFault& f) { return f.tool == m.tool(tool).name; });
        yield::ToolFault f;
        f.tool = m.tool(tool).name;
        f.density_multiplier = mult;
        p.faults.push_back(f);
        auto rec = tr.records_under(p);
        if (!rec.ok()) throw std::runtime_error(rec.error().what());
        const auto seen = evaluate(yield::commonality(rec.value(), copt), tool, group);
        json::Value ro = json::Value::object();
        ro.add("seed", a.seeds[si]);
        ro.add("tool", m.tool(tool).name);
        ro.add("multiplier", mult);
        for (const auto l : kLevels) {
          const Seen& s = seen[static_cast<std::size_t>(l)];
          hit[static_cast<std::size_t>(l)].push_back(s.found());
          if (csv)
            csv->row(a.seeds[si], m.tool(tool).name, m.tool_group(group).name, mult, yield::to_string(l),
                     s.rank, s.p_adjusted, s.significant, s.found());
          json::Value lo = json::Value::object();
          lo.add("rank", s.rank);
          lo.add("p_adjusted", s.p_adjusted);
          lo.add("significant", s.significant);
          ro.add(std::string(yield::to_string(l)), std::move(lo));
        }
        runs.push_back(std::move(ro));
        if (!a.json) {
          std::printf("seed %llu %-20s x%-6g", static_cast<unsigned long long>(a.seeds[si]),
                      m.tool(tool).name.c_str(), mult);
          for (const auto l : kLevels) {
            const Seen& s = seen[static_cast<std::size_t>(l)];
            std::printf("  %s rank %zu p_adj %.2g%s", std::string(yield::to_string(l)).c_str(), s.rank,
                        s.p_adjusted, s.found() ? " FOUND" : "");
          }
          std::printf("\n");
          std::fflush(stdout);
        }
      }
      for (std::size_t l = 0; l < 3; ++l) {
        double from = 0;
        for (std::size_t k = a.multipliers.size(); k-- > 0 && hit[l][k];) from = a.multipliers[k];
        found[ti][l][si] = from;
      }
    }
    yield_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - ty).count();
  }
  if (csv) csv->close();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  // Summary: per tool and level, the smallest multiplier found in every seed (0: none on the ladder).
  auto all_seeds = [](const std::vector<double>& per_seed) {
    double worst = 0;
    for (double x : per_seed) {
      if (x == 0) return 0.0;
      worst = std::max(worst, x);
    }
    return worst;
  };
  json::Value o = json::Value::object();
  o.add("model", m.name());
  o.add("days", a.days);
  json::Value seeds = json::Value::array();
  for (auto s : a.seeds) seeds.push_back(s);
  o.add("seeds", std::move(seeds));
  json::Value mults = json::Value::array();
  for (auto x : a.multipliers) mults.push_back(x);
  o.add("multipliers", std::move(mults));
  o.add("lots", lots);
  o.add("wafers", wafers);
  json::Value tj = json::Value::array();
  for (std::size_t ti = 0; ti < tools.size(); ++ti) {
    const Tool& tool = m.tool(tools[ti]);
    const auto& g = m.tool_group(tool.group);
    json::Value to = json::Value::object();
    to.add("tool", tool.name);
    to.add("tool_group", g.name);
    to.add("area", m.data().areas[g.area.index()].name);
    to.add("group_tools", g.tool_count);
    for (const auto l : kLevels) {
      json::Value lo = json::Value::object();
      const auto& per = found[ti][static_cast<std::size_t>(l)];
      json::Value ps = json::Value::array();
      for (double x : per) ps.push_back(x);
      lo.add("per_seed", std::move(ps));
      lo.add("all_seeds", all_seeds(per));
      to.add(std::string(yield::to_string(l)), std::move(lo));
    }
    tj.push_back(std::move(to));
  }
  o.add("tools", std::move(tj));
  o.add("simulate_seconds", sim_seconds);
  o.add("yield_seconds", yield_seconds);
  o.add("wall_seconds", wall);
  if (a.json) {
    o.add("runs", std::move(runs));
    std::printf("%s\n", json::write(o).c_str());
    return 0;
  }
  std::printf("\n%s, %g days, %zu lots (last seed), seeds", m.name().c_str(), a.days, lots);
  for (auto s : a.seeds) std::printf(" %llu", static_cast<unsigned long long>(s));
  std::printf(
      ": smallest multiplier from which the level finds the tool (every seed; per seed); '-': none\n");
  std::printf("%-22s %-20s %-12s %-18s %-18s %-18s\n", "tool", "tool_group", "area", "step_tool", "tool",
              "tool_group");
  for (std::size_t ti = 0; ti < tools.size(); ++ti) {
    const Tool& tool = m.tool(tools[ti]);
    const auto& g = m.tool_group(tool.group);
    std::printf("%-22s %-20s %-12s", tool.name.c_str(), g.name.c_str(),
                m.data().areas[g.area.index()].name.c_str());
    for (const auto l : kLevels) {
      const auto& per = found[ti][static_cast<std::size_t>(l)];
      auto text = [](double x) {
        char b[32];
        std::snprintf(b, sizeof b, "%g", x);
        return x == 0 ? std::string("-") : std::string(b);
      };
      std::string cell = text(all_seeds(per)) + " (";
      for (std::size_t i = 0; i < per.size(); ++i) cell += (i ? "," : "") + text(per[i]);
      cell += ")";
      std::printf(" %-18s", cell.c_str());
    }
    std::printf("\n");
  }
  std::printf("simulation %.1f s, yield + commonality %.1f s, %.1f s wall\n", sim_seconds, yield_seconds,
              wall);
  return 0;
}

}  // namespace

void add_yield_power_command(CLI::App& yield, Commands& out) {
  auto o = std::make_shared<PowerOptions>();
  CLI::App* c = add_command(
      yield, "power",
      "The power of commonality analysis: the smallest planted multiplier each level finds, per tool",
      "Per seed the fab is simulated once; each (tool, multiplier) redoes only the yield part with the\n"
      "tool adding MULT times its area's defects. Found: the level's top-ranked test is the tool (its\n"
      "group at tool_group level) and significant after the level's Holm correction.");
  required(
      c->add_option("--model", o->model, "a native JSON model file or an SMT2020 folder")->type_name("PATH"));
  required(add_real(*c, "--days", o->days, "simulated days", 0, kInf, true));
  required(c->add_option_function<std::string>(
                "--tools", [o](const std::string& t) { o->tools = *parse_tools(t); },
                "the tools to plant, one at a time, comma-separated")
               ->check(CLI::Validator(
                   [](std::string& text) -> std::string {
                     return parse_tools(text) ? ""
                                              : "'" + text + "' is not a comma-separated list of tool names";
                   },
                   ""))
               ->type_name("LIST"));
  c->add_option_function<std::string>(
       "--multipliers", [o](const std::string& t) { o->multipliers = *parse_multipliers(t); },
       "the ladder of density multipliers, increasing, each in (0, 1e6] (default 2,3,5,7,10,15,20,30)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_multipliers(text)
                       ? ""
                       : "'" + text + "' is not an increasing list of numbers in (0, 1e6]";
          },
          ""))
      ->type_name("LIST");
  c->add_option_function<std::string>(
       "--seeds", [o](const std::string& t) { o->seeds = *parse_seeds(t); },
       "simulation seeds, comma-separated, distinct (default 1)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_seeds(text) ? "" : "'" + text + "' is not a list of distinct whole numbers >= 0";
          },
          ""))
      ->type_name("LIST");
  c->add_option("--rule", o->rule,
                "base dispatch rule: fifo, cr, edd, spt or a rank_ name (default: the model's own lists)")
      ->check(dispatch_rule())
      ->type_name("RULE");
  c->add_option_function<std::string>(
       "--params", [o](const std::string& p) { o->params = p; },
       "yield parameters (default: yield_params.json in the data folder); a fault they plant on a tool is\n"
       "replaced while that tool is planted")
      ->type_name("FILE");
  add_whole(*c, "--threads", o->threads, "CPU threads of the Monte Carlo; 0: all cores", 0, 4096);
  c->add_option_function<std::string>(
       "--out", [o](const std::string& p) { o->out = p; },
       "also write every run (seed, tool, multiplier, level, rank, p_adjusted, significant, found) as CSV")
      ->type_name("FILE.csv");
  c->add_flag("--json", o->json, "print the summary and every run as JSON");
  out.push_back({c, [o] { return run(*o); }});
}

}  // namespace fabtwin::cli
