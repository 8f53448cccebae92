// csync/detail/intrusive_fifo.hpp
// A doubly-linked FIFO threaded through `waiter::prev/next`. No allocation,
// O(1) push_back, pop_front and remove. Not thread-safe: the owning strategy
// serializes every call (and every read of `waiter::linked`).
#pragma once

#include <cassert>

#include <csync/detail/waiter.hpp>

namespace csync::detail {

class intrusive_fifo {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  waiter* front() const noexcept { return head_; }

  void push_back(waiter& w) noexcept {
    assert(!w.linked);
    w.prev = tail_;
    w.next = nullptr;
    if (tail_) tail_->next = &w; else head_ = &w;
    tail_ = &w;
    w.linked = true;
  }

  waiter* pop_front() noexcept {
    waiter* w = head_;
    if (w) remove(*w);
    return w;
  }

  void remove(waiter& w) noexcept {
    assert(w.linked);
    (w.prev ? w.prev->next : head_) = w.next;
    (w.next ? w.next->prev : tail_) = w.prev;
    w.prev = w.next = nullptr;
    w.linked = false;
  }

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
};

}  // namespace csync::detail
