// fabtwin simulate --model PATH --days N [--rule R] [--seed S] [--warmup D] [--include-wip]
//                  [--out DIR [--history]] [--json] [--quiet] [--save-state FILE]
// fabtwin simulate --resume FILE --days N [--model PATH] [...]: continues a saved run to day N
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "commands.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/file.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/report/report.hpp"

namespace fabtwin::cli {

using namespace fabtwin::model;

namespace {

struct SimulateOptions {
  std::string model;
  double days = 0;
  std::string rule;
  std::uint64_t seed = 1;
  double warmup = 0;
  std::string out;
  bool json = false, quiet = false, include_wip = false, history = false;
  std::string save_state, resume;
  bool seed_given = false, rule_given = false, warmup_given = false, wip_given = false;
};

// A saved run: a text header naming the model it ran (an absolute path), then the engine's
// checkpoint bytes (docs/api.md "Checkpoints").
constexpr std::string_view kStateMagic = "FABTWIN-STATE 1\n";

void save_state(const des::Simulation& sim, const std::string& model_path, const std::string& file) {
  std::string bytes(kStateMagic);
  bytes += "model " + std::filesystem::absolute(model_path).lexically_normal().string() + "\n\n";
  bytes += sim.save();
  if (auto w = io::write_file(file, bytes); !w.ok()) throw io::OutputError(file, w.error().message);
}

struct SavedState {
  std::string model_path;
  std::string checkpoint;
};

SavedState read_state(const std::string& file) {
  auto text = io::read_file(file);
  if (!text.ok()) throw std::runtime_error(text.error().what());
  const std::string& b = text.value();
  const auto end = b.find("\n\n");
  if (b.compare(0, kStateMagic.size(), kStateMagic) != 0 || end == std::string::npos ||
      b.compare(kStateMagic.size(), 6, "model ") != 0)
    throw std::runtime_error(file + ": not a fabtwin state file (written by simulate --save-state)");
  return {b.substr(kStateMagic.size() + 6, end - kStateMagic.size() - 6), b.substr(end + 2)};
}

// Streams every performed step to history.csv (the per-lot history observers see).
class HistoryWriter final : public des::Observer {
 public:
  HistoryWriter(const des::Simulation& sim, const std::filesystem::path& file) : sim_(sim), csv_(file) {
    csv_.row("lot", "product", "route", "step", "description", "tool", "pass", "wafers", "queued_day",
             "start_day", "end_day");
  }
  void on_step(const des::StepRecord& r) override {
    const Model& m = sim_.model();
    const Step& st = m.step(r.step);
    csv_.field(sim_.lot_name(r.key))
        .field(m.product(r.product).name)
        .field(m.route(st.route).name)
        .field(st.number)
        .field(st.description)
        .field(m.tool(r.tool).name)
        .field(r.pass)
        .field(r.wafers)
        .raw(day(r.queued))
        .raw(day(r.started))
        .raw(day(r.finished))
        .end_row();
  }
  void close() { csv_.close(); }

