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

// Pending events, smallest (t, key) first: a radix heap. Simulation time never goes back, so a
// push is almost always at or after the last refill time `last_`: an event sits in the bucket of
// the highest bit in which its time differs from last_ (front_: equal to last_, in insertion
// order). Pushes are O(1); a pop that empties bucket 0 redistributes the lowest non-empty bucket
// around its minimum, each event moving a few times over its life. About twice as fast as a 4-ary
// heap here. A peek (top) refills up to the next event even when the clock stops short of it
// (run_until(t), the next event after t); what is then scheduled before last_ (an MES event
// applied at t) goes to `early_`, a small binary heap that top() compares with the radix front.
class EventQueue {
 public:
  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  // The next event; requires !empty().
  const Pending& top() {
    if (early_.empty()) {
      if (head_ == front_.size()) refill();
      return front_[head_];
    }
    if (head_ == front_.size()) {
      if (mask_ == 0) return early_.front();  // only early events are left
      refill();
    }
    return early_.front().before(front_[head_]) ? early_.front() : front_[head_];
  }
  void push(const Pending& e) {
    ++size_;
    if (static_cast<std::uint64_t>(e.t) < last_) {
      // Before the front's time: a peek (top) refilled past the clock, which then stopped short of
      // it (run_until(t) with the next event after t), and something was scheduled in between.
      early_.push_back(e);
      std::push_heap(early_.begin(), early_.end(), later);
      return;
    }
    const std::uint64_t x = static_cast<std::uint64_t>(e.t) ^ last_;
    if (x == 0) {
      front_.push_back(e);  // same time as the front: after them (its sequence is larger)
      return;
    }
    const int b = 63 - __builtin_clzll(x);
    buckets_[b].push_back(e);
    mask_ |= std::uint64_t{1} << b;
  }
  // Every pending event, in no particular order (checkpoints).
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t i = head_; i < front_.size(); ++i) f(front_[i]);
    for (const Pending& e : early_) f(e);
    for (const auto& b : buckets_)
      for (const Pending& e : b) f(e);
  }
  // Empties the queue; later pushes must be at or after `t`.
  void reset(std::int64_t t) {
    front_.clear();
    early_.clear();
    head_ = size_ = 0;
    mask_ = 0;
    for (auto& b : buckets_) b.clear();
    last_ = static_cast<std::uint64_t>(t);
  }
  Pending pop() {
    const Pending e = top();
    if (!early_.empty() && early_.front().key == e.key && early_.front().t == e.t) {
      std::pop_heap(early_.begin(), early_.end(), later);
      early_.pop_back();
    } else {
      ++head_;
    }
    --size_;
    return e;
  }

 private:
  void refill() {
    front_.clear();
    head_ = 0;
    const int b = __builtin_ctzll(mask_);  // lowest non-empty bucket (size_ > 0)
    std::vector<Pending>& v = buckets_[b];
    std::int64_t m = v.front().t;
    for (const Pending& e : v) m = e.t < m ? e.t : m;
    last_ = static_cast<std::uint64_t>(m);
    mask_ &= ~(std::uint64_t{1} << b);
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
    // Equal times keep insertion order without sorting: events of one time always share a bucket
    // (an event's bucket depends only on its time and last_), buckets are appended in push order,
    // and redistribution keeps relative order.
  }

  static bool later(const Pending& a, const Pending& b) { return b.before(a); }  // min-heap order

  std::uint64_t last_ = 0;      // time of the front events
  std::vector<Pending> early_;  // pushed below last_ (rare): a min-heap beside the radix buckets
  std::vector<Pending> front_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::uint64_t mask_ = 0;  // bit b: buckets_[b] not empty
  std::array<std::vector<Pending>, 64> buckets_;
};

}  // namespace fabtwin::des
