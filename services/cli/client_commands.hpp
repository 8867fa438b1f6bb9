#pragma once
// `fabtwin emulate --target` and `fabtwin watch` (cmd_client.cpp): the clients of `fabtwin serve`.
// Only where the services are built (FABTWIN_HAVE_SERVER).
#include <cstdint>
#include <string>

#include "commands.hpp"
#include "fabtwin/client/client.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/twin/emulator.hpp"

namespace fabtwin::cli {

// How a client command reaches a server: --token / --token-file, --tls, --tls-ca, --tls-cert,
// --tls-key (docs/operations.md "Security").
struct ConnectArgs {
  std::string token, token_file, tls_ca, tls_cert, tls_key;
  bool tls = false;
};
// Adds those options to `c` (`prefix` heads each help text, e.g. "with --target: ").
void add_connect_options(CLI::App& c, ConnectArgs& a, const std::string& prefix = "");
// The channel to `target` they describe; a UsageError (exit 2) naming the option when they
// contradict or a file cannot be read.
std::shared_ptr<grpc::Channel> open_channel(const std::string& target, const ConnectArgs& a);

struct TargetArgs {
  std::string target;          // HOST:PORT of a `fabtwin serve`; "": no server (write the file only)
  ConnectArgs connect;         // token and TLS
  std::string acked;           // the ids acknowledged, one a line, in acknowledgement order ("": none)
  double speed = 0;            // model seconds per wall second; 0: as fast as acknowledged
  std::uint32_t batch = 1000;  // events per IngestRequest
  std::uint32_t window = 4;    // batches sent and not yet acknowledged, at most
};

// Runs the emulated fab for o.days (or until SIGINT / SIGTERM) and sends its events to t.target
// as they happen; also writes them to `events_out` (JSON lines) and the final state to
// `state_out` where not "". Prints one summary line; throws (exit 1) if events were left
// unacknowledged.
int emulate_to_target(const model::Model& m, const twin::EmulateOptions& o, const TargetArgs& t,
                      const std::string& events_out, const std::string& state_out);

void add_watch_command(CLI::App& root, Commands& out);  // watch

}  // namespace fabtwin::cli
