// The live twin over gRPC, over an in-process channel and a real TCP port: the model, snapshots,
// streamed frames that rebuild the snapshot exactly, acknowledged ingest (unary and streamed),
// duplicates, bad requests named by field, health, reflection, and a restart from the store.
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/client_unary_call.h>
#include <grpcpp/impl/rpc_method.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <thread>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/server.hpp"
#include "fabtwin/twin/emulator.hpp"
#include "fabtwin/twin/event_json.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "grpc_bytes.hpp"
#include "temp_dir.hpp"
#include "test_paths.hpp"

using namespace fabtwin;
using google::protobuf::util::MessageDifferencer;

namespace {

namespace fs = std::filesystem;

std::chrono::system_clock::time_point in_seconds(int s) {
  return std::chrono::system_clock::now() + std::chrono::seconds(s);
}

struct TempDir : test::TempDir {
  TempDir() : test::TempDir("fabtwin_server") {}
};

const model::Model& minifab() {
  static const model::Model m = io::load_model(test::minifab()).value();
  return m;
}

// The mini-fab's MES events over `days` of emulation, as messages.
const std::vector<v1::MesEvent>& emulated(double days = 3) {
  static const std::vector<v1::MesEvent> events = [&] {
    const model::Model& m = minifab();
    std::ostringstream out;
    auto r = twin::emulate(m, {.sim = {.seed = 5}, .days = days}, out);
    REQUIRE(r.ok());
    std::vector<v1::MesEvent> v;
    std::istringstream in(out.str());
    int n = 0;
    for (std::string l; std::getline(in, l);) {
      auto e = twin::parse_event_json(l, m.data().epoch_unix_s, ++n);
      REQUIRE(e.ok());
      v.push_back(twin_pb::to_proto(e.value()));
    }
    return v;
  }();
  return events;
}

std::unique_ptr<live::LiveTwin> open_twin(const fs::path& db) {
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db.string();
  auto t = live::LiveTwin::open(minifab(), o);
  if (!t) FAIL(t.error().what());
  return std::move(t.value());
}

struct Running {
  TempDir dir;
  std::unique_ptr<server::Server> server;
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<v1::TwinService::Stub> twin;
  std::unique_ptr<v1::IngestService::Stub> ingest;

  // `tcp`: the client goes through 127.0.0.1:<picked port>; else the in-process channel.
  explicit Running(bool tcp, server::ServerOptions options = {}) {
    options.listen = "127.0.0.1:0";
    auto s = server::Server::start(open_twin(dir.path / "live.db"), options);
    if (!s) FAIL(s.error().what());
    server = std::move(s.value());
    REQUIRE(server->port() > 0);
    channel = tcp ? grpc::CreateChannel("127.0.0.1:" + std::to_string(server->port()),
                                        grpc::InsecureChannelCredentials())
                  : server->in_process_channel();
    twin = v1::TwinService::NewStub(channel);
    ingest = v1::IngestService::NewStub(channel);
  }

  v1::StateKeyframe snapshot() {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(30));
    v1::StateKeyframe k;
    const grpc::Status s = twin->GetSnapshot(&ctx, {}, &k);
    REQUIRE(s.ok());
    return k;
  }

  grpc::Status send(const v1::IngestRequest& req, v1::IngestReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(30));
    return ingest->Ingest(&ctx, req, &reply);
  }

  // Sends events [from, to) in batches of `batch`; every reply acknowledges its batch.
  void send_all(std::size_t from, std::size_t to, std::size_t batch) {
    const auto& events = emulated();
    for (std::size_t i = from; i < to; i += batch) {
      v1::IngestRequest req;
      for (std::size_t k = i; k < std::min(to, i + batch); ++k) *req.add_events() = events[k];
      v1::IngestReply reply;
      const grpc::Status s = send(req, reply);
      REQUIRE(s.ok());
      REQUIRE(reply.results_size() == req.events_size());
    }
  }
};

std::string diff(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  MessageDifferencer d;
  std::string report;
  d.ReportDifferencesToString(&report);
  return d.Compare(a, b) ? std::string{} : report.substr(0, 2000);
}

