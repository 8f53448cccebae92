// tests/drop_cancel_test.cpp -- drop = cancel: a coroutine frame destroyed
// while it waits on a csync primitive withdraws its wait.
//
// tokio cancels a wait when its future is dropped and returns what it was
// granted; csync's awaiters do the same in their destructors (semaphore.hpp,
// condvar.hpp, loop.hpp "Destroying suspended tasks"). One typed suite runs
// every strategy this build has, every fairness policy it supports, through:
//   * a wait destroyed before any delivery (the registration must go: no
//     stale queued flag, no waiter left linked);
//   * a wait destroyed after its delivery was made but before it ran (the
//     delivery is taken back from the loop unrun and what it carried -- the
//     granted permits, the wake -- reaches the next waiter);
//   * a wait whose stop request or deadline already fired;
//   * Condvar waits destroyed on the condvar, after a notification claimed
//     them, and while re-acquiring the mutex -- the notification passed on
//     to the next waiter while the condvar exists;
//   * a Loop destroyed with suspended tasks (Loop::stop, then ~Loop).
// A frame is destroyed through `detached`, a minimal coroutine type that
// exposes its handle (what a when_any or a user's own task type does); each
// scenario runs inside a Loop task, so the destruction happens on the
// waiter's loop thread, as the contract requires. Under AddressSanitizer
// any access to a destroyed frame (a dangling work item, a timer, a linked
// waiter) is reported; the assertions check that nothing was lost.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stop_token>
#include <thread>
#include <vector>

#include <csync/csync.hpp>
#include <csync/strategies/futex.hpp>
#include <csync/strategies/iocp.hpp>
#include <csync/strategies/uring_futex.hpp>

