// WhatIfService handlers and the job worker (whatif_service.hpp; docs/api.md "WhatIfService").
#include "whatif_service.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "fabtwin/server/requests.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/whatif/runner.hpp"
#include "fabtwin/whatif/screen.hpp"
#include "fabtwin/whatif/spec.hpp"

namespace fabtwin::server {

namespace {

using Clock = std::chrono::steady_clock;

struct Cancelled {};

bool final_state(v1::JobState s) { return s == v1::DONE || s == v1::FAILED || s == v1::CANCELLED; }

grpc::Status invalid(const model::Error& e) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, twin_pb::status_text(e));
}

// A spec the reader refused: its message as `whatif run` prints it ("LABEL:LINE: field 'F': ...").
grpc::Status spec_error(const model::Error& e) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, e.what());
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const char* state_key(v1::JobState s) {
  return s == v1::DONE ? "done" : s == v1::FAILED ? "failed" : "cancelled";
}

}  // namespace

struct WhatIfServiceImpl::Job {
  std::string id;
  std::uint64_t number = 0;
  std::string spec_json;  // as submitted (kept in the store)
  std::string name;       // the spec's
  std::int64_t submitted_unix_ms = 0;
  whatif::Batch batch;
  std::vector<whatif::MetricDef> defs;
  std::optional<flow::FlowModel> flow;  // where the spec screens or has a "flow" block
  std::atomic<bool> cancel{false};

  std::mutex mu;  // everything below
  v1::JobState state = v1::QUEUED;
  double done = 0, total = 0;
  double screen_done = 0, screen_total = 0;  // while screening: the flow's scenario-days
  std::string message;
  Clock::time_point started;  // of the phase now running (its ETA)
  std::uint32_t queue_position = 0;
  std::string phase;                  // RUNNING: "screening", then "simulating"
  v1::ResultsReply results;           // once DONE
  std::int64_t finished_unix_ms = 0;  // once in a final state
  std::set<WatchReactor*> watchers;

  // Enters a final state (DONE, FAILED, CANCELLED), its finish time with it: a listing that sees
  // the state sees the time.
  void end_locked(v1::JobState s, std::string why) {
    state = s;
    message = std::move(why);
    finished_unix_ms = unix_ms_now();
  }

  v1::JobSummary summary_locked() const {
    v1::JobSummary j;
    j.set_job_id(id);
    j.set_state(state);
    j.set_message(message);
    j.set_name(name);
    j.set_submitted_unix_ms(submitted_unix_ms);
    j.set_finished_unix_ms(finished_unix_ms);
    j.set_done(done);
    j.set_total(total);
    return j;
  }

  v1::Progress progress_locked() const {
    v1::Progress p;
    p.set_done(done);
    p.set_total(total);
    const bool screening = state == v1::RUNNING && phase == "screening";
    const double d = screening ? screen_done : done, n = screening ? screen_total : total;
    if (state == v1::RUNNING && d > 0) {
      const double el = std::chrono::duration<double>(Clock::now() - started).count();
      p.set_eta_s(std::max(0.0, el / d * (n - d)));
    }
    if (screening) {
      p.set_screen_done(screen_done);
      p.set_screen_total(screen_total);
    }
    p.set_state(state);
    p.set_message(message);
    p.set_queue_position(state == v1::QUEUED ? queue_position : 0);
    if (state == v1::RUNNING) p.set_phase(phase);
    return p;
  }
  void publish_locked();
};

// One Watch call: holds the newest progress not yet sent (one slot); ends after a final state.
class WhatIfServiceImpl::WatchReactor final : public grpc::ServerWriteReactor<v1::Progress> {
 public:
  explicit WatchReactor(std::shared_ptr<Job> job) : job_(std::move(job)) {
    std::lock_guard jl(job_->mu);
    job_->watchers.insert(this);
    push(job_->progress_locked());
  }

  // Called with the job's mutex held.
  void push(const v1::Progress& p) {
    {
      std::lock_guard lock(mu_);
      if (done_) return;
      if (writing_) {
        pending_ = p;
        have_pending_ = true;
        return;
      }
      current_ = p;
      writing_ = true;
    }
    StartWrite(&current_);
  }

