#pragma once
// The fab model: an immutable value with dense, strongly typed ids. Built once by a reader
// (SMT2020 text files or the native JSON format) through `Model::build`, which validates every
// reference; afterwards shared read-only (copying a Model copies a shared pointer).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "fabtwin/model/error.hpp"
#include "fabtwin/model/ids.hpp"
#include "fabtwin/model/quantity.hpp"
#include "fabtwin/model/time.hpp"

namespace fabtwin::model {

// ---- resources ------------------------------------------------------------------------------

struct Area {  // STNGRP
  std::string name;
  friend bool operator==(const Area&, const Area&) = default;
};

struct Location {  // STNFAMLOC
  std::string name;
  friend bool operator==(const Location&, const Location&) = default;
};

// Dispatching keys a tool group's rank list is made of, applied in order (FWLRANK).
enum class RankKey : std::uint8_t {
  HighestPriority,     // rank_HP: higher PRIOR first
  LeastSetup,          // rank_RSETUP: shorter required setup first
  Fifo,                // rank_FIFO: earlier arrival at the queue first
  CriticalRatio,       // rank_CR: smaller (due - now) / remaining work first
  EarliestDue,         // rank_EDD: earlier due date first
  ShortestProcessing,  // rank_SPT: shorter expected processing time first
};
std::string_view to_string(RankKey k);  // "rank_HP", ...
std::optional<RankKey> parse_rank_key(std::string_view s);

enum class DispatchRule : std::uint8_t {
  HotLotFirst,       // rule_HotLotFIRST (super-hot reservation is off in SMT2020: HOTLOT = no)
  LeastSetupMinRun,  // rule_LSSU: setups held for the setup group's minimum run
};
std::string_view to_string(DispatchRule r);
std::optional<DispatchRule> parse_dispatch_rule(std::string_view s);

enum class WakeRule : std::uint8_t {
  LongestIdle,     // (empty) the tool idle longest takes the lot
  LeastSetupTime,  // wake_LeastSetupTime: the idle tool needing the least setup
};
std::string_view to_string(WakeRule w);  // "", "wake_LeastSetupTime"

enum class BatchCriterion : std::uint8_t {
  None,
  SameRouteStep,  // crit_sameroutestep: lots of the same route and step batch together
};
enum class BatchCountUnit : std::uint8_t { None, Piece, Lot };  // BATCHPER: what BATCHMN/MX count

struct ToolGroup {  // STNFAM
  std::string name;
  std::string station_name;      // STN (a label; "Delay1" for Delay_32)
  AreaId area;                   // STNGRP
  LocationId location;           // STNFAMLOC
  std::uint32_t tool_count = 1;  // STNQTY
  DispatchRule rule = DispatchRule::HotLotFirst;
  std::vector<RankKey> ranks;                             // FWLRANK, in order
  WakeRule wake = WakeRule::LongestIdle;                  // WAKERESRANK
  BatchCriterion batch_criterion = BatchCriterion::None;  // BATCHCRITF
  BatchCountUnit batch_unit = BatchCountUnit::None;       // BATCHPER
  Quantity load_time{0, Unit::Minute};                    // LTIME, LTUNITS
  Quantity unload_time{0, Unit::Minute};                  // ULTIME, ULTUNITS
  std::uint32_t cascade_capacity = 1;       // STNCAP: lots held at once in serial slots (1 = none)
  std::string action_list;                  // STNFAMSTEP_ACTLIST (AutoSched option; recorded only)
  bool pre_rule_rwl = false;                // PRERULERWL (recorded only)
  std::optional<SetupGroupId> setup_group;  // SETUPGRP
  ToolId first_tool;                        // tools [first_tool, first_tool + tool_count)
  friend bool operator==(const ToolGroup&, const ToolGroup&) = default;
};

struct Tool {
  std::string name;  // "<group>_<k>", k = 1..STNQTY
  ToolGroupId group;
  std::uint32_t index_in_group = 0;  // k - 1
  friend bool operator==(const Tool&, const Tool&) = default;
};

// ---- products, routes, steps ----------------------------------------------------------------

enum class ProcessUnit : std::uint8_t { PerPiece, PerLot, PerBatch };  // PTPER
std::string_view to_string(ProcessUnit u);                             // "per_piece", "per_lot", "per_batch"
std::optional<ProcessUnit> parse_process_unit(std::string_view s);

enum class SetupWhen : std::uint8_t { Need, Always };  // WHEN: "need" = only on a change
std::string_view to_string(SetupWhen w);
std::optional<SetupWhen> parse_setup_when(std::string_view s);

struct Step {
  RouteId route;
  std::uint32_t index = 0;                         // 0-based position in the route
  std::uint32_t number = 0;                        // STEP as written (1-based in SMT2020)
  std::string description;                         // DESC
  ToolGroupId tool_group;                          // STNFAM
  Distribution process_time;                       // PDIST, PTIME, PTIME2, PTUNITS
  ProcessUnit process_unit = ProcessUnit::PerLot;  // PTPER
  std::uint32_t batch_min = 0;   // BATCHMN in the group's batch unit (wafers in SMT2020); 0: no batching
  std::uint32_t batch_max = 0;   // BATCHMX
  std::optional<SetupId> setup;  // SETUP: the setup the tool needs for this step
  SetupWhen setup_when = SetupWhen::Need;
  std::optional<Quantity> setup_time;      // STIME, STUNITS: overrides setup.txt where given
  bool dedicate = false;                   // SVESTN = yes: lot-to-lens dedication
  std::optional<StepId> dedicate_for;      // FORSTEP: that later step must run on this step's tool
  std::optional<Quantity> batch_interval;  // BatchInterval: cascading, per lot in slot 1
  std::optional<Quantity> part_interval;   // PartInterval: cascading, per wafer in slot 1
  std::optional<StepId> rework_step;       // RWKSTEP
  double rework_percent = 0;               // REWORK, %
  std::string rework_type;                 // RWKTYPE ("lot")
  double sample_percent = 100;             // StepPercent, %; empty = 100
  std::optional<StepId> cqt_to;            // STEP_CQT: the later step the queue time runs to
  std::optional<Quantity> cqt;  // CQT, CQTUNITS: allowed time from end of this step to start of cqt_to
  std::string comment;          // IGNORE (the step's area in SMT2020)
  friend bool operator==(const Step&, const Step&) = default;
};

struct Route {
  std::string name;  // ROUTE, e.g. "r_3"
  std::string file;  // ROUTEFILE it came from (SMT2020), informational
  StepId first_step;
  std::uint32_t step_count = 0;
  StepId step(std::uint32_t index) const { return StepId{first_step.value + index}; }
  friend bool operator==(const Route&, const Route&) = default;
};

struct Product {       // part.txt
  std::string name;    // PART
  std::string group;   // PARTGRP
  std::string family;  // PARTFAM
  RouteId route;
  friend bool operator==(const Product&, const Product&) = default;
};

// ---- setups ---------------------------------------------------------------------------------

struct Setup {
  std::string name;
  friend bool operator==(const Setup&, const Setup&) = default;
};

struct SetupTransition {        // setup.txt
  std::optional<SetupId> from;  // CURSETUP; empty: from any setup (including none)
  SetupId to;                   // NEWSETUP
  Quantity time;                // STIME, STUNITS
  std::string comment;          // IGNORE
  friend bool operator==(const SetupTransition&, const SetupTransition&) = default;
};

struct SetupGroupMember {
  SetupId setup;
  std::uint32_t min_run = 0;  // MINRUN: lots to run with this setup before it may change
  std::string comment;        // IGNORE
  friend bool operator==(const SetupGroupMember&, const SetupGroupMember&) = default;
};

struct SetupGroup {  // setupgrp.txt
  std::string name;
  std::vector<SetupGroupMember> members;
  friend bool operator==(const SetupGroup&, const SetupGroup&) = default;
};

// ---- availability ---------------------------------------------------------------------------

struct DownCalendar {  // downcal.txt: unscheduled breakdowns
  std::string name;
  std::string type;              // DOWNCALTYPE ("mttf_by_cal": time to failure counts calendar time)
  Distribution time_to_failure;  // MTTFDIST, MTTF, MTTFUNITS
  Distribution time_to_repair;   // MTTRDIST, MTTR, MTTRUNITS
  std::string comment;
  friend bool operator==(const DownCalendar&, const DownCalendar&) = default;
};

enum class PmTrigger : std::uint8_t { Calendar, Pieces };  // mtbpm_by_cal, mtbpm_by_pieces

struct PmCalendar {  // pmcal.txt
  std::string name;
  PmTrigger trigger = PmTrigger::Calendar;
  Quantity interval;      // MTBPM, MTBPMUNITS (time, start to start; or wafers processed)
  Distribution duration;  // MTTRDIST, MTTR, MTTR2, MTTRUNITS
  std::string comment;
  friend bool operator==(const PmCalendar&, const PmCalendar&) = default;
};

enum class AttachTarget : std::uint8_t { Area, ToolGroup };  // RESTYPE stngrp, stnfam

struct Attachment {            // attach.txt
  bool is_pm = false;          // CALTYPE pm | down
  std::uint32_t calendar = 0;  // index into down_calendars or pm_calendars
  AttachTarget target_kind = AttachTarget::Area;
  std::uint32_t target = 0;       // AreaId or ToolGroupId value
  Distribution first_occurrence;  // FOADIST, FOA, FOAUNITS (unit Piece for counter PMs)
  friend bool operator==(const Attachment&, const Attachment&) = default;
};

struct Transport {  // fromto.txt
  LocationId from, to;
  Distribution time;  // DDIST, DTIME, DTIME2, DUNITS
  friend bool operator==(const Transport&, const Transport&) = default;
};

// ---- demand ---------------------------------------------------------------------------------

struct Order {             // order.txt: periodic releases
  std::string lot_prefix;  // LOT: released lots are named "<prefix>_<n>"
  ProductId product;
  std::uint32_t priority = 10;         // PRIOR: 10 normal, 20 hot, 30 super hot
  std::uint32_t pieces = 25;           // PIECES: wafers per lot
  SimTime start{};                     // START
  Distribution interval;               // RDIST, REPEAT, RUNITS
  std::uint32_t repeat_count = 0;      // RPT#
  std::uint32_t lots_per_release = 1;  // LOTSPERRPT
  SimTime due{};                       // DUE of the first release; lot due = release + (due - start)
  std::string order_name;              // ORDER
  bool hot_lot_flag = false;           // HOTLOT (yes/no; SMT2020 uses PRIOR for hotness)
  friend bool operator==(const Order&, const Order&) = default;
};

struct WipLot {      // WIP.txt
  std::string name;  // LOT
  ProductId product;
  std::uint32_t priority = 10;
  std::uint32_t pieces = 25;
  SimTime start{};      // START (its original release)
  StepId current_step;  // CURSTEP: the lot waits in this step's queue at t = 0
  SimTime due{};
  std::string order_name;
  bool hot_lot_flag = false;
  std::string trace;
  friend bool operator==(const WipLot&, const WipLot&) = default;
};

// ---- the whole ------------------------------------------------------------------------------

// Plain tables; ids are indices. Filled by readers, validated by Model::build.
struct ModelData {
  std::string name;                        // e.g. "SMT2020_HVLM"
  std::string source;                      // where it came from (free text)
  std::int64_t epoch_unix_s = 1514764800;  // wall-clock time of SimTime zero (2018-01-01 UTC)
  std::vector<Area> areas;
  std::vector<Location> locations;
  std::vector<ToolGroup> tool_groups;
  std::vector<Tool> tools;
  std::vector<Setup> setups;
  std::vector<SetupTransition> setup_transitions;
  std::vector<SetupGroup> setup_groups;
  std::vector<Route> routes;
  std::vector<Step> steps;
  std::vector<Product> products;
  std::vector<DownCalendar> down_calendars;
  std::vector<PmCalendar> pm_calendars;
  std::vector<Attachment> attachments;
  std::vector<Transport> transports;
  std::vector<Order> orders;
  std::vector<WipLot> wip;
  friend bool operator==(const ModelData&, const ModelData&) = default;
};

class Model {
 public:
  // Validates references, counts and values; the error names the table, row and field.
  static Result<Model> build(ModelData data);

