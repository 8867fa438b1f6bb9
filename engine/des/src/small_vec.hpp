#pragma once
// A vector with room for N elements inline: no allocation (and no pointer to chase in the hot
// loop) until it holds more than N, and no limit after. Private to the kernel.
#include <cstdint>
#include <memory>
#include <new>
#include <utility>

namespace fabtwin::des {

template <class T, std::uint32_t N>
class SmallVec {
 public:
  using value_type = T;
  using iterator = T*;
  using const_iterator = const T*;

  SmallVec() noexcept {}  // user-provided: value-initialising an owner does not zero buf_
  SmallVec(const SmallVec& o) { assign(o.begin(), o.end()); }
  SmallVec(SmallVec&& o) noexcept { take(o); }
  SmallVec& operator=(const SmallVec& o) {
    if (this != &o) assign(o.begin(), o.end());
    return *this;
  }
  SmallVec& operator=(SmallVec&& o) noexcept {
    if (this != &o) {
      release();
      take(o);
    }
    return *this;
  }
  ~SmallVec() { release(); }

  std::uint32_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  T* data() { return heap_ ? heap_ : reinterpret_cast<T*>(buf_); }
  const T* data() const { return heap_ ? heap_ : reinterpret_cast<const T*>(buf_); }
  T* begin() { return data(); }
  T* end() { return data() + size_; }
  const T* begin() const { return data(); }
  const T* end() const { return data() + size_; }
  T& operator[](std::size_t i) { return data()[i]; }
  const T& operator[](std::size_t i) const { return data()[i]; }
  T& back() { return data()[size_ - 1]; }
  T& front() { return data()[0]; }
  const T& front() const { return data()[0]; }

  void reserve(std::uint32_t n) {
    if (n <= capacity()) return;
    T* p = static_cast<T*>(::operator new (sizeof(T) * n, std::align_val_t{alignof(T)}));
    std::uninitialized_move(begin(), end(), p);
    std::destroy(begin(), end());
    free_heap();
    heap_ = p;
    cap_ = n;
  }
  void resize(std::size_t n) {
    reserve(static_cast<std::uint32_t>(n));
    while (size_ > n) pop_back();
    while (size_ < n) ::new (data() + size_++) T{};
  }
  void clear() {
    std::destroy(begin(), end());
    size_ = 0;
  }
  void push_back(T v) {
    if (size_ == capacity()) reserve(capacity() * 2);
    ::new (data() + size_) T(std::move(v));
    ++size_;
  }
  // Constructs in place; when full, constructs first (an argument may refer to an element).
  template <class... A>
  T& emplace_back(A&&... a) {
    if (size_ == capacity()) {
      push_back(T{std::forward<A>(a)...});
      return back();
    }
    T* p = ::new (data() + size_) T{std::forward<A>(a)...};
    ++size_;
    return *p;
  }
  void pop_back() { std::destroy_at(data() + --size_); }
  template <class It>
  void assign(It first, It last) {
    clear();
    reserve(static_cast<std::uint32_t>(last - first));
    for (; first != last; ++first) ::new (data() + size_++) T(*first);
  }
  T* erase(T* it) {
    std::move(it + 1, end(), it);
    pop_back();
    return it;
  }

 private:
  std::uint32_t capacity() const { return heap_ ? cap_ : N; }
  void free_heap() {
    if (heap_) ::operator delete (heap_, std::align_val_t{alignof(T)});
    heap_ = nullptr;
  }
  void release() {
    clear();
    free_heap();
  }
  void take(SmallVec& o) {
    if (o.heap_) {
      heap_ = o.heap_;
      cap_ = o.cap_;
      size_ = o.size_;
      o.heap_ = nullptr;
      o.size_ = 0;
      return;
    }
    std::uninitialized_move(o.begin(), o.end(), data());
    size_ = o.size_;
    o.clear();
  }

  std::uint32_t size_ = 0, cap_ = 0;
  T* heap_ = nullptr;
  alignas(T) unsigned char buf_[N * sizeof(T)];
};

}  // namespace fabtwin::des
