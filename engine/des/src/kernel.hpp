#pragma once
// The private kernel behind des::Simulation: static tables compiled from the model (shared,
// immutable) and the mutable state (plain vectors: copying it is a fork).
#include <algorithm>
#include <array>
#include <cassert>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "cand_queue.hpp"
#include "event_queue.hpp"
#include "fabtwin/compute/philox.hpp"
#include "fabtwin/des/simulation.hpp"
#include "rank_keys.hpp"
#include "small_vec.hpp"

namespace fabtwin::des {

inline constexpr std::uint32_t kNone = UINT32_MAX;
inline constexpr std::uint32_t kDone = UINT32_MAX - 1;  // Lot::queue_pos of a lot that left (slot free)
inline constexpr std::size_t kMaxBuiltinRanks = 8;      // longer rank lists rank through RankRule::score

// Random stream kinds (DESIGN decision 2): each draw is philox(seed, kind, entity counter).
// Lots: (source, sequence, step, pass). Tools: (group, index in group, calendar key, occurrence).
enum RngKind : std::uint32_t {
  kRngProc = 1,
  kRngSample,
  kRngRework,
  kRngTransport,
  kRngFail,
  kRngRepair,
  kRngPmDuration,
  kRngRelease,
  kRngFirstFail
};

// Fields by how often the event loop reads them, one cache line per group: a lot's move reads
// the first line at several of its steps, a job start the second; the rest is rare.
struct alignas(64) StepInfo {
  std::uint32_t group = 0;
  std::uint32_t route_end = 0;  // global index one past the route's last step
  std::uint32_t setup = kNone;
  std::uint32_t dedicate_for = kNone;
  std::uint32_t rework_step = kNone;
  std::uint32_t cqt_to = kNone;
  bool setup_always = false;
  bool cascade_per_wafer = false;
  bool ded_target = false;  // an earlier step dedicates a lot's tool for this one (lot-to-lens)
  model::ProcessUnit unit = model::ProcessUnit::PerLot;
  std::uint32_t batch_min = 0;
  double sample_p = 1;      // probability 0..1
  double rework_p = 0;      // probability 0..1
  double expected_ms = 0;   // load + expected processing + unload of a 25-wafer lot
  double remaining_ms = 0;  // sampling-weighted expected_ms from this step to the route's end
  // (second line: a job's start)
  std::int64_t setup_override_ms = -1;  // STIME where given
  double proc_scale = 1;                // ms per unit of `proc`
  double cascade_ms = 0;                // time a unit spends in the first slot (0: not cascading)
  model::Distribution proc;
  // (rare)
  std::uint32_t batch_max = 0;
  std::int64_t cqt_ms = 0;
};

struct GroupInfo {
  std::uint32_t first_tool = 0, ntools = 0, capacity = 1;
  std::int64_t load_ms = 0, unload_ms = 0;
  std::uint32_t location = 0;
  bool delay_location = false;        // no transport to or from it
  bool batching = false;              // some step here batches
  bool min_run = false;               // rule_LSSU with a setup group
  std::uint32_t watch_index = kNone;  // index into Compiled::watch_groups (min-run or batching groups)
  bool tool_dependent = false;        // eligibility differs between tools (setups, dedication)
  bool lot_batch_unit = false;        // BATCHPER lot: batch sizes count lots, not wafers
  model::WakeRule wake = model::WakeRule::LongestIdle;
  std::vector<const RankRule*> ranks;
  // ranks as built-in rules, scored inline where the group does not batch (empty: some rule is
  // another, ranked through RankRule::score)
  std::vector<BuiltinRank> builtin;
  std::uint8_t ranker = 0;  // builtin's ranking loop compiled for its keys (ranker_for), 0: generic
};

// The ranking loop compiled for these keys (dispatch.cpp); 0: the generic one.
std::uint8_t ranker_for(const std::vector<BuiltinRank>& keys);

// Random keys of a tool's calendar: stable when tools are added to other groups or calendars
// are appended (scenario deltas).
struct CalKey {
  std::uint32_t group = 0, index = 0;  // tool group, tool index in it
  std::uint32_t calendar = 0;          // calendar index * 16 + repeated attachments of it to the tool
};
struct DownSpec {
  model::Distribution ttf, ttr, first;
  CalKey key;
};
struct PmSpec {
  bool by_pieces = false;
  double interval = 0;  // ms, or wafers
  double first = 0;     // ms, or wafers (staggered across the group)
  model::Distribution duration;
  CalKey key;
  std::uint32_t calendar = 0;  // index into the model's pm_calendars
};

struct Compiled {
  model::Model model;
  std::vector<std::shared_ptr<const RankRule>> rule_owner;
  std::vector<StepInfo> steps;
  std::vector<GroupInfo> groups;
  std::vector<std::uint32_t> tool_group;
  std::vector<std::uint32_t> min_run;  // [group * nsetups + setup]
  // Groups that need to know which lots can still come: minimum runs (will a lot continue the
  // run?) and batching (can the batch still fill?).
  std::vector<std::uint32_t> watch_groups;
  std::vector<std::uint32_t>
      next_visit;  // [watch * nsteps + step]: the route's next step (>= step) on that group, kNone
  std::vector<std::uint32_t> step_route;   // per step: its route
  std::vector<std::int64_t> setup_matrix;  // [(from + 1) * nsetups + to]; from = -1: no setup yet
  std::uint32_t nsetups = 0;
  std::vector<std::int32_t> transport;  // [from * nloc + to] index into transports, -1 none
  std::uint32_t nlocations = 0;
  std::vector<model::Distribution> transports;
  std::vector<std::uint32_t> tool_down_first, tool_pm_first;  // per tool + 1: ranges into specs
  std::vector<std::uint32_t> tool_piece_first;                // per tool + 1: its range of piece_pms
  std::vector<std::pair<std::uint32_t, std::uint32_t>>
      piece_pms;                // (PM spec, its bit in pm_pending) counting wafers
  std::vector<DownSpec> downs;  // per (tool, calendar)
  std::vector<PmSpec> pms;      // per (tool, calendar)
  std::vector<double> rpt_ms;   // per product
  std::uint32_t nproducts = 0;
  std::unordered_map<std::string, std::uint32_t> tool_by_name;
  std::vector<std::vector<std::uint32_t>> step_of_number;  // [route][STEP number]: global step, kNone
  std::uint64_t fingerprint = 0;  // of the model and the options that shape the tables
};

// A lot in the kernel. Fields the event loop reads on every move come first (one cache line).
struct Lot {
  LotKey key;
  std::uint32_t serial = 0;  // release order: the final tie-break
  std::uint32_t product = 0, step = 0, pass = 0, priority = 10, wafers = 25;
  std::uint32_t prev_location = kNone;
  std::uint32_t queue_pos = kNone;  // index in its group's queue; kNone: not queued; kDone: slot free
  std::uint32_t gen = 0;            // Arrive generation: an event that moves the lot cancels its arrival
  std::uint32_t tool = kNone;       // OnTool
  std::uint32_t next_step = kNone;  // between steps: the step it goes to next when known (MES or hold)
  LotPlace place = LotPlace::InTransport;
  bool held = false;
  bool waiting = false;  // done with a step while held; moves on at its release
  std::int64_t released = 0, due = 0, queued = 0;
  std::int64_t since = 0;  // in its place since
  std::uint32_t steps_done = 0, reworks = 0;
  // Bit (step % 64) set for each step in its LotCold::ded / ::cqt: most moves need not look there.
  std::uint64_t ded_mask = 0, cqt_mask = 0;
  std::uint64_t version = 0;  // journal version of its last change (of the slot: also its departure)
};

// What a lot carries that the event loop rarely reads, beside `lots` (same slot): keeping it out
// of Lot keeps Lot small and trivially copyable (a fork copies lots with one memcpy).
inline std::uint64_t step_bit(std::uint32_t step) { return std::uint64_t{1} << (step & 63); }

struct LotCold {
  std::string name;
  SmallVec<std::pair<std::uint32_t, std::uint32_t>, 12> ded;  // (later step, tool): lot-to-lens dedication
  SmallVec<std::pair<std::uint32_t, std::int64_t>, 4> cqt;    // (step, deadline): critical queue times
};

struct Job {
  Job() noexcept {}  // user-provided: a job start constructs one in place without zeroing it first
  SmallVec<std::uint32_t, 2> lots;  // lot slots; the first leads (its draws set the time)
  std::uint32_t gen = 0;
  std::uint32_t wafers = 0;
  std::uint32_t step = 0;
  std::int64_t start = 0, setup_end = 0, end = 0;
};

static_assert(sizeof(Job) == 64, "a job fills one cache line (ToolRt keeps two inline)");

enum class Avail : std::uint8_t { Up, Down, Pm, Engineering, NonScheduled };

struct alignas(64) ToolRt {
  // By cache line (the record is 64-byte aligned): the state, available list and journal version,
  // which dispatch reads first; the E10 accounting, which every job start and end writes; the state
  // time, the lazy PM counts, pending failures and the jobs' header; one line per job; then what
  // downs and PMs read.
  Avail avail = Avail::Up;
  bool in_avail = false;
  bool avail_reported = false;  // put there by an event (follow: lasts until reported over)
  ToolState acc_state = ToolState::Standby;
  std::uint32_t group = 0;
  std::uint32_t setup = kNone;
  std::uint32_t run_count = 0, run_needed = 0;
  std::uint32_t gen = 0;        // job event generation (a failure re-issues JobDone)
  std::uint32_t entry_gen = 0;  // EntryFree event generation
  // available list (tools that may start a job now), ordered by when they became available
  std::uint32_t prev = kNone, next = kNone;
  std::uint32_t pm_pending = 0;    // bit per PM calendar of this tool
  std::int64_t entry_free_at = 0;  // when the first slot frees (cascading) or processing ends
  std::int64_t idle_since = 0;
  std::uint64_t version = 0;  // journal version of its last change
  // (accounting: every job start and end changes the E10 state)
  std::int64_t acc_since = 0;
  std::array<std::int64_t, kToolStateCount> acc{};  // ms per E10 state since the last reset
  std::int64_t state_since = 0;                     // in acc_state since (not reset at warm-up)
  // Wafers counting PMs (PmRt::wafers_since) count lazily: the wafers started since they last
  // counted, and how many can start before one of them can fall due (count_pieces).
  std::int64_t piece_wafers = 0;
  std::int64_t piece_room = INT64_MAX;
  std::vector<std::pair<std::uint32_t, std::int64_t>> fail_pending;  // (down spec, repair time)
  SmallVec<Job, 2> jobs;           // at most the group's capacity (STNCAP), in start order; a line per job
  std::uint32_t avail_gen = 0;     // RepairDone/PmDone generation
  std::uint32_t down_cal = kNone;  // down spec being repaired
  std::uint32_t pm_cal = kNone;    // PM spec running
  std::int64_t avail_since = 0;    // not up since (job ends move by the time down)
  std::int64_t avail_until = -1;   // expected end of the down or PM (-1: unknown)
  std::int64_t shifted_ms = 0;     // job ends already moved for this down (by its known duration)
};

struct DownRt {
  std::uint32_t count = 0;
};
struct PmRt {
  std::uint32_t count = 0;
  double wafers_since = 0, wafers_due = 0;
  std::int64_t next_due = -1;  // calendar PMs: the pending PmDue's time
};

struct GroupRt {
  CandQueue queue;         // waiting lots in arrival order; Lot::queue_pos indexes it
  std::uint32_t held = 0;  // held lots in the queue (they are not dispatched)
  std::uint32_t avail_head = kNone, avail_tail = kNone;
  std::int64_t queue_area = 0;  // integral of queue length (lot * ms) since reset
  std::int64_t queue_since = 0;
  std::int64_t wait_ms = 0;  // sum of queue waits of started lots since reset
  std::uint64_t lots_started = 0, wafers_started = 0;
  std::uint64_t version = 0;  // journal version of the queue's last change
};

// A member that a copy (a fork) does not carry: the copy starts empty.
template <class T>
struct ForkLocal : T {
  ForkLocal() = default;
  ForkLocal(const ForkLocal&) : T() {}
  ForkLocal(ForkLocal&&) noexcept = default;
  ForkLocal& operator=(const ForkLocal& o) {
    if (this != &o) T::operator=(T());
    return *this;
  }
  ForkLocal& operator=(ForkLocal&&) noexcept = default;
};

// Change journal: a version raised by every change; per entity the version of its last change
// (Lot::version, ToolRt::version, GroupRt::version: beside what changed, one cache line fewer per
// move); optionally a log of (version, entity) so a delta costs O(changes).
struct Journal {
  enum Kind : std::uint8_t { kTool, kGroup, kLot };
  struct Entry {
    std::uint64_t version;
    std::uint32_t index;
    Kind kind;
  };
  std::uint64_t version = 0;
  ForkLocal<std::vector<std::pair<std::uint64_t, std::string>>> left;  // (version, name) of lots that left
  std::uint64_t left_floor = 0;  // `left` is complete for versions after this
  bool logging = false;
  std::size_t capacity = 0;
  ForkLocal<std::vector<Entry>> log;
  std::uint64_t log_floor = 0;  // `log` is complete for versions after this
};

struct Simulation::Impl {
  std::shared_ptr<const Compiled> c;
  Options options;
  Mode mode = Mode::Autonomous;
  std::uint64_t seed = 1;
  std::int64_t now = 0;
  std::uint64_t seq = 0;
  std::uint64_t events = 0;
  EventQueue heap;
  std::vector<Lot> lots;
  std::vector<LotCold> cold;  // per lot slot
  std::vector<std::uint32_t> free_lots;
  std::unordered_map<std::string, std::uint32_t> lot_by_name;  // lots in the fab
  std::uint32_t next_serial = 0;
  std::uint32_t lots_alive = 0;
  std::uint64_t lots_released = 0, lots_scrapped = 0, moves = 0, wafers_completed = 0;
  std::uint32_t lots_held = 0;
  std::uint32_t external_lots = 0;
  SharedLog<std::string> external_names;  // name of the n-th external lot
  std::vector<ToolRt> tools;
  std::vector<GroupRt> groups;
  std::vector<DownRt> downs;
  std::vector<PmRt> pms;
  std::vector<std::uint32_t> order_next;  // per order: the next release number (follow mode keeps counting)
  // Lots on their way to watched groups: way[lot * nwatch + w] = the step of the lot's next visit
  // to watch group w (kNone: none, or being processed there); counted per step and per setup.
  std::vector<std::uint32_t> way;
  std::vector<std::uint32_t> way_step;         // [w * nsteps + step]
  std::vector<std::uint32_t> way_setup;        // [w * nsetups + setup]
  std::vector<std::uint32_t> route_releasing;  // per route: orders with releases still to come
  SharedLog<CompletedLot> completed;
  SharedLog<WipSample> wip_samples;
  std::int64_t stats_since = 0;  // tool statistics restart (warm-up)
  std::uint64_t cqt_violations = 0, cqt_checks = 0;
  EventCounts counts;
  Journal journal;
  std::vector<Observer*> observers;  // not copied into a fork
  // scratch (contents never carried between calls)
  std::vector<Candidate> cand;
  std::vector<double> scores;
  std::vector<std::uint32_t> order;
  std::vector<std::pair<std::int64_t, std::uint32_t>> wake_order;  // (setup needed, tool)
  std::vector<LotRef> refs;
  std::vector<std::uint32_t> batch;
  std::vector<std::uint32_t> done;  // job_done: the lots of the job that ended