// The keyframe a follow twin fed the same events holds (the engine, without the service).
v1::StateKeyframe reference(std::size_t events) {
  auto sim = des::Simulation::create(minifab(), {.mode = des::Mode::Follow});
  REQUIRE(sim.ok());
  twin::Ledger ledger(sim.value());
  const twin_pb::EventDecoder decoder(minifab());
  for (std::size_t i = 0; i < events; ++i) ledger.apply(decoder.decode(emulated()[i]).value());
  return twin_pb::to_proto(sim->view());
}

using fabtwin::test::to_buffer;
using fabtwin::test::to_string;

// Clients of services whose protos are not ours (health, reflection): raw bytes, decoded with
// Protobuf's wire-format reader.
const google::protobuf::UnknownField* field(const google::protobuf::UnknownFieldSet& set, int number) {
  for (int i = 0; i < set.field_count(); ++i)
    if (set.field(i).number() == number) return &set.field(i);
  return nullptr;
}

}  // namespace

TEST_CASE("GetModel names the mini-fab's tools, steps and setups", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  grpc::ClientContext ctx;
  v1::ModelSummary s;
  REQUIRE(r.twin->GetModel(&ctx, {}, &s).ok());
  CHECK(diff(s, twin_pb::model_summary(minifab(), des::Mode::Follow)) == "");
}

TEST_CASE("ingested events are acknowledged and the snapshot shows them", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  const std::size_t n = std::min<std::size_t>(emulated().size(), 600);
  r.send_all(0, n, 50);
  const v1::StateKeyframe k = r.snapshot();
  CHECK(k.counts().applied() + k.counts().refused() == n);
  CHECK(diff(k, reference(n)) == "");
  CHECK(r.server->stats().ingest_events == n);
}

TEST_CASE("a replay of the same batch is acknowledged as duplicates and changes nothing", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  v1::IngestRequest req;
  for (std::size_t k = 0; k < 40; ++k) *req.add_events() = emulated()[k];
  v1::IngestReply first, second;
  REQUIRE(r.send(req, first).ok());
  for (const auto& e : first.results()) CHECK(e.outcome() != v1::OUTCOME_DUPLICATE);
  const v1::StateKeyframe before = r.snapshot();
  REQUIRE(r.send(req, second).ok());
  REQUIRE(second.results_size() == 40);
  for (int i = 0; i < 40; ++i) {
    CHECK(second.results(i).id() == req.events(i).id());
    CHECK(second.results(i).outcome() == v1::OUTCOME_DUPLICATE);
  }
  const v1::StateKeyframe after = r.snapshot();
  CHECK(after.counts().duplicate() == before.counts().duplicate() + 40);
  CHECK(after.counts().applied() == before.counts().applied());
  // Apart from the counts (and the version they raised), nothing changed.
  v1::StateKeyframe same = after;
  *same.mutable_counts() = before.counts();
  same.set_version(before.version());
  CHECK(diff(same, before) == "");
}

TEST_CASE("an event that contradicts the state is refused with its reason and field", "[server]") {
  Running r(false);
  v1::IngestRequest req;
  v1::MesEvent& e = *req.add_events();
  e.set_id("x1");
  e.set_kind(v1::EVENT_KIND_HOLD);
  e.add_lots("no_such_lot");
  v1::IngestReply reply;
  REQUIRE(r.send(req, reply).ok());
  REQUIRE(reply.results_size() == 1);
  CHECK(reply.results(0).outcome() == v1::OUTCOME_REFUSED);
  CHECK(reply.results(0).reason() == v1::REFUSE_REASON_UNKNOWN_LOT);
  CHECK(reply.results(0).field() == "lots[0]");
  CHECK(r.snapshot().counts().refused() == 1);
}

