#pragma once
// The body of fuzz_ingest (libFuzzer, fuzz_ingest.cpp) and of its corpus test
// (tests/services/test_fuzz_ingest.cpp): bytes -> v1::IngestRequest (ParseFromArray) ->
// twin_pb::EventDecoder -> live::LiveTwin::ingest of the mini-fab (follow mode, store in a temp
// file), in up to three batches, then the whole request again. Aborts (with a message) when:
//   a decoding error does not name its field (events[i]...) and say what is wrong;
//   ingest fails or throws, or returns other than one outcome per event;
//   after a batch, the keyframe before it + changes_since != the keyframe now (engine and proto);
//   an event with an id, sent again, is not acknowledged as a duplicate;
//   the store, reopened (no checkpoint at close: every event replayed), gives another state or version.
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <string>

#include "fabtwin/io/load.hpp"
#include "fabtwin/live/live_twin.hpp"
#include "fabtwin/twin/state_file.hpp"
#include "fabtwin/twin_pb/twin_pb.hpp"

namespace fabtwin::fuzz {

[[noreturn]] inline void ingest_fail(const std::string& what) {
  std::fprintf(stderr, "fuzz_ingest: %s\n", what.c_str());
  std::abort();
}

inline const model::Model& ingest_model() {
  static const model::Model m = [] {
    auto r = io::load_model(FABTWIN_FUZZ_MINIFAB);
    if (!r.ok()) ingest_fail("cannot read the mini-fab: " + r.error().what());
    return std::move(r.value());
  }();
  return m;
}

// Keyframe `before` + the twin's changes since it == the twin's keyframe now, as engine values
// and as messages (twin_pb::apply_delta).
inline void check_delta(const live::LiveTwin& t, const des::StateView& before) {
  t.read([&](const des::Simulation& sim) {
    const des::StateView now = sim.view();
    auto delta = sim.changes_since(before.version);
    if (!delta) ingest_fail("no delta from the version before the batch");
    des::StateView rebuilt = before;
    des::apply_delta(rebuilt, *delta);
    if (!(rebuilt == now)) ingest_fail("keyframe + delta differs from the keyframe now");
    v1::StateKeyframe k = twin_pb::to_proto(before);
    twin_pb::apply_delta(k, twin_pb::to_proto(*delta));
    if (!google::protobuf::util::MessageDifferencer::Equals(k, twin_pb::to_proto(now)))
      ingest_fail("keyframe + delta differs from the keyframe now (messages)");
    return 0;
  });
}

inline void ingest_one(const std::uint8_t* data, std::size_t size) {
  static const bool quiet = [] {  // protobuf logs every invalid UTF-8 string it rejects
    google::protobuf::SetLogHandler(nullptr);
    return true;
  }();
  (void)quiet;
  v1::IngestRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return;
  if (request.events_size() > 4'000) return;  // bounded work per input
  const model::Model& m = ingest_model();
  static const twin_pb::EventDecoder decoder(m);
  auto decoded = decoder.decode(request);
  if (!decoded.ok()) {
    const model::Error& e = decoded.error();
    if (e.field.rfind("events[", 0) != 0 || e.message.empty())
      ingest_fail("a decoding error without field or message: " + twin_pb::status_text(e));
    return;
  }
  const std::vector<des::Event>& events = decoded.value();

  namespace fs = std::filesystem;
  const fs::path dir = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
  const std::string db = (dir / ("fabtwin_fuzz_ingest_" + std::to_string(::getpid()) + ".db")).string();
  const auto remove_db = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  };
  remove_db();
  live::LiveOptions o;
  o.sim.mode = des::Mode::Follow;
  o.db_path = db;
  o.checkpoint_every_events = 0;
  o.checkpoint_every_s = 0;
  o.checkpoint_at_close = false;  // the reopen below replays every stored event
  std::string state;
  std::uint64_t version = 0;
  {
    auto opened = live::LiveTwin::open(m, o);
    if (!opened.ok()) ingest_fail("cannot open a fresh live twin: " + opened.error().what());
    live::LiveTwin& t = *opened.value();
    const std::size_t n = events.size();
    std::vector<twin::EventOutcome> first;
    const std::size_t cuts[] = {0, n / 3, 2 * n / 3, n};
    for (int k = 0; k < 3; ++k) {
      const auto batch = std::span<const des::Event>(events).subspan(cuts[k], cuts[k + 1] - cuts[k]);
      const des::StateView before = t.read([](const des::Simulation& s) { return s.view(); });
      auto r = t.ingest(batch);
      if (!r.ok()) ingest_fail("ingest failed: " + r.error().what());
      if (r.value().size() != batch.size()) ingest_fail("not one outcome per event");
      first.insert(first.end(), r.value().begin(), r.value().end());
      check_delta(t, before);
    }
    // Everything again: each event with an id is a duplicate now.
    const des::StateView before = t.read([](const des::Simulation& s) { return s.view(); });
    auto again = t.ingest(events);
    if (!again.ok()) ingest_fail("ingest (again) failed: " + again.error().what());
    for (std::size_t i = 0; i < events.size(); ++i)
      if (!events[i].id.empty() && again.value()[i].outcome != twin::Outcome::Duplicate)
        ingest_fail("event " + std::to_string(i) + " '" + events[i].id + "' (" +
                    std::string(twin::to_string(first[i].outcome)) + " the first time) sent again was " +
                    std::string(twin::to_string(again.value()[i].outcome)) + ", not a duplicate");
    check_delta(t, before);
    state = t.read([](const des::Simulation& s) { return twin::state_text(s); });
    version = t.version();
  }
  {
    auto reopened = live::LiveTwin::open(m, o);
    if (!reopened.ok()) ingest_fail("cannot reopen the store: " + reopened.error().what());
    if (reopened.value()->version() != version) ingest_fail("the reopened twin has another version");
    if (reopened.value()->read([](const des::Simulation& s) { return twin::state_text(s); }) != state)
      ingest_fail("the reopened twin has another state");
  }
  remove_db();
}

}  // namespace fabtwin::fuzz
