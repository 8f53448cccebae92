// csync/strategies/concept.hpp
// -----------------------------------------------------------------------------
// The wakeup-strategy concept: how a party that cannot proceed is recorded,
// put to sleep and woken.
//
// A strategy is the *registry* half of waiting. The *delivery* half (making a
// recorded party runnable again: unparking a blocked thread, posting a
// coroutine to its own loop) is `csync::detail::deliver` in
// <csync/detail/waiter.hpp>, shared by every strategy. Primitives
// (Semaphore, Mutex, Condvar) own their state word and combine the two.
//
// Every strategy serves every primitive and both waiter kinds:
//   * a thread waiter blocks in `wait`;
//   * a coroutine waiter suspends after `arm` and is resumed by its loop
//     when its waiter's work item runs there.
//
// Two families satisfy the same expressions:
//   * queue strategies (`has_queue == true`: mutex_queue, atomic_waker,
//     intrusive_list, iocp): waiters are linked in FIFO order; `notify`
//     lets the primitive inspect the head and decide, waiter by waiter,
//     whether to detach and deliver it. This is what makes FIFO hand-off
//     possible: the notifier grants the head its permits before waking it.
//   * eventcount strategies (`has_queue == false`: spin, futex,
//     uring_futex): nothing is linked; registration records an epoch in
//     `waiter::ticket` *before* the caller re-checks its condition, and
//     `notify` moves the epoch and wakes every sleeper. Wakes are broadcast
//     and may be spurious for most receivers; only barging is possible.
//
// The expressions, for `S s`, `detail::waiter w`, a predicate `pred` (bool())
// and a visitor `v` (visit(detail::waiter*)):
//
// S::name          std::string_view naming the mechanism ("mutex_queue").
// S::has_queue     constexpr bool, see above.
// S::options       aggregate of tuning knobs (spin budget...); `S(options)`.
// S::availability()  {available, reason}: whether this machine can run the
//                  strategy ("unavailable: io_uring disabled by sysctl").
//
// s.enqueue_if(w, pred) -> bool
//     "Register w if the condition is still false." Evaluates pred() exactly
//     once and registers w iff it returned true; returns pred()'s result.
//     The guarantee that makes lost wake-ups impossible: any `notify` that
//     starts after the caller made the condition false *through a state change
//     that pred reads* either observes w or runs after pred() observed the
//     change. Queue strategies run pred() inside their serialization (the
//     same serialization `notify` visits under), so pred may also *mutate*
//     primitive state atomically with registering -- the Semaphore takes
//     permits or marks itself "queued" there. Eventcount strategies store the
//     epoch into w.ticket first and then run pred(); the caller must then
//     change its state with an acq_rel RMW (or under a lock the notifier also
//     takes) before calling notify, so the epoch load happens-before the
//     epoch bump it might otherwise miss.
//     Before the call, w's delivery fields (loop, item) must be set and
//     w.state must be `waiting`. Thread-safe; any thread.
//
// s.notify(v, woken) -> std::size_t
//     Detach the waiters to wake into `woken` (a detail::wake_list); deliver
//     none of them. The caller delivers with S::deliver(woken) once it has
//     made its LAST access to the primitive and the strategy: a woken waiter
//     may own the primitive at once and destroy it (Semaphore::release, see
//     there). Returns the number of waiters detached into `woken`.
//     Queue strategies: under their serialization, repeatedly call v(head)
//     with the current head (or nullptr when the queue is empty -- the
//     primitive's chance to note, under the serialization, that nobody is
//     queued) until v returns visit::stop or the queue is empty. visit::wake
//     detaches the head into `woken`; visit::drop detaches it and delivers
//     nothing (its owner already gave up and is about to cancel: its cancel
//     then returns false, see Condvar). All of it in one hold of the
//     serialization; nothing is re-taken afterwards.
//     Eventcount strategies: bump the epoch and make every sleeper due for a
//     wake-up: coroutines parked in userspace (futex) go into `woken`, and
//     `woken.wake_all_on(epoch)` makes S::deliver wake the kernel sleepers by
//     address, which tolerates the strategy being gone by then. v is never
//     called.
//     Any thread, with or without the primitive's user lock held.
//
// S::deliver(woken) -> void, noexcept, static
//     Deliver every waiter in `woken` (detail::deliver: unpark a thread, post
//     a coroutine to its own loop) and wake its broadcast address. Static: it
//     must not touch any strategy or primitive object. The default is
//     detail::deliver_all; strategy::iocp groups coroutines per loop into one
//     completion packet each.
//
// s.cancel(w) -> bool
//     Withdraw a registered w (a timeout, a stop request). true: w was
//     removed and no delivery will ever arrive -- the caller owns nothing and
//     must let the primitive re-run its notify (the head may have changed).
//     false: a notify already detached w; its delivery has happened or is in
//     flight and WILL arrive (thread: `wait(w, nullopt)` returns promptly;
//     coroutine: w.item will be posted). The caller then owns whatever the
//     delivery carries (granted permits, a condvar notification) and must use
//     it or pass it on. false also when a notifier detached w with
//     visit::drop: then nothing arrives, and only a primitive that drops
//     waiters (Condvar, after its owner won the arbitration on w.state) may
//     rely on that. Only w's owner calls cancel, at most once per
//     registration.
//
// s.wait(w, deadline) -> bool          (thread waiters only)
//     Block the calling thread, which registered w, until w is delivered
//     (queue) or the epoch moves away from w.ticket (eventcount): true; or
//     until `deadline` passes: false (w is still registered -- call cancel).
//     Queue strategies never return true spuriously, and their wait is
//     detail::park(w, deadline), which touches only w (Condvar calls park
//     directly once a notifier may have destroyed it); eventcount strategies
//     return true on every epoch change, including ones meant for others.
//
// s.arm(w) -> void                     (coroutine waiters only)
//     Called once after enqueue_if returned true, from the coroutine's
//     await_suspend on its own loop's thread. Guarantees w.item will be
//     posted to w.loop exactly once for this registration: by a notify
//     (queue strategies: nothing to do here), by the strategy itself after a
//     poll interval (spin), or by a kernel completion (uring_futex).
//     Deadlines: when w.deadline is set (a coroutine that gives up at a
//     deadline), a strategy that can deliver by the deadline on its own sets
//     w.deadline_armed (uring_futex: an IORING_OP_LINK_TIMEOUT behind the
//     wait); otherwise the primitive keeps a timer on w's loop that calls
//     cancel(w) at the deadline.
//
// s.reclaim(w) -> void                 (coroutine waiters only)
//     Drop = cancel: w's coroutine frame is being destroyed while w is
//     registered and cancel(w) just returned false (a delivery is in
//     flight). Called on w's loop thread; returns once nothing refers to w
//     any more: the delivery has arrived and was taken back from the loop
//     unrun (Loop::retract), and any kernel request naming w was cancelled
//     and its completion reaped. The caller then owns what the delivery
//     carried (granted permits, a wake) and passes it on. Queue strategies
//     deliver by a plain post, so for them it is w.loop->retract(w.item),
//     which touches only w and the loop.
//
// s.stats() -> Stats&
//     The statistics hook (see <csync/strategies/stats.hpp>): counts wakes
//     issued; primitives count spurious and futile wake-ups through it. The
//     default `no_stats` compiles to nothing.
//
// Threads: every expression may be called from any thread concurrently,
// except that cancel/wait/arm on a given w are called only by w's owner.
// No strategy delivers a waiter while holding an internal lock; none delivers
// one inside notify at all (the caller does, after its last access).
// -----------------------------------------------------------------------------
#pragma once