TEST_CASE("bad requests are refused naming the field, and the server keeps serving", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  v1::IngestRequest req;
  for (std::size_t k = 0; k < 5; ++k) *req.add_events() = emulated()[k];
  v1::MesEvent& bad = *req.mutable_events(3);
  bad.Clear();
  bad.set_id("bad");
  bad.set_kind(v1::EVENT_KIND_PM_END);
  bad.set_tool("X");
  v1::IngestReply reply;
  grpc::Status s = r.send(req, reply);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(s.error_message() == "events[3].tool: unknown tool \"X\"");

  s = r.send({}, reply);
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::StartsWith("events: empty"));

  {
    v1::StreamStateRequest sr;
    sr.set_max_frames_per_second(-1);
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(30));
    auto reader = r.twin->StreamState(&ctx, sr);
    v1::StateFrame f;
    CHECK_FALSE(reader->Read(&f));
    s = reader->Finish();
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), Catch::StartsWith("max_frames_per_second: "));
  }
  {
    grpc::ClientContext ctx;
    v1::ForecastReply fr;
    const grpc::Status s = r.twin->Forecast(&ctx, {}, &fr);  // horizon_days 0
    CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(s.error_message(), Catch::StartsWith("horizon_days: "));
  }
  // Nothing of the refused requests was applied; the server still answers.
  const v1::StateKeyframe k = r.snapshot();
  CHECK(k.counts().applied() == 0);
  CHECK(k.counts().refused() == 0);
  r.send_all(0, 5, 5);
  CHECK(r.snapshot().counts().applied() + r.snapshot().counts().refused() == 5);
}

TEST_CASE("a keyframe and the streamed deltas rebuild exactly the snapshot at that version", "[server]") {
  const bool tcp = GENERATE(false, true);
  const double fps = GENERATE(1000.0, 5.0);  // 5/s: the client falls behind and gets merged deltas
  Running r(tcp);
  r.send_all(0, 100, 100);  // a state before the stream starts

  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(120));
  v1::StreamStateRequest sr;
  sr.set_max_frames_per_second(fps);
  auto reader = r.twin->StreamState(&ctx, sr);
  v1::StateFrame first;
  REQUIRE(reader->Read(&first));
  REQUIRE(first.has_keyframe());
  v1::StateKeyframe rebuilt = first.keyframe();

  std::atomic<std::uint64_t> seen{rebuilt.version()};
  std::atomic<int> keyframes{1}, deltas{0};
  std::string failure;
  std::atomic<bool> failed{false};
  std::thread client([&] {
    v1::StateFrame f;
    while (reader->Read(&f)) {
      if (f.has_keyframe()) {
        rebuilt = f.keyframe();
        ++keyframes;
      } else {
        try {
          twin_pb::apply_delta(rebuilt, f.delta());
        } catch (const std::exception& e) {
          failure = e.what();
          failed = true;
          return;
        }
        ++deltas;
      }
      seen = rebuilt.version();
    }
  });
  const std::size_t n = std::min<std::size_t>(emulated().size(), 1500);
  r.send_all(100, n, 20);
  const v1::StateKeyframe snap = r.snapshot();
  // Wait (a hang guard, not a timing check) until the client holds the snapshot's version.
  for (int i = 0; i < 60'000 && seen.load() != snap.version() && !failed; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ctx.TryCancel();
  client.join();
  REQUIRE(failure == "");
  REQUIRE(rebuilt.version() == snap.version());
  CHECK(diff(rebuilt, snap) == "");
  CHECK(deltas > 0);
  CHECK(keyframes == 1);  // the journal keeps every version: deltas only after the first frame
  const auto stats = r.server->stats();
  CHECK(stats.keyframes >= 1);
  CHECK(stats.frames_sent >= static_cast<std::uint64_t>(deltas + 1));
}

TEST_CASE("StreamState from a version the client holds starts with a delta", "[server]") {
  Running r(false);
  r.send_all(0, 200, 100);
  const v1::StateKeyframe held = r.snapshot();
  r.send_all(200, 400, 100);
  const v1::StateKeyframe now = r.snapshot();
  REQUIRE(now.version() > held.version());

  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(60));
  v1::StreamStateRequest sr;
  sr.set_from_version(held.version());
  auto reader = r.twin->StreamState(&ctx, sr);
  v1::StateFrame f;
  REQUIRE(reader->Read(&f));
  REQUIRE(f.has_delta());
  CHECK(f.delta().from_version() == held.version());
  v1::StateKeyframe rebuilt = held;
  twin_pb::apply_delta(rebuilt, f.delta());
  CHECK(diff(rebuilt, now) == "");
  ctx.TryCancel();
}

