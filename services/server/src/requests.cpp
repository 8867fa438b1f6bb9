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

}  // namespace fabtwin::server::requests
