#pragma once
// The body of fuzz_requests (libFuzzer, fuzz_requests.cpp) and of its corpus test
// (tests/services/test_fuzz_requests.cpp): what every handler of `fabtwin serve` does with a request
// before acting (services/server: requests.hpp, auth.hpp), driven without a server. The first
// byte picks what the rest is (other values: ignored):
//   0 GetModelRequest, 1 GetSnapshotRequest   parsed (no fields to check)
//   2 StreamStateRequest  requests::stream_state
//   3 ForecastRequest     requests::forecast; a small accepted one is then run by twin::forecast
//                         on the mini-fab (which must not refuse it but for an unknown lot)
//   4 IngestRequest       requests::ingest with the mini-fab's decoder
//   5 authorization       byte 1 picks a method, the rest is the `authorization` value: authorize()
//                         against three tokens, compared with an independent expectation
//   6 auth file           Tokens::parse of the rest
//   7 ListWafersRequest   requests::list_wafers     (filter names against the mini-fab)
//   8 YieldSummaryRequest requests::yield_summary
//   9 WaferMapRequest     requests::wafer_map
//  10 StackedMapRequest   requests::stacked_map
//  11 CommonalityRequest  requests::commonality
//  12 SubmitRequest       requests::whatif_submit (WhatIfService; the spec's JSON itself is the
//                         spec reader's, whatif::parse_spec, tested in tests/whatif)
//  13 a job id            requests::whatif_job_id of the rest (Watch, Results, Cancel)
//  14 ListJobsRequest     requests::whatif_list_jobs
//   (further services: their selectors from 15 on)
// Aborts (with a message) when an error does not name its field or say what is wrong, when an
// accepted request breaks its documented bounds, or when a decision differs from the expectation.
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "fabtwin/des/simulation.hpp"
#include "fabtwin/io/load.hpp"
#include "fabtwin/server/auth.hpp"
#include "fabtwin/server/requests.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"

namespace fabtwin::fuzz {

[[noreturn]] inline void requests_fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_requests: %s\n", what.c_str());
  std::abort();
}

inline const model::Model& requests_model() {
  static const model::Model m = [] {
    auto r = io::load_model(FABTWIN_FUZZ_MINIFAB);
    if (!r.ok()) requests_fail("cannot read the mini-fab: " + r.error().what());
    return std::move(r.value());
  }();
  return m;
}

// An error of a request check: names a field of the request (starting with `field`) and says what.
inline void check_request_error(const model::Error& e, std::string_view field) {
  if (e.field.rfind(field, 0) != 0 || e.message.empty() || !e.file.empty() || e.line != 0)
    requests_fail("an error that does not name its field (" + std::string(field) +
                  ") or say what: " + e.what());
}

inline constexpr const char* kRequestTokens[] = {"fuzz-viewer-token-0001", "fuzz-analyst-token-0002",
                                                 "fuzz-operator-token-0003"};

inline const server::Tokens& requests_tokens() {
  static const server::Tokens t = [] {
    std::string text;
    const char* roles[] = {"viewer", "analyst", "operator"};
    for (int i = 0; i < 3; ++i) text += std::string(kRequestTokens[i]) + " " + roles[i] + "\n";
    auto r = server::Tokens::parse(text, "fuzz");
    if (!r.ok()) requests_fail("the fuzz tokens do not parse: " + r.error().what());
    return std::move(r.value());
  }();
  return t;
}

// What authorize() must decide, worked out independently: "bearer " in any case, spaces, then
// exactly one of the three tokens; the method's row, if any, against that role.
inline server::Decision::Code expected_decision(std::string_view method, std::string_view value) {
  using Code = server::Decision::Code;
  constexpr std::string_view scheme = "bearer ";
  if (value.size() <= scheme.size()) return Code::unauthenticated;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (static_cast<char>(std::tolower(static_cast<unsigned char>(value[i]))) != scheme[i])
      return Code::unauthenticated;
  std::string_view token = value.substr(scheme.size());
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  int role = 0;
  for (int i = 0; i < 3; ++i)
    if (token == kRequestTokens[i]) role = i + 1;
  if (role == 0) return Code::unauthenticated;
  const auto it = server::method_roles().find(method);
  if (it == server::method_roles().end() || role < static_cast<int>(it->second))
    return Code::permission_denied;
  return Code::allowed;
}

