// fabtwin flow calibrate --model PATH --out FILE [--days D] [--warmup W] [--reps R] [--seed S] [--threads T]
//                        [--rules R1,R2,...]
// fabtwin flow run --model PATH --calibration FILE --scenarios FILE --out DIR [--days D] [--warmup W]
//                  [--period-hours H] [--threads T] [--backend cpu|cuda] [--json]
// The batched fluid model (engine/flow): calibrate its clearing functions from simulation runs,
// then evaluate scenarios (the engine's deltas) all at once. This file parses and writes.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "commands.hpp"
#include "fabtwin/compute/backend.hpp"
#include "fabtwin/flow/calibration.hpp"
#include "fabtwin/flow/flow.hpp"
#include "fabtwin/flow/scenario.hpp"
#include "fabtwin/io/csv.hpp"
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"

namespace fabtwin::cli {

namespace json = fabtwin::io::json;

namespace {

struct CalibrateArgs {
  std::string model, out;
  double days = 465, warmup = 100;
  unsigned reps = 3, threads = 0;
  std::uint64_t seed = 1;
  std::vector<std::string> rules;
};

struct RunArgs {
  std::string model, calibration, scenarios, out;
  double days = 365, warmup = 100, period_hours = 0.25;
  unsigned threads = 0;
  std::string backend = "cpu";
  bool json = false;
};

unsigned resolve_threads(unsigned t) { return t > 0 ? t : std::max(1u, std::thread::hardware_concurrency()); }

model::Model load(const std::string& path) {
  auto m = io::load_model(path);
  if (!m.ok()) throw std::runtime_error(m.error().what());
  return std::move(m.value());
}

int calibrate(const CalibrateArgs& a) {
  if (a.warmup >= a.days) throw UsageError("--warmup must be below --days");
  const model::Model m = load(a.model);
  flow::CalibrateOptions o;
  o.days = a.days;
  o.warmup_days = a.warmup;
  o.replications = a.reps;
  o.seed = a.seed;
  o.threads = resolve_threads(a.threads);
  o.rules = a.rules;
  const auto t0 = std::chrono::steady_clock::now();
  auto c = flow::calibrate(m, o);
  if (!c.ok()) {
    if (c.error().field.starts_with("rules[")) throw UsageError("--rules: " + c.error().message);
    throw std::runtime_error(c.error().what());
  }
  const auto r = io::write_file(a.out, flow::to_json(c.value()));
  if (!r.ok()) throw std::runtime_error(r.error().what());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf(
      "%s: calibrated %zu tool groups from %u replications of %g days (warm-up %g)%s, %.1f s; wrote %s\n",
      m.name().c_str(), c->groups.size(), a.reps, a.days, a.warmup,
      a.rules.empty() ? ""
                      : (" under the model's rules and " + std::to_string(a.rules.size()) + " more").c_str(),
      wall, a.out.c_str());
  return 0;
}

std::string num(double v) { return json::format_number(v); }

int run(const RunArgs& a) {
  const model::Model m = load(a.model);
  auto cal = flow::read_calibration(a.calibration);
  if (!cal.ok()) throw std::runtime_error(cal.error().what());
  if (!cal->model_name.empty() && cal->model_name != m.name())
    throw std::runtime_error(a.calibration + ": calibrated for model '" + cal->model_name + "', not '" +
                             m.name() + "'");
  auto fm = flow::FlowModel::create(m, cal.value());
  if (!fm.ok()) throw std::runtime_error(a.calibration + ": " + fm.error().what());
  auto list = flow::read_scenario_list(a.scenarios);
  if (!list.ok()) throw std::runtime_error(list.error().what());
  std::vector<flow::ScenarioInput> inputs;
  inputs.push_back(flow::ScenarioInput{"base", {}, {}, {}, {}});
  for (const auto& s : list.value()) {
    if (s.name == "base")
      throw std::runtime_error(a.scenarios + ": the name 'base' is reserved for the base model");
    auto in = flow::scenario_input(fm.value(), s);
    if (!in.ok()) throw std::runtime_error(in.error().what());
    inputs.push_back(std::move(in.value()));
  }
  flow::RunOptions o;
  o.days = a.days;
  o.warmup_days = a.warmup;
  o.period_hours = a.period_hours;
  o.threads = resolve_threads(a.threads);
  o.backend = *compute::parse_backend(a.backend);
  if (o.backend == compute::Backend::Cuda && !compute::cuda_available())
    throw std::runtime_error(compute::cuda_built() ? "--backend cuda: no usable CUDA device"
                                                   : "--backend cuda: this build has no CUDA backend");
  ProgressBar bar(isatty(STDERR_FILENO) != 0);
  o.progress = [&bar](double done, double total) { bar(done, total); };
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = fm->run(inputs, o);
  bar.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec) throw io::OutputError(a.out, ec.message());
  const auto& products = m.products();
  // flow.csv: one row per scenario.
  std::string csv = "scenario,throughput_lots_per_day,wip_lots,cycle_time_days";
  for (const auto& p : products)
    csv += ",throughput_" + p.name + ",wip_" + p.name + ",cycle_time_days_" + p.name;
  csv += "\n";
  json::Value root = json::Value::object();
  root.add("schema", "fabtwin.v1.FlowResults");
  root.add("model", m.name());
  root.add("days", a.days);
  root.add("warmup_days", a.warmup);
  root.add("period_hours", a.period_hours);
  root.add("backend", a.backend);
  root.add("wall_seconds", wall);
  json::Value arr = json::Value::array();
  std::string util = "scenario,tool_group,utilisation\n";
  for (const auto& r : res) {
    csv += io::csv_field(r.name) + "," + num(r.throughput_lots_per_day) + "," + num(r.wip_lots) + "," +
           num(r.cycle_time_days);
    json::Value o = json::Value::object();
    o.add("name", r.name);
    o.add("throughput_lots_per_day", r.throughput_lots_per_day);
    o.add("wip_lots", r.wip_lots);
    o.add("cycle_time_days", r.cycle_time_days);
    json::Value per = json::Value::array();
    for (std::size_t p = 0; p < products.size(); ++p) {
      csv += "," + num(r.product_throughput[p]) + "," + num(r.product_wip[p]) + "," +
             num(r.product_cycle_time_days[p]);
      json::Value q = json::Value::object();
      q.add("product", products[p].name);
      q.add("throughput_lots_per_day", r.product_throughput[p]);
      q.add("wip_lots", r.product_wip[p]);
      q.add("cycle_time_days", r.product_cycle_time_days[p]);
      per.push_back(std::move(q));
    }
    csv += "\n";
    o.add("products", std::move(per));
    json::Value ug = json::Value::object();
    for (std::size_t g = 0; g < r.utilisation.size(); ++g) {
      ug.add(m.tool_groups()[g].name, r.utilisation[g]);
      util += io::csv_field(r.name) + "," + m.tool_groups()[g].name + "," + num(r.utilisation[g]) + "\n";
    }
    o.add("utilisation", std::move(ug));
    arr.push_back(std::move(o));
  }
  root.add("scenarios", std::move(arr));
  const std::filesystem::path dir(a.out);
  for (const auto& [name, bytes] : {std::pair<const char*, std::string>{"flow.csv", csv},
                                    {"utilisation.csv", util},
                                    {"flow.json", json::write(root) + "\n"}}) {
    const auto w = io::write_file(dir / name, bytes);
    if (!w.ok()) throw std::runtime_error(w.error().what());
  }
  if (a.json) {
    std::printf("%s\n", json::write(root).c_str());
    return 0;
  }
  std::printf("%s: %zu scenarios x %g days (+%g warm-up) on %s in %.2f s (%.2f scenario-years/s)\n",
              m.name().c_str(), res.size(), a.days, a.warmup, a.backend.c_str(), wall,
              wall > 0 ? res.size() * (a.days + a.warmup) / 365.0 / wall : 0.0);
  std::printf("%-24s %12s %10s %10s\n", "scenario", "lots/day", "WIP", "CT days");
  for (const auto& r : res)
    std::printf("%-24s %12.2f %10.1f %10.2f\n", r.name.c_str(), r.throughput_lots_per_day, r.wip_lots,
                r.cycle_time_days);
  std::printf("wrote %s/{flow.csv,utilisation.csv,flow.json}\n", a.out.c_str());
  return 0;
}

}  // namespace

