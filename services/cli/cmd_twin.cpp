// fabtwin emulate --model PATH --days N [--seed S] [--rule R] [--noise F] [--events-out FILE]
//   [--state-out FILE] [--target HOST:PORT [--speed X] [--batch N] [--window W] [--acked FILE]
//   [--token T | --token-file F] [--tls] [--tls-ca F] [--tls-cert F --tls-key F]]
// fabtwin replay --model PATH --events FILE [--until-day D] [--state-out FILE] [--json]
// The live twin without a server: the emulator plays the real fab (an autonomous simulation that
// writes every MES event it produces), replay drives a follow-mode twin by events alone. With
// --target (where the services are built) the emulator sends its events to `fabtwin serve` as they
// happen (cmd_client.cpp).
#include <cstdio>
#include <fstream>
#include <memory>

#include "commands.hpp"
#if FABTWIN_HAVE_SERVER
#include "client_commands.hpp"
#endif
#include "fabtwin/io/json.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/replay.hpp"
#include "fabtwin/twin/state_file.hpp"

namespace fabtwin::cli {

using namespace fabtwin::model;

namespace {

Model load(const std::string& path) {
  auto m = io::load_model(path);
  if (!m.ok()) throw std::runtime_error(m.error().what());
  return std::move(m.value());
}

void write_state(const des::Simulation& sim, const std::string& file) {
  if (auto w = io::write_file(file, twin::state_text(sim)); !w.ok())
    throw io::OutputError(file, w.error().message);
}

struct EmulateArgs {
  std::string model, events_out, state_out, rule;
  double days = 0, noise = 0;
  std::uint64_t seed = 1;
#if FABTWIN_HAVE_SERVER
  TargetArgs target;
#endif
};

int emulate(const EmulateArgs& a) {
  const Model m = load(a.model);
  twin::EmulateOptions o;
  o.sim.seed = a.seed;
  o.sim.rule = a.rule;
  o.days = a.days;
  o.noise = a.noise;
#if FABTWIN_HAVE_SERVER
  if (!a.target.target.empty()) return emulate_to_target(m, o, a.target, a.events_out, a.state_out);
#endif
  if (a.events_out.empty()) throw UsageError("--events-out is required (or --target, with the services)");
  std::ofstream out(a.events_out, std::ios::binary);
  if (!out) throw io::OutputError(a.events_out, "cannot open for writing");
  auto r = twin::emulate(m, o, out);
  if (!r.ok()) throw std::runtime_error(r.error().what());
  out.close();
  if (!out) throw io::OutputError(a.events_out, "write failed");
  if (!a.state_out.empty()) write_state(r->sim, a.state_out);
  std::printf("%s: %g days emulated (noise %g), %llu events in %.2f s -> %s\n", m.name().c_str(), a.days,
              a.noise, static_cast<unsigned long long>(r->events), r->wall_s, a.events_out.c_str());
  for (int k = 0; k < des::kEventKindCount; ++k)
    if (r->by_kind[k])
      std::printf("  %-14s %10llu\n", std::string(des::to_string(static_cast<des::EventKind>(k))).c_str(),
                  static_cast<unsigned long long>(r->by_kind[k]));
  return 0;
}

struct ReplayArgs {
  std::string model, events, state_out;
  double until_day = -1;
  bool json = false;
};

int replay(const ReplayArgs& a) {
  const Model m = load(a.model);
  std::ifstream in(a.events, std::ios::binary);
  if (!in) throw std::runtime_error(a.events + ": cannot open");
  twin::ReplayOptions o;
  if (a.until_day >= 0) o.until = SimTime{round_ms(a.until_day * kMsPerDay)};
  auto r = twin::replay(m, in, o);
  if (!r.ok()) throw std::runtime_error(a.events + ": " + r.error().what());
  if (!a.state_out.empty()) write_state(r->sim, a.state_out);
  if (a.json) {
    std::printf("%s\n", io::json::write(twin::report_json(r->report)).c_str());
  } else {
    std::fputs(twin::report_text(r->report).c_str(), stdout);
  }
  return 0;
}

}  // namespace

void add_twin_commands(CLI::App& root, Commands& out) {
  {
    auto a = std::make_shared<EmulateArgs>();
    CLI::App* c = add_command(
        root, "emulate", "Plays the real fab: an autonomous simulation writing its MES events",
        "Every event the simulated fab produces (lot released and queued, track-in and -out,\n"
        "tool downs and ups, PM start and end) as one JSON object a line (docs/api.md, \"MES\n"
        "events as JSON lines\"). `fabtwin replay` drives a twin with them. With --target they go\n"
        "to `fabtwin serve` as they happen (paced by --speed); every one is acknowledged, a\n"
        "batch the server did not acknowledge is sent again after a reconnect.");
    required(c->add_option("--model", a->model, "a native JSON model file or an SMT2020 folder")
                 ->type_name("PATH"));
    required(add_real(*c, "--days", a->days, "days to emulate from time zero", 0, kInf, true));
    add_whole(*c, "--seed", a->seed, "random seed", 0);
    c->add_option("--rule", a->rule, "base dispatch rule (as for simulate)")
        ->check(dispatch_rule())
        ->type_name("RULE");
    add_real(
        *c, "--noise", a->noise,
        "the fab deviates from the model: per tool group, processing times and time to failure by a factor "
        "up to 1 + F",
        0);
    c->add_option("--events-out", a->events_out, "the events file (JSON lines); required without --target")
        ->type_name("FILE");
    c->add_option("--state-out", a->state_out, "the emulated fab's final state (sorted text, for diff)")
        ->type_name("FILE");
#if FABTWIN_HAVE_SERVER
    c->add_option("--target", a->target.target,
                  "send the events to `fabtwin serve` at this address as they happen (IngestEvents)")
        ->type_name("HOST:PORT");
    add_real(*c, "--speed", a->target.speed,
             "with --target: model seconds per wall second (0: as fast as the server acknowledges)", 0);
    add_whole(*c, "--batch", a->target.batch, "with --target: events per batch (at most)", 1, 100'000);
    add_whole(*c, "--window", a->target.window, "with --target: batches sent and not yet acknowledged", 1,
              1024);
    c->add_option("--acked", a->target.acked,
                  "with --target: write the acknowledged event ids here, one a line")
        ->type_name("FILE");
    add_connect_options(*c, a->target.connect, "with --target: ");
#endif
    out.push_back({c, [a] { return emulate(*a); }});
  }
  {
    auto a = std::make_shared<ReplayArgs>();
    CLI::App* c =
        add_command(root, "replay", "A follow-mode twin driven by an events file alone",
                    "Prints the counts applied, late, duplicate and refused (by reason) and lists the\n"
                    "refused events with their line number and reason.");
    required(c->add_option("--model", a->model, "the model the twin follows")->type_name("PATH"));
    required(c->add_option("--events", a->events, "the events file (JSON lines)")->type_name("FILE"));
    add_real(*c, "--until-day", a->until_day, "after the last event, run the clock on to this day", 0);
    c->add_option("--state-out", a->state_out, "the twin's final state (sorted text, for diff)")
        ->type_name("FILE");
    c->add_flag("--json", a->json, "print the report as JSON");
    out.push_back({c, [a] { return replay(*a); }});
  }
}

}  // namespace fabtwin::cli