  compute::Uniform2 draw(std::uint32_t kind, std::uint32_t a, std::uint32_t b, std::uint32_t c2 = 0,
                         std::uint32_t d = 0) const {
    return compute::uniform2(compute::RandomKey::make(seed, kind), a, b, c2, d);
  }
  compute::Uniform2 draw(std::uint32_t kind, const CalKey& k, std::uint32_t n) const {
    return draw(kind, k.group, k.index, k.calendar, n);
  }
  bool follow() const { return mode == Mode::Follow; }
  LotRef ref(std::uint32_t id) const { return LotRef{lots[id].key, cold[id].name}; }
  const std::string& name_of(std::uint32_t id) const { return cold[id].name; }
  model::SimTime at(std::int64_t ms) const { return model::SimTime{model::Duration{ms}}; }

  [[gnu::always_inline]] void push(std::int64_t t, Ev type, std::uint32_t a, std::uint32_t b = 0) {
    assert(t >= now && "an event scheduled in the past");
    t = std::max(t, now);  // the queue needs it; every caller schedules at now or later
    heap.push(Pending{t, (seq++ << 8) | static_cast<std::uint64_t>(type), a, b});
  }
  void run_until(std::int64_t t);
  void handle(const Pending& e);

  // lots (lots.cpp)
  std::uint32_t new_lot(LotKey key, std::string name);
  void release(std::uint32_t order, std::uint32_t k);
  void schedule_order(std::uint32_t order);                     // its first release at or after time zero
  void start_lot(std::uint32_t lot, std::uint32_t first_step);  // released: sampling, then its first queue
  std::uint32_t model_next(std::uint32_t lot);  // rework draw, then sampling, from its current step
  std::uint32_t route_next(std::uint32_t lot,
                           std::uint32_t from);         // sampling: the step performed next, or its route end
  void move_to(std::uint32_t lot, std::uint32_t next);  // on to step `next` (transport, then queue)
  void enqueue(std::uint32_t lot);
  void join_queue(std::uint32_t lot);  // enqueue's queue part (at Lot::queued; no wake)
  void requeue(std::uint32_t lot);     // back to its step's queue: its job was taken away
  void unqueue(std::uint32_t lot);     // leaves its queue (swap-remove)
  void finish_step(std::uint32_t lot, std::uint32_t tool, std::int64_t start);  // start: the job's track-in
  void complete(std::uint32_t lot);
  void remove_lot(std::uint32_t lot);  // leaves the fab (completed or scrapped): frees the slot
  std::uint32_t dedicated_tool(std::uint32_t lot) const;  // kNone: any tool
  void set_way(std::uint32_t lot, std::uint32_t w, bool processing);
  void set_way_all(std::uint32_t lot);
  void set_place(std::uint32_t lot, LotPlace place);

