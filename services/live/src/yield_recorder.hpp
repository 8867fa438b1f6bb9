#pragma once
// live::YieldRecorder: the live twin's yield records (docs/yield.md "Yield records"). A des::Observer
// on the twin's simulation that keeps each lot's process history with the health of each tool then
// (as yield::YieldTracker does) and, when a lot completes, runs the defect model and the Monte Carlo
// for its wafers (one small CPU batch) and queues a YieldLotRow for the next commit. Unlike the
// tracker it keeps nothing of completed lots (the store does), and its state (tool health, the
// histories of the lots in the fab) is saved with each checkpoint so that a recovery replays it
// exactly. While `replaying` (recovery), completed lots only drop their history: their records are
// in the store already.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/des/observer.hpp"
#include "fabtwin/live/store.hpp"
#include "fabtwin/model/model.hpp"
#include "fabtwin/yield/defect_model.hpp"
#include "fabtwin/yield/monte_carlo.hpp"
#include "fabtwin/yield/params.hpp"
#include "fabtwin/yield_tracker/tracker.hpp"

namespace fabtwin::live {

class YieldRecorder final : public des::Observer {
 public:
  // Fails when the parameters name an unknown tool or a product's die does not fit its wafer.
  static model::Result<std::unique_ptr<YieldRecorder>> make(const model::Model& model,
                                                            const yield::YieldParams& params);

  void on_step(const des::StepRecord& r) override;
  void on_lot_completed(const des::LotRecord& r) override;
  void on_tool_state(model::ToolId tool, des::ToolState state, model::SimTime at) override;

  // The state as bytes (tool health, histories of lots in the fab), and back. restore("") resets.
  std::string save() const;
  model::Result<bool> restore(const std::string& state);

  std::vector<YieldLotRow> rows;  // records not yet committed
  bool replaying = false;

  const std::vector<yield::DieGrid>& grids() const { return grids_; }  // per product

 private:
  YieldRecorder(const model::Model& model, yield::YieldParams params, yield::DefectModel defects,
                std::vector<yield::MonteCarlo> mc);
  static std::uint64_t lot_id(des::LotKey k) { return std::uint64_t{k.source} << 32 | k.sequence; }

  const model::Model* model_;
  yield::YieldParams params_;
  yield::DefectModel defects_;
  std::vector<yield::MonteCarlo> mc_;  // per product
  std::vector<yield::DieGrid> grids_;  // per product
  yield::ToolHealthTracker health_;
  std::unordered_map<std::uint64_t, std::vector<yield::StepRecord>> active_;
};

}  // namespace fabtwin::live
