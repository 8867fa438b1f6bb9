// YieldClient: the Yield panel's YieldService queries on a worker thread (yield_client.hpp).
#include "fabtwin/viewer/yield_client.hpp"

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <deque>

#include "fabtwin/client/client.hpp"
#include "fabtwin/v1/yield.grpc.pb.h"

namespace fabtwin::viewer {

namespace {

const char* code_name(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    default:
      return "error";
  }
}

// One line: "YieldService.RPC: CODE: message" (newlines of the message folded).
std::string status_line(const char* rpc, const grpc::Status& s) {
  std::string m =
      std::string("YieldService.") + rpc + ": " + code_name(s.error_code()) + ": " + s.error_message();
  for (auto& ch : m)
    if (ch == '\n' || ch == '\r') ch = ' ';
  return m;
}

DieGridData grid_from(const v1::DieGrid& g) {
  DieGridData d;
  d.rows = g.rows();
  d.columns = g.columns();
  d.die_column.assign(g.die_column().begin(), g.die_column().end());
  d.die_row.assign(g.die_row().begin(), g.die_row().end());
  return d;
}

YieldSumsRow sums_from(std::string key, const v1::YieldSums& s) {
  YieldSumsRow r;
  r.key = std::move(key);
  r.lots = s.lots();
  r.wafers = s.wafers();
  r.dies = s.dies();
  r.pass = s.pass();
  r.die_yield = s.die_yield();
  r.mean_wafer_yield = s.mean_wafer_yield();
  r.wafer_yield_sd = s.wafer_yield_sd();
  r.bins.assign(s.bins().begin(), s.bins().end());
  return r;
}

}  // namespace

struct YieldClient::Impl {
  Options opt;
  std::unique_ptr<v1::YieldService::Stub> stub;
  std::mutex ctx_mutex;
  grpc::ClientContext* ctx = nullptr;  // the call in flight (cancelled on destruction)
  bool cancelled = false;

  void prepare(grpc::ClientContext& c) {
    c.set_deadline(std::chrono::system_clock::now() +
                   std::chrono::milliseconds(static_cast<std::int64_t>(opt.deadline_s * 1000)));
    std::lock_guard lock(ctx_mutex);
    ctx = &c;
    if (cancelled) c.TryCancel();
  }
  void done() {
    std::lock_guard lock(ctx_mutex);
    ctx = nullptr;
  }
  void cancel() {
    std::lock_guard lock(ctx_mutex);
    cancelled = true;
    if (ctx) ctx->TryCancel();
  }

  model::Result<WaferMapData> wafer_map(const std::string& lot, std::uint32_t wafer) {
    v1::WaferMapRequest req;
    req.set_lot(lot);
    req.set_wafer(wafer);
    v1::WaferMapReply rep;
    grpc::ClientContext c;
    prepare(c);
    auto s = stub->WaferMap(&c, req, &rep);
    done();
    if (!s.ok()) return model::Error{"", 0, "", status_line("WaferMap", s)};
    WaferMapData m;
    const auto& w = rep.wafer();
    m.lot = w.lot();
    m.wafer = w.wafer();
    m.product = w.product();
    m.completed_ms = w.completed_ms();
    m.dies = w.dies();
    m.pass = w.pass();
    m.die_yield = w.die_yield();
    m.bins.assign(w.bins().begin(), w.bins().end());
    m.grid = grid_from(rep.grid());
    m.die_bins.assign(rep.die_bins().begin(), rep.die_bins().end());
    // The same checks the panel's drawing makes: a reply that does not fit is an error here.
    if (auto r = wafer_rects(m, 0, 0, 1); !r) return r.error();
    return m;
  }

  // The newest list_size wafers of the filter, newest first. `from_ms`: only wafers completed since
  // (the oldest one the last round listed: wafers come in completion order, so the newest are among
  // those; a refresh then reads the new wafers, not the whole history).
  model::Result<std::vector<WaferRow>> list(const std::string& tool, std::optional<std::int64_t> from_ms) {
    v1::ListWafersRequest req;
    if (!tool.empty()) req.mutable_filter()->set_tool(tool);
    if (from_ms) req.mutable_filter()->set_from_ms(*from_ms);
    req.set_page_size(1000);
    grpc::ClientContext c;
    prepare(c);
    auto reader = stub->ListWafers(&c, req);
    std::deque<WaferRow> last;
    v1::ListWafersReply rep;
    while (reader->Read(&rep))
      for (const auto& w : rep.wafers()) {
        last.push_back({w.lot(), w.product(), w.wafer(), w.completed_ms(), w.die_yield()});
        if (last.size() > opt.list_size) last.pop_front();
      }
    auto s = reader->Finish();
    done();
    if (!s.ok()) return model::Error{"", 0, "", status_line("ListWafers", s)};
    return std::vector<WaferRow>(last.rbegin(), last.rend());
  }

  model::Result<std::vector<YieldSumsRow>> summary(const std::string& tool) {
    v1::YieldSummaryRequest req;
    if (!tool.empty()) req.mutable_filter()->set_tool(tool);
    req.set_group_by(tool.empty() ? v1::GROUP_BY_PRODUCT : v1::GROUP_BY_TOOL);
    v1::YieldSummaryReply rep;
    grpc::ClientContext c;
    prepare(c);
    auto s = stub->YieldSummary(&c, req, &rep);
    done();
    if (!s.ok()) return model::Error{"", 0, "", status_line("YieldSummary", s)};
    std::vector<YieldSumsRow> rows;
    for (const auto& r : rep.rows()) {
      // By tool, the lots through the tool ran on other tools too: keep the tool's own row.
      if (!tool.empty() && r.tool() != tool) continue;
      rows.push_back(sums_from(tool.empty() ? r.product() : r.tool(), r.sums()));
    }
    return rows;
  }

