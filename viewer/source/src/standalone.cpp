#include <cstdio>

#include "fabtwin/viewer/source.hpp"

namespace fabtwin::viewer {

model::Result<std::unique_ptr<StandaloneSource>> StandaloneSource::create(const model::Model& model,
                                                                          double start_days,
                                                                          std::uint64_t seed) {
  des::Options o;
  o.seed = seed;
  auto sim = des::Simulation::create(model, o);
  if (!sim) return sim.error();
  sim->enable_journal();
  if (start_days > 0)
    sim->run_until(model::SimTime{model::Duration{static_cast<std::int64_t>(start_days * 86'400'000.0)}});
  return std::unique_ptr<StandaloneSource>(new StandaloneSource(std::move(sim.value()), fab_info(model)));
}

model::Result<PollStats> StandaloneSource::poll(Scene& scene, std::int64_t model_ms) {
  PollStats st;
  if (model_ms > 0) sim_.run_until(sim_.now() + model::Duration{model_ms});
  std::optional<des::StateDelta> d;
  if (shown_) d = sim_.changes_since(*shown_);
  if (!d) {
    auto r = scene.apply(sim_.view());
    if (!r) return r.error();
    st.keyframe = true;
  } else if (d->to != d->from || d->now != scene.state().now) {
    st.deltas = 1;
    st.changed_tools = d->tools.size();
    st.changed_queues = d->queues.size();
    st.changed_lots = d->lots.size() + d->lots_left.size();
    auto r = scene.apply(*d);
    if (!r) return r.error();
  }
  shown_ = sim_.version();
  return st;
}

std::string StandaloneSource::describe() const {
  char buf[128];
  std::snprintf(buf, sizeof buf, "standalone: %s, day %.3f, version %llu", fab_.name.c_str(),
                static_cast<double>(sim_.now().time_since_epoch().count()) / 86'400'000.0,
                static_cast<unsigned long long>(sim_.version()));
  return buf;
}

}  // namespace fabtwin::viewer
