#pragma once
// Statistics of a simulation run. Times are in days unless named otherwise.
#include <cstdint>
#include <string>
#include <vector>

#include "fabtwin/des/observer.hpp"
#include "fabtwin/model/ids.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::des {

struct CompletedLot {
  LotKey key;
  model::ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t wafers = 25;
  std::uint32_t steps_performed = 0;
  std::uint32_t reworks = 0;
  model::SimTime released{};
  model::SimTime completed{};
  model::SimTime due{};
};

struct WipSample {
  model::SimTime at{};
  std::uint32_t lots = 0;                  // in the fab (queued, in transport, in process)
  std::vector<std::uint32_t> per_product;  // same, by product
};

struct Percentiles {
  std::size_t count = 0;
  double mean = 0, p50 = 0, p90 = 0, p99 = 0, min = 0, max = 0;
};

// One (product, priority) class, or one order stream.
struct ClassKpis {
  std::string name;  // "part_3" / "part_3@20" / order "HotLot_3"
  model::ProductId product;
  std::uint32_t priority = 0;  // 0: all priorities
  std::size_t completed_lots = 0;
  std::size_t completed_wafers = 0;
  Percentiles cycle_time_days;
  double raw_process_time_days = 0;  // RPT: expected cycle time in an empty fab
  double x_factor = 0;               // mean cycle time / RPT
  double on_time = 0;                // fraction completed by their due date
  double tardiness_days = 0;         // mean max(0, completed - due)
};

// SEMI E10 shares of calendar time, summed over the group's tools. The states add up to 1:
// productive + standby + engineering + scheduled_down + unscheduled_down + non_scheduled, where
// scheduled_down holds PMs and setups (E10 counts a setup as scheduled down; `setup` and `pm`
// split it).
struct ToolGroupKpis {
  std::string name;
  std::string area;
  std::uint32_t tools = 0;
  double productive = 0;             // processing incl. load/unload
  double standby = 0;                // idle while up
  double engineering = 0;            // reported by events
  double scheduled_down = 0;         // PM + setup
  double setup = 0;                  // setups (part of scheduled_down)
  double pm = 0;                     // PMs (part of scheduled_down)
  double unscheduled_down = 0;       // failures
  double non_scheduled = 0;          // reported by events
  double utilisation_of_uptime = 0;  // (productive + setup) / (productive + setup + standby + engineering)
  double mean_queue_lots = 0;        // time-average queue length
  double mean_queue_hours = 0;       // mean wait from joining the queue to start
  std::uint64_t lots_started = 0;
  std::uint64_t wafers_started = 0;
};

struct Kpis {
  double simulated_days = 0;
  double warmup_days = 0;
  std::vector<ClassKpis> products;  // per product, all priorities
  std::vector<ClassKpis> classes;   // per (product, priority)
  std::vector<ClassKpis> orders;    // per order stream (Lot_3, HotLot_3, ...)
  std::vector<ToolGroupKpis> tool_groups;
  double throughput_lots_per_day = 0;  // counted lots completed per day after warm-up
  double throughput_wafers_per_day = 0;
  double mean_wip_lots = 0;          // over WIP samples after warm-up
  std::uint64_t cqt_violations = 0;  // critical queue times exceeded (measured, not enforced)
  std::uint64_t cqt_checks = 0;
  std::uint64_t events = 0;
  std::uint64_t lots_released = 0;
  std::uint64_t lots_completed = 0;  // all, incl. initial WIP
};

}  // namespace fabtwin::des
