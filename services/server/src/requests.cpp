#include "fabtwin/server/requests.hpp"

#include <cmath>
#include <string>

namespace fabtwin::server::requests {

namespace {

model::Error bad(std::string field, std::string message) {
  return model::Error{"", 0, std::move(field), std::move(message)};
}

std::string number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return std::to_string(v);
}

}  // namespace

model::Result<StreamParams> stream_state(const v1::StreamStateRequest& request) {
  const double fps = request.max_frames_per_second();
  if (!std::isfinite(fps) || fps < 0 || fps > kMaxFramesPerSecond)
    return bad("max_frames_per_second", number(fps) + " is outside [0, 1000] (0: 10 frames per second)");
  StreamParams p;
  p.frames_per_second = fps > 0 ? fps : kDefaultFramesPerSecond;
  if (request.has_from_version()) p.from_version = request.from_version();
  return p;
}

model::Result<twin::ForecastOptions> forecast(const v1::ForecastRequest& request) {
  const double days = request.horizon_days();
  if (!(days > 0 && days <= kMaxForecastDays))
    return bad("horizon_days", "must be > 0 and at most 365, not " + number(days));
  if (request.replications() > kMaxReplications)
    return bad("replications", "at most 1000, not " + std::to_string(request.replications()));
  if (request.at_hours_size() > kMaxAtHours)
    return bad("at_hours",
               std::to_string(request.at_hours_size()) + " times, more than " + std::to_string(kMaxAtHours));
  for (int i = 0; i < request.at_hours_size(); ++i) {
    const double h = request.at_hours(i);
    if (!(h >= 0 && h <= days * 24))
      return bad("at_hours[" + std::to_string(i) + "]",
                 "must lie within the horizon (0 to " + std::to_string(days * 24) + " h), not " + number(h));
  }
  if (request.lots_size() > kMaxForecastLots)
    return bad("lots",
               std::to_string(request.lots_size()) + " names, more than " + std::to_string(kMaxForecastLots));
  for (int i = 0; i < request.lots_size(); ++i)
    if (request.lots(i).empty()) return bad("lots[" + std::to_string(i) + "]", "an empty lot name");
  twin::ForecastOptions o;
  o.horizon_days = days;
  o.replications = request.replications() == 0 ? kDefaultReplications : request.replications();
  o.seed = request.seed() == 0 ? 1 : request.seed();
  o.at_hours.assign(request.at_hours().begin(), request.at_hours().end());
  o.lots.assign(request.lots().begin(), request.lots().end());
  return o;
}

model::Result<std::vector<des::Event>> ingest(const twin_pb::EventDecoder& decoder,
                                              const v1::IngestRequest& request, std::uint32_t max_events) {
  if (request.events_size() == 0)
    return bad("events", "empty (send 1 to " + std::to_string(max_events) + " events)");
  if (static_cast<std::uint32_t>(request.events_size()) > max_events)
    return bad("events", std::to_string(request.events_size()) + " events, more than " +
                             std::to_string(max_events) + " in one request");
  return decoder.decode(request);
}

model::Result<live::YieldFilter> yield_filter(const model::Model& model, const v1::YieldFilter& f) {
  live::YieldFilter out;
  if (!f.product().empty()) out.product = f.product();
  if (!f.lot().empty()) out.lot = f.lot();
  if (!f.route().empty()) out.route = f.route();
  if (!f.tool().empty()) out.tool = f.tool();
  if (f.has_step()) out.step = f.step();
  if (f.has_from_ms()) out.from_ms = f.from_ms();
  if (f.has_to_ms()) out.to_ms = f.to_ms();
  if (auto ok = live::check_filter(model, out); !ok) return ok.error();
  return out;
}

namespace {

model::Result<bool> check_png(std::uint32_t size) {
  if (size != 0 && (size < kMinPng || size > kMaxPng))
    return bad("png_size", "0 (no picture) or " + std::to_string(kMinPng) + " to " + std::to_string(kMaxPng) +
                               " pixels, not " + std::to_string(size));
  return true;
}

}  // namespace

model::Result<ListWafersParams> list_wafers(const model::Model& model, const v1::ListWafersRequest& request) {
  if (request.page_size() > kMaxPageSize)
    return bad("page_size",
               "at most " + std::to_string(kMaxPageSize) + ", not " + std::to_string(request.page_size()));
  auto f = yield_filter(model, request.filter());
  if (!f) return f.error();
  ListWafersParams p;
  p.filter = std::move(f.value());
  p.page_size = request.page_size() == 0 ? kDefaultPageSize : request.page_size();
  return p;
}

