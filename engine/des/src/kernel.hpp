#pragma once
// The private kernel behind des::Simulation: static tables compiled from the model (shared,
// immutable) and the mutable state (plain vectors: copying it is a fork).
#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include "fabtwin/compute/philox.hpp"
#include "fabtwin/des/simulation.hpp"
#include "event_queue.hpp"

namespace fabtwin::des {

inline constexpr std::uint32_t kNone = UINT32_MAX;
inline constexpr std::uint32_t kDone = UINT32_MAX - 1;  // Lot::queue_pos of a completed lot (slot free)

// Random stream kinds (DESIGN decision 2): each draw is philox(seed, kind, entity counter).
enum RngKind : std::uint32_t { kRngProc = 1, kRngSample, kRngRework, kRngTransport, kRngFail, kRngRepair,
                               kRngPmDuration, kRngRelease, kRngFirstFail };

struct StepInfo {
  std::uint32_t group = 0;
  std::uint32_t route_end = 0;  // global index one past the route's last step
  std::uint32_t setup = kNone;
  std::int64_t setup_override_ms = -1;  // STIME where given
  bool setup_always = false;
  model::Distribution proc;
  double proc_scale = 1;  // ms per unit of `proc`
  model::ProcessUnit unit = model::ProcessUnit::PerLot;
  double cascade_ms = 0;         // time a unit spends in the first slot (0: not cascading)
  bool cascade_per_wafer = false;
  std::uint32_t batch_min = 0, batch_max = 0;
  std::uint32_t dedicate_for = kNone;
  std::uint32_t rework_step = kNone;
  double rework_p = 0;   // probability 0..1
  double sample_p = 1;   // probability 0..1
  std::uint32_t cqt_to = kNone;
  std::int64_t cqt_ms = 0;
  double expected_ms = 0;   // load + expected processing + unload of a 25-wafer lot
  double remaining_ms = 0;  // sampling-weighted expected_ms from this step to the route's end
};

struct GroupInfo {
  std::uint32_t first_tool = 0, ntools = 0, capacity = 1;
  std::int64_t load_ms = 0, unload_ms = 0;
  std::uint32_t location = 0;
  bool delay_location = false;  // no transport to or from it
  bool batching = false;        // some step here batches
  bool min_run = false;         // rule_LSSU with a setup group
  std::uint32_t watch_index = kNone;  // index into Compiled::watch_groups (min-run or batching groups)
  bool tool_dependent = false;  // eligibility differs between tools (setups, dedication)
  bool lot_batch_unit = false;  // BATCHPER lot: batch sizes count lots, not wafers
  model::WakeRule wake = model::WakeRule::LongestIdle;
  std::vector<const RankRule*> ranks;
};

struct DownSpec {
  model::Distribution ttf, ttr, first;
};
struct PmSpec {
  bool by_pieces = false;
  double interval = 0;  // ms, or wafers
  double first = 0;     // ms, or wafers (staggered across the group)
  model::Distribution duration;
};

struct Compiled {
  model::Model model;
  std::vector<std::shared_ptr<const RankRule>> rule_owner;
  std::vector<StepInfo> steps;
  std::vector<GroupInfo> groups;
  std::vector<std::uint32_t> tool_group;
  std::vector<std::uint32_t> min_run;          // [group * nsetups + setup]
  // Groups that need to know which lots can still come: minimum runs (will a lot continue the
  // run?) and batching (can the batch still fill?).
  std::vector<std::uint32_t> watch_groups;
  std::vector<std::uint32_t> next_visit;  // [watch * nsteps + step]: the route's next step (>= step) on that group, kNone
  std::vector<std::uint32_t> step_route;  // per step: its route
  std::vector<std::int64_t> setup_matrix;      // [(from + 1) * nsetups + to]; from = -1: no setup yet
  std::uint32_t nsetups = 0;
  std::vector<std::int32_t> transport;         // [from * nloc + to] index into transports, -1 none
  std::uint32_t nlocations = 0;
  std::vector<model::Distribution> transports;
  std::vector<std::uint32_t> tool_down_first, tool_pm_first;  // per tool + 1: ranges into specs
  std::vector<DownSpec> downs;  // per (tool, calendar)
  std::vector<PmSpec> pms;      // per (tool, calendar)
  std::vector<double> rpt_ms;   // per product
  std::uint32_t nproducts = 0;
};

struct Lot {
  LotKey key;
  std::uint32_t serial = 0;  // release order: the final tie-break
  std::uint32_t product = 0, step = 0, pass = 0, priority = 10, wafers = 25;
  std::uint32_t prev_location = kNone;
  std::uint32_t queue_pos = kNone;
  std::uint32_t steps_done = 0, reworks = 0;
  std::int64_t released = 0, due = 0, queued = 0;
  std::uint8_t ndedic = 0, ncqt = 0;
  std::array<std::uint32_t, 4> ded_step{}, ded_tool{};
  std::array<std::uint32_t, 4> cqt_step{};
  std::array<std::int64_t, 4> cqt_deadline{};
};

struct Job {
  std::array<std::uint32_t, 8> lots{};
  std::uint8_t nlots = 0;
  std::uint32_t gen = 0;
  std::uint32_t wafers = 0;
  std::int64_t start = 0, end = 0;
};

enum class Avail : std::uint8_t { Up, Down, Pm };
enum AccState : std::uint8_t { kAccIdle, kAccBusy, kAccDown, kAccPm, kAccCount };

struct ToolRt {
  std::array<Job, 2> jobs{};
  std::uint8_t njobs = 0;
  Avail avail = Avail::Up;
  std::uint32_t group = 0;
  std::uint32_t setup = kNone;
  std::uint32_t run_count = 0, run_needed = 0;
  std::int64_t entry_free_at = 0;  // when the first slot frees (cascading) or processing ends
  std::uint32_t gen = 0;        // job event generation (a failure re-issues JobDone)
  std::uint32_t entry_gen = 0;  // EntryFree event generation
  // available list (tools that may start a job now), ordered by when they became available
  std::uint32_t prev = kNone, next = kNone;
  bool in_avail = false;
  std::int64_t idle_since = 0;
  // pending unavailability
  std::uint32_t pm_pending = 0;  // bit per PM calendar of this tool
  std::uint8_t nfail_pending = 0;
  std::array<std::uint32_t, 3> fail_pending_cal{};
  std::array<std::int64_t, 3> fail_pending_ms{};
  std::uint32_t down_cal = kNone;  // calendar being repaired
  // accounting (ms per state since the last reset)
  AccState acc_state = kAccIdle;
  std::int64_t acc_since = 0;
  std::array<std::int64_t, kAccCount> acc{};
  std::int64_t setup_ms = 0;
};

struct DownRt {
  std::uint32_t count = 0;
};
struct PmRt {
  std::uint32_t count = 0;
  double wafers_since = 0, wafers_due = 0;
};

struct GroupRt {
  std::vector<Candidate> queue;  // waiting lots, unordered (ranking decides); Lot::queue_pos indexes it
  std::uint32_t avail_head = kNone, avail_tail = kNone;
  std::int64_t queue_area = 0;  // integral of queue length (lot * ms) since reset
  std::int64_t queue_since = 0;
  std::int64_t wait_ms = 0;     // sum of queue waits of started lots since reset
  std::uint64_t lots_started = 0, wafers_started = 0;
};

// Compiles the model and options into the kernel's tables; an Error names an unknown rule.
model::Result<std::shared_ptr<const Compiled>> compile(const model::Model& m, const Options& opt);

struct Simulation::Impl {
  std::shared_ptr<const Compiled> c;
  Options options;
  std::uint64_t seed = 1;
  std::int64_t now = 0;
  std::uint64_t seq = 0;
  std::uint64_t events = 0;
  EventQueue heap;
  std::vector<Lot> lots;
  std::vector<std::uint32_t> free_lots;
  std::uint32_t next_serial = 0;
  std::uint32_t lots_alive = 0;
  std::uint64_t lots_released = 0;
  std::vector<ToolRt> tools;
  std::vector<GroupRt> groups;
  std::vector<DownRt> downs;
  std::vector<PmRt> pms;
  // Lots on their way to watched groups: way[lot * nwatch + w] = the step of the lot's next visit
  // to watch group w (kNone: none, or being processed there); counted per step and per setup.
  std::vector<std::uint32_t> way;
  std::vector<std::uint32_t> way_step;   // [w * nsteps + step]
  std::vector<std::uint32_t> way_setup;  // [w * nsetups + setup]
  std::vector<std::uint32_t> route_releasing;  // per route: orders with releases still to come
  std::vector<CompletedLot> completed;
  std::vector<WipSample> wip_samples;
  std::int64_t stats_since = 0;  // tool statistics restart (warm-up)
  std::uint64_t cqt_violations = 0, cqt_checks = 0;
  std::vector<Observer*> observers;  // not copied into a fork
  // scratch (contents never carried between calls)
  std::vector<Candidate> cand;
  std::vector<double> scores;
  std::vector<std::uint32_t> order;
  std::vector<std::pair<std::int64_t, std::uint32_t>> wake_order;  // (setup needed, tool)