inline void requests_stream_state(std::string_view bytes) {
  v1::StreamStateRequest r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto p = server::requests::stream_state(r);
  if (!p) return check_request_error(p.error(), "max_frames_per_second");
  const double fps = p->frames_per_second;
  if (!(std::isfinite(fps) && fps > 0 && fps <= server::requests::kMaxFramesPerSecond))
    requests_fail("an accepted StreamStateRequest gives " + std::to_string(fps) + " frames per second");
  if (p->from_version.has_value() != r.has_from_version()) requests_fail("from_version lost");
}

inline void requests_forecast(std::string_view bytes) {
  v1::ForecastRequest r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto o = server::requests::forecast(r);
  if (!o) {
    const std::string& f = o.error().field;
    for (const char* name : {"horizon_days", "replications", "at_hours", "lots"})
      if (f.rfind(name, 0) == 0) return check_request_error(o.error(), name);
    requests_fail("a ForecastRequest error naming no field of it: " + o.error().what());
  }
  if (!(o->horizon_days > 0 && o->horizon_days <= server::requests::kMaxForecastDays))
    requests_fail("accepted horizon_days " + std::to_string(o->horizon_days));
  if (o->replications < 1 || o->replications > server::requests::kMaxReplications)
    requests_fail("accepted replications " + std::to_string(o->replications));
  if (o->seed == 0) requests_fail("seed 0 passed on");
  for (double h : o->at_hours)
    if (!(h >= 0 && h <= o->horizon_days * 24)) requests_fail("accepted at_hours " + std::to_string(h));
  if (o->cancel) requests_fail("a cancel flag from a request");
  // A small one runs: twin::forecast must accept what the checks accepted (but unknown lots).
  if (o->horizon_days <= 0.5 && o->replications <= 2 && o->at_hours.size() <= 16 && o->lots.size() <= 8) {
    static const des::Simulation base = [] {
      des::Options so;
      so.mode = des::Mode::Autonomous;
      auto s = des::Simulation::create(requests_model(), so);
      if (!s.ok()) requests_fail("cannot create the mini-fab simulation: " + s.error().what());
      s->run_until(model::SimTime{model::Duration{3'600'000}});
      return std::move(s.value());
    }();
    twin::ForecastOptions run = o.value();
    run.threads = 1;
    auto f = twin::forecast(base, run);
    if (!f && f.error().field.rfind("lots[", 0) != 0)
      requests_fail("twin::forecast refused an accepted request: " + f.error().what());
  }
}

inline void requests_ingest(std::string_view bytes) {
  v1::IngestRequest r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  static const twin_pb::EventDecoder decoder(requests_model());
  constexpr std::uint32_t kMax = 1000;
  auto events = server::requests::ingest(decoder, r, kMax);
  if (!events) return check_request_error(events.error(), "events");
  if (r.events_size() == 0 || r.events_size() > static_cast<int>(kMax))
    requests_fail("accepted a request of " + std::to_string(r.events_size()) + " events");
  if (events->size() != static_cast<std::size_t>(r.events_size())) requests_fail("not one event per message");
  for (std::size_t i = 0; i < events->size(); ++i)
    if ((*events)[i].id != r.events(static_cast<int>(i)).id()) requests_fail("an event id changed");
}

inline void requests_authorization(std::string_view bytes) {
  if (bytes.empty()) return;
  const auto& table = server::method_roles();
  std::vector<std::string> methods;
  for (const auto& [name, role] : table) methods.push_back(name);
  methods.push_back("/fabtwin.v1.TwinService/NotInTheTable");
  const std::string method = methods[static_cast<unsigned char>(bytes[0]) % methods.size()];
  const std::string_view value = bytes.substr(1);
  const auto d = server::authorize(&requests_tokens(), method, {value});
  if (d.code != expected_decision(method, value))
    requests_fail("authorize(" + method + ") decided " + std::to_string(static_cast<int>(d.code)) +
                  ", expected " + std::to_string(static_cast<int>(expected_decision(method, value))));
  if (d.code != server::Decision::Code::allowed && d.message.empty())
    requests_fail("a refusal without reason");
  for (const char* t : kRequestTokens)
    if (d.message.find(t) != std::string::npos) requests_fail("a decision repeats a token");
  // Never two values, never none.
  if (server::authorize(&requests_tokens(), method, {}).code != server::Decision::Code::unauthenticated ||
      server::authorize(&requests_tokens(), method, {value, value}).code !=
          server::Decision::Code::unauthenticated)
    requests_fail("no value or two values were not unauthenticated");
}