  // dispatch (dispatch.cpp)
  bool can_start(std::uint32_t t) const;
  void refresh_available(std::uint32_t t);
  void avail_remove(std::uint32_t t);
  void avail_append(std::uint32_t t);
  bool try_start(std::uint32_t t);
  std::uint32_t rank_best(std::uint32_t t, bool hold_run) const;     // best_* by the group's ranker
  std::uint32_t best_builtin(std::uint32_t t, bool hold_run) const;  // the lot to start, kNone: none
  template <BuiltinRank K0, BuiltinRank K1, BuiltinRank K2>
  std::uint32_t best_ranked(std::uint32_t t, bool hold_run) const;  // best_builtin for these keys
  void wake_for(std::uint32_t lot);
  void wake_group(std::uint32_t group);
  void start_job(std::uint32_t t, const std::uint32_t* lots, std::uint32_t n);
  std::int64_t setup_needed(const ToolRt& tool, const StepInfo& s) const;
  std::int64_t proc_ms(const Lot& lead, const StepInfo& s, std::uint32_t wafers, bool expected) const;
  void schedule_job(std::uint32_t t, Job& job);
  void job_done(std::uint32_t t, std::uint32_t gen);
  void end_job(std::uint32_t t, std::size_t j);  // removes job j (its lots already handled)
  void set_setup(std::uint32_t t, std::uint32_t setup);

