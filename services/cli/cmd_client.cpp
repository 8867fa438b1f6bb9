// fabtwin emulate ... --target HOST:PORT [--speed X] [--batch N] [--window W] [--acked FILE]
// fabtwin watch --target HOST:PORT [--every S] [--minutes M]
// (both: [--token T | --token-file F] [--tls] [--tls-ca F] [--tls-cert F --tls-key F])
// The clients of `fabtwin serve` (services/client): the emulated fab sending its MES events to a
// server as they happen, and a line of live figures every few seconds. Only where the services are
// built.
#if FABTWIN_HAVE_SERVER
#include <grpcpp/grpcpp.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "client_commands.hpp"
#include "fabtwin/client/client.hpp"
#include "fabtwin/io/output_file.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/noise.hpp"
#include "fabtwin/twin/state_file.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"

namespace fabtwin::cli {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// SIGINT and SIGTERM taken by a thread of their own (blocked everywhere else: call before gRPC
// starts its threads, which inherit the mask). `on_signal(k)` runs on that thread for the k-th
// signal (1, 2, ...).
class SignalWatcher {
 public:
  explicit SignalWatcher(std::function<void(int)> on_signal) : on_signal_(std::move(on_signal)) {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
    thread_ = std::thread([this] {
      int k = 0;
      const timespec tick{0, 100'000'000};
      while (!done_) {
        if (sigtimedwait(&set_, nullptr, &tick) > 0) on_signal_(++k);
      }
    });
  }
  ~SignalWatcher() {
    done_ = true;
    thread_.join();
  }

