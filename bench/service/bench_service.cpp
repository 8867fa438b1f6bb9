// bench_service --model PATH [what] [options]: the live twin's gRPC service under load
// (docs/benchmarks.md "Live twin service").
//   stream    an autonomous twin (warmed up --warmup-days, default 20) served over TCP loopback at
//             --speed (default 3600); --clients (64) StreamState clients at --fps (10) for
//             --seconds (60), --stalled (0) of them never reading. The clients run in a child
//             process (this program again, --client-process), so the server's CPU (getrusage of
//             this process) and RSS (/proc/self/status) are its own. Prints frame latency
//             (arrival wall time - the frame's built_unix_us) p50/p99, keyframe and delta bytes.
//   forecast  --replications (10) x --horizon-days (7) through the Forecast rpc of that twin,
//             --repeat (3) times: client wall and the server's wall_s.
//   ingest    a follow-mode twin (store on disk: WAL, synchronous=FULL) served over TCP loopback,
//             fed the --ingest-days (30) emulated HVLM log (seed 1) over one IngestEvents stream
//             in batches of --batch (1024), the next batches sent while earlier ones commit:
//             acknowledged events/s from the first write to the last reply (the client is a
//             thread of this process; its messages are built before the clock starts).
// what: stream,forecast,ingest (default all three). The store is put in --dir (default /tmp).
#include <grpcpp/grpcpp.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"

extern char** environ;

using namespace fabtwin;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string model, what = "stream,forecast,ingest", dir = "/tmp";
  int clients = 64, stalled = 0;
  double fps = 10, seconds = 60, speed = 3600, warmup_days = 20;
  double ingest_days = 30, horizon_days = 7;
  std::size_t batch = 1024;
  std::uint32_t replications = 10;
  int repeat = 3;
};

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "bench_service: %s\n", m.c_str());
  std::exit(1);
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::int64_t unix_us_now() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double cpu_seconds_self() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](timeval t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

// A /proc/self/status value in MB (VmRSS: now, VmHWM: peak).
double proc_mb(const char* key) {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(std::strlen(key) + 1)) / 1024.0;
  return 0;
}

double hours(model::SimTime t) { return static_cast<double>(t.time_since_epoch().count()) / 3.6e6; }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

std::unique_ptr<server::Server> serve(const model::Model& model, des::Mode mode, const std::string& db,
                                      double speed) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  live::LiveOptions o;
  o.sim.mode = mode;
  o.sim.seed = 1;
  o.db_path = db;
  auto t = live::LiveTwin::open(model, o);
  if (!t.ok()) die(t.error().what());
  auto s = server::Server::start(std::move(t.value()), {.listen = "127.0.0.1:0", .speed = speed});
  if (!s.ok()) die(s.error().what());
  return std::move(s.value());
}

// ---- the clients (a child process) -----------------------------------------------------------

