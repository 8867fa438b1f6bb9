// YieldService handlers (yield_service.hpp; docs/api.md "YieldService").
#include "yield_service.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "fabtwin/server/requests.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/yield/png.hpp"
#include "fabtwin/yield/wafer_map.hpp"

namespace fabtwin::server {

namespace {

grpc::Status status_of(const model::Error& e) {
  grpc::StatusCode code = grpc::StatusCode::INTERNAL;
  if (e.field == "lot" || e.field == "wafer")
    code = grpc::StatusCode::NOT_FOUND;
  else if (e.field == "yield" || e.field == "schema_version")
    code = grpc::StatusCode::FAILED_PRECONDITION;
  else if (!e.field.empty())
    code = grpc::StatusCode::INVALID_ARGUMENT;
  return grpc::Status(code, twin_pb::status_text(e));
}

void fill_wafer(const model::Model& m, const live::WaferInfo& w, v1::WaferRecord& out) {
  out.set_lot(w.lot);
  out.set_wafer(w.wafer);
  out.set_product(m.data().products[w.product.index()].name);
  out.set_completed_ms(w.completed_ms);
  out.set_dies(w.dies);
  out.set_pass(w.pass);
  out.set_die_yield(w.dies ? static_cast<double>(w.pass) / w.dies : 0.0);
  out.mutable_bins()->Reserve(static_cast<int>(w.bins.size()));
  for (std::uint32_t b : w.bins) out.add_bins(b);
}

void fill_grid(const yield::DieGrid& g, v1::DieGrid& out) {
  out.set_rows(g.rows());
  out.set_columns(g.columns());
  for (std::int32_t c : g.column()) out.add_die_column(c);
  for (std::int32_t r : g.row()) out.add_die_row(r);
}

void fill_sums(const live::YieldSums& y, v1::YieldSums& out) {
  out.set_lots(y.lots);
  out.set_wafers(y.wafers);
  out.set_dies(y.dies);
  out.set_pass(y.pass);
  out.set_die_yield(y.die_yield());
  out.set_mean_wafer_yield(y.mean_wafer_yield());
  out.set_wafer_yield_sd(y.wafer_yield_sd());
  for (std::uint64_t b : y.bins) out.add_bins(b);
}

std::string png_bytes(const yield::Image& img) {
  const auto bytes = yield::encode_png(img);
  return std::string(bytes.begin(), bytes.end());
}

// ListWafers: the query runs on a thread of its own and hands each full page to gRPC, waiting for
// the write to complete before it reads on.
class WaferStream final : public grpc::ServerWriteReactor<v1::ListWafersReply> {
 public:
  WaferStream(const live::YieldQuery* query, live::YieldFilter filter, std::uint32_t page_size) {
    worker_ = std::thread([this, query, filter = std::move(filter), page_size] {
      v1::ListWafersReply page;
      bool ok = true;
      auto r = query->wafers(filter, [&](const live::WaferInfo& w) {
        fill_wafer(query->model(), w, *page.add_wafers());
        if (static_cast<std::uint32_t>(page.wafers_size()) >= page_size) ok = send(page);
        return ok;
      });
      grpc::Status status = grpc::Status::OK;
      if (!r.ok())
        status = status_of(r.error());
      else if (!ok)
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      else if (page.wafers_size() > 0 && !send(page))
        status = grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
      Finish(status);
    });
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!ok) broken_ = true;
    cv_.notify_all();
  }
  void OnCancel() override {
    std::lock_guard lock(mu_);
    broken_ = true;
    cv_.notify_all();
  }
  void OnDone() override {
    if (worker_.get_id() == std::this_thread::get_id())
      worker_.detach();  // (were gRPC to run OnDone inline from the worker's Finish)
    else if (worker_.joinable())
      worker_.join();
    delete this;
  }

