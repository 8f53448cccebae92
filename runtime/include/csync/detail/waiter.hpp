// csync/detail/waiter.hpp
// -----------------------------------------------------------------------------
// The waiter record every strategy links and every primitive fills in.
//
// A `waiter` lives in the waiting party's own memory: a blocked thread's stack
// frame or a suspended coroutine's frame. Strategies never allocate one.
// Fields are grouped by who owns them:
//
//   registry fields   prev, next, linked -- owned by the strategy; read and
//                     written only inside the strategy's serialization.
//   delivery fields   state, loop, item -- how the waiter is made runnable
//                     again (see `deliver`). Set by the waiter *before* it is
//                     registered; afterwards only `deliver` touches them.
//   payload fields    wanted, generation -- written by the primitive inside
//                     its `enqueue_if` predicate, read by its notify visitor.
//   ticket            written by eventcount strategies (spin, futex) at
//                     registration: the epoch observed before the re-check.
//   deadline          coroutine waiters that give up at a deadline: set by
//                     the primitive before `arm`; a strategy that can keep
//                     the deadline itself sets `deadline_armed` in `arm`
//                     (uring_futex: IORING_OP_LINK_TIMEOUT), otherwise the
//                     primitive keeps a timer on the waiter's loop.
//
// Delivery (the "runtime implements delivery" half of the design):
//   * thread waiter  (loop == nullptr): `state` goes waiting -> notified with a
//     release store, then the thread is woken through its address. The store
//     is the hand-over: afterwards the notifier touches only the address, in
//     a syscall that tolerates the memory being gone (address_wait.hpp).
//   * coroutine waiter (loop != nullptr): `item` is posted to `loop`; the loop
//     runs it on its own thread, never inline on the notifier's. The post is
//     the hand-over.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

#include <csync/detail/atomic.hpp>
#include <csync/detail/address_wait.hpp>
#include <csync/runtime/loop.hpp>
#include <csync/runtime/work_item.hpp>

namespace csync::detail {

/// `waiter::state`. Every registration starts at `waiting`; its fate is then
/// decided by exactly one transition out of it:
///
///   waiting --deliver--------------------------> notified   (the hand-over)
///   waiting --claim (notifier, under the registry's serialization)--> claimed
///   claimed --deliver--------------------------> notified
///   waiting --the owner gives up (CAS)---------> cancelled
///
/// `claimed` and `cancelled` are used by primitives that must arbitrate a
/// notification against the owner's own timeout without touching the
/// primitive afterwards (Condvar: the notifier may destroy it right after
/// notifying). The winner of the CAS out of `waiting` owns the outcome.
enum waiter_state : std::uint32_t {
  waiting = 0,    ///< registered (or about to be); no delivery yet
  notified = 1,   ///< a notifier handed this waiter over; it may run
  claimed = 2,    ///< a notifier took it; its delivery follows
  cancelled = 3,  ///< its owner gave up before any notifier claimed it
};

struct waiter {
  // --- registry fields (strategy's serialization) ---------------------------
  waiter* prev = nullptr;
  waiter* next = nullptr;
  bool linked = false;

  // --- delivery fields -------------------------------------------------------
  detail::atomic<std::uint32_t> state{waiting};
  runtime::Loop* loop = nullptr;  ///< null: a blocked thread
  runtime::work_item item{};      ///< coroutine waiters: what the loop runs
  void* context = nullptr;        ///< coroutine waiters: the awaiter owning this waiter

  // --- kernel waits (uring_futex: a wait in flight in the loop's io_uring) ---
  /// kernel_wait_state; written by the owner's loop and by a canceller.
  detail::atomic<std::uint32_t> kernel_wait{0};
  /// The primitive's `item.run`, saved while the strategy interposes on the
  /// completion, and the strategy that did so.
  void (*primitive_run)(runtime::work_item*) noexcept = nullptr;
  void* registry = nullptr;
  /// Posted to the owner's loop by a canceller on another thread: the ring may
  /// only be touched from its loop's thread.
  runtime::work_item cancel_item{};

  // --- coroutine deadlines (see the file comment) ----------------------------
  deadline_t deadline{};        ///< set by the primitive; nullopt: none
  bool deadline_armed = false;  ///< set by the strategy's arm(): it delivers by then
  /// uring_futex: `deadline` as the kernel's __kernel_timespec, which the
  /// LINK_TIMEOUT SQE points at until the loop submits it.
  struct {
    std::int64_t tv_sec = 0;
    std::int64_t tv_nsec = 0;
  } kernel_deadline;

