// The live twin's yield recorder (yield_recorder.hpp).
#include "yield_recorder.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "fabtwin/yield_tracker/tracker.hpp"

namespace fabtwin::live {

using namespace fabtwin::model;

model::Result<std::unique_ptr<YieldRecorder>> YieldRecorder::make(const Model& model,
                                                                  const yield::YieldParams& params) {
  const auto& d = model.data();
  std::vector<std::string> step_area(d.steps.size()), tool_names(d.tools.size());
  for (std::size_t s = 0; s < d.steps.size(); ++s)
    step_area[s] = d.areas[d.tool_groups[d.steps[s].tool_group.index()].area.index()].name;
  for (std::size_t t = 0; t < d.tools.size(); ++t) tool_names[t] = d.tools[t].name;
  auto defects = yield::DefectModel::make(params, step_area, tool_names);
  if (!defects.ok()) return defects.error();
  std::vector<yield::MonteCarlo> mc;
  for (const Product& p : d.products) {
    auto grid = yield::DieGrid::make(params.geometry_for(p.name));
    if (!grid.ok()) {
      Error e = grid.error();
      e.message = "product " + p.name + ": " + e.message;
      return e;
    }
    mc.emplace_back(std::move(grid.value()),
                    yield::McSettings{params.seed, params.cluster_alpha, params.shapes});
  }
  return std::unique_ptr<YieldRecorder>(
      new YieldRecorder(model, params, std::move(defects.value()), std::move(mc)));
}

YieldRecorder::YieldRecorder(const Model& model, yield::YieldParams params, yield::DefectModel defects,
                             std::vector<yield::MonteCarlo> mc)
    : model_(&model),
      params_(std::move(params)),
      defects_(std::move(defects)),
      mc_(std::move(mc)),
      health_(model.tools().size(), params_.health) {
  for (const auto& m : mc_) grids_.push_back(m.grid());
}

// Tool health as yield::YieldTracker keeps it (the same yield::ToolHealthTracker), so a live twin's
// records equal a `yield run` of the same history.
void YieldRecorder::on_tool_state(ToolId tool, des::ToolState state, SimTime at) {
  health_.on_tool_state(tool, state, at);
}

void YieldRecorder::on_step(const des::StepRecord& r) {
  active_[lot_id(r.key)].push_back(yield::StepRecord{r.step, r.tool, health_.on_step(r.tool, r.started)});
}

void YieldRecorder::on_lot_completed(const des::LotRecord& r) {
  std::vector<yield::StepRecord> hist;
  if (const auto it = active_.find(lot_id(r.key)); it != active_.end()) {
    hist.swap(it->second);
    active_.erase(it);
  }
  if (replaying) return;
  YieldLotRow row;
  row.lot = std::string(r.name);
  row.product = r.product.value;
  const Route& route = model_->route_of(r.product);
  row.route = model_->product(r.product).route.value;
  row.released_ms = r.released.time_since_epoch().count();
  row.completed_ms = r.completed.time_since_epoch().count();
  row.history.reserve(hist.size());
  for (const auto& s : hist) row.history.push_back({s.step, s.tool});
  // A lot that entered the twin mid-route ran its earlier steps before: nominal health, no tool
  // recorded (as the tracker does).
  yield::prepend_unrecorded_steps(route, hist);
  const yield::WaferRates rates[1] = {defects_.rates(hist)};
  std::vector<yield::WaferRef> refs(r.wafers);
  for (std::uint32_t w = 0; w < r.wafers; ++w) refs[w] = {yield::YieldTracker::wafer_uid(r.key, w), 0};
  yield::RunOptions ro;
  ro.backend = yield::Backend::Cpu;
  ro.threads = 1;
  ro.keep_maps = true;
  ro.count_defects = false;
  auto res = mc_[r.product.index()].run(rates, refs, ro);
  if (!res.ok()) throw std::runtime_error(res.error().what());
  row.wafers.resize(r.wafers);
  for (std::uint32_t w = 0; w < r.wafers; ++w) {
    const yield::WaferSummary& s = res->wafers[w];
    YieldWaferRow& out = row.wafers[w];
    out.dies = s.dies;
    out.pass = s.pass;
    std::copy(std::begin(s.bins), std::end(s.bins), out.bins.begin());
    const auto m = res->map(w);
    out.map.assign(m.begin(), m.end());
  }
  rows.push_back(std::move(row));
}

namespace {

constexpr char kMagic[4] = {'F', 'Y', 'R', '1'};

template <class T>
void put(std::string& out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out.append(b, sizeof(T));
}

struct Reader {
  const std::string& s;
  std::size_t at = 0;
  bool ok = true;
  template <class T>
  T get() {
    T v{};
    if (at + sizeof(T) > s.size()) {
      ok = false;
      return v;
    }
    std::memcpy(&v, s.data() + at, sizeof(T));
    at += sizeof(T);
    return v;
  }
};

}  // namespace

std::string YieldRecorder::save() const {
  std::string out(kMagic, 4);
  put<std::uint32_t>(out, static_cast<std::uint32_t>(health_.tools().size()));
  for (const auto& h : health_.tools()) {
    put<std::int64_t>(out, h.last_pm_end.time_since_epoch().count());
    put<std::uint32_t>(out, h.lots_since_repair);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(h.state));
  }
  std::vector<std::uint64_t> ids;
  ids.reserve(active_.size());
  for (const auto& [id, _] : active_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());  // the same state, the same bytes
  put<std::uint64_t>(out, ids.size());
  for (std::uint64_t id : ids) {
    const auto& hist = active_.at(id);
    put<std::uint64_t>(out, id);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(hist.size()));
    for (const auto& s : hist) {
      put<std::uint32_t>(out, s.step.value);
      put<std::uint32_t>(out, s.tool.value);
      put<double>(out, s.health);
    }
  }
  return out;
}

