// fabtwin yield run --model PATH --days N --out DIR [--rule R] [--seed S] [--params FILE]
//                   [--plant TOOL=MULT] [--levels LIST] [--backend cpu|cuda] [--threads T] [--maps] [--json]
//                   [--quiet]
// Simulates the fab, computes every completed lot's wafer maps from its process history, and
// writes wafers.csv, tools.csv, commonality.csv and yield.json into DIR (with --maps also PNGs:
// stacked_<product>.png, suspect_<tool>.png for the top-ranked pair, worst_wafer.png). The figures
// come from the engine (fabtwin/yield_tracker/summary.hpp); this file parses and writes.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "fabtwin/compute/backend.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/yield/wafer_map.hpp"
#include "fabtwin/yield_tracker/summary.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"

namespace fabtwin::cli {

namespace json = fabtwin::io::json;
using namespace fabtwin::model;

namespace {

struct YieldRunOptions {
  std::string model;
  double days = 0;
  std::string out;
  std::string rule;
  std::uint64_t seed = 1;
  std::optional<std::string> params;
  std::optional<std::pair<std::string, double>> plant;  // TOOL, multiplier
  std::string backend = "cpu";
  unsigned threads = 0;
  bool json = false, quiet = false, maps = false;
  std::vector<yield::Level> levels{yield::Level::StepTool, yield::Level::Tool, yield::Level::ToolGroup};
};

// step_tool,tool,tool_group (any non-empty subset, comma-separated).
std::optional<std::vector<yield::Level>> parse_levels(const std::string& text) {
  std::vector<yield::Level> levels;
  std::size_t a = 0;
  while (a <= text.size()) {
    const std::size_t b = std::min(text.find(',', a), text.size());
    const auto l = yield::parse_level(std::string_view(text).substr(a, b - a));
    if (!l) return std::nullopt;
    if (std::find(levels.begin(), levels.end(), *l) == levels.end()) levels.push_back(*l);
    a = b + 1;
  }
  return levels;
}

// TOOL=MULT, MULT a number in [0, 1e6].
std::optional<std::pair<std::string, double>> parse_plant(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return std::nullopt;
  const auto mult = parse_real(std::string_view(text).substr(eq + 1));
  if (!mult || *mult < 0 || *mult > 1e6) return std::nullopt;
  return std::pair{text.substr(0, eq), *mult};
}

void write_wafers_csv(const std::filesystem::path& file, const yield::YieldTracker& tr,
                      const des::Simulation& sim) {
  const auto& d = tr.model().data();
  const yield::DefectModel& dm = tr.defects();
  io::CsvWriter f(file);
  f.field("lot")
      .field("wafer")
      .field("product")
      .field("priority")
      .field("released_day")
      .field("completed_day");
  f.field("dies").field("pass").field("die_yield");
  for (std::uint32_t b = 1; b < yield::kBinCount; ++b) f.field("bin" + std::to_string(b));
  for (std::uint32_t ar = 0; ar < dm.area_count(); ++ar) f.field("killed_" + dm.area_name(ar));
  f.end_row();
  for (const auto& w : tr.wafers()) {
    const auto& lot = tr.lots()[w.lot];
    f.field(sim.lot_name(lot.key))
        .field(w.slot + 1)
        .field(d.products[lot.product.index()].name)
        .field(lot.priority)
        .field(to_days(lot.released.time_since_epoch()))
        .field(to_days(lot.completed.time_since_epoch()))
        .field(w.summary.dies)
        .field(w.summary.pass)
        .field(w.summary.die_yield());
    for (std::uint32_t b = 1; b < yield::kBinCount; ++b) f.field(w.summary.bins[b]);
    for (std::uint32_t ar = 0; ar < dm.area_count(); ++ar) f.field(w.summary.killed_by_area[ar]);
    f.end_row();
  }
  f.close();
}

void write_tools_csv(const std::filesystem::path& file, const yield::YieldTracker& tr) {
  const auto& d = tr.model().data();
  io::CsvWriter f(file);
  f.row("tool", "tool_group", "area", "lots", "wafers", "mean_die_yield");
  for (const auto& t : yield::tool_yields(tr)) {
    const auto& tool = d.tools[t.tool.index()];
    const auto& g = d.tool_groups[tool.group.index()];
    f.row(tool.name, g.name, d.areas[g.area.index()].name, t.lots, t.wafers, t.mean_die_yield);
  }
  f.close();
}

void write_commonality_csv(const std::filesystem::path& file, const Model& m,
                           const std::vector<yield::CommonalityResult>& ranked) {
  io::CsvWriter f(file);
  f.row("rank", "level", "level_rank", "route", "step", "step_description", "tool", "tool_group", "lots_in",
        "lots_out", "wafers_in", "wafers_out", "yield_in", "yield_out", "difference", "effect", "statistic",
        "df1", "df2", "p", "p_adjusted", "significant");
  std::array<std::size_t, 3> level_rank{};
  for (std::size_t i = 0; i < ranked.size(); ++i) {
    const auto& p = ranked[i];
    f.field(i + 1).field(yield::to_string(p.level)).field(++level_rank[static_cast<std::size_t>(p.level)]);
    if (p.pair.step.valid()) {  // step_tool rows only
      const Step& st = m.step(p.pair.step);
      f.field(m.route(st.route).name).field(st.number).field(st.description);
    } else {
      f.field("").field("").field("");
    }
    f.field(m.tool(p.pair.tool).name).field(p.group.valid() ? m.tool_group(p.group).name : std::string());
    f.field(p.units_in).field(p.units_out).field(p.n_in).field(p.n_out);
    f.field(p.yield_in).field(p.yield_out).field(p.difference).field(p.effect);
    f.field(p.statistic).field(p.df1).field(p.df2).field(p.p).field(p.p_adjusted).field(p.significant);
    f.end_row();
  }
  f.close();
}

// Per product a stacked map of all its wafers; the wafers through the top suspect pair, stacked;
// the worst wafer. Returns the file names written.
std::vector<std::string> write_maps(const std::filesystem::path& out, const yield::YieldTracker& tr,
                                    const std::vector<yield::CommonalityResult>& ranked) {
  std::vector<std::string> pictures;
  if (tr.wafers().empty()) return pictures;
  const Model& m = tr.model();
  const auto& d = m.data();
  auto save = [&](const std::string& name, const yield::Image& img) {
    auto w = yield::write_png(out / name, img);
    if (!w.ok()) throw std::runtime_error(w.error().what());
    pictures.push_back(name);
  };
  // A product's stacked map and the suspect's (same product) share one colour scale, twice the
  // product's largest per-die fail rate, so the suspect's map reads against its product's.
  std::vector<double> scale(d.products.size(), 0.0);
  for (std::size_t p = 0; p < d.products.size(); ++p) {
    const auto rate = tr.stacked_fail_rate(ProductId{p}, [](std::size_t) { return true; });
    for (double r : rate) scale[p] = std::max(scale[p], 2 * r);
    if (!rate.empty())
      save("stacked_" + d.products[p].name + ".png",
           yield::render_stacked_map(tr.monte_carlo(ProductId{p}).grid(), rate, std::min(1.0, scale[p])));
  }
  if (!ranked.empty()) {
    const auto& top = ranked.front();
    const auto suspect = yield::suspect_lots(tr, top.pair);
    if (suspect.product.valid()) {
      const auto rate = tr.stacked_fail_rate(
          suspect.product, [&](std::size_t w) { return suspect.through[tr.wafers()[w].lot] != 0; });
      if (!rate.empty())
        save("suspect_" + m.tool(top.pair.tool).name + ".png",
             yield::render_stacked_map(tr.monte_carlo(suspect.product).grid(), rate,
                                       std::min(1.0, scale[suspect.product.index()])));
    }
  }
  if (const auto worst = yield::worst_wafer(tr)) {
    const auto& wl = tr.lots()[tr.wafers()[*worst].lot];
    save("worst_wafer.png", yield::render_wafer_map(tr.monte_carlo(wl.product).grid(), tr.wafer_map(*worst)));
  }
  return pictures;
}

int run(const YieldRunOptions& a) {
  const double days = a.days;
  const std::filesystem::path out = a.out;
  const std::filesystem::path params_path =
      a.params ? std::filesystem::path(*a.params) : io::require_data("yield_params.json");
  yield::TrackerOptions topt;
  topt.run.backend = *compute::parse_backend(a.backend);
  topt.run.threads = a.threads;
  if (topt.run.backend == yield::Backend::Cuda && !compute::cuda_available())
    throw UsageError("--backend cuda: no CUDA device is available");

  auto model = io::load_model(a.model);
  if (!model.ok()) throw std::runtime_error(model.error().what());
  const Model& m = model.value();
  auto params = yield::read_yield_params(params_path);
  if (!params.ok()) throw std::runtime_error(params.error().what());
  if (a.plant) {  // a tool adding MULT times its area's defects; replaces a fault of the parameters on it
    const auto& [tool, mult] = *a.plant;
    const auto& tools = m.data().tools;
    if (std::none_of(tools.begin(), tools.end(), [&](const Tool& t) { return t.name == tool; }))
      throw UsageError("--plant: the model has no tool '" + tool + "'");
    auto& faults = params->faults;
    std::erase_if(faults, [&](const yield::ToolFault& f) { return f.tool == tool; });
    yield::ToolFault f;
    f.tool = tool;
    f.density_multiplier = mult;
    faults.push_back(f);
  }
  // The arguments were checked: what is refused here is the model or the parameter file (exit 1).
  auto tracker = yield::YieldTracker::make(m, params.value(), topt);
  if (!tracker.ok()) throw std::runtime_error(tracker.error().what());
  des::Options dopt;
  dopt.seed = a.seed;
  dopt.rule = a.rule;
  auto sim = des::Simulation::create(m, dopt);
  if (!sim.ok()) throw std::runtime_error(sim.error().what());
  yield::YieldTracker& tr = *tracker.value();
  sim->add_observer(&tr);

  const auto t0 = std::chrono::steady_clock::now();
  const bool progress = !a.quiet && isatty(STDERR_FILENO);
  const SimTime end{round_ms(days * kMsPerDay)};
  for (SimTime t = sim->now(); t < end;) {
    t = std::min(end, t + round_ms(kMsPerDay));
    sim->run_until(t);
    if (progress)
      std::fprintf(stderr, "\rday %6.1f / %g  %zu lots  %zu wafers", to_days(t.time_since_epoch()), days,
                   tr.lots().size(), tr.wafers().size());
  }
  tr.flush();
  if (progress) std::fputc('\n', stderr);
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  yield::CommonalityOptions copt;
  copt.levels = a.levels;
  const auto tc = std::chrono::steady_clock::now();
  const auto ranked = yield::commonality(tr.records(), copt);
  const double commonality_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - tc).count();

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw io::OutputError(out, ec.message());
  write_wafers_csv(out / "wafers.csv", tr, sim.value());
  write_tools_csv(out / "tools.csv", tr);
  write_commonality_csv(out / "commonality.csv", m, ranked);
  const std::vector<std::string> pictures = a.maps ? write_maps(out, tr, ranked) : std::vector<std::string>{};

