// csync/condvar.hpp
// -----------------------------------------------------------------------------
// csync::Condvar<S> -- a condition variable (not a sticky event) for threads
// holding any BasicLockable and for coroutines holding a csync::Mutex, over
// any wakeup strategy S.
//
// Semantics are std::condition_variable_any's:
//   * wait(lock) atomically releases `lock` and sleeps until notified (or
//     spuriously), then re-acquires `lock` before returning. "Atomically":
//     the waiter is registered before `lock` is released, so a notify issued
//     by a thread that changed the shared state under `lock` afterwards
//     cannot be missed.
//   * notify_one() wakes at least one waiter registered before the call, if
//     any (queue strategies: exactly one, the longest waiting; eventcount
//     strategies: every waiting thread, the others' wake-ups being spurious,
//     and the longest-waiting coroutine -- see "Coroutine waiters").
//   * notify_all() wakes every waiter registered before the call and none
//     that registers after it started (a generation snapshot, tokio#5396).
//   * wait(lock, pred) loops until pred() holds; wait_for/wait_until give up
//     at a deadline (a notification racing the deadline wins: the waiter
//     reports no_timeout / the predicate's value).
//   * co_await cv.async_wait(mutex, pred): the coroutine must hold `mutex`
//     (a csync::Mutex); it is released while waiting and held again when
//     the coroutine resumes -- on its own loop -- with pred() true. With a
//     stop_token, a stop request ends the wait early, and async_wait_for /
//     async_wait_until end it at a deadline: co_await yields pred()'s value,
//     still holding the mutex.
//
// Memory ordering: the user's lock orders the shared state; in addition, for
// threads X and Y, if X's notify delivers Y, everything X did before notify
// happens-before Y returns from wait.
//
// Coroutine waiters always wait in a queue: the strategy's own when it has
// one; with an eventcount strategy (spin, futex, uring_futex), whose notify
// is a broadcast that cannot tell its waiters apart, in a FIFO the Condvar
// keeps for them (strategy::intrusive_list: the queue strategies' registry).
// Thread waiters use the strategy's wait: a queue strategy's park, or the
// eventcount's poll / futex sleep. So a coroutine's wake follows one
// protocol everywhere (claimed, then posted to its loop), and only the
// thread-waiter path differs between the two families.
//
// Lifetime (std::condition_variable_any's rule): a Condvar may be destroyed
// once every waiter has been notified -- also while a notified waiter is
// still inside wait re-acquiring the user's lock, e.g. by the notifier,
// under the lock, right after notify_one(), from any thread or task.
// Destroying it while a waiter was never notified is a usage error
// (asserted in debug builds).
//   * Queued waiters (every coroutine; threads on a queue strategy): a
//     notifier claims each waiter it wakes (a CAS on the waiter's own state
//     word) and accounts for it; from then on the woken waiter touches only
//     its own record and the user's lock -- and the Condvar only through a
//     pin of detail::liveness, when it is dropped (below) -- never the
//     Condvar itself. A waiter whose deadline or stop request races the
//     notify arbitrates on the same word: if it wins, the notifier drops it
//     unwoken and the waiter finishes its cancellation; the destructor waits
//     for such a waiter to finish leaving (it is running, not waiting).
//   * Threads on an eventcount strategy are woken by broadcast and so cannot
//     be claimed: a woken thread still reads the epoch once, and may leave
//     while its notifier is still inside notify. The destructor waits until
//     every such thread has left and every notifier has returned, as glibc's
//     pthread_cond_destroy does; both are running, so this wait is short and
//     cannot deadlock a loop. So a woken waiter may destroy the condvar even
//     when the notifier called notify without holding the lock.
// A notifier may notify with or without holding the lock.
//
// Drop = cancel: a coroutine frame destroyed while it waits (on its loop's
// thread) withdraws its wait in the awaiter's destructor: on the condvar,
// the registration is cancelled; while re-acquiring the mutex, as
// Semaphore's wait (the lock passed on if it was already handed over). A
// notification it was already given is passed on to the next waiter (what
// POSIX asks of a pthread_cond_wait cancelled while blocked; csync also does
// it for a wait dropped while re-acquiring the mutex) -- if the condvar
// still exists: its notifier may have destroyed it at once, and then no
// waiter was left to pass it to. detail::liveness answers that question
// safely (an extra notify_one costs at most a spurious wake-up).
//
// Exceptions: a wait that throws (std::bad_alloc: a deadline's timer slot,
// mutex_queue's deque) leaves the condvar as it was and returns holding the
// lock. Only re-acquiring a csync::Mutex after a coroutine's wake cannot fail
// gracefully: if registering for it throws, std::terminate is called, as
// std::condition_variable_any does when it cannot re-lock.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>  // std::cv_status
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <csync/detail/atomic.hpp>
#include <csync/detail/backoff.hpp>
#include <csync/detail/give_up.hpp>
#include <csync/detail/liveness.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/mutex.hpp>
#include <csync/runtime/loop.hpp>
#include <csync/semaphore.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/default.hpp>
#include <csync/strategies/intrusive_list.hpp>

