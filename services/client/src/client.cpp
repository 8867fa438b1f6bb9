#include "fabtwin/client/client.hpp"

#include <grpcpp/grpcpp.h>
#include <grpcpp/support/client_interceptor.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"

namespace fabtwin::client {

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Statuses a resend cannot cure: the request itself is wrong, or the server does not offer it.
bool retryable(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE:
    case grpc::StatusCode::UNIMPLEMENTED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return false;
    default:
      return true;
  }
}

std::string status_text(const grpc::Status& s) {
  return "status " + std::to_string(static_cast<int>(s.error_code())) + ": " + s.error_message();
}

// Sleeps `s` seconds in slices of at most 50 ms; false if `stop` was raised meanwhile.
bool pause(double s, const std::atomic<bool>& stop) {
  const auto end = Clock::now() + std::chrono::duration<double>(s);
  while (Clock::now() < end) {
    if (stop.load()) return false;
    std::this_thread::sleep_for(std::min<Clock::duration>(
        std::chrono::milliseconds(50), std::chrono::duration_cast<Clock::duration>(end - Clock::now())));
  }
  return !stop.load();
}

model::Error error(const std::string& message) { return model::Error{"", 0, "target", message}; }

}  // namespace

namespace {

// Adds `authorization: Bearer TOKEN` to every call's initial metadata.
class TokenInterceptor final : public grpc::experimental::Interceptor {
 public:
  explicit TokenInterceptor(std::shared_ptr<const std::string> header) : header_(std::move(header)) {}
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_INITIAL_METADATA))
      methods->GetSendInitialMetadata()->insert({"authorization", *header_});
    methods->Proceed();
  }

 private:
  std::shared_ptr<const std::string> header_;
};

class TokenInterceptorFactory final : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit TokenInterceptorFactory(const std::string& token)
      : header_(std::make_shared<const std::string>("Bearer " + token)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo*) override {
    return new TokenInterceptor(header_);
  }

 private:
  std::shared_ptr<const std::string> header_;
};

model::Result<std::string> read_file(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  if (in) s << in.rdbuf();
  if (!in || in.bad()) return model::Error{path, 0, field, "cannot read the file"};
  return s.str();
}

}  // namespace

model::Result<std::shared_ptr<grpc::Channel>> connect(const ChannelOptions& o) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 1000);
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (o.uses_tls()) {
    if (o.tls_cert.empty() != o.tls_key.empty())
      return model::Error{"", 0, o.tls_cert.empty() ? "tls_cert" : "tls_key",
                          "a client certificate needs its key (tls_cert and tls_key together)"};
    grpc::SslCredentialsOptions ssl;
    if (!o.tls_ca.empty()) {
      auto ca = read_file(o.tls_ca, "tls_ca");
      if (!ca) return ca.error();
      ssl.pem_root_certs = std::move(ca.value());
    }
    if (!o.tls_cert.empty()) {
      auto cert = read_file(o.tls_cert, "tls_cert");
      if (!cert) return cert.error();
      auto key = read_file(o.tls_key, "tls_key");
      if (!key) return key.error();
      ssl.pem_cert_chain = std::move(cert.value());
      ssl.pem_private_key = std::move(key.value());
    }
    creds = grpc::SslCredentials(ssl);
  }
  if (o.token.empty()) return grpc::CreateCustomChannel(o.target, creds, args);
  for (char c : o.token)
    if (c < 0x21 || c > 0x7e)
      return model::Error{"", 0, "token",
                          "only printable ASCII characters (no spaces or control characters)"};
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<TokenInterceptorFactory>(o.token));
  return grpc::experimental::CreateCustomChannelWithInterceptors(o.target, creds, args,
                                                                 std::move(interceptors));
}

std::shared_ptr<grpc::Channel> connect(const std::string& target) {
  ChannelOptions o;
  o.target = target;
  return connect(o).value();  // insecure, no token: cannot fail
}

model::Result<std::string> read_token_file(const std::string& path) {
  auto text = read_file(path, "token_file");
  if (!text) return text.error();
  std::string_view t = text.value();
  t = t.substr(0, t.find('\n'));
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.remove_suffix(1);
  if (t.empty()) return model::Error{path, 1, "token_file", "no token on the first line"};
  return std::string(t);
}

