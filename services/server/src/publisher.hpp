#pragma once
// StreamState's machinery (LIVE-TWIN.md "State, keyframes, deltas"): one publisher thread turns
// journal versions into serialised StateFrames, once per version and starting point, and hands
// each subscriber ONE slot: the newest frame it has not been sent, built from the version it
// will hold once its writes are done (a merged delta, or a keyframe when the journal no longer
// reaches back). A write starts from OnWriteDone when the slot is filled and the client's rate
// allows, else from the publisher's next round. Memory per subscriber: one slot and the frame in
// flight (references to shared bytes).
//
// Locking: a subscriber's mutex guards its fields; gRPC calls (StartWrite, Finish) are made
// after releasing it (a reaction may run inline inside them). `writing` and `finished` say who
// may touch the reactor: whoever set writing = true starts that write; Finish is called once.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/server/requests.hpp"
#include "fabtwin/v1/twin.pb.h"

namespace fabtwin::server {

using Clock = std::chrono::steady_clock;

// One serialised fabtwin.v1.StateFrame, shared by every subscriber it goes to.
struct Frame {
  bool keyframe = false;
  std::uint64_t from = 0;  // a delta: the version it starts at
  std::uint64_t to = 0;    // the version a client holds after it
  grpc::Slice bytes;
};

class StreamReactor;

struct Subscriber {
  std::mutex mu;
  StreamReactor* reactor = nullptr;   // valid while !finished
  bool writing = false;               // a write is in flight
  bool finished = false;              // Finish was called (or is about to be)
  bool cancelled = false;             // OnCancel ran
  bool closing = false;               // the server stops: finish once the write in flight is done
  std::optional<std::uint64_t> sent;  // the version the client holds once its writes are done
  std::shared_ptr<const Frame> slot;  // the newest frame not yet sent; built from `sent`
  Clock::duration interval{};         // 1 / max frames per second
  Clock::time_point next_write{};     // not before
};

struct PublisherStats {
  std::uint64_t keyframes = 0, deltas = 0, merged_deltas = 0, frames_sent = 0, subscribers = 0;
};

class Publisher {
 public:
  Publisher(live::LiveTwin& twin, double period_s);
  ~Publisher();

  // The reactor for one StreamState call, its request checked (requests::stream_state); finished
  // at once, UNAVAILABLE, if the publisher has stopped.
  grpc::ServerWriteReactor<grpc::ByteBuffer>* subscribe(const requests::StreamParams& request);
  void notify();  // the twin may have a new version
  // Finishes every stream with UNAVAILABLE (after its write in flight) and joins the thread.
  void stop();
  PublisherStats stats() const;

  // Takes the slot if its write is due (writing = true, sent = its version): the caller then
  // calls reactor->start_write(*frame) outside the lock. Called with s.mu held.
  struct DueWrite {
    StreamReactor* reactor = nullptr;  // null: nothing due
    std::shared_ptr<const Frame> frame;
  };
  DueWrite take_due_write_locked(Subscriber& s, Clock::time_point now);

 private:
  void run();
  void round();
  std::shared_ptr<const Frame> frame_from(std::optional<std::uint64_t> from, std::uint64_t latest);
  std::shared_ptr<const Frame> make_frame(v1::StateFrame& message, bool keyframe, std::uint64_t from,
                                          std::uint64_t to);

  live::LiveTwin* twin_;
  Clock::duration period_;

  // Lock order: mu_, then a subscriber's mu (never the other way round).
  mutable std::mutex mu_;  // subs_, stopped_, wake_
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Subscriber>> subs_;
  bool stopped_ = false;
  bool wake_ = false;
  std::atomic<std::uint64_t> keyframes_{0}, deltas_{0}, merged_deltas_{0}, frames_sent_{0};

  // Publisher thread only.
  std::optional<std::uint64_t> published_;  // the version frames are being built for
  std::uint64_t previous_ = 0;              // the version before it (deltas from it are the shared ones)
  std::map<std::uint64_t, std::shared_ptr<const Frame>> cache_;  // frames to published_, by start
  std::shared_ptr<const Frame> keyframe_;                        // the keyframe at published_
  std::thread thread_;
};

class StreamReactor final : public grpc::ServerWriteReactor<grpc::ByteBuffer> {
 public:
  StreamReactor(Publisher& publisher, std::shared_ptr<Subscriber> sub);
  // A reactor that finishes at once with `status` (a bad request, a stopped server).
  explicit StreamReactor(const grpc::Status& status);

  // Writes `frame` (the subscriber's `writing` was set by take_due_write_locked).
  void start_write(const Frame& frame);
  // Calls Finish (the subscriber's `finished` was set by whoever calls this).
  void finish(const grpc::Status& status) { Finish(status); }

  void OnWriteDone(bool ok) override;
  void OnCancel() override;
  void OnDone() override;

 private:
  Publisher* publisher_ = nullptr;
  std::shared_ptr<Subscriber> sub_;
  grpc::ByteBuffer inflight_;  // alive until OnWriteDone
};

}  // namespace fabtwin::server