 private:
  // Writes `page` and waits for the write to finish; false when the call broke.
  bool send(v1::ListWafersReply& page) {
    std::unique_lock lock(mu_);
    if (broken_) return false;
    out_.Swap(&page);
    page.Clear();
    writing_ = true;
    lock.unlock();
    StartWrite(&out_);
    lock.lock();
    cv_.wait(lock, [this] { return !writing_ || broken_; });
    // A write under way when the call broke still completes (OnWriteDone) before OnDone: wait.
    cv_.wait(lock, [this] { return !writing_; });
    return !broken_;
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool writing_ = false, broken_ = false;
  v1::ListWafersReply out_;
  std::thread worker_;
};

class Refused final : public grpc::ServerWriteReactor<v1::ListWafersReply> {
 public:
  explicit Refused(grpc::Status s) { Finish(std::move(s)); }
  void OnDone() override { delete this; }
};

}  // namespace

YieldServiceImpl::YieldServiceImpl(std::unique_ptr<live::YieldQuery> query, std::string why, const Gate& gate)
    : query_(std::move(query)), why_(std::move(why)), gate_(&gate) {}
YieldServiceImpl::~YieldServiceImpl() = default;

grpc::ServerWriteReactor<v1::ListWafersReply>* YieldServiceImpl::ListWafers(
    grpc::CallbackServerContext* ctx, const v1::ListWafersRequest* request) {
  if (auto st = gate_->check(ctx, kListWafers); !st.ok()) return new Refused(st);
  if (!query_) return new Refused(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why_));
  auto p = requests::list_wafers(query_->model(), *request);
  if (!p) return new Refused(status_of(p.error()));
  return new WaferStream(query_.get(), std::move(p->filter), p->page_size);
}

grpc::ServerUnaryReactor* YieldServiceImpl::YieldSummary(grpc::CallbackServerContext* ctx,
                                                         const v1::YieldSummaryRequest* request,
                                                         v1::YieldSummaryReply* reply) {
  auto* r = ctx->DefaultReactor();
  if (auto st = gate_->check(ctx, kYieldSummary); !st.ok()) {
    r->Finish(st);
    return r;
  }
  if (!query_) {
    r->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why_));
    return r;
  }
  auto p = requests::yield_summary(query_->model(), *request);
  if (!p) {
    r->Finish(status_of(p.error()));
    return r;
  }
  const live::GroupBy by = p->by;
  try {
    auto s = query_->summary(p->filter, by);
    if (!s.ok()) {
      r->Finish(status_of(s.error()));
      return r;
    }
    const auto& d = query_->model().data();
    reply->set_pre_aggregated(s->pre_aggregated);
    reply->mutable_rows()->Reserve(static_cast<int>(s->rows.size()));
    for (const live::SummaryRow& row : s->rows) {
      v1::YieldSummaryRow& out = *reply->add_rows();
      switch (by) {
        case live::GroupBy::Product:
          out.set_product(d.products[row.product.index()].name);
          break;
        case live::GroupBy::Day:
          out.set_day(row.day);
          break;
        case live::GroupBy::Tool:
          out.set_tool(d.tools[row.tool.index()].name);
          break;
        case live::GroupBy::Step: {
          const auto& step = d.steps[row.step.index()];
          out.set_route(d.routes[step.route.index()].name);
          out.set_step(step.number);
          out.set_product(d.products[row.product.index()].name);
          break;
        }
      }
      fill_sums(row.sums, *out.mutable_sums());
    }
    r->Finish(grpc::Status::OK);
  } catch (const std::exception& e) {
    r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return r;
}

grpc::ServerUnaryReactor* YieldServiceImpl::WaferMap(grpc::CallbackServerContext* ctx,
                                                     const v1::WaferMapRequest* request,
                                                     v1::WaferMapReply* reply) {
  auto* r = ctx->DefaultReactor();
  if (auto st = gate_->check(ctx, kWaferMap); !st.ok()) {
    r->Finish(st);
    return r;
  }
  if (!query_) {
    r->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why_));
    return r;
  }
  if (auto ok = requests::wafer_map(*request); !ok) {
    r->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, twin_pb::status_text(ok.error())));
    return r;
  }
  try {
    auto m = query_->wafer_map(request->lot(), request->wafer());
    if (!m.ok()) {
      r->Finish(status_of(m.error()));
      return r;
    }
    fill_wafer(query_->model(), m->wafer, *reply->mutable_wafer());
    const yield::DieGrid& grid = query_->grids()[m->wafer.product.index()];
    fill_grid(grid, *reply->mutable_grid());
    reply->mutable_die_bins()->Reserve(static_cast<int>(m->bins.size()));
    for (std::uint8_t b : m->bins) reply->add_die_bins(b);
    if (request->png_size() > 0)
      reply->set_png(png_bytes(yield::render_wafer_map(grid, m->bins, request->png_size())));
    r->Finish(grpc::Status::OK);
  } catch (const std::exception& e) {
    r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return r;
}

