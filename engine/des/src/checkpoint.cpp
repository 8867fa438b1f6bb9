// Checkpoints: the whole simulation state as bytes, and back (docs/api.md "Checkpoints").
//
// Format (little-endian, version 1):
//   magic "FTWCKPT\0" | u32 format version | u64 model fingerprint
//   options: u64 seed, str rule, u32 n + n x (str group, str rule), i64 warmup ms, i64 WIP sample ms,
//            u8 count_initial_wip
//   state: every field of the kernel state, in the order written below
//   u64 FNV-1a of every byte before it
// Strings are u32 length + bytes; vectors are u32 count + elements. The static tables are not
// stored: they are compiled again from the model, whose fingerprint must match.
#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "kernel.hpp"

namespace fabtwin::des {

using namespace fabtwin::model;

namespace {

constexpr char kMagic[8] = {'F', 'T', 'W', 'C', 'K', 'P', 'T', '\0'};
constexpr std::uint32_t kFormat = 1;

std::uint64_t fnv(std::string_view b) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char ch : b) h = (h ^ ch) * 0x100000001b3ull;
  return h;
}

class Writer {
 public:
  template <class T>
  requires std::is_arithmetic_v<T> || std::is_enum_v<T>
  void put(T v) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    out_.append(b, sizeof(T));
  }
  void put(const std::string& s) {
    put(static_cast<std::uint32_t>(s.size()));
    out_.append(s);
  }
  template <class Tag>
  void put(Id<Tag> id) {
    put(id.value);
  }
  template <class V, class F>
  void list(const V& v, F&& f) {
    put(static_cast<std::uint32_t>(v.size()));
    for (const auto& x : v) f(x);
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  void list(const std::vector<T>& v) {
    put(static_cast<std::uint32_t>(v.size()));
    if (!v.empty()) out_.append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
  }
  std::string& bytes() { return out_; }

 private:
  std::string out_;
};

struct Truncated {};

class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  template <class T>
  requires std::is_arithmetic_v<T> || std::is_enum_v<T> T get() {
    if (b_.size() - pos_ < sizeof(T)) throw Truncated{};
    T v;
    std::memcpy(&v, b_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }
  template <class T>
  void get(T& v) {
    v = get<T>();
  }
  void get(std::string& s) {
    const auto n = get<std::uint32_t>();
    if (b_.size() - pos_ < n) throw Truncated{};
    s.assign(b_.data() + pos_, n);
    pos_ += n;
  }
  template <class Tag>
  void get(Id<Tag>& id) {
    id.value = get<std::uint32_t>();
  }
  std::uint32_t count(std::size_t min_bytes_each = 1) {
    const auto n = get<std::uint32_t>();
    if (static_cast<std::uint64_t>(n) * min_bytes_each > b_.size() - pos_) throw Truncated{};
    return n;
  }
  template <class V, class F>
  void list(V& v, F&& f) {
    v.resize(count());
    for (auto& x : v) f(x);
  }
  template <class T>
  requires std::is_arithmetic_v<T>
  void list(std::vector<T>& v) {
    v.resize(count(sizeof(T)));
    if (!v.empty()) std::memcpy(v.data(), b_.data() + pos_, v.size() * sizeof(T));
    pos_ += v.size() * sizeof(T);
  }
  std::size_t pos() const { return pos_; }

 private:
  std::string_view b_;
  std::size_t pos_ = 0;
};

// One function per record serves both directions: `io` is a Writer (put) or a Reader (get).
template <class IO, class T>
void field(IO& io, T& v) {
  if constexpr (std::is_same_v<IO, Writer>)
    io.put(v);
  else
    io.get(v);
}

// SimTime fields go through their millisecond count.
template <class IO>
void field(IO& io, SimTime& t) {
  std::int64_t ms = t.time_since_epoch().count();
  field(io, ms);
  t = SimTime{Duration{ms}};
}