  // availability (availability.cpp)
  void after_unavailable(std::uint32_t t);
  void fail(std::uint32_t t, std::uint32_t d);
  void start_down(std::uint32_t t, std::uint32_t d, std::int64_t ttr);
  void go_down(std::uint32_t t, Avail a, std::int64_t until);  // suspends jobs; until -1: unknown
  void go_up(std::uint32_t t);                                 // resumes jobs
  void shift_jobs(std::uint32_t t, std::int64_t delta, std::int64_t from);  // job ends move by delta
  void next_failure(std::uint32_t t, std::uint32_t d);  // after a repair: the calendar's next failure
  void repair_done(std::uint32_t t, std::uint32_t gen);
  void pm_due(std::uint32_t t, std::uint32_t p, std::int64_t at);
  void start_pm(std::uint32_t t, std::uint32_t p);
  void pm_reset(std::uint32_t t, std::uint32_t p);  // a PM of this calendar ended: its counter restarts
  // Adds the wafers t started since its wafer-counting PMs last counted to their counters and sets
  // how many more can start before one of them can fall due (ToolRt::piece_room).
  void count_pieces(std::uint32_t t);
  void pm_done(std::uint32_t t, std::uint32_t gen);
  void schedule_pm_due(std::uint32_t t, std::uint32_t p, std::int64_t at);
  void start_calendars(std::uint32_t t);  // its failures and PMs from now (simulation.cpp)