  void OnWriteDone(bool ok) override {
    bool finish = false, write = false;
    grpc::Status status = grpc::Status::OK;
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        finish = true;
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled");
      } else if (final_state(current_.state())) {
        finish = true;
      } else if (have_pending_) {
        current_ = pending_;
        have_pending_ = false;
        write = true;
      } else {
        writing_ = false;
      }
      if (finish) done_ = true;
    }
    if (finish) return Finish(status);
    if (write) StartWrite(&current_);
  }

  void OnCancel() override {
    bool finish = false;
    {
      std::lock_guard lock(mu_);
      if (!done_ && !writing_) finish = done_ = true;
    }
    if (finish) Finish(grpc::Status(grpc::StatusCode::CANCELLED, "the watch was cancelled"));
  }

  void OnDone() override {
    {
      std::lock_guard jl(job_->mu);
      job_->watchers.erase(this);
    }
    delete this;
  }

 private:
  std::shared_ptr<Job> job_;
  std::mutex mu_;
  bool writing_ = false, have_pending_ = false, done_ = false;
  v1::Progress current_, pending_;
};

void WhatIfServiceImpl::Job::publish_locked() {
  const v1::Progress p = progress_locked();
  for (WatchReactor* w : watchers) w->push(p);
}

WhatIfServiceImpl::WhatIfServiceImpl(live::LiveTwin& twin, unsigned threads, const Gate& gate)
    : gate_(&gate), twin_(&twin), threads_(std::max(1u, threads)) {
  // Ids continue after the stored jobs' (a restarted server never reuses one).
  auto last = twin_->store().whatif_job_max_number();
  if (!last.ok()) throw std::runtime_error(last.error().what());
  next_id_ = last.value() + 1;
  worker_ = std::thread([this] { work(); });
}

// Called for a job in a final state, never holding mu_ (a commit waits for the disk). A job that
// cannot be stored stays in memory only; the server goes on.
void WhatIfServiceImpl::keep(Job& job) {
  live::WhatIfJobRow row;
  {
    std::lock_guard jl(job.mu);
    row.id = job.id;
    row.number = job.number;
    row.state = state_key(job.state);
    row.message = job.message;
    row.name = job.name;
    row.submitted_unix_ms = job.submitted_unix_ms;
    row.finished_unix_ms = job.finished_unix_ms;
    row.total_days = job.total;
    row.spec = job.spec_json;
    if (job.state == v1::DONE) job.results.SerializeToString(&row.results);
  }
  if (auto k = twin_->store().put_whatif_job(row, kStoredJobs); !k.ok())
    std::fprintf(stderr, "fabtwin serve: what-if job %s not stored: %s\n", row.id.c_str(),
                 k.error().what().c_str());
}

WhatIfServiceImpl::~WhatIfServiceImpl() { stop(); }

void WhatIfServiceImpl::stop() {
  std::deque<std::shared_ptr<Job>> queued;
  std::vector<std::shared_ptr<Job>> all;
  {
    std::unique_lock lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      queued.swap(queue_);
      for (auto& [id, j] : jobs_) all.push_back(j);
    }
    cv_.notify_all();
    cv_.wait(lock, [this] { return submitting_ == 0; });
  }
  for (auto& j : all) j->cancel = true;
  for (auto& j : queued) {
    {
      std::lock_guard jl(j->mu);
      j->end_locked(v1::CANCELLED, "the server is shutting down");
      j->publish_locked();
    }
    keep(*j);
  }
  if (worker_.joinable()) worker_.join();
  std::deque<std::shared_ptr<Job>> left;
  {
    std::lock_guard lock(mu_);
    left.swap(to_keep_);
  }
  for (const auto& j : left) keep(*j);
}

std::shared_ptr<WhatIfServiceImpl::Job> WhatIfServiceImpl::find(const std::string& id) {
  {
    std::lock_guard lock(mu_);
    const auto it = jobs_.find(id);
    if (it != jobs_.end()) return it->second;
  }
  // A job finished before this server started (or pushed out of memory by newer ones).
  auto stored = twin_->store().whatif_job(id);
  if (!stored.ok() || !stored.value()) return nullptr;
  auto job = stored_job(*stored.value());
  if (job->state == v1::DONE && !job->results.ParseFromString(stored.value()->results)) return nullptr;
  return job;
}

// A stored job as a finished one (its results not parsed).
std::shared_ptr<WhatIfServiceImpl::Job> WhatIfServiceImpl::stored_job(const live::WhatIfJobRow& row) {
  auto job = std::make_shared<Job>();
  job->id = row.id;
  job->number = row.number;
  job->spec_json = row.spec;
  job->name = row.name;
  job->submitted_unix_ms = row.submitted_unix_ms;
  job->finished_unix_ms = row.finished_unix_ms;
  job->state = row.state == "done" ? v1::DONE : row.state == "failed" ? v1::FAILED : v1::CANCELLED;
  job->message = row.message;
  job->total = row.total_days;
  job->done = job->state == v1::DONE ? row.total_days : 0;
  return job;
}