#include <concepts>
#include <cstddef>
#include <string_view>
#include <type_traits>

#include <csync/detail/waiter.hpp>
#include <csync/strategies/stats.hpp>

namespace csync {

/// A notify visitor's decision about the head waiter.
enum class visit : unsigned char {
  wake,  ///< detach the head and deliver it, then visit the next head
  stop,  ///< leave the head (and everything behind it) queued
  drop,  ///< detach the head without delivering it (its owner is cancelling)
};

/// Whether a strategy can run on this machine, and if not, why.
struct availability {
  bool available = true;
  std::string_view reason{};  ///< empty when available
};

namespace detail {
// Archetypes: the weakest callables the concept promises to accept.
struct predicate_archetype {
  bool operator()() const;
};
struct visitor_archetype {
  visit operator()(waiter*);
};
}  // namespace detail

template <class S>
concept wakeup_strategy =
    std::default_initializable<typename S::options> &&
    std::constructible_from<S, const typename S::options&> &&
    std::bool_constant<S::has_queue>::value == S::has_queue &&  // a constant
    requires(S& s, detail::waiter& w, detail::deadline_t deadline,
             detail::predicate_archetype pred, detail::visitor_archetype visitor,
             detail::wake_list& woken) {
      { S::name } -> std::convertible_to<std::string_view>;
      { S::availability() } -> std::same_as<csync::availability>;
      { s.enqueue_if(w, pred) } -> std::same_as<bool>;
      { s.notify(visitor, woken) } -> std::same_as<std::size_t>;
      { S::deliver(woken) } noexcept -> std::same_as<void>;
      { s.cancel(w) } -> std::same_as<bool>;
      { s.wait(w, deadline) } -> std::same_as<bool>;
      { s.arm(w) } -> std::same_as<void>;
      { s.reclaim(w) } noexcept -> std::same_as<void>;
      requires stats_hook<std::remove_cvref_t<decltype(s.stats())>>;
    };

}  // namespace csync
