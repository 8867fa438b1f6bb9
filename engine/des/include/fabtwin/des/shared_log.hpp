#pragma once
// An append-only sequence whose full chunks are immutable and shared between copies: copying it
// (a fork) copies one pointer per 4096 entries and the open tail, however long it has grown.
#include <cstddef>
#include <iterator>
#include <memory>
#include <vector>

namespace fabtwin::des {

template <class T>
class SharedLog {
 public:
  static constexpr std::size_t kChunk = 4096;

  void push_back(T v) {
    tail_.push_back(std::move(v));
    if (tail_.size() == kChunk) {
      sealed_.push_back(std::make_shared<const std::vector<T>>(std::move(tail_)));
      tail_ = {};
    }
  }
  std::size_t size() const { return sealed_.size() * kChunk + tail_.size(); }
  bool empty() const { return size() == 0; }
  const T& operator[](std::size_t i) const {
    const std::size_t c = i / kChunk;
    return c < sealed_.size() ? (*sealed_[c])[i % kChunk] : tail_[i - sealed_.size() * kChunk];
  }
  const T& back() const { return (*this)[size() - 1]; }

  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = T;
    using difference_type = std::ptrdiff_t;
    using pointer = const T*;
    using reference = const T&;
    const_iterator() = default;
    const_iterator(const SharedLog* log, std::size_t i) : log_(log), i_(i) {}
    reference operator*() const { return (*log_)[i_]; }
    pointer operator->() const { return &(*log_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    const_iterator operator++(int) {
      auto c = *this;
      ++i_;
      return c;
    }
    friend bool operator==(const const_iterator& a, const const_iterator& b) { return a.i_ == b.i_; }

   private:
    const SharedLog* log_ = nullptr;
    std::size_t i_ = 0;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size()}; }

 private:
  std::vector<std::shared_ptr<const std::vector<T>>> sealed_;
  std::vector<T> tail_;
};

}  // namespace fabtwin::des
