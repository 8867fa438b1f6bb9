#include "publisher.hpp"

#include <cmath>

#include "fabtwin/twin_pb/twin_pb.hpp"

namespace fabtwin::server {

namespace {

std::int64_t unix_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// ---- reactor ----

StreamReactor::StreamReactor(Publisher& publisher, std::shared_ptr<Subscriber> sub)
    : publisher_(&publisher), sub_(std::move(sub)) {}

StreamReactor::StreamReactor(const grpc::Status& status) { Finish(status); }

void StreamReactor::start_write(const Frame& frame) {
  inflight_ = grpc::ByteBuffer(&frame.bytes, 1);  // a reference to the shared bytes, not a copy
  StartWrite(&inflight_);
}

void StreamReactor::OnWriteDone(bool ok) {
  Publisher::DueWrite next;
  std::optional<grpc::Status> finish;
  {
    std::lock_guard lock(sub_->mu);
    sub_->writing = false;
    if (!ok || sub_->cancelled || sub_->closing) {
      sub_->finished = true;
      finish = sub_->closing && ok
                   ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down")
                   : grpc::Status::CANCELLED;
    } else {
      next = publisher_->take_due_write_locked(*sub_, Clock::now());
    }
  }
  inflight_.Clear();
  if (finish) return Finish(*finish);
  if (next.reactor) next.reactor->start_write(*next.frame);
}

void StreamReactor::OnCancel() {
  if (!sub_) return;
  bool finish = false;
  {
    std::lock_guard lock(sub_->mu);
    sub_->cancelled = true;
    if (!sub_->writing && !sub_->finished) finish = sub_->finished = true;
  }
  if (finish) Finish(grpc::Status::CANCELLED);
}

void StreamReactor::OnDone() {
  if (sub_) {
    std::lock_guard lock(sub_->mu);
    sub_->reactor = nullptr;
    sub_->finished = true;
    sub_->slot.reset();
  }
  delete this;
}

// ---- publisher ----

Publisher::Publisher(live::LiveTwin& twin, double period_s)
    : twin_(&twin),
      period_(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(period_s))),
      thread_([this] { run(); }) {}

Publisher::~Publisher() { stop(); }

grpc::ServerWriteReactor<grpc::ByteBuffer>* Publisher::subscribe(const requests::StreamParams& request) {
  auto sub = std::make_shared<Subscriber>();
  sub->interval = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / request.frames_per_second));
  sub->sent = request.from_version;
  auto* reactor = new StreamReactor(*this, sub);
  sub->reactor = reactor;
  {
    std::lock_guard lock(mu_);
    if (stopped_) {
      sub->finished = true;
      reactor->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
      return reactor;
    }
    subs_.push_back(std::move(sub));
    wake_ = true;
  }
  cv_.notify_one();
  return reactor;
}

void Publisher::notify() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_one();
}

void Publisher::stop() {
  std::vector<std::shared_ptr<Subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    if (stopped_ && !thread_.joinable()) return;
    stopped_ = true;
    subs = subs_;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  for (const auto& s : subs) {
    StreamReactor* finish = nullptr;
    {
      std::lock_guard lock(s->mu);
      s->slot.reset();
      if (s->finished) continue;
      if (s->writing) {
        s->closing = true;  // OnWriteDone finishes it
      } else {
        s->finished = true;
        finish = s->reactor;
      }
    }
    if (finish) finish->finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down"));
  }
  std::lock_guard lock(mu_);
  subs_.clear();
}

PublisherStats Publisher::stats() const {
  PublisherStats s{keyframes_.load(), deltas_.load(), merged_deltas_.load(), frames_sent_.load(), 0};
  std::lock_guard lock(mu_);
  s.subscribers = subs_.size();
  return s;
}

