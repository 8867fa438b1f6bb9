#pragma once
// The checks every handler makes on its request before acting, as pure functions (no gRPC, no
// twin): the server calls them at the top of each handler and answers INVALID_ARGUMENT with
// twin_pb::status_text(error) ("field: what"); tests/fuzz/fuzz_requests.cpp drives them with
// arbitrary bytes. Each Error names the request field (file and line empty).
//   GetModelRequest, GetSnapshotRequest   no fields: nothing to check.
//   StreamStateRequest                    stream_state()
//   ForecastRequest                       forecast()  (lot names are checked against the live
//                                         state later: NOT_FOUND)
//   IngestRequest                         ingest()    (Ingest and each IngestEvents batch)
//   YieldService (yield.proto)            list_wafers(), yield_summary(), wafer_map(), stacked_map(),
//                                         commonality(): bounds, enums, and the filter's names
//                                         against the model (live::check_filter)
//   SubmitRequest                         whatif_submit() (the spec itself: whatif::parse_spec)
//   Watch/Results/CancelRequest           whatif_job_id()
//   ListJobsRequest                       whatif_list_jobs()
#include <cstdint>
#include <optional>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/live/yield_query.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"
#include "fabtwin/v1/twin.pb.h"
#include "fabtwin/v1/whatif.pb.h"
#include "fabtwin/v1/yield.pb.h"

namespace fabtwin::server::requests {

inline constexpr double kDefaultFramesPerSecond = 10;
inline constexpr double kMaxFramesPerSecond = 1000;
inline constexpr double kMaxForecastDays = 365;
inline constexpr std::uint32_t kMaxReplications = 1000;
inline constexpr std::uint32_t kDefaultReplications = 10;
inline constexpr int kMaxAtHours = 10'000;
inline constexpr int kMaxForecastLots = 1'000'000;

struct StreamParams {
  double frames_per_second = kDefaultFramesPerSecond;  // > 0, at most kMaxFramesPerSecond
  std::optional<std::uint64_t> from_version;
};
// max_frames_per_second finite in [0, 1000] (0: 10).
model::Result<StreamParams> stream_state(const v1::StreamStateRequest& request);

// horizon_days in (0, 365]; replications at most 1000 (0: 10); seed 0: 1; at_hours finite, within
// [0, horizon x 24], at most 10,000 of them; lots non-empty names. `cancel` is left null.
model::Result<twin::ForecastOptions> forecast(const v1::ForecastRequest& request);

// 1 to max_events events, each decoded by `decoder` (names the model defines, times in range).
model::Result<std::vector<des::Event>> ingest(const twin_pb::EventDecoder& decoder,
                                              const v1::IngestRequest& request, std::uint32_t max_events);

// ---- YieldService requests ----
inline constexpr std::uint32_t kDefaultPageSize = 1000;
inline constexpr std::uint32_t kMaxPageSize = 20'000;  // ~1 MB a page: under gRPC's 4 MB default
inline constexpr std::uint32_t kMinPng = 64, kMaxPng = 4096;
inline constexpr double kDefaultSignificance = 0.05;

// The filter as live::YieldFilter, its names checked against the model (errors "filter.*").
model::Result<live::YieldFilter> yield_filter(const model::Model& model, const v1::YieldFilter& filter);

struct ListWafersParams {
  live::YieldFilter filter;
  std::uint32_t page_size = kDefaultPageSize;  // 1..kMaxPageSize
};
// page_size at most 20,000 (0: 1,000).
model::Result<ListWafersParams> list_wafers(const model::Model& model, const v1::ListWafersRequest& request);

struct SummaryParams {
  live::YieldFilter filter;
  live::GroupBy by = live::GroupBy::Product;
};
// group_by one of GROUP_BY_PRODUCT, _DAY, _TOOL, _STEP.
model::Result<SummaryParams> yield_summary(const model::Model& model, const v1::YieldSummaryRequest& request);

// lot non-empty, wafer from 1, png_size 0 or 64..4096 (the lot and wafer are looked up later: NOT_FOUND).
model::Result<bool> wafer_map(const v1::WaferMapRequest& request);

struct StackedParams {
  live::YieldFilter filter;
  std::uint32_t png_size = 0;  // 0 or kMinPng..kMaxPng
  double scale_max = 0;        // 0 (the largest rate) or in (0, 1]
};
model::Result<StackedParams> stacked_map(const model::Model& model, const v1::StackedMapRequest& request);

struct CommonalityParams {
  live::YieldFilter filter;
  live::CommonalityQuery query;  // levels (empty: all), significance in (0, 1) (0: 0.05), bonferroni
  std::uint32_t max_rows = 0;    // 0: all
};
model::Result<CommonalityParams> commonality(const model::Model& model,
                                             const v1::CommonalityRequest& request);

// ---- WhatIfService ----
inline constexpr std::size_t kMaxSpecBytes = 1 << 20;
inline constexpr std::size_t kMaxLabelBytes = 256;
inline constexpr std::size_t kMaxJobIdBytes = 64;
// spec_json non-empty, at most 1 MiB; label at most 256 bytes without control characters;
// base_dir at most 4096 bytes without NUL. Returns the label to name the spec by ("spec" when empty).
model::Result<std::string> whatif_submit(const v1::SubmitRequest& request);
// job_id: 1 to 64 printable ASCII characters.
model::Result<bool> whatif_job_id(const std::string& job_id);
inline constexpr std::uint32_t kListJobsDefault = 100, kListJobsMax = 1000;
// limit: 0 (kListJobsDefault) to kListJobsMax. Returns how many jobs to list.
model::Result<std::size_t> whatif_list_jobs(const v1::ListJobsRequest& request);

}  // namespace fabtwin::server::requests