TEST_CASE("IngestEvents acknowledges each streamed batch after its commit", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(60));
  auto stream = r.ingest->IngestEvents(&ctx);
  const std::size_t n = std::min<std::size_t>(emulated().size(), 500), batch = 50;
  std::size_t acknowledged = 0;
  for (std::size_t i = 0; i < n; i += batch) {
    v1::IngestRequest req;
    for (std::size_t k = i; k < std::min(n, i + batch); ++k) *req.add_events() = emulated()[k];
    REQUIRE(stream->Write(req));
    v1::IngestReply reply;
    REQUIRE(stream->Read(&reply));
    REQUIRE(reply.results_size() == req.events_size());
    for (int k = 0; k < reply.results_size(); ++k) CHECK(reply.results(k).id() == req.events(k).id());
    acknowledged += reply.results_size();
    CHECK(reply.version() > 0);
  }
  stream->WritesDone();
  CHECK(stream->Finish().ok());
  CHECK(acknowledged == n);
  CHECK(diff(r.snapshot(), reference(n)) == "");

  // A bad batch ends the stream with the field named; what came before stays acknowledged.
  grpc::ClientContext ctx2;
  ctx2.set_deadline(in_seconds(60));
  auto bad = r.ingest->IngestEvents(&ctx2);
  v1::IngestRequest req;
  req.add_events()->set_id("");
  REQUIRE(bad->Write(req));
  v1::IngestReply reply;
  CHECK_FALSE(bad->Read(&reply));
  const grpc::Status s = bad->Finish();
  CHECK(s.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(s.error_message(), Catch::StartsWith("events[0].id: "));
}

TEST_CASE("health answers SERVING and reflection lists the services", "[server]") {
  const bool tcp = GENERATE(false, true);
  Running r(tcp);
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(30));
    const grpc::internal::RpcMethod check("/grpc.health.v1.Health/Check",
                                          grpc::internal::RpcMethod::NORMAL_RPC);
    grpc::ByteBuffer reply;
    // HealthCheckRequest{service: ""} is the empty message.
    const grpc::Status s =
        grpc::internal::BlockingUnaryCall(r.channel.get(), check, &ctx, to_buffer(""), &reply);
    REQUIRE(s.ok());
    google::protobuf::UnknownFieldSet resp;
    REQUIRE(resp.ParseFromString(to_string(reply)));
    const auto* status = field(resp, 1);  // HealthCheckResponse.status
    REQUIRE(status);
    CHECK(status->varint() == 1);  // SERVING
  }
  {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(30));
    const grpc::internal::RpcMethod info("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                                         grpc::internal::RpcMethod::BIDI_STREAMING);
    std::unique_ptr<grpc::ClientReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer>> stream(
        grpc::internal::ClientReaderWriterFactory<grpc::ByteBuffer, grpc::ByteBuffer>::Create(r.channel.get(),
                                                                                              info, &ctx));
    // ServerReflectionRequest{list_services: "*"}: field 7, length 1.
    REQUIRE(stream->Write(to_buffer(std::string("\x3a\x01*", 3))));
    stream->WritesDone();
    grpc::ByteBuffer reply;
    REQUIRE(stream->Read(&reply));
    REQUIRE(stream->Finish().ok());
    google::protobuf::UnknownFieldSet resp;
    REQUIRE(resp.ParseFromString(to_string(reply)));
    const auto* list = field(resp, 6);  // list_services_response
    REQUIRE(list);
    google::protobuf::UnknownFieldSet services;
    REQUIRE(services.ParseFromString(list->length_delimited()));
    std::vector<std::string> names;
    for (int i = 0; i < services.field_count(); ++i) {
      google::protobuf::UnknownFieldSet service;
      REQUIRE(service.ParseFromString(services.field(i).length_delimited()));
      if (const auto* name = field(service, 1)) names.push_back(name->length_delimited());
    }
    CHECK_THAT(names, Catch::VectorContains(std::string("fabtwin.v1.TwinService")));
    CHECK_THAT(names, Catch::VectorContains(std::string("fabtwin.v1.IngestService")));
  }
}