grpc::ServerUnaryReactor* YieldServiceImpl::StackedMap(grpc::CallbackServerContext* ctx,
                                                       const v1::StackedMapRequest* request,
                                                       v1::StackedMapReply* reply) {
  auto* r = ctx->DefaultReactor();
  if (auto st = gate_->check(ctx, kStackedMap); !st.ok()) {
    r->Finish(st);
    return r;
  }
  if (!query_) {
    r->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why_));
    return r;
  }
  auto p = requests::stacked_map(query_->model(), *request);
  if (!p) {
    r->Finish(status_of(p.error()));
    return r;
  }
  try {
    auto m = query_->stacked_map(p->filter);
    if (!m.ok()) {
      r->Finish(status_of(m.error()));
      return r;
    }
    reply->set_wafers(m->wafers);
    if (m->product.valid()) {
      reply->set_product(query_->model().data().products[m->product.index()].name);
      const yield::DieGrid& grid = query_->grids()[m->product.index()];
      fill_grid(grid, *reply->mutable_grid());
      for (double f : m->fail_rate) reply->add_fail_rate(f);
      if (request->png_size() > 0 && m->wafers > 0)
        reply->set_png(png_bytes(
            yield::render_stacked_map(grid, m->fail_rate, request->scale_max(), request->png_size())));
    }
    r->Finish(grpc::Status::OK);
  } catch (const std::exception& e) {
    r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return r;
}

grpc::ServerUnaryReactor* YieldServiceImpl::Commonality(grpc::CallbackServerContext* ctx,
                                                        const v1::CommonalityRequest* request,
                                                        v1::CommonalityReply* reply) {
  auto* r = ctx->DefaultReactor();
  if (auto st = gate_->check(ctx, kCommonality); !st.ok()) {
    r->Finish(st);
    return r;
  }
  if (!query_) {
    r->Finish(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, why_));
    return r;
  }
  auto p = requests::commonality(query_->model(), *request);
  if (!p) {
    r->Finish(status_of(p.error()));
    return r;
  }
  try {
    auto c = query_->commonality(p->filter, p->query);
    if (!c.ok()) {
      r->Finish(status_of(c.error()));
      return r;
    }
    const auto& d = query_->model().data();
    reply->set_lots(c->lots);
    reply->set_wafers(c->wafers);
    for (std::uint32_t t : c->tests) reply->add_tests(t);
    std::size_t n = c->rows.size();
    if (p->max_rows > 0) n = std::min<std::size_t>(n, p->max_rows);
    for (std::size_t i = 0; i < n; ++i) {
      const live::CommonalityRowOut& x = c->rows[i];
      v1::CommonalityRow& out = *reply->add_rows();
      out.set_level(x.level == live::CommonalityLevel::StepTool ? v1::COMMONALITY_LEVEL_STEP_TOOL
                    : x.level == live::CommonalityLevel::Tool   ? v1::COMMONALITY_LEVEL_TOOL
                                                                : v1::COMMONALITY_LEVEL_TOOL_GROUP);
      if (x.step.valid()) {
        const auto& step = d.steps[x.step.index()];
        out.set_route(d.routes[step.route.index()].name);
        out.set_step(step.number);
      }
      if (x.tool.valid()) out.set_tool(d.tools[x.tool.index()].name);
      if (x.group.valid()) out.set_tool_group(d.tool_groups[x.group.index()].name);
      out.set_lots(x.lots);
      out.set_lots_in(x.lots_in);
      out.set_yield_in(x.yield_in);
      out.set_yield_out(x.yield_out);
      out.set_effect(x.effect);
      out.set_statistic(x.statistic);
      out.set_df1(x.df1);
      out.set_df2(x.df2);
      out.set_p(x.p);
      out.set_p_adjusted(x.p_adjusted);
      out.set_significant(x.significant);
    }
    r->Finish(grpc::Status::OK);
  } catch (const std::exception& e) {
    r->Finish(grpc::Status(grpc::StatusCode::INTERNAL, e.what()));
  }
  return r;
}

}  // namespace fabtwin::server