  // accounting and the journal (accounting.cpp)
  // (the small ones are here, inline: the event loop calls them several times per lot move)
  ToolState derived_state(std::uint32_t t) const {
    const ToolRt& tool = tools[t];
    switch (tool.avail) {
      case Avail::Down:
        return ToolState::UnscheduledDown;
      case Avail::Pm:
        return ToolState::ScheduledDown;
      case Avail::Engineering:
        return ToolState::Engineering;
      case Avail::NonScheduled:
        return ToolState::NonScheduled;
      case Avail::Up:
        break;
    }
    if (tool.jobs.empty()) return ToolState::Standby;
    for (const Job& job : tool.jobs)
      if (now < job.setup_end) return ToolState::Setup;
    return ToolState::Productive;
  }
  // Accounts and reports a change of derived_state.
  void sync_state(std::uint32_t t) {
    const ToolState s = derived_state(t);
    if (tools[t].acc_state != s) change_state(t, s);
  }
  void change_state(std::uint32_t t, ToolState s);
  // Integrates the queue length up to now (call before the length changes).
  void queue_changed(std::uint32_t g) {
    GroupRt& gr = groups[g];
    gr.queue_area += static_cast<std::int64_t>(gr.queue.size()) * (now - gr.queue_since);
    gr.queue_since = now;
  }
  void reset_stats();
  void sample_wip();
  void touch_tool(std::uint32_t t) {
    tools[t].version = ++journal.version;
    if (journal.logging) log_change(Journal::kTool, t);
  }
  void touch_group(std::uint32_t g) {
    groups[g].version = ++journal.version;
    if (journal.logging) log_change(Journal::kGroup, g);
  }
  void touch_lot(std::uint32_t id) {
    lots[id].version = ++journal.version;
    if (journal.logging) log_change(Journal::kLot, id);
  }
  void log_change(Journal::Kind kind, std::uint32_t index);

  // views (state_view.cpp)
  ToolView tool_view(std::uint32_t t) const;
  QueueView queue_view(std::uint32_t g) const;
  LotView lot_view(std::uint32_t lot) const;

  // the twin (twin.cpp)
  ApplyResult apply(const des::Event& e);
  std::optional<Refusal> check(const des::Event& e) const;
  void mutate(const des::Event& e);
  void leave_place(std::uint32_t lot);  // off its queue, tool or way (reality moved it)
  std::uint32_t step_number(std::uint32_t lot, std::uint32_t number) const;  // kNone: not on its route
  std::uint32_t pm_spec_named(std::uint32_t tool, std::string_view calendar) const;
  void to_autonomous();
};

// A hash of everything in the model that shapes a simulation (names included).
std::uint64_t model_fingerprint(const model::Model& m);

// Compiles the model and options into the kernel's tables; an Error names an unknown rule.
model::Result<std::shared_ptr<const Compiled>> compile(const model::Model& m, const Options& opt);

}  // namespace fabtwin::des
