#pragma once
// The kernel's pending events: a radix heap over (time, insertion sequence). Private to des.
#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

namespace fabtwin::des {

// Kernel event kinds. Every kind that state changes can contradict carries a check: a job or
// entry generation, a lot generation, a tool availability generation, or (PmDue) its own time.
enum class Ev : std::uint8_t {
  Release,     // a: order, b: release number
  Arrive,      // a: lot slot, b: lot generation
  JobDone,     // a: tool, b: job generation
  EntryFree,   // a: tool, b: entry generation
  Fail,        // a: tool, b: down spec
  RepairDone,  // a: tool, b: availability generation
  PmDue,       // a: tool, b: PM spec (valid while its time is the spec's next due time)
  PmDone,      // a: tool, b: availability generation
  WipSample,
  Warmup,
  SetupEnd,  // a: tool, b: job generation
};

// One scheduled kernel event (a release, an arrival, a job end, a failure ...).
struct Pending {
  std::int64_t t;
  std::uint64_t key;  // insertion sequence << 8 | type: ties at equal t run first-in first-out
  std::uint32_t a;    // entity (lot, tool, order)
  std::uint32_t b;    // detail (job generation, calendar, release number)
  Ev type() const { return static_cast<Ev>(key & 0xff); }
  // (t, key) as one 128-bit number: compiles to compare-with-borrow, no branch on equal times.
  bool before(const Pending& o) const {
    __extension__ typedef unsigned __int128 u128;
    return ((static_cast<u128>(static_cast<std::uint64_t>(t)) << 64) | key) <
           ((static_cast<u128>(static_cast<std::uint64_t>(o.t)) << 64) | o.key);
  }
};

// Pending events, smallest (t, key) first: a calendar of fixed time slices with a sorted front.
// Simulation time never goes back and almost every event is scheduled minutes to hours ahead
// (HVLM: 99 % between 2^18 and 2^25 ms), so a push lands in the ring slot of its slice in O(1) and
// moves once more, when its slice becomes the front and is sorted whole (about 5 events). The
// front is a sorted run of the smallest events, every ring event after it. Events beyond the ring
// (failures, PMs days ahead: under 1 %) wait in a binary heap and move into the ring as the front
// nears them. A slot lists its first 8 events by pool index (a refill loads them independently;
// walking a chain waited for each node in turn), any more are linked. A push into the front's
// slice or before it (a job ending within seconds, an MES event applied after a peek refilled
// past the clock) goes into the front run at its sorted place.
class EventQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  // The next event; requires !empty().
  const Pending& top() {
    if (head_ == front_.size()) refill();
    return front_[head_];
  }
  [[gnu::always_inline]] void push(const Pending& e) {
    ++size_;
    const std::uint64_t s = slice(e.t);
    if (s > base_) {
      if (s - base_ < kSlots) {
        link(s, e);
        return;
      }
      push_far(e);
      return;
    }
    push_front(e);
  }
  // Every pending event, in no particular order (checkpoints).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = head_; i < front_.size(); ++i) f(front_[i]);
    for (std::size_t k = 0; k < kSlots; ++k)
      for (std::size_t i = 0; i < slot_n_[k]; ++i) f(pool_[slot_idx_[k * kIdx + i]].e);
    for (std::uint32_t h : slot_head_)
      for (std::uint32_t n = h; n != kNil; n = pool_[n].next) f(pool_[n].e);
    for (const Pending& e : far_) f(e);
  }
  // Empties the queue; later pushes must be at or after `t`.
  void reset(std::int64_t t) {
    front_.clear();
    head_ = size_ = 0;
    pool_.clear();
    free_ = kNil;
    slot_head_.fill(kNil);
    slot_n_.fill(0);
    bits_.fill(0);
    ring_size_ = 0;
    far_.clear();
    base_ = slice(t);
  }
  // The event after top() when the front holds it (a peek that never refills), else null.
  const Pending* after_top() const { return head_ + 1 < front_.size() ? &front_[head_ + 1] : nullptr; }
  Pending pop() {
    const Pending e = top();
    ++head_;
    --size_;
    return e;
  }

 private:
  static constexpr int kSliceBits = 13;          // 8.2 s of simulated time per slice
  static constexpr std::uint64_t kSlots = 8192;  // the ring spans 2^26 ms (18.6 h)
  static constexpr std::uint32_t kNil = UINT32_MAX;
  static constexpr std::size_t kIdx = 8;  // events a slot lists by index; more are linked
  struct Node {
    Pending e;
    std::uint32_t next;
  };
  static std::uint64_t slice(std::int64_t t) { return static_cast<std::uint64_t>(t) >> kSliceBits; }
  static bool after(const Pending& a, const Pending& b) { return b.before(a); }  // for the far heap

  [[gnu::always_inline]] void link(std::uint64_t s, const Pending& e) {
    std::uint32_t n = free_;
    if (n != kNil) {
      free_ = pool_[n].next;
    } else {
      n = static_cast<std::uint32_t>(pool_.size());
      pool_.emplace_back();
    }
    const std::size_t k = s & (kSlots - 1);
    pool_[n].e = e;
    const std::uint32_t m = slot_n_[k];
    if (m < kIdx) [[likely]] {
      slot_idx_[k * kIdx + m] = n;
      slot_n_[k] = static_cast<std::uint8_t>(m + 1);
    } else {
      pool_[n].next = slot_head_[k];
      slot_head_[k] = n;
    }
    bits_[k >> 6] |= std::uint64_t{1} << (k & 63);
    ++ring_size_;
  }

  [[gnu::noinline]] void push_far(const Pending& e) {
    far_.push_back(e);
    std::push_heap(far_.begin(), far_.end(), after);
  }

  [[gnu::noinline]] void push_front(const Pending& e) {
    if (head_ == front_.size() || front_.back().before(e)) {
      front_.push_back(e);  // after the front's events (its sequence is larger)
      return;
    }
    front_.insert(std::upper_bound(front_.begin() + static_cast<std::ptrdiff_t>(head_), front_.end(), e,
                                   [](const Pending& a, const Pending& b) { return a.before(b); }),
                  e);
  }

  // The first occupied ring slice after base_ (requires ring_size_ > 0).
  std::uint64_t next_slice() const {
    const std::uint64_t from = (base_ + 1) & (kSlots - 1);
    std::uint64_t k = from;
    std::uint64_t w = bits_[k >> 6] & (~std::uint64_t{0} << (k & 63));
    for (;;) {
      if (w != 0) {
        k = (k & ~std::uint64_t{63}) + static_cast<std::uint64_t>(__builtin_ctzll(w));
        return base_ + 1 + ((k - from) & (kSlots - 1));
      }
      k = ((k >> 6) + 1) * 64 & (kSlots - 1);
      w = bits_[k >> 6];
    }
  }

  [[gnu::noinline]] void refill() {
    front_.clear();
    head_ = 0;
    base_ = ring_size_ > 0 ? next_slice() : slice(far_.front().t);  // size_ > 0
    // Far events whose slice the ring now spans move into it (the front's slice included).
    while (!far_.empty() && slice(far_.front().t) - base_ < kSlots) {
      link(slice(far_.front().t), far_.front());
      std::pop_heap(far_.begin(), far_.end(), after);
      far_.pop_back();
    }
    const std::size_t k = base_ & (kSlots - 1);
    // The slot's first kIdx events by index (independent loads, where walking a chain waits for
    // each node before it can read the next), then its chain of any more.
    const std::uint32_t* idx = &slot_idx_[k * kIdx];
    for (std::size_t i = 0, m = slot_n_[k]; i < m; ++i) {
      const std::uint32_t n = idx[i];
      front_.push_back(pool_[n].e);
      pool_[n].next = free_;
      free_ = n;
    }
    slot_n_[k] = 0;
    for (std::uint32_t n = slot_head_[k]; n != kNil;) {
      const std::uint32_t next = pool_[n].next;
      front_.push_back(pool_[n].e);
      pool_[n].next = free_;
      free_ = n;
      n = next;
    }
    slot_head_[k] = kNil;
    bits_[k >> 6] &= ~(std::uint64_t{1} << (k & 63));
    ring_size_ -= front_.size();
    // (Slots hold their events newest first; the order (t, key) is total.)
    for (std::size_t i = 1; i < front_.size(); ++i) {  // insertion sort: a slice holds a few events
      const Pending x = front_[i];
      std::size_t j = i;
      for (; j > 0 && x.before(front_[j - 1]); --j) front_[j] = front_[j - 1];
      front_[j] = x;
    }
  }

  std::uint64_t base_ = 0;  // the front's slice: every ring event lies in a later one
  std::vector<Pending> front_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::vector<Node> pool_;  // ring events: the first kIdx of a slot listed (slot_idx_), more linked
  std::vector<std::uint32_t> slot_idx_ = std::vector<std::uint32_t>(kSlots * kIdx);  // [slot * kIdx + i]
  std::array<std::uint8_t, kSlots> slot_n_{};                                        // events listed per slot
  std::uint32_t free_ = kNil;
  std::array<std::uint32_t, kSlots> slot_head_ = make_heads();
  std::array<std::uint64_t, kSlots / 64> bits_{};  // bit k: slot k not empty
  std::size_t ring_size_ = 0;
  std::vector<Pending> far_;  // a min-heap by (t, key): slices at or past base_ + kSlots
  static constexpr std::array<std::uint32_t, kSlots> make_heads() {
    std::array<std::uint32_t, kSlots> a{};
    a.fill(kNil);
    return a;
  }
};

}  // namespace fabtwin::des