namespace {

using namespace std::chrono_literals;
using csync::fairness;
using csync::Task;
using csync::runtime::Loop;

/// A coroutine that starts at once and keeps its frame after finishing,
/// until `destroy()`: the frame can be destroyed at any suspension point.
struct detached {
  struct promise_type {
    detached get_return_object() noexcept {
      return detached{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_always final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
  bool finished() const noexcept { return handle.done(); }
  void destroy() noexcept { handle.destroy(); }
};

/// Runs `body` as the only task of a fresh Loop (default backend).
template <class Body>
void on_a_loop(Body body) {
  Loop loop;
  loop.spawn(body(loop));
  loop.run();
}

template <class S>
std::vector<fairness> policies() {
  if constexpr (S::has_queue) {
    return {fairness::fifo, fairness::barging};
  } else {
    return {fairness::barging};
  }
}

const char* to_string(fairness f) { return f == fairness::fifo ? "fifo" : "barging"; }

template <class Sem>
detached acquire_into(Sem& sem, std::size_t n, std::atomic<int>& got) {
  co_await sem.async_acquire(n);
  got.fetch_add(1);
}

template <class Sem>
detached acquire_with_stop(Sem& sem, std::stop_token stop, std::atomic<int>& got) {
  // Not `if (co_await ...)`: g++ 12 cannot destroy a frame suspended in a
  // co_await inside an if-condition (the destroy path traps; a compiler bug).
  const bool acquired = co_await sem.async_acquire(1, std::move(stop));
  if (acquired) got.fetch_add(1);
}

template <class Sem>
detached acquire_with_deadline(Sem& sem, std::chrono::milliseconds timeout, std::atomic<int>& got) {
  const bool acquired = co_await sem.async_acquire_for(timeout, 1);  // see acquire_with_stop
  if (acquired) got.fetch_add(1);
}

/// Lets the loop run the other ready work (deliveries, polls) once.
Task<> settle() {
  for (int i = 0; i < 3; ++i) co_await csync::runtime::yield();
}

/// Lets `w` run to its end (within 100 rounds of the loop), then frees it.
/// false: it never finished -- what it waited for was lost.
Task<bool> run_to_end(detached& w) {
  for (int i = 0; i < 100 && !w.finished(); ++i) co_await csync::runtime::yield();
  const bool finished = w.finished();
  if (finished) w.destroy();
  co_return finished;
}

/// run_to_end, and if `w` did not end on its own (what it waited for was
/// lost), notify_all on `cv` lets it end anyway: destroying `cv` under a
/// waiter would hang the test instead of failing it.
template <class CV>
Task<bool> ends_on_its_own(CV& cv, detached& w) {
  const bool finished = co_await run_to_end(w);
  if (!finished) {
    cv.notify_all();
    co_await run_to_end(w);
  }
  co_return finished;
}

template <class S>
class DropCancel : public ::testing::Test {
 protected:
  void SetUp() override {
    const csync::availability a = S::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
};

using strategies = ::testing::Types<
#if CSYNC_HAVE_MUTEX_QUEUE
    csync::strategy::mutex_queue,
#endif
#if CSYNC_HAVE_ATOMIC_WAKER
    csync::strategy::atomic_waker,
#endif
#if CSYNC_HAVE_FUTEX
    csync::strategy::futex,
#endif
#if CSYNC_HAVE_URING_FUTEX
    csync::strategy::uring_futex,
#endif
#if CSYNC_HAVE_IOCP
    csync::strategy::iocp,
#endif
    csync::strategy::spin, csync::strategy::intrusive_list>;

struct strategy_names {
  template <class S>
  static std::string GetName(int) {
    return std::string(S::name);
  }
};
TYPED_TEST_SUITE(DropCancel, strategies, strategy_names);

// A wait destroyed before anything was delivered: afterwards the semaphore
// behaves as if it had never been there (under fifo a stale queued flag would
// make try_acquire fail beside a free permit).
TYPED_TEST(DropCancel, SemaphoreWaitDestroyedBeforeDelivery) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(0, f);
    std::atomic<int> got{0};
    on_a_loop([&](Loop&) -> Task<> {
      detached w = acquire_into(sem, 2, got);
      co_await settle();
      EXPECT_FALSE(w.finished());
      w.destroy();
      sem.release(1);
      EXPECT_TRUE(sem.try_acquire(1)) << "the dropped waiter left the semaphore blocked";
      sem.release(2);
      co_await settle();
    });
    EXPECT_EQ(got.load(), 0);
    EXPECT_EQ(sem.available(), 2u);
  }
}

// A wait destroyed after a release delivered to it (its item is queued on the
// loop, not run): the item is taken back, and what the delivery carried goes
// to the next waiter -- the permits (fifo) or the wake (barging).
TYPED_TEST(DropCancel, SemaphoreWaitDestroyedAfterDeliveryPassesItOn) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(0, f);
    std::atomic<int> first{0}, second{0};
    on_a_loop([&](Loop&) -> Task<> {
      detached a = acquire_into(sem, 1, first);
      co_await settle();
      detached b = acquire_into(sem, 1, second);
      co_await settle();
      sem.release(1);  // delivers to `a` (fifo: granted) through this loop's queue
      a.destroy();     // before the loop runs the delivery
      const bool b_finished = co_await run_to_end(b);
      EXPECT_TRUE(b_finished) << "the permit delivered to the destroyed waiter was lost";
    });
    EXPECT_EQ(first.load(), 0);
    EXPECT_EQ(second.load(), 1);
    EXPECT_EQ(sem.available(), 0u);
  }
}

// The give-up already fired (its resumption is posted) when the frame goes.
TYPED_TEST(DropCancel, SemaphoreWaitDestroyedAfterStopOrDeadline) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(0, f);
    std::atomic<int> got{0};
    on_a_loop([&](Loop&) -> Task<> {
      std::stop_source stop;
      detached a = acquire_with_stop(sem, stop.get_token(), got);
      co_await settle();
      stop.request_stop();  // the callback withdraws the wait and posts `a`
      a.destroy();
      detached b = acquire_with_deadline(sem, 1ms, got);
      co_await csync::runtime::sleep_for(5ms);  // the deadline passed and was handled
      b.destroy();
      detached c = acquire_with_deadline(sem, 20ms, got);
      co_await settle();
      c.destroy();  // its timer is pending: it must not fire into the freed frame
      co_await csync::runtime::sleep_for(40ms);
      sem.release(1);
      EXPECT_TRUE(sem.try_acquire(1));
    });
    EXPECT_EQ(got.load(), 0);
    EXPECT_EQ(sem.available(), 0u);
  }
}