 private:
  static std::string day(SimTime t) {  // days with 6 decimals (0.0864 s)
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", to_days(t.time_since_epoch()));
    return buf;
  }
  const des::Simulation& sim_;
  io::CsvWriter csv_;
};

int run(const SimulateOptions& o) {
  if (o.warmup >= o.days) throw UsageError("--warmup must be below --days");
  des::Options opt;
  opt.seed = o.seed;
  opt.rule = o.rule;
  opt.warmup = round_ms(o.warmup * kMsPerDay);
  opt.count_initial_wip = o.include_wip;
  std::string model_path = o.model;
  SavedState saved;
  if (!o.resume.empty()) {
    saved = read_state(o.resume);
    if (model_path.empty()) model_path = saved.model_path;
    // Options not given take the saved run's; options given must match it (restore names what differs).
    auto so = des::Simulation::checkpoint_options(saved.checkpoint);
    if (!so.ok()) throw std::runtime_error(o.resume + ": " + so.error().what());
    if (!o.seed_given) opt.seed = so->seed;
    if (!o.rule_given) opt.rule = so->rule;
    if (!o.warmup_given) opt.warmup = so->warmup;
    if (!o.wip_given) opt.count_initial_wip = so->count_initial_wip;
    opt.group_rules = so->group_rules;
    opt.wip_sample_interval = so->wip_sample_interval;
  } else if (model_path.empty()) {
    throw UsageError("--model is required (or --resume FILE)");
  }

  auto model = io::load_model(model_path);
  if (!model.ok()) throw std::runtime_error(model.error().what());
  // The rule was checked while parsing; what is refused here is the model (exit 1).
  auto sim = o.resume.empty() ? des::Simulation::create(model.value(), opt)
                              : des::Simulation::restore(model.value(), opt, saved.checkpoint);
  if (!sim.ok()) {
    const auto& e = sim.error();
    if (!o.resume.empty() && e.field != "model" && !e.field.empty())
      throw UsageError(o.resume + ": " + e.message);  // an option given that the saved run did not use
    throw std::runtime_error((o.resume.empty() ? "" : o.resume + ": ") + e.what());
  }
  const SimTime end{round_ms(o.days * kMsPerDay)};
  if (end < sim->now())
    throw UsageError("--days " + CLI::detail::to_string(o.days) + " is before the saved run's day " +
                     CLI::detail::to_string(to_days(sim->now().time_since_epoch())));
  const std::uint64_t events0 = sim->events();

  std::unique_ptr<HistoryWriter> history;
  if (o.history) {
    std::error_code ec;
    std::filesystem::create_directories(o.out, ec);
    if (ec) throw io::OutputError(o.out, ec.message());
    history = std::make_unique<HistoryWriter>(sim.value(), std::filesystem::path(o.out) / "history.csv");
    sim->add_observer(history.get());
  }
  const bool progress = !o.quiet && isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  const Duration chunk = round_ms(kMsPerDay);
  for (SimTime t = sim->now(); t < end;) {
    t = std::min(end, t + chunk);
    sim->run_until(t);
    if (progress) {
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double done = to_days(t.time_since_epoch()) / o.days;
      const int width = 30, fill = static_cast<int>(done * width);
      std::fprintf(stderr, "\r[%.*s%*s] day %6.1f / %g  %6.2f M events/s  %5zu lots in fab", fill,
                   "##############################", width - fill, "", to_days(t.time_since_epoch()), o.days,
                   wall > 0 ? (sim->events() - events0) / wall / 1e6 : 0.0, sim->lots_in_fab());
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) std::fputc('\n', stderr);
  if (history) history->close();
  if (!o.save_state.empty()) save_state(sim.value(), model_path, o.save_state);
  const des::Kpis k = sim->kpis();
  if (!o.out.empty()) report::write_outputs(sim.value(), k, wall, o.out);
  if (o.json) {
    std::printf("%s\n", report::kpis_json(sim.value(), k, wall).c_str());
    return 0;
  }
  std::printf("%s: %g days, rule %s, seed %llu, %.2f s wall, %.2f M events/s\n", model->name().c_str(),
              o.days, opt.rule.empty() ? "model" : opt.rule.c_str(),
              static_cast<unsigned long long>(opt.seed), wall,
              wall > 0 ? (k.events - events0) / wall / 1e6 : 0.0);
  std::printf("%-16s %7s %8s %8s %8s %8s %7s %7s\n", "order", "lots", "CT mean", "p50", "p90", "p99", "X",
              "on-time");
  for (const auto& c : k.orders)
    std::printf("%-16s %7zu %8.2f %8.2f %8.2f %8.2f %7.2f %6.1f%%\n", c.name.c_str(), c.completed_lots,
                c.cycle_time_days.mean, c.cycle_time_days.p50, c.cycle_time_days.p90, c.cycle_time_days.p99,
                c.x_factor, 100 * c.on_time);
  std::printf("throughput %.1f lots/day, mean WIP %.0f lots, CQT violations %llu of %llu\n",
              k.throughput_lots_per_day, k.mean_wip_lots, static_cast<unsigned long long>(k.cqt_violations),
              static_cast<unsigned long long>(k.cqt_checks));
  return 0;
}

}  // namespace

void add_simulate_command(CLI::App& root, Commands& out) {
  auto o = std::make_shared<SimulateOptions>();
  CLI::App* c =
      add_command(root, "simulate", "Discrete-event simulation of a fab model; prints its KPIs",
                  "With --out DIR: kpis.json, lots.csv, toolgroups.csv and wip.csv in DIR (with --history\n"
                  "also history.csv: every step of every lot). docs/user-guide.md describes the files.");
  c->add_option("--model", o->model,
                "a native JSON model file or an SMT2020 folder (required unless --resume)")
      ->type_name("PATH");
  required(
      add_real(*c, "--days", o->days, "simulated days (with --resume: the day to run to)", 0, kInf, true));
  auto* rule_opt =
      c->add_option(
           "--rule", o->rule,
           "base dispatch rule replacing the last key of every rank list: fifo, cr, edd, spt or a rank_ "
           "name (default: the model's own lists)")
          ->check(dispatch_rule())
          ->type_name("RULE");
  auto* seed_opt = add_whole(*c, "--seed", o->seed, "random seed; runs are reproducible for a seed", 0);
  auto* warmup_opt =
      add_real(*c, "--warmup", o->warmup,
               "days; KPIs drop lots released before, tool statistics restart then; below --days", 0);
  auto* wip_opt = c->add_flag("--include-wip", o->include_wip, "KPIs also count the initial-WIP lots");
  c->add_option("--save-state", o->save_state, "write a checkpoint of the run's end state to FILE")
      ->type_name("FILE");
  c->add_option("--resume", o->resume,
                "continue the run saved in FILE (by --save-state) to --days; its model and options unless "
                "given (given ones must match)")
      ->type_name("FILE");
  auto* out_opt = c->add_option("--out", o->out, "folder for kpis.json, lots.csv, toolgroups.csv, wip.csv")
                      ->type_name("DIR");
  c->add_flag("--history", o->history, "also write DIR/history.csv: every performed step of every lot")
      ->needs(out_opt);
  c->add_flag("--json", o->json, "print the KPI object as JSON");
  c->add_flag("--quiet", o->quiet, "no progress bar");
  out.push_back({c, [o, seed_opt, rule_opt, warmup_opt, wip_opt] {
                   o->seed_given = seed_opt->count() > 0;
                   o->rule_given = rule_opt->count() > 0;
                   o->warmup_given = warmup_opt->count() > 0;
                   o->wip_given = wip_opt->count() > 0;
                   return run(*o);
                 }});
}

}  // namespace fabtwin::cli