 private:
  sigset_t set_;
  std::function<void(int)> on_signal_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

const char* outcome_name(int k) {
  static const char* names[] = {"applied", "late", "duplicate", "refused"};
  return names[k];
}

}  // namespace

// ---- connection options ----

void add_connect_options(CLI::App& c, ConnectArgs& a, const std::string& prefix) {
  auto* token = c.add_option("--token", a.token,
                             prefix +
                                 "the token sent as `authorization: Bearer TOKEN` (visible in `ps`: "
                                 "prefer --token-file)")
                    ->type_name("TOKEN");
  c.add_option("--token-file", a.token_file, prefix + "read the token from this file's first line")
      ->type_name("FILE")
      ->excludes(token);
  c.add_flag("--tls", a.tls,
             prefix + "TLS with the system's root certificates (implied by --tls-ca, --tls-cert)");
  c.add_option("--tls-ca", a.tls_ca, prefix + "TLS: the CA certificate (PEM) that signed the server's")
      ->type_name("FILE");
  c.add_option("--tls-cert", a.tls_cert, prefix + "TLS: this client's certificate (PEM), with --tls-key")
      ->type_name("FILE");
  c.add_option("--tls-key", a.tls_key, prefix + "TLS: the private key (PEM) of --tls-cert")
      ->type_name("FILE");
}

std::shared_ptr<grpc::Channel> open_channel(const std::string& target, const ConnectArgs& a) {
  client::ChannelOptions o;
  o.target = target;
  o.token = a.token;
  if (!a.token_file.empty()) {
    auto t = client::read_token_file(a.token_file);
    if (!t) throw UsageError("--token-file: " + t.error().what());
    o.token = t.value();
  }
  o.tls = a.tls;
  o.tls_ca = a.tls_ca;
  o.tls_cert = a.tls_cert;
  o.tls_key = a.tls_key;
  auto channel = client::connect(o);
  if (!channel) {
    const model::Error& e = channel.error();
    std::string option = "--" + e.field;
    for (char& ch : option)
      if (ch == '_') ch = '-';
    throw UsageError(option + ": " + (e.file.empty() ? "" : e.file + ": ") + e.message);
  }
  return channel.value();
}

// ---- emulate --target ----

int emulate_to_target(const model::Model& m, const twin::EmulateOptions& o, const TargetArgs& t,
                      const std::string& events_out, const std::string& state_out) {
  auto channel = open_channel(t.target, t.connect);  // bad options: exit 2 before anything runs
  std::atomic<bool> stop{false};
  client::IngestClient* live_client = nullptr;
  std::mutex client_mutex;
  // First signal: stop emulating, send what is pending and wait for its acknowledgements. Second:
  // give up on them.
  SignalWatcher signals([&](int k) {
    stop = true;
    std::lock_guard lock(client_mutex);
    if (k > 1 && live_client) live_client->stop();
  });

  des::Options sopt = o.sim;
  sopt.mode = des::Mode::Autonomous;
  auto perturbed = twin::perturb(m, sopt, o.noise, sopt.seed);
  if (!perturbed.ok()) throw std::runtime_error(perturbed.error().what());
  auto sim = des::Simulation::create(perturbed->model.model, perturbed->model.options);
  if (!sim.ok()) throw std::runtime_error(sim.error().what());

  std::ofstream json;
  if (!events_out.empty()) {
    json.open(events_out, std::ios::binary);
    if (!json) throw io::OutputError(events_out, "cannot open for writing");
  }
  std::ofstream acked;
  if (!t.acked.empty()) {
    acked.open(t.acked, std::ios::binary);
    if (!acked) throw io::OutputError(t.acked, "cannot open for writing");
  }
  twin::JsonLinesWriter writer(json, m.data().epoch_unix_s);

  // Events go into `current`; a full batch moves to `ready`.
  std::vector<v1::IngestRequest> ready;
  v1::IngestRequest current;
  twin::Emulator emulator(sim.value(), [&](const des::Event& e) {
    twin_pb::to_proto(e, *current.add_events());
    if (json.is_open()) writer(e);
    if (current.events_size() >= static_cast<int>(t.batch)) {
      ready.push_back(std::move(current));
      current.Clear();
    }
  });
  sim->add_observer(&emulator);

  client::IngestClient ingest(channel, t.window, client::ReconnectOptions{}, [&](const v1::EventResult& r) {
    if (acked.is_open()) acked << r.id() << '\n';
  });
  {
    std::lock_guard lock(client_mutex);
    live_client = &ingest;
  }
  auto send_ready = [&](bool partial_too) {
    if (partial_too && current.events_size() > 0) {
      ready.push_back(std::move(current));
      current.Clear();
    }
    for (v1::IngestRequest& b : ready)
      if (auto r = ingest.send(std::move(b)); !r.ok()) return r;
    ready.clear();
    return model::Result<bool>(true);
  };

  const auto t0 = Clock::now();
  const std::int64_t end_ms = model::round_ms(o.days * model::kMsPerDay).count();
  const std::int64_t chunk_ms = 3'600'000;  // --speed 0: one model hour at a time
  model::Result<bool> sent(true);
  while (sent.ok() && !stop && sim->now().time_since_epoch().count() < end_ms) {
    std::int64_t target = 0;
    if (t.speed > 0) {
      target = std::min<std::int64_t>(end_ms, static_cast<std::int64_t>(since(t0) * t.speed * 1000.0));
      if (target <= sim->now().time_since_epoch().count()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
    } else {
      target = std::min(end_ms, sim->now().time_since_epoch().count() + chunk_ms);
    }
    sim->run_until(model::SimTime{model::Duration{target}});
    sent = send_ready(t.speed > 0);
  }
  if (sent.ok()) sent = send_ready(true);
  if (sent.ok()) sent = ingest.finish();
  {
    std::lock_guard lock(client_mutex);
    live_client = nullptr;
  }
  sim->remove_observer(&emulator);
  if (json.is_open()) {
    json.close();
    if (!json) throw io::OutputError(events_out, "write failed");
  }
  if (acked.is_open()) {
    acked.close();
    if (!acked) throw io::OutputError(t.acked, "write failed");
  }
  if (!state_out.empty()) {
    if (auto w = io::write_file(state_out, twin::state_text(sim.value())); !w.ok())
      throw io::OutputError(state_out, w.error().message);
  }

  const client::IngestCounts& c = ingest.counts();
  std::printf("%s: %.2f model days emulated%s, %llu events sent to %s in %.2f s: acknowledged %llu (",
              m.name().c_str(), static_cast<double>(sim->now().time_since_epoch().count()) / model::kMsPerDay,
              stop ? " (stopped)" : "", static_cast<unsigned long long>(c.events_sent), t.target.c_str(),
              since(t0), static_cast<unsigned long long>(c.acknowledged_total()));
  for (int k = 0; k < 4; ++k)
    std::printf("%s%s %llu", k ? ", " : "", outcome_name(k),
                static_cast<unsigned long long>(c.acknowledged[k]));
  std::printf("), %llu reconnects, %llu batches resent\n", static_cast<unsigned long long>(c.reconnects),
              static_cast<unsigned long long>(c.resent_batches));
  std::fflush(stdout);
  if (!sent.ok()) throw std::runtime_error(t.target + ": " + sent.error().message);
  return 0;
}

// ---- watch ----

namespace {

struct WatchArgs {
  std::string target;
  ConnectArgs connect;
  double every = 5, minutes = 0;
};

std::string model_time(std::int64_t epoch_unix_s, std::int64_t now_ms) {
  const std::time_t t = static_cast<std::time_t>(epoch_unix_s + now_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
  char out[96];
  std::snprintf(out, sizeof out, "%s (day %.2f)", buf, static_cast<double>(now_ms) / model::kMsPerDay);
  return out;
}

int watch(const WatchArgs& a) {
  std::atomic<bool> stop{false};
  std::mutex mutex;
  client::StateFollower* follower_ptr = nullptr;
  SignalWatcher signals([&](int) {
    stop = true;
    std::lock_guard lock(mutex);
    if (follower_ptr) follower_ptr->stop();
  });

  auto channel = open_channel(a.target, a.connect);
  // The model's epoch (for dates): wait up to 30 s for the server.
  v1::ModelSummary summary;
  {
    auto stub = v1::TwinService::NewStub(channel);
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    const grpc::Status st = stub->GetModel(&ctx, v1::GetModelRequest{}, &summary);
    if (!st.ok()) throw std::runtime_error(a.target + ": GetModel: " + st.error_message());
  }
  std::printf("watch: %s, %s twin at %s; a line every %g s\n", summary.name().c_str(),
              summary.mode() == v1::MODE_FOLLOW ? "follow" : "autonomous", a.target.c_str(), a.every);
  std::fflush(stdout);

  client::StateFollower follower(channel, std::max(1.0, 2.0 / a.every));
  std::optional<client::StateFigures> latest;
  {
    std::lock_guard lock(mutex);
    follower_ptr = &follower;
  }
  model::Result<bool> result(true);
  std::thread reader([&] {
    result = follower.run([&](const v1::StateKeyframe& s, const v1::StateFrame&) {
      std::lock_guard lock(mutex);
      latest = client::figures(s);
    });
    stop = true;
  });

  const auto t0 = Clock::now();
  std::optional<client::StateFigures> previous;
  for (int k = 1; !stop; ++k) {
    const auto due =
        t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(k * a.every));
    while (!stop && Clock::now() < due) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (stop) break;
    std::optional<client::StateFigures> f;
    {
      std::lock_guard lock(mutex);
      f = latest;
    }
    if (!f) {
      std::printf("watch: no state yet\n");
    } else {
      char rate[32] = "-";
      if (previous && f->now_ms > previous->now_ms)
        std::snprintf(rate, sizeof rate, "%.0f",
                      static_cast<double>(f->moves - previous->moves) /
                          (static_cast<double>(f->now_ms - previous->now_ms) / 3.6e6));
      std::printf(
          "%s | lots in fab %llu | moves/h %s | tools down %u (%u scheduled, %u unscheduled) | events acked "
          "%llu | version %llu\n",
          model_time(summary.epoch_unix_s(), f->now_ms).c_str(),
          static_cast<unsigned long long>(f->lots_in_fab), rate,
          f->tools_scheduled_down + f->tools_unscheduled_down, f->tools_scheduled_down,
          f->tools_unscheduled_down, static_cast<unsigned long long>(f->events_acknowledged),
          static_cast<unsigned long long>(f->version));
      previous = f;
    }
    std::fflush(stdout);
    if (a.minutes > 0 && since(t0) >= a.minutes * 60) break;
  }
  follower.stop();
  reader.join();
  {
    std::lock_guard lock(mutex);
    follower_ptr = nullptr;
  }
  if (!result.ok()) throw std::runtime_error(a.target + ": " + result.error().message);
  return 0;
}

}  // namespace

void add_watch_command(CLI::App& root, Commands& out) {
  auto a = std::make_shared<WatchArgs>();
  CLI::App* c = add_command(
      root, "watch", "Follows a live twin: a line of figures every few seconds",
      "Follows TwinService.StreamState of `fabtwin serve` and prints, every --every seconds: the twin's\n"
      "model time, lots in fab, moves per model hour over the last interval, tools down (scheduled +\n"
      "unscheduled), events acknowledged (applied, late included, + duplicate + refused) and the journal\n"
      "version. Reconnects when the server restarts. Ctrl-C or --minutes stops it.");
  required(c->add_option("--target", a->target, "the server")->type_name("HOST:PORT"));
  add_real(*c, "--every", a->every, "seconds between lines", 0, kInf, true);
  add_real(*c, "--minutes", a->minutes, "stop after this many minutes (0: until Ctrl-C)", 0);
  add_connect_options(*c, a->connect);
  out.push_back({c, [a] { return watch(*a); }});
}

}  // namespace fabtwin::cli
#endif  // FABTWIN_HAVE_SERVER