template <class IO>
void candidate(IO& io, Candidate& e) {
  field(io, e.lot), field(io, e.serial), field(io, e.priority), field(io, e.wafers), field(io, e.arrival_ms);
  field(io, e.due_ms), field(io, e.setup_ms), field(io, e.remaining_work_ms), field(io, e.process_ms);
  field(io, e.step), field(io, e.setup), field(io, e.dedicated);
}

template <class IO, class V, class F>
void vec(IO& io, V& v, F&& f) {
  using T = typename V::value_type;
  if constexpr (std::is_same_v<IO, Writer>)
    io.list(v, [&](const T& x) { f(const_cast<T&>(x)); });
  else
    io.list(v, f);
}

template <class IO, class V>
void pairs(IO& io, V& v) {
  vec(io, v, [&](typename V::value_type& p) { field(io, p.first), field(io, p.second); });
}

template <class IO>
void lot(IO& io, Lot& l, LotCold& cold) {
  field(io, l.key.source), field(io, l.key.sequence), field(io, cold.name), field(io, l.serial),
      field(io, l.product);
  field(io, l.step), field(io, l.pass), field(io, l.priority), field(io, l.wafers),
      field(io, l.prev_location);
  field(io, l.queue_pos), field(io, l.steps_done), field(io, l.reworks), field(io, l.released),
      field(io, l.due);
  field(io, l.queued), field(io, l.place), field(io, l.tool), field(io, l.next_step), field(io, l.since);
  field(io, l.gen), field(io, l.held), field(io, l.waiting);
  pairs(io, cold.ded);
  pairs(io, cold.cqt);
  l.ded_mask = l.cqt_mask = 0;
  for (const auto& p : cold.ded) l.ded_mask |= step_bit(p.first);
  for (const auto& p : cold.cqt) l.cqt_mask |= step_bit(p.first);
}

template <class IO>
void tool(IO& io, ToolRt& t) {
  vec(io, t.jobs, [&](Job& j) {
    vec(io, j.lots, [&](std::uint32_t& x) { field(io, x); });
    field(io, j.gen), field(io, j.wafers), field(io, j.step), field(io, j.start), field(io, j.setup_end),
        field(io, j.end);
  });
  field(io, t.avail), field(io, t.avail_reported), field(io, t.avail_gen), field(io, t.avail_since),
      field(io, t.avail_until);
  field(io, t.shifted_ms), field(io, t.group), field(io, t.setup), field(io, t.run_count),
      field(io, t.run_needed);
  field(io, t.entry_free_at), field(io, t.gen), field(io, t.entry_gen), field(io, t.prev), field(io, t.next);
  field(io, t.in_avail), field(io, t.idle_since), field(io, t.pm_pending);
  pairs(io, t.fail_pending);
  field(io, t.down_cal), field(io, t.pm_cal), field(io, t.acc_state), field(io, t.acc_since),
      field(io, t.state_since);
  for (auto& a : t.acc) field(io, a);
}

template <class IO>
void group(IO& io, GroupRt& g) {
  // In arrival order; a restore sorts what it reads (checkpoints of builds with unordered queues)
  // and Simulation::restore_impl sets each queued lot's queue_pos.
  if constexpr (std::is_same_v<IO, Writer>) {
    io.list(g.queue, [&](const Candidate& e) { candidate(io, const_cast<Candidate&>(e)); });
  } else {
    std::vector<Candidate> q;
    vec(io, q, [&](Candidate& e) { candidate(io, e); });
    g.queue.assign(std::move(q), [](std::uint32_t, std::uint32_t) {});
  }
  field(io, g.held), field(io, g.avail_head), field(io, g.avail_tail), field(io, g.queue_area),
      field(io, g.queue_since);
  field(io, g.wait_ms), field(io, g.lots_started), field(io, g.wafers_started);
}

template <class IO>
void completed_lot(IO& io, CompletedLot& c) {
  field(io, c.key.source), field(io, c.key.sequence), field(io, c.product), field(io, c.priority),
      field(io, c.wafers);
  field(io, c.steps_performed), field(io, c.reworks), field(io, c.released), field(io, c.completed),
      field(io, c.due);
}

