// csync/strategies/spin.hpp
// -----------------------------------------------------------------------------
// strategy::spin -- no queue, no sleeping: waiters poll.
//
// An eventcount without a kernel: registration reads `epoch_` into
// waiter::ticket before the primitive re-checks its condition; notify bumps
// `epoch_`; a waiting thread spins `options::spin_budget` times with the CPU's
// pause instruction, then keeps checking with std::this_thread::yield()
// between polls until the epoch differs from its ticket or its deadline
// passes. A coroutine waiter polls through its loop instead: `arm` re-posts
// it at the back of its own loop's queue, so each poll costs one trip
// through the loop and other tasks keep running.
//
// States (per waiter): registered(ticket = e) --epoch != e--> woken.
//
// Races handled:
//   * check-then-register: the ticket is read *before* pred() (the
//     re-check). Pairing: the ticket load is sequenced before pred()'s
//     acq_rel RMW on the primitive's word; the notifier's RMW on that word
//     reads it and is sequenced before the epoch bump, so the ticket load
//     happens-before the bump and cannot observe it: a notify after the
//     state change always moves the epoch away from the ticket.
//   * wake vs cancel: nothing is registered, so there is nothing to race;
//     a thread's cancel always succeeds. A coroutine's cancel reports
//     "delivery in flight" because its poll item is already posted.
//
// A Condvar keeps its coroutine waiters in a queue of its own (condvar.hpp,
// "Coroutine waiters"); its threads use this strategy.
//
// Limits: broadcast only -- every notify wakes every poller (the others'
// wake-ups count as spurious). No queue, so no FIFO hand-off: primitives
// support only fairness::barging with this strategy. Burns CPU by design;
// the harness reports how much.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string_view>
#include <thread>

#include <csync/detail/atomic.hpp>
#include <csync/detail/cpu_relax.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_SPIN 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_spin {
 public:
  static constexpr std::string_view name = "spin";
  static constexpr bool has_queue = false;

  struct options {
    /// Pause-instruction polls before a waiting thread starts yielding its
    /// CPU between polls. peers: libstdc++ 12, WTF::Lock 40, Abseil ~1500.
    std::uint32_t spin_budget = 128;
  };

  basic_spin() = default;
  explicit basic_spin(const options& o) : options_(o) {}
  basic_spin(const basic_spin&) = delete;
  basic_spin& operator=(const basic_spin&) = delete;

  static csync::availability availability() noexcept { return {}; }
  const options& tuning() const noexcept { return options_; }

  template <class Pred>
  bool enqueue_if(detail::waiter& w, Pred&& pred) {
    // acquire: pairs with the release bump in notify(), so a waiter that
    // starts after a bump sees it (and a stale epoch only costs a spurious poll).
    w.ticket = epoch_.load(std::memory_order_acquire);
    return pred();
  }

  template <class Visitor>
  std::size_t notify(Visitor&&, detail::wake_list&) noexcept {
    // release: pairs with the acquire loads in enqueue_if()/wait(); the
    // notifier's state change (already made by the primitive) is visible to a
    // poller that sees the new epoch.
    epoch_.fetch_add(1, std::memory_order_release);
    stats_.on_wake(1);
    return 0;  // pollers notice the epoch themselves: nothing to deliver
  }

  static void deliver(detail::wake_list& woken) noexcept { detail::deliver_all(woken); }

  bool cancel(detail::waiter& w) noexcept {
    return w.is_thread();  // a coroutine's poll item is already posted: it will run
  }

  bool wait(detail::waiter& w, detail::deadline_t deadline) {
    for (std::uint32_t i = 0; i < options_.spin_budget; ++i) {
      if (moved(w)) return true;
      detail::cpu_relax();
    }
    for (std::uint32_t polls = 0;; ++polls) {
      if (moved(w)) return true;
      // Reading the clock costs ~20 ns; do it every 16th poll.
      if (deadline && (polls % 16) == 0 && std::chrono::steady_clock::now() >= *deadline) {
        return moved(w);
      }
      std::this_thread::yield();
    }
  }

  void arm(detail::waiter& w) noexcept { w.loop->post(w.item); }
  void reclaim(detail::waiter& w) noexcept { w.loop->retract(w.item); }  // the poll arm() posted

  Stats& stats() noexcept { return stats_; }

 private:
  bool moved(const detail::waiter& w) const noexcept {
    // acquire: pairs with the release bump in notify().
    return epoch_.load(std::memory_order_acquire) != w.ticket;
  }

  options options_{};
  detail::atomic<std::uint32_t> epoch_{0};
  [[no_unique_address]] Stats stats_;
};

using spin = basic_spin<>;

}  // namespace csync::strategy