namespace csync {

namespace detail {
/// The queue in which a Condvar over the eventcount strategy S keeps its
/// coroutine waiters (see "Coroutine waiters"). A point of customization
/// for tests that wrap S in an instrumented strategy.
template <class S>
struct condvar_coroutine_queue {
  using type = strategy::intrusive_list;
};
}  // namespace detail

template <wakeup_strategy S = default_strategy>
class Condvar {
 public:
  using strategy_type = S;

  Condvar() = default;
  explicit Condvar(const typename S::options& options) : strategy_(options) {}
  Condvar(const Condvar&) = delete;
  Condvar& operator=(const Condvar&) = delete;
  /// Waits for waiters that are still leaving and, with an eventcount
  /// strategy, for notifiers still inside notify (see "Lifetime").
  ~Condvar() {
    detail::backoff backoff;
#if !defined(NDEBUG)
    const auto give_up_at = std::chrono::steady_clock::now() + std::chrono::seconds(10);
#endif
    // acquire: pairs with leave()'s release decrement -- each leaving
    // waiter's last access happens-before the destruction.
    while (waiting_.load(std::memory_order_acquire) != 0) {
      // A waiter that is leaving is running and takes a few instructions; one
      // that was never notified will not come: a usage error.
      assert(std::chrono::steady_clock::now() < give_up_at &&
             "csync::Condvar destroyed while a waiter was never notified");
      backoff.pause();
    }
    if constexpr (!S::has_queue) {
      // acquire: pairs with notify_scope's release decrement -- a notifier's
      // last access to *this happens-before the destruction. A notifier is
      // running (notify never blocks), so this wait is short.
      while (notifying_.load(std::memory_order_acquire) != 0) backoff.pause();
    }
  }

  void notify_one() {
    if (!may_have_waiters()) return;
    detail::wake_list woken;
    bool woke = false;
    {
      const notify_scope inside(*this);
      notify_queues(
          [this, &woke](detail::waiter* head) {
            if (head == nullptr || woke) return visit::stop;
            if (!claim(*head)) return visit::drop;  // its owner gave up first: not a wake
            woke = true;
            return visit::wake;
          },
          woken);
    }
    S::deliver(woken);  // no access to *this from here on
  }

  void notify_all() {
    if (!may_have_waiters()) return;
    detail::wake_list woken;
    std::optional<std::uint64_t> snapshot;
    {
      const notify_scope inside(*this);
      notify_queues(
          [this, &snapshot](detail::waiter* head) {
            // Taken inside the queue's serialization, which also orders every
            // registration's generation read: later registrations see a larger
            // one. relaxed: that serialization provides the ordering.
            if (!snapshot) snapshot = generation_.fetch_add(1, std::memory_order_relaxed);
            if (head == nullptr || head->generation > *snapshot) return visit::stop;
            return claim(*head) ? visit::wake : visit::drop;
          },
          woken);
    }
    S::deliver(woken);  // no access to *this from here on
  }

  template <class Lock>
  void wait(Lock& lock) {
    wait_until_impl(lock, std::nullopt);
  }