  model::Result<StackedMapData> stacked(const std::string& tool, const std::string& product) {
    v1::StackedMapRequest req;
    if (!tool.empty()) req.mutable_filter()->set_tool(tool);
    if (!product.empty()) req.mutable_filter()->set_product(product);
    v1::StackedMapReply rep;
    grpc::ClientContext c;
    prepare(c);
    auto s = stub->StackedMap(&c, req, &rep);
    done();
    if (!s.ok()) return model::Error{"", 0, "", status_line("StackedMap", s)};
    StackedMapData m;
    m.product = rep.product();
    m.wafers = rep.wafers();
    m.grid = grid_from(rep.grid());
    m.fail_rate.assign(rep.fail_rate().begin(), rep.fail_rate().end());
    if (auto r = stacked_rects(m, 0, 0, 1); !r) return r.error();
    return m;
  }
};

model::Result<std::unique_ptr<YieldClient>> YieldClient::create(Options o) {
  if (o.list_size == 0) o.list_size = 1;
  client::ChannelOptions co;
  co.target = o.live.target;
  co.token = o.live.token;
  co.tls = o.live.tls;
  co.tls_ca = o.live.tls_ca;
  co.tls_cert = o.live.tls_cert;
  co.tls_key = o.live.tls_key;
  auto ch = client::connect(co);
  if (!ch) return model::Error{"", 0, "", "YieldService: " + ch.error().what()};
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(o);
  impl->stub = v1::YieldService::NewStub(ch.value());
  std::unique_ptr<YieldClient> c(new YieldClient(std::move(impl)));
  c->tool_ = c->impl_->opt.first_tool;
  if (c->impl_->opt.worker) c->thread_ = std::thread([p = c.get()] { p->loop(); });
  return c;
}

YieldClient::YieldClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

YieldClient::~YieldClient() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  impl_->cancel();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void YieldClient::set_tool(const std::string& tool) {
  {
    std::lock_guard lock(mutex_);
    if (tool == tool_) return;
    tool_ = tool;
    lot_.clear();
    wafer_ = 0;
    dirty_ = true;
  }
  cv_.notify_all();
}

void YieldClient::choose_wafer(const std::string& lot, std::uint32_t wafer) {
  {
    std::lock_guard lock(mutex_);
    if (lot == lot_ && wafer == wafer_) return;
    lot_ = lot;
    wafer_ = wafer;
    dirty_ = true;
  }
  cv_.notify_all();
}

void YieldClient::refresh() {
  {
    std::lock_guard lock(mutex_);
    dirty_ = true;
  }
  cv_.notify_all();
}

YieldView YieldClient::view() const {
  std::lock_guard lock(mutex_);
  return view_;
}

model::Result<WaferMapData> YieldClient::wafer_map(const std::string& lot, std::uint32_t wafer) {
  return impl_->wafer_map(lot, wafer);
}

YieldView YieldClient::run_round() {
  std::string tool, lot;
  std::uint32_t wafer;
  std::optional<std::int64_t> from_ms;
  {
    std::lock_guard lock(mutex_);
    tool = tool_;
    lot = lot_;
    wafer = wafer_;
    if (view_.rounds > 0 && view_.tool == tool && view_.wafers.size() >= impl_->opt.list_size)
      from_ms = view_.wafers.back().completed_ms;
    dirty_ = false;
    view_.busy = true;
  }
  YieldView v;
  v.tool = tool;
  auto fail = [&](const model::Error& e) {
    if (v.message.empty()) v.message = e.what();
  };
  if (auto l = impl_->list(tool, from_ms)) {
    v.wafers = std::move(l.value());
    if (auto s = impl_->summary(tool))
      v.summary = std::move(s.value());
    else
      fail(s.error());
    // The chosen wafer, else the newest.
    if (lot.empty() && !v.wafers.empty()) {
      lot = v.wafers.front().lot;
      wafer = v.wafers.front().wafer;
    }
    if (!lot.empty() && v.message.empty()) {
      if (auto m = impl_->wafer_map(lot, wafer))
        v.map = std::move(m.value());
      else
        fail(m.error());
    }
    if (v.wafers.empty() && v.message.empty()) {
      // Nothing listed: a server with yield recording off (--no-yield) lists no wafer but refuses
      // the die-grid queries; say so rather than "no wafer yet".
      if (auto s = impl_->stacked(tool, "");
          !s && s.error().what().find("FAILED_PRECONDITION") != std::string::npos)
        fail(s.error());
    }
    if (v.map && v.message.empty()) {
      if (auto s = impl_->stacked(tool, v.map->product))
        v.stacked = std::move(s.value());
      else
        fail(s.error());
    }
  } else {
    fail(l.error());
  }
  std::lock_guard lock(mutex_);
  v.rounds = view_.rounds + 1;
  view_ = v;
  return v;
}

void YieldClient::loop() {
  using namespace std::chrono;
  while (true) {
    {
      std::unique_lock lock(mutex_);
      cv_.wait_for(lock, duration<double>(impl_->opt.refresh_s), [this] { return stop_ || dirty_; });
      if (stop_) return;
    }
    run_round();
  }
}

}  // namespace fabtwin::viewer
