#pragma once
// A tool group's waiting lots, kept in arrival order. Private to des.
#include <algorithm>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "fabtwin/des/rules.hpp"

namespace fabtwin::des {

// The queue of a tool group: candidates ordered by (arrival, serial), the order rank_FIFO ranks
// them in, so a FIFO-ranked dispatch can stop at the first lot nothing later can beat. The live
// entries are buf_[head_, buf_.size()): lots mostly leave near the front (FIFO) and join at the back
// (they arrive now), so both are O(1); a lot leaving elsewhere shifts the shorter side. Lot::
// queue_pos holds a lot's index in buf_; every entry an operation moves is reported to `moved(lot,
// index)` (the entry inserted included). The queue also knows its highest priority and how many
// lots have it (which bounds what any lot in it can score under rank_HP).
class CandQueue {
 public:
  const Candidate* begin() const { return buf_.data() + head_; }
  const Candidate* end() const { return buf_.data() + buf_.size(); }
  std::size_t size() const { return buf_.size() - head_; }
  bool empty() const { return buf_.size() == head_; }
  std::uint32_t head() const { return head_; }  // the index of the first live entry
  std::span<const Candidate> view() const { return {begin(), end()}; }
  // The entry at index `pos` of the buffer (Lot::queue_pos).
  Candidate& at(std::uint32_t pos) { return buf_[pos]; }
  const Candidate& at(std::uint32_t pos) const { return buf_[pos]; }
  // The highest priority of a queued lot (0: empty).
  std::uint32_t top_priority() const { return top_; }

  static bool before(const Candidate& a, const Candidate& b) {
    return a.arrival_ms != b.arrival_ms ? a.arrival_ms < b.arrival_ms : a.serial < b.serial;
  }

  template <class F>
  void insert(const Candidate& e, F&& moved) {
    count_in(e.priority);
    if (empty()) {
      buf_.clear();
      head_ = 0;
    } else if (buf_.size() == buf_.capacity() && head_ * 2 >= buf_.size()) {
      compact(moved);  // a full buffer with as much dead as live: reuse it instead of growing
    }
    std::size_t p = buf_.size();
    while (p > head_ && before(e, buf_[p - 1])) --p;
    if (p == buf_.size()) {
      buf_.push_back(e);
      moved(e.lot, static_cast<std::uint32_t>(p));
    } else if (head_ > 0 && p - head_ < buf_.size() - p) {
      // the front side is shorter: entries before p move one down
      std::move(buf_.begin() + head_, buf_.begin() + static_cast<std::ptrdiff_t>(p),
                buf_.begin() + head_ - 1);
      --head_;
      buf_[p - 1] = e;
      for (std::size_t i = head_; i < p; ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
    } else {
      buf_.insert(buf_.begin() + static_cast<std::ptrdiff_t>(p), e);
      for (std::size_t i = p; i < buf_.size(); ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
    }
  }

  template <class F>
  void erase(std::uint32_t pos, F&& moved) {
    const std::uint32_t priority = buf_[pos].priority;
    if (pos - head_ < buf_.size() - 1 - pos) {
      std::move_backward(buf_.begin() + head_, buf_.begin() + pos, buf_.begin() + pos + 1);
      ++head_;
      for (std::size_t i = head_; i <= pos; ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
    } else {
      std::move(buf_.begin() + pos + 1, buf_.end(), buf_.begin() + pos);
      buf_.pop_back();
      for (std::size_t i = pos; i < buf_.size(); ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
    }
    if (empty()) buf_.clear(), head_ = 0;
    if (priority == top_ && --top_n_ == 0) recount();  // the last lot of the top class left
  }

  // Replaces the contents (a restored checkpoint: any order); every entry is reported.
  template <class F>
  void assign(std::vector<Candidate> v, F&& moved) {
    std::sort(v.begin(), v.end(), before);
    buf_ = std::move(v);
    head_ = 0;
    recount();
    for (std::size_t i = 0; i < buf_.size(); ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
  }

 private:
  template <class F>
  void compact(F&& moved) {
    buf_.erase(buf_.begin(), buf_.begin() + head_);
    head_ = 0;
    for (std::size_t i = 0; i < buf_.size(); ++i) moved(buf_[i].lot, static_cast<std::uint32_t>(i));
  }
  void count_in(std::uint32_t priority) {
    if (top_n_ == 0 || priority > top_) {
      top_ = priority;
      top_n_ = 1;
    } else if (priority == top_) {
      ++top_n_;
    }
  }
  void recount() {
    top_ = top_n_ = 0;
    for (const Candidate& e : *this) count_in(e.priority);
  }

  std::vector<Candidate> buf_;
  std::uint32_t head_ = 0;
  std::uint32_t top_ = 0, top_n_ = 0;  // the highest priority of a queued lot, and its lots
};

}  // namespace fabtwin::des