  template <class Lock, class Pred>
  void wait(Lock& lock, Pred pred) {
    if (pred()) return;
    for (;;) {  // one evaluation of pred per wake, as the standard's loop
      wait_until_impl(lock, std::nullopt);
      if (pred()) return;
      count_useless_wake(S::has_queue);
    }
  }

  template <class Lock, class Clock, class Duration>
  std::cv_status wait_until(Lock& lock, std::chrono::time_point<Clock, Duration> deadline) {
    return wait_until_impl(lock, detail::to_steady(deadline)) ? std::cv_status::no_timeout
                                                      : std::cv_status::timeout;
  }

  template <class Lock, class Clock, class Duration, class Pred>
  bool wait_until(Lock& lock, std::chrono::time_point<Clock, Duration> deadline, Pred pred) {
    const auto steady_deadline = detail::to_steady(deadline);
    while (!pred()) {
      if (!wait_until_impl(lock, steady_deadline)) return pred();
    }
    return true;
  }

  template <class Lock, class Rep, class Period>
  std::cv_status wait_for(Lock& lock, std::chrono::duration<Rep, Period> timeout) {
    return wait_until(lock, std::chrono::steady_clock::now() + timeout);
  }

  template <class Lock, class Rep, class Period, class Pred>
  bool wait_for(Lock& lock, std::chrono::duration<Rep, Period> timeout, Pred pred) {
    return wait_until(lock, std::chrono::steady_clock::now() + timeout, std::move(pred));
  }

  /// `co_await cv.async_wait(mutex, pred)` -- see the header comment.
  template <wakeup_strategy M, class Pred>
  [[nodiscard("nothing waits until the awaitable is co_awaited")]]
  auto async_wait(Mutex<M>& mutex, Pred pred) {
    return wait_awaiter<detail::give_up_on::never, M, Pred>(*this, mutex, std::move(pred));
  }
  template <wakeup_strategy M, class Pred>
  [[nodiscard("nothing waits until the awaitable is co_awaited")]]
  auto async_wait(Mutex<M>& mutex, Pred pred, std::stop_token stop) {
    return wait_awaiter<detail::give_up_on::stop, M, Pred>(*this, mutex, std::move(pred),
                                                           std::move(stop));
  }
  /// Gives up at a deadline: co_await yields pred()'s value, holding the mutex.
  template <wakeup_strategy M, class Rep, class Period, class Pred>
  [[nodiscard("nothing waits until the awaitable is co_awaited")]]
  auto async_wait_for(Mutex<M>& mutex, std::chrono::duration<Rep, Period> timeout, Pred pred) {
    return async_wait_until(mutex, std::chrono::steady_clock::now() + timeout, std::move(pred));
  }
  template <wakeup_strategy M, class Clock, class Duration, class Pred>
  [[nodiscard("nothing waits until the awaitable is co_awaited")]]
  auto async_wait_until(Mutex<M>& mutex, std::chrono::time_point<Clock, Duration> deadline,
                        Pred pred) {
    return wait_awaiter<detail::give_up_on::deadline, M, Pred>(*this, mutex, std::move(pred),
                                                               detail::to_steady(deadline));
  }

  S& strategy() noexcept { return strategy_; }

  /// Where coroutine waiters register (see "Coroutine waiters"): strategy()
  /// itself when it has a queue, else the queue the condvar keeps for them.
  /// For statistics and tests.
  auto& coroutine_queue() noexcept {
    if constexpr (S::has_queue) {
      return strategy_;
    } else {
      return coroutine_queue_;
    }
  }

 private:
  struct no_coroutine_queue {};
  struct no_notifier_count {};