void add_flow_commands(CLI::App& root, Commands& out) {
  CLI::App* f = add_command(root, "flow", "The batched fluid model: calibrate it, run scenarios with it");
  f->require_subcommand(1);
  {
    auto o = std::make_shared<CalibrateArgs>();
    CLI::App* c =
        add_command(*f, "calibrate", "Fit the flow model's clearing functions from simulation runs",
                    "Runs --reps replications of the simulation (seeds S, S+1, ...) and writes the\n"
                    "calibration (JSON, docs/model-format.md \"Flow-model calibration\") to FILE.\n"
                    "--rules adds --reps runs per rule, every group's base rank key on it, so the\n"
                    "flow model can evaluate rule changes (what-if screens over rules).");
    required(c->add_option("--model", o->model, "a native JSON model file or an SMT2020 folder")
                 ->type_name("PATH"));
    required(c->add_option("--out", o->out, "the calibration file to write")->type_name("FILE"));
    add_real(*c, "--days", o->days, "simulated days per replication", 0, kInf, true);
    add_real(*c, "--warmup", o->warmup, "days not measured (tool statistics restart then); below --days", 0);
    add_whole(*c, "--reps", o->reps, "replications", 1, 1000);
    add_whole(*c, "--seed", o->seed, "seed of the first replication", 0);
    add_whole(*c, "--threads", o->threads, "replications in parallel; 0: all cores", 0, 4096);
    c->add_option(
         "--rules", o->rules,
         "base rank rules to calibrate besides the model's own (fifo, cr, edd, spt; comma-separated)")
        ->delimiter(',')
        ->type_name("R1,R2");
    out.push_back({c, [o] { return calibrate(*o); }});
  }
  {
    auto o = std::make_shared<RunArgs>();
    CLI::App* c =
        add_command(*f, "run", "Evaluate scenarios with the flow model (all at once)",
                    "SCENARIOS is one scenario file (docs/api.md \"Scenario deltas\") or a JSON array of\n"
                    "them; the base is always evaluated first. Writes flow.csv, utilisation.csv and\n"
                    "flow.json into DIR. Understood deltas: tool_count, release, product_mix,\n"
                    "availability, process_time_factor; rule and transport_factor are refused.");
    required(c->add_option("--model", o->model, "a native JSON model file or an SMT2020 folder")
                 ->type_name("PATH"));
    required(c->add_option("--calibration", o->calibration, "written by flow calibrate")->type_name("FILE"));
    required(
        c->add_option("--scenarios", o->scenarios, "scenario file or array of scenarios")->type_name("FILE"));
    required(c->add_option("--out", o->out, "folder for the outputs")->type_name("DIR"));
    add_real(*c, "--days", o->days, "measured days after the warm-up", 0, kInf, true);
    add_real(*c, "--warmup", o->warmup, "days run first from the model's initial WIP, not measured", 0);
    add_real(*c, "--period-hours", o->period_hours, "time step of the fluid model", 0, 24, true);
    add_whole(*c, "--threads", o->threads, "CPU threads over scenarios; 0: all cores", 0, 4096);
    c->add_option("--backend", o->backend, "where the model runs: cpu or cuda")
        ->check(backend_name())
        ->type_name("cpu|cuda")
        ->capture_default_str();
    c->add_flag("--json", o->json, "print flow.json");
    out.push_back({c, [o] { return run(*o); }});
  }
}

}  // namespace fabtwin::cli