  compute::Uniform2 draw(std::uint32_t kind, std::uint32_t a, std::uint32_t b, std::uint32_t c2 = 0,
                         std::uint32_t d = 0) const {
    return compute::uniform2(compute::RandomKey::make(seed, kind), a, b, c2, d);
  }

  void push(std::int64_t t, Ev type, std::uint32_t a, std::uint32_t b = 0);
  void run_until(std::int64_t t);
  void handle(const Pending& e);

  // lots
  std::uint32_t new_lot();
  void release(std::uint32_t order, std::uint32_t k);
  void advance(std::uint32_t lot, std::uint32_t next);
  void enqueue(std::uint32_t lot);
  void finish_step(std::uint32_t lot, std::uint32_t tool, const Job& job);
  void complete(std::uint32_t lot);
  std::uint32_t dedicated_tool(const Lot& lot) const;

  // tools
  bool can_start(std::uint32_t t) const;
  void refresh_available(std::uint32_t t);
  void avail_remove(std::uint32_t t);
  void avail_append(std::uint32_t t);
  bool try_start(std::uint32_t t);
  void wake_for(std::uint32_t lot);
  void set_way(std::uint32_t lot, std::uint32_t w, bool processing);
  void set_way_all(std::uint32_t lot);
  void start_job(std::uint32_t t, const std::uint32_t* lots, std::uint32_t n);
  std::int64_t setup_needed(const ToolRt& tool, const StepInfo& s) const;
  void job_done(std::uint32_t t, std::uint32_t gen);
  void after_unavailable(std::uint32_t t);
  void fail(std::uint32_t t, std::uint32_t d);
  void start_down(std::uint32_t t, std::uint32_t d, std::int64_t ttr);
  void repair_done(std::uint32_t t, std::uint32_t d);
  void pm_due(std::uint32_t t, std::uint32_t p);
  void start_pm(std::uint32_t t, std::uint32_t p);
  void pm_done(std::uint32_t t, std::uint32_t p);
  void set_acc(std::uint32_t t, AccState s);
  void queue_changed(std::uint32_t g);
  void reset_stats();
  void sample_wip();
  void notify_tool(std::uint32_t t);
};

}  // namespace fabtwin::des