inline void requests_auth_file(std::string_view text) {
  auto t = server::Tokens::parse(text, "fuzz.auth");
  const int lines = 1 + static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  if (!t) {
    const model::Error& e = t.error();
    if (e.file != "fuzz.auth" || e.message.empty() || e.line < 0 || e.line > lines)
      requests_fail("an auth file error without file, line or message: " + e.what());
    return;
  }
  if (t->size() == 0) requests_fail("an auth file without tokens accepted");
  // Each line's token has the line's role.
  std::size_t at = 0, entries = 0;
  while (at <= text.size()) {
    std::size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    at = end + 1;
    std::vector<std::string_view> f;
    for (std::size_t i = 0; i < line.size();) {
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      const std::size_t s = i;
      while (i < line.size() && !(line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
      if (i > s) f.push_back(line.substr(s, i - s));
    }
    if (f.empty() || f[0][0] == '#') continue;
    if (f.size() != 2) requests_fail("a line of " + std::to_string(f.size()) + " fields accepted");
    ++entries;
    if (t->role_of(f[0]) != server::parse_role(f[1])) requests_fail("a token without its line's role");
  }
  if (entries != t->size()) requests_fail("not one entry per line");
}

inline void requests_whatif_submit(std::string_view bytes) {
  v1::SubmitRequest r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto label = server::requests::whatif_submit(r);
  if (!label) {
    if (label.error().field != "spec_json" && label.error().field != "label" &&
        label.error().field != "base_dir")
      requests_fail("a SubmitRequest error naming no field of it: " + label.error().what());
    check_request_error(label.error(), label.error().field);
    return;
  }
  if (r.spec_json().empty() || r.spec_json().size() > server::requests::kMaxSpecBytes)
    requests_fail("a spec_json of " + std::to_string(r.spec_json().size()) + " bytes accepted");
  if (label.value().empty() || label.value().size() > server::requests::kMaxLabelBytes)
    requests_fail("an empty or long label accepted");
  for (unsigned char c : label.value())
    if (c < 0x20 || c == 0x7f) requests_fail("a label with a control character accepted");
  if (r.base_dir().find('\0') != std::string::npos) requests_fail("a base_dir with NUL accepted");
}

inline void requests_whatif_job_id(std::string_view bytes) {
  const std::string id(bytes);
  auto ok = server::requests::whatif_job_id(id);
  bool printable = !id.empty() && id.size() <= server::requests::kMaxJobIdBytes;
  for (unsigned char c : id) printable = printable && c > 0x20 && c < 0x7f;
  if (ok.ok() != printable) requests_fail("job id decision differs from the expectation: '" + id + "'");
  if (!ok) check_request_error(ok.error(), "job_id");
}

inline void requests_whatif_list_jobs(std::string_view bytes) {
  v1::ListJobsRequest r;
  if (!r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto n = server::requests::whatif_list_jobs(r);
  if (n.ok() != (r.limit() <= server::requests::kListJobsMax))
    requests_fail("a ListJobsRequest limit of " + std::to_string(r.limit()) + " decided wrongly");
  if (!n) return check_request_error(n.error(), "limit");
  if (n.value() != (r.limit() == 0 ? server::requests::kListJobsDefault : r.limit()))
    requests_fail("ListJobs lists " + std::to_string(n.value()) + " for a limit of " +
                  std::to_string(r.limit()));
}

// A YieldService check's error names one of `fields` (a prefix) and says what.
inline void check_yield_error(const model::Error& e, std::initializer_list<const char*> fields) {
  for (const char* f : fields)
    if (e.field.rfind(f, 0) == 0) return check_request_error(e, f);
  requests_fail("a YieldService error naming no field of its request: " + e.what());
}

// An accepted filter: what was set is passed on, and its names are the model's.
inline void check_yield_filter(const v1::YieldFilter& in, const live::YieldFilter& out) {
  const auto& d = requests_model().data();
  if (out.product.has_value() != !in.product().empty() || out.tool.has_value() != !in.tool().empty() ||
      out.route.has_value() != !in.route().empty() || out.lot.has_value() != !in.lot().empty() ||
      out.step.has_value() != in.has_step() || out.from_ms.has_value() != in.has_from_ms() ||
      out.to_ms.has_value() != in.has_to_ms())
    requests_fail("a filter field lost or made up");
  if (out.product && std::none_of(d.products.begin(), d.products.end(),
                                  [&](const auto& p) { return p.name == *out.product; }))
    requests_fail("an unknown product accepted: " + *out.product);
  if (out.tool &&
      std::none_of(d.tools.begin(), d.tools.end(), [&](const auto& t) { return t.name == *out.tool; }))
    requests_fail("an unknown tool accepted: " + *out.tool);
  if (out.route &&
      std::none_of(d.routes.begin(), d.routes.end(), [&](const auto& r) { return r.name == *out.route; }))
    requests_fail("an unknown route accepted: " + *out.route);
  if (out.from_ms && out.to_ms && *out.to_ms <= *out.from_ms) requests_fail("an empty time range accepted");
}

template <class Request>
inline bool parse_request(std::string_view bytes, Request& r) {
  return r.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

inline void requests_yield(unsigned selector, std::string_view bytes) {
  namespace rq = server::requests;
  const model::Model& m = requests_model();
  switch (selector) {
    case 7: {
      v1::ListWafersRequest r;
      if (!parse_request(bytes, r)) return;
      auto p = rq::list_wafers(m, r);
      if (!p) return check_yield_error(p.error(), {"page_size", "filter"});
      if (p->page_size < 1 || p->page_size > rq::kMaxPageSize)
        requests_fail("accepted page size out of bounds");
      return check_yield_filter(r.filter(), p->filter);
    }
    case 8: {
      v1::YieldSummaryRequest r;
      if (!parse_request(bytes, r)) return;
      auto p = rq::yield_summary(m, r);
      if (!p) return check_yield_error(p.error(), {"group_by", "filter"});
      if (r.group_by() < v1::GROUP_BY_PRODUCT || r.group_by() > v1::GROUP_BY_STEP)
        requests_fail("an unknown group_by accepted");
      return check_yield_filter(r.filter(), p->filter);
    }
    case 9: {
      v1::WaferMapRequest r;
      if (!parse_request(bytes, r)) return;
      auto p = rq::wafer_map(r);
      if (!p) return check_yield_error(p.error(), {"lot", "wafer", "png_size"});
      if (r.lot().empty() || r.wafer() == 0 ||
          (r.png_size() != 0 && (r.png_size() < rq::kMinPng || r.png_size() > rq::kMaxPng)))
        requests_fail("a WaferMapRequest out of bounds accepted");
      return;
    }
    case 10: {
      v1::StackedMapRequest r;
      if (!parse_request(bytes, r)) return;
      auto p = rq::stacked_map(m, r);
      if (!p) return check_yield_error(p.error(), {"png_size", "scale_max", "filter"});
      if (!(p->scale_max >= 0 && p->scale_max <= 1)) requests_fail("accepted scale_max out of [0, 1]");
      return check_yield_filter(r.filter(), p->filter);
    }
    case 11: {
      v1::CommonalityRequest r;
      if (!parse_request(bytes, r)) return;
      auto p = rq::commonality(m, r);
      if (!p) return check_yield_error(p.error(), {"levels[", "significance", "filter"});
      if (!(p->query.significance > 0 && p->query.significance < 1)) requests_fail("accepted significance");
      if (p->query.levels.size() != static_cast<std::size_t>(r.levels_size())) requests_fail("a level lost");
      return check_yield_filter(r.filter(), p->filter);
    }
    default:
      return;
  }
}

inline void requests_one(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {  // protobuf logs every invalid UTF-8 string it rejects
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  if (size == 0) return;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0]) {  // other values: nothing (the selectors stay stable as kinds are added)
    case 0: {
      v1::GetModelRequest r;
      (void)r.ParseFromArray(rest.data(), static_cast<int>(rest.size()));
      break;
    }
    case 1: {
      v1::GetSnapshotRequest r;
      (void)r.ParseFromArray(rest.data(), static_cast<int>(rest.size()));
      break;
    }
    case 2:
      requests_stream_state(rest);
      break;
    case 3:
      requests_forecast(rest);
      break;
    case 4:
      requests_ingest(rest);
      break;
    case 5:
      requests_authorization(rest);
      break;
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
      requests_yield(data[0], rest);
      break;
    case 6:
      requests_auth_file(rest);
      break;
    case 12:
      requests_whatif_submit(rest);
      break;
    case 13:
      requests_whatif_job_id(rest);
      break;
    case 14:
      requests_whatif_list_jobs(rest);
      break;
  }
}

}  // namespace fabtwin::fuzz