  /// Eventcount strategies: a notifier inside notify. Their broadcast
  /// cannot tell its waiters apart, so a woken thread is not claimed and may
  /// see the epoch move, leave and destroy the condvar while the notifier
  /// still reads the strategy (its sleeper count) or the coroutine queue;
  /// the destructor waits for the count to drop (queue strategies need
  /// none: nobody they wake runs before the delivery, after the last access).
  class notify_scope {
   public:
    explicit notify_scope(Condvar& cv) noexcept : cv_(cv) {
      // relaxed: ordered before the epoch bump inside, a release RMW that a
      // waking thread acquires before it can leave and destroy *this.
      if constexpr (!S::has_queue) cv_.notifying_.fetch_add(1, std::memory_order_relaxed);
    }
    ~notify_scope() {
      // release: pairs with the destructor's acquire load; our last access.
      if constexpr (!S::has_queue) cv_.notifying_.fetch_sub(1, std::memory_order_release);
    }
    notify_scope(const notify_scope&) = delete;
    notify_scope& operator=(const notify_scope&) = delete;

   private:
    Condvar& cv_;
  };

  /// Runs `visitor` over the queued waiters (it decides who is woken) into
  /// `woken`; an eventcount strategy's notify also bumps its epoch for the
  /// threads (a broadcast: it never calls the visitor). No delivery yet.
  template <class Visitor>
  void notify_queues(Visitor&& visitor, detail::wake_list& woken) {
    if constexpr (!S::has_queue) {
      // Counted before any delivery: a delivered owner may destroy *this.
      if (const std::size_t n = coroutine_queue_.notify(visitor, woken); n != 0) {
        strategy_.stats().on_wake(n);
      }
    }
    strategy_.notify(visitor, woken);
  }

  bool may_have_waiters() const noexcept {
    // relaxed: a waiter increments waiting_ before releasing the user's lock;
    // a notifier that changed the shared state under that lock afterwards
    // acquired it, so the increment happens-before this load. A notifier
    // that did not take the lock has no ordering to rely on in any condvar.
    return waiting_.load(std::memory_order_relaxed) != 0;
  }

  /// Queue strategies, inside the notify visitor: take `w` from its owner
  /// (waiting -> claimed) and account for it, so that the woken owner never
  /// touches *this again. false: the owner gave up first (cancelled); it
  /// still counts in waiting_ and will account for itself.
  bool claim(detail::waiter& w) noexcept {
    std::uint32_t expected = detail::waiting;
    // relaxed: the claim decides only who owns the outcome; the owner learns
    // it from its failed CAS and then waits for the delivery's release store
    // (detail::deliver / the post), which carries everything else.
    if (!w.state.compare_exchange_strong(expected, detail::claimed, std::memory_order_relaxed)) {
      return false;
    }
    // relaxed: under the strategy's serialization; the destructor's acquire
    // load pairs with the owners' release decrements, not with this one
    // (the notifier itself, or a thread it synchronizes with, is the one who
    // may destroy; a pass-on notify from a dropped waiter running meanwhile
    // is covered by its liveness pin).
    waiting_.fetch_sub(1, std::memory_order_relaxed);
    return true;
  }

  /// The owner of `w` gave up (deadline, stop request): true if it won the
  /// arbitration (waiting -> cancelled) and must finish the cancellation and
  /// account for itself; false if a notifier claimed it (its delivery is on
  /// the way and the owner must not touch *this).
  static bool win_cancel(detail::waiter& w) noexcept {
    std::uint32_t expected = detail::waiting;
    // relaxed: as claim(); a notifier that then sees `cancelled` only drops w.
    return w.state.compare_exchange_strong(expected, detail::cancelled,
                                           std::memory_order_relaxed);
  }

  /// A waiter's last access to *this: it no longer counts in waiting_.
  void leave() noexcept {
    // release: pairs with the destructor's acquire load; every access this
    // waiter made to *this happens-before the destruction.
    waiting_.fetch_sub(1, std::memory_order_release);
  }

  /// A wake after which the predicate still failed: futile if the waiter
  /// was delivered for it (queued), spurious if an eventcount's broadcast
  /// woke a thread it was not meant for (stats.hpp).
  void count_useless_wake(bool queued) noexcept {
    if (queued) strategy_.stats().on_futile(); else strategy_.stats().on_spurious();
  }