Publisher::DueWrite Publisher::take_due_write_locked(Subscriber& s, Clock::time_point now) {
  if (!s.slot || s.writing || s.finished || s.cancelled || s.closing || !s.reactor || now < s.next_write)
    return {};
  DueWrite w{s.reactor, std::move(s.slot)};
  s.slot.reset();
  s.writing = true;
  s.sent = w.frame->to;
  s.next_write = now + s.interval;  // at most one frame per interval (the client's rate)
  ++frames_sent_;
  return w;
}

void Publisher::run() {
  std::unique_lock lock(mu_);
  while (!stopped_) {
    cv_.wait_for(lock, period_, [this] { return stopped_ || wake_; });
    if (stopped_) break;
    wake_ = false;
    lock.unlock();
    try {
      round();
    } catch (const std::exception&) {
      // A frame that cannot be built (out of memory) is retried next round.
    }
    lock.lock();
  }
}

void Publisher::round() {
  const std::uint64_t latest = twin_->version();
  if (latest != published_) {
    previous_ = published_.value_or(latest);
    published_ = latest;
    cache_.clear();
    keyframe_.reset();
  }
  std::vector<std::shared_ptr<Subscriber>> subs;
  {
    std::lock_guard lock(mu_);
    std::erase_if(subs_, [](const std::shared_ptr<Subscriber>& s) {
      std::lock_guard sl(s->mu);
      return s->finished;
    });
    subs = subs_;
  }
  const Clock::time_point now = Clock::now();
  for (const auto& s : subs) {
    std::optional<std::uint64_t> from;
    bool needs = false;
    {
      std::lock_guard lock(s->mu);
      if (s->finished) continue;
      // Behind, and its slot (if any) is older than the newest version; not while its last write is
      // in flight (a client that does not read would otherwise get a new, ever larger merged delta
      // built at every version: docs/benchmarks.md "Live twin service").
      needs = !s->writing && (!s->sent || *s->sent != latest) && (!s->slot || s->slot->to != latest);
      from = s->sent;
    }
    std::shared_ptr<const Frame> frame;
    if (needs) frame = frame_from(from, latest);
    DueWrite w;
    {
      std::lock_guard lock(s->mu);
      if (frame && s->sent == from && !s->finished) s->slot = std::move(frame);
      w = take_due_write_locked(*s, now);
    }
    if (w.reactor) w.reactor->start_write(*w.frame);
  }
}

std::shared_ptr<const Frame> Publisher::make_frame(v1::StateFrame& message, bool keyframe, std::uint64_t from,
                                                   std::uint64_t to) {
  message.set_built_unix_us(unix_us());
  std::string bytes;
  message.SerializeToString(&bytes);
  auto f = std::make_shared<Frame>();
  f->keyframe = keyframe;
  f->from = from;
  f->to = to;
  f->bytes = grpc::Slice(bytes);
  return f;
}

std::shared_ptr<const Frame> Publisher::frame_from(std::optional<std::uint64_t> from, std::uint64_t latest) {
  if (from) {
    if (auto it = cache_.find(*from); it != cache_.end()) return it->second;
    auto delta = twin_->read([&](const des::Simulation& sim) { return sim.changes_since(*from); });
    if (delta) {
      v1::StateFrame message;
      twin_pb::to_proto(*delta, *message.mutable_delta());
      auto f = make_frame(message, false, delta->from, delta->to);
      ++(*from == previous_ ? deltas_ : merged_deltas_);
      // Only frames that reach the version this round builds for are shared; a newer one (the
      // twin moved meanwhile) serves this subscriber alone.
      if (delta->to == latest) cache_.emplace(*from, f);
      return f;
    }
  }
  if (keyframe_) return keyframe_;
  const des::StateView view = twin_->read([](const des::Simulation& sim) { return sim.view(); });
  v1::StateFrame message;
  twin_pb::to_proto(view, *message.mutable_keyframe());
  auto f = make_frame(message, true, view.version, view.version);
  ++keyframes_;
  if (view.version == latest) keyframe_ = f;
  return f;
}

}  // namespace fabtwin::server
