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

// Pending events, smallest (t, key) first: a radix heap with a sorted front. Simulation time
// never goes back, so a push is almost always at or after the front's last time `last_`: an event
// sits in the bucket of the highest bit in which its time differs from last_. Pushes are O(1).
// The front is a sorted run of the smallest events, all at or before last_, every bucket after
// it. When the front runs out, the lowest non-empty bucket becomes the new front: sorted whole
// when it is small and spans little time (last_ then moves to its largest time, which keeps every
// higher bucket valid: that time shares the bits above the bucket with the old last_), else
// redistributed around its minimum as in a plain radix heap (each event moving a few times over its
// life). A push before last_ (a job ending inside the front's span, or an MES event applied after a
// peek refilled past the clock) goes into the front run at its sorted place.
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
    if (static_cast<std::uint64_t>(e.t) > last_) {
      const int b = 63 - __builtin_clzll(static_cast<std::uint64_t>(e.t) ^ last_);
      buckets_[b].push_back(e);
      mask_ |= std::uint64_t{1} << b;
      return;
    }
    push_front(e);
  }
  // Every pending event, in no particular order (checkpoints).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = head_; i < front_.size(); ++i) f(front_[i]);
    for (const auto& b : buckets_)
      for (const Pending& e : b) f(e);
  }
  // Empties the queue; later pushes must be at or after `t`.
  void reset(std::int64_t t) {
    front_.clear();
    head_ = size_ = 0;
    mask_ = 0;
    for (auto& b : buckets_) b.clear();
    last_ = static_cast<std::uint64_t>(t);
  }
  Pending pop() {
    const Pending e = top();
    ++head_;
    --size_;
    return e;
  }

 private:
  // A bucket this small, whose times differ from last_ in no bit above kSortBit, becomes the
  // front sorted whole.
  static constexpr std::size_t kSortMax = 32;
  static constexpr int kSortBit = 16;

  [[gnu::noinline]] void push_front(const Pending& e) {
    if (head_ == front_.size() || front_.back().before(e)) {
      front_.push_back(e);  // at last_, after the front's events (its sequence is larger)
      return;
    }
    front_.insert(std::upper_bound(front_.begin() + static_cast<std::ptrdiff_t>(head_), front_.end(), e,
                                   [](const Pending& a, const Pending& b) { return a.before(b); }),
                  e);
  }

  [[gnu::noinline, gnu::flatten]] void refill() {
    front_.clear();
    head_ = 0;
    const int b = __builtin_ctzll(mask_);  // lowest non-empty bucket (size_ > 0)
    std::vector<Pending>& v = buckets_[b];
    mask_ &= ~(std::uint64_t{1} << b);
    auto before = [](const Pending& a, const Pending& c) { return a.before(c); };
    if (v.size() <= kSortMax && b <= kSortBit) {
      front_.swap(v);  // v takes the old front's storage (empty)
      if (front_.size() > 1) std::sort(front_.begin(), front_.end(), before);
      last_ = static_cast<std::uint64_t>(front_.back().t);
      return;
    }
    std::int64_t m = v.front().t;
    for (const Pending& e : v) m = e.t < m ? e.t : m;
    last_ = static_cast<std::uint64_t>(m);
    for (const Pending& e : v) {
      const std::uint64_t x = static_cast<std::uint64_t>(e.t) ^ last_;
      if (x == 0) {
        front_.push_back(e);
      } else {
        const int nb = 63 - __builtin_clzll(x);
        buckets_[nb].push_back(e);
        mask_ |= std::uint64_t{1} << nb;
      }
    }
    v.clear();
    // Events of one time share a bucket (a bucket depends only on the time and on bits of last_
    // that every later last_ keeps) in push order, and redistribution keeps that order; sorting
    // the (usually single) events at the minimum makes the front's order not depend on it.
    if (front_.size() > 1) std::sort(front_.begin(), front_.end(), before);
  }

  std::uint64_t last_ = 0;  // the front's largest time; every bucketed event is later
  std::vector<Pending> front_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::uint64_t mask_ = 0;  // bit b: buckets_[b] not empty
  std::array<std::vector<Pending>, 64> buckets_;
};

}  // namespace fabtwin::des