  /// Registers w (unless `stop` is already requested, checked inside the
  /// registry's serialization so it cannot slip past a concurrent cancel)
  /// in `registry`: the strategy for a thread, coroutine_queue() for a
  /// coroutine. w then counts in waiting_ until a notifier claims it or it
  /// leaves.
  template <class Registry>
  bool register_waiter(Registry& registry, detail::waiter& w,
                       const std::stop_token* stop = nullptr) {
    waiting_.fetch_add(1, std::memory_order_relaxed);  // ordered by the user's lock, see above
    bool registered = false;
    try {
      registered = registry.enqueue_if(w, [&] {
        if (stop && stop->stop_requested()) return false;
        // `waiting` only now, inside the serialization and for a registration
        // that stands: a give-up arbitrating on w.state (win_cancel, from a
        // stop callback on another thread) must never win against a wait that
        // is not linked yet -- it would account for it and post it while the
        // registration is refused and accounted for again.
        w.rearm();
        // relaxed: inside the registry's serialization (see notify_all).
        w.generation = generation_.load(std::memory_order_relaxed);
        return true;
      });
    } catch (...) {  // std::bad_alloc from mutex_queue's deque: nothing registered
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      throw;
    }
    if (!registered) waiting_.fetch_sub(1, std::memory_order_relaxed);
    return registered;
  }

  /// true: notified (or a spurious eventcount wake); false: deadline passed.
  template <class Lock>
  bool wait_until_impl(Lock& lock, detail::deadline_t deadline) {
    detail::waiter w;
    register_waiter(strategy_, w);
    lock.unlock();
    bool notified;
    if constexpr (S::has_queue) {
      // A queue strategy's wait is detail::park (concept.hpp), which touches
      // only w: called directly, since a notifier may destroy *this as soon
      // as it has claimed us.
      notified = detail::park(w, deadline);
      if (!notified) {
        if (win_cancel(w)) {
          strategy_.cancel(w);  // unlinks w, unless a notifier dropped it already
          leave();
        } else {
          detail::park(w);  // claimed: the delivery is ours, and on its way
          notified = true;
        }
      }
    } else {
      notified = strategy_.wait(w, deadline);
      if (!notified && !strategy_.cancel(w)) {
        strategy_.wait(w, std::nullopt);  // a notify won the race: it is ours
        notified = true;
      }
      leave();
    }
    lock.lock();
    return notified;
  }

  // ---- coroutine waiters ---------------------------------------------------

  /// Lives in the awaiting coroutine's frame. Two waiter nodes: one for the
  /// condvar's registry, one for re-acquiring the mutex (a node is never in
  /// two registries, so a late cancel cannot touch the wrong one). `When`
  /// says when it gives up (give_up.hpp); only the condvar phase is
  /// cancellable: once notified, the coroutine must get the mutex back before
  /// it may return anyway.
  template <detail::give_up_on When, wakeup_strategy M, class Pred>
  class wait_awaiter {
    static constexpr bool can_give_up = When != detail::give_up_on::never;
    using give_up_policy = detail::give_up<When, wait_awaiter>;
    friend give_up_policy;

   public:
    template <class... GiveUpArgs>
    wait_awaiter(Condvar& cv, Mutex<M>& mutex, Pred pred, GiveUpArgs&&... args)
        : cv_(cv), mutex_(mutex), pred_(std::move(pred)),
          give_up_(std::forward<GiveUpArgs>(args)...) {}
    wait_awaiter(const wait_awaiter&) = delete;
    wait_awaiter& operator=(const wait_awaiter&) = delete;

    /// Drop = cancel: the coroutine frame is destroyed while it waits (on its
    /// loop's thread), not holding the mutex. A condvar wait is withdrawn; a
    /// wait to re-acquire the mutex is withdrawn as Semaphore's is, the lock
    /// passed on if it was already granted; a notification already given to
    /// us is passed on (see "Drop = cancel"). Nothing refers to the frame
    /// afterwards.
    ~wait_awaiter() {
      if (phase_ == phase::done) return;
      give_up_.unwatch(cv_waiter_);  // no give_up() runs after this
      if (phase_ == phase::relocking) {
        mutex_.sem_.abandon_wait(lock_waiter_);
        if (!cancelled_) pass_on_notification();
        return;
      }
      if (cancelled_) {
        cv_waiter_.loop->retract(cv_waiter_.item);  // give_up() withdrew us and posted us
        return;
      }
      if (win_cancel(cv_waiter_)) {
        cv_.coroutine_queue().cancel(cv_waiter_);  // unlinks us, unless a notifier dropped us
        cv_.leave();
      } else {
        cv_waiter_.loop->retract(cv_waiter_.item);  // claimed: its post is on its way
        pass_on_notification();
      }
    }

