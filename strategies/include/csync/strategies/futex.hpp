// csync/strategies/futex.hpp
// -----------------------------------------------------------------------------
// strategy::futex -- waiters sleep in the kernel on a 32-bit epoch word with
// futex(2) (FUTEX_WAIT_BITSET_PRIVATE / FUTEX_WAKE_PRIVATE); the syscall is
// skipped when nobody sleeps. The thread-waiter baseline closest to the
// physical limit: an uncontended release costs one RMW on the primitive's
// word and, while contention is on, one RMW on the epoch plus one load.
//
// An eventcount (concept.hpp, has_queue == false):
//
//   enqueue_if(w, pred)   sleepers_ += 1; w.ticket = epoch_; r = pred();
//                         if !r: sleepers_ -= 1.
//   wait(w, deadline)     spin `options::spin_budget` polls, then
//                         FUTEX_WAIT(&epoch_, w.ticket) until the epoch moves
//                         (true) or the deadline passes (false, still counted
//                         as a sleeper until cancel).
//   notify()              epoch_ += 1; if sleepers_ != 0: the caller's
//                         wake_list wakes all on &epoch_ (FUTEX_WAKE, by
//                         address: after the caller's last access).
//   cancel(w)             sleepers_ -= 1; true.
//
// Coroutine waiters cannot block their loop's thread, so they are recorded
// in userspace instead: an intrusive list under a mutex (registration and
// pred() under it), and notify -- when the list is non-empty -- detaches all
// of them into the caller's wake_list, which posts each to its own loop. Thread and
// coroutine waiters share the epoch, so a primitive need not know which kind
// waits. (strategy::uring_futex instead has coroutines wait in the kernel
// too, through their loop's io_uring.)
//
// Races handled:
//   * check-then-register: the ticket is read and the sleeper counted before
//     pred() re-checks. Pairing: both are sequenced before pred()'s acq_rel
//     RMW on the primitive's word (or the user lock's release, for Condvar);
//     the notifier's RMW on that word (or its acquisition of the lock) is
//     sequenced before its epoch bump and its sleepers_ load. So the ticket
//     load happens-before the bump (it cannot see it: FUTEX_WAIT with the old
//     ticket returns at once once the epoch moved) and the sleepers_ load
//     sees the increment (the syscall is not skipped).
//   * wake vs timeout: a thread that timed out and a notify that bumped the
//     epoch both leave it runnable; cancel cannot lose anything because
//     nothing is owned (broadcast).
//   * coroutine wake vs cancel: both decide under the mutex via `linked`.
//
// Windows: the same eventcount sleeps with WaitOnAddress and wakes with
// WakeByAddressAll on `epoch_` (csync/detail/address_wait.hpp), Windows' own
// compare-and-sleep-on-an-address call with futex(2)'s no-lost-wake-up
// contract, so the strategy is available there under the same name; the
// name is the mechanism's (a futex word), the system call is the platform's.
// Other platforms: not compiled (CSYNC_HAVE_FUTEX undefined).
//
// A Condvar keeps its coroutine waiters in a queue of its own (condvar.hpp,
// "Coroutine waiters"); its threads use this strategy.
//
// Limits: broadcast only, so every notify wakes every sleeper (a thundering
// herd when many threads wait; the harness's spurious-wake counter shows it)
// and only fairness::barging is possible. The 32-bit epoch may wrap: a
// sleeper that misses exactly 2^32 notifies sleeps on -- not a practical
// concern at one RMW per notify.
// -----------------------------------------------------------------------------
#pragma once

