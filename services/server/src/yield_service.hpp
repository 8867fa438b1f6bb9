#pragma once
// YieldService (proto/fabtwin/v1/yield.proto) over live::YieldQuery: request validation naming the
// field, the queries, PNG pictures (engine/yield png). ListWafers streams pages from a thread of
// its own, one page in flight (the client's reads are the flow control).
#include <memory>

#include "fabtwin/live/yield_query.hpp"
#include "fabtwin/v1/yield.grpc.pb.h"
#include "gate.hpp"

namespace fabtwin::server {

class YieldServiceImpl final : public v1::YieldService::CallbackService {
 public:
  // query: null when the store cannot be queried (every call FAILED_PRECONDITION with `why`).
  // gate: the caller's token and role, checked first in every call (gate.hpp).
  YieldServiceImpl(std::unique_ptr<live::YieldQuery> query, std::string why, const Gate& gate);
  ~YieldServiceImpl() override;

  grpc::ServerWriteReactor<v1::ListWafersReply>* ListWafers(grpc::CallbackServerContext* ctx,
                                                            const v1::ListWafersRequest* request) override;
  grpc::ServerUnaryReactor* YieldSummary(grpc::CallbackServerContext* ctx,
                                         const v1::YieldSummaryRequest* request,
                                         v1::YieldSummaryReply* reply) override;
  grpc::ServerUnaryReactor* WaferMap(grpc::CallbackServerContext* ctx, const v1::WaferMapRequest* request,
                                     v1::WaferMapReply* reply) override;
  grpc::ServerUnaryReactor* StackedMap(grpc::CallbackServerContext* ctx, const v1::StackedMapRequest* request,
                                       v1::StackedMapReply* reply) override;
  grpc::ServerUnaryReactor* Commonality(grpc::CallbackServerContext* ctx,
                                        const v1::CommonalityRequest* request,
                                        v1::CommonalityReply* reply) override;

 private:
  std::unique_ptr<live::YieldQuery> query_;
  std::string why_;
  const Gate* gate_;
};

}  // namespace fabtwin::server
