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
  /// Hands the batch to `deliver_batch(waiter* const* first, std::size_t n)`
  /// (a strategy's own delivery, e.g. strategy::iocp's one packet per loop)
  /// and empties the list; returns n.
  template <class DeliverBatch>
  std::size_t deliver_all(DeliverBatch& deliver_batch) noexcept {
    const std::size_t n = size_;
    if (n != 0) deliver_batch(static_cast<waiter* const*>(items_.data()), n);
    size_ = 0;
    return n;
  }

 private:
  std::array<waiter*, wake_batch> items_{};
  std::size_t size_ = 0;
};

/// `lock`/`unlock` guard the registry; `front()` returns the head or nullptr;
/// `detach(w)` unlinks the head; `deliver_batch(first, n)` delivers each
/// batch after `unlock` (it must not touch a waiter after delivering it).
/// Returns the number of waiters delivered.
template <class Lock, class Unlock, class Front, class Detach, class Visitor, class DeliverBatch>
std::size_t notify_in_batches(Lock lock, Unlock unlock, Front front, Detach detach,
                              Visitor& visitor, DeliverBatch deliver_batch) {
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
    delivered += batch.deliver_all(deliver_batch);
    if (!more) return delivered;
  }
}

/// The same, each waiter delivered by detail::deliver.
template <class Lock, class Unlock, class Front, class Detach, class Visitor>
std::size_t notify_in_batches(Lock lock, Unlock unlock, Front front, Detach detach,
                              Visitor& visitor) {
  return notify_in_batches(lock, unlock, front, detach, visitor,
                           [](waiter* const* first, std::size_t n) noexcept {
                             // no access to a waiter after its deliver
                             for (std::size_t i = 0; i < n; ++i) deliver(*first[i]);
                           });
}

}  // namespace csync::detail
