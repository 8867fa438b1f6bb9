// fabtwin simulate --model PATH --days N [--rule R] [--seed S] [--warmup D] [--out DIR] [--json]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "args.hpp"
#include "commands.hpp"
#include "fabtwin/des/report.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"

namespace fabtwin::cli {

using namespace fabtwin::model;

namespace {

// Streams every performed step to history.csv (the per-lot history observers see).
class HistoryWriter final : public des::Observer {
 public:
  HistoryWriter(const des::Simulation& sim, const std::filesystem::path& file) : sim_(sim), file_(file), out_(file) {
    if (!out_) throw std::runtime_error(file.string() + ": cannot open for writing");
    out_ << "lot,product,route,step,description,tool,pass,wafers,queued_day,start_day,end_day\n";
  }
  void on_step(const des::StepRecord& r) override {
    const Model& m = sim_.model();
    const Step& st = m.step(r.step);
    out_ << sim_.lot_name(r.key) << ',' << m.product(r.product).name << ',' << m.route(st.route).name << ','
         << st.number << ',' << st.description << ',' << m.tool(r.tool).name << ',' << r.pass << ',' << r.wafers
         << ',' << day(r.queued) << ',' << day(r.started) << ',' << day(r.finished) << '\n';
  }
  void close() {
    out_.close();
    if (!out_) throw std::runtime_error(file_.string() + ": write failed");
  }

 private:
  static std::string day(SimTime t) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", to_days(t.time_since_epoch()));
    return buf;
  }
  const des::Simulation& sim_;
  std::filesystem::path file_;
  std::ofstream out_;
};

}  // namespace

int cmd_simulate(int argc, char** argv) {
  const Args a(argc, argv, 1, {"--model", "--days", "--rule", "--seed", "--warmup", "--out"},
               {"--json", "--quiet", "--include-wip", "--history"});
  if (!a.positional().empty()) throw UsageError("unexpected argument '" + a.positional()[0] + "'");
  const std::string path = a.require("--model");
  const double days = a.number("--days", -1);
  if (!(days > 0)) throw UsageError("--days must be a positive number of days");
  des::Options opt;
  opt.seed = static_cast<std::uint64_t>(a.integer("--seed", 1, 0));
  opt.rule = a.get("--rule").value_or("");
  const double warmup = a.number("--warmup", 0);
  if (warmup < 0 || warmup >= days) throw UsageError("--warmup must be within [0, --days)");
  opt.warmup = round_ms(warmup * kMsPerDay);
  opt.count_initial_wip = a.flag("--include-wip");

  auto model = io::load_model(path);
  if (!model.ok()) throw std::runtime_error(model.error().what());
  auto sim = des::Simulation::create(model.value(), opt);
  if (!sim.ok()) throw UsageError(sim.error().what());

  std::unique_ptr<HistoryWriter> history;
  if (a.flag("--history")) {
    const auto out = a.get("--out");
    if (!out) throw UsageError("--history needs --out DIR (it writes DIR/history.csv)");
    std::filesystem::create_directories(*out);
    history = std::make_unique<HistoryWriter>(sim.value(), std::filesystem::path(*out) / "history.csv");
    sim->add_observer(history.get());
  }
  const bool progress = !a.flag("--quiet") && isatty(STDERR_FILENO);
  const auto t0 = std::chrono::steady_clock::now();
  const SimTime end{round_ms(days * kMsPerDay)};
  const Duration chunk = round_ms(kMsPerDay);
  for (SimTime t = sim->now(); t < end;) {
    t = std::min(end, t + chunk);
    sim->run_until(t);
    if (progress) {
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double done = to_days(t.time_since_epoch()) / days;
      const int width = 30, fill = static_cast<int>(done * width);
      std::fprintf(stderr, "\r[%.*s%*s] day %6.1f / %g  %6.2f M events/s  %5zu lots in fab", fill,
                   "##############################", width - fill, "", to_days(t.time_since_epoch()), days,
                   wall > 0 ? sim->events() / wall / 1e6 : 0.0, sim->lots_in_fab());
    }
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (progress) std::fputc('\n', stderr);
  if (history) history->close();
  const des::Kpis k = sim->kpis();
  if (auto out = a.get("--out")) des::write_outputs(sim.value(), k, wall, *out);
  if (a.flag("--json")) {
    std::printf("%s\n", des::kpis_json(sim.value(), k, wall).c_str());
    return 0;
  }
  std::printf("%s: %g days, rule %s, seed %llu, %.2f s wall, %.2f M events/s\n", model->name().c_str(), days,
              opt.rule.empty() ? "model" : opt.rule.c_str(), static_cast<unsigned long long>(opt.seed), wall,
              wall > 0 ? k.events / wall / 1e6 : 0.0);
  std::printf("%-16s %7s %8s %8s %8s %8s %7s %7s\n", "order", "lots", "CT mean", "p50", "p90", "p99", "X", "on-time");
  for (const auto& c : k.orders)
    std::printf("%-16s %7zu %8.2f %8.2f %8.2f %8.2f %7.2f %6.1f%%\n", c.name.c_str(), c.completed_lots,
                c.cycle_time_days.mean, c.cycle_time_days.p50, c.cycle_time_days.p90, c.cycle_time_days.p99,
                c.x_factor, 100 * c.on_time);
  std::printf("throughput %.1f lots/day, mean WIP %.0f lots, CQT violations %llu of %llu\n", k.throughput_lots_per_day,
              k.mean_wip_lots, static_cast<unsigned long long>(k.cqt_violations),
              static_cast<unsigned long long>(k.cqt_checks));
  return 0;
}

}  // namespace fabtwin::cli