// The options block of the header (after the format version and the model fingerprint).
Options read_options(Reader& r) {
  Options saved;
  r.get(saved.seed);
  r.get(saved.rule);
  r.list(saved.group_rules, [&](auto& p) { r.get(p.first), r.get(p.second); });
  saved.warmup = Duration{r.get<std::int64_t>()};
  saved.wip_sample_interval = Duration{r.get<std::int64_t>()};
  saved.count_initial_wip = r.get<std::uint8_t>() != 0;
  return saved;
}

struct Corrupt {
  const char* what;
};

// Where a checkpoint's tools and calendar specs land in a model's tables.
inline constexpr std::uint32_t kGone = UINT32_MAX - 2;  // a saved tool (or its spec) the model dropped
struct ToolMap {
  std::vector<std::uint32_t> tool, down, pm;  // saved index -> the model's (kGone: dropped)
  std::vector<bool> saved;                    // per model tool: it has a saved state
  std::string error;                          // why the tables do not fit ("": they do)
};

// A tool group's k-th saved tool is its k-th tool in the model (a tool_count delta appends tools
// to a group, or drops its last ones: those map to kGone); its failure and PM specs follow it in
// order (every tool of a group has the group's calendars).
ToolMap map_tools(const Compiled& c, const std::vector<ToolRt>& saved, std::size_t ndowns, std::size_t npms) {
  ToolMap m;
  m.saved.assign(c.tool_group.size(), false);
  std::vector<std::uint32_t> seen(c.groups.size(), 0);
  for (const ToolRt& t : saved) {
    if (t.group >= c.groups.size()) {
      m.error = "the state's tables do not fit the model";
      return m;
    }
    const GroupInfo& g = c.groups[t.group];
    const std::uint32_t k = seen[t.group]++;
    const bool gone = k >= g.ntools;
    const std::uint32_t id = gone ? g.first_tool : g.first_tool + k;  // a dropped one: specs as the first's
    m.tool.push_back(gone ? kGone : id);
    if (!gone) m.saved[id] = true;
    for (std::uint32_t d = c.tool_down_first[id]; d < c.tool_down_first[id + 1]; ++d)
      m.down.push_back(gone ? kGone : d);
    for (std::uint32_t p = c.tool_pm_first[id]; p < c.tool_pm_first[id + 1]; ++p)
      m.pm.push_back(gone ? kGone : p);
  }
  if (m.down.size() != ndowns || m.pm.size() != npms) m.error = "the state's tables do not fit the model";
  return m;
}

}  // namespace

