// csync/strategies/atomic_waker.hpp
// -----------------------------------------------------------------------------
// strategy::atomic_waker -- the seed crate's hybrid, without its races:
// a single waiter lives in a word-sized slot claimed with CAS (no mutex, no
// allocation); from the second concurrent waiter on, waiters overflow into an
// intrusive FIFO guarded by a std::mutex until the queue drains.
//
// The slot word (waiters are 8-byte aligned, so the low bits are free):
//
//   value          meaning                                      who may change it
//   0 (empty)      no waiter                                    CAS by anyone
//   p              exactly one waiter, *p                       CAS by anyone
//   p|1, 1         slot claimed: the claimer runs pred(), a     only the claimer
//                  visitor or a promotion; others back off      (plain store)
//   2 (multi)      waiters are in overflow_                     only under overflow_mutex_
//
// Operations (every mode change is a CAS or a store by the unique claimer --
// never a blind store over somebody else's state, the seed's "mode
// overwrite"):
//
//   enqueue_if  empty: claim, pred(), publish p or release empty.
//               single p: claim, pred(), then promote: under the mutex push p
//               and the newcomer (p first: FIFO), store multi.
//               multi: under the mutex, re-check multi, pred(), push.
//   notify      empty/single: claim, visit the head (and nullptr after
//               detaching it), release; the head goes into the caller's
//               wake_list. multi: the shared walk (detail::visit_fifo) under
//               the mutex, in one hold; when the queue drains, store empty
//               under the mutex.
//   cancel      single p == w: CAS p -> empty (true). multi: under the mutex,
//               unlink if still linked (and store empty when the queue is
//               now empty). Anything else: w was detached by a
//               notify, whose delivery is in flight (false).
//
// Races handled (the four ways a one-slot waker goes wrong):
//   (a) mode overwrite: modes change only by CAS from an observed value or by
//       the claimer/mutex holder; multi -> empty happens only under the mutex
//       with the queue empty.
//   (b) slot theft: a waiter's cancel CASes the slot from *its own* pointer;
//       a promoted waiter is no longer in the slot, so its cancel goes to the
//       queue.
//   (c) stale/duplicate waiters: a waiter is registered at most once per
//       enqueue_if and unlinked by exactly one of notify/cancel.
//   (d) wake swallowed on cancel: cancel returns false when the notify won;
//       the primitive then uses or forwards what the delivery carries.
//   A claimer holds the slot for a bounded number of instructions (pred or
//   visitor, both O(1) in csync's primitives); contenders spin, then yield.
//
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <cstdint>
#include <mutex>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/detail/backoff.hpp>
#include <csync/detail/intrusive_fifo.hpp>
#include <csync/detail/locked_fifo.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_ATOMIC_WAKER 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_atomic_waker {
 public:
  static constexpr std::string_view name = "atomic_waker";
  static constexpr bool has_queue = true;
  struct options {};

  basic_atomic_waker() = default;
  explicit basic_atomic_waker(const options&) {}
  basic_atomic_waker(const basic_atomic_waker&) = delete;
  basic_atomic_waker& operator=(const basic_atomic_waker&) = delete;
  ~basic_atomic_waker() {
    assert(slot_.load(std::memory_order_relaxed) == empty_slot && overflow_.empty() &&
           "strategy destroyed with waiters");
  }

  static csync::availability availability() noexcept { return {}; }

  // @model(aw.enqueue_if)
  template <class Pred>
  bool enqueue_if(detail::waiter& w, Pred&& pred) {
    detail::backoff backoff;
    for (;;) {
      // acquire: pairs with the release stores that publish a slot value, so
      // a claimer sees the waiter fields written before the waiter was stored.
      std::uintptr_t s = slot_.load(std::memory_order_acquire);
      if (s & claimed_bit) {
        backoff.pause();
        continue;
      }
      if (s == multi) {
        std::lock_guard guard(overflow_mutex_);
        // @model(aw.enqueue_if.multi)
        if (!still_multi()) continue;
        if (!pred()) return false;
        overflow_.push_back(w);
        return true;
      }
      // @model(aw.enqueue_if.claim)
      if (!claim(s)) continue;
      if (!pred()) {
        release(s);
        return false;
      }
      // @model(aw.enqueue_if.publish)
      if (s == empty_slot) {
        w.linked = true;
        release(address_of(w));
        return true;
      }
      // @model(aw.enqueue_if.promote)
      // A second waiter: promote both into the queue, the older one first.
      {
        std::lock_guard guard(overflow_mutex_);
        detail::waiter& first = *waiter_at(s);
        first.linked = false;  // re-linked by push_back below
        overflow_.push_back(first);
        overflow_.push_back(w);
        release(multi);
      }
      return true;
    }
  }

  // @model(aw.notify)
  template <class Visitor>
  std::size_t notify(Visitor&& visitor, detail::wake_list& woken) {
    detail::backoff backoff;
    for (;;) {
      std::uintptr_t s = slot_.load(std::memory_order_acquire);  // pairs as in enqueue_if
      if (s & claimed_bit) {
        backoff.pause();
        continue;
      }
      if (s == multi) {
        std::lock_guard guard(overflow_mutex_);
        // @model(aw.notify.multi)
        if (!still_multi()) continue;
        const detail::visit_result result = detail::visit_fifo(overflow_, visitor, woken);
        // @model(aw.notify.drain)
        if (result.drained) release(empty_slot);  // drained: back to the slot
        if (result.woken != 0) stats_.on_wake(result.woken);  // under the mutex: before delivery
        return result.woken;
      }
      if (!claim(s)) continue;
      // @model(aw.notify.single)
      detail::waiter* head = s == empty_slot ? nullptr : waiter_at(s);
      const visit decision = visitor(head);
      if (head == nullptr || decision == visit::stop) {
        release(s);
        return 0;
      }
      head->linked = false;
      visitor(nullptr);  // the registry is now empty; let the primitive see it
      if (decision == visit::drop) {
        release(empty_slot);
        return 0;
      }
      stats_.on_wake(1);
      release(empty_slot);
      woken.push(*head);  // delivered by the caller, after its last access
      return 1;
    }
  }

  // @model(aw.cancel)
  bool cancel(detail::waiter& w) {
    detail::backoff backoff;
    for (;;) {
      std::uintptr_t s = slot_.load(std::memory_order_acquire);  // pairs as in enqueue_if
      if (s & claimed_bit) {
        backoff.pause();
        continue;
      }
      if (s == multi) {
        std::lock_guard guard(overflow_mutex_);
        if (!still_multi()) continue;
        // @model(aw.cancel.multi)
        if (!w.linked) return false;
        overflow_.remove(w);
        // The last waiter left: back to the slot. A Semaphore would also get
        // there through its follow-up notify, but a Condvar sends none.
        if (overflow_.empty()) release(empty_slot);
        return true;
      }
      // @model(aw.cancel.single)
      if (s != address_of(w)) return false;  // a notify detached w
      // acquire on success: pairs with the release() of a notifier that
      // claimed the slot, read w's fields and put w back; w's frame may be
      // reused as soon as we return, so those reads must happen-before.
      if (slot_.compare_exchange_weak(s, empty_slot, std::memory_order_acquire,
                                      std::memory_order_relaxed)) {
        w.linked = false;
        return true;
      }
    }
  }

  bool wait(detail::waiter& w, detail::deadline_t deadline) { return detail::park(w, deadline); }
  void arm(detail::waiter&) noexcept {}  // the notifier's delivery posts the coroutine
  void reclaim(detail::waiter& w) noexcept { w.loop->retract(w.item); }  // the delivery is a post
  static void deliver(detail::wake_list& woken) noexcept { detail::deliver_all(woken); }
  Stats& stats() noexcept { return stats_; }

 private:
  static constexpr std::uintptr_t empty_slot = 0;
  static constexpr std::uintptr_t claimed_bit = 1;
  static constexpr std::uintptr_t multi = 2;
  static_assert(alignof(detail::waiter) >= 4, "the slot encoding needs two free low bits");

  static std::uintptr_t address_of(detail::waiter& w) noexcept {
    return reinterpret_cast<std::uintptr_t>(&w);
  }
  static detail::waiter* waiter_at(std::uintptr_t s) noexcept {
    return reinterpret_cast<detail::waiter*>(s & ~claimed_bit);
  }

  bool claim(std::uintptr_t observed) noexcept {
    // acquire: pairs with release() by the previous claimer (or the registering
    // waiter's publish), making its writes -- waiter fields, queue state -- ours.
    return slot_.compare_exchange_weak(observed, observed | claimed_bit,
                                       std::memory_order_acquire, std::memory_order_relaxed);
  }
  void release(std::uintptr_t value) noexcept {
    // release: pairs with claim()/the acquire loads of the next party.
    slot_.store(value, std::memory_order_release);
  }
  bool still_multi() const noexcept {
    // relaxed: every transition into and out of `multi` happens under
    // overflow_mutex_, which the caller holds.
    return slot_.load(std::memory_order_relaxed) == multi;
  }

  detail::atomic<std::uintptr_t> slot_{empty_slot};
  detail::mutex overflow_mutex_;
  detail::intrusive_fifo overflow_;  // guarded by overflow_mutex_
  [[no_unique_address]] Stats stats_;
};

using atomic_waker = basic_atomic_waker<>;

}  // namespace csync::strategy
