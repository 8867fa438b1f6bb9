#pragma once
// fabtwin.v1 live-twin messages (proto/fabtwin/v1/twin.proto) and the engine's values: the model
// summary, state keyframes and deltas (des::StateView / des::StateDelta, both ways), MES events
// (des::Event, both ways, with request validation that names the field) and event outcomes.
// Enumerations map one to one (the proto value is the engine's + 1; 0 is UNSPECIFIED).
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "fabtwin/des/events.hpp"
#include "fabtwin/des/state.hpp"
#include "fabtwin/model/error.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/twin/forecast.hpp"
#include "fabtwin/twin/ledger.hpp"
#include "fabtwin/v1/twin.pb.h"

namespace fabtwin::twin_pb {

// ---- enumerations ----
v1::Mode to_proto(des::Mode m);
v1::ToolState to_proto(des::ToolState s);
v1::LotPlace to_proto(des::LotPlace p);
v1::RefuseReason to_proto(des::RefuseReason r);
v1::EventKind to_proto(des::EventKind k);
v1::Outcome to_proto(twin::Outcome o);

// ---- model and state ----
// Names and indices of `model` (what frames refer to); `mode`: the twin's.
v1::ModelSummary model_summary(const model::Model& model, des::Mode mode);

void to_proto(const des::StateView& view, v1::StateKeyframe& out);  // `out` is overwritten
void to_proto(const des::StateDelta& delta, v1::StateDelta& out);   // `out` is overwritten
v1::StateKeyframe to_proto(const des::StateView& view);
v1::StateDelta to_proto(const des::StateDelta& delta);

// The inverse (a C++ client's view of a frame). Fails (an Error naming the field, e.g.
// "tools[3].state") on an UNSPECIFIED or unknown enumeration value or a missing LotKey.
model::Result<des::StateView> from_proto(const v1::StateKeyframe& keyframe);
model::Result<des::StateDelta> from_proto(const v1::StateDelta& delta);

// Brings a keyframe at delta.from_version to delta.to_version (the rule in twin.proto's
// StateDelta comment; des::apply_delta on messages). Throws std::invalid_argument if the versions
// do not chain or an index is out of range.
void apply_delta(v1::StateKeyframe& keyframe, const v1::StateDelta& delta);

// ---- MES events ----
v1::MesEvent to_proto(const des::Event& event);
void to_proto(const des::Event& event, v1::MesEvent& out);  // `out` is overwritten

// Decodes MES events against a model: structure (id, kind, the fields the kind requires and no
// field it does not use, times in [0, 10^15] ms) and the names only the model defines (tool,
// product, setup, PM calendar). Lots and steps depend on the state: the twin checks those (and
// refuses with a reason). Thread-safe after construction; the model must outlive the decoder.
class EventDecoder {
 public:
  explicit EventDecoder(const model::Model& model);

  // An Error whose field is `field` + ".tool" etc. and whose message says what is wrong
  // (`unknown tool "X"`); file and line are empty.
  model::Result<des::Event> decode(const v1::MesEvent& event, std::string_view field = "event") const;
  // Every event of the request, or the first bad one's Error (field "events[3].tool").
  model::Result<std::vector<des::Event>> decode(const v1::IngestRequest& request) const;

 private:
  const model::Model* model_;
  std::unordered_map<std::string, std::uint32_t> tools_;
  std::unordered_map<std::string, std::uint32_t> calendars_;
};

// "events[3].tool: unknown tool \"X\"" (the text of an INVALID_ARGUMENT status).
std::string status_text(const model::Error& e);

// A forecast's result (`out` is overwritten).
void to_proto(const twin::ForecastResult& forecast, v1::ForecastReply& out);

// The reply entry for one event.
void to_proto(std::string_view id, const twin::EventOutcome& outcome, v1::EventResult& out);

}  // namespace fabtwin::twin_pb
