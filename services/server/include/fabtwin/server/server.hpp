#pragma once
// server::Server: the live twin over gRPC (proto/fabtwin/v1/twin.proto), on gRPC's callback API.
//   TwinService   GetModel, GetSnapshot, StreamState (one publisher builds each frame once per
//                 journal version; every subscriber holds one slot, the newest frame not yet sent;
//                 O(1) memory per subscriber), Forecast (twin::forecast on a fork of the live
//                 state, on a thread of its own; at most two at once).
//   IngestService Ingest (unary batch), IngestEvents (a stream of batches, one reply each): decoded
//                 on the gRPC thread, then one writer thread hands the queued batches to
//                 LiveTwin::ingest together (one group commit) and acknowledges each after it.
//   YieldService  ListWafers (streamed pages), YieldSummary, WaferMap, StackedMap, Commonality over
//                 the store's yield records (live::YieldQuery; proto/fabtwin/v1/yield.proto).
//   WhatIfService Submit, Watch (a progress stream), Results, Cancel: what-if batches (services/whatif)
//                 queued and run one at a time on a worker thread of their own (whatif_threads
//                 threads); a {"live": true} base is the twin's state at submit time
//                 (proto/fabtwin/v1/whatif.proto; docs/whatif.md "WhatIfService").
//   plus grpc.health.v1 (SERVING) and server reflection.
// A clock thread runs the twin's clock at wall time x speed (autonomous: the simulation runs;
// follow: the clock runs on so waits and overdue jobs show). Exceptions never cross into gRPC:
// they become INTERNAL statuses.
// Security (docs/operations.md "Security"): with `tokens`, every TwinService and IngestService
// handler first checks the caller's `authorization: Bearer TOKEN` against them and the method's
// role (auth.hpp: UNAUTHENTICATED, PERMISSION_DENIED); health and reflection stay open. Without
// tokens the server listens only on a loopback address. `tls` adds TLS, and with a client CA,
// requires and verifies a client certificate.
#include <cstdint>
#include <memory>
#include <string>

#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/server/auth.hpp"

namespace grpc {
class Channel;
}

namespace fabtwin::server {

// PEM files (paths); all empty: no TLS.
struct TlsFiles {
  std::string cert;       // the server's certificate chain (with `key`)
  std::string key;        // its private key
  std::string client_ca;  // set: clients must present a certificate signed by this CA
  bool enabled() const { return !cert.empty() || !key.empty() || !client_ca.empty(); }
};

// True when `listen` ("host:port", "[v6]:port", "unix:path") reaches only this machine: an IPv4
// address in 127.0.0.0/8, ::1, "localhost" or a Unix socket. Names other than localhost are not
// resolved (false).
bool loopback_address(const std::string& listen);

struct ServerOptions {
  // "host:port" to listen on (port 0: a free one, see Server::port()); "": no TCP port, only the
  // in-process channel.
  std::string listen = "127.0.0.1:50051";
  // Model seconds per wall second the clock runs at; 0: the clock moves only with events.
  double speed = 0;
  double clock_period_s = 0.02;              // how often the clock thread advances the twin
  double publish_period_s = 0.005;           // how often the publisher looks for new versions and due writes
  std::uint32_t max_batch_events = 100'000;  // events in one IngestRequest (more: INVALID_ARGUMENT)
  double shutdown_grace_s = 2;               // calls still running after this are cancelled
  // Tokens and their roles (auth.hpp); null: no authentication, and then `listen` must be a
  // loopback address (loopback_address), else start() fails naming "listen".
  std::shared_ptr<const Tokens> tokens;
  TlsFiles tls;
  // Threads a what-if job runs its replications on (jobs run one at a time); at least 1.
  unsigned whatif_threads = 1;
};

class Server {
 public:
  // Starts serving `twin` (owned from now on). Fails (an Error naming the field: "listen" when the
  // port cannot be bound or is not loopback without tokens, "tls.cert" etc. when a PEM file
  // cannot be read or TLS options contradict) before taking any call.
  static model::Result<std::unique_ptr<Server>> start(std::unique_ptr<live::LiveTwin> twin,
                                                      ServerOptions options);
  ~Server();  // shutdown()
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The TCP port bound (0 when options.listen is "").
  int port() const;
  // A channel to this server that does not leave the process (no TLS; tokens are still checked).
  std::shared_ptr<grpc::Channel> in_process_channel();
  // Ends the streams (UNAVAILABLE), stops taking calls, lets running ones finish (up to
  // shutdown_grace_s), then stops the clock and the writer. Idempotent.
  void shutdown();
  // Blocks until shutdown() has been called (from another thread or a signal watcher).
  void wait();

  live::LiveTwin& twin();
  // Frames built so far by the publisher (keyframes, deltas shared by up-to-date subscribers,
  // merged deltas for subscribers that fell behind) and subscribers now.
  struct Stats {
    std::uint64_t keyframes = 0, deltas = 0, merged_deltas = 0, frames_sent = 0;
    std::uint64_t subscribers = 0;
    std::uint64_t ingest_commits = 0, ingest_batches = 0, ingest_events = 0;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace fabtwin::server
