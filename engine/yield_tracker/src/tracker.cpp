#include "fabtwin/yield_tracker/tracker.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>

namespace fabtwin::yield {

using namespace fabtwin::model;

model::Result<std::unique_ptr<YieldTracker>> YieldTracker::make(const Model& model, const YieldParams& params,
                                                                const TrackerOptions& options) {
  const auto& d = model.data();
  std::vector<std::string> step_area(d.steps.size()), tool_names(d.tools.size());
  for (std::size_t s = 0; s < d.steps.size(); ++s)
    step_area[s] = d.areas[d.tool_groups[d.steps[s].tool_group.index()].area.index()].name;
  for (std::size_t t = 0; t < d.tools.size(); ++t) tool_names[t] = d.tools[t].name;
  auto defects = DefectModel::make(params, step_area, tool_names);
  if (!defects.ok()) return defects.error();
  if (options.run.backend == Backend::Cuda && !compute::cuda_available())
    return Error{"", 0, "backend", "the CUDA backend was asked for but no CUDA device is available"};
  std::vector<MonteCarlo> mc;
  for (const Product& p : d.products) {
    auto grid = DieGrid::make(params.geometry_for(p.name));
    if (!grid.ok()) {
      Error e = grid.error();
      e.message = "product " + p.name + ": " + e.message;
      return e;
    }
    mc.emplace_back(std::move(grid.value()), McSettings{params.seed, params.cluster_alpha, params.shapes});
  }
  return std::unique_ptr<YieldTracker>(
      new YieldTracker(model, params, std::move(defects.value()), std::move(mc), options));
}

YieldTracker::YieldTracker(const Model& model, YieldParams params, DefectModel defects,
                           std::vector<MonteCarlo> mc, TrackerOptions options)
    : model_(model),
      params_(std::move(params)),
      defects_(std::move(defects)),
      mc_(std::move(mc)),
      options_(options),
      health_(model.tools().size(), params_.health) {
  options_.run.keep_maps = false;
  // Tool groups for the Tool and ToolGroup levels of commonality().
  records_.tool_group.reserve(model.tools().size());
  for (const Tool& t : model.tools()) records_.tool_group.push_back(t.group);
}

void ToolHealthTracker::on_tool_state(ToolId tool, des::ToolState state, SimTime at) {
  Tool& h = tools_[tool.index()];
  if (h.state == des::ToolState::ScheduledDown && state != des::ToolState::ScheduledDown) h.last_pm_end = at;
  if (h.state == des::ToolState::UnscheduledDown && state != des::ToolState::UnscheduledDown)
    h.lots_since_repair = 0;
  h.state = state;
}

double ToolHealthTracker::on_step(ToolId tool, SimTime started) {
  Tool& h = tools_[tool.index()];
  const double days_since_pm = to_days(started - h.last_pm_end);
  const double health = tool_health(params_, days_since_pm, h.lots_since_repair);
  if (h.lots_since_repair < (1u << 30)) ++h.lots_since_repair;
  return health;
}

void prepend_unrecorded_steps(const Route& route, std::vector<StepRecord>& history) {
  if (history.empty()) return;
  std::vector<StepRecord> before;
  for (std::uint32_t s = route.first_step.value; s < history.front().step.value; ++s)
    before.push_back(StepRecord{StepId{s}, ToolId{}, 1.0});
  if (!before.empty()) history.insert(history.begin(), before.begin(), before.end());
}

void YieldTracker::on_tool_state(ToolId tool, des::ToolState state, SimTime at) {
  health_.on_tool_state(tool, state, at);
}

void YieldTracker::on_step(const des::StepRecord& r) {
  active_[lot_id(r.key)].push_back(StepRecord{r.step, r.tool, health_.on_step(r.tool, r.started)});
}

void YieldTracker::on_lot_completed(const des::LotRecord& r) {
  std::vector<StepRecord> hist;
  if (const auto it = active_.find(lot_id(r.key)); it != active_.end()) {
    hist.swap(it->second);
    active_.erase(it);
  }
  LotYield ly;
  ly.key = r.key;
  ly.product = r.product;
  ly.priority = r.priority;
  ly.wafers = r.wafers;
  ly.released = r.released;
  ly.completed = r.completed;
  std::vector<StepTool> pairs;
  pairs.reserve(hist.size());
  for (const auto& s : hist) pairs.push_back({s.step, s.tool});
  // An initial-WIP lot ran the steps before its first recorded one before the twin started: they
  // add their defects at nominal health, on tools nobody recorded (not in the commonality pairs).
  prepend_unrecorded_steps(model_.route_of(r.product), hist);
  ly.rates = defects_.rates(hist);
  ly.history = records_.add_history(pairs, r.product.value);  // stratum: the product (its route)
  lots_.push_back(ly);
  if (options_.keep_histories) histories_.push_back(std::move(hist));
  if (lots_.size() - pending_from_ >= options_.batch_lots) flush();
}

void YieldTracker::flush() {
  if (pending_from_ == lots_.size()) return;
  const auto t0 = std::chrono::steady_clock::now();
  // One Monte Carlo batch per product (die grids differ).
  for (std::size_t p = 0; p < mc_.size(); ++p) {
    std::vector<WaferRates> rates;
    std::vector<WaferRef> refs;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> who;  // (lot, slot)
    for (std::size_t l = pending_from_; l < lots_.size(); ++l) {
      const LotYield& ly = lots_[l];
      if (ly.product.index() != p) continue;
      const auto ri = static_cast<std::uint32_t>(rates.size());
      rates.push_back(ly.rates);
      for (std::uint32_t w = 0; w < ly.wafers; ++w) {
        refs.push_back(WaferRef{wafer_uid(ly.key, w), ri});
        who.emplace_back(static_cast<std::uint32_t>(l), w);
      }
    }
    if (refs.empty()) continue;
    auto res = mc_[p].run(rates, refs, options_.run);
    if (!res.ok()) throw std::runtime_error(res.error().what());
    for (std::size_t i = 0; i < refs.size(); ++i) {
      auto [l, w] = who[i];
      if (w == 0) lots_[l].first_wafer = static_cast<std::uint32_t>(wafers_.size());
      wafers_.push_back(WaferYield{l, w, refs[i].uid, res->wafers[i]});
      records_.add_wafer(lots_[l].history, res->wafers[i].die_yield());
    }
  }
  pending_from_ = lots_.size();
  mc_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

model::Result<YieldRecords> YieldTracker::records_under(const YieldParams& params) const {
  if (!options_.keep_histories)
    return Error{"", 0, "keep_histories", "records_under() needs a tracker made with keep_histories"};
  if (pending_from_ != lots_.size())
    return Error{"", 0, "flush", "records_under() needs every completed lot flushed (call flush())"};
  const ToolHealthParams &a = params.health, &b = params_.health;
  if (a.drift_per_day != b.drift_per_day || a.drift_max != b.drift_max ||
      a.excursion_multiplier != b.excursion_multiplier || a.excursion_lots != b.excursion_lots)
    return Error{"", 0, "health",
                 "the tool health parameters differ from the simulation's (the recorded health)"};
  auto made = make(model_, params, options_);  // checks the parameters; its defect model and die grids
  if (!made.ok()) return made.error();
  const YieldTracker& fresh = *made.value();
  std::vector<WaferRates> lot_rates(lots_.size());
  for (std::size_t l = 0; l < lots_.size(); ++l) lot_rates[l] = fresh.defects_.rates(histories_[l]);
  std::vector<double> yields(wafers_.size());
  RunOptions ro = options_.run;
  ro.keep_maps = false;
  for (std::size_t p = 0; p < fresh.mc_.size(); ++p) {
    std::vector<WaferRates> rates;
    std::vector<WaferRef> refs;
    std::vector<std::size_t> who;  // wafer index
    std::vector<std::uint32_t> rate_of_lot(lots_.size(), UINT32_MAX);
    for (std::size_t w = 0; w < wafers_.size(); ++w) {
      const std::uint32_t l = wafers_[w].lot;
      if (lots_[l].product.index() != p) continue;
      if (rate_of_lot[l] == UINT32_MAX) {
        rate_of_lot[l] = static_cast<std::uint32_t>(rates.size());
        rates.push_back(lot_rates[l]);
      }
      refs.push_back(WaferRef{wafers_[w].uid, rate_of_lot[l]});
      who.push_back(w);
    }
    if (refs.empty()) continue;
    auto res = fresh.mc_[p].run(rates, refs, ro);
    if (!res.ok()) return res.error();
    for (std::size_t i = 0; i < refs.size(); ++i) yields[who[i]] = res->wafers[i].die_yield();
  }
  YieldRecords out = records_;  // same histories, strata, tool groups and wafer order
  for (std::size_t w = 0; w < wafers_.size(); ++w) out.wafer_yield[w] = yields[w];
  return out;
}

std::vector<std::uint8_t> YieldTracker::wafer_map(std::size_t w) const {
  const WaferYield& wy = wafers_.at(w);
  const LotYield& ly = lots_[wy.lot];
  RunOptions ro = options_.run;
  ro.keep_maps = true;
  ro.threads = 1;
  const WaferRates rates[1] = {ly.rates};
  const WaferRef ref[1] = {WaferRef{wy.uid, 0}};
  auto res = mc_[ly.product.index()].run(rates, ref, ro);
  if (!res.ok()) throw std::runtime_error(res.error().what());
  const auto m = res->map(0);
  return {m.begin(), m.end()};
}

std::vector<double> YieldTracker::stacked_fail_rate(ProductId product,
                                                    const std::function<bool(std::size_t)>& keep) const {
  const MonteCarlo& mc = mc_[product.index()];
  std::vector<std::uint64_t> fails(mc.grid().size(), 0);
  std::uint64_t n = 0;
  RunOptions ro = options_.run;
  ro.keep_maps = true;
  ro.count_defects = false;
  constexpr std::size_t kChunk = 8192;  // wafers per Monte Carlo run: a few MB of maps at a time
  std::vector<WaferRates> rates;
  std::vector<WaferRef> refs;
  auto run_chunk = [&] {
    if (refs.empty()) return;
    auto res = mc.run(rates, refs, ro);
    if (!res.ok()) throw std::runtime_error(res.error().what());
    for (std::size_t w = 0; w < refs.size(); ++w) {
      const auto m = res->map(w);
      for (std::size_t d = 0; d < m.size(); ++d) fails[d] += m[d] != kBinPass;
    }
    n += refs.size();
    rates.clear();
    refs.clear();
  };
  for (std::size_t w = 0; w < wafers_.size(); ++w) {
    const WaferYield& wy = wafers_[w];
    if (lots_[wy.lot].product != product || !keep(w)) continue;
    refs.push_back(WaferRef{wy.uid, static_cast<std::uint32_t>(rates.size())});
    rates.push_back(lots_[wy.lot].rates);
    if (refs.size() == kChunk) run_chunk();
  }
  run_chunk();
  std::vector<double> rate;
  if (n == 0) return rate;
  rate.resize(fails.size());
  for (std::size_t d = 0; d < fails.size(); ++d) rate[d] = static_cast<double>(fails[d]) / n;
  return rate;
}

}  // namespace fabtwin::yield