std::string Simulation::save() const {
  const Impl& s = *impl_;
  Writer w;
  w.bytes().append(kMagic, sizeof kMagic);
  w.put(kFormat);
  w.put(s.c->fingerprint);
  w.put(s.options.seed);
  w.put(s.options.rule);
  w.list(s.options.group_rules, [&](const auto& p) { w.put(p.first), w.put(p.second); });
  w.put(static_cast<std::int64_t>(s.options.warmup.count()));
  w.put(static_cast<std::int64_t>(s.options.wip_sample_interval.count()));
  w.put(static_cast<std::uint8_t>(s.options.count_initial_wip));
  Impl& m = const_cast<Impl&>(s);  // the record functions serve both directions; a Writer only reads
  w.put(m.mode), w.put(m.seed), w.put(m.now), w.put(m.seq), w.put(m.events);
  std::vector<Pending> pending;
  m.heap.for_each([&](const Pending& e) { pending.push_back(e); });
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.before(b); });  // canonical bytes
  w.list(pending, [&](const Pending& e) { w.put(e.t), w.put(e.key), w.put(e.a), w.put(e.b); });
  w.put(static_cast<std::uint32_t>(m.lots.size()));
  for (std::size_t i = 0; i < m.lots.size(); ++i) {
    Lot l = m.lots[i];  // a queued lot's position counts from its queue's first entry (canonical bytes)
    if (l.queue_pos != kNone && l.queue_pos != kDone)
      l.queue_pos -= m.groups[m.c->steps[l.step].group].queue.head();
    lot(w, l, m.cold[i]);
  }
  w.list(m.free_lots);
  w.put(m.next_serial), w.put(m.lots_alive), w.put(m.lots_released), w.put(m.lots_scrapped), w.put(m.moves);
  w.put(m.wafers_completed), w.put(m.lots_held), w.put(m.external_lots);
  w.put(static_cast<std::uint32_t>(m.external_names.size()));
  for (const std::string& n : m.external_names) w.put(n);
  vec(w, m.tools, [&](ToolRt& t) { tool(w, t); });
  vec(w, m.groups, [&](GroupRt& g) { group(w, g); });
  vec(w, m.downs, [&](DownRt& d) { w.put(d.count); });
  // Wafer-counting PMs count lazily: their counters with the wafers started since (count_pieces).
  std::vector<double> started(m.pms.size(), 0.0);
  for (std::uint32_t t = 0; t < m.tools.size(); ++t)
    for (std::uint32_t k = m.c->tool_piece_first[t]; k < m.c->tool_piece_first[t + 1]; ++k)
      started[m.c->piece_pms[k].first] = static_cast<double>(m.tools[t].piece_wafers);
  std::size_t pm_index = 0;
  vec(w, m.pms, [&](PmRt& p) {
    w.put(p.count), w.put(p.wafers_since + started[pm_index++]), w.put(p.wafers_due), w.put(p.next_due);
  });
  w.list(m.order_next), w.list(m.way), w.list(m.way_step), w.list(m.way_setup), w.list(m.route_releasing);
  w.put(static_cast<std::uint32_t>(m.completed.size()));
  for (const CompletedLot& c : m.completed) completed_lot(w, const_cast<CompletedLot&>(c));
  w.put(static_cast<std::uint32_t>(m.wip_samples.size()));
  for (const WipSample& x : m.wip_samples) {
    WipSample y = x;
    field(w, y.at);
    w.put(y.lots);
    w.list(y.per_product);
  }
  w.put(m.stats_since), w.put(m.cqt_violations), w.put(m.cqt_checks);
  w.put(m.counts.applied), w.put(m.counts.late), w.put(m.counts.duplicate), w.put(m.counts.refused);
  for (const auto n : m.counts.refused_by_reason) w.put(n);
  w.put(m.journal.version);
  // Per-entity versions, as three lists (tools, groups, lot slots).
  w.put(static_cast<std::uint32_t>(m.tools.size()));
  for (const ToolRt& t : m.tools) w.put(t.version);
  w.put(static_cast<std::uint32_t>(m.groups.size()));
  for (const GroupRt& g : m.groups) w.put(g.version);
  w.put(static_cast<std::uint32_t>(m.lots.size()));
  for (const Lot& l : m.lots) w.put(l.version);
  w.list(m.journal.left, [&](const auto& p) { w.put(p.first), w.put(p.second); });
  w.put(m.journal.left_floor);
  w.put(fnv(w.bytes()));
  return std::move(w.bytes());
}