  // --- payload ---------------------------------------------------------------
  std::size_t wanted = 0;        ///< Semaphore: permits this waiter needs
  std::uint64_t generation = 0;  ///< Condvar: notify_all generation at enqueue
  std::uint32_t ticket = 0;      ///< eventcount strategies: epoch at registration

  bool is_thread() const noexcept { return loop == nullptr; }

  /// Make the waiter ready for another registration (after a delivery was
  /// consumed). Only the waiter's owner calls this.
  void rearm() noexcept {
    // relaxed: the owner already observed `notified` with acquire (park) or
    // was resumed by its loop; no other thread touches `state` until the
    // waiter is registered again, and registration publishes it.
    state.store(waiting, std::memory_order_relaxed);
  }
};

static_assert(std::is_standard_layout_v<waiter>, "waiter_of() needs offsetof(waiter, item)");

/// The waiter whose `item` a loop is running.
inline waiter& waiter_of(runtime::work_item* item) noexcept {
  return *reinterpret_cast<waiter*>(reinterpret_cast<char*>(item) - offsetof(waiter, item));
}

/// The waiter whose `cancel_item` a loop is running.
inline waiter& waiter_of_cancel(runtime::work_item* item) noexcept {
  return *reinterpret_cast<waiter*>(reinterpret_cast<char*>(item) -
                                    offsetof(waiter, cancel_item));
}

/// Hand `w` over to its owner. Called by strategies after `w` was detached and
/// after every internal lock was released. `w` must not be touched afterwards.
inline void deliver(waiter& w) noexcept {
  if (runtime::Loop* loop = w.loop) {
    loop->post(w.item);  // the post is the hand-over; run on the waiter's loop
    return;
  }
  // release: pairs with the acquire load in park(); everything the notifier
  // did before (granting permits, unlinking) is visible to the woken thread.
  w.state.store(notified, std::memory_order_release);
  wake_address_one(w.state);  // may hit a returned waiter: harmless, see above
}

/// Thread waiters: sleep until delivered (true) or until `deadline` (false).
/// Touches only `w`, never the primitive or strategy that registered it.
inline bool park(waiter& w, deadline_t deadline = std::nullopt) noexcept {
  for (;;) {
    // acquire: pairs with the release store in deliver().
    const std::uint32_t s = w.state.load(std::memory_order_acquire);
    if (s == notified) return true;
    // Sleep while the word still reads `s` (waiting, or claimed: a delivery
    // is on its way); deliver()'s store changes it before its wake.
    if (!wait_on_address(w.state, s, deadline)) {
      return w.state.load(std::memory_order_acquire) == notified;
    }
  }
}

/// Waiters a notify detached, in FIFO order, to be delivered only after the
/// notifier's last access to the primitive (see `wakeup_strategy::notify`).
/// Linked through `waiter::next`, which a detached waiter no longer needs, so
/// it holds any number of waiters without allocating. It may also carry one
/// address to wake every kernel sleeper on (an eventcount's epoch word):
/// a wake by address tolerates the memory being gone by then.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;
  ~wake_list() { assert(empty() && "wake_list dropped undelivered waiters"); }

  bool empty() const noexcept { return head_ == nullptr && broadcast_ == nullptr; }

  /// Appends a detached waiter (its registry fields are free).
  void push(waiter& w) noexcept {
    w.next = nullptr;
    (tail_ ? tail_->next : head_) = &w;
    tail_ = &w;
  }

  /// After delivery, wake every kernel sleeper on `word` (FUTEX_WAKE all).
  void wake_all_on(std::atomic<std::uint32_t>& word) noexcept { broadcast_ = &word; }

  /// Removes and returns the first waiter, or nullptr. Read `next` before
  /// delivering a waiter: once delivered it may be gone.
  waiter* pop() noexcept {
    waiter* w = head_;
    if (w) {
      head_ = w->next;
      if (!head_) tail_ = nullptr;
    }
    return w;
  }

  /// Takes the broadcast address (nullptr if none).
  std::atomic<std::uint32_t>* take_broadcast() noexcept { return std::exchange(broadcast_, nullptr); }

 private:
  waiter* head_ = nullptr;
  waiter* tail_ = nullptr;
  std::atomic<std::uint32_t>* broadcast_ = nullptr;
};

/// The default delivery of a wake_list: each waiter by `deliver`, then the
/// broadcast wake. Touches no primitive or strategy object.
inline void deliver_all(wake_list& woken) noexcept {
  while (waiter* w = woken.pop()) deliver(*w);
  if (std::atomic<std::uint32_t>* word = woken.take_broadcast()) wake_address_all(*word);
}

}  // namespace csync::detail