model::Result<bool> YieldRecorder::restore(const std::string& state) {
  std::vector<yield::ToolHealthTracker::Tool> health(health_.tools().size());
  std::unordered_map<std::uint64_t, std::vector<yield::StepRecord>> active;
  rows.clear();
  if (!state.empty()) {
    const auto bad = [](const std::string& what) {
      return Error{"", 0, "yield_state", "the checkpoint's yield recorder state is damaged: " + what};
    };
    if (state.size() < 4 || std::memcmp(state.data(), kMagic, 4) != 0) return bad("no FYR1 header");
    Reader r{state, 4};
    if (r.get<std::uint32_t>() != health.size()) return bad("another number of tools");
    for (auto& h : health) {
      h.last_pm_end = SimTime{Duration{r.get<std::int64_t>()}};
      h.lots_since_repair = r.get<std::uint32_t>();
      const auto st = r.get<std::uint8_t>();
      if (st >= des::kToolStateCount) return bad("a tool state out of range");
      h.state = static_cast<des::ToolState>(st);
    }
    const auto lots = r.get<std::uint64_t>();
    const auto steps = model_->data().steps.size();
    for (std::uint64_t l = 0; l < lots && r.ok; ++l) {
      const auto id = r.get<std::uint64_t>();
      const auto n = r.get<std::uint32_t>();
      if (!r.ok || n > state.size()) return bad("truncated");
      auto& hist = active[id];
      hist.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok; ++i) {
        yield::StepRecord s;
        s.step = StepId{r.get<std::uint32_t>()};
        s.tool = ToolId{r.get<std::uint32_t>()};
        s.health = r.get<double>();
        if (s.step.value >= steps || (s.tool.valid() && s.tool.index() >= health.size()))
          return bad("a step or tool out of range");
        hist.push_back(s);
      }
    }
    if (!r.ok) return bad("truncated");
    if (r.at != state.size()) return bad("trailing bytes");
  }
  health_.tools() = std::move(health);
  active_ = std::move(active);
  return true;
}

}  // namespace fabtwin::live
