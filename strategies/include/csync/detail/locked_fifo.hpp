// csync/detail/locked_fifo.hpp
// -----------------------------------------------------------------------------
// The registry every queue strategy shares: waiters linked in FIFO order,
// every operation under one internal lock.
//
//   visit_fifo(fifo, visitor, woken)   the notify walk, for a caller that
//       holds the lock: offer each head to the primitive's visitor, detach it
//       on visit::wake (into `woken`) or visit::drop (delivered to nobody),
//       stop on visit::stop or an empty queue. atomic_waker's overflow queue
//       uses it too.
//   locked_fifo<Fifo, Stats>           the whole strategy skeleton over a
//       FIFO type (intrusive_fifo, or mutex_queue's deque): enqueue_if,
//       notify, cancel, wait, arm, deliver. intrusive_list, mutex_queue and
//       iocp are this class with a name (iocp also with its own deliver).
//
// State machine of a waiter (all transitions under `mutex_`):
//
//     unlinked --enqueue_if(pred()==true)--> linked   (push_back)
//     linked   --notify: visit::wake-------> detached, in the caller's
//                                            wake_list (delivered by the
//                                            caller after its last access)
//     linked   --notify: visit::drop-------> unlinked; nothing delivered
//     linked   --cancel--------------------> unlinked (true)
//     unlinked/detached --cancel-----------> unchanged (false)
//
// Races handled:
//   * check-then-register: pred() runs under the lock notify visits under,
//     so a notify that follows the primitive's state change either finds the
//     waiter linked or pred() saw the change.
//   * wake vs cancel: both decide under the lock; the loser learns it from
//     `waiter::linked` (cancel == false: a delivery is on its way, or the
//     waiter was dropped by a notifier that saw its owner give up first).
//   * waking under the lock: notify only detaches; delivery happens after
//     the caller's last access to the primitive (concept.hpp), so no woken
//     thread blocks on this lock and no delivered owner can destroy the
//     primitive under a notifier that is still inside it. Everything is
//     detached in ONE hold of the lock: re-taking it after a delivery could
//     touch a primitive the delivered waiters already destroyed.
//   * lifetime of a node: a waiter is unlinked before its frame can end --
//     its owner leaves a wait only after being delivered or after cancel.
//
// Cost: one lock acquisition per registration, notify and cancel; notify
// holds the lock for O(waiters detached).
// -----------------------------------------------------------------------------
#pragma once

#include <cassert>
#include <cstddef>
#include <mutex>

#include <csync/detail/atomic.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

namespace csync::detail {

struct visit_result {
  std::size_t woken = 0;  ///< detached into the wake_list
  bool drained = false;   ///< the visitor saw the queue empty (nullptr)
};

/// The notify walk; the caller holds the lock guarding `fifo`.
template <class Fifo, class Visitor>
visit_result visit_fifo(Fifo& fifo, Visitor& visitor, wake_list& woken) {
  visit_result result;
  for (;;) {
    waiter* head = fifo.front();
    const visit decision = visitor(head);
    if (head == nullptr) {
      result.drained = true;
      return result;
    }
    if (decision == visit::stop) return result;
    fifo.remove(*head);
    if (decision == visit::wake) {
      woken.push(*head);
      ++result.woken;
    }
  }
}

template <class Fifo, stats_hook Stats>
class locked_fifo {
 public:
  static constexpr bool has_queue = true;

  locked_fifo() = default;
  locked_fifo(const locked_fifo&) = delete;
  locked_fifo& operator=(const locked_fifo&) = delete;
  ~locked_fifo() { assert(fifo_.empty() && "strategy destroyed with waiters"); }

  template <class Pred>
  bool enqueue_if(waiter& w, Pred&& pred) {
    std::lock_guard guard(mutex_);
    fifo_.push_back(w);  // first: a push that throws (a deque block) has changed nothing
    bool registered = false;
    try {
      registered = pred();
    } catch (...) {
      fifo_.remove(w);
      throw;
    }
    if (!registered) fifo_.remove(w);
    return registered;
  }

  template <class Visitor>
  std::size_t notify(Visitor&& visitor, wake_list& woken) {
    std::lock_guard guard(mutex_);
    const visit_result result = visit_fifo(fifo_, visitor, woken);
    if (result.woken != 0) stats_.on_wake(result.woken);  // under the lock: before any delivery
    return result.woken;
  }

  bool cancel(waiter& w) {
    std::lock_guard guard(mutex_);
    if (!w.linked) return false;
    fifo_.remove(w);
    return true;
  }

  bool wait(waiter& w, deadline_t deadline) { return park(w, deadline); }
  void arm(waiter&) noexcept {}  // the notifier's delivery posts the coroutine
  void reclaim(waiter& w) noexcept { w.loop->retract(w.item); }  // the delivery is a post
  static void deliver(wake_list& woken) noexcept { deliver_all(woken); }
  Stats& stats() noexcept { return stats_; }

 private:
  detail::mutex mutex_;
  Fifo fifo_;  // guarded by mutex_
  [[no_unique_address]] Stats stats_;
};

}  // namespace csync::detail