  // Summary.
  const yield::YieldTotals totals = yield::yield_totals(tr);
  const auto tests = yield::tests_per_level(ranked);
  std::array<std::size_t, 3> significant{};
  for (const auto& p : ranked) significant[static_cast<std::size_t>(p.level)] += p.significant;
  const double dies_per_second = tr.monte_carlo_seconds() > 0 ? totals.dies / tr.monte_carlo_seconds() : 0.0;
  json::Value o = json::Value::object();
  o.add("model", m.name());
  o.add("days", days);
  o.add("lots", tr.lots().size());
  o.add("wafers", tr.wafers().size());
  o.add("dies", static_cast<double>(totals.dies));
  o.add("die_yield", totals.die_yield());
  json::Value prods = json::Value::object();
  for (const auto& p : totals.products) {
    json::Value po = json::Value::object();
    po.add("dies_per_wafer", tr.monte_carlo(p.product).grid().size());
    po.add("die_yield", p.die_yield());
    prods.add(m.product(p.product).name, std::move(po));
  }
  o.add("products", std::move(prods));
  json::Value sus = json::Value::array();
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    const auto& p = ranked[i];
    json::Value so = json::Value::object();
    so.add("level", std::string(yield::to_string(p.level)));
    so.add("tool", m.tool(p.pair.tool).name);
    if (p.group.valid()) so.add("tool_group", m.tool_group(p.group).name);
    if (p.pair.step.valid()) {
      so.add("step", m.step(p.pair.step).number);
      so.add("route", m.route(m.step(p.pair.step).route).name);
    }
    so.add("difference", p.difference);
    so.add("effect", p.effect);
    so.add("p_adjusted", p.p_adjusted);
    so.add("significant", p.significant);
    sus.push_back(std::move(so));
  }
  o.add("pairs_tested", tests[0]);  // step_tool level
  o.add("pairs_significant", significant[0]);
  json::Value by_level = json::Value::object();
  for (const auto l : a.levels) {
    json::Value lo = json::Value::object();
    lo.add("tested", tests[static_cast<std::size_t>(l)]);
    lo.add("significant", significant[static_cast<std::size_t>(l)]);
    by_level.add(std::string(yield::to_string(l)), std::move(lo));
  }
  o.add("levels", std::move(by_level));
  o.add("top_suspects", std::move(sus));
  json::Value pics = json::Value::array();
  for (const auto& p : pictures) pics.push_back(p);
  o.add("pictures", std::move(pics));
  o.add("backend", a.backend);
  o.add("monte_carlo_seconds", tr.monte_carlo_seconds());
  o.add("dies_per_second", dies_per_second);
  o.add("wall_seconds", wall);
  o.add("commonality_seconds", commonality_seconds);
  const std::string text = json::write(o);
  {
    io::OutputFile f(out / "yield.json");
    f.write(text);
    f.write("\n");
    f.close();
  }
  if (a.json) {
    std::printf("%s\n", text.c_str());
    return 0;
  }
  std::printf(
      "%s: %g days, %zu lots, %zu wafers, die yield %.4f; Monte Carlo %.2f s (%.3g dies/s); %.1f s wall\n",
      m.name().c_str(), days, tr.lots().size(), tr.wafers().size(), totals.die_yield(),
      tr.monte_carlo_seconds(), dies_per_second, wall);
  std::printf("commonality (%.2f s):", commonality_seconds);
  for (const auto l : a.levels)
    std::printf(" %s %zu tested, %zu significant;", std::string(yield::to_string(l)).c_str(),
                tests[static_cast<std::size_t>(l)], significant[static_cast<std::size_t>(l)]);
  std::printf("\n");
  for (std::size_t i = 0; i < ranked.size() && i < 5; ++i) {
    const auto& p = ranked[i];
    std::string where = p.group.valid() ? m.tool_group(p.group).name : std::string();
    if (p.pair.step.valid())
      where = "step " + std::to_string(m.step(p.pair.step).number) + " " + m.step(p.pair.step).description;
    std::printf("  %zu. %-10s %-18s %-28s yield %.4f vs %.4f  p_adj %.3g%s\n", i + 1,
                std::string(yield::to_string(p.level)).c_str(), m.tool(p.pair.tool).name.c_str(),
                where.c_str(), p.yield_in, p.yield_out, p.p_adjusted, p.significant ? "  *" : "");
  }
  std::printf("wrote %s/{wafers.csv,tools.csv,commonality.csv,yield.json}\n", out.string().c_str());
  return 0;
}

}  // namespace

