#pragma once
// The ingest writer: one thread in front of LiveTwin::ingest. gRPC threads decode and submit
// batches; the writer takes every batch queued at that moment, hands them to the twin together
// (one group commit) and calls each batch's `done` after the commit returned (or failed). It
// never runs inside a reaction: a commit waits for the disk.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/twin/ledger.hpp"

namespace fabtwin::server {

struct IngestAck {
  std::vector<twin::EventOutcome> outcomes;  // one per event of the batch, in order
  std::uint64_t version = 0;                 // the twin's journal version after the commit
  std::int64_t now_ms = 0;                   // the twin's clock after the commit
};

struct IngestStats {
  std::uint64_t commits = 0, batches = 0, events = 0;
};

class IngestWriter {
 public:
  using Done = std::function<void(model::Result<IngestAck>)>;
  // `committed` runs after each commit (the publisher's notify).
  IngestWriter(live::LiveTwin& twin, std::function<void()> committed);
  ~IngestWriter();

  // Queues a batch; false once stopped (done is not called then).
  bool submit(std::vector<des::Event> events, Done done);
  // Commits what is queued, then joins the thread; later submits are refused.
  void stop();
  IngestStats stats() const;

 private:
  struct Job {
    std::vector<des::Event> events;
    Done done;
  };
  void run();
  void commit(std::vector<Job>& jobs);

  live::LiveTwin* twin_;
  std::function<void()> committed_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopped_ = false;
  IngestStats stats_;
  std::thread thread_;
};

}  // namespace fabtwin::server