    bool await_ready() { return satisfied_ = pred_(); }  // the caller holds the mutex

    bool await_suspend(std::coroutine_handle<> handle) {
      runtime::Loop* loop = runtime::Loop::current();
      if (!loop) detail::throw_no_loop("csync::Condvar::async_wait");
      handle_ = handle;
      for (detail::waiter* w : {&cv_waiter_, &lock_waiter_}) {
        w->loop = loop;
        w->context = this;
      }
      cv_waiter_.item.run = &on_notified;
      lock_waiter_.item.run = &on_locked;
      lock_waiter_.wanted = 1;
      // While the condvar is certainly alive (before we register and may be
      // claimed): what a drop needs to find it again.
      condvar_ticket_ = cv_.liveness_.enrol();
      // Given up already (stop requested, deadline passed): report, still
      // holding the mutex.
      return !give_up_.due() && register_and_unlock();
    }

    auto await_resume() {
      give_up_.unwatch(cv_waiter_);
      // Registering again after a wake threw (std::bad_alloc from
      // mutex_queue's deque): the coroutine gets it, holding the mutex.
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      if constexpr (can_give_up) return satisfied_;
    }

   private:
    /// Holding the mutex: register on the condvar, then release the mutex.
    /// false: a stop request won (checked inside the registration). Throws
    /// only before registering (reserving the deadline's timer slot).
    bool register_and_unlock() {
      give_up_.prepare(cv_waiter_);  // may throw: nothing registered, mutex still held
      if (!cv_.register_waiter(cv_.coroutine_queue(), cv_waiter_, give_up_.stop())) return false;
      phase_ = phase::on_condvar;
      // From here a notifier (with or without the mutex) may claim us and
      // destroy the condvar: touch it no more. A queue's arm() does nothing
      // (concept.hpp: the notifier's delivery posts us), so it is not called.
      mutex_.unlock();
      give_up_.watch(*this, cv_waiter_);  // noexcept: prepare() made room for it
      recheck_stop();
      return true;
    }

    /// A stop callback that ran between our previous wake and this
    /// registration lost its win_cancel (we were `claimed`) and will not run
    /// again. Look once more now that we are `waiting`. seq_cst fence: pairs
    /// with give_up()'s, so that either this load sees the stop request or
    /// the callback's win_cancel sees `waiting` (or both; the CAS lets one of
    /// us win).
    void recheck_stop() noexcept {
      const std::stop_token* stop = give_up_.stop();
      if (stop == nullptr) return;
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (stop->stop_requested()) give_up();
    }

    /// From the give-up policy (a stop callback on any thread, or a timer on
    /// our loop).
    void give_up() noexcept {
      // seq_cst fence: pairs with recheck_stop()'s (a stop request made
      // before this call, then the CAS below).
      std::atomic_thread_fence(std::memory_order_seq_cst);
      // A notifier that claimed us may destroy the condvar at once:
      // arbitrate on our own record first, touch the condvar only if we won.
      if (!win_cancel(cv_waiter_)) return;  // claimed: its delivery re-checks due()
      cv_.coroutine_queue().cancel(cv_waiter_);  // unlinks us, unless a notifier dropped us
      cv_.leave();
      cancelled_ = true;
      cv_waiter_.loop->post(cv_waiter_.item);
    }

    /// From the destructor, after a notification was given to us: hand it to
    /// the next waiter, if the condvar still exists (see "Drop = cancel").
    /// Touches cv_ only through a pin, since it may be gone.
    void pass_on_notification() noexcept {
      detail::liveness* pinned = detail::liveness::pin(condvar_ticket_);
      if (pinned == nullptr) return;  // gone: nobody was left to pass it to
      cv_.notify_one();
      pinned->unpin();
    }

