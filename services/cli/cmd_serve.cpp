// fabtwin serve --model PATH [--listen HOST:PORT] [--db FILE] [--mode follow|autonomous] [--speed X]
// [--seed S] [--rule R] [--yield-params FILE | --no-yield] [--auth FILE] [--tls-cert FILE --tls-key FILE
// [--tls-client-ca FILE]]: the live twin over gRPC (services/server; docs/api.md "gRPC services",
// docs/operations.md "Ports and serving", "Security"). Only where the services are built.
#if FABTWIN_HAVE_SERVER
#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <optional>

#include "commands.hpp"
#include "fabtwin/io/data_dir.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/yield/params.hpp"

namespace fabtwin::cli {

namespace {

struct ServeArgs {
  std::string model, listen = "127.0.0.1:50051", db = "fabtwin.db", mode = "follow", rule;
  std::string auth, tls_cert, tls_key, tls_client_ca;
  double speed = -1;  // < 0: the mode's default (follow 0, autonomous 1)
  std::uint64_t seed = 1;
  unsigned whatif_threads = 1;
  std::string yield_params;  // "": yield_params.json in the data folder
  bool no_yield = false;
};

int serve(const ServeArgs& a) {
  // The security options first: a bad one is exit 2 before the store is touched.
  server::ServerOptions so;
  so.listen = a.listen;
  if (!a.auth.empty()) {
    auto tokens = server::Tokens::load(a.auth);
    if (!tokens) throw UsageError("--auth: " + tokens.error().what());
    so.tokens = std::make_shared<const server::Tokens>(std::move(tokens.value()));
  } else if (!server::loopback_address(a.listen)) {
    throw UsageError("--listen: " + a.listen +
                     " is not a loopback address; without --auth the server listens only on 127.0.0.1, ::1 "
                     "or localhost (docs/operations.md \"Security\")");
  }
  if (!a.tls_client_ca.empty() && a.tls_cert.empty())
    throw UsageError(
        "--tls-client-ca: needs --tls-cert and --tls-key (client certificates are a TLS feature)");
  if (a.tls_cert.empty() != a.tls_key.empty())
    throw UsageError(a.tls_cert.empty() ? "--tls-key: needs --tls-cert" : "--tls-cert: needs --tls-key");
  so.tls = {a.tls_cert, a.tls_key, a.tls_client_ca};

  auto m = io::load_model(a.model);
  if (!m.ok()) throw std::runtime_error(m.error().what());
  live::LiveOptions o;
  o.sim.seed = a.seed;
  o.sim.rule = a.rule;
  o.sim.mode = a.mode == "autonomous" ? des::Mode::Autonomous : des::Mode::Follow;
  o.db_path = a.db;
  if (!a.no_yield) {
    const std::filesystem::path params = a.yield_params.empty() ? io::require_data("yield_params.json")
                                                                : std::filesystem::path(a.yield_params);
    auto p = yield::read_yield_params(params);
    if (!p.ok()) throw std::runtime_error(p.error().what());
    o.yield = std::move(p.value());
  }
  auto twin = live::LiveTwin::open(m.value(), o);
  if (!twin.ok()) throw std::runtime_error(twin.error().what());
  const live::Recovery rec = twin.value()->recovery();

  // SIGINT and SIGTERM are taken by sigwait below: blocked here, before gRPC starts its threads
  // (they inherit the mask), so no other thread is interrupted by them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  so.whatif_threads = a.whatif_threads;
  so.speed = a.speed >= 0 ? a.speed : (o.sim.mode == des::Mode::Autonomous ? 1.0 : 0.0);
  auto s = server::Server::start(std::move(twin.value()), so);
  if (!s.ok()) {
    const model::Error& e = s.error();
    std::string option = e.field == "tls.cert"        ? "--tls-cert"
                         : e.field == "tls.key"       ? "--tls-key"
                         : e.field == "tls.client_ca" ? "--tls-client-ca"
                                                      : "--listen";
    throw UsageError(option + ": " + (e.file.empty() ? "" : e.file + ": ") + e.message);
  }
  server::Server& srv = *s.value();
  std::printf(
      "fabtwin serve: %s, %s twin on %s (port %d), speed %g; store %s (%s)\n", m->name().c_str(),
      a.mode.c_str(), a.listen.c_str(), srv.port(), so.speed, a.db.c_str(),
      rec.created
          ? "new"
          : ("recovered: " + std::to_string(rec.events_replayed) + " events after the checkpoint").c_str());
  std::printf("fabtwin serve: %s; %s\n",
              so.tls.enabled() ? (so.tls.client_ca.empty() ? "TLS" : "TLS with client certificates")
                               : "plaintext (no TLS)",
              so.tokens ? (std::to_string(so.tokens->size()) + " tokens from " + a.auth).c_str()
                        : "no tokens: every call allowed (loopback only)");
  std::printf(
      "fabtwin serve: yield records %s\n",
      a.no_yield
          ? "off (--no-yield)"
          : ("on (" + (a.yield_params.empty() ? std::string("yield_params.json") : a.yield_params) + ")")
                .c_str());
  std::printf("fabtwin serve: Ctrl-C or SIGTERM stops it\n");
  std::fflush(stdout);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::printf("fabtwin serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  srv.shutdown();
  const auto st = srv.stats();
  s.value().reset();  // closes the twin: a checkpoint of the final state
  std::printf("fabtwin serve: stopped (%llu events in %llu commits, %llu frames sent)\n",
              static_cast<unsigned long long>(st.ingest_events),
              static_cast<unsigned long long>(st.ingest_commits),
              static_cast<unsigned long long>(st.frames_sent));
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& root, Commands& out) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* c = add_command(
      root, "serve", "The live twin over gRPC: state streaming, durable MES ingest",
      "TwinService (GetModel, GetSnapshot, StreamState), IngestService (Ingest, IngestEvents) and\n"
      "YieldService (the yield records of every lot the twin completes: ListWafers, YieldSummary,\n"
      "WaferMap, StackedMap, Commonality),\n"
      "gRPC health and reflection (docs/api.md \"gRPC services\"). Every acknowledged event is in the\n"
      "store (--db, SQLite); a restart on the same store recovers the twin. SIGINT or SIGTERM stop it\n"
      "cleanly (a final checkpoint).\n"
      "Security (docs/operations.md \"Security\"): --auth gives each token a role (viewer: model and\n"
      "state; analyst: + forecasts and yield; operator: + ingest); every call must then carry\n"
      "`authorization: Bearer TOKEN`. Without --auth only a loopback --listen is accepted. --tls-cert\n"
      "and --tls-key turn on TLS; --tls-client-ca also requires a client certificate signed by it.");
  required(c->add_option("--model", a->model, "the model the twin follows (native JSON or SMT2020 folder)")
               ->type_name("PATH"));
  c->add_option("--listen", a->listen,
                "address to listen on (port 0: any free port); without --auth only loopback addresses")
      ->type_name("HOST:PORT")
      ->capture_default_str();
  c->add_option("--db", a->db, "the store (created if missing)")->type_name("FILE")->capture_default_str();
  c->add_option("--mode", a->mode, "follow: moved by events; autonomous: everything simulated")
      ->check(CLI::IsMember({"follow", "autonomous"}))
      ->capture_default_str();
  add_real(*c, "--speed", a->speed,
           "model seconds per wall second for the clock (default: follow 0 = events only, autonomous 1)", 0)
      ->default_str("");
  add_whole(*c, "--seed", a->seed, "random seed", 0);
  c->add_option("--rule", a->rule, "base dispatch rule (as for simulate)")
      ->check(dispatch_rule())
      ->type_name("RULE");
  c->add_option("--auth", a->auth,
                "tokens and roles: one `TOKEN ROLE` a line (role viewer, analyst or operator; # comments)")
      ->type_name("FILE");
  c->add_option("--tls-cert", a->tls_cert, "TLS: the server's certificate chain (PEM)")->type_name("FILE");
  c->add_option("--tls-key", a->tls_key, "TLS: the private key of --tls-cert (PEM)")->type_name("FILE");
  c->add_option("--tls-client-ca", a->tls_client_ca,
                "TLS: require a client certificate signed by this CA (PEM)")
      ->type_name("FILE");
  auto* params =
      c->add_option("--yield-params", a->yield_params,
                    "yield parameters for the yield records (default: yield_params.json in the data folder)")
          ->type_name("FILE");
  c->add_flag("--no-yield", a->no_yield, "record no yield (no defect model / Monte Carlo per completed lot)")
      ->excludes(params);
  add_whole(*c, "--whatif-threads", a->whatif_threads,
            "threads a WhatIfService job runs its replications on (jobs run one at a time)", 1, 4096)
      ->capture_default_str();
  out.push_back({c, [a] { return serve(*a); }});
}

}  // namespace fabtwin::cli
#endif
