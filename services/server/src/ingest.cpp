#include "ingest.hpp"

#include <exception>

namespace fabtwin::server {

namespace {
constexpr std::size_t kMaxEventsPerCommit = 200'000;  // batches beyond wait for the next commit
}

IngestWriter::IngestWriter(live::LiveTwin& twin, std::function<void()> committed)
    : twin_(&twin), committed_(std::move(committed)), thread_([this] { run(); }) {}

IngestWriter::~IngestWriter() { stop(); }

bool IngestWriter::submit(std::vector<des::Event> events, Done done) {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    queue_.push_back({std::move(events), std::move(done)});
  }
  cv_.notify_one();
  return true;
}

void IngestWriter::stop() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

IngestStats IngestWriter::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void IngestWriter::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopped_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopped, nothing left
    std::vector<Job> jobs;
    std::size_t events = 0;
    while (!queue_.empty() &&
           (jobs.empty() || events + queue_.front().events.size() <= kMaxEventsPerCommit)) {
      events += queue_.front().events.size();
      jobs.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lock.unlock();
    commit(jobs);
    lock.lock();
  }
}

void IngestWriter::commit(std::vector<Job>& jobs) {
  std::vector<des::Event> all;
  if (jobs.size() == 1) {
    all = std::move(jobs[0].events);
  } else {
    std::size_t n = 0;
    for (const Job& j : jobs) n += j.events.size();
    all.reserve(n);
    for (Job& j : jobs)
      for (des::Event& e : j.events) all.push_back(std::move(e));
  }
  model::Result<std::vector<twin::EventOutcome>> result = model::Error{};
  try {
    result = twin_->ingest(all);
  } catch (const std::exception& e) {
    result = model::Error{
        .file = "", .line = 0, .field = "", .message = std::string("ingest failed: ") + e.what()};
  }
  IngestAck base;
  if (result.ok()) {
    twin_->read([&](const des::Simulation& sim) {
      base.version = sim.version();
      base.now_ms = sim.now().time_since_epoch().count();
    });
  }
  {
    std::lock_guard lock(mu_);
    ++stats_.commits;
    stats_.batches += jobs.size();
    if (result.ok()) stats_.events += all.size();
  }
  if (committed_) committed_();
  std::size_t at = 0;
  for (Job& j : jobs) {
    const std::size_t n = jobs.size() == 1 ? all.size() : j.events.size();
    if (!result.ok()) {
      j.done(result.error());
      continue;
    }
    IngestAck ack{{}, base.version, base.now_ms};
    auto& outcomes = result.value();
    ack.outcomes.assign(std::make_move_iterator(outcomes.begin() + static_cast<std::ptrdiff_t>(at)),
                        std::make_move_iterator(outcomes.begin() + static_cast<std::ptrdiff_t>(at + n)));
    at += n;
    j.done(std::move(ack));
  }
}

}  // namespace fabtwin::server
