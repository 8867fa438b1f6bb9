#pragma once
// WhatIfService (proto/fabtwin/v1/whatif.proto; docs/api.md "WhatIfService"): what-if batches
// (services/whatif) run by the server. Submit checks the spec on a thread of its own (the model is
// loaded and every scenario applied; a {"live": true} base is the served twin's state, saved under
// its shared lock at submit time) and queues the job; one worker thread runs the jobs one at a
// time (whatif::run_pairs on `threads` threads), never on gRPC's threads nor holding the twin's
// lock. Jobs and their outputs are kept in memory (the newest kKeptJobs finished ones) and every
// finished job in the twin's store (the newest kStoredJobs: Watch and Results answer for them after
// a restart; job ids continue after the largest stored one).
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/v1/whatif.grpc.pb.h"
#include "fabtwin/whatif/output.hpp"
#include "gate.hpp"

namespace fabtwin::server {

class WhatIfServiceImpl final : public v1::WhatIfService::CallbackService {
 public:
  static constexpr std::size_t kMaxQueued = 16;
  static constexpr std::size_t kKeptJobs = 64;
  static constexpr std::size_t kStoredJobs = 1000;
  static constexpr int kMaxSubmitting = 2;

  WhatIfServiceImpl(live::LiveTwin& twin, unsigned threads, const Gate& gate);
  ~WhatIfServiceImpl() override;

  grpc::ServerUnaryReactor* Submit(grpc::CallbackServerContext* ctx, const v1::SubmitRequest* request,
                                   v1::SubmitReply* reply) override;
  grpc::ServerWriteReactor<v1::Progress>* Watch(grpc::CallbackServerContext* ctx,
                                                const v1::WatchRequest* request) override;
  grpc::ServerUnaryReactor* Results(grpc::CallbackServerContext* ctx, const v1::ResultsRequest* request,
                                    v1::ResultsReply* reply) override;
  grpc::ServerUnaryReactor* Cancel(grpc::CallbackServerContext* ctx, const v1::CancelRequest* request,
                                   v1::CancelReply* reply) override;
  grpc::ServerUnaryReactor* ListJobs(grpc::CallbackServerContext* ctx, const v1::ListJobsRequest* request,
                                     v1::ListJobsReply* reply) override;

  // Cancels every job, refuses new ones, ends the watches (CANCELLED as their last state) and
  // joins the worker. Idempotent.
  void stop();

  struct Job;
  class WatchReactor;

 private:
  void work();
  std::shared_ptr<Job> find(const std::string& id);  // in memory, else in the store; null: none
  static std::shared_ptr<Job> stored_job(const live::WhatIfJobRow& row);
  void keep(Job& job);  // the finished job into the store

  const Gate* gate_;
  live::LiveTwin* twin_;
  unsigned threads_;
  std::mutex mu_;  // everything below
  std::condition_variable cv_;
  std::map<std::string, std::shared_ptr<Job>> jobs_;
  std::deque<std::shared_ptr<Job>> queue_;
  std::deque<std::string> finished_;          // ids, oldest first
  std::deque<std::shared_ptr<Job>> to_keep_;  // cancelled off the queue: the worker stores them
  std::uint64_t next_id_ = 1;
  int submitting_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

}  // namespace fabtwin::server
