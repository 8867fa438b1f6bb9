#include "fabtwin/server/server.hpp"

#include <arpa/inet.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <netinet/in.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "fabtwin/server/requests.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "gate.hpp"
#include "ingest.hpp"
#include "publisher.hpp"
#include "whatif_service.hpp"
#include "yield_service.hpp"

namespace fabtwin::server {

namespace {

grpc::Status invalid(const model::Error& e) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, twin_pb::status_text(e));
}

grpc::Status unavailable(const std::string& what) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE, what);
}

// The reply to a committed batch (ids from the request, outcomes from the twin).
void fill_reply(const v1::IngestRequest& request, const IngestAck& ack, v1::IngestReply& reply) {
  reply.Clear();
  reply.mutable_results()->Reserve(request.events_size());
  for (int i = 0; i < request.events_size(); ++i)
    twin_pb::to_proto(request.events(i).id(), ack.outcomes[static_cast<std::size_t>(i)],
                      *reply.add_results());
  reply.set_version(ack.version);
  reply.set_now_ms(ack.now_ms);
}

// Decodes a request (requests::ingest): the events, or the status to answer.
struct Decoded {
  std::vector<des::Event> events;
  grpc::Status status;
};

Decoded decode(const twin_pb::EventDecoder& decoder, const v1::IngestRequest& request,
               std::uint32_t max_events) {
  auto events = requests::ingest(decoder, request, max_events);
  if (!events) return {{}, invalid(events.error())};
  return {std::move(events.value()), grpc::Status::OK};
}

using TwinServiceBase = v1::TwinService::WithCallbackMethod_GetModel<
    v1::TwinService::WithCallbackMethod_GetSnapshot<v1::TwinService::WithRawCallbackMethod_StreamState<
        v1::TwinService::WithCallbackMethod_Forecast<v1::TwinService::Service>>>>;

class TwinServiceImpl final : public TwinServiceBase {
 public:
  TwinServiceImpl(live::LiveTwin& twin, Publisher& publisher, const Gate& gate)
      : gate_(&gate),
        twin_(&twin),
        publisher_(&publisher),
        summary_(twin_pb::model_summary(twin.model(), twin.options().sim.mode)) {}

  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx, const v1::GetModelRequest*,
                                     v1::ModelSummary* reply) override {
    if (auto st = gate_->check(ctx, kGetModel); !st.ok()) return finish_now(ctx, st);
    *reply = summary_;
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerUnaryReactor* GetSnapshot(grpc::CallbackServerContext* ctx, const v1::GetSnapshotRequest*,
                                        v1::StateKeyframe* reply) override {
    if (auto st = gate_->check(ctx, kGetSnapshot); !st.ok()) return finish_now(ctx, st);
    auto* r = ctx->DefaultReactor();
    try {
      const des::StateView view = twin_->read([](const des::Simulation& sim) { return sim.view(); });
      twin_pb::to_proto(view, *reply);
      r->Finish(grpc::Status::OK);
    } catch (const std::exception& e) {
      r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
    return r;
  }

  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamState(grpc::CallbackServerContext* ctx,
                                                          const grpc::ByteBuffer* raw) override {
    if (auto st = gate_->check(ctx, kStreamState); !st.ok()) return new StreamReactor(st);
    v1::StreamStateRequest request;
    grpc::ByteBuffer copy(*raw);
    if (!grpc::SerializationTraits<v1::StreamStateRequest>::Deserialize(&copy, &request).ok())
      return new StreamReactor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a StreamStateRequest"));
    auto params = requests::stream_state(request);
    if (!params) return new StreamReactor(invalid(params.error()));
    return publisher_->subscribe(params.value());
  }

  // The live state is forked under the shared lock (milliseconds); the replications then run on a
  // thread of their own (never on gRPC's callback threads), at most kMaxForecasts at once.
  grpc::ServerUnaryReactor* Forecast(grpc::CallbackServerContext* ctx, const v1::ForecastRequest* request,
                                     v1::ForecastReply* reply) override {
    if (auto st = gate_->check(ctx, kForecast); !st.ok()) return finish_now(ctx, st);
    auto* r = ctx->DefaultReactor();
    auto checked = requests::forecast(*request);
    if (!checked) {
      r->Finish(invalid(checked.error()));
      return r;
    }
    twin::ForecastOptions o = std::move(checked.value());
    o.cancel = &forecast_cancel_;
    {
      std::lock_guard lock(forecast_mu_);
      if (forecast_cancel_) {
        r->Finish(unavailable("the server is shutting down"));
        return r;
      }
      if (forecasts_running_ >= kMaxForecasts) {
        r->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                               std::to_string(kMaxForecasts) + " forecasts are running; try again later"));
        return r;
      }
      ++forecasts_running_;
    }
    try {
      auto base =
          std::make_shared<des::Simulation>(twin_->read([](const des::Simulation& s) { return s.fork(); }));
      std::thread([this, r, reply, base, o = std::move(o)] {
        grpc::Status status = grpc::Status::OK;
        try {
          auto f = twin::forecast(*base, o);
          if (f)
            twin_pb::to_proto(f.value(), *reply);
          else if (f.error().field == "cancel")
            status = grpc::Status(grpc::StatusCode::CANCELLED,
                                  "the forecast was cancelled (server shutting down)");
          else if (f.error().field.rfind("lots[", 0) == 0)
            status = grpc::Status(grpc::StatusCode::NOT_FOUND, twin_pb::status_text(f.error()));
          else
            status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, twin_pb::status_text(f.error()));
        } catch (const std::exception& e) {
          status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
        }
        {
          // Counted out before the reply leaves: a client that asks again as soon as it has its
          // answer must not find this forecast still counted (RESOURCE_EXHAUSTED). After this
          // only `r` is used, which gRPC keeps until Finish.
          std::lock_guard lock(forecast_mu_);
          --forecasts_running_;
          forecast_cv_.notify_all();
        }
        r->Finish(status);
      }).detach();
    } catch (const std::exception& e) {
      {
        std::lock_guard lock(forecast_mu_);
        --forecasts_running_;
      }
      r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
    }
    return r;
  }

  // Cancels running forecasts, refuses new ones and waits until none runs.
  void drain_forecasts() {
    std::unique_lock lock(forecast_mu_);
    forecast_cancel_ = true;
    forecast_cv_.wait(lock, [this] { return forecasts_running_ == 0; });
  }
  ~TwinServiceImpl() override { drain_forecasts(); }

 private:
  static constexpr int kMaxForecasts = 2;
  const Gate* gate_;
  live::LiveTwin* twin_;
  Publisher* publisher_;
  const v1::ModelSummary summary_;
  std::mutex forecast_mu_;
  std::condition_variable forecast_cv_;
  int forecasts_running_ = 0;
  std::atomic<bool> forecast_cancel_{false};
};

