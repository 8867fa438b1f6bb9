#pragma once
// Where the viewer's state comes from. Both kinds hand the scene the same things: a keyframe
// (des::StateView), then deltas (des::StateDelta).
//   Standalone  an in-process des::Simulation (autonomous), advanced by model time on each poll
//   Live        TwinService.StreamState of `fabtwin serve` over gRPC (keyframe + deltas), on a
//               thread of its own; the channel of client::connect (token as `authorization:
//               Bearer` metadata on every call, TLS where asked)
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/viewer/fab_info.hpp"
#include "fabtwin/viewer/scene.hpp"

namespace fabtwin::viewer {

struct PollStats {
  bool keyframe = false;
  std::size_t deltas = 0;
  std::size_t changed_tools = 0, changed_queues = 0, changed_lots = 0;
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const FabInfo& fab() const = 0;
  // Applies to `scene` what arrived since the last poll. Standalone: first runs the simulation
  // on by `model_ms` of model time. Error: the stream ended for good, or the state does not fit.
  virtual model::Result<PollStats> poll(Scene& scene, std::int64_t model_ms) = 0;
  virtual bool live() const = 0;
  virtual std::string describe() const = 0;  // one line for the UI
};

class StandaloneSource : public Source {
 public:
  // Runs the simulation to `start_days` (autonomous) before the first poll.
  static model::Result<std::unique_ptr<StandaloneSource>> create(const model::Model& model, double start_days,
                                                                 std::uint64_t seed = 1);
  const FabInfo& fab() const override { return fab_; }
  model::Result<PollStats> poll(Scene& scene, std::int64_t model_ms) override;
  bool live() const override { return false; }
  std::string describe() const override;
  des::Simulation& simulation() { return sim_; }

 private:
  StandaloneSource(des::Simulation sim, FabInfo fab) : sim_(std::move(sim)), fab_(std::move(fab)) {}
  des::Simulation sim_;
  FabInfo fab_;
  std::optional<std::uint64_t> shown_;  // version the scene holds
};

#ifdef FABTWIN_VIEWER_HAVE_LIVE
struct LiveOptions {
  std::string target;                     // host:port
  std::string token;                      // "" = none; sent as `authorization: Bearer TOKEN` on every call
  bool tls = false;                       // TLS with the system's roots (implied by the files below)
  std::string tls_ca, tls_cert, tls_key;  // PEM files (client::ChannelOptions)
  double connect_timeout_s = 10;
  double max_frames_per_second = 30;
};
class LiveSource;
// Connects, reads the model summary (GetModel) and starts following StreamState.
model::Result<std::unique_ptr<Source>> connect_live(const LiveOptions& options);
#endif

}  // namespace fabtwin::viewer