void WhatIfServiceImpl::work() {
  for (;;) {
    std::shared_ptr<Job> job;
    std::deque<std::shared_ptr<Job>> cancelled;  // taken off the queue by Cancel: to the store
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty() || !to_keep_.empty(); });
      cancelled.swap(to_keep_);
      if (!stopping_ && !queue_.empty()) {
        job = queue_.front();
        queue_.pop_front();
        for (std::size_t i = 0; i < queue_.size(); ++i) {
          std::lock_guard jl(queue_[i]->mu);
          queue_[i]->queue_position = static_cast<std::uint32_t>(i);
          queue_[i]->publish_locked();
        }
      }
    }
    for (const auto& c : cancelled) keep(*c);
    if (!job) {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      continue;
    }
    bool running;
    {
      std::lock_guard jl(job->mu);
      if (job->cancel) {
        job->end_locked(v1::CANCELLED, "cancelled before it started");
      } else {
        job->state = v1::RUNNING;
        job->phase = job->batch.spec.screen.given ? "screening" : "simulating";
        job->started = Clock::now();
      }
      running = job->state == v1::RUNNING;
      job->publish_locked();
    }
    if (!running) {
      job->batch = whatif::Batch{};
      keep(*job);
      std::lock_guard lock(mu_);
      finished_.push_back(job->id);
      continue;
    }
    v1::JobState state = v1::DONE;
    std::string message;
    v1::ResultsReply out;
    try {
      whatif::Batch& b = job->batch;
      const flow::FlowModel* fm = job->flow ? &*job->flow : nullptr;
      // A screen: the design with the flow model, its confirmed points join the batch.
      std::optional<whatif::ScreenResult> screened;
      if (b.spec.screen.given) {
        // (a cancel stops the flow run at its next report, about a simulated day later)
        auto sr = whatif::screen(b, *fm, threads_, [&job](double done, double total) {
          if (job->cancel) throw Cancelled{};
          std::lock_guard jl(job->mu);
          job->screen_done = done;
          job->screen_total = total;
          job->publish_locked();
        });
        if (!sr.ok()) throw std::runtime_error(sr.error().what());
        screened.emplace(std::move(sr.value()));
        if (job->cancel) throw Cancelled{};  // (the metrics are the spec's: job->defs stands)
        std::lock_guard jl(job->mu);
        job->phase = "simulating";
        job->started = Clock::now();
        job->total = whatif::total_days(b, 0, b.scenarios.size() * b.spec.replications);
        job->publish_locked();
      }
      whatif::RunOptions ro;
      ro.threads = threads_;
      ro.progress = [&job](double done, double total) {
        if (job->cancel) throw Cancelled{};
        std::lock_guard jl(job->mu);
        job->done = done;
        job->total = total;
        job->publish_locked();
      };
      const std::size_t pairs = b.scenarios.size() * b.spec.replications;
      const auto values = whatif::run_pairs(b, job->defs, 0, pairs, ro);
      if (job->cancel) throw Cancelled{};
      const auto r = whatif::summarise_with_flow(b, job->defs, values, fm, threads_);
      out.set_results_json(whatif::results_json(b, r));
      out.set_results_csv(whatif::results_csv(r));
      const auto png = whatif::results_chart(r);
      out.set_chart_png(std::string(png.begin(), png.end()));
      for (const whatif::Row& row : r.rows) {
        v1::ResultRow& pr = *out.add_rows();
        pr.set_scenario(r.scenario_names[row.scenario]);
        pr.set_metric(r.defs[row.def].metric);
        pr.set_subject(r.defs[row.def].subject);
        pr.set_n(static_cast<std::uint32_t>(row.summary.n));
        pr.set_mean(row.summary.mean);
        pr.set_sd(row.summary.sd);
        pr.set_ci_low(row.summary.lo());
        pr.set_ci_high(row.summary.hi());
        if (row.diff) {
          pr.set_diff(row.diff->mean);
          pr.set_diff_ci_low(row.diff->lo());
          pr.set_diff_ci_high(row.diff->hi());
        }
        for (double v : row.values) pr.add_values(v);
        if (row.flow_estimate) pr.set_flow_estimate(*row.flow_estimate);
      }
      if (screened) {
        const auto files = whatif::screen_files(b, *screened, r);
        out.set_screen_csv(files[0].second);
        out.set_screen_json(files[1].second);
      }
    } catch (const Cancelled&) {
      state = v1::CANCELLED;
      std::lock_guard lock(mu_);
      message = stopping_ ? "the server is shutting down" : "cancelled";
    } catch (const std::exception& e) {
      state = v1::FAILED;
      message = e.what();
    }
    // The models and checkpoint are not needed any more (finished jobs are kept for their results).
    job->batch = whatif::Batch{};
    job->defs.clear();
    job->flow.reset();
    {
      std::lock_guard jl(job->mu);
      job->end_locked(state, message);
      if (state == v1::DONE) {
        job->results = std::move(out);
        job->done = job->total;
      }
      job->publish_locked();
    }
    keep(*job);
    std::lock_guard lock(mu_);
    finished_.push_back(job->id);
    while (finished_.size() > kKeptJobs) {
      jobs_.erase(finished_.front());
      finished_.pop_front();
    }
  }
}

