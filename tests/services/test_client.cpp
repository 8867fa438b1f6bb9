// The C++ client of `fabtwin serve` over a real TCP port: IngestClient acknowledges every event
// once, across a server restart (resending what was not acknowledged, never skipping an event) and
// stops at a batch the server refuses; StateFollower rebuilds exactly the server's state and
// follows it across a restart.
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "fabtwin/client/client.hpp"
#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using google::protobuf::util::MessageDifferencer;

namespace {

namespace fs = std::filesystem;

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("fabtwin_client") {}
};

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

// The mini-fab's MES events over 3 days of emulation, in batches of `batch`.
std::vector<v1::IngestRequest> batches(int batch) {
  auto sim = des::Simulation::create(minifab(), {.seed = 5, .mode = des::Mode::Autonomous});
  REQUIRE(sim.ok());
  std::vector<v1::IngestRequest> out(1);
  twin::Emulator emulator(sim.value(), [&](const des::Event& e) {
    if (out.back().events_size() == batch) out.emplace_back();
    twin_pb::to_proto(e, *out.back().add_events());
  });
  sim->add_observer(&emulator);
  sim->run_until(model::SimTime{model::Duration{3 * 86'400'000LL}});
  sim->remove_observer(&emulator);
  return out;
}

std::unique_ptr<server::Server> start(const fs::path& db, const std::string& listen = "127.0.0.1:0") {
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db.string();
  auto t = live::LiveTwin::open(minifab(), o);
  if (!t) FAIL(t.error().what());
  server::ServerOptions so;
  so.listen = listen;
  auto s = server::Server::start(std::move(t.value()), so);
  if (!s) FAIL(s.error().what());
  return std::move(s.value());
}

}  // namespace

TEST_CASE("IngestClient: every event acknowledged once, across a server restart", "[client]") {
  TempDir dir;
  const auto all = batches(50);
  REQUIRE(all.size() > 6);
  std::size_t total = 0;
  for (const auto& b : all) total += static_cast<std::size_t>(b.events_size());

  auto srv = start(dir.path / "live.db");
  const std::string target = "127.0.0.1:" + std::to_string(srv->port());
  std::map<std::string, int> acks;
  client::IngestClient ingest(client::connect(target), 3, {.give_up_s = 30},
                              [&](const v1::EventResult& r) { ++acks[r.id()]; });
  const std::size_t half = all.size() / 2;
  for (std::size_t i = 0; i < half; ++i) REQUIRE(ingest.send(all[i]).ok());
  // The server goes away (its end of the stream cancelled) with up to 3 batches unacknowledged,
  // and comes back on the same port while the client sends the rest.
  srv->shutdown();
  srv.reset();
  std::thread restart([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    srv = start(dir.path / "live.db", target);
  });
  for (std::size_t i = half; i < all.size(); ++i) REQUIRE(ingest.send(all[i]).ok());
  REQUIRE(ingest.finish().ok());
  restart.join();

  const client::IngestCounts& c = ingest.counts();
  CHECK(c.events_sent == total);
  CHECK(c.acknowledged_total() == total);
  CHECK(c.acknowledged[3] == 0);  // none refused
  CHECK(acks.size() == total);
  CHECK(std::all_of(acks.begin(), acks.end(), [](const auto& kv) { return kv.second == 1; }));
  // The twin applied each event once: applied + duplicates = what was acknowledged.
  const des::EventCounts counts = srv->twin().read([](const des::Simulation& s) { return s.event_counts(); });
  CHECK(counts.applied == total);
  CHECK(counts.duplicate == c.acknowledged[2]);
  CHECK(c.reconnects >= 1);
}

TEST_CASE("IngestClient: a batch the server refuses ends with an Error naming the field", "[client]") {
  TempDir dir;
  auto srv = start(dir.path / "live.db");
  client::IngestClient ingest(client::connect("127.0.0.1:" + std::to_string(srv->port())), 2,
                              {.give_up_s = 30});
  v1::IngestRequest bad;
  v1::MesEvent& e = *bad.add_events();
  e.set_id("x1");
  e.set_kind(v1::EVENT_KIND_TOOL_STATE);
  e.set_tool("no such tool");
  e.set_state(v1::TOOL_STATE_UNSCHEDULED_DOWN);
  auto sent = ingest.send(bad);
  if (sent.ok()) sent = ingest.finish();
  REQUIRE_FALSE(sent.ok());
  CHECK(sent.error().message.find("events[0].tool") != std::string::npos);
  CHECK(ingest.counts().unacknowledged() == 1);
}

TEST_CASE("StateFollower rebuilds the server's state exactly and follows it across a restart", "[client]") {
  TempDir dir;
  const auto all = batches(100);
  auto srv = start(dir.path / "live.db");
  const std::string target = "127.0.0.1:" + std::to_string(srv->port());

  std::mutex m;
  v1::StateKeyframe seen;
  client::StateFollower follower(client::connect(target), 100, {.give_up_s = 30});
  std::thread reader([&] {
    auto r = follower.run([&](const v1::StateKeyframe& s, const v1::StateFrame&) {
      std::lock_guard lock(m);
      seen = s;
    });
    CHECK(r.ok());
  });
  // Waits until the follower holds the server's version; returns what it holds and the server's.
  auto settle = [&] {
    const std::uint64_t v = srv->twin().version();
    for (int k = 0; k < 3000; ++k) {
      {
        std::lock_guard lock(m);
        if (seen.version() == v) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    std::lock_guard lock(m);
    return std::pair{seen,
                     srv->twin().read([](const des::Simulation& s) { return twin_pb::to_proto(s.view()); })};
  };

  client::IngestClient ingest(client::connect(target), 4, {.give_up_s = 30});
  const std::size_t half = all.size() / 2;
  for (std::size_t i = 0; i < half; ++i) REQUIRE(ingest.send(all[i]).ok());
  REQUIRE(ingest.finish().ok());
  auto [a, want_a] = settle();
  CHECK(a.version() > 0);
  CHECK(MessageDifferencer::Equals(a, want_a));

  srv->shutdown();
  srv.reset();
  srv = start(dir.path / "live.db", target);
  for (std::size_t i = half; i < all.size(); ++i) REQUIRE(ingest.send(all[i]).ok());
  REQUIRE(ingest.finish().ok());
  auto [b, want_b] = settle();
  CHECK(b.version() > a.version());
  CHECK(MessageDifferencer::Equals(b, want_b));
  CHECK(follower.reconnects() >= 1);
  follower.stop();
  reader.join();
}