// IngestEvents: read a batch, decode it, hand it to the writer; its reply after the commit; then
// the next read. One batch in flight per stream (the reply is the flow control).
class IngestStreamReactor final : public grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestReply> {
 public:
  IngestStreamReactor(const twin_pb::EventDecoder& decoder, IngestWriter& writer, std::uint32_t max_events)
      : decoder_(&decoder), writer_(&writer), max_events_(max_events) {
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::OK);  // the client is done (or gone)
    Decoded d = decode(*decoder_, request_, max_events_);
    if (!d.status.ok()) return Finish(d.status);
    const bool queued = writer_->submit(std::move(d.events), [this](model::Result<IngestAck> ack) {
      if (!ack) return Finish(unavailable("not acknowledged: " + ack.error().message));
      fill_reply(request_, ack.value(), reply_);
      StartWrite(&reply_);
    });
    if (!queued) Finish(unavailable("the server is shutting down"));
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    StartRead(&request_);
  }

  void OnDone() override { delete this; }

 private:
  const twin_pb::EventDecoder* decoder_;
  IngestWriter* writer_;
  std::uint32_t max_events_;
  v1::IngestRequest request_;
  v1::IngestReply reply_;
};

class IngestServiceImpl final : public v1::IngestService::CallbackService {
 public:
  IngestServiceImpl(const model::Model& model, IngestWriter& writer, std::uint32_t max_events,
                    const Gate& gate)
      : gate_(&gate), decoder_(model), writer_(&writer), max_events_(max_events) {}

  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* ctx, const v1::IngestRequest* request,
                                   v1::IngestReply* reply) override {
    if (auto st = gate_->check(ctx, kIngest); !st.ok()) return finish_now(ctx, st);
    auto* r = ctx->DefaultReactor();
    Decoded d = decode(decoder_, *request, max_events_);
    if (!d.status.ok()) {
      r->Finish(d.status);
      return r;
    }
    const bool queued =
        writer_->submit(std::move(d.events), [r, request, reply](model::Result<IngestAck> ack) {
          if (!ack) return r->Finish(unavailable("not acknowledged: " + ack.error().message));
          fill_reply(*request, ack.value(), *reply);
          r->Finish(grpc::Status::OK);
        });
    if (!queued) r->Finish(unavailable("the server is shutting down"));
    return r;
  }

  grpc::ServerBidiReactor<v1::IngestRequest, v1::IngestReply>* IngestEvents(
      grpc::CallbackServerContext* ctx) override {
    if (auto st = gate_->check(ctx, kIngestEvents); !st.ok())
      return new RefusedBidiReactor<v1::IngestRequest, v1::IngestReply>(st);
    return new IngestStreamReactor(decoder_, *writer_, max_events_);
  }

 private:
  const Gate* gate_;
  twin_pb::EventDecoder decoder_;
  IngestWriter* writer_;
  std::uint32_t max_events_;
};

}  // namespace

