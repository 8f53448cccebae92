// csync/mutex.hpp
// -----------------------------------------------------------------------------
// csync::Mutex<S> -- a mutual-exclusion lock for threads (Lockable and
// TimedLockable: works with std::lock_guard, std::unique_lock, std::scoped_lock)
// and for coroutines (`co_await m.async_lock()`), over any wakeup strategy S.
//
// It is a Semaphore<S> with one permit, so it inherits its fairness policy
// (fifo hand-off by default for queue strategies: unlock() passes ownership
// directly to the longest waiter), its wake-up placement (a coroutine resumes
// on its own loop, never inside unlock()) and its cancellation rules.
//
// Memory ordering: for threads X and Y, everything X did before unlock()
// happens-before everything Y does after the lock()/try_lock()/co_await that
// obtains the lock next.
//
// Lifetime: as std::mutex, the mutex may be destroyed by whoever owns it
// last, even while the previous owner is still returning from unlock(): once
// unlock() has made the lock available it no longer touches the mutex (its
// last access is one atomic RMW; then it only delivers the waiter it woke, or
// wakes an address, which tolerates freed memory). This holds for every
// strategy, both fairness policies and both waiter kinds (Semaphore,
// "Lifetime"). Destroy it only when nobody waits on it.
//
// Ownership is not tied to a thread: a coroutine may lock on one loop and,
// after migrating, unlock on another; unlock() by a non-owner is a usage
// error (asserted in debug builds when the mutex is not locked).
// -----------------------------------------------------------------------------
#pragma once

#include <cassert>
#include <chrono>
#include <stop_token>

#include <csync/semaphore.hpp>

namespace csync {

template <wakeup_strategy S = default_strategy>
class Mutex {
 public:
  using strategy_type = S;

  explicit Mutex(fairness policy = default_fairness<S>, const typename S::options& options = {})
      : sem_(1, policy, options) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void lock() { sem_.acquire(1); }
  [[nodiscard("false means the mutex was not locked")]]
  bool try_lock() noexcept { return sem_.try_acquire(1); }

  template <class Rep, class Period>
  [[nodiscard("false means the mutex was not locked")]]
  bool try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return sem_.try_acquire_for(timeout, 1);
  }
  template <class Clock, class Duration>
  [[nodiscard("false means the mutex was not locked")]]
  bool try_lock_until(std::chrono::time_point<Clock, Duration> deadline) {
    return sem_.try_acquire_until(deadline, 1);
  }

  void unlock() {
    assert(sem_.available() == 0 && "csync::Mutex::unlock() of a mutex that is not locked");
    sem_.release(1);
  }

  /// `co_await m.async_lock()` resumes, on the coroutine's own loop, owning m.
  [[nodiscard("nothing is locked until the awaitable is co_awaited")]]
  auto async_lock() { return sem_.async_acquire(1); }
  /// Yields true when locked, false when `stop` was requested first.
  [[nodiscard("nothing is locked until the awaitable is co_awaited")]]
  auto async_lock(std::stop_token stop) { return sem_.async_acquire(1, std::move(stop)); }
  /// Yields true when locked, false when the deadline passed first.
  template <class Rep, class Period>
  [[nodiscard("nothing is locked until the awaitable is co_awaited")]]
  auto async_try_lock_for(std::chrono::duration<Rep, Period> timeout) {
    return sem_.async_acquire_for(timeout, 1);
  }
  template <class Clock, class Duration>
  [[nodiscard("nothing is locked until the awaitable is co_awaited")]]
  auto async_try_lock_until(std::chrono::time_point<Clock, Duration> deadline) {
    return sem_.async_acquire_until(deadline, 1);
  }

  fairness policy() const noexcept { return sem_.policy(); }
  S& strategy() noexcept { return sem_.strategy(); }

 private:
  template <wakeup_strategy>
  friend class Condvar;

  Semaphore<S> sem_;
};

}  // namespace csync
