#pragma once
// client: the C++ side of `fabtwin serve` (proto/fabtwin/v1/twin.proto) that `fabtwin emulate
// --target` and `fabtwin watch` use.
//   IngestClient   IngestService.IngestEvents: batches go out on one stream, up to `window` of them
//                  unacknowledged; a reply acknowledges its batch (after the server's commit). On
//                  UNAVAILABLE or a broken stream it reconnects with backoff and resends, in order,
//                  every batch not acknowledged (ids make that safe: the server answers duplicates).
//                  It never skips an event.
//   StateFollower  TwinService.StreamState: the keyframe, then the deltas applied to it
//                  (twin_pb::apply_delta); after a broken stream it reconnects from the version it
//                  holds.
// Both are synchronous (one thread each); stop() may be called from another thread.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/v1/twin.pb.h"

namespace grpc {
class Channel;
class ClientContext;
template <class W, class R>
class ClientReaderWriter;
template <class R>
class ClientReader;
}  // namespace grpc

namespace fabtwin::client {

// How to reach a server (docs/operations.md "Security").
struct ChannelOptions {
  std::string target;    // "host:port"
  std::string token;     // sent on every call as `authorization: Bearer TOKEN`; "": none
  bool tls = false;      // TLS with the system's root certificates (implied by tls_ca or tls_cert)
  std::string tls_ca;    // PEM file: the CA that signed the server's certificate
  std::string tls_cert;  // PEM files: this client's certificate and key (a server with
  std::string tls_key;   //   --tls-client-ca requires them)
  bool uses_tls() const { return tls || !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty(); }
};

// A channel to o.target that reconnects quickly after the server comes back (reconnect backoff
// 50 ms to 1 s instead of gRPC's 1 s to 120 s), TLS or not, and that adds the token to every call
// made on it (a client interceptor: IngestClient, StateFollower and any stub get it). Error
// (field "tls_ca", "tls_cert", "tls_key" or "token"): a PEM file that cannot be read, a certificate
// without its key or the other way round, a token with spaces or control characters.
model::Result<std::shared_ptr<grpc::Channel>> connect(const ChannelOptions& o);
// connect({target}): insecure, no token (loopback or a trusted network).
std::shared_ptr<grpc::Channel> connect(const std::string& target);
// The token in `path`: its first line, surrounding spaces removed (an Error naming the file when
// it cannot be read or holds no token).
model::Result<std::string> read_token_file(const std::string& path);

struct ReconnectOptions {
  double backoff_initial_s = 0.05;  // first wait after a failure; doubles up to backoff_max_s
  double backoff_max_s = 1.0;
  double give_up_s = 120;  // fail (an Error) after this long without one good connection; 0: never
};

// Acknowledgements by outcome (index: v1::Outcome - 1: applied, late, duplicate, refused).
struct IngestCounts {
  std::uint64_t events_sent = 0;  // distinct events handed to send()
  std::uint64_t batches = 0;      // distinct batches
  std::uint64_t resent_batches = 0;
  std::uint64_t reconnects = 0;  // streams opened after the first
  std::array<std::uint64_t, 4> acknowledged{};
  std::uint64_t acknowledged_total() const {
    return acknowledged[0] + acknowledged[1] + acknowledged[2] + acknowledged[3];
  }
  std::uint64_t unacknowledged() const { return events_sent - acknowledged_total(); }
};

class IngestClient {
 public:
  // Called once per acknowledged event, in send order: the event's id and its result.
  using OnAck = std::function<void(const v1::EventResult&)>;

  IngestClient(std::shared_ptr<grpc::Channel> channel, std::size_t window = 4,
               ReconnectOptions reconnect = {}, OnAck on_ack = {});
  ~IngestClient();
  IngestClient(const IngestClient&) = delete;
  IngestClient& operator=(const IngestClient&) = delete;

  // Sends a batch (1 to 100,000 events, each with an id); returns once at most `window` batches
  // are unacknowledged. Error: the server refused a batch (INVALID_ARGUMENT and the like, which a
  // resend would not cure), the connection could not be restored within give_up_s, or stop().
  model::Result<bool> send(v1::IngestRequest batch);
  // Waits until every batch sent is acknowledged, then closes the stream. Errors as for send().
  model::Result<bool> finish();
  // From another thread or a signal watcher: send() and finish() return an Error soon (a blocked
  // read ends when the server answers or the stream breaks).
  void stop();

  const IngestCounts& counts() const { return counts_; }

 private:
  using Stream = grpc::ClientReaderWriter<v1::IngestRequest, v1::IngestReply>;
  model::Result<bool> read_one();  // one reply (reconnecting and resending as needed)
  model::Result<bool> reopen(const std::string& why);
  bool open_stream();
  model::Error fail(const std::string& message) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::size_t window_;
  ReconnectOptions reconnect_;
  OnAck on_ack_;
  std::unique_ptr<grpc::ClientContext> context_;
  std::unique_ptr<Stream> stream_;
  bool opened_ = false;                    // a stream was opened before (the next one is a reconnect)
  std::deque<v1::IngestRequest> unacked_;  // written (or to be written again), oldest first
  IngestCounts counts_;
  std::chrono::steady_clock::time_point last_progress_;  // the last acknowledgement (give_up_s)
  std::atomic<bool> stop_{false};
  std::mutex context_mutex_;  // stop() cancels context_
};

// The figures of one state (what `fabtwin watch` prints).
struct StateFigures {
  std::uint64_t version = 0;
  std::int64_t now_ms = 0;
  std::uint64_t lots_in_fab = 0, moves = 0;
  std::uint32_t tools_scheduled_down = 0, tools_unscheduled_down = 0;
  std::uint64_t events_acknowledged = 0;  // applied (late ones included) + duplicate + refused
};
StateFigures figures(const v1::StateKeyframe& state);

class StateFollower {
 public:
  // Called after each frame is applied, with the state it gives and the frame.
  using OnFrame = std::function<void(const v1::StateKeyframe&, const v1::StateFrame&)>;

  StateFollower(std::shared_ptr<grpc::Channel> channel, double max_frames_per_second = 10,
                ReconnectOptions reconnect = {});
  ~StateFollower();
  StateFollower(const StateFollower&) = delete;
  StateFollower& operator=(const StateFollower&) = delete;

  // Follows the stream until stop(): reconnects (from the version held) when it breaks. Returns
  // true after stop(); an Error when no connection could be made within give_up_s or the server
  // answers with a status a retry would not cure (INVALID_ARGUMENT ...).
  model::Result<bool> run(const OnFrame& on_frame);
  void stop();

  // The state held (version 0 before the first keyframe). Only from run()'s thread (e.g. in
  // on_frame).
  const v1::StateKeyframe& state() const { return state_; }
  std::uint64_t reconnects() const { return reconnects_; }

 private:
  std::shared_ptr<grpc::Channel> channel_;
  double fps_;
  ReconnectOptions reconnect_;
  v1::StateKeyframe state_;
  bool have_state_ = false;
  std::uint64_t reconnects_ = 0;
  std::atomic<bool> stop_{false};
  std::unique_ptr<grpc::ClientContext> context_;
  std::mutex context_mutex_;
};

}  // namespace fabtwin::client
