// csync/strategies/intrusive_list.hpp
// -----------------------------------------------------------------------------
// strategy::intrusive_list -- a FIFO doubly-linked list whose nodes are the
// waiters themselves, living in the waiting thread's stack frame or the
// suspended coroutine's frame (tokio's batch_semaphore and folly's
// fibers::Semaphore design). No allocation per wait, O(1) cancel.
//
// State machine of a waiter (all transitions under `mutex_`):
//
//     unlinked --enqueue_if(pred()==true)--> linked   (push_back)
//     linked   --notify: visitor says wake--> detached (pop_front; delivered
//                                                       after unlock)
//     linked   --cancel--------------------> unlinked (O(1) unlink; true)
//     detached --cancel--------------------> detached (false)
//
// Races handled: as mutex_queue (pred and visit share the lock; wake and
// cancel decide under it via `waiter::linked`; delivery after unlock). Extra
// lifetime rule: a node is unlinked before its frame can end -- the owner
// leaves `wait` only after being delivered (detached) or after a successful
// cancel, and a coroutine frame is resumed only by its delivery.
//
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <cassert>
#include <mutex>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/detail/intrusive_fifo.hpp>
#include <csync/detail/queue_notify.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_INTRUSIVE_LIST 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_intrusive_list {
 public:
  static constexpr std::string_view name = "intrusive_list";
  static constexpr bool has_queue = true;
  struct options {};

  basic_intrusive_list() = default;
  explicit basic_intrusive_list(const options&) {}
  basic_intrusive_list(const basic_intrusive_list&) = delete;
  basic_intrusive_list& operator=(const basic_intrusive_list&) = delete;
  ~basic_intrusive_list() { assert(list_.empty() && "strategy destroyed with waiters"); }

  static csync::availability availability() noexcept { return {}; }

  template <class Pred>
  bool enqueue_if(detail::waiter& w, Pred&& pred) {
    std::lock_guard guard(mutex_);
    if (!pred()) return false;
    list_.push_back(w);
    return true;
  }

  template <class Visitor>
  std::size_t notify(Visitor&& visitor) {
    const std::size_t n = detail::notify_in_batches(
        [this] { mutex_.lock(); }, [this] { mutex_.unlock(); },
        [this] { return list_.front(); },
        [this](detail::waiter& w) {
          list_.remove(w);
          stats_.on_wake(1);  // under the lock: nothing touches *this after delivering
        },
        visitor);
    return n;
  }

  bool cancel(detail::waiter& w) {
    std::lock_guard guard(mutex_);
    if (!w.linked) return false;
    list_.remove(w);
    return true;
  }

  bool wait(detail::waiter& w, detail::deadline_t deadline) { return detail::park(w, deadline); }
  void arm(detail::waiter&) noexcept {}  // notify posts the coroutine
  Stats& stats() noexcept { return stats_; }

 private:
  detail::mutex mutex_;
  detail::intrusive_fifo list_;  // guarded by mutex_
  [[no_unique_address]] Stats stats_;
};

using intrusive_list = basic_intrusive_list<>;

}  // namespace csync::strategy