void add_yield_run_command(CLI::App& yield, Commands& out) {
  auto o = std::make_shared<YieldRunOptions>();
  CLI::App* c = add_command(
      yield, "run",
      "Simulate the fab and give every completed lot's wafers die maps from its process history",
      "Writes wafers.csv, tools.csv, commonality.csv (ranked tests: (step, tool) pairs, tools, tool\n"
      "groups) and yield.json into\n"
      "DIR; with --maps also stacked_<product>.png, suspect_<tool>.png and worst_wafer.png.");
  required(
      c->add_option("--model", o->model, "a native JSON model file or an SMT2020 folder")->type_name("PATH"));
  required(add_real(*c, "--days", o->days, "simulated days", 0, kInf, true));
  required(c->add_option("--out", o->out, "folder for the outputs")->type_name("DIR"));
  c->add_option("--rule", o->rule,
                "base dispatch rule: fifo, cr, edd, spt or a rank_ name (default: the model's own lists)")
      ->check(dispatch_rule())
      ->type_name("RULE");
  add_whole(*c, "--seed", o->seed, "random seed of the simulation", 0);
  c->add_option_function<std::string>(
       "--params", [o](const std::string& p) { o->params = p; },
       "yield parameters (default: yield_params.json in the data folder, see the user guide)")
      ->type_name("FILE");
  c->add_option_function<std::string>(
       "--plant", [o](const std::string& p) { o->plant = parse_plant(p); },
       "plant a bad tool adding MULT times its area's defects (MULT in [0, 1e6]); replaces a fault of the "
       "parameters on that tool")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_plant(text) ? "" : "'" + text + "' is not TOOL=MULT with MULT a number in [0, 1e6]";
          },
          ""))
      ->type_name("TOOL=MULT");
  c->add_option("--backend", o->backend, "where the Monte Carlo runs: cpu or cuda")
      ->check(backend_name())
      ->type_name("cpu|cuda")
      ->capture_default_str();
  add_whole(*c, "--threads", o->threads, "CPU threads of the Monte Carlo; 0: all cores", 0, 4096);
  c->add_option_function<std::string>(
       "--levels", [o](const std::string& text) { o->levels = *parse_levels(text); },
       "commonality levels, comma-separated: step_tool, tool, tool_group (default: all three)")
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            return parse_levels(text)
                       ? ""
                       : "'" + text + "' is not a comma-separated list of step_tool, tool, tool_group";
          },
          ""))
      ->type_name("LIST");
  c->add_flag("--maps", o->maps, "also write the PNG maps (per product, top suspect, worst wafer)");
  c->add_flag("--json", o->json, "print the summary (yield.json) as JSON");
  c->add_flag("--quiet", o->quiet, "no progress line");
  out.push_back({c, [o] { return run(*o); }});
}

}  // namespace fabtwin::cli