struct Server::Impl {
  Impl(std::unique_ptr<live::LiveTwin> t, ServerOptions o)
      : options(std::move(o)),
        gate(options.tokens),
        twin(std::move(t)),
        publisher(*twin, options.publish_period_s),
        writer(*twin, [this] { publisher.notify(); }),
        twin_service(*twin, publisher, gate),
        ingest_service(twin->model(), writer, options.max_batch_events, gate),
        yield_service(open_yield_query(*twin, gate)),
        whatif_service(*twin, options.whatif_threads, gate) {}

  // The yield queries read the twin's store through connections of their own.
  static YieldServiceImpl open_yield_query(const live::LiveTwin& twin, const Gate& gate) {
    auto q = live::YieldQuery::open(twin.model(), twin.options().db_path, twin.yield_grids());
    if (!q.ok())
      return YieldServiceImpl(nullptr, "the yield records cannot be read: " + q.error().what(), gate);
    return YieldServiceImpl(std::move(q.value()), "", gate);
  }

  // Runs the twin's clock at wall time x speed from where it stands now.
  void run_clock() {
    const auto wall0 = Clock::now();
    const model::SimTime model0 = twin->now();
    const auto period = std::chrono::duration<double>(options.clock_period_s);
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait_for(lock, period, [this] { return stopping; });
      if (stopping) break;
      lock.unlock();
      const double wall_s = std::chrono::duration<double>(Clock::now() - wall0).count();
      const auto target = model0 + model::round_ms(wall_s * options.speed * 1000.0);
      try {
        twin->advance_to(target);
        publisher.notify();
      } catch (const std::exception& e) {
        std::fprintf(stderr, "fabtwin serve: the clock stopped: %s\n", e.what());
        lock.lock();
        break;
      }
      lock.lock();
    }
  }

  ServerOptions options;
  Gate gate;
  std::unique_ptr<live::LiveTwin> twin;
  Publisher publisher;
  IngestWriter writer;
  TwinServiceImpl twin_service;
  IngestServiceImpl ingest_service;
  YieldServiceImpl yield_service;
  WhatIfServiceImpl whatif_service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  std::mutex mu;  // stopping, stopped
  std::condition_variable cv;
  bool stopping = false, stopped = false;
  std::thread clock;
};

namespace {

model::Result<std::string> read_pem(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (in) s << in.rdbuf();
  if (!in || in.bad())
    return model::Error{.file = path, .line = 0, .field = field, .message = "cannot read the file"};
  std::string text = s.str();
  if (text.find("-----BEGIN ") == std::string::npos)
    return model::Error{
        .file = path, .line = 0, .field = field, .message = "not a PEM file (no -----BEGIN line)"};
  return text;
}

// The listening credentials: insecure, or TLS from the PEM files.
model::Result<std::shared_ptr<grpc::ServerCredentials>> credentials(const TlsFiles& tls) {
  if (!tls.enabled()) return grpc::InsecureServerCredentials();
  auto bad = [](const std::string& field, const std::string& message) {
    return model::Error{.file = "", .line = 0, .field = field, .message = message};
  };
  if (tls.cert.empty()) return bad("tls.cert", "TLS needs the server's certificate (and its key)");
  if (tls.key.empty()) return bad("tls.key", "TLS needs the private key of the server's certificate");
  auto cert = read_pem(tls.cert, "tls.cert");
  if (!cert) return cert.error();
  auto key = read_pem(tls.key, "tls.key");
  if (!key) return key.error();
  grpc::SslServerCredentialsOptions o(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  o.pem_key_cert_pairs.push_back({key.value(), cert.value()});
  if (!tls.client_ca.empty()) {
    auto ca = read_pem(tls.client_ca, "tls.client_ca");
    if (!ca) return ca.error();
    o.pem_root_certs = ca.value();
    o.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(o);
}

}  // namespace

bool loopback_address(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0 || listen.rfind("unix-abstract:", 0) == 0) return true;
  std::string host;
  if (!listen.empty() && listen[0] == '[') {
    const auto close = listen.find(']');
    if (close == std::string::npos) return false;
    host = listen.substr(1, close - 1);
  } else {
    const auto colon = listen.rfind(':');
    host = colon == std::string::npos ? listen : listen.substr(0, colon);
  }
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return v6.s6_addr[12] == 127;
  }
  return false;
}