// --client-process TARGET CLIENTS STALLED FPS SECONDS: prints one line of figures.
int client_process(const std::string& target, int clients, int stalled, double fps, double seconds) {
  auto channel_for = [&](int i) {
    grpc::ChannelArguments a;
    a.SetInt("fabtwin.client", i);  // one connection each, as separate clients would have
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), a);
  };
  std::mutex mutex;
  std::vector<double> latency_ms;
  std::vector<double> key_bytes, delta_bytes;
  std::atomic<std::uint64_t> errors{0};
  const auto until =
      std::chrono::system_clock::now() + std::chrono::milliseconds(static_cast<long>(seconds * 1000));
  std::vector<std::thread> threads;
  std::vector<std::unique_ptr<grpc::ClientContext>> stalled_calls;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::StateFrame>>> stalled_readers;
  std::vector<std::shared_ptr<grpc::Channel>> stalled_channels;
  v1::StreamStateRequest req;
  req.set_max_frames_per_second(fps);
  for (int i = 0; i < stalled; ++i) {  // started, never read
    stalled_channels.push_back(channel_for(1000 + i));
    auto stub = v1::TwinService::NewStub(stalled_channels.back());
    stalled_calls.push_back(std::make_unique<grpc::ClientContext>());
    stalled_readers.push_back(stub->StreamState(stalled_calls.back().get(), req));
  }
  for (int i = 0; i < clients - stalled; ++i) {
    threads.emplace_back([&, i] {
      auto stub = v1::TwinService::NewStub(channel_for(i));
      grpc::ClientContext ctx;
      ctx.set_deadline(until);
      auto reader = stub->StreamState(&ctx, req);
      std::vector<double> lat, kb, db;
      v1::StateFrame f;
      while (reader->Read(&f)) {
        lat.push_back(static_cast<double>(unix_us_now() - f.built_unix_us()) / 1000.0);
        (f.has_keyframe() ? kb : db).push_back(static_cast<double>(f.ByteSizeLong()));
      }
      const grpc::Status s = reader->Finish();
      if (!s.ok() && s.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) ++errors;
      std::lock_guard lock(mutex);
      latency_ms.insert(latency_ms.end(), lat.begin(), lat.end());
      key_bytes.insert(key_bytes.end(), kb.begin(), kb.end());
      delta_bytes.insert(delta_bytes.end(), db.begin(), db.end());
    });
  }
  for (auto& t : threads) t.join();
  for (auto& c : stalled_calls) c->TryCancel();
  double mean_delta = 0;
  for (double b : delta_bytes) mean_delta += b;
  if (!delta_bytes.empty()) mean_delta /= static_cast<double>(delta_bytes.size());
  std::printf(
      "clients: %d reading + %d stalled at %g frames/s for %g s: %zu frames (%.1f per reading client per s), "
      "latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; %zu keyframes (median %.0f bytes), %zu deltas (mean "
      "%.0f "
      "bytes); %llu streams ended with an error\n",
      clients - stalled, stalled, fps, seconds, latency_ms.size(),
      static_cast<double>(latency_ms.size()) / std::max(1, clients - stalled) / seconds,
      percentile(latency_ms, 0.5), percentile(latency_ms, 0.99), percentile(latency_ms, 1.0),
      key_bytes.size(), percentile(key_bytes, 0.5), delta_bytes.size(), mean_delta,
      static_cast<unsigned long long>(errors.load()));
  std::fflush(stdout);
  std::_Exit(0);  // the stalled calls are cancelled; do not wait for their teardown
}

// ---- stream, forecast, ingest ----------------------------------------------------------------

void stream(server::Server& srv, const Args& a) {
  const std::string target = "127.0.0.1:" + std::to_string(srv.port());
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::vector<std::string> argv_s = {self,
                                     "--client-process",
                                     target,
                                     std::to_string(a.clients),
                                     std::to_string(a.stalled),
                                     std::to_string(a.fps),
                                     std::to_string(a.seconds)};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const auto before = srv.stats();
  const double rss0 = proc_mb("VmRSS:");
  const double cpu0 = cpu_seconds_self();
  const auto t0 = Clock::now();
  const auto model0 = srv.twin().now();
  pid_t pid = 0;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0)
    die("cannot spawn the clients");
  // RSS sampled every second while the clients run (the peak over the run).
  double rss_max = rss0;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    rss_max = std::max(rss_max, proc_mb("VmRSS:"));
  }
  const double wall = seconds_since(t0);
  const double cpu = cpu_seconds_self() - cpu0;
  const auto after = srv.stats();
  std::printf(
      "server: %.1f s wall, model time %.1f -> %.1f h; CPU %.1f s (%.0f %% of one core), RSS %.0f MB before, "
      "%.0f MB peak while streaming, %.0f MB after (VmHWM %.0f MB); frames built: %llu keyframes, %llu "
      "deltas, "
      "%llu merged deltas; frames sent %llu\n",
      wall, hours(model0), hours(srv.twin().now()), cpu, 100 * cpu / wall, rss0, rss_max, proc_mb("VmRSS:"),
      proc_mb("VmHWM:"), static_cast<unsigned long long>(after.keyframes - before.keyframes),
      static_cast<unsigned long long>(after.deltas - before.deltas),
      static_cast<unsigned long long>(after.merged_deltas - before.merged_deltas),
      static_cast<unsigned long long>(after.frames_sent - before.frames_sent));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) die("the client process failed");
}

