#pragma once
// The gate at the top of every handler (docs/operations.md "Security"): the caller's
// `authorization` metadata and the method's role (auth.hpp), as a grpc::Status; and the reactors
// a refused call finishes with. For every service of the server: a new handler starts with
//   unary:            if (auto st = gate.check(ctx, kMethod); !st.ok()) return finish_now(ctx, st);
//   server streaming: ... return new RefusedWriteReactor<Reply>(st);
//   bidi streaming:   ... return new RefusedBidiReactor<Request, Reply>(st);
// and its full name gets a row in method_roles() (auth.cpp).
#include <grpcpp/grpcpp.h>

#include <memory>
#include <string_view>
#include <vector>

#include "fabtwin/server/auth.hpp"

namespace fabtwin::server {

// The check at the top of every gated handler: the caller's token and the method's role
// (auth.hpp). Without tokens every call passes.
class Gate {
 public:
  explicit Gate(std::shared_ptr<const Tokens> tokens) : tokens_(std::move(tokens)) {}

  // OK: go on; else the status to finish the call with.
  grpc::Status check(const grpc::CallbackServerContext* ctx, std::string_view method) const {
    if (!tokens_) return grpc::Status::OK;
    std::vector<std::string_view> values;
    const auto& md = ctx->client_metadata();
    for (auto [it, end] =
             md.equal_range(grpc::string_ref(kAuthorizationKey.data(), kAuthorizationKey.size()));
         it != end; ++it)
      values.emplace_back(it->second.data(), it->second.size());
    const Decision d = authorize(tokens_.get(), method, values);
    switch (d.code) {
      case Decision::Code::allowed:
        return grpc::Status::OK;
      case Decision::Code::unauthenticated:
        return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, d.message);
      case Decision::Code::permission_denied:
        return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, d.message);
    }
    return grpc::Status(grpc::StatusCode::INTERNAL, "authorization");
  }

 private:
  std::shared_ptr<const Tokens> tokens_;
};

// The full names the gate checks (method_roles() in auth.cpp has a row for each).
inline constexpr std::string_view kGetModel = "/fabtwin.v1.TwinService/GetModel";
inline constexpr std::string_view kGetSnapshot = "/fabtwin.v1.TwinService/GetSnapshot";
inline constexpr std::string_view kStreamState = "/fabtwin.v1.TwinService/StreamState";
inline constexpr std::string_view kForecast = "/fabtwin.v1.TwinService/Forecast";
inline constexpr std::string_view kIngest = "/fabtwin.v1.IngestService/Ingest";
inline constexpr std::string_view kIngestEvents = "/fabtwin.v1.IngestService/IngestEvents";
inline constexpr std::string_view kListWafers = "/fabtwin.v1.YieldService/ListWafers";
inline constexpr std::string_view kYieldSummary = "/fabtwin.v1.YieldService/YieldSummary";
inline constexpr std::string_view kWaferMap = "/fabtwin.v1.YieldService/WaferMap";
inline constexpr std::string_view kStackedMap = "/fabtwin.v1.YieldService/StackedMap";
inline constexpr std::string_view kCommonality = "/fabtwin.v1.YieldService/Commonality";
inline constexpr std::string_view kWhatIfSubmit = "/fabtwin.v1.WhatIfService/Submit";
inline constexpr std::string_view kWhatIfWatch = "/fabtwin.v1.WhatIfService/Watch";
inline constexpr std::string_view kWhatIfResults = "/fabtwin.v1.WhatIfService/Results";
inline constexpr std::string_view kWhatIfCancel = "/fabtwin.v1.WhatIfService/Cancel";
inline constexpr std::string_view kWhatIfListJobs = "/fabtwin.v1.WhatIfService/ListJobs";

// A unary reply finished at once with `status`.
inline grpc::ServerUnaryReactor* finish_now(grpc::CallbackServerContext* ctx, const grpc::Status& status) {
  auto* r = ctx->DefaultReactor();
  r->Finish(status);
  return r;
}

// A server-streaming call refused before its first write: finished at once.
template <class Reply>
class RefusedWriteReactor final : public grpc::ServerWriteReactor<Reply> {
 public:
  explicit RefusedWriteReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

// A bidirectional (or client-streaming) call refused before its first read: finished at once.
template <class Request, class Reply>
class RefusedBidiReactor final : public grpc::ServerBidiReactor<Request, Reply> {
 public:
  explicit RefusedBidiReactor(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace fabtwin::server
