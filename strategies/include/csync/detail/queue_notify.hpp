// csync/detail/queue_notify.hpp
// The notify algorithm shared by the queue strategies: visit heads under the
// strategy's lock, detach those the primitive's visitor wants woken, and
// deliver them only after the lock is released, in bounded batches (never
// wake while holding an internal lock: a woken thread would immediately block
// on that lock, and delivery may run arbitrary loop code).
#pragma once

#include <array>
#include <cstddef>

#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>

namespace csync::detail {

/// Waiters detached under a lock, delivered after it is released.
class wake_list {
 public:
  bool full() const noexcept { return size_ == items_.size(); }
  void push(waiter* w) noexcept { items_[size_++] = w; }
  std::size_t deliver_all() noexcept {
    const std::size_t n = size_;
    for (std::size_t i = 0; i < n; ++i) deliver(*items_[i]);  // no access to a waiter after its deliver
    size_ = 0;
    return n;
  }

 private:
  std::array<waiter*, wake_batch> items_{};
  std::size_t size_ = 0;
};

/// `lock`/`unlock` guard the registry; `front()` returns the head or nullptr;
/// `detach(w)` unlinks the head. Returns the number of waiters delivered.
template <class Lock, class Unlock, class Front, class Detach, class Visitor>
std::size_t notify_in_batches(Lock lock, Unlock unlock, Front front, Detach detach,
                              Visitor& visitor) {
  std::size_t delivered = 0;
  for (;;) {
    wake_list batch;
    bool more = false;
    lock();
    for (;;) {
      waiter* head = front();
      if (visitor(head) != visit::wake || head == nullptr) break;
      detach(*head);
      batch.push(head);
      if (batch.full()) {
        more = true;
        break;
      }
    }
    unlock();
    delivered += batch.deliver_all();
    if (!more) return delivered;
  }
}

}  // namespace csync::detail