TEST_CASE("after a restart on the same store the twin serves the same state", "[server]") {
  TempDir dir;
  const fs::path db = dir.path / "live.db";
  v1::StateKeyframe before;
  {
    auto s = server::Server::start(open_twin(db), {.listen = "127.0.0.1:0"});
    REQUIRE(s.ok());
    auto stub = v1::IngestService::NewStub(s.value()->in_process_channel());
    const std::size_t n = std::min<std::size_t>(emulated().size(), 700);
    for (std::size_t i = 0; i < n; i += 100) {
      v1::IngestRequest req;
      for (std::size_t k = i; k < std::min(n, i + 100); ++k) *req.add_events() = emulated()[k];
      grpc::ClientContext ctx;
      v1::IngestReply reply;
      REQUIRE(stub->Ingest(&ctx, req, &reply).ok());
    }
    before = twin_pb::to_proto(s.value()->twin().read([](const des::Simulation& sim) { return sim.view(); }));
    s.value()->shutdown();
  }
  auto s = server::Server::start(open_twin(db), {.listen = "127.0.0.1:0"});
  REQUIRE(s.ok());
  auto stub = v1::TwinService::NewStub(grpc::CreateChannel("127.0.0.1:" + std::to_string(s.value()->port()),
                                                           grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  v1::StateKeyframe after;
  REQUIRE(stub->GetSnapshot(&ctx, {}, &after).ok());
  CHECK(diff(after, before) == "");
}

TEST_CASE("shutdown ends open streams with UNAVAILABLE", "[server]") {
  Running r(true);
  grpc::ClientContext ctx;
  ctx.set_deadline(in_seconds(60));
  auto reader = r.twin->StreamState(&ctx, {});
  v1::StateFrame f;
  REQUIRE(reader->Read(&f));
  r.server->shutdown();
  while (reader->Read(&f)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::UNAVAILABLE);
}

TEST_CASE("a port in use is refused naming the address", "[server]") {
  TempDir dir;
  auto a = server::Server::start(open_twin(dir.path / "a.db"), {.listen = "127.0.0.1:0"});
  REQUIRE(a.ok());
  const std::string taken = "127.0.0.1:" + std::to_string(a.value()->port());
  auto b = server::Server::start(open_twin(dir.path / "b.db"), {.listen = taken});
  REQUIRE_FALSE(b.ok());
  CHECK(b.error().field == "listen");
  CHECK_THAT(b.error().message, Catch::Contains(taken));
}

TEST_CASE("Forecast runs the live state ahead; bad requests name the field", "[server][forecast]") {
  const bool tcp = GENERATE(false, true);
  Running s(tcp);
  s.send_all(0, emulated().size() / 2, 200);
  const v1::StateKeyframe k = s.snapshot();
  REQUIRE(k.lots_size() > 0);
  auto ask = [&](const v1::ForecastRequest& req, v1::ForecastReply& reply) {
    grpc::ClientContext ctx;
    ctx.set_deadline(in_seconds(60));
    return s.twin->Forecast(&ctx, req, &reply);
  };
  v1::ForecastRequest req;
  req.set_horizon_days(4);
  req.set_replications(4);
  req.add_at_hours(24);
  v1::ForecastReply reply;
  const grpc::Status ok = ask(req, reply);
  REQUIRE(ok.ok());
  CHECK(reply.from_version() == k.version());
  CHECK(reply.to_ms() - reply.from_ms() == 4 * 86'400'000);
  CHECK(reply.replications() == 4);
  CHECK(reply.lots_size() == k.lots_size());
  CHECK(reply.moves().n() == 4);
  CHECK(reply.moves().mean() > 0);
  for (const auto& l : reply.lots()) {
    CHECK(l.completed_fraction() >= 0);
    CHECK(l.completed_fraction() <= 1);
    CHECK(l.position_at_size() == 1);
    if (l.completion_ms().n() > 0) CHECK(l.completion_ms().p10() >= reply.from_ms());
  }
  // The same request again gives the same figures (seeded), and the live twin did not move.
  v1::ForecastReply again;
  REQUIRE(ask(req, again).ok());
  CHECK(again.moves().mean() == reply.moves().mean());
  CHECK(s.snapshot().version() == k.version());

  auto refused = [&](v1::ForecastRequest bad) {
    v1::ForecastReply r;
    return ask(bad, r);
  };
  v1::ForecastRequest bad = req;
  bad.set_horizon_days(0);
  grpc::Status st = refused(bad);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().rfind("horizon_days:", 0) == 0);
  bad = req;
  bad.set_replications(5000);
  st = refused(bad);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().rfind("replications:", 0) == 0);
  bad = req;
  bad.add_at_hours(1000);
  st = refused(bad);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message().rfind("at_hours[1]:", 0) == 0);
  bad = req;
  bad.add_lots("no such lot");
  st = refused(bad);
  CHECK(st.error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(st.error_message().rfind("lots[0]:", 0) == 0);
}