void forecast(server::Server& srv, const Args& a) {
  auto stub = v1::TwinService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(srv.port()), grpc::InsecureChannelCredentials()));
  std::vector<double> walls, server_walls;
  for (int i = 0; i < a.repeat; ++i) {
    v1::ForecastRequest req;
    req.set_horizon_days(a.horizon_days);
    req.set_replications(a.replications);
    req.set_seed(static_cast<std::uint64_t>(i + 1));
    v1::ForecastReply reply;
    grpc::ClientContext ctx;
    const auto t0 = Clock::now();
    const grpc::Status s = stub->Forecast(&ctx, req, &reply);
    if (!s.ok()) die("Forecast: " + s.error_message());
    walls.push_back(seconds_since(t0));
    server_walls.push_back(reply.wall_s());
  }
  std::string all;
  for (double w : walls) all += (all.empty() ? "" : ", ") + std::to_string(w).substr(0, 4);
  std::printf(
      "forecast: %u replications x %g days from model hour %.0f, %d runs: wall %s s (median %.2f s; "
      "server wall_s median %.2f s)\n",
      a.replications, a.horizon_days, hours(srv.twin().now()), a.repeat, all.c_str(), percentile(walls, 0.5),
      percentile(server_walls, 0.5));
}

void ingest(const model::Model& model, const Args& a) {
  auto t0 = Clock::now();
  std::vector<v1::IngestRequest> batches;
  std::size_t events = 0;
  {
    std::ostringstream out;
    auto emu = twin::emulate(model, {.sim = {.seed = 1}, .days = a.ingest_days}, out);
    if (!emu.ok()) die(emu.error().what());
    std::istringstream in(std::move(out).str());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      auto e = twin::parse_event_json(line, model.data().epoch_unix_s, ++n);
      if (!e.ok()) die(e.error().what());
      if (batches.empty() || static_cast<std::size_t>(batches.back().events_size()) == a.batch)
        batches.emplace_back();
      twin_pb::to_proto(e.value(), *batches.back().add_events());
      ++events;
    }
  }
  std::printf(
      "ingest: %s, %g days emulated, %zu events in %zu batches of %zu (%.1f s to emulate and encode)\n",
      model.name().c_str(), a.ingest_days, events, batches.size(), a.batch, seconds_since(t0));
  std::fflush(stdout);
  const std::string db = (fs::path(a.dir) / "bench_service_ingest.db").string();
  auto srv = serve(model, des::Mode::Follow, db, 0);
  auto stub = v1::IngestService::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(srv->port()), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto stream = stub->IngestEvents(&ctx);
  const double cpu0 = cpu_seconds_self();
  t0 = Clock::now();
  std::thread writer([&] {
    for (const auto& b : batches)
      if (!stream->Write(b)) break;
    stream->WritesDone();
  });
  std::array<std::uint64_t, 5> by_outcome{};
  v1::IngestReply reply;
  std::size_t replies = 0;
  while (stream->Read(&reply)) {
    ++replies;
    for (const auto& r : reply.results()) ++by_outcome[static_cast<std::size_t>(r.outcome()) % 5];
  }
  writer.join();
  const grpc::Status s = stream->Finish();
  const double wall = seconds_since(t0);
  const double cpu = cpu_seconds_self() - cpu0;
  if (!s.ok()) die("IngestEvents: " + s.error_message());
  const std::uint64_t acked = by_outcome[1] + by_outcome[2] + by_outcome[3] + by_outcome[4];
  const auto st = srv->stats();
  std::printf(
      "ingest: %llu events acknowledged (%llu applied, %llu late, %llu duplicate, %llu refused) in %zu "
      "replies, "
      "%.2f s: %.0f acknowledged events/s; %llu group commits; CPU (server + client) %.1f s\n",
      static_cast<unsigned long long>(acked), static_cast<unsigned long long>(by_outcome[1]),
      static_cast<unsigned long long>(by_outcome[2]), static_cast<unsigned long long>(by_outcome[3]),
      static_cast<unsigned long long>(by_outcome[4]), replies, wall, static_cast<double>(acked) / wall,
      static_cast<unsigned long long>(st.ingest_commits), cpu);
  srv->shutdown();
  srv.reset();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7 && std::string(argv[1]) == "--client-process")
    return client_process(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), std::stod(argv[5]),
                          std::stod(argv[6]));
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k.rfind("--", 0) != 0) {
      a.what = k;
      continue;
    }
    if (i + 1 >= argc) die("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--model")
      a.model = v;
    else if (k == "--dir")
      a.dir = v;
    else if (k == "--clients")
      a.clients = std::stoi(v);
    else if (k == "--stalled")
      a.stalled = std::stoi(v);
    else if (k == "--fps")
      a.fps = std::stod(v);
    else if (k == "--seconds")
      a.seconds = std::stod(v);
    else if (k == "--speed")
      a.speed = std::stod(v);
    else if (k == "--warmup-days")
      a.warmup_days = std::stod(v);
    else if (k == "--ingest-days")
      a.ingest_days = std::stod(v);
    else if (k == "--horizon-days")
      a.horizon_days = std::stod(v);
    else if (k == "--replications")
      a.replications = static_cast<std::uint32_t>(std::stoul(v));
    else if (k == "--repeat")
      a.repeat = std::stoi(v);
    else if (k == "--batch")
      a.batch = std::stoul(v);
    else
      die("unknown option " + k);
  }
  if (a.model.empty() || a.stalled > a.clients)
    die("usage: bench_service --model PATH [stream,forecast,ingest] [--clients 64] [--stalled 0] [--fps 10] "
        "[--seconds 60] [--speed 3600] [--warmup-days 20] [--horizon-days 7] [--replications 10] [--repeat "
        "3] "
        "[--ingest-days 30] [--batch 1024] [--dir /tmp]");
  auto m = io::load_model(a.model);
  if (!m.ok()) die(m.error().what());
  const model::Model& model = m.value();
  const auto has = [&](const char* w) { return a.what.find(w) != std::string::npos; };
  if (has("stream") || has("forecast")) {
    const std::string db = (fs::path(a.dir) / "bench_service_auto.db").string();
    const auto t0 = Clock::now();
    // Warmed up before serving (the clock thread then runs it on at --speed from there).
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
    live::LiveOptions o;
    o.sim.mode = des::Mode::Autonomous;
    o.sim.seed = 1;
    o.db_path = db;
    auto t = live::LiveTwin::open(model, o);
    if (!t.ok()) die(t.error().what());
    t.value()->advance_to(model::SimTime(model::round_ms(a.warmup_days * 86'400'000.0)));
    auto s = server::Server::start(std::move(t.value()), {.listen = "127.0.0.1:0", .speed = a.speed});
    if (!s.ok()) die(s.error().what());
    auto srv = std::move(s.value());
    const auto lots = srv->twin().read([](const des::Simulation& s) { return s.view().kpis.lots_in_fab; });
    std::printf("%s: autonomous twin warmed up to day %g (%llu lots in fab) in %.1f s; speed %g\n",
                model.name().c_str(), a.warmup_days, static_cast<unsigned long long>(lots), seconds_since(t0),
                a.speed);
    std::fflush(stdout);
    if (has("stream")) stream(*srv, a);
    if (has("forecast")) forecast(*srv, a);
    srv->shutdown();
    srv.reset();
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  }
  if (has("ingest")) ingest(model, a);
  return 0;
}
