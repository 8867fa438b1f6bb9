#include "fabtwin/server/server.hpp"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "ingest.hpp"
#include "publisher.hpp"
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

// Decodes a request: the events, or the status to answer.
struct Decoded {
  std::vector<des::Event> events;
  grpc::Status status;
};

Decoded decode(const twin_pb::EventDecoder& decoder, const v1::IngestRequest& request,
               std::uint32_t max_events) {
  if (request.events_size() == 0)
    return {{},
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "events: empty (send 1 to " + std::to_string(max_events) + " events)")};
  if (static_cast<std::uint32_t>(request.events_size()) > max_events)
    return {{},
            grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                         "events: " + std::to_string(request.events_size()) + " events, more than " +
                             std::to_string(max_events) + " in one request")};
  auto events = decoder.decode(request);
  if (!events) return {{}, invalid(events.error())};
  return {std::move(events.value()), grpc::Status::OK};
}

using TwinServiceBase = v1::TwinService::WithCallbackMethod_GetModel<
    v1::TwinService::WithCallbackMethod_GetSnapshot<v1::TwinService::WithRawCallbackMethod_StreamState<
        v1::TwinService::WithCallbackMethod_Forecast<v1::TwinService::Service>>>>;

class TwinServiceImpl final : public TwinServiceBase {
 public:
  TwinServiceImpl(live::LiveTwin& twin, Publisher& publisher)
      : twin_(&twin),
        publisher_(&publisher),
        summary_(twin_pb::model_summary(twin.model(), twin.options().sim.mode)) {}

  grpc::ServerUnaryReactor* GetModel(grpc::CallbackServerContext* ctx, const v1::GetModelRequest*,
                                     v1::ModelSummary* reply) override {
    *reply = summary_;
    auto* r = ctx->DefaultReactor();
    r->Finish(grpc::Status::OK);
    return r;
  }

  grpc::ServerUnaryReactor* GetSnapshot(grpc::CallbackServerContext* ctx, const v1::GetSnapshotRequest*,
                                        v1::StateKeyframe* reply) override {
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

  grpc::ServerWriteReactor<grpc::ByteBuffer>* StreamState(grpc::CallbackServerContext*,
                                                          const grpc::ByteBuffer* raw) override {
    v1::StreamStateRequest request;
    grpc::ByteBuffer copy(*raw);
    if (!grpc::SerializationTraits<v1::StreamStateRequest>::Deserialize(&copy, &request).ok())
      return new StreamReactor(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "not a StreamStateRequest"));
    return publisher_->subscribe(request);
  }

  // The live state is forked under the shared lock (milliseconds); the replications then run on a
  // thread of their own (never on gRPC's callback threads), at most kMaxForecasts at once.
  grpc::ServerUnaryReactor* Forecast(grpc::CallbackServerContext* ctx, const v1::ForecastRequest* request,
                                     v1::ForecastReply* reply) override {
    auto* r = ctx->DefaultReactor();
    auto invalid_field = [&](const std::string& field, const std::string& what) {
      r->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, field + ": " + what));
      return r;
    };
    if (!(request->horizon_days() > 0 && request->horizon_days() <= 365))
      return invalid_field("horizon_days",
                           "must be > 0 and at most 365, not " + std::to_string(request->horizon_days()));
    if (request->replications() > 1000)
      return invalid_field("replications", "at most 1000, not " + std::to_string(request->replications()));
    twin::ForecastOptions o;
    o.horizon_days = request->horizon_days();
    o.replications = request->replications() == 0 ? 10 : request->replications();
    o.seed = request->seed() == 0 ? 1 : request->seed();
    o.at_hours.assign(request->at_hours().begin(), request->at_hours().end());
    o.lots.assign(request->lots().begin(), request->lots().end());
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
  IngestServiceImpl(const model::Model& model, IngestWriter& writer, std::uint32_t max_events)
      : decoder_(model), writer_(&writer), max_events_(max_events) {}

  grpc::ServerUnaryReactor* Ingest(grpc::CallbackServerContext* ctx, const v1::IngestRequest* request,
                                   v1::IngestReply* reply) override {
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
      grpc::CallbackServerContext*) override {
    return new IngestStreamReactor(decoder_, *writer_, max_events_);
  }

 private:
  twin_pb::EventDecoder decoder_;
  IngestWriter* writer_;
  std::uint32_t max_events_;
};

}  // namespace

struct Server::Impl {
  Impl(std::unique_ptr<live::LiveTwin> t, ServerOptions o)
      : options(std::move(o)),
        twin(std::move(t)),
        publisher(*twin, options.publish_period_s),
        writer(*twin, [this] { publisher.notify(); }),
        twin_service(*twin, publisher),
        ingest_service(twin->model(), writer, options.max_batch_events),
        yield_service(open_yield_query(*twin)) {}

  // The yield queries read the twin's store through connections of their own.
  static YieldServiceImpl open_yield_query(const live::LiveTwin& twin) {
    auto q = live::YieldQuery::open(twin.model(), twin.options().db_path, twin.yield_grids());
    if (!q.ok()) return YieldServiceImpl(nullptr, "the yield records cannot be read: " + q.error().what());
    return YieldServiceImpl(std::move(q.value()), "");
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
  std::unique_ptr<live::LiveTwin> twin;
  Publisher publisher;
  IngestWriter writer;
  TwinServiceImpl twin_service;
  IngestServiceImpl ingest_service;
  YieldServiceImpl yield_service;
  std::unique_ptr<grpc::Server> server;
  int port = 0;

  std::mutex mu;  // stopping, stopped
  std::condition_variable cv;
  bool stopping = false, stopped = false;
  std::thread clock;
};

model::Result<std::unique_ptr<Server>> Server::start(std::unique_ptr<live::LiveTwin> twin,
                                                     ServerOptions options) {
  if (!(options.speed >= 0) || !std::isfinite(options.speed))
    return model::Error{.file = "", .line = 0, .field = "speed", .message = "must be finite and >= 0"};
  auto impl = std::make_unique<Impl>(std::move(twin), std::move(options));
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  if (!impl->options.listen.empty())
    builder.AddListeningPort(impl->options.listen, grpc::InsecureServerCredentials(), &impl->port);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);  // a port in use is an error, not shared
  builder.SetMaxReceiveMessageSize(256 << 20);              // an IngestRequest of 100,000 events is ~10 MB
  builder.RegisterService(&impl->twin_service);
  builder.RegisterService(&impl->ingest_service);
  builder.RegisterService(&impl->yield_service);
  impl->server = builder.BuildAndStart();
  if (!impl->server || (!impl->options.listen.empty() && impl->port == 0)) {
    const std::string listen = impl->options.listen;
    if (impl->server) impl->server->Shutdown();
    impl->publisher.stop();
    impl->writer.stop();
    return model::Error{.file = "",
                        .line = 0,
                        .field = "listen",
                        .message = "cannot listen on " + listen + " (in use, or not an address)"};
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