model::Result<std::unique_ptr<Server>> Server::start(std::unique_ptr<live::LiveTwin> twin,
                                                     ServerOptions options) {
  if (!(options.speed >= 0) || !std::isfinite(options.speed))
    return model::Error{.file = "", .line = 0, .field = "speed", .message = "must be finite and >= 0"};
  if (!options.tokens && !options.listen.empty() && !loopback_address(options.listen))
    return model::Error{.file = "",
                        .line = 0,
                        .field = "listen",
                        .message = options.listen +
                                   " is not a loopback address: without tokens (--auth) the server listens "
                                   "only on 127.0.0.1, ::1 or localhost"};
  auto creds = credentials(options.tls);
  if (!creds) return creds.error();
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(std::move(twin), std::move(options));
  } catch (const std::exception& e) {  // the store's what-if jobs could not be read
    return model::Error{.file = "", .line = 0, .field = "store", .message = e.what()};
  }
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!impl->options.listen.empty())
    builder.AddListeningPort(impl->options.listen, creds.value(), &impl->port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not shared
  builder.SetMaxReceiveMessageSize(256 << 20);              // an IngestRequest of 100,000 events is ~10 MB
  builder.RegisterService(&impl->twin_service);
  builder.RegisterService(&impl->ingest_service);
  builder.RegisterService(&impl->yield_service);
  builder.RegisterService(&impl->whatif_service);
  impl->server = builder.BuildAndStart();
  if (!impl->server || (!impl->options.listen.empty() && impl->port == 0)) {
    const std::string listen = impl->options.listen;
    const bool tls = impl->options.tls.enabled();
    if (impl->server) impl->server->Shutdown();
    impl->publisher.stop();
    impl->writer.stop();
    impl->whatif_service.stop();
    return model::Error{.file = "",
                        .line = 0,
                        .field = "listen",
                        .message = "cannot listen on " + listen +
                                   (tls ? " (in use, not an address, or the TLS certificate and key do not "
                                          "match)"
                                        : " (in use, or not an address)")};
  }
  impl->server->GetHealthCheckService()->SetServingStatus(true);
  if (impl->options.speed > 0) impl->clock = std::thread([p = impl.get()] { p->run_clock(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() { shutdown(); }

int Server::port() const { return impl_->port; }

std::shared_ptr<grpc::Channel> Server::in_process_channel() {
  return impl_->server->InProcessChannel(grpc::ChannelArguments());
}

void Server::shutdown() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->server->GetHealthCheckService()->SetServingStatus(false);
  impl_->publisher.stop();                // streams end UNAVAILABLE
  impl_->twin_service.drain_forecasts();  // running forecasts end CANCELLED
  impl_->whatif_service.stop();           // what-if jobs end CANCELLED (and their watches)
  // Running calls (an ingest waiting for its commit) finish; the writer keeps committing meanwhile.
  impl_->server->Shutdown(std::chrono::system_clock::now() +
                          std::chrono::duration_cast<std::chrono::system_clock::duration>(
                              std::chrono::duration<double>(impl_->options.shutdown_grace_s)));
  impl_->writer.stop();
  if (impl_->clock.joinable()) impl_->clock.join();
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopped = true;
  }
  impl_->cv.notify_all();
}

void Server::wait() {
  std::unique_lock lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->stopped; });
}

live::LiveTwin& Server::twin() { return *impl_->twin; }

Server::Stats Server::stats() const {
  const PublisherStats p = impl_->publisher.stats();
  const IngestStats i = impl_->writer.stats();
  return {p.keyframes,   p.deltas,  p.merged_deltas, p.frames_sent,
          p.subscribers, i.commits, i.batches,       i.events};
}

}  // namespace fabtwin::server
