// fabtwin yield run --model PATH --days N [--rule R] [--seed S] [--params FILE] [--plant TOOL=MULT]
//                   [--backend cpu|cuda] [--threads T] --out DIR [--maps] [--json]
// Simulates the fab, computes every completed lot's wafer maps from its process history, and
// writes wafers.csv, tools.csv, commonality.csv and yield.json into DIR (with --maps also PNGs:
// stacked_<product>.png, suspect_<tool>.png for the top-ranked pair, worst_wafer.png).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "args.hpp"
#include "commands.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/yield/tracker.hpp"
#include "fabtwin/yield/wafer_map.hpp"

namespace fabtwin::cli {

namespace json = fabtwin::io::json;
using namespace fabtwin::model;

namespace {

std::ofstream open_out(const std::filesystem::path& p) {
  std::ofstream f(p, std::ios::binary);
  if (!f) throw std::runtime_error(p.string() + ": cannot open for writing");
  return f;
}
std::string num(double v) { return json::format_number(v); }

}  // namespace

int cmd_yield_run(int argc, char** argv) {
  const Args a(argc, argv, 2,
               {"--model", "--days", "--rule", "--seed", "--params", "--plant", "--backend", "--threads", "--out"},
               {"--json", "--quiet", "--maps"});
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  const std::string path = a.require("--model");
  const double days = a.number("--days", -1);
  if (!(days > 0)) throw UsageError("--days must be a positive number of days");
  const std::filesystem::path out = a.require("--out");
  const std::filesystem::path params_path =
      a.get("--params") ? std::filesystem::path(*a.get("--params")) : io::require_data("yield_params.json");
  yield::TrackerOptions topt;
  const std::string backend = a.get("--backend").value_or("cpu");
  if (backend == "cuda") topt.run.backend = yield::Backend::Cuda;
  else if (backend != "cpu") throw UsageError("--backend must be cpu or cuda");
  topt.run.threads = static_cast<unsigned>(a.integer("--threads", 0, 0));

  auto model = io::load_model(path);
  if (!model.ok()) throw std::runtime_error(model.error().what());
  auto params = yield::read_yield_params(params_path);
  if (!params.ok()) throw std::runtime_error(params.error().what());
  if (auto plant = a.get("--plant")) {  // TOOL=MULT: a tool adding MULT times its area's defects
    const auto eq = plant->find('=');
    if (eq == std::string::npos) throw UsageError("--plant needs TOOL=MULTIPLIER");
    yield::ToolFault f;
    f.tool = plant->substr(0, eq);
    try {
      f.density_multiplier = std::stod(plant->substr(eq + 1));
    } catch (...) {
      throw UsageError("--plant: '" + plant->substr(eq + 1) + "' is not a number");
    }
    params->faults.push_back(f);
  }
  auto tracker = yield::YieldTracker::make(model.value(), params.value(), topt);
  if (!tracker.ok()) throw UsageError(tracker.error().what());
  des::Options dopt;
  dopt.seed = static_cast<std::uint64_t>(a.integer("--seed", 1, 0));
  dopt.rule = a.get("--rule").value_or("");
  auto sim = des::Simulation::create(model.value(), dopt);
  if (!sim.ok()) throw UsageError(sim.error().what());
  yield::YieldTracker& tr = *tracker.value();
  sim->add_observer(&tr);

  const auto t0 = std::chrono::steady_clock::now();
  const bool progress = !a.flag("--quiet") && isatty(STDERR_FILENO);
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
  const auto ranked = yield::commonality(tr.records());

  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec) throw std::runtime_error(out.string() + ": " + ec.message());
  const Model& m = model.value();
  const auto& d = m.data();
  const yield::DefectModel& dm = tr.defects();
  {
    auto f = open_out(out / "wafers.csv");
    f << "lot,wafer,product,priority,released_day,completed_day,dies,pass,die_yield";
    for (std::uint32_t b = 1; b < yield::kBinCount; ++b) f << ",bin" << b;
    for (std::uint32_t ar = 0; ar < dm.area_count(); ++ar) f << ",killed_" << dm.area_name(ar);
    f << '\n';
    for (const auto& w : tr.wafers()) {
      const auto& lot = tr.lots()[w.lot];
      f << sim->lot_name(lot.key) << ',' << w.slot + 1 << ',' << d.products[lot.product.index()].name << ','
        << lot.priority << ',' << num(to_days(lot.released.time_since_epoch())) << ','
        << num(to_days(lot.completed.time_since_epoch())) << ',' << w.summary.dies << ',' << w.summary.pass << ','
        << num(w.summary.die_yield());
      for (std::uint32_t b = 1; b < yield::kBinCount; ++b) f << ',' << w.summary.bins[b];
      for (std::uint32_t ar = 0; ar < dm.area_count(); ++ar) f << ',' << w.summary.killed_by_area[ar];
      f << '\n';
    }
  }
  // Per tool: the wafers that went through it and their mean die yield.
  std::vector<double> tool_sum(d.tools.size(), 0.0);
  std::vector<std::uint64_t> tool_wafers(d.tools.size(), 0), tool_lots(d.tools.size(), 0);
  {
    const auto& rec = tr.records();
    std::vector<double> lot_sum(tr.lots().size(), 0.0);
    std::vector<std::uint32_t> lot_n(tr.lots().size(), 0);
    for (const auto& w : tr.wafers()) lot_sum[w.lot] += w.summary.die_yield(), ++lot_n[w.lot];
    std::vector<std::uint32_t> seen(d.tools.size(), UINT32_MAX);
    for (std::uint32_t l = 0; l < tr.lots().size(); ++l) {
      const auto h = tr.lots()[l].history;
      for (auto i = rec.history_offset[h]; i < rec.history_offset[h + 1]; ++i) {
        const auto t = rec.pairs[i].tool.index();
        if (seen[t] == l) continue;
        seen[t] = l;
        ++tool_lots[t];
        tool_wafers[t] += lot_n[l];
        tool_sum[t] += lot_sum[l];
      }
    }
    auto f = open_out(out / "tools.csv");
    f << "tool,tool_group,area,lots,wafers,mean_die_yield\n";
    for (std::size_t t = 0; t < d.tools.size(); ++t) {
      if (!tool_wafers[t]) continue;
      const auto& g = d.tool_groups[d.tools[t].group.index()];
      f << d.tools[t].name << ',' << g.name << ',' << d.areas[g.area.index()].name << ',' << tool_lots[t] << ','
        << tool_wafers[t] << ',' << num(tool_sum[t] / tool_wafers[t]) << '\n';
    }
  }
  std::size_t significant = 0;
  {
    auto f = open_out(out / "commonality.csv");
    f << "rank,route,step,step_description,tool,lots_in,lots_out,wafers_in,wafers_out,yield_in,yield_out,"
         "difference,t,df,p,p_adjusted,significant\n";
    for (std::size_t i = 0; i < ranked.size(); ++i) {
      const auto& p = ranked[i];
      const Step& st = m.step(p.pair.step);
      significant += p.significant;
      f << i + 1 << ',' << d.routes[st.route.index()].name << ',' << st.number << ',' << st.description << ','
        << m.tool(p.pair.tool).name << ',' << p.units_in << ',' << p.units_out << ',' << p.n_in << ',' << p.n_out
        << ',' << num(p.yield_in) << ',' << num(p.yield_out) << ',' << num(p.difference) << ',' << num(p.t) << ','
        << num(p.df) << ',' << num(p.p) << ',' << num(p.p_adjusted) << ',' << (p.significant ? 1 : 0) << '\n';
    }
  }
  // Pictures: per product a stacked map of all its wafers; the wafers through the top suspect pair
  // stacked; the worst wafer.
  std::vector<std::string> pictures;
  if (a.flag("--maps") && !tr.wafers().empty()) {
    auto save = [&](const std::string& name, const yield::Image& img) {
      auto w = yield::write_png(out / name, img);
      if (!w.ok()) throw std::runtime_error(w.error().what());
      pictures.push_back(name);
    };
    // A product's stacked map and the suspect's (same product) share one colour scale, twice the
    // product's largest per-die fail rate, so the suspect's map reads against its product's.
    std::vector<std::vector<double>> product_rate(d.products.size());
    std::vector<double> scale(d.products.size(), 0.0);
    for (std::size_t p = 0; p < d.products.size(); ++p) {
      product_rate[p] = tr.stacked_fail_rate(ProductId{p}, [](std::size_t) { return true; });
      for (double r : product_rate[p]) scale[p] = std::max(scale[p], 2 * r);
      if (!product_rate[p].empty())
        save("stacked_" + d.products[p].name + ".png",
             yield::render_stacked_map(tr.monte_carlo(ProductId{p}).grid(), product_rate[p], std::min(1.0, scale[p])));
    }
    if (!ranked.empty()) {
      const auto& top = ranked.front();
      const auto& rec = tr.records();
      std::vector<char> through(tr.lots().size(), 0);
      for (std::size_t l = 0; l < tr.lots().size(); ++l) {
        const auto h = tr.lots()[l].history;
        for (auto i = rec.history_offset[h]; i < rec.history_offset[h + 1]; ++i)
          if (rec.pairs[i] == top.pair) through[l] = 1;
      }
      ProductId pid{0};  // the product whose route the suspect step belongs to
      for (std::size_t p = 0; p < d.products.size(); ++p)
        if (d.products[p].route == d.steps[top.pair.step.index()].route) pid = ProductId{p};
      const auto rate = tr.stacked_fail_rate(pid, [&](std::size_t w) { return through[tr.wafers()[w].lot] != 0; });
      if (!rate.empty())
        save("suspect_" + m.tool(top.pair.tool).name + ".png",
             yield::render_stacked_map(tr.monte_carlo(pid).grid(), rate, std::min(1.0, scale[pid.index()])));
    }
    std::size_t worst = 0;
    for (std::size_t w = 1; w < tr.wafers().size(); ++w)
      if (tr.wafers()[w].summary.die_yield() < tr.wafers()[worst].summary.die_yield()) worst = w;
    const auto& wl = tr.lots()[tr.wafers()[worst].lot];
    save("worst_wafer.png", yield::render_wafer_map(tr.monte_carlo(wl.product).grid(), tr.wafer_map(worst)));
  }
  // Summary.
  json::Value o = json::Value::object();
  o.add("model", m.name());
  o.add("days", days);
  o.add("lots", tr.lots().size());
  o.add("wafers", tr.wafers().size());
  std::uint64_t dies = 0, pass = 0;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> by_product;
  for (const auto& w : tr.wafers()) {
    dies += w.summary.dies;
    pass += w.summary.pass;
    auto& bp = by_product[tr.lots()[w.lot].product.value];
    bp.first += w.summary.dies;
    bp.second += w.summary.pass;
  }
  o.add("dies", static_cast<double>(dies));
  o.add("die_yield", dies ? static_cast<double>(pass) / dies : 0.0);
  json::Value prods = json::Value::object();
  for (const auto& [p, dp] : by_product) {
    json::Value po = json::Value::object();
    po.add("dies_per_wafer", tr.monte_carlo(ProductId{p}).grid().size());
    po.add("die_yield", dp.first ? static_cast<double>(dp.second) / dp.first : 0.0);
    prods.add(d.products[p].name, std::move(po));
  }
  o.add("products", std::move(prods));
  json::Value sus = json::Value::array();
  for (std::size_t i = 0; i < ranked.size() && i < 10; ++i) {
    const auto& p = ranked[i];
    json::Value so = json::Value::object();
    so.add("tool", m.tool(p.pair.tool).name);
    so.add("step", m.step(p.pair.step).number);
    so.add("route", d.routes[m.step(p.pair.step).route.index()].name);
    so.add("difference", p.difference);
    so.add("p_adjusted", p.p_adjusted);
    so.add("significant", p.significant);
    sus.push_back(std::move(so));
  }
  o.add("pairs_tested", ranked.size());
  o.add("pairs_significant", significant);
  o.add("top_suspects", std::move(sus));
  json::Value pics = json::Value::array();
  for (const auto& p : pictures) pics.push_back(p);
  o.add("pictures", std::move(pics));
  o.add("backend", backend);
  o.add("monte_carlo_seconds", tr.monte_carlo_seconds());
  o.add("dies_per_second", tr.monte_carlo_seconds() > 0 ? dies / tr.monte_carlo_seconds() : 0.0);
  o.add("wall_seconds", wall);
  const std::string text = json::write(o);
  {
    auto f = open_out(out / "yield.json");
    f << text << '\n';
  }
  if (a.flag("--json")) {
    std::printf("%s\n", text.c_str());
  } else {
    std::printf("%s: %g days, %zu lots, %zu wafers, die yield %.4f; Monte Carlo %.2f s (%.3g dies/s); %.1f s wall\n",
                m.name().c_str(), days, tr.lots().size(), tr.wafers().size(),
                dies ? static_cast<double>(pass) / dies : 0.0, tr.monte_carlo_seconds(),
                tr.monte_carlo_seconds() > 0 ? dies / tr.monte_carlo_seconds() : 0.0, wall);
    std::printf("commonality: %zu (step, tool) pairs tested, %zu significant\n", ranked.size(), significant);
    for (std::size_t i = 0; i < ranked.size() && i < 5; ++i) {
      const auto& p = ranked[i];
      std::printf("  %zu. %-18s step %-4u %-24s yield %.4f vs %.4f  p_adj %.3g%s\n", i + 1,
                  m.tool(p.pair.tool).name.c_str(), m.step(p.pair.step).number,
                  m.step(p.pair.step).description.c_str(), p.yield_in, p.yield_out, p.p_adjusted,
                  p.significant ? "  *" : "");
    }
    std::printf("wrote %s/{wafers.csv,tools.csv,commonality.csv,yield.json}\n", out.string().c_str());
  }
  return 0;
}

}  // namespace fabtwin::cli