template <class M>
detached lock_and_count(M& mutex, std::atomic<int>& got) {
  co_await mutex.async_lock();
  got.fetch_add(1);
  mutex.unlock();
}

/// wait_on that counts how often its predicate runs (once per wake, plus
/// the check before it first waits).
template <class CV, class M>
detached wait_counting(CV& cv, M& mutex, const bool& flag, int& checks, std::atomic<int>& got) {
  co_await mutex.async_lock();
  co_await cv.async_wait(mutex, [&] {
    ++checks;
    return flag;
  });
  got.fetch_add(1);
  mutex.unlock();
}

template <class CV, class M>
detached wait_on(CV& cv, M& mutex, const bool& flag, std::atomic<int>& got) {
  co_await mutex.async_lock();
  co_await cv.async_wait(mutex, [&] { return flag; });
  got.fetch_add(1);
  mutex.unlock();
}

// Condvar waits destroyed (1) before any notify, (2) after notify_one claimed
// them, (3) while re-acquiring the mutex; the condvar is destroyed right after
// each (its destructor must not wait for a waiter that is gone), the mutex
// stays usable, and a live waiter still gets its notification.
TYPED_TEST(DropCancel, CondvarWaitDestroyedInEveryPhase) {
  using S = TypeParam;
  csync::Mutex<S> mutex(csync::default_fairness<S>);
  bool flag = false;  // guarded by mutex
  std::atomic<int> got{0}, live{0};
  on_a_loop([&](Loop&) -> Task<> {
    {  // (1) on the condvar, nobody notified
      auto cv = std::make_unique<csync::Condvar<S>>();
      detached w = wait_on(*cv, mutex, flag, got);
      co_await settle();
      w.destroy();
      cv->notify_all();
      cv.reset();
    }
    {  // (2) claimed by notify_one, its delivery queued on this loop
      auto cv = std::make_unique<csync::Condvar<S>>();
      detached w = wait_on(*cv, mutex, flag, got);
      co_await settle();
      co_await mutex.async_lock();
      flag = true;
      cv->notify_one();
      mutex.unlock();
      w.destroy();
      flag = false;
      cv.reset();
    }
    {  // (3) notified, then queued for the mutex, which we hold
      auto cv = std::make_unique<csync::Condvar<S>>();
      detached w = wait_on(*cv, mutex, flag, got);
      co_await settle();
      co_await mutex.async_lock();
      flag = true;
      cv->notify_all();
      mutex.unlock();
      co_await mutex.async_lock();  // w may run meanwhile and queue for the mutex
      co_await settle();
      w.destroy();
      flag = false;
      mutex.unlock();
      cv.reset();
    }
    // The mutex was not left locked or blocked, and a live waiter works.
    auto cv = std::make_unique<csync::Condvar<S>>();
    detached l = wait_on(*cv, mutex, flag, live);
    co_await settle();
    co_await mutex.async_lock();
    flag = true;
    cv->notify_all();
    mutex.unlock();
    const bool l_finished = co_await run_to_end(l);
    EXPECT_TRUE(l_finished) << "a live waiter missed its notification";
  });
  EXPECT_EQ(live.load(), 1);
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
}