Result<Options> Simulation::checkpoint_options(std::string_view bytes) {
  if (bytes.size() < sizeof kMagic + 4 + 8 + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return Error{"checkpoint", 0, "", "not a fabtwin checkpoint"};
  Reader r(bytes.substr(sizeof kMagic, bytes.size() - sizeof kMagic - 8));
  try {
    const auto format = r.get<std::uint32_t>();
    if (format != kFormat)
      return Error{
          "checkpoint", 0, "",
          "format version " + std::to_string(format) + "; this build reads " + std::to_string(kFormat)};
    r.get<std::uint64_t>();
    Options saved = read_options(r);
    return saved;
  } catch (const Truncated&) {
    return Error{"checkpoint", 0, "", "truncated"};
  }
}

Result<Simulation> Simulation::restore(const Model& model, Options options, std::string_view bytes) {
  return restore_impl(model, std::move(options), bytes, false);
}

Result<Simulation> Simulation::restore_changed(const Model& model, Options options, std::string_view bytes) {
  return restore_impl(model, std::move(options), bytes, true);
}

Result<Simulation> Simulation::restore_impl(const Model& model, Options options, std::string_view bytes,
                                            bool changed) {
  auto bad = [](std::string msg) { return Error{"checkpoint", 0, "", std::move(msg)}; };
  if (bytes.size() < sizeof kMagic + 4 + 8 + 8 || std::memcmp(bytes.data(), kMagic, sizeof kMagic) != 0)
    return bad("not a fabtwin checkpoint");
  const std::uint64_t sum = [&] {
    std::uint64_t v;
    std::memcpy(&v, bytes.data() + bytes.size() - 8, 8);
    return v;
  }();
  if (fnv(bytes.substr(0, bytes.size() - 8)) != sum)
    return bad("checksum mismatch: the file is damaged or truncated");
  Reader r(bytes.substr(sizeof kMagic, bytes.size() - sizeof kMagic - 8));
  try {
    const auto format = r.get<std::uint32_t>();
    if (format != kFormat)
      return bad("format version " + std::to_string(format) + "; this build reads " +
                 std::to_string(kFormat));
    const auto fingerprint = r.get<std::uint64_t>();
    Options saved = read_options(r);
    // Name what differs: the model, then each option.
    auto created = Simulation::create(model, options);
    if (!created.ok()) return created.error();
    Impl& s = *created.value().impl_;
    if (changed) {
      // Another model and other options are the point; only the WIP sampling chain already
      // scheduled must keep its interval.
      if (saved.wip_sample_interval != options.wip_sample_interval)
        return Error{"checkpoint", 0, "wip_sample_interval",
                     "saved with " + std::to_string(saved.wip_sample_interval.count()) +
                         " ms, restored with " + std::to_string(options.wip_sample_interval.count()) + " ms"};
    } else if (fingerprint != s.c->fingerprint)
      return Error{
          "checkpoint", 0, "model",
          "the checkpoint was saved with another model (or another version of '" + model.name() + "')"};
    auto differs = [&](const char* name, const std::string& a, const std::string& b) {
      return Error{"checkpoint", 0, name,
                   std::string("saved with ") + name + " " + a + ", restored with " + b};
    };
    if (!changed) {
      if (saved.seed != options.seed)
        return differs("seed", std::to_string(saved.seed), std::to_string(options.seed));
      if (saved.rule != options.rule)
        return differs("rule", "'" + saved.rule + "'", "'" + options.rule + "'");
      if (saved.group_rules != options.group_rules)
        return differs("group_rules", "other per-group rules", "these");
      if (saved.warmup != options.warmup)
        return differs("warmup", std::to_string(saved.warmup.count()) + " ms",
                       std::to_string(options.warmup.count()) + " ms");
      if (saved.wip_sample_interval != options.wip_sample_interval)
        return differs("wip_sample_interval", std::to_string(saved.wip_sample_interval.count()) + " ms",
                       std::to_string(options.wip_sample_interval.count()) + " ms");
      if (saved.count_initial_wip != options.count_initial_wip)
        return differs("count_initial_wip", saved.count_initial_wip ? "on" : "off",
                       options.count_initial_wip ? "on" : "off");
    }

    r.get(s.mode), r.get(s.seed), r.get(s.now), r.get(s.seq), r.get(s.events);
    if (changed) s.seed = options.seed;  // draws from now on use the new seed (as fork(seed))
    std::vector<Pending> pending;
    r.list(pending, [&](Pending& e) { r.get(e.t), r.get(e.key), r.get(e.a), r.get(e.b); });
    std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) { return a.before(b); });
    // A changed restore moves the warm-up: the saved run's pending warm-up end is dropped and the
    // new one (if not behind) scheduled after the saved events.
    if (changed) std::erase_if(pending, [](const Pending& e) { return e.type() == Ev::Warmup; });
    s.lots.resize(r.count());
    s.cold.assign(s.lots.size(), LotCold{});
    for (std::size_t i = 0; i < s.lots.size(); ++i) lot(r, s.lots[i], s.cold[i]);
    r.list(s.free_lots);
    r.get(s.next_serial), r.get(s.lots_alive), r.get(s.lots_released), r.get(s.lots_scrapped), r.get(s.moves);
    r.get(s.wafers_completed), r.get(s.lots_held), r.get(s.external_lots);
    s.external_names = {};
    for (std::uint32_t n = r.count(4), i = 0; i < n; ++i) {
      std::string name;
      r.get(name);
      s.external_names.push_back(std::move(name));
    }
    const std::size_t ngroups = s.groups.size();
    std::vector<ToolRt> saved_tools;
    std::vector<DownRt> saved_downs;
    std::vector<PmRt> saved_pms;
    r.list(saved_tools, [&](ToolRt& t) { tool(r, t); });
    r.list(s.groups, [&](GroupRt& g) { group(r, g); });
    r.list(saved_downs, [&](DownRt& d) { r.get(d.count); });
    r.list(saved_pms,
           [&](PmRt& p) { r.get(p.count), r.get(p.wafers_since), r.get(p.wafers_due), r.get(p.next_due); });
    r.list(s.order_next), r.list(s.way), r.list(s.way_step), r.list(s.way_setup), r.list(s.route_releasing);
    s.completed = {};
    for (std::uint32_t n = r.count(8), i = 0; i < n; ++i) {
      CompletedLot c;
      completed_lot(r, c);
      s.completed.push_back(c);
    }
    s.wip_samples = {};
    for (std::uint32_t n = r.count(8), i = 0; i < n; ++i) {
      WipSample x;
      field(r, x.at);
      r.get(x.lots);
      r.list(x.per_product);
      s.wip_samples.push_back(std::move(x));
    }
    r.get(s.stats_since), r.get(s.cqt_violations), r.get(s.cqt_checks);
    r.get(s.counts.applied), r.get(s.counts.late), r.get(s.counts.duplicate), r.get(s.counts.refused);
    for (auto& n : s.counts.refused_by_reason) r.get(n);
    r.get(s.journal.version);
    std::vector<std::uint64_t> tool_v, group_v, lot_v;
    r.list(tool_v), r.list(group_v), r.list(lot_v);
    if (tool_v.size() != saved_tools.size() || group_v.size() != s.groups.size() ||
        lot_v.size() != s.lots.size())
      return bad("the journal's versions do not fit the state's tables");
    for (std::size_t i = 0; i < group_v.size(); ++i) s.groups[i].version = group_v[i];
    for (std::size_t i = 0; i < lot_v.size(); ++i) s.lots[i].version = lot_v[i];
    r.list(s.journal.left, [&](auto& p) { r.get(p.first), r.get(p.second); });
    r.get(s.journal.left_floor);
    s.journal.log_floor = s.journal.version;
    // Sizes must agree with the model the tables were compiled from (tools: after the tool map).
    if (s.groups.size() != ngroups || s.way.size() != s.lots.size() * s.c->watch_groups.size() ||
        s.way_step.size() != s.c->watch_groups.size() * s.c->steps.size() ||
        s.way_setup.size() != s.c->watch_groups.size() * s.c->nsetups ||
        s.order_next.size() != model.data().orders.size() ||
        s.route_releasing.size() != model.data().routes.size())
      return bad("the state's tables do not fit the model");
    // The saved tools in the model's tools: a group's k-th saved tool is its k-th tool (a what-if
    // may have added or dropped tools: the ids of later groups' tools move); the new tools start
    // idle below.
    const ToolMap map = map_tools(*s.c, saved_tools, saved_downs.size(), saved_pms.size());
    if (!map.error.empty()) return bad(map.error);
    if (!changed && s.tools.size() != saved_tools.size())  // (the same model: never; a damaged file)
      return bad("the state's tables do not fit the model");
    auto to_tool = [&](std::uint32_t& t) {
      if (t == kNone) return;
      if (t >= map.tool.size()) throw Corrupt{"a tool index is out of range"};
      t = map.tool[t];
    };
    auto to_down = [&](std::uint32_t& d) {
      if (d == kNone) return;
      if (d >= map.down.size()) throw Corrupt{"a failure calendar index is out of range"};
      d = map.down[d];
    };
    auto to_pm = [&](std::uint32_t& p) {
      if (p == kNone) return;
      if (p >= map.pm.size()) throw Corrupt{"a PM calendar index is out of range"};
      p = map.pm[p];
    };
    // Each group's available list, in its saved order, as the model's tools (dropped ones left out).
    std::vector<std::vector<std::uint32_t>> avail(s.groups.size());
    for (std::size_t g = 0; g < s.groups.size(); ++g)
      for (std::uint32_t t = s.groups[g].avail_head, n = 0; t != kNone; t = saved_tools[t].next) {
        if (t >= saved_tools.size() || ++n > saved_tools.size()) throw Corrupt{"an available list is broken"};
        if (map.tool[t] != kGone) avail[g].push_back(map.tool[t]);
      }
    std::vector<std::uint32_t> requeued;  // lots in jobs of dropped tools, back to their queues below
    for (std::size_t i = 0; i < saved_tools.size(); ++i) {
      ToolRt& st = saved_tools[i];
      if (map.tool[i] == kGone) {
        for (const Job& job : st.jobs)
          for (const std::uint32_t id : job.lots) {
            if (id >= s.lots.size()) throw Corrupt{"a job's lot is out of range"};
            requeued.push_back(id);
          }
        continue;
      }
      to_down(st.down_cal), to_pm(st.pm_cal);
      for (auto& f : st.fail_pending) to_down(f.first);
      ToolRt& t = s.tools[map.tool[i]];
      st.version = tool_v[i];
      t = std::move(st);
      t.jobs.reserve(s.c->groups[t.group].capacity);
    }
    for (std::size_t g = 0; g < s.groups.size(); ++g) {
      GroupRt& gr = s.groups[g];
      const std::vector<std::uint32_t>& list = avail[g];
      gr.avail_head = list.empty() ? kNone : list.front();
      gr.avail_tail = list.empty() ? kNone : list.back();
      for (std::size_t k = 0; k < list.size(); ++k) {
        s.tools[list[k]].prev = k > 0 ? list[k - 1] : kNone;
        s.tools[list[k]].next = k + 1 < list.size() ? list[k + 1] : kNone;
      }
      for (std::uint32_t pos = gr.queue.head(); pos < gr.queue.head() + gr.queue.size(); ++pos)
        if (Candidate& e = gr.queue.at(pos); e.dedicated.valid()) {
          to_tool(e.dedicated.value);
          if (e.dedicated.value == kGone) e.dedicated = ToolId{};  // its tool left: any tool
        }
    }
    for (std::size_t d = 0; d < saved_downs.size(); ++d)
      if (map.down[d] != kGone) s.downs[map.down[d]] = saved_downs[d];
    for (std::size_t p = 0; p < saved_pms.size(); ++p)
      if (map.pm[p] != kGone) s.pms[map.pm[p]] = saved_pms[p];
    for (std::size_t id = 0; id < s.lots.size(); ++id) {
      to_tool(s.lots[id].tool);
      auto& ded = s.cold[id].ded;
      for (auto& [step, t] : ded) to_tool(t);
      bool dropped = false;
      for (std::size_t k = 0; k < ded.size();) {
        if (ded[k].second == kGone) {
          ded.erase(ded.begin() + k);
          dropped = true;
        } else {
          ++k;
        }
      }
      if (dropped) {
        s.lots[id].ded_mask = 0;  // a dedication to a tool that left is dropped: any tool then
        for (const auto& [step, t] : ded) s.lots[id].ded_mask |= step_bit(step);
      }
    }
    for (Pending& e : pending) {
      switch (e.type()) {
        case Ev::Fail:
          to_down(e.b);
          to_tool(e.a);
          break;
        case Ev::PmDue:
          to_pm(e.b);
          to_tool(e.a);
          break;
        case Ev::JobDone:
        case Ev::EntryFree:
        case Ev::RepairDone:
        case Ev::PmDone:
        case Ev::SetupEnd:
          to_tool(e.a);
          break;
        case Ev::Release:
        case Ev::Arrive:
        case Ev::WipSample:
        case Ev::Warmup:
          break;
      }
    }
    std::erase_if(pending, [](const Pending& e) { return e.type() != Ev::Arrive && e.a == kGone; });
    s.heap.reset(s.now);
    for (const Pending& e : pending) {
      if (e.t < s.now) return bad("a pending event lies before the checkpoint's time");
      s.heap.push(e);
    }
    // (At the checkpoint's time itself: statistics restart there, unless the saved run's warm-up
    // ended at that very time already.)
    if (changed && options.warmup.count() >= s.now && options.warmup != saved.warmup)
      s.push(options.warmup.count(), Ev::Warmup, 0);
    for (std::uint32_t g = 0; g < s.groups.size(); ++g) {
      const CandQueue& q = s.groups[g].queue;
      for (std::uint32_t pos = q.head(); pos < q.head() + q.size(); ++pos) {
        const std::uint32_t id = q.at(pos).lot;
        if (id >= s.lots.size() || s.lots[id].queue_pos == kNone || s.lots[id].queue_pos == kDone ||
            s.lots[id].step >= s.c->steps.size() || s.c->steps[s.lots[id].step].group != g)
          return bad("a queued lot does not wait in that queue");
        s.lots[id].queue_pos = pos;
      }
    }
    // Lots whose tool left wait at their step again (by their arrival there); every tool of their
    // group looks at its queue at once (an entry-free event, as for an added tool).
    std::vector<bool> woken(s.groups.size(), false);
    for (const std::uint32_t id : requeued) {
      if (s.lots[id].tool == kNone || s.lots[id].queue_pos != kNone || s.lots[id].step >= s.c->steps.size())
        throw Corrupt{"a lot on a tool is not on it"};
      s.requeue(id);
      woken[s.c->steps[s.lots[id].step].group] = true;
    }
    for (std::uint32_t g = 0; g < s.groups.size(); ++g)
      if (woken[g])
        for (std::uint32_t t = s.c->groups[g].first_tool;
             t < s.c->groups[g].first_tool + s.c->groups[g].ntools; ++t)
          if (map.saved[t]) s.push(s.now, Ev::EntryFree, t, s.tools[t].entry_gen);
    s.lot_by_name.clear();
    for (std::uint32_t id = 0; id < s.lots.size(); ++id)
      if (s.lots[id].queue_pos != kDone) s.lot_by_name[s.cold[id].name] = id;
    // Tools the model adds: up and idle from now, their calendars starting now; each looks at its
    // queue at once (an entry-free event: counted and ordered like any other event).
    for (std::uint32_t t = 0; t < s.tools.size(); ++t) {
      if (map.saved[t]) continue;
      ToolRt& tool = s.tools[t];
      tool.in_avail = false;
      tool.prev = tool.next = kNone;
      tool.idle_since = tool.acc_since = tool.state_since = tool.avail_since = s.now;
      // E10: the time before it existed (since the statistics started) is non-scheduled time.
      tool.acc.fill(0);
      tool.acc[static_cast<int>(ToolState::NonScheduled)] = std::max<std::int64_t>(0, s.now - s.stats_since);
      tool.acc_state = ToolState::Standby;
      s.start_calendars(t);
      s.touch_tool(t);
      s.push(s.now, Ev::EntryFree, t, tool.entry_gen);
    }
    for (std::uint32_t t = 0; t < s.tools.size(); ++t) {  // the PMs' counters are complete: none pending
      s.tools[t].piece_wafers = 0;
      s.count_pieces(t);
    }
    return std::move(created.value());
  } catch (const Truncated&) {
    return bad("truncated");
  } catch (const Corrupt& e) {
    return bad(e.what);
  }
}

}  // namespace fabtwin::des