// Checked (and the live state saved) on a thread of its own: loading a model and applying the
// scenarios can take a while; gRPC's threads never wait for it.
grpc::ServerUnaryReactor* WhatIfServiceImpl::Submit(grpc::CallbackServerContext* ctx,
                                                    const v1::SubmitRequest* request,
                                                    v1::SubmitReply* reply) {
  if (auto st = gate_->check(ctx, kWhatIfSubmit); !st.ok()) return finish_now(ctx, st);
  auto* r = ctx->DefaultReactor();
  auto label = requests::whatif_submit(*request);
  if (!label) {
    r->Finish(invalid(label.error()));
    return r;
  }
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      r->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
      return r;
    }
    if (submitting_ >= kMaxSubmitting) {
      r->Finish(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                             "other submissions are being checked; try again later"));
      return r;
    }
    ++submitting_;
  }
  try {
    std::thread([this, r, request, reply, label = std::move(label.value())] {
      grpc::Status status = grpc::Status::OK;
      try {
        auto spec = whatif::parse_spec(request->spec_json(), label, request->base_dir());
        if (!spec.ok()) throw model::Error(spec.error());
        const bool live = spec->live;
        auto batch =
            live ? whatif::load_batch(
                       std::move(spec.value()),
                       // The served twin's state now, saved under its shared lock (ingest
                       // waits only for this copy).
                       whatif::LiveBase{twin_->model(),
                                        twin_->read([](const des::Simulation& s) { return s.save(); })})
                 : whatif::load_batch(std::move(spec.value()));
        // The flow model (a screen, or a "flow" block): a missing or unfitting calibration is
        // refused now, not when the job runs.
        auto fm = batch.ok() ? whatif::flow_model_for(batch.value(), batch->spec.screen.given)
                             : model::Result<std::optional<flow::FlowModel>>(batch.error());
        if (!fm.ok()) {
          status = spec_error(fm.error());
        } else {
          auto job = std::make_shared<Job>();
          job->flow = std::move(fm.value());
          job->batch = std::move(batch.value());
          job->defs = whatif::metric_defs(job->batch);
          const std::size_t pairs = job->batch.scenarios.size() * job->batch.spec.replications;
          job->total = whatif::total_days(job->batch, 0, pairs);
          reply->set_pairs(static_cast<std::uint32_t>(pairs));
          for (const auto& e : job->batch.scenarios) reply->add_scenarios(e.name);
          reply->set_live_base(job->batch.spec.live);
          reply->set_base_time_ms(
              static_cast<std::int64_t>(std::llround(job->batch.start_days * model::kMsPerDay)));
          std::lock_guard lock(mu_);
          if (stopping_) {
            status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
          } else if (queue_.size() >= kMaxQueued) {
            status = grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                  std::to_string(kMaxQueued) + " jobs are queued; try again later");
          } else {
            job->number = next_id_++;
            job->id = "job-" + std::to_string(job->number);
            job->spec_json = request->spec_json();
            job->name = job->batch.spec.name;
            job->submitted_unix_ms = unix_ms_now();
            job->queue_position = static_cast<std::uint32_t>(queue_.size());
            jobs_[job->id] = job;
            queue_.push_back(job);
            reply->set_job_id(job->id);
            cv_.notify_all();
          }
        }
      } catch (const model::Error& e) {
        status = spec_error(e);
      } catch (const std::exception& e) {
        status = grpc::Status(grpc::StatusCode::INTERNAL, e.what());
      }
      {
        std::lock_guard lock(mu_);
        --submitting_;
        cv_.notify_all();
      }
      r->Finish(status);
    }).detach();
  } catch (const std::exception& e) {
    {
      std::lock_guard lock(mu_);
      --submitting_;
      cv_.notify_all();
    }
    r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return r;
}

