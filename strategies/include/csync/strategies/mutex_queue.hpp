// csync/strategies/mutex_queue.hpp
// -----------------------------------------------------------------------------
// strategy::mutex_queue -- a std::mutex and a std::deque of waiter pointers.
// The baseline every other strategy is measured against: the textbook design
// (and the seed crate's first one), with none of their lost-wake bugs.
//
// State machine of a waiter (all transitions under `mutex_`):
//
//     unlinked --enqueue_if(pred()==true)--> linked
//     linked   --notify: visitor says wake--> detached (delivered after unlock)
//     linked   --cancel--------------------> unlinked  (cancel returns true)
//     detached --cancel--------------------> detached  (cancel returns false)
//
// Races handled:
//   * check-then-register: pred() runs under the same mutex as notify's
//     visit, so a notify that follows the primitive's state change either
//     finds the waiter linked or pred() saw the change.
//   * wake vs cancel: both decide under the mutex; the loser learns it from
//     `linked` (cancel == false => a delivery is on its way).
//   * waking under the lock: detached waiters are delivered after unlock.
//
// Costs: one mutex acquisition per registration, notify and cancel; a deque
// node allocation every so often (the deque grows in blocks); O(n) cancel.
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <algorithm>
#include <cassert>
#include <deque>
#include <mutex>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/detail/queue_notify.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_MUTEX_QUEUE 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_mutex_queue {
 public:
  static constexpr std::string_view name = "mutex_queue";
  static constexpr bool has_queue = true;
  struct options {};

  basic_mutex_queue() = default;
  explicit basic_mutex_queue(const options&) {}
  basic_mutex_queue(const basic_mutex_queue&) = delete;
  basic_mutex_queue& operator=(const basic_mutex_queue&) = delete;
  ~basic_mutex_queue() { assert(queue_.empty() && "strategy destroyed with waiters"); }

  static csync::availability availability() noexcept { return {}; }

  template <class Pred>
  bool enqueue_if(detail::waiter& w, Pred&& pred) {
    std::lock_guard guard(mutex_);
    queue_.push_back(&w);  // allocate before pred() so a bad_alloc leaves no half-done state
    if (!pred()) {
      queue_.pop_back();
      return false;
    }
    w.linked = true;
    return true;
  }

  template <class Visitor>
  std::size_t notify(Visitor&& visitor) {
    const std::size_t n = detail::notify_in_batches(
        [this] { mutex_.lock(); }, [this] { mutex_.unlock(); },
        [this]() -> detail::waiter* { return queue_.empty() ? nullptr : queue_.front(); },
        [this](detail::waiter& w) {
          queue_.pop_front();
          w.linked = false;
          stats_.on_wake(1);  // under the lock: nothing touches *this after delivering
        },
        visitor);
    return n;
  }

  bool cancel(detail::waiter& w) {
    std::lock_guard guard(mutex_);
    if (!w.linked) return false;
    queue_.erase(std::find(queue_.begin(), queue_.end(), &w));
    w.linked = false;
    return true;
  }

  bool wait(detail::waiter& w, detail::deadline_t deadline) { return detail::park(w, deadline); }
  void arm(detail::waiter&) noexcept {}  // notify posts the coroutine
  Stats& stats() noexcept { return stats_; }

 private:
  detail::mutex mutex_;
  std::deque<detail::waiter*> queue_;  // guarded by mutex_
  [[no_unique_address]] Stats stats_;
};

using mutex_queue = basic_mutex_queue<>;

}  // namespace csync::strategy
