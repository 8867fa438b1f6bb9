// The live source: TwinService.GetModel, then StreamState (keyframe + deltas) on a thread of its
// own; the frames are converted to des::StateView / StateDelta there and handed to poll().
#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>
#include <mutex>
#include <thread>

#include "fabtwin/client/client.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.grpc.pb.h"
#include "fabtwin/viewer/source.hpp"

namespace fabtwin::viewer {

namespace {

FabInfo fab_from_summary(const v1::ModelSummary& m) {
  FabInfo f;
  f.name = m.name();
  for (const auto& a : m.areas()) f.areas.push_back(a);
  if (f.areas.empty()) f.areas.push_back("fab");
  for (const auto& g : m.tool_groups())
    f.groups.push_back({g.name(), g.area(), g.first_tool(), g.tool_count()});
  for (const auto& t : m.tools()) {
    f.tools.push_back(t.name());
    f.tool_group.push_back(t.group());
  }
  for (const auto& s : m.steps()) f.step_group.push_back(s.tool_group());
  for (const auto& p : m.products()) f.products.push_back(p.name());
  for (const auto& s : m.setups()) f.setups.push_back(s);
  return f;
}

// Checks the indices a frame may use against the summary (a server must not crash the viewer).
model::Result<bool> check_fab(const FabInfo& f) {
  for (std::size_t g = 0; g < f.groups.size(); ++g) {
    const auto& gi = f.groups[g];
    if (gi.area >= f.areas.size() || std::uint64_t{gi.first_tool} + gi.tool_count > f.tools.size())
      return model::Error{"GetModel", 0, "tool_groups",
                          "tool group " + gi.name + " points outside the model"};
  }
  for (auto g : f.tool_group)
    if (g >= f.groups.size())
      return model::Error{"GetModel", 0, "tools", "a tool's group is outside the model"};
  for (auto g : f.step_group)
    if (g >= f.groups.size())
      return model::Error{"GetModel", 0, "steps", "a step's tool group is outside the model"};
  return true;
}

}  // namespace

class LiveSource : public Source {
 public:
  LiveSource(LiveOptions o, std::shared_ptr<grpc::Channel> ch, FabInfo fab)
      : opt_(std::move(o)), channel_(std::move(ch)), fab_(std::move(fab)) {
    thread_ = std::thread([this] { run(); });
  }
  ~LiveSource() override {
    stop_ = true;
    {
      std::lock_guard lock(ctx_mutex_);
      if (ctx_) ctx_->TryCancel();
    }
    thread_.join();
  }
  const FabInfo& fab() const override { return fab_; }
  bool live() const override { return true; }
  std::string describe() const override {
    std::lock_guard lock(mutex_);
    return "live: " + fab_.name + " on " + opt_.target + ", version " + std::to_string(version_) + " (" +
           status_ + ")";
  }

  model::Result<PollStats> poll(Scene& scene, std::int64_t) override {
    std::optional<des::StateView> key;
    std::deque<des::StateDelta> deltas;
    {
      std::lock_guard lock(mutex_);
      if (fatal_) return *fatal_;
      key.swap(pending_key_);
      deltas.swap(pending_);
    }
    PollStats st;
    if (key) {
      auto r = scene.apply(*key);
      if (!r) return r.error();
      st.keyframe = true;
    }
    for (const auto& d : deltas) {
      if (!scene.has_state()) break;
      auto r = scene.apply(d);
      if (!r) {
        resync_ = true;  // the next stream starts from a keyframe
        std::lock_guard lock(ctx_mutex_);
        if (ctx_) ctx_->TryCancel();
        break;
      }
      ++st.deltas;
      st.changed_tools += d.tools.size();
      st.changed_queues += d.queues.size();
      st.changed_lots += d.lots.size() + d.lots_left.size();
    }
    return st;
  }

 private:
  void run() {
    auto stub = v1::TwinService::NewStub(channel_);
    double backoff = 0.05;
    bool have = false;  // a version is held (the next stream starts from it)
    std::uint64_t held = 0;
    while (!stop_) {
      if (resync_.exchange(false)) have = false;
      v1::StreamStateRequest req;
      req.set_max_frames_per_second(opt_.max_frames_per_second);
      if (have) req.set_from_version(held);
      {
        std::lock_guard lock(ctx_mutex_);
        ctx_ = std::make_unique<grpc::ClientContext>();
        if (stop_) ctx_->TryCancel();
      }
      auto reader = stub->StreamState(ctx_.get(), req);
      v1::StateFrame frame;
      while (reader->Read(&frame)) {
        backoff = 0.05;
        std::lock_guard lock(mutex_);
        status_ = "streaming";
        if (frame.has_keyframe()) {
          auto v = twin_pb::from_proto(frame.keyframe());
          if (!v) {
            fatal_ = v.error();
            return;
          }
          held = v->version;
          have = true;
          version_ = v->version;
          pending_.clear();
          pending_key_ = std::move(v.value());
        } else if (frame.has_delta()) {
          auto d = twin_pb::from_proto(frame.delta());
          if (!d) {
            fatal_ = d.error();
            return;
          }
          held = d->to;
          have = true;
          version_ = d->to;
          pending_.push_back(std::move(d.value()));
        }
      }
      grpc::Status s = reader->Finish();
      if (stop_) break;
      {
        std::lock_guard lock(mutex_);
        status_ = "reconnecting: " + s.error_message();
        if (s.error_code() == grpc::StatusCode::UNAUTHENTICATED ||
            s.error_code() == grpc::StatusCode::PERMISSION_DENIED ||
            s.error_code() == grpc::StatusCode::INVALID_ARGUMENT) {
          fatal_ = model::Error{"StreamState", 0, "", s.error_message()};
          return;
        }
      }
      for (double waited = 0; waited < backoff && !stop_; waited += 0.01)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      backoff = std::min(backoff * 2, 1.0);
    }
  }

  LiveOptions opt_;
  std::shared_ptr<grpc::Channel> channel_;
  FabInfo fab_;
  std::thread thread_;
  std::atomic<bool> stop_{false}, resync_{false};
  mutable std::mutex mutex_;
  std::optional<des::StateView> pending_key_;
  std::deque<des::StateDelta> pending_;
  std::optional<model::Error> fatal_;
  std::uint64_t version_ = 0;
  std::string status_ = "connecting";
  std::mutex ctx_mutex_;
  std::unique_ptr<grpc::ClientContext> ctx_;
};

model::Result<std::unique_ptr<Source>> connect_live(const LiveOptions& options) {
  client::ChannelOptions co;
  co.target = options.target;
  co.token = options.token;
  co.tls = options.tls;
  co.tls_ca = options.tls_ca;
  co.tls_cert = options.tls_cert;
  co.tls_key = options.tls_key;
  auto ch = client::connect(co);
  if (!ch) return model::Error{"", 0, "", "--connect: " + ch.error().what()};
  auto channel = ch.value();
  auto stub = v1::TwinService::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_wait_for_ready(true);
  ctx.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<std::int64_t>(options.connect_timeout_s * 1000)));
  v1::ModelSummary summary;
  grpc::Status s = stub->GetModel(&ctx, v1::GetModelRequest{}, &summary);
  if (!s.ok())
    return model::Error{
        "", 0, "",
        "--connect " + options.target + ": GetModel failed: " + s.error_message() +
            (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED ? " (no server answered)" : "")};
  FabInfo fab = fab_from_summary(summary);
  if (auto r = check_fab(fab); !r) return r.error();
  return std::unique_ptr<Source>(new LiveSource(options, channel, std::move(fab)));
}

}  // namespace fabtwin::viewer
