// bench_live --model PATH [--days D] [--batch N] [--db FILE] [--checkpoint-every N]
// The live twin's durable ingest: emulates the model for D days (default 30), then feeds every
// event through LiveTwin::ingest in batches of N (default 256) with the store on disk (WAL,
// synchronous=FULL), and prints acknowledged events/s; then reopens the store twice, after a
// crash (no checkpoint at close: the newest periodic checkpoint + the events after it) and with no
// checkpoint at all (every event replayed), and prints the recovery times.
#include <sqlite3.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin/state_file.hpp"

using namespace fabtwin;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

[[noreturn]] void die(const std::string& m) {
  std::fprintf(stderr, "bench_live: %s\n", m.c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, db = "bench_live.db";
  double days = 30;
  std::size_t batch = 256;
  std::uint64_t every = 50'000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model")
      model_path = v;
    else if (k == "--days")
      days = std::stod(v);
    else if (k == "--batch")
      batch = std::stoul(v);
    else if (k == "--db")
      db = v;
    else if (k == "--checkpoint-every")
      every = std::stoull(v);
    else
      die("unknown option " + k);
  }
  if (model_path.empty())
    die("usage: bench_live --model PATH [--days D] [--batch N] [--db FILE] [--checkpoint-every N]");
  auto m = io::load_model(model_path);
  if (!m.ok()) die(m.error().what());
  const model::Model& model = m.value();

  auto t0 = Clock::now();
  std::ostringstream out;
  auto emu = twin::emulate(model, {.sim = {.seed = 1}, .days = days}, out);
  if (!emu.ok()) die(emu.error().what());
  std::vector<des::Event> events;
  {
    std::istringstream in(out.str());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      auto e = twin::parse_event_json(line, model.data().epoch_unix_s, ++n);
      if (!e.ok()) die(e.error().what());
      events.push_back(std::move(e.value()));
    }
  }
  std::printf("%s: %g days emulated, %zu events (%.1f s with parsing)\n", model.name().c_str(), days,
              events.size(), seconds_since(t0));

  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db + suffix);
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db;
  o.checkpoint_every_events = every;
  o.checkpoint_every_s = 0;
  o.checkpoint_at_close = false;  // the reopen below recovers as after a crash
  std::string state;
  std::uint64_t version = 0;
  {
    auto t = live::LiveTwin::open(model, o);
    if (!t.ok()) die(t.error().what());
    t0 = Clock::now();
    std::size_t applied = 0;
    for (std::size_t i = 0; i < events.size(); i += batch) {
      auto r = t.value()->ingest(
          std::span<const des::Event>(events).subspan(i, std::min(batch, events.size() - i)));
      if (!r.ok()) die(r.error().what());
      for (const auto& x : r.value()) applied += x.applied();
    }
    const double s = seconds_since(t0);
    std::printf(
        "ingest: %zu events in batches of %zu, %.2f s: %.0f acknowledged events/s (%zu applied), "
        "checkpoint every %llu events\n",
        events.size(), batch, s, static_cast<double>(events.size()) / s, applied,
        static_cast<unsigned long long>(every));
    state = t.value()->read([](const des::Simulation& x) { return twin::state_text(x); });
    version = t.value()->version();
    auto c = t.value()->store().counts().value();
    std::printf("store: %llu events, %llu lot steps, %llu checkpoints, %.1f MB (+ WAL %.1f MB)\n",
                static_cast<unsigned long long>(c.events), static_cast<unsigned long long>(c.lot_steps),
                static_cast<unsigned long long>(c.checkpoints),
                static_cast<double>(std::filesystem::file_size(db)) / 1e6,
                std::filesystem::exists(db + "-wal")
                    ? static_cast<double>(std::filesystem::file_size(db + "-wal")) / 1e6
                    : 0.0);
  }
  auto reopen = [&](const char* what) {
    const auto t1 = Clock::now();
    auto t = live::LiveTwin::open(model, o);
    if (!t.ok()) die(t.error().what());
    const double s = seconds_since(t1);
    const auto& r = t.value()->recovery();
    const bool same = t.value()->version() == version &&
                      t.value()->read([](const des::Simulation& x) { return twin::state_text(x); }) == state;
    std::printf(
        "recovery (%s): %.2f s (open + restore + %llu events replayed + %llu ids loaded), same state and "
        "version: %s\n",
        what, s, static_cast<unsigned long long>(r.events_replayed),
        static_cast<unsigned long long>(r.ids_loaded), same ? "yes" : "NO");
    if (!same) std::exit(1);
  };
  reopen("newest checkpoint + events after it");
  {
    sqlite3* h = nullptr;
    sqlite3_open(db.c_str(), &h);
    sqlite3_exec(h, "DELETE FROM checkpoints", nullptr, nullptr, nullptr);
    sqlite3_close(h);
  }
  reopen("no checkpoint: every event");
  return 0;
}