// A Condvar wait destroyed after notify_one gave it the notification passes
// it on to the next waiter (POSIX's rule for a cancelled pthread_cond_wait):
// (1) claimed, its delivery still queued on the loop; (2) notified and queued
// for the mutex. (3) The notifier destroyed the condvar right after
// notify_one, under the mutex, and a new condvar at the same address has a
// waiter of its own: the drop touches neither (AddressSanitizer) and does
// not wake the newcomer (its predicate runs no second time). (3) runs on
// every strategy: coroutine waiters are queued and claimed on eventcount
// strategies too, so a task may destroy the condvar on the loop of the
// waiter it just notified (condvar.hpp, "Coroutine waiters").
TYPED_TEST(DropCancel, CondvarWaitDestroyedAfterNotifyPassesItOn) {
  using S = TypeParam;
  csync::Mutex<S> mutex(csync::default_fairness<S>), other_mutex(csync::default_fairness<S>);
  bool flag = false;        // guarded by mutex
  bool other_flag = false;  // guarded by other_mutex
  std::atomic<int> dropped{0}, next{0};
  on_a_loop([&](Loop&) -> Task<> {
    {  // (1)
      csync::Condvar<S> cv;
      detached first = wait_on(cv, mutex, flag, dropped);
      detached second = wait_on(cv, mutex, flag, next);
      co_await settle();
      co_await mutex.async_lock();
      flag = true;
      cv.notify_one();  // queue strategies: claims `first`, the longest waiting
      mutex.unlock();
      first.destroy();
      const bool second_finished = co_await ends_on_its_own(cv, second);
      EXPECT_TRUE(second_finished) << "(1) the claimed notification was lost with its waiter";
      flag = false;
    }
    {  // (2)
      csync::Condvar<S> cv;
      detached first = wait_on(cv, mutex, flag, dropped);
      detached second = wait_on(cv, mutex, flag, next);
      co_await settle();
      co_await mutex.async_lock();
      flag = true;
      cv.notify_one();
      co_await settle();  // `first` runs its delivery and queues for the mutex we hold
      first.destroy();
      mutex.unlock();
      const bool second_finished = co_await ends_on_its_own(cv, second);
      EXPECT_TRUE(second_finished) << "(2) the notification was lost with a re-locking waiter";
      flag = false;
    }
    {  // (3)
      std::optional<csync::Condvar<S>> cv;  // one storage: the new condvar takes the old address
      cv.emplace();
      const void* const old_address = &*cv;
      detached first = wait_on(*cv, mutex, flag, dropped);
      co_await settle();
      co_await mutex.async_lock();
      flag = true;
      cv->notify_one();  // claims `first`; its delivery is queued on this loop
      cv.reset();        // the notifier may destroy it at once
      cv.emplace();
      EXPECT_EQ(&*cv, old_address);
      // Runs until it waits on the new condvar (other_mutex is free): its
      // predicate has run once; a wake would run it again.
      int newcomer_checks = 0;
      detached newcomer = wait_counting(*cv, other_mutex, other_flag, newcomer_checks, next);
      first.destroy();  // before its delivery ran
      flag = false;
      mutex.unlock();
      co_await settle();
      EXPECT_EQ(newcomer_checks, 1) << "(3) a dropped wait notified the condvar now at its old address";
      co_await other_mutex.async_lock();
      other_flag = true;
      cv->notify_one();
      other_mutex.unlock();
      const bool newcomer_finished = co_await run_to_end(newcomer);
      EXPECT_TRUE(newcomer_finished);
    }
  });
  EXPECT_EQ(dropped.load(), 0);
  EXPECT_EQ(next.load(), 3);
  EXPECT_TRUE(mutex.try_lock());
  mutex.unlock();
}

// Mutex lock waits destroyed with the lock granted to them: it passes on.
TYPED_TEST(DropCancel, MutexLockDestroyedAfterGrantPassesItOn) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<S> mutex(f);
    std::atomic<int> first{0}, second{0};
    on_a_loop([&](Loop&) -> Task<> {
      co_await mutex.async_lock();
      detached a = lock_and_count(mutex, first);
      detached b = lock_and_count(mutex, second);
      co_await settle();
      mutex.unlock();  // hands over to `a` (fifo) or wakes it (barging)
      a.destroy();
      const bool b_finished = co_await run_to_end(b);
      EXPECT_TRUE(b_finished) << "the lock handed to the destroyed waiter was lost";
    });
    EXPECT_EQ(first.load(), 0);
    EXPECT_EQ(second.load(), 1);
    EXPECT_TRUE(mutex.try_lock());
    mutex.unlock();
  }
}