// ---- IngestClient ----

IngestClient::IngestClient(std::shared_ptr<grpc::Channel> channel, std::size_t window,
                           ReconnectOptions reconnect, OnAck on_ack)
    : channel_(std::move(channel)),
      window_(std::max<std::size_t>(window, 1)),
      reconnect_(reconnect),
      on_ack_(std::move(on_ack)),
      last_progress_(Clock::now()) {}

IngestClient::~IngestClient() {
  if (stream_) {
    {
      std::lock_guard lock(context_mutex_);
      context_->TryCancel();
    }
    stream_->Finish();
  }
}

void IngestClient::stop() {
  stop_ = true;
  std::lock_guard lock(context_mutex_);
  if (context_) context_->TryCancel();
}

model::Error IngestClient::fail(const std::string& message) const {
  return error(message + " (" + std::to_string(counts_.unacknowledged()) + " events not acknowledged)");
}

bool IngestClient::open_stream() {
  auto stub = v1::IngestService::NewStub(channel_);
  {
    std::lock_guard lock(context_mutex_);
    context_ = std::make_unique<grpc::ClientContext>();
    if (stop_) context_->TryCancel();
  }
  stream_ = stub->IngestEvents(context_.get());
  opened_ = true;
  // A write that fails leaves the rest unsent: the next read sees the stream's end and its status.
  for (const v1::IngestRequest& b : unacked_)
    if (!stream_->Write(b)) break;
  return true;
}

model::Result<bool> IngestClient::reopen(const std::string& why) {
  if (opened_) {
    ++counts_.reconnects;
    counts_.resent_batches += unacked_.size();
  }
  stream_.reset();
  double backoff = reconnect_.backoff_initial_s;
  for (bool first = true;; first = false) {
    if (stop_) return fail("stopped");
    if (reconnect_.give_up_s > 0 && since(last_progress_) > reconnect_.give_up_s)
      return fail("no acknowledgement for " + std::to_string(static_cast<int>(reconnect_.give_up_s)) +
                  " s: " + why);
    if (!first || counts_.reconnects > 0) {
      if (!pause(backoff, stop_)) return fail("stopped");
      backoff = std::min(backoff * 2, reconnect_.backoff_max_s);
    }
    if (channel_->WaitForConnected(std::chrono::system_clock::now() +
                                   std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                       std::chrono::duration<double>(reconnect_.backoff_max_s))))
      break;
  }
  open_stream();
  return true;
}

model::Result<bool> IngestClient::read_one() {
  for (;;) {
    if (stop_) return fail("stopped");
    if (!stream_) {
      if (auto r = reopen("connecting"); !r.ok()) return r;
      if (unacked_.empty()) return true;
    }
    v1::IngestReply reply;
    if (stream_->Read(&reply)) {
      if (unacked_.empty()) return fail("a reply to no batch");
      const v1::IngestRequest& batch = unacked_.front();
      if (reply.results_size() != batch.events_size())
        return fail("a reply with " + std::to_string(reply.results_size()) + " results to a batch of " +
                    std::to_string(batch.events_size()));
      for (const v1::EventResult& r : reply.results()) {
        const int o = static_cast<int>(r.outcome());
        if (o < 1 || o > 4) return fail("a result without outcome for event \"" + r.id() + "\"");
        ++counts_.acknowledged[static_cast<std::size_t>(o - 1)];
        if (on_ack_) on_ack_(r);
      }
      unacked_.pop_front();
      last_progress_ = Clock::now();
      return true;
    }
    const grpc::Status st = stream_->Finish();
    stream_.reset();  // finished: never finished again
    if (stop_) return fail("stopped");
    if (!retryable(st.error_code())) return fail("the server refused a batch: " + status_text(st));
    if (auto r = reopen(status_text(st)); !r.ok()) return r;
    if (unacked_.empty()) return true;
  }
}

