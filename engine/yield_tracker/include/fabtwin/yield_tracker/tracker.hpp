#pragma once
// Couples yield to the simulation: a des::Observer that records each lot's process history (step,
// tool, that tool's health then) and, as lots complete, computes their 25 wafers' maps with the
// Monte Carlo. Yield records are kept for queries; a wafer's map is a pure function of
// (seed, wafer uid, the lot's rates), so records keep the rates and maps are recomputed on demand
// instead of stored. Target fabtwin::yield_tracker (above des and yield); namespace fabtwin::yield.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/des/observer.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/yield/commonality.hpp"
#include "fabtwin/yield/defect_model.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/params.hpp"

namespace fabtwin::yield {

// Each tool's health as the defect model sees it (tool_health(): days since its last PM ended,
// lots since its last repair), kept from the tool-state changes. YieldTracker and the live twin's
// yield recorder (services/live) both keep it through this, so a live twin's records equal a
// `yield run` of the same history.
class ToolHealthTracker {
 public:
  struct Tool {
    model::SimTime last_pm_end{};
    std::uint32_t lots_since_repair = 1u << 30;  // no repair yet: no excursion
    des::ToolState state = des::ToolState::Standby;
  };

  ToolHealthTracker(std::size_t tools, const ToolHealthParams& params) : params_(params), tools_(tools) {}

  void on_tool_state(model::ToolId tool, des::ToolState state, model::SimTime at);
  // The health of a step started at `started` on `tool`; counts the lot on the tool.
  double on_step(model::ToolId tool, model::SimTime started);

  // Per tool (by ToolId index): for checkpoints.
  std::vector<Tool>& tools() { return tools_; }
  const std::vector<Tool>& tools() const { return tools_; }

 private:
  ToolHealthParams params_;
  std::vector<Tool> tools_;
};

// A lot that entered the twin mid-route ran the steps before its first recorded one earlier: they
// are put in front of `history` at nominal health, on no tool (they add their defects, but no tool).
void prepend_unrecorded_steps(const model::Route& route, std::vector<StepRecord>& history);

struct TrackerOptions {
  RunOptions run;                   // backend, threads (maps are never kept here)
  std::uint32_t batch_lots = 2048;  // lots gathered before a Monte Carlo batch runs
  // Keep every lot's step history (step, tool, tool health; ~16 bytes a step) so that
  // records_under() can redo the yield part under other parameters without simulating again.
  bool keep_histories = false;
};

// One completed lot.
struct LotYield {
  des::LotKey key;
  model::ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t wafers = 25;
  model::SimTime released{}, completed{};
  std::uint32_t history = 0;      // index into YieldRecords histories (its (step, tool) pairs)
  std::uint32_t first_wafer = 0;  // index of its first wafer in wafers()
  WaferRates rates;               // what the Monte Carlo drew its maps from
};

struct WaferYield {
  std::uint32_t lot = 0;   // index into lots()
  std::uint32_t slot = 0;  // wafer 0..wafers-1 in the lot
  std::uint64_t uid = 0;   // keys its random numbers
  WaferSummary summary;
};

class YieldTracker final : public des::Observer {
 public:
  // Fails when the parameters name an unknown tool, or a product's die does not fit its wafer.
  static model::Result<std::unique_ptr<YieldTracker>> make(const model::Model& model,
                                                           const YieldParams& params,
                                                           const TrackerOptions& options = {});

  void on_step(const des::StepRecord& r) override;
  void on_lot_completed(const des::LotRecord& r) override;
  void on_tool_state(model::ToolId tool, des::ToolState state, model::SimTime at) override;

  // Runs the Monte Carlo for lots completed since the last batch (called by itself every
  // batch_lots lots; call it once more at the end of a run). Throws compute::CudaError on a CUDA
  // failure; a CUDA backend without a device is refused by make().
  void flush();

  std::span<const LotYield> lots() const { return lots_; }
  std::span<const WaferYield> wafers() const { return wafers_; }
  const YieldRecords& records() const { return records_; }
  const DefectModel& defects() const { return defects_; }
  const YieldParams& params() const { return params_; }
  const model::Model& model() const { return model_; }
  // Die map of wafer w (DieBin per die, in the product's DieGrid order), recomputed.
  std::vector<std::uint8_t> wafer_map(std::size_t w) const;
  // Per-die fail rate (0..1, in the product's DieGrid order) over the wafers w of `product` for
  // which keep(w) holds; maps are recomputed in chunks, so memory stays small. Empty: no wafer.
  std::vector<double> stacked_fail_rate(model::ProductId product,
                                        const std::function<bool(std::size_t)>& keep) const;
  const MonteCarlo& monte_carlo(model::ProductId product) const { return mc_[product.index()]; }
  // The yield records the same lots would have had under `params` (e.g. another planted fault):
  // the same histories, wafers and wafer uids, the maps drawn again from the new rates. A lot's
  // process history does not depend on the yield parameters, so this equals a new simulation with
  // `params` (tested), at the cost of the Monte Carlo only. Needs keep_histories and every lot
  // flushed; params.health must equal the tracker's (the recorded tool health came from it).
  // Fails naming the field otherwise, or as make() does for bad parameters.
  model::Result<YieldRecords> records_under(const YieldParams& params) const;
  double monte_carlo_seconds() const { return mc_seconds_; }

  // Uid of wafer `slot` of lot `key`: the same in every scenario. Lots of up to 64 wafers from
  // the model's WIP and orders (source < 2^25) pack (source, sequence, slot) exactly, top bit 0;
  // any other lot (external lots, larger lots) gets a 63-bit mix of the three with the top bit set.
  static std::uint64_t wafer_uid(des::LotKey key, std::uint32_t slot) {
    const std::uint64_t lot = static_cast<std::uint64_t>(key.source) << 32 | key.sequence;
    if (key.source < (1u << 25) && slot < 64) return (lot << 6) | slot;
    std::uint64_t h = lot ^ (static_cast<std::uint64_t>(slot) * 0x9e3779b97f4a7c15ull);
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;  // splitmix64 finaliser
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return (h ^ (h >> 31)) | (std::uint64_t{1} << 63);
  }

 private:
  YieldTracker(const model::Model& model, YieldParams params, DefectModel defects, std::vector<MonteCarlo> mc,
               TrackerOptions options);

  model::Model model_;
  YieldParams params_;
  DefectModel defects_;
  std::vector<MonteCarlo> mc_;  // per product
  TrackerOptions options_;
  ToolHealthTracker health_;
  static std::uint64_t lot_id(des::LotKey k) { return std::uint64_t{k.source} << 32 | k.sequence; }
  std::unordered_map<std::uint64_t, std::vector<StepRecord>> active_;  // per lot in the fab: history so far
  std::vector<LotYield> lots_;
  std::vector<std::vector<StepRecord>> histories_;  // per lot, with keep_histories
  std::vector<WaferYield> wafers_;
  YieldRecords records_;
  std::size_t pending_from_ = 0;  // lots_[pending_from_..] have no wafers yet
  double mc_seconds_ = 0;
};

}  // namespace fabtwin::yield