model::Result<SummaryParams> yield_summary(const model::Model& model,
                                           const v1::YieldSummaryRequest& request) {
  SummaryParams p;
  switch (request.group_by()) {
    case v1::GROUP_BY_PRODUCT:
      p.by = live::GroupBy::Product;
      break;
    case v1::GROUP_BY_DAY:
      p.by = live::GroupBy::Day;
      break;
    case v1::GROUP_BY_TOOL:
      p.by = live::GroupBy::Tool;
      break;
    case v1::GROUP_BY_STEP:
      p.by = live::GroupBy::Step;
      break;
    default:
      return bad("group_by", "GROUP_BY_PRODUCT, _DAY, _TOOL or _STEP, not " +
                                 std::to_string(static_cast<int>(request.group_by())));
  }
  auto f = yield_filter(model, request.filter());
  if (!f) return f.error();
  p.filter = std::move(f.value());
  return p;
}

model::Result<bool> wafer_map(const v1::WaferMapRequest& request) {
  if (request.lot().empty()) return bad("lot", "empty (name a completed lot)");
  if (request.wafer() == 0) return bad("wafer", "wafers are numbered from 1");
  return check_png(request.png_size());
}

model::Result<StackedParams> stacked_map(const model::Model& model, const v1::StackedMapRequest& request) {
  if (auto ok = check_png(request.png_size()); !ok) return ok.error();
  if (!(request.scale_max() >= 0 && request.scale_max() <= 1))
    return bad("scale_max", "0 (the largest rate) or a rate up to 1, not " + number(request.scale_max()));
  auto f = yield_filter(model, request.filter());
  if (!f) return f.error();
  StackedParams p;
  p.filter = std::move(f.value());
  p.png_size = request.png_size();
  p.scale_max = request.scale_max();
  return p;
}

model::Result<CommonalityParams> commonality(const model::Model& model,
                                             const v1::CommonalityRequest& request) {
  CommonalityParams p;
  for (int i = 0; i < request.levels_size(); ++i) {
    switch (request.levels(i)) {
      case v1::COMMONALITY_LEVEL_STEP_TOOL:
        p.query.levels.push_back(live::CommonalityLevel::StepTool);
        break;
      case v1::COMMONALITY_LEVEL_TOOL:
        p.query.levels.push_back(live::CommonalityLevel::Tool);
        break;
      case v1::COMMONALITY_LEVEL_TOOL_GROUP:
        p.query.levels.push_back(live::CommonalityLevel::ToolGroup);
        break;
      default:
        return bad("levels[" + std::to_string(i) + "]",
                   "COMMONALITY_LEVEL_STEP_TOOL, _TOOL or _TOOL_GROUP, not " +
                       std::to_string(static_cast<int>(request.levels(i))));
    }
  }
  const double sig = request.significance();
  if (!(sig >= 0 && sig < 1))
    return bad("significance",
               "must be in (0, 1) (0: " + number(kDefaultSignificance) + "), not " + number(sig));
  p.query.significance = sig == 0 ? kDefaultSignificance : sig;
  p.query.bonferroni = request.bonferroni();
  p.max_rows = request.max_rows();
  auto f = yield_filter(model, request.filter());
  if (!f) return f.error();
  p.filter = std::move(f.value());
  return p;
}

model::Result<std::string> whatif_submit(const v1::SubmitRequest& request) {
  if (request.spec_json().empty()) return bad("spec_json", "empty: give the what-if spec (JSON)");
  if (request.spec_json().size() > kMaxSpecBytes)
    return bad("spec_json", std::to_string(request.spec_json().size()) + " bytes, more than " +
                                std::to_string(kMaxSpecBytes));
  const std::string& label = request.label();
  if (label.size() > kMaxLabelBytes)
    return bad("label", std::to_string(label.size()) + " bytes, more than " + std::to_string(kMaxLabelBytes));
  for (unsigned char c : label)
    if (c < 0x20 || c == 0x7f) return bad("label", "control characters are not allowed");
  if (request.base_dir().size() > 4096) return bad("base_dir", "longer than 4096 bytes");
  if (request.base_dir().find('\0') != std::string::npos) return bad("base_dir", "contains a NUL byte");
  return label.empty() ? std::string("spec") : label;
}

model::Result<bool> whatif_job_id(const std::string& job_id) {
  if (job_id.empty()) return bad("job_id", "empty");
  if (job_id.size() > kMaxJobIdBytes)
    return bad("job_id",
               std::to_string(job_id.size()) + " bytes, more than " + std::to_string(kMaxJobIdBytes));
  for (unsigned char c : job_id)
    if (c <= 0x20 || c >= 0x7f) return bad("job_id", "only printable ASCII characters without spaces");
  return true;
}

model::Result<std::size_t> whatif_list_jobs(const v1::ListJobsRequest& request) {
  if (request.limit() > kListJobsMax)
    return bad("limit", std::to_string(request.limit()) + " is above " + std::to_string(kListJobsMax));
  return std::size_t{request.limit() == 0 ? kListJobsDefault : request.limit()};
}

}  // namespace fabtwin::server::requests