    static wait_awaiter& owner(runtime::work_item* item) noexcept {
      return *static_cast<wait_awaiter*>(detail::waiter_of(item).context);
    }

    /// The condvar delivered us (or give_up cancelled us): get the mutex
    /// back. Our notifier (or give_up) accounted for us and the condvar may
    /// be gone: do not touch it.
    static void on_notified(runtime::work_item* item) noexcept {
      wait_awaiter& self = owner(item);
      self.phase_ = phase::relocking;
      self.lock_or_queue();
    }

    /// The mutex delivered us.
    static void on_locked(runtime::work_item* item) noexcept {
      wait_awaiter& self = owner(item);
      auto& sem = self.mutex_.sem_;
      if (sem.delivery_grants() || sem.retry_after_wake(1)) {
        self.holding_mutex();
      } else {
        self.lock_or_queue();
      }
    }

    /// Re-acquiring the mutex after the condvar wait must succeed: if
    /// registering for it throws (std::bad_alloc from mutex_queue's deque),
    /// std::terminate is called -- noexcept here -- as
    /// std::condition_variable_any does when it cannot re-lock.
    void lock_or_queue() noexcept {
      auto& sem = mutex_.sem_;
      lock_waiter_.rearm();
      if (sem.take_or_enqueue(lock_waiter_, nullptr) == Semaphore<M>::attempt::acquired) {
        holding_mutex();
      } else {
        sem.strategy_.arm(lock_waiter_);
      }
    }

    void holding_mutex() noexcept {
      satisfied_ = pred_();
      if (satisfied_ || cancelled_ || give_up_.due()) {
        phase_ = phase::done;
        handle_.resume();
        return;
      }
      // Woken, but the predicate still fails: count it while the condvar is
      // certainly alive (before we register again and may be claimed).
      cv_.count_useless_wake(true);
      bool registered = false;
      try {
        registered = register_and_unlock();  // false: a stop request won the registration
      } catch (...) {
        error_ = std::current_exception();  // nothing registered, mutex still held
      }
      if (!registered) {
        phase_ = phase::done;
        handle_.resume();
      }
    }

    Condvar& cv_;
    Mutex<M>& mutex_;
    Pred pred_;
    detail::waiter cv_waiter_;
    detail::waiter lock_waiter_;
    std::coroutine_handle<> handle_;
    give_up_policy give_up_;
    /// Where to look for cv_ after a drop, taken while it was certainly
    /// alive: pin() compares it, never dereferences it.
    detail::liveness::ticket condvar_ticket_;
    bool satisfied_ = false;
    bool cancelled_ = false;  // written by give_up() before it posts the item
    /// Where a suspended wait is registered (loop thread only): the
    /// destructor withdraws it. `done`: not suspended.
    enum class phase : unsigned char { done, on_condvar, relocking } phase_ = phase::done;
    std::exception_ptr error_;  // thrown by a re-registration inside holding_mutex()
  };

  S strategy_;
  /// Coroutine waiters of an eventcount strategy (see "Coroutine waiters").
  [[no_unique_address]] std::conditional_t<S::has_queue, no_coroutine_queue,
                                           typename detail::condvar_coroutine_queue<S>::type>
      coroutine_queue_;
  detail::atomic<std::uint64_t> generation_{0};  // notify_all generations
  /// Registered waiters not yet accounted for: a hint for notify, and what
  /// the destructor waits for (see "Lifetime").
  detail::atomic<std::size_t> waiting_{0};
  /// Eventcount strategies: notifiers inside notify (notify_scope).
  [[no_unique_address]] std::conditional_t<S::has_queue, no_notifier_count,
                                           detail::atomic<std::uint32_t>>
      notifying_{};
  /// For dropped coroutine waits that pass on a notification. Declared
  /// last, so destroyed first: the pinned notify_one it waits for still
  /// finds every other member intact.
  detail::liveness liveness_;
};

}  // namespace csync