// The race the pass-on's pin exists for: a notifier on another thread
// destroys the condvar right after notify_one (under the mutex, as the
// Lifetime rule allows) while the waiter's loop drops the wait at about the
// same moment -- before its delivery ran, while re-locking, or after it
// finished. Nothing may touch the destroyed condvar (ThreadSanitizer,
// AddressSanitizer), and the mutex stays usable.
TYPED_TEST(DropCancel, CondvarWaitDroppedWhileAnotherThreadDestroysTheCondvar) {
  using S = TypeParam;
  for (int round = 0; round < 100; ++round) {
    csync::Mutex<S> mutex(csync::default_fairness<S>);
    bool flag = false;  // guarded by mutex
    std::atomic<int> got{0};
    auto* cv = new csync::Condvar<S>;
    std::atomic<bool> registered{false};
    std::thread notifier([&] {
      while (!registered.load(std::memory_order_acquire)) std::this_thread::yield();
      mutex.lock();
      flag = true;
      cv->notify_one();
      delete cv;
      mutex.unlock();
    });
    on_a_loop([&](Loop&) -> Task<> {
      detached w = wait_on(*cv, mutex, flag, got);  // waiting on cv: the mutex is free again
      registered.store(true, std::memory_order_release);
      for (int i = 0; i < round % 8; ++i) co_await csync::runtime::yield();
      w.destroy();
    });
    notifier.join();
    EXPECT_TRUE(mutex.try_lock()) << "round " << round;
    mutex.unlock();
  }
}

// A Loop destroyed with tasks suspended on a semaphore (and one never
// started): every wait is withdrawn; the semaphore is intact afterwards.
TYPED_TEST(DropCancel, LoopDestroyedWithSuspendedTasks) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(0, f);
    std::atomic<int> got{0};
    {
      Loop loop;
      for (int i = 0; i < 4; ++i) {
        loop.spawn([](csync::Semaphore<S>& s, std::atomic<int>& g) -> Task<> {
          co_await s.async_acquire(1);
          g.fetch_add(1);
        }(sem, got));
      }
      loop.spawn([](Loop& l, csync::Semaphore<S>& s) -> Task<> {
        co_await settle();
        s.release(1);  // one waiter gets a delivery that never runs
        l.stop();
      }(loop, sem));
      loop.run();
      Loop unstarted;
      unstarted.spawn([](csync::Semaphore<S>& s) -> Task<> { co_await s.async_acquire(1); }(sem));
    }  // both destroyed here, with their unfinished tasks
    EXPECT_EQ(got.load(), 0);
    EXPECT_EQ(sem.available(), 1u) << "the permit delivered to a destroyed task was lost";
    EXPECT_TRUE(sem.try_acquire(1));
  }
}

// Racing: a releaser thread keeps releasing while tasks on a loop start waits
// and destroy some of them at random points; no permit is created or lost.
TYPED_TEST(DropCancel, DestroyedWaitsRacingReleasesConservePermits) {
  using S = TypeParam;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(0, f);
    constexpr int rounds = 300;
    std::atomic<int> got{0};
    std::atomic<bool> done{false};
    std::atomic<int> released{0};
    std::thread releaser([&] {
      while (!done.load()) {
        if (released.load() - got.load() < 2) {
          sem.release(1);
          released.fetch_add(1);
        }
        std::this_thread::yield();
      }
    });
    on_a_loop([&](Loop&) -> Task<> {
      for (int i = 0; i < rounds; ++i) {
        detached w = acquire_into(sem, 1, got);
        if (i % 3 != 0) co_await csync::runtime::yield();
        if (w.finished()) {
          sem.release(1);  // it got a permit: give it back
          got.fetch_sub(1);
        }
        w.destroy();
      }
    });
    done = true;
    releaser.join();
    EXPECT_EQ(sem.available(), static_cast<std::size_t>(released.load()))
        << "permits created or lost by destroyed waits";
  }
}

}  // namespace