#if defined(__linux__) || defined(_WIN32)

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/detail/address_wait.hpp>
#include <csync/detail/cpu_relax.hpp>
#include <csync/detail/intrusive_fifo.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_FUTEX 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_futex {
 public:
  static constexpr std::string_view name = "futex";
  static constexpr bool has_queue = false;

  struct options {
    /// Epoch polls (with the pause instruction) before FUTEX_WAIT. 0: sleep
    /// at once -- the pure syscall baseline.
    std::uint32_t spin_budget = 0;
  };

  basic_futex() = default;
  explicit basic_futex(const options& o) : options_(o) {}
  basic_futex(const basic_futex&) = delete;
  basic_futex& operator=(const basic_futex&) = delete;

  static csync::availability availability() noexcept { return {}; }

  template <class Pred>
  bool enqueue_if(detail::waiter& w, Pred&& pred) {
    if (!w.is_thread()) return enqueue_coroutine(w, pred);
    return enqueue_kernel_sleeper(w, pred);
  }

  // @model(futex.notify)
  template <class Visitor>
  std::size_t notify(Visitor&&, detail::wake_list& woken) {
    // acq_rel: release -- a sleeper that sees the new epoch sees the
    // primitive's state change made before notify; acquire -- orders the
    // sleepers_/coroutine-count loads below after the bump.
    epoch_.fetch_add(1, std::memory_order_acq_rel);
    stats_.on_wake(1);
    // relaxed: see enqueue_if; the increment happens-before this load.
    if (sleepers_.load(std::memory_order_relaxed) != 0) woken.wake_all_on(epoch_);
    if (coroutines_.load(std::memory_order_relaxed) != 0) return detach_coroutines(woken);
    return 0;
  }

  static void deliver(detail::wake_list& woken) noexcept { detail::deliver_all(woken); }

  bool cancel(detail::waiter& w) {
    if (!w.is_thread()) {
      std::lock_guard guard(mutex_);
      if (!w.linked) return false;  // notify detached it: the post is on its way
      unlink(w);
      return true;
    }
    sleepers_.fetch_sub(1, std::memory_order_relaxed);  // a counter only; nothing is owned
    return true;
  }

  bool wait(detail::waiter& w, detail::deadline_t deadline) {
    for (std::uint32_t i = 0; i < options_.spin_budget; ++i) {
      if (moved(w)) return leave(true);
      detail::cpu_relax();
    }
    for (;;) {
      if (moved(w)) return leave(true);
      if (!detail::wait_on_address(epoch_, w.ticket, deadline)) {
        if (moved(w)) return leave(true);
        return false;  // still counted; the caller cancels
      }
    }
  }

  void arm(detail::waiter&) noexcept {}  // notify posts coroutine waiters
  void reclaim(detail::waiter& w) noexcept { w.loop->retract(w.item); }  // notify's post

  Stats& stats() noexcept { return stats_; }

 protected:  // strategy::uring_futex reuses the word, the counters and the list
  /// Registers a waiter that will sleep in the kernel on epoch_ (a blocked
  /// thread here; also a ring wait in uring_futex).
  // @model(futex.enqueue_kernel_sleeper)
  template <class Pred>
  bool enqueue_kernel_sleeper(detail::waiter& w, Pred& pred) {
    // relaxed (both): ordered before the notifier's reads by pred()'s RMW on
    // the primitive's word, as argued in the header; the notifier's own RMW
    // chain carries the increment and the ticket read to it.
    sleepers_.fetch_add(1, std::memory_order_relaxed);
    // @model(futex.enqueue.ticket)
    w.ticket = epoch_.load(std::memory_order_acquire);  // pairs with notify()'s release bump
    if (pred()) return true;
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return false;
  }

  bool moved(const detail::waiter& w) const noexcept {
    // acquire: pairs with notify()'s bump (the primitive's state change is
    // visible to a sleeper that sees the new epoch).
    return epoch_.load(std::memory_order_acquire) != w.ticket;
  }

  bool leave(bool result) noexcept {
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
    return result;
  }

  template <class Pred>
  bool enqueue_coroutine(detail::waiter& w, Pred& pred) {
    std::lock_guard guard(mutex_);
    // relaxed: the count is published to notifiers by pred()'s RMW, as for
    // sleepers_ (and a notifier that sees it takes mutex_ before touching w).
    coroutines_.fetch_add(1, std::memory_order_relaxed);
    if (!pred()) {
      coroutines_.fetch_sub(1, std::memory_order_relaxed);
      return false;
    }
    list_.push_back(w);
    return true;
  }

  void unlink(detail::waiter& w) noexcept {
    list_.remove(w);
    coroutines_.fetch_sub(1, std::memory_order_relaxed);
  }

  [[gnu::noinline]] std::size_t detach_coroutines(detail::wake_list& woken) {
    std::size_t n = 0;
    std::lock_guard guard(mutex_);
    while (detail::waiter* w = list_.front()) {
      unlink(*w);
      woken.push(*w);
      ++n;
    }
    return n;
  }

  options options_{};
  detail::atomic<std::uint32_t> epoch_{0};      // the futex word (4-byte aligned, 32 bits)
  detail::atomic<std::uint32_t> sleepers_{0};   // thread waiters registered
  detail::atomic<std::uint32_t> coroutines_{0}; // coroutine waiters registered
  detail::mutex mutex_;
  detail::intrusive_fifo list_;  // coroutine waiters; guarded by mutex_
  [[no_unique_address]] Stats stats_;
};

using futex = basic_futex<>;

}  // namespace csync::strategy

#endif  // __linux__ || _WIN32