model::Result<bool> IngestClient::send(v1::IngestRequest batch) {
  if (stop_) return fail("stopped");
  if (batch.events_size() == 0) return true;
  counts_.events_sent += static_cast<std::uint64_t>(batch.events_size());
  ++counts_.batches;
  if (unacked_.empty()) last_progress_ = Clock::now();
  unacked_.push_back(std::move(batch));
  if (!stream_) {
    if (auto r = reopen("connecting"); !r.ok()) return r;
  } else if (!stream_->Write(unacked_.back())) {
    // The stream broke: read what it still delivers, then its status (and reopen, resending).
    const std::uint64_t before = counts_.reconnects;
    while (counts_.reconnects == before && !unacked_.empty())
      if (auto r = read_one(); !r.ok()) return r;
  }
  while (unacked_.size() > window_)
    if (auto r = read_one(); !r.ok()) return r;
  return true;
}

model::Result<bool> IngestClient::finish() {
  while (!unacked_.empty())
    if (auto r = read_one(); !r.ok()) return r;
  if (stream_) {
    stream_->WritesDone();
    stream_->Finish();  // every batch is acknowledged: its status no longer matters
    stream_.reset();
  }
  return true;
}

// ---- StateFollower ----

StateFigures figures(const v1::StateKeyframe& s) {
  StateFigures f;
  f.version = s.version();
  f.now_ms = s.now_ms();
  f.lots_in_fab = s.kpis().lots_in_fab();
  f.moves = s.kpis().moves();
  const auto& by_state = s.kpis().tools_by_state();
  if (by_state.size() >= 6) {
    f.tools_scheduled_down = by_state.Get(v1::TOOL_STATE_SCHEDULED_DOWN - 1);
    f.tools_unscheduled_down = by_state.Get(v1::TOOL_STATE_UNSCHEDULED_DOWN - 1);
  }
  f.events_acknowledged = s.counts().applied() + s.counts().duplicate() + s.counts().refused();
  return f;
}

StateFollower::StateFollower(std::shared_ptr<grpc::Channel> channel, double max_frames_per_second,
                             ReconnectOptions reconnect)
    : channel_(std::move(channel)), fps_(max_frames_per_second), reconnect_(reconnect) {}

StateFollower::~StateFollower() = default;

void StateFollower::stop() {
  stop_ = true;
  std::lock_guard lock(context_mutex_);
  if (context_) context_->TryCancel();
}

model::Result<bool> StateFollower::run(const OnFrame& on_frame) {
  auto stub = v1::TwinService::NewStub(channel_);
  double backoff = reconnect_.backoff_initial_s;
  auto last_progress = Clock::now();
  while (!stop_) {
    v1::StreamStateRequest req;
    req.set_max_frames_per_second(fps_);
    if (have_state_) req.set_from_version(state_.version());
    {
      std::lock_guard lock(context_mutex_);
      context_ = std::make_unique<grpc::ClientContext>();
      if (stop_) context_->TryCancel();
    }
    auto reader = stub->StreamState(context_.get(), req);
    v1::StateFrame frame;
    bool resync = false;
    while (!resync && reader->Read(&frame)) {
      last_progress = Clock::now();
      backoff = reconnect_.backoff_initial_s;
      if (frame.has_keyframe()) {
        state_.Swap(frame.mutable_keyframe());
        have_state_ = true;
      } else if (frame.has_delta() && have_state_) {
        try {
          twin_pb::apply_delta(state_, frame.delta());
        } catch (const std::invalid_argument&) {
          resync = true;  // versions that do not chain: start again from a keyframe
        }
      } else {
        resync = true;
      }
      if (resync) {
        have_state_ = false;
        std::lock_guard lock(context_mutex_);
        context_->TryCancel();
      } else if (on_frame) {
        on_frame(state_, frame);
      }
    }
    const grpc::Status st = reader->Finish();
    if (stop_) break;
    if (!resync && !retryable(st.error_code())) return error("StreamState: " + status_text(st));
    if (reconnect_.give_up_s > 0 && since(last_progress) > reconnect_.give_up_s)
      return error("StreamState: no frame for " + std::to_string(static_cast<int>(reconnect_.give_up_s)) +
                   " s: " + status_text(st));
    ++reconnects_;
    if (!pause(backoff, stop_)) break;
    backoff = std::min(backoff * 2, reconnect_.backoff_max_s);
  }
  return true;
}

}  // namespace fabtwin::client