  const ModelData& data() const { return *data_; }
  const std::string& name() const { return data_->name; }

  std::span<const Area> areas() const { return data_->areas; }
  std::span<const Location> locations() const { return data_->locations; }
  std::span<const ToolGroup> tool_groups() const { return data_->tool_groups; }
  std::span<const Tool> tools() const { return data_->tools; }
  std::span<const Setup> setups() const { return data_->setups; }
  std::span<const SetupTransition> setup_transitions() const { return data_->setup_transitions; }
  std::span<const SetupGroup> setup_groups() const { return data_->setup_groups; }
  std::span<const Route> routes() const { return data_->routes; }
  std::span<const Step> steps() const { return data_->steps; }
  std::span<const Product> products() const { return data_->products; }
  std::span<const DownCalendar> down_calendars() const { return data_->down_calendars; }
  std::span<const PmCalendar> pm_calendars() const { return data_->pm_calendars; }
  std::span<const Attachment> attachments() const { return data_->attachments; }
  std::span<const Transport> transports() const { return data_->transports; }
  std::span<const Order> orders() const { return data_->orders; }
  std::span<const WipLot> wip() const { return data_->wip; }

  const ToolGroup& tool_group(ToolGroupId id) const { return data_->tool_groups[id.index()]; }
  const Tool& tool(ToolId id) const { return data_->tools[id.index()]; }
  const Step& step(StepId id) const { return data_->steps[id.index()]; }
  const Route& route(RouteId id) const { return data_->routes[id.index()]; }
  const Product& product(ProductId id) const { return data_->products[id.index()]; }
  const Route& route_of(ProductId id) const { return route(product(id).route); }
  std::span<const Step> route_steps(RouteId id) const;

  std::optional<ToolGroupId> find_tool_group(std::string_view name) const;
  std::optional<ProductId> find_product(std::string_view name) const;
  std::optional<SetupId> find_setup(std::string_view name) const;
  std::optional<AreaId> find_area(std::string_view name) const;

  // Setup time (ms) to go from `from` (none: a tool with no setup yet) to `to`: the step's STIME
  // if given, else the matching setup.txt row (exact CURSETUP first, then the "any" row), else 0.
  Duration setup_time(std::optional<SetupId> from, SetupId to, const Step& step) const;
  // Minimum run of a setup in the tool group's setup group (0 when none).
  std::uint32_t min_run(ToolGroupId group, SetupId setup) const;

  friend bool operator==(const Model& a, const Model& b) { return *a.data_ == *b.data_; }

 private:
  struct Index;
  std::shared_ptr<const ModelData> data_;
  std::shared_ptr<const Index> index_;
};

}  // namespace fabtwin::model