grpc::ServerWriteReactor<v1::Progress>* WhatIfServiceImpl::Watch(grpc::CallbackServerContext* ctx,
                                                                 const v1::WatchRequest* request) {
  if (auto st = gate_->check(ctx, kWhatIfWatch); !st.ok()) return new RefusedWriteReactor<v1::Progress>(st);
  if (auto ok = requests::whatif_job_id(request->job_id()); !ok)
    return new RefusedWriteReactor<v1::Progress>(invalid(ok.error()));
  auto job = find(request->job_id());
  if (!job)
    return new RefusedWriteReactor<v1::Progress>(
        grpc::Status(grpc::StatusCode::NOT_FOUND, "job_id: no job '" + request->job_id() + "'"));
  return new WatchReactor(std::move(job));
}

grpc::ServerUnaryReactor* WhatIfServiceImpl::Results(grpc::CallbackServerContext* ctx,
                                                     const v1::ResultsRequest* request,
                                                     v1::ResultsReply* reply) {
  if (auto st = gate_->check(ctx, kWhatIfResults); !st.ok()) return finish_now(ctx, st);
  if (auto ok = requests::whatif_job_id(request->job_id()); !ok) return finish_now(ctx, invalid(ok.error()));
  auto job = find(request->job_id());
  if (!job)
    return finish_now(
        ctx, grpc::Status(grpc::StatusCode::NOT_FOUND, "job_id: no job '" + request->job_id() + "'"));
  std::lock_guard jl(job->mu);
  if (job->state != v1::DONE) {
    std::string what = "job '" + job->id + "' is " + v1::JobState_Name(job->state);
    if (!job->message.empty()) what += ": " + job->message;
    return finish_now(ctx,
                      grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   what + (final_state(job->state) ? " (no results)" : " (not done yet)")));
  }
  *reply = job->results;
  return finish_now(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WhatIfServiceImpl::Cancel(grpc::CallbackServerContext* ctx,
                                                    const v1::CancelRequest* request,
                                                    v1::CancelReply* reply) {
  if (auto st = gate_->check(ctx, kWhatIfCancel); !st.ok()) return finish_now(ctx, st);
  if (auto ok = requests::whatif_job_id(request->job_id()); !ok) return finish_now(ctx, invalid(ok.error()));
  std::shared_ptr<Job> job;
  {
    std::lock_guard lock(mu_);
    const auto it = jobs_.find(request->job_id());
    if (it == jobs_.end())
      return finish_now(
          ctx, grpc::Status(grpc::StatusCode::NOT_FOUND, "job_id: no job '" + request->job_id() + "'"));
    job = it->second;
    job->cancel = true;
    const auto q = std::find(queue_.begin(), queue_.end(), job);
    if (q != queue_.end()) {
      queue_.erase(q);
      std::lock_guard jl(job->mu);
      job->end_locked(v1::CANCELLED, "cancelled before it started");
      job->publish_locked();
      job->batch = whatif::Batch{};  // off the queue: the worker never sees it
      finished_.push_back(job->id);
      to_keep_.push_back(job);  // the worker stores it (a commit waits for the disk)
      cv_.notify_all();
    }
  }
  std::lock_guard jl(job->mu);
  reply->set_state(job->state);  // RUNNING: it stops at its next simulated day (Watch shows CANCELLED)
  return finish_now(ctx, grpc::Status::OK);
}

grpc::ServerUnaryReactor* WhatIfServiceImpl::ListJobs(grpc::CallbackServerContext* ctx,
                                                      const v1::ListJobsRequest* request,
                                                      v1::ListJobsReply* reply) {
  if (auto st = gate_->check(ctx, kWhatIfListJobs); !st.ok()) return finish_now(ctx, st);
  auto checked = requests::whatif_list_jobs(*request);
  if (!checked) return finish_now(ctx, invalid(checked.error()));
  const std::size_t limit = checked.value();
  std::map<std::uint64_t, v1::JobSummary, std::greater<>> by_number;  // newest first
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, job] : jobs_) {
      std::lock_guard jl(job->mu);
      by_number.emplace(job->number, job->summary_locked());
    }
  }
  auto stored = twin_->store().whatif_jobs(limit);
  if (!stored.ok()) return finish_now(ctx, grpc::Status(grpc::StatusCode::INTERNAL, stored.error().what()));
  for (const live::WhatIfJobRow& row : stored.value()) {
    if (by_number.count(row.number)) continue;  // in memory: its state there is the newest
    by_number.emplace(row.number, stored_job(row)->summary_locked());
  }
  for (auto& [number, j] : by_number) {
    if (static_cast<std::size_t>(reply->jobs_size()) == limit) break;
    *reply->add_jobs() = std::move(j);
  }
  return finish_now(ctx, grpc::Status::OK);
}

}  // namespace fabtwin::server
