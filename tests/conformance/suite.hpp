// tests/conformance/suite.hpp -- the typed conformance suite (pattern and
// registration). Each tests/conformance/<strategy>.cpp instantiates it for one
// strategy family, so the instantiations compile in parallel and no single
// translation unit holds all of them (the asan build of one TU needed ~7 GB).
//
// tests/conformance_test.cpp -- the strategy-conformance suite.
//
// One TYPED_TEST_SUITE_P, `Conformance`, instantiated for every available
// strategy (under #if CSYNC_HAVE_<NAME>) x every waiter kind (threads,
// coroutines_1loop, coroutines_Nloops; see support/waiter_kinds.hpp). Test
// names read `<strategy>/Conformance/<kind>.<Test>`. Where fairness matters a
// test runs every policy the strategy supports (fifo and barging with a
// queue, barging without).
//
// Contention tests make the holder `co_await K::pause()` inside its critical
// section (otherwise coroutines on one loop never contend) and assert that the
// slow path was reached (a counting_stats wake, a probe registration), so no
// test passes vacuously. A hang is reported by the watchdog with the test's
// name, then the process aborts. Timing assertions are lower bounds with a
// 0.95 tolerance; upper bounds, where any, are seconds.
//
//  1 exclusion        SemaphoreOnePermitExcludes, SemaphoreThreePermitsBoundHolders,
//                     MutexExcludes
//  2 lost wakeups     NoLostWakeupsProducerConsumer, CondvarTokenRing
//  3 FIFO             SemaphoreFifoOrder, MutexFifoOrder, CondvarNotifyOneFifoOrder
//  4 weighted         WeightedHeadNotStarvedUnderFifo, BargingLostRetryDoesNotStrandPermits,
//                     WeightedAcquireAccounting, TryAcquireSemantics, ReleaseNWakesSeveral
//  5 condvar          CondvarNotifyOneWakesExactlyOne, CondvarNotifyAllWakesAll,
//                     CondvarNotifyAllSkipsLaterWaiters, CondvarWaitForTimeout,
//                     CondvarWithStdUniqueLock
//  6 timeouts         TryAcquireForTimesOut, TimeoutsRacingReleasesConservePermits
//  7 cancellation     SemaphoreCancellationConservesPermits, MutexCancellationUnderContention,
//                     CondvarCancellationUnderNotifies, CancelledHeadDoesNotStrandPermits,
//                     CancelledLoneWaiterClearsQueuedFlag,
//                     CancelledCondvarWaiterForwardsNotification, StopRequestedBeforeWait
//  8 destruction      SemaphoreDestroyedAfterWaitersLeave, MutexDestroyedByLastUser,
//                     CondvarDestroyedByLastWaiter, CondvarDestroyedAfterWaitersGiveUp,
//                     CondvarDestroyedByWaiterWhileNotifierIsInside,
//                     CondvarDeleteWaitsForANotifierInsideNotify,
//                     UnlockDoesNotTouchTheMutexOnceAnotherCanOwnIt
//  9 statistics       StatisticsHookCountsWakes
//    construction     FairnessPolicyConstruction
//    mixed waiters    ThreadsAndCoroutinesShareAPrimitive
// 10 lifetime         FullWakeBatchReleaseThenDelete,
//    (destroy right   SecondReleaserDoesNotTouchSemaphoreAfterQueuedBitCleared,
//    after the last   TryLockForTimeoutDuringUnlockThenDelete,
//    use)             LastOwnerDestroysUnderPerturbation,
//                     CondvarDeletedByNotifierUnderTheMutex,
//                     CondvarDeletedByNotifierAsDeadlineExpires
//    (default_strategy.cpp) Conformance.PrintDefaultStrategy
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iostream>
#include <mutex>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <csync/csync.hpp>

#include "../support/waiter_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using csync::fairness;
using csync::Task;
using csync_test::cancel_slot;
using csync_test::policies;
using csync_test::raise_to;
using csync_test::spin_until;
using csync_test::steady;
using csync_test::to_string;

constexpr auto relaxed = std::memory_order_relaxed;

/// Lower bound for a wait of `d`, with the 0.95 tolerance.
constexpr std::chrono::nanoseconds at_least(std::chrono::nanoseconds d) { return d * 95 / 100; }

std::vector<std::size_t> iota_n(std::size_t n) {
  std::vector<std::size_t> v(n);
  std::iota(v.begin(), v.end(), std::size_t{0});
  return v;
}

/// Workers in a run: `per` threads, or `per` tasks on every loop (so each
/// loop has contention of its own even when the OS runs the loops one after
/// another).
template <class K>
constexpr std::size_t per_loop(std::size_t per) {
  if constexpr (K::is_threads) {
    return per;
  } else {
    return per * K::loops;
  }
}

template <class C>
class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    const csync::availability a = C::S::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
};

TYPED_TEST_SUITE_P(Conformance);

// =============================================================================
// 1. Mutual exclusion and conservation
// =============================================================================

/// `workers` hold up to `permits` at a time, pausing inside; `plain` is a
/// non-atomic counter that only a lone holder touches (permits == 1), so
/// ThreadSanitizer checks the primitive's happens-before.
template <class C>
void semaphore_exclusion(std::size_t permits, fairness policy) {
  using PS = typename C::PS;
  using K = typename C::K;
  csync::Semaphore<PS> sem(permits, policy);
  const std::size_t workers = permits + 3;
  const std::size_t iterations = C::rounds(300);
  std::atomic<std::size_t> holders{0}, peak{0}, violations{0};
  std::size_t plain = 0;
  K::run(workers, [&](std::size_t) -> Task<> {
    for (std::size_t i = 0; i < iterations; ++i) {
      co_await K::acquire(sem, 1);
      const std::size_t h = holders.fetch_add(1, relaxed) + 1;
      if (h > permits) violations.fetch_add(1, relaxed);
      raise_to(peak, h);
      if (permits == 1) ++plain;
      if (i == 0) co_await csync_test::hold_until_queued<K>(sem.strategy());
      co_await K::pause();
      holders.fetch_sub(1, relaxed);
      sem.release(1);
    }
  });
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_LE(peak.load(), permits);
  if (permits == 1) {
    EXPECT_EQ(plain, workers * iterations);
  }
  EXPECT_EQ(sem.available(), permits) << "permits not conserved";
  EXPECT_GT(sem.strategy().stats().read().wakes, 0u)
      << "nobody ever waited: the slow path was not exercised";
}

TYPED_TEST_P(Conformance, SemaphoreOnePermitExcludes) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    semaphore_exclusion<TypeParam>(1, f);
  }
}

TYPED_TEST_P(Conformance, SemaphoreThreePermitsBoundHolders) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    semaphore_exclusion<TypeParam>(3, f);
  }
}

TYPED_TEST_P(Conformance, MutexExcludes) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<PS> m(f);
    const std::size_t workers = 4;
    const std::size_t iterations = TypeParam::rounds(300);
    std::atomic<std::size_t> holders{0}, violations{0};
    std::size_t plain = 0;
    K::run(workers, [&](std::size_t) -> Task<> {
      for (std::size_t i = 0; i < iterations; ++i) {
        co_await K::lock(m);
        if (holders.fetch_add(1, relaxed) != 0) violations.fetch_add(1, relaxed);
        ++plain;
        if (i == 0) co_await csync_test::hold_until_queued<K>(m.strategy());
        co_await K::pause();
        holders.fetch_sub(1, relaxed);
        m.unlock();
      }
    });
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(plain, workers * iterations);
    EXPECT_TRUE(m.try_lock()) << "mutex left locked";
    m.unlock();
    EXPECT_GT(m.strategy().stats().read().wakes, 0u) << "the slow path was not exercised";
  }
}

// =============================================================================
// 2. No lost wakeups
// =============================================================================

/// Releases come from producers that never acquired: every permit a consumer
/// gets was handed over by a release that had to find (or wake) it. Weighted
/// consumers (2 permits each) against releases of 1. A lost wakeup hangs.
TYPED_TEST_P(Conformance, NoLostWakeupsProducerConsumer) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(0, f);
    const std::size_t consumers = 4, producers = 2;
    const std::size_t rounds = TypeParam::rounds(400);
    const std::size_t per_producer = consumers * rounds * 2 / producers;
    std::atomic<std::size_t> consumed{0};
    K::run(consumers + producers, [&](std::size_t i) -> Task<> {
      if (i < consumers) {
        for (std::size_t r = 0; r < rounds; ++r) {
          co_await K::acquire(sem, 2);
          consumed.fetch_add(1, relaxed);
        }
      } else {
        // Start once a consumer is queued: the slow path is certain.
        while (sem.strategy().registrations() == 0) co_await K::pause();
        for (std::size_t r = 0; r < per_producer; ++r) {
          sem.release(1);
          if (r % 4 == 0) co_await K::pause();
        }
      }
    });
    EXPECT_EQ(consumed.load(), consumers * rounds);
    EXPECT_EQ(sem.available(), 0u);
    EXPECT_GT(sem.strategy().stats().read().wakes, 0u) << "no consumer ever waited";
  }
}

/// A token passes around a ring of workers through one Condvar: worker i
/// waits for turn % N == i, advances it and notify_all()s. One lost
/// notification stops the ring.
TYPED_TEST_P(Conformance, CondvarTokenRing) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<S> m(f);
    csync::Condvar<CS> cv;
    const std::size_t n = 5;
    const std::size_t rounds = TypeParam::rounds(150);
    std::size_t turn = 0;  // guarded by m
    K::run(n, [&](std::size_t i) -> Task<> {
      for (std::size_t r = 0; r < rounds; ++r) {
        co_await K::lock(m);
        co_await K::wait(cv, m, [&] { return turn % n == i; });
        ++turn;
        m.unlock();
        cv.notify_all();
      }
    });
    EXPECT_EQ(turn, n * rounds);
    EXPECT_GT(cv.strategy().stats().read().wakes, 0u);
  }
}

// =============================================================================
// 3. FIFO order (queue strategies, fairness::fifo)
// =============================================================================

/// Worker i waits for the gate to reach i, then queues; the controller opens
/// the gate for i+1 only after the probe counted i's registration, so the
/// queue order is exactly 0, 1, 2, ...
struct ordered_arrivals {
  std::atomic<std::size_t> gate{0};
  std::mutex mutex;
  std::vector<std::size_t> order;  // guarded by mutex

  template <class K>
  Task<> wait_turn(std::size_t i) {
    while (gate.load(std::memory_order_acquire) < i) co_await K::sleep_for(50us);
  }
  void record(std::size_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    order.push_back(i);
  }
  std::size_t recorded() {
    std::lock_guard<std::mutex> lock(mutex);
    return order.size();
  }
  /// Lets worker i go and waits until `registrations()` reaches i + 1 + base.
  template <class Probe>
  void admit_in_order(std::size_t n, Probe& probe, std::size_t base = 0) {
    for (std::size_t i = 0; i < n; ++i) {
      gate.store(i, std::memory_order_release);
      spin_until([&] { return probe.registrations() >= base + i + 1; }, "waiter registration");
    }
  }
};

TYPED_TEST_P(Conformance, SemaphoreFifoOrder) {
  CSYNC_COMBO_TYPES();
  if (!S::has_queue) GTEST_SKIP() << S::name << " has no queue: barging only, no FIFO promise";
  csync::Semaphore<PS> sem(0, fairness::fifo);
  const std::size_t n = 6;
  ordered_arrivals arrivals;
  auto worker = [&](std::size_t i) -> Task<> {
    co_await arrivals.wait_turn<K>(i);
    co_await K::acquire(sem, 1);
    arrivals.record(i);
  };
  auto workers = K::start(n, worker);
  arrivals.admit_in_order(n, sem.strategy());
  for (std::size_t k = 0; k < n; ++k) {
    sem.release(1);
    spin_until([&] { return arrivals.recorded() == k + 1; }, "release k wakes one waiter");
  }
  workers.join();
  EXPECT_EQ(arrivals.order, iota_n(n));
  EXPECT_EQ(sem.available(), 0u);
}

TYPED_TEST_P(Conformance, MutexFifoOrder) {
  CSYNC_COMBO_TYPES();
  if (!S::has_queue) GTEST_SKIP() << S::name << " has no queue: barging only, no FIFO promise";
  csync::Mutex<PS> m(fairness::fifo);
  m.lock();  // the controller holds it while everybody queues
  const std::size_t n = 6;
  ordered_arrivals arrivals;
  auto worker = [&](std::size_t i) -> Task<> {
    co_await arrivals.wait_turn<K>(i);
    co_await K::lock(m);
    arrivals.record(i);
    co_await K::pause();  // hand-off happens while the others stay queued
    m.unlock();
  };
  auto workers = K::start(n, worker);
  arrivals.admit_in_order(n, m.strategy());
  m.unlock();
  workers.join();
  EXPECT_EQ(arrivals.order, iota_n(n));
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TYPED_TEST_P(Conformance, CondvarNotifyOneFifoOrder) {
  CSYNC_COMBO_TYPES();
  if (!S::has_queue && K::is_threads) {
    GTEST_SKIP() << S::name << " has no queue: notify_one wakes every waiting thread";
  }
  csync::Mutex<S> m;
  csync::Condvar<PS> cv;
  std::size_t tokens = 0;  // guarded by m
  const std::size_t n = 6;
  ordered_arrivals arrivals;
  auto worker = [&](std::size_t i) -> Task<> {
    co_await arrivals.wait_turn<K>(i);
    co_await K::lock(m);
    co_await K::wait(cv, m, [&] { return tokens > 0; });
    --tokens;
    arrivals.record(i);
    m.unlock();
  };
  auto workers = K::start(n, worker);
  arrivals.admit_in_order(n, condvar_registry<K>(cv));
  for (std::size_t k = 0; k < n; ++k) {
    m.lock();
    ++tokens;
    m.unlock();
    cv.notify_one();
    spin_until([&] { return arrivals.recorded() == k + 1; }, "notify_one wakes the oldest");
  }
  workers.join();
  EXPECT_EQ(arrivals.order, iota_n(n));
}

// =============================================================================
// 4. Weighted acquires
// =============================================================================

/// A stream of acquire(1)s on 3 permits and one acquire(3): under fifo, once
/// the big request is queued, each small worker can complete at most one
/// more acquire (the one already queued ahead or already past the gate)
/// before the big one is served.
TYPED_TEST_P(Conformance, WeightedHeadNotStarvedUnderFifo) {
  CSYNC_COMBO_TYPES();
  if (!S::has_queue) GTEST_SKIP() << S::name << " has no queue: barging only, no starvation bound";
  constexpr std::size_t permits = 3, smalls = 4, none = ~std::size_t{0};
  csync::Semaphore<PS> sem(permits, fairness::fifo);
  std::atomic<std::size_t> small_done{0};
  std::atomic<std::size_t> mark{none};  // small_done when the big request registered
  sem.strategy().on_register([&](const csync::detail::waiter& w) {
    if (w.wanted == permits) mark.store(small_done.load(relaxed), relaxed);
  });
  std::atomic<bool> big_finished{false};
  std::atomic<std::size_t> big_waited{0}, worst{0}, held{0}, violations{0};
  const std::size_t big_rounds = TypeParam::rounds(40, 4);
  const std::size_t small_cap = TypeParam::rounds(200000, 8);
  K::run(smalls + 1, [&](std::size_t i) -> Task<> {
    if (i < smalls) {
      for (std::size_t r = 0; r < small_cap && !big_finished.load(relaxed); ++r) {
        co_await K::acquire(sem, 1);
        if (held.fetch_add(1, relaxed) + 1 > permits) violations.fetch_add(1, relaxed);
        small_done.fetch_add(1, relaxed);
        co_await K::pause();
        held.fetch_sub(1, relaxed);
        sem.release(1);
      }
    } else {
      for (std::size_t r = 0; r < big_rounds; ++r) {
        while (small_done.load(relaxed) < 20 * (r + 1) && !big_finished.load(relaxed)) {
          co_await K::pause();  // let the stream run
        }
        mark.store(none, relaxed);
        co_await K::acquire(sem, permits);
        const std::size_t at = mark.load(relaxed);
        if (at != none) {
          big_waited.fetch_add(1, relaxed);
          raise_to(worst, small_done.load(relaxed) - at);
        }
        if (held.fetch_add(permits, relaxed) != 0) violations.fetch_add(1, relaxed);
        co_await K::pause();
        held.fetch_sub(permits, relaxed);
        sem.release(permits);
      }
      big_finished.store(true, relaxed);
    }
  });
  EXPECT_EQ(violations.load(), 0u);
  EXPECT_GT(big_waited.load(), 0u) << "acquire(3) never had to queue: test exercised nothing";
  EXPECT_LE(worst.load(), smalls) << "acquire(1)s overtook a queued acquire(3) under fifo";
  EXPECT_EQ(sem.available(), permits);
}

/// Barging with a queue: release(2) wakes the acquire(2) at the head and, the
/// permits being promised to it, not the acquire(1) behind it. A newcomer's
/// try_acquire(1) lands between that decision and the woken head's retry
/// (placed there deterministically by the probe's deliver hook, after the
/// release finished with the semaphore and before the head runs). The head's retry fails and it queues again. Now one
/// permit is free and a waiter for one permit sleeps; no further release
/// comes, so unless the failed retry passes the wake on, that permit is
/// stranded: a lost wakeup.
TYPED_TEST_P(Conformance, BargingLostRetryDoesNotStrandPermits) {
  CSYNC_COMBO_TYPES();
  if (!S::has_queue) GTEST_SKIP() << S::name << ": every release wakes every poller";
  csync::Semaphore<PS> sem(0, fairness::barging);
  std::atomic<int> stolen{-1};
  std::atomic<bool> head_woken{false};
  sem.strategy().on_visit([&](csync::detail::waiter* head, csync::visit decision) {
    if (decision == csync::visit::wake && head != nullptr && head->wanted == 2) head_woken = true;
  });
  // The newcomer strikes after the release's last access to the semaphore
  // (the permits are takeable) and before the woken head can retry.
  PS::deliver_hook() = [&] {
    if (head_woken.load(relaxed) && stolen.load(relaxed) == -1) {
      stolen.store(sem.try_acquire(1) ? 1 : 0, relaxed);
    }
  };
  struct clear_hook {
    ~clear_hook() { PS::deliver_hook() = nullptr; }
  } clear_hook_at_exit;
  std::atomic<bool> big_done{false}, small_done{false};
  std::atomic<std::size_t> gate{0};
  auto worker = [&](std::size_t i) -> Task<> {
    while (gate.load() < i) co_await K::sleep_for(50us);
    if (i == 0) {
      co_await K::acquire(sem, 2);
      big_done = true;
    } else {
      co_await K::acquire(sem, 1);
      small_done = true;
    }
  };
  auto workers = K::start(2, worker);
  spin_until([&] { return sem.strategy().registrations() >= 1; }, "acquire(2) registers");
  gate = 1;
  spin_until([&] { return sem.strategy().registrations() >= 2; }, "acquire(1) registers");
  sem.release(2);
  ASSERT_EQ(stolen.load(), 1) << "the newcomer could not take a permit inside the notify";
  const auto deadline = steady::now() + 2s;
  while (!small_done.load() && steady::now() < deadline) std::this_thread::sleep_for(1ms);
  EXPECT_TRUE(small_done.load())
      << "available() == " << sem.available()
      << " while a waiter for 1 permit sleeps and no release is coming: the woken head "
         "lost its retry to a newcomer and queued again without passing the wake on";
  sem.release(3);  // either way: everybody finishes, one permit is left over
  workers.join();
  EXPECT_TRUE(big_done.load());
  EXPECT_EQ(sem.available(), 1u);
}

/// Mixed weights 1..3 on 5 permits: the sum held never exceeds 5, and it is
/// all back at the end.
TYPED_TEST_P(Conformance, WeightedAcquireAccounting) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    constexpr std::size_t permits = 5;
    csync::Semaphore<PS> sem(permits, f);
    std::atomic<std::size_t> held{0}, peak{0}, violations{0};
    const std::size_t iterations = TypeParam::rounds(200);
    K::run(6, [&](std::size_t i) -> Task<> {  // first round: 12 permits wanted
      for (std::size_t r = 0; r < iterations; ++r) {
        const std::size_t n = 1 + (i + r) % 3;
        co_await K::acquire(sem, n);
        const std::size_t h = held.fetch_add(n, relaxed) + n;
        if (h > permits) violations.fetch_add(1, relaxed);
        raise_to(peak, h);
        if (r == 0) co_await csync_test::hold_until_queued<K>(sem.strategy());
        co_await K::pause();
        held.fetch_sub(n, relaxed);
        sem.release(n);
      }
    });
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_LE(peak.load(), permits);
    EXPECT_EQ(sem.available(), permits);
    EXPECT_GT(sem.strategy().stats().read().wakes, 0u);
  }
}

/// try_acquire(n) takes all n or nothing; under fifo it does not overtake a
/// queued waiter even when enough permits are free for it, under barging it
/// does.
TYPED_TEST_P(Conformance, TryAcquireSemantics) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    {
      csync::Semaphore<S> sem(5, f);
      EXPECT_TRUE(sem.try_acquire(3));
      EXPECT_EQ(sem.available(), 2u);
      EXPECT_FALSE(sem.try_acquire(3)) << "partial take";
      EXPECT_EQ(sem.available(), 2u);
      EXPECT_TRUE(sem.try_acquire(2));
      EXPECT_FALSE(sem.try_acquire(1));
      sem.release(5);
      EXPECT_FALSE(sem.try_acquire(6));
      EXPECT_EQ(sem.available(), 5u);
      sem.release(0);
      EXPECT_EQ(sem.available(), 5u);
    }
    // A waiter for 2 is queued while 1 permit is free.
    csync::Semaphore<PS> sem(0, f);
    std::atomic<bool> got{false};
    auto waiter = [&](std::size_t) -> Task<> {
      co_await K::acquire(sem, 2);
      got.store(true);
    };
    auto workers = K::start(1, waiter);
    spin_until([&] { return sem.strategy().registrations() >= 1; }, "waiter for 2 registers");
    sem.release(1);
    if (f == fairness::fifo) {
      EXPECT_FALSE(sem.try_acquire(1)) << "fifo: a newcomer overtook the queued waiter";
      EXPECT_EQ(sem.available(), 1u);
      sem.release(1);
    } else {
      EXPECT_TRUE(sem.try_acquire(1)) << "barging: a free permit must be takeable";
      EXPECT_EQ(sem.available(), 0u);
      sem.release(2);
    }
    workers.join();
    EXPECT_TRUE(got.load());
    EXPECT_EQ(sem.available(), 0u);
  }
}

/// One release(n) lets n queued waiters through; queue strategies deliver
/// them from that single notify.
TYPED_TEST_P(Conformance, ReleaseNWakesSeveral) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(0, f);
    constexpr std::size_t n = 5;
    std::atomic<std::size_t> arrived{0}, through{0};
    auto waiter = [&](std::size_t) -> Task<> {
      arrived.fetch_add(1);
      co_await K::acquire(sem, 1);
      through.fetch_add(1);
    };
    auto workers = K::start(n, waiter);
    if (S::has_queue) {
      spin_until([&] { return sem.strategy().registrations() >= n; }, "all waiters register");
    } else {
      spin_until([&] { return arrived.load() == n; }, "all waiters arrive");
    }
    EXPECT_EQ(through.load(), 0u);
    const auto before = sem.strategy().stats().read().wakes;
    sem.release(n);
    if (S::has_queue) {
      EXPECT_EQ(sem.strategy().stats().read().wakes - before, n)
          << "release(n) did not deliver n waiters at once";
    }
    workers.join();
    EXPECT_EQ(through.load(), n);
    EXPECT_EQ(sem.available(), 0u);
  }
}

// =============================================================================
// 5. Condvar
// =============================================================================

/// Condvar waiters of kind K on strategy S are queued and claimed one by
/// one: always with a queue strategy, and coroutines on any strategy (the
/// condvar queues them itself when S has no queue).
template <class S, class K>
constexpr bool queued_waiters = S::has_queue || !K::is_threads;

/// Wakes a Condvar's notify counts besides its deliveries: an eventcount
/// strategy counts one per epoch bump (stats.hpp).
template <class S>
constexpr std::size_t epoch_bumps = S::has_queue ? 0 : 1;

/// N waiters on `tokens > 0`. Under the mutex, `arrived == N` proves all are
/// registered (each registers before releasing the mutex). Each token plus
/// notify_one lets exactly one through; queued waiters (queue strategies;
/// coroutines everywhere) get exactly one delivery per notify_one and never
/// a futile one.
TYPED_TEST_P(Conformance, CondvarNotifyOneWakesExactlyOne) {
  CSYNC_COMBO_TYPES();
  csync::Mutex<S> m;
  csync::Condvar<CS> cv;
  constexpr std::size_t n = 4;
  std::size_t arrived = 0, tokens = 0, proceeded = 0;  // guarded by m
  auto waiter = [&](std::size_t) -> Task<> {
    co_await K::lock(m);
    ++arrived;
    co_await K::wait(cv, m, [&] { return tokens > 0; });
    --tokens;
    ++proceeded;
    m.unlock();
  };
  auto guarded = [&](auto f) {
    m.lock();
    auto r = f();
    m.unlock();
    return r;
  };
  auto workers = K::start(n, waiter);
  spin_until([&] { return guarded([&] { return arrived == n; }); }, "all waiters wait");
  for (std::size_t k = 1; k <= n; ++k) {
    guarded([&] { return ++tokens; });
    const auto before = cv.strategy().stats().read().wakes;
    cv.notify_one();
    if (queued_waiters<S, K>) {
      EXPECT_EQ(cv.strategy().stats().read().wakes - before, 1 + epoch_bumps<S>) << "k=" << k;
    }
    spin_until([&] { return guarded([&] { return proceeded == k; }); }, "one waiter proceeds");
    EXPECT_EQ(guarded([&] { return proceeded; }), k);
  }
  workers.join();
  if (queued_waiters<S, K>) {
    EXPECT_EQ(cv.strategy().stats().read().futile, 0u);
  }
}

TYPED_TEST_P(Conformance, CondvarNotifyAllWakesAll) {
  CSYNC_COMBO_TYPES();
  csync::Mutex<S> m;
  csync::Condvar<CS> cv;
  constexpr std::size_t n = 6;
  std::size_t arrived = 0;  // guarded by m
  bool go = false;          // guarded by m
  std::atomic<std::size_t> through{0};
  auto waiter = [&](std::size_t) -> Task<> {
    co_await K::lock(m);
    ++arrived;
    co_await K::wait(cv, m, [&] { return go; });
    m.unlock();
    through.fetch_add(1);
  };
  auto workers = K::start(n, waiter);
  spin_until(
      [&] {
        std::lock_guard<csync::Mutex<S>> lock(m);
        return arrived == n;
      },
      "all waiters wait");
  {
    std::lock_guard<csync::Mutex<S>> lock(m);
    go = true;
  }
  const auto before = cv.strategy().stats().read().wakes;
  cv.notify_all();
  if (S::has_queue) {
    EXPECT_EQ(cv.strategy().stats().read().wakes - before, n);
  }
  workers.join();
  EXPECT_EQ(through.load(), n);
}

/// notify_all wakes the waiters registered before it and no later ones: 40
/// waiters (more than a 32-waiter wake batch, the size notify once delivered
/// in), who re-register as soon as they are woken (their predicate stays
/// false) -- with the notifier not holding the mutex, so re-registrations
/// race the notify. Without the generation snapshot they would be woken
/// again (or forever).
TYPED_TEST_P(Conformance, CondvarNotifyAllSkipsLaterWaiters) {
  CSYNC_COMBO_TYPES();
  if (!queued_waiters<S, K>) {
    GTEST_SKIP() << S::name << ": eventcount wakes every waiting thread, no snapshot promise";
  }
  csync::Mutex<S> m;
  csync::Condvar<CS> cv;
  const std::size_t n = 40;
  std::vector<std::size_t> evals(n, 0);  // guarded by m
  int phase = 0;                         // guarded by m
  auto waiter = [&](std::size_t i) -> Task<> {
    co_await K::lock(m);
    co_await K::wait(cv, m, [&] {
      ++evals[i];
      return phase >= 2;
    });
    m.unlock();
  };
  // Under the mutex every waiter with evals >= k has evaluated its predicate
  // k times and (being false) is registered again.
  auto all_evaluated = [&](std::size_t k) {
    std::lock_guard<csync::Mutex<S>> lock(m);
    return std::all_of(evals.begin(), evals.end(), [k](std::size_t e) { return e >= k; });
  };
  auto workers = K::start(n, waiter);
  spin_until([&] { return all_evaluated(1); }, "all waiters wait");
  auto wakes = [&] { return cv.strategy().stats().read().wakes; };
  auto before = wakes();
  cv.notify_all();
  EXPECT_EQ(wakes() - before, n + epoch_bumps<S>)
      << "notify_all #1 woke a waiter twice or missed one";
  spin_until([&] { return all_evaluated(2); }, "all waiters re-register");
  before = wakes();
  cv.notify_all();
  EXPECT_EQ(wakes() - before, n + epoch_bumps<S>)
      << "notify_all #2 must wake the re-registered waiters once each";
  {
    std::lock_guard<csync::Mutex<S>> lock(m);
    phase = 2;
  }
  cv.notify_all();
  workers.join();
}

/// Timed waits report timeout / the predicate; a notification before the
/// deadline ends the wait with the predicate true.
TYPED_TEST_P(Conformance, CondvarWaitForTimeout) {
  CSYNC_COMBO_TYPES();
  csync::Mutex<S> m;
  csync::Condvar<S> cv;
  bool flag = false;   // guarded by m
  bool armed = false;  // guarded by m
  const auto timeout = 30ms;
  std::atomic<std::int64_t> elapsed_ns{0};
  std::atomic<int> result{-1};
  K::run(1, [&](std::size_t) -> Task<> {
    co_await K::lock(m);
    const auto t0 = steady::now();
    const bool r = co_await K::wait_for(cv, m, timeout, [&] { return flag; });
    elapsed_ns.store((steady::now() - t0).count());
    result.store(r ? 1 : 0);
    EXPECT_FALSE(m.try_lock()) << "the mutex must be held after wait_for";
    m.unlock();
  });
  EXPECT_EQ(result.load(), 0) << "no notification: wait_for must report the false predicate";
  EXPECT_GE(std::chrono::nanoseconds(elapsed_ns.load()), at_least(timeout));

  // Notified in time: returns true long before a generous deadline.
  result.store(-1);
  auto waiter = [&](std::size_t) -> Task<> {
    co_await K::lock(m);
    armed = true;
    const bool r = co_await K::wait_for(cv, m, 60s, [&] { return flag; });
    result.store(r ? 1 : 0);
    m.unlock();
  };
  auto workers = K::start(1, waiter);
  spin_until(
      [&] {
        std::lock_guard<csync::Mutex<S>> lock(m);
        return armed;
      },
      "waiter waits");
  {
    std::lock_guard<csync::Mutex<S>> lock(m);
    flag = true;
  }
  cv.notify_one();
  workers.join();
  EXPECT_EQ(result.load(), 1);

  if constexpr (K::is_threads) {
    // The predicate-less forms exist for threads only.
    std::unique_lock<csync::Mutex<S>> lock(m);
    const auto t0 = steady::now();
    EXPECT_EQ(cv.wait_for(lock, 20ms), std::cv_status::timeout);
    EXPECT_GE(steady::now() - t0, at_least(20ms));
    const auto t1 = steady::now();
    EXPECT_FALSE(cv.wait_until(lock, std::chrono::system_clock::now() + 20ms, [] { return false; }));
    EXPECT_GE(steady::now() - t1, at_least(20ms));
  }
}

/// The thread API takes any BasicLockable: std::unique_lock<std::mutex>.
TYPED_TEST_P(Conformance, CondvarWithStdUniqueLock) {
  CSYNC_COMBO_TYPES();
  if (!K::is_threads) GTEST_SKIP() << "std::unique_lock<std::mutex> is a thread-only lock";
  csync::Condvar<CS> cv;
  std::mutex sm;
  constexpr std::size_t n = 4;
  std::size_t arrived = 0, tokens = 0, proceeded = 0;  // guarded by sm
  std::vector<std::thread> workers;
  {
    csync_test::watchdog dog("std::unique_lock waiters");
    for (std::size_t i = 0; i < n; ++i) {
      workers.emplace_back([&] {
        std::unique_lock<std::mutex> lock(sm);
        ++arrived;
        cv.wait(lock, [&] { return tokens > 0; });
        --tokens;
        ++proceeded;
      });
    }
    auto guarded = [&](auto f) {
      std::lock_guard<std::mutex> lock(sm);
      return f();
    };
    spin_until([&] { return guarded([&] { return arrived == n; }); }, "all waiters wait");
    guarded([&] { return ++tokens; });
    cv.notify_one();
    spin_until([&] { return guarded([&] { return proceeded == 1; }); }, "notify_one: one proceeds");
    guarded([&] { return tokens += n - 1; });
    cv.notify_all();
    for (std::thread& t : workers) t.join();
  }
  EXPECT_EQ(proceeded, n);
  EXPECT_EQ(tokens, 0u);
  std::unique_lock<std::mutex> lock(sm);
  const auto t0 = steady::now();
  EXPECT_EQ(cv.wait_for(lock, 20ms), std::cv_status::timeout);
  EXPECT_GE(steady::now() - t0, at_least(20ms));
  EXPECT_FALSE(cv.wait_for(lock, 5ms, [] { return false; }));
  EXPECT_TRUE(lock.owns_lock());
}

// =============================================================================
// 6. Timeouts
// =============================================================================

TYPED_TEST_P(Conformance, TryAcquireForTimesOut) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<S> sem(2, f);
    csync::Mutex<S> m(f);
    m.lock();
    ASSERT_TRUE(sem.try_acquire(1));  // 1 left
    const auto timeout = 25ms;
    std::array<std::atomic<std::int64_t>, 3> elapsed{};
    std::array<std::atomic<int>, 3> result{};
    K::run(1, [&](std::size_t) -> Task<> {
      auto t0 = steady::now();
      result[0] = co_await K::try_acquire_for(sem, 2, timeout);  // wants more than is free
      elapsed[0] = (steady::now() - t0).count();
      t0 = steady::now();
      result[1] = co_await K::try_lock_for(m, timeout);
      elapsed[1] = (steady::now() - t0).count();
      t0 = steady::now();
      result[2] = co_await K::try_acquire_for(sem, 1, timeout);  // free: succeeds at once
      elapsed[2] = (steady::now() - t0).count();
    });
    EXPECT_EQ(result[0].load(), 0);
    EXPECT_GE(std::chrono::nanoseconds(elapsed[0].load()), at_least(timeout));
    EXPECT_EQ(result[1].load(), 0);
    EXPECT_GE(std::chrono::nanoseconds(elapsed[1].load()), at_least(timeout));
    EXPECT_EQ(result[2].load(), 1);
    EXPECT_LT(std::chrono::nanoseconds(elapsed[2].load()), 10s);
    EXPECT_EQ(sem.available(), 0u) << "a timed-out acquire(2) kept permits";
    sem.release(2);
    EXPECT_EQ(sem.available(), 2u);
    EXPECT_TRUE(sem.try_acquire(2)) << "a timed-out waiter left the semaphore marked queued";
    m.unlock();
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  }
}

/// Short timeouts (0 to 1 ms) race hand-offs and releases: a waiter granted
/// its permits while giving up must keep them (and report success), one that
/// gives up first must hold nothing; either way nothing leaks or doubles.
TYPED_TEST_P(Conformance, TimeoutsRacingReleasesConservePermits) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    constexpr std::size_t permits = 3;
    const std::size_t workers = per_loop<K>(6);
    csync::Semaphore<CS> sem(permits, f);
    std::atomic<std::size_t> held{0}, violations{0}, successes{0}, timeouts{0}, first{0};
    std::atomic<bool> go{false};
    const std::size_t iterations = TypeParam::rounds(300);
    constexpr std::array<std::chrono::nanoseconds, 4> timeouts_ns{0us, 20us, 200us, 1ms};
    ASSERT_TRUE(sem.try_acquire(permits));  // phase 1: every first attempt times out
    auto worker = [&](std::size_t i) -> Task<> {
      if (co_await K::try_acquire_for(sem, 1, timeouts_ns[i % timeouts_ns.size()])) {
        violations.fetch_add(1, relaxed);  // nothing was free
      } else {
        timeouts.fetch_add(1, relaxed);
      }
      first.fetch_add(1);
      while (!go.load()) co_await K::sleep_for(50us);
      for (std::size_t r = 0; r < iterations; ++r) {  // phase 2: timeouts race releases
        const std::size_t n = 1 + (i + r) % 2;
        if (co_await K::try_acquire_for(sem, n, timeouts_ns[(i + r) % timeouts_ns.size()])) {
          successes.fetch_add(1, relaxed);
          if (held.fetch_add(n, relaxed) + n > permits) violations.fetch_add(1, relaxed);
          co_await K::pause();
          co_await K::pause();
          held.fetch_sub(n, relaxed);
          sem.release(n);
        } else {
          timeouts.fetch_add(1, relaxed);
        }
      }
    };
    auto group = K::start(workers, worker);
    spin_until([&] { return first.load() == workers; }, "first attempts time out");
    EXPECT_EQ(sem.available(), 0u) << "a timed-out waiter took permits";
    sem.release(permits);
    go = true;
    group.join();
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_GT(successes.load(), 0u);
    EXPECT_GE(timeouts.load(), workers);
    EXPECT_EQ(sem.available(), permits) << "a timeout leaked or duplicated permits";
    EXPECT_TRUE(sem.try_acquire(permits)) << "the semaphore still looks queued";
  }
}

// =============================================================================
// 7. Cancellation (stop_token for coroutines, timed waits for threads)
// =============================================================================
//
// Each test has two phases. Phase 1 is deterministic: the controller holds
// the resource and every worker's first wait must give up (its slot is fired;
// threads time out). Phase 2 races stop requests from a foreign thread (or
// short timeouts) against releases, hand-offs and notifies.

/// Fires every slot until `done()` (threads: their waits time out anyway).
template <class Done>
void fire_until(std::vector<cancel_slot>& slots, Done done, const char* what) {
  spin_until(
      [&] {
        for (cancel_slot& s : slots) s.fire();
        return done();
      },
      what);
}

TYPED_TEST_P(Conformance, SemaphoreCancellationConservesPermits) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    constexpr std::size_t permits = 2;
    const std::size_t workers = per_loop<K>(6);
    csync::Semaphore<PS> sem(permits, f);
    std::vector<cancel_slot> slots(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      slots[i].set_thread_timeout(std::chrono::microseconds(10 + 60 * (i % 6)));
    }
    std::atomic<std::size_t> held{0}, violations{0}, successes{0}, cancelled{0}, first{0};
    std::atomic<bool> go{false};
    const std::size_t iterations = TypeParam::rounds(300);
    ASSERT_TRUE(sem.try_acquire(permits));
    auto worker = [&](std::size_t i) -> Task<> {
      if (co_await K::acquire_cancellable(sem, 1 + i % 2, slots[i])) {
        violations.fetch_add(1, relaxed);  // nothing was free
      } else {
        cancelled.fetch_add(1, relaxed);
      }
      first.fetch_add(1);
      while (!go.load()) co_await K::sleep_for(50us);
      for (std::size_t r = 0; r < iterations; ++r) {
        const std::size_t n = 1 + (i + r) % 2;
        if (co_await K::acquire_cancellable(sem, n, slots[i])) {
          successes.fetch_add(1, relaxed);
          if (held.fetch_add(n, relaxed) + n > permits) violations.fetch_add(1, relaxed);
          co_await K::pause();
          co_await K::pause();
          held.fetch_sub(n, relaxed);
          sem.release(n);
        } else {
          cancelled.fetch_add(1, relaxed);
        }
      }
    };
    auto group = K::start(workers, worker);
    fire_until(slots, [&] { return first.load() == workers; }, "first waits are cancelled");
    EXPECT_EQ(sem.available(), 0u) << "a cancelled waiter took permits";
    sem.release(permits);
    {
      auto chaos = csync_test::chaos_canceller::start<K>(slots);
      go = true;
      group.join();
    }
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_GT(successes.load(), 0u);
    EXPECT_GE(cancelled.load(), workers);
    EXPECT_EQ(sem.available(), permits) << "cancellation leaked or duplicated permits";
    EXPECT_TRUE(sem.try_acquire(permits)) << "queued flag left set after every waiter left";
  }
}

TYPED_TEST_P(Conformance, MutexCancellationUnderContention) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    const std::size_t workers = per_loop<K>(5);
    csync::Mutex<S> m(f);
    std::vector<cancel_slot> slots(workers);
    for (std::size_t i = 0; i < workers; ++i) {
      slots[i].set_thread_timeout(std::chrono::microseconds(10 + 50 * (i % 5)));
    }
    std::atomic<std::size_t> holders{0}, violations{0}, successes{0}, cancelled{0}, first{0};
    std::atomic<bool> go{false};
    std::size_t plain = 0;
    const std::size_t iterations = TypeParam::rounds(300);
    m.lock();
    auto worker = [&](std::size_t i) -> Task<> {
      if (co_await K::lock_cancellable(m, slots[i])) {
        violations.fetch_add(1, relaxed);  // the controller holds it
        m.unlock();
      } else {
        cancelled.fetch_add(1, relaxed);
      }
      first.fetch_add(1);
      while (!go.load()) co_await K::sleep_for(50us);
      for (std::size_t r = 0; r < iterations; ++r) {
        if (co_await K::lock_cancellable(m, slots[i])) {
          if (holders.fetch_add(1, relaxed) != 0) violations.fetch_add(1, relaxed);
          ++plain;
          co_await K::pause();
          holders.fetch_sub(1, relaxed);
          successes.fetch_add(1, relaxed);
          m.unlock();
        } else {
          cancelled.fetch_add(1, relaxed);
        }
      }
    };
    auto group = K::start(workers, worker);
    fire_until(slots, [&] { return first.load() == workers; }, "first lock attempts are cancelled");
    m.unlock();
    {
      auto chaos = csync_test::chaos_canceller::start<K>(slots);
      go = true;
      group.join();
    }
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(plain, successes.load());
    EXPECT_GE(cancelled.load(), workers);
    EXPECT_TRUE(m.try_lock()) << "a cancelled lock left the mutex locked";
    m.unlock();
  }
}

/// Producers add items and notify_one; consumers wait cancellably. A consumer
/// whose wait ends (notified, cancelled or timed out) holds the mutex and
/// sees the predicate's value; every item is consumed exactly once.
TYPED_TEST_P(Conformance, CondvarCancellationUnderNotifies) {
  CSYNC_COMBO_TYPES();
  const std::size_t consumers = per_loop<K>(4), producers = 2;
  csync::Mutex<S> m;
  csync::Condvar<S> cv;
  std::vector<cancel_slot> slots(consumers);
  for (std::size_t i = 0; i < consumers; ++i) {
    slots[i].set_thread_timeout(std::chrono::microseconds(20 + 80 * (i % 4)));
  }
  const std::size_t per_producer = TypeParam::rounds(300);
  const std::size_t total = producers * per_producer;
  std::size_t items = 0, consumed = 0;  // guarded by m
  std::atomic<std::size_t> cancelled{0}, wrong{0}, first{0};
  std::atomic<bool> go{false};
  auto worker = [&](std::size_t i) -> Task<> {
    if (i < consumers) {
      co_await K::lock(m);  // phase 1: nothing to consume yet, the wait gives up
      if (co_await K::wait_cancellable(cv, m, [&] { return items > 0; }, slots[i])) {
        wrong.fetch_add(1, relaxed);
      } else {
        cancelled.fetch_add(1, relaxed);
      }
      m.unlock();
      first.fetch_add(1);
      for (;;) {
        co_await K::lock(m);
        const bool ready = co_await K::wait_cancellable(
            cv, m, [&] { return items > 0 || consumed == total; }, slots[i]);
        if (ready != (items > 0 || consumed == total)) wrong.fetch_add(1, relaxed);
        if (consumed == total) {
          m.unlock();
          break;
        }
        if (ready) {
          --items;
          if (++consumed == total) {
            m.unlock();
            cv.notify_all();  // let the other consumers leave
            break;
          }
        } else {
          cancelled.fetch_add(1, relaxed);
        }
        m.unlock();
      }
    } else {
      while (!go.load()) co_await K::sleep_for(50us);
      for (std::size_t r = 0; r < per_producer; ++r) {
        co_await K::lock(m);
        ++items;
        m.unlock();
        cv.notify_one();
        if (r % 3 == 0) co_await K::pause();
      }
    }
  };
  auto group = K::start(consumers + producers, worker);
  fire_until(slots, [&] { return first.load() == consumers; }, "first condvar waits are cancelled");
  {
    auto chaos = csync_test::chaos_canceller::start<K>(slots);
    go = true;
    group.join();
  }
  EXPECT_EQ(wrong.load(), 0u) << "co_await / wait_for reported a predicate value that is not pred()";
  EXPECT_GE(cancelled.load(), consumers);
  EXPECT_EQ(consumed, total);
  EXPECT_EQ(items, 0u);
}

/// acquire(2) at the head, acquire(1) behind it, 1 permit released: the head
/// cannot be served (and with a queue the second must wait behind it).
/// Cancelling the head must pass the permit on instead of stranding it.
TYPED_TEST_P(Conformance, CancelledHeadDoesNotStrandPermits) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(0, f);
    cancel_slot head_slot(csync_test::sanitized ? 600ms : 300ms);
    std::atomic<int> head_result{-1};
    std::atomic<bool> second_done{false};
    std::atomic<std::size_t> gate{0};
    auto worker = [&](std::size_t i) -> Task<> {
      while (gate.load() < i) co_await K::sleep_for(50us);
      if (i == 0) {
        head_result = (co_await K::acquire_cancellable(sem, 2, head_slot)) ? 1 : 0;
      } else {
        co_await K::acquire(sem, 1);
        second_done = true;
      }
    };
    auto workers = K::start(2, worker);
    spin_until([&] { return sem.strategy().registrations() >= 1; }, "head registers");
    gate = 1;
    spin_until([&] { return sem.strategy().registrations() >= 2; }, "second registers");
    sem.release(1);
    if (S::has_queue && head_result.load() == -1) {
      std::this_thread::sleep_for(5ms);
      if (head_result.load() == -1) {
        EXPECT_FALSE(second_done.load()) << "acquire(1) overtook the queued acquire(2)";
      }
    }
    head_slot.fire();  // threads: the head times out by itself
    workers.join();
    EXPECT_EQ(head_result.load(), 0);
    EXPECT_TRUE(second_done.load());
    EXPECT_EQ(sem.available(), 0u);
  }
}

/// Regression, found by model checking (primitives/models/semaphore.pml,
/// mutant NO_AFTER_CANCEL): a waiter that gives up while alone in the queue
/// must clear the semaphore's queued flag on its way out (after_cancel runs
/// the notify visitor, which sees the empty queue). Here the waiter wants 2,
/// the only release (of 1) comes while it is queued and cannot serve it, then
/// it gives up. Left set, the flag makes every later fifo acquirer --
/// try_acquire included -- queue behind nobody while the permit sits free,
/// and no further release comes to clear it. CancelledHeadDoesNotStrandPermits
/// cannot see this: there the waiter behind the head is woken anyway.
TYPED_TEST_P(Conformance, CancelledLoneWaiterClearsQueuedFlag) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(0, f);
    cancel_slot slot(csync_test::sanitized ? 600ms : 300ms);
    std::atomic<int> result{-1};
    auto worker = [&](std::size_t) -> Task<> {
      result = (co_await K::acquire_cancellable(sem, 2, slot)) ? 1 : 0;
    };
    auto workers = K::start(1, worker);
    spin_until([&] { return sem.strategy().registrations() >= 1; }, "the waiter registers");
    sem.release(1);  // queued waiter wants 2: nobody can be served
    const bool released_while_queued = result.load() == -1;
    slot.fire();  // threads: the waiter times out by itself
    workers.join();
    EXPECT_TRUE(released_while_queued) << "the waiter gave up before the release";
    EXPECT_EQ(result.load(), 0);
    EXPECT_TRUE(sem.try_acquire(1)) << "one permit free, nobody waiting, and try_acquire refused it";
    EXPECT_EQ(sem.available(), 0u);
  }
}

/// Two condvar waiters, the first cancellable; its cancellation races a
/// notify_one. Whoever the notification reached must act on it: either the
/// first consumed the token (co_await yields true), or the notification
/// reached the second. A cancelled waiter that swallowed it would leave the
/// token unconsumed forever (the watchdog reports it).
TYPED_TEST_P(Conformance, CancelledCondvarWaiterForwardsNotification) {
  CSYNC_COMBO_TYPES();
  csync::Mutex<S> m;
  csync::Condvar<PS> cv;
  const std::size_t rounds = TypeParam::rounds(30, 3);
  for (std::size_t round = 0; round < rounds; ++round) {
    SCOPED_TRACE(round);
    std::size_t tokens = 0;  // guarded by m
    bool first_got = false, second_got = false;
    std::atomic<std::size_t> gate{0};
    cancel_slot first_slot(std::chrono::microseconds(500 + 100 * (round % 10)));
    const std::size_t base = condvar_registry<K>(cv).registrations();
    auto worker = [&](std::size_t i) -> Task<> {
      while (gate.load() < i) co_await K::sleep_for(50us);
      co_await K::lock(m);
      if (i == 0) {
        first_got = co_await K::wait_cancellable(cv, m, [&] { return tokens > 0; }, first_slot);
      } else {
        co_await K::wait(cv, m, [&] { return tokens > 0; });
        second_got = true;
      }
      if (tokens > 0) --tokens;
      m.unlock();
    };
    auto workers = K::start(2, worker);
    spin_until([&] { return condvar_registry<K>(cv).registrations() >= base + 1; },
               "first registers");
    gate = 1;
    spin_until([&] { return condvar_registry<K>(cv).registrations() >= base + 2; },
               "second registers");
    std::atomic<bool> go{false};
    std::thread firer([&] {
      while (!go.load()) std::this_thread::yield();
      first_slot.fire();
    });
    if (K::is_threads) std::this_thread::sleep_for(std::chrono::microseconds(400 + 100 * (round % 10)));
    go = true;
    {
      std::lock_guard<csync::Mutex<S>> lock(m);
      tokens = 1;
    }
    cv.notify_one();
    firer.join();
    // Wait for the token to be consumed; then release whoever still waits.
    spin_until(
        [&] {
          std::lock_guard<csync::Mutex<S>> lock(m);
          return tokens == 0 && (first_got || second_got);
        },
        "the notification reached a waiter that consumed the token");
    {
      std::lock_guard<csync::Mutex<S>> lock(m);
      if (!second_got) tokens = 1;
    }
    cv.notify_all();
    workers.join();
    EXPECT_TRUE(second_got);
  }
}

/// A stop request (coroutines) / zero timeout (threads) before the wait:
/// nothing is taken, the condvar wait reports pred() holding the mutex.
TYPED_TEST_P(Conformance, StopRequestedBeforeWait) {
  CSYNC_COMBO_TYPES();
  csync::Semaphore<S> sem(1);
  csync::Mutex<S> m;
  csync::Mutex<S> held;
  csync::Condvar<S> cv;
  held.lock();
  ASSERT_TRUE(sem.try_acquire(1));
  std::array<std::atomic<int>, 4> r{};
  K::run(1, [&](std::size_t) -> Task<> {
    if constexpr (K::is_threads) {
      r[0] = sem.try_acquire_for(0ms, 1);
      r[1] = held.try_lock_for(0ms);
      m.lock();
      r[2] = cv.wait_for(m, 0ms, [] { return false; });
      r[3] = !m.try_lock();
      m.unlock();
    } else {
      std::stop_source stopped;
      stopped.request_stop();
      r[0] = co_await sem.async_acquire(1, stopped.get_token());
      r[1] = co_await held.async_lock(stopped.get_token());
      co_await m.async_lock();
      r[2] = co_await cv.async_wait(m, [] { return false; }, stopped.get_token());
      r[3] = !m.try_lock();
      m.unlock();
    }
    co_return;
  });
  EXPECT_EQ(r[0].load(), 0);
  EXPECT_EQ(r[1].load(), 0);
  EXPECT_EQ(r[2].load(), 0);
  EXPECT_EQ(r[3].load(), 1) << "the condvar wait must return holding the mutex";
  EXPECT_EQ(sem.available(), 0u);
  sem.release(1);
  EXPECT_TRUE(sem.try_acquire(1)) << "a stopped waiter left the semaphore marked queued";
  held.unlock();
}

// =============================================================================
// 8. Destruction after all waiters leave (ASan: use-after-free)
// =============================================================================

/// Half of the waiters give up (stop request / timeout), the others are
/// served; then the semaphore is destroyed at once.
TYPED_TEST_P(Conformance, SemaphoreDestroyedAfterWaitersLeave) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    const std::size_t rounds = TypeParam::rounds(20, 4);
    constexpr std::size_t pairs = 3;
    for (std::size_t round = 0; round < rounds; ++round) {
      auto sem = std::make_unique<csync::Semaphore<S>>(0, f);
      std::vector<cancel_slot> slots(pairs);
      for (cancel_slot& s : slots) s.set_thread_timeout(std::chrono::microseconds(200 + 50 * round));
      std::atomic<std::size_t> gave_up{0}, served{0};
      auto worker = [&](std::size_t i) -> Task<> {
        if (i < pairs) {
          if (!(co_await K::acquire_cancellable(*sem, 1, slots[i]))) gave_up.fetch_add(1);
          else served.fetch_add(1);
        } else {
          co_await K::acquire(*sem, 1);
          served.fetch_add(1);
        }
      };
      auto workers = K::start(2 * pairs, worker);
      spin_until(
          [&] {
            for (cancel_slot& s : slots) s.fire();
            return gave_up.load() == pairs;
          },
          "cancellable waiters give up");
      sem->release(pairs);
      workers.join();
      EXPECT_EQ(served.load(), pairs);
      EXPECT_EQ(sem->available(), 0u);
      sem.reset();
    }
  }
}

/// The last user of a heap mutex deletes it right after unlocking, while the
/// previous owners may still be returning from their unlock() calls (the
/// pthread_mutex_destroy guarantee reference-counted objects rely on), for
/// every fairness policy the strategy supports. A violation is a
/// use-after-free that AddressSanitizer and ThreadSanitizer report;
/// UnlockDoesNotTouchTheMutexOnceAnotherCanOwnIt pins it deterministically.
TYPED_TEST_P(Conformance, MutexDestroyedByLastUser) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    const std::size_t rounds = TypeParam::rounds(30, 4);
    constexpr std::size_t users = 4;
    for (std::size_t round = 0; round < rounds; ++round) {
      auto* m = new csync::Mutex<S>(f);
      std::size_t refs = users;  // guarded by *m
      std::atomic<std::size_t> deleted{0};
      K::run(users, [&](std::size_t) -> Task<> {
        co_await K::lock(*m);
        co_await K::pause();  // others queue meanwhile
        const bool last = --refs == 0;
        csync::Mutex<S>* mine = m;
        mine->unlock();
        if (last) {
          delete mine;
          deleted.fetch_add(1);
        }
      });
      EXPECT_EQ(deleted.load(), 1u);
    }
  }
}

/// The notifier changes the state under the mutex, unlocks, and only then
/// notifies; the woken waiter deletes the condvar at once, possibly while the
/// notifier is still inside notify_one (an eventcount's broadcast lets a
/// thread see the epoch move before the notifier has read its sleeper
/// count). Nothing may touch the condvar after the delete (AddressSanitizer;
/// the counting-statistics build makes even the statistics an access).
TYPED_TEST_P(Conformance, CondvarDestroyedByWaiterWhileNotifierIsInside) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(200, 8, 2);
  csync::Mutex<S> m;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto* cv = new csync::Condvar<CS>;
    bool waiting = false, ready = false;  // guarded by m
    std::atomic<std::size_t> deleted{0};
    auto waiter = [&](std::size_t) -> Task<> {
      co_await K::lock(m);
      waiting = true;
      co_await K::wait(*cv, m, [&] { return ready; });
      delete cv;
      deleted.fetch_add(1);
      m.unlock();
    };
    auto workers = K::start(1, waiter);
    spin_until(
        [&] {
          std::lock_guard<csync::Mutex<S>> lock(m);
          return waiting;
        },
        "the waiter waits");
    csync::Condvar<CS>* const notified = cv;  // read before the waiter may delete it
    {
      std::lock_guard<csync::Mutex<S>> lock(m);
      ready = true;
    }
    notified->notify_one();  // without the mutex: the waiter may already be deleting it
    workers.join();
    EXPECT_EQ(deleted.load(), 1u);
  }
}

/// The same, deterministic: the notifier stops inside notify_one, after the
/// strategy's notify (an eventcount's epoch bump), for up to 200 ms or until
/// the waiter has deleted the condvar. A delete must wait for the notifier
/// to leave notify: it may not complete while the notifier is inside.
/// (Queue strategies and eventcount sleepers in the kernel are not woken
/// before the delivery, after notify; a spinning eventcount thread sees the
/// bump at once.)
TYPED_TEST_P(Conformance, CondvarDeleteWaitsForANotifierInsideNotify) {
  CSYNC_COMBO_TYPES();
  if constexpr (!K::is_threads) {
    GTEST_SKIP() << "a coroutine waiter is queued and claimed: woken only by the delivery";
  } else {
    csync::Mutex<S> m;
    auto* cv = new csync::Condvar<PS>;
    bool waiting = false, ready = false;  // guarded by m
    std::atomic<bool> deleted{false}, deleted_while_inside{false};
    std::thread waiter([&] {
      m.lock();
      waiting = true;
      cv->wait(m, [&] { return ready; });
      delete cv;
      deleted = true;
      m.unlock();
    });
    spin_until(
        [&] {
          std::lock_guard<csync::Mutex<S>> lock(m);
          return waiting;
        },
        "the waiter waits");
    {
      std::lock_guard<csync::Mutex<S>> lock(m);
      ready = true;
    }
    PS::after_notify_hook() = [&] {
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (!deleted.load() && std::chrono::steady_clock::now() < until) std::this_thread::yield();
      deleted_while_inside = deleted.load();
    };
    csync::Condvar<PS>* const notified = cv;
    notified->notify_one();
    PS::after_notify_hook() = nullptr;
    waiter.join();
    EXPECT_FALSE(deleted_while_inside.load())
        << "the condvar was deleted while its notifier was still inside notify_one";
    EXPECT_TRUE(deleted.load());
  }
}

/// Waiters notified under the mutex; the last one to return deletes the
/// condvar (no thread waits on it any more; the notifier returned from
/// notify_all before unlocking).
TYPED_TEST_P(Conformance, CondvarDestroyedByLastWaiter) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(20, 4);
  constexpr std::size_t n = 4;
  csync::Mutex<S> m;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto* cv = new csync::Condvar<S>;
    std::size_t arrived = 0, remaining = n;  // guarded by m
    bool go = false;                         // guarded by m
    std::atomic<std::size_t> deleted{0};
    auto waiter = [&](std::size_t) -> Task<> {
      co_await K::lock(m);
      ++arrived;
      co_await K::wait(*cv, m, [&] { return go; });
      if (--remaining == 0) {
        delete cv;
        deleted.fetch_add(1);
      }
      m.unlock();
    };
    auto workers = K::start(n, waiter);
    spin_until(
        [&] {
          std::lock_guard<csync::Mutex<S>> lock(m);
          return arrived == n;
        },
        "all waiters wait");
    {
      std::lock_guard<csync::Mutex<S>> lock(m);
      go = true;
      cv->notify_all();
    }
    workers.join();
    EXPECT_EQ(deleted.load(), 1u);
  }
}

/// Several waiters wait at once, then all give up (stop requests / timeouts)
/// and the condvar is destroyed: nobody waits, so destruction is allowed
/// (debug builds assert that the strategy's registry is empty).
TYPED_TEST_P(Conformance, CondvarDestroyedAfterWaitersGiveUp) {
  CSYNC_COMBO_TYPES();
  constexpr std::size_t n = 4;
  const std::size_t rounds = K::is_threads ? 3 : TypeParam::rounds(10, 2);
  csync::Mutex<S> m;
  for (std::size_t round = 0; round < rounds; ++round) {
    auto cv = std::make_unique<csync::Condvar<PS>>();
    std::vector<cancel_slot> slots(n);
    for (cancel_slot& s : slots) s.set_thread_timeout(csync_test::sanitized ? 300ms : 150ms);
    std::atomic<std::size_t> left{0}, wrong{0};
    auto waiter = [&](std::size_t i) -> Task<> {
      co_await K::lock(m);
      if (co_await K::wait_cancellable(*cv, m, [] { return false; }, slots[i])) wrong.fetch_add(1);
      m.unlock();
      left.fetch_add(1);
    };
    auto workers = K::start(n, waiter);
    spin_until([&] { return condvar_registry<K>(*cv).registrations() >= n; },
               "all waiters wait at once");
    spin_until(
        [&] {
          for (cancel_slot& s : slots) s.fire();  // threads time out by themselves
          return left.load() == n;
        },
        "every waiter gives up");
    workers.join();
    EXPECT_EQ(wrong.load(), 0u);
    cv.reset();
  }
}

/// unlock() may not touch the mutex once another thread can own it: that
/// owner may unlock and delete it at once (the pthread_mutex_destroy
/// guarantee reference-counted objects rely on; glibc bug 13690). With one
/// waiter queued, the controller unlocks; the probe runs at the moment
/// unlock(), still executing, enters the strategy's notify -- an access to
/// the mutex -- and checks whether somebody else could already own it: a
/// newcomer's try_lock() succeeds, or the waiter already got it. If so, a
/// real newcomer could have locked, unlocked and deleted the mutex before
/// that access: a use-after-free (MutexDestroyedByLastUser is that scenario
/// end to end). unlock() serves the waiter while nobody else may take the
/// lock and makes it takeable only with its last access, so it passes for
/// every strategy and policy.
TYPED_TEST_P(Conformance, UnlockDoesNotTouchTheMutexOnceAnotherCanOwnIt) {
  CSYNC_COMBO_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<PS> m(f);
    std::atomic<bool> armed{false}, waiter_owns{false}, newcomer_owns{false};
    std::atomic<int> owned_elsewhere{-1};
    m.strategy().on_notify([&] {
      if (!armed.exchange(false)) return;  // only the controller's unlock below
      newcomer_owns = m.try_lock();
      owned_elsewhere = newcomer_owns.load() || waiter_owns.load() ? 1 : 0;
    });
    m.lock();
    auto waiter = [&](std::size_t) -> Task<> {
      co_await K::lock(m);
      waiter_owns = true;
      m.unlock();
    };
    auto workers = K::start(1, waiter);
    spin_until([&] { return m.strategy().registrations() >= 1; }, "the waiter queues");
    armed = true;
    m.unlock();
    if (newcomer_owns.load()) m.unlock();  // the newcomer (this thread) gives it back
    workers.join();
    EXPECT_TRUE(waiter_owns.load());
    EXPECT_EQ(owned_elsewhere.load(), 0)
        << "unlock() accessed the mutex (strategy notify) after another thread could "
           "already own it -- and unlock and destroy it: use-after-free";
  }
}

// =============================================================================
// 9. Statistics hook
// =============================================================================

static_assert(std::is_empty_v<csync::no_stats>, "no_stats must compile to nothing");
static_assert(!csync::no_stats::enabled && csync::counting_stats::enabled);

TYPED_TEST_P(Conformance, StatisticsHookCountsWakes) {
  CSYNC_COMBO_TYPES();
  static_assert(sizeof(S) < sizeof(CS), "the no_stats hook must take no space in the strategy");
  static_assert(csync::wakeup_strategy<CS>);
  csync::Semaphore<PS> sem(1, csync::default_fairness<CS>);
  csync::Condvar<CS> cv;
  csync::Mutex<S> m;
  EXPECT_EQ(sem.strategy().stats().read().wakes, 0u);
  bool flag = false;  // guarded by m
  std::size_t waiting = 0;
  K::run(4, [&](std::size_t i) -> Task<> {
    for (std::size_t r = 0; r < TypeParam::rounds(50); ++r) {
      co_await K::acquire(sem, 1);
      if (r == 0) co_await csync_test::hold_until_queued<K>(sem.strategy());
      co_await K::pause();
      sem.release(1);
    }
    co_await K::lock(m);
    if (i == 0) {
      // Wait until somebody else waits, then flip and notify.
      while (waiting == 0) {
        m.unlock();
        co_await K::sleep_for(100us);
        co_await K::lock(m);
      }
      flag = true;
      m.unlock();
      cv.notify_all();
    } else {
      ++waiting;
      co_await K::wait(cv, m, [&] { return flag; });
      m.unlock();
    }
  });
  const auto s = sem.strategy().stats().read();
  EXPECT_GT(s.wakes, 0u) << "contended semaphore run recorded no wake";
  // A polling (eventcount) coroutine is not registered between its polls, so
  // a notify may legitimately find nobody to count.
  if (S::has_queue || K::is_threads) {
    EXPECT_GT(cv.strategy().stats().read().wakes, 0u) << "notify_all with a waiter recorded no wake";
  }
}

// =============================================================================
// Construction and fairness policy
// =============================================================================

TYPED_TEST_P(Conformance, FairnessPolicyConstruction) {
  CSYNC_COMBO_TYPES();
  EXPECT_EQ(csync::default_fairness<S>, S::has_queue ? fairness::fifo : fairness::barging);
  EXPECT_EQ(csync::Semaphore<S>(1).policy(), csync::default_fairness<S>);
  EXPECT_EQ(csync::Mutex<S>().policy(), csync::default_fairness<S>);
  EXPECT_EQ(csync::Semaphore<S>(1, fairness::barging).policy(), fairness::barging);
  if (S::has_queue) {
    EXPECT_EQ(csync::Semaphore<S>(1, fairness::fifo).policy(), fairness::fifo);
    EXPECT_EQ(csync::Mutex<S>(fairness::fifo).policy(), fairness::fifo);
  } else {
    EXPECT_THROW((void)csync::Semaphore<S>(1, fairness::fifo), std::invalid_argument);
    EXPECT_THROW((void)csync::Mutex<S>(fairness::fifo), std::invalid_argument);
  }
  EXPECT_THROW((void)csync::Semaphore<S>(csync::Semaphore<S>::max_permits + 1),
               std::invalid_argument);
  csync::Semaphore<S> big(csync::Semaphore<S>::max_permits);
  EXPECT_EQ(big.available(), csync::Semaphore<S>::max_permits);
  EXPECT_EQ(csync::Semaphore<S>(0).available(), 0u);
  // Coroutine waits outside a loop are a usage error reported by exception.
  if constexpr (!K::is_threads) {
    csync::Semaphore<S> empty(0);
    auto orphan = [&]() -> Task<> { co_await empty.async_acquire(1); };
    bool threw = false;
    auto driver = [&]() -> csync_test::detail::eager {
      try {
        co_await orphan();
      } catch (const std::logic_error&) {
        threw = true;
      }
    };
    driver();
    EXPECT_TRUE(threw) << "async_acquire outside a Loop must throw std::logic_error";
    EXPECT_TRUE((std::is_same_v<decltype(empty.async_acquire(1).await_resume()), void>));
  }
}

// =============================================================================
// Threads and coroutines on the same primitives
// =============================================================================

/// K's workers and two plain blocking threads share a semaphore, a mutex and
/// a condvar ring: thread waiters and coroutine waiters in one queue.
TYPED_TEST_P(Conformance, ThreadsAndCoroutinesShareAPrimitive) {
  CSYNC_COMBO_TYPES();
  using T = csync_test::threads;
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(2, f);
    csync::Mutex<S> m(f);
    csync::Condvar<S> cv;
    constexpr std::size_t kw = 4, tw = 2, ring = kw + tw;
    const std::size_t iterations = TypeParam::rounds(200);
    std::atomic<std::size_t> held{0}, violations{0};
    std::size_t plain = 0, turn = 0;  // guarded by m
    auto body = [&]<class Kind>(Kind, std::size_t slot) -> Task<> {
      for (std::size_t r = 0; r < iterations; ++r) {
        co_await Kind::acquire(sem, 1);
        if (held.fetch_add(1, relaxed) + 1 > 2) violations.fetch_add(1, relaxed);
        if (r == 0) co_await csync_test::hold_until_queued<Kind>(sem.strategy());
        co_await Kind::pause();
        held.fetch_sub(1, relaxed);
        sem.release(1);
      }
      // The ring runs after the semaphore phase: it keeps workers in lockstep.
      for (std::size_t r = 0; r < iterations; ++r) {
        co_await Kind::lock(m);
        ++plain;
        if (r % 8 == 0) {
          co_await Kind::wait(cv, m, [&] { return turn % ring == slot; });
          ++turn;
          cv.notify_all();
        }
        m.unlock();
      }
    };
    auto k_worker = [&](std::size_t i) { return body(K{}, i); };
    auto t_worker = [&](std::size_t i) { return body(T{}, kw + i); };
    auto g1 = K::start(kw, k_worker, "K workers");
    auto g2 = T::start(tw, t_worker, "blocking threads");
    g1.join();
    g2.join();
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(plain, ring * iterations);
    EXPECT_EQ(sem.available(), 2u);
    EXPECT_GT(sem.strategy().stats().read().wakes, 0u);
  }
}

// =============================================================================
// 10. Lifetime: destroy right after the last use (ASan, TSan: use-after-free)
// =============================================================================
//
// A primitive may be destroyed by the party that can tell nobody else will
// use it -- the last owner of a reference-counted object, the waiter that got
// the last permits, a notifier holding the user's lock -- while the others
// are still returning from their last calls (semaphore.hpp, mutex.hpp,
// condvar.hpp: "Lifetime"). Every test here deletes a heap primitive at the
// earliest moment that contract allows; an access by a party still returning
// is a use-after-free that AddressSanitizer and ThreadSanitizer report (and
// that the perturbed build makes likelier). A primitive is never touched by
// the test after the call that may let another party delete it, and a hook
// that runs while the primitive may be gone copies what it needs out of its
// closure first (the closure lives in the probe, inside the primitive).
//
// Regression tests, one per interleaving that used to break (most failed
// under ASan against the headers before commit a310f2c):
//   FullWakeBatchReleaseThenDelete          release(n) to n queued waiters;
//       the last woken deletes. Notify delivered in batches of 32 and
//       re-locked the registry after a full one: n == 32 was the bug.
//   SecondReleaserDoesNotTouchSemaphoreAfterQueuedBitCleared
//       a second release lands inside the first one's serve; the waiter
//       that ends up with both permits deletes.
//   TryLockForTimeoutDuringUnlockThenDelete a timed lock gives up inside
//       the unlock that would have served it, retries, owns, deletes.
//   LastOwnerDestroysUnderPerturbation      the reference-count pattern on a
//       Mutex and on a weighted Semaphore, with jitter at every hook.
//   CondvarDeletedByNotifierUnderTheMutex   libc++'s condvarany/destructor
//       pattern: notify_one, delete, unlock; and
//   CondvarDeletedByNotifierAsDeadlineExpires  the same with the waiter's
//       deadline racing the notify.
// Most of them also run several rounds on the natural schedule with jitter
// at the probe's hooks: the "destroy right after the last use" group that
// the headers' Lifetime paragraphs refer to (last owner destroys,
// release-then-delete with exactly 32, 33 and 1 waiters, timeout during
// unlock, condvar deadline during notify-and-delete).

/// strategy::spin's coroutine waiters poll by registering again on every
/// trip through their loop: for them a registration does not mean "waits
/// for a notify".
template <class C>
constexpr bool registers_to_poll =
    !C::S::has_queue && !C::K::is_threads && C::S::name == std::string_view("spin");

/// Jitter at every hook of `p` (hook_jitter), for perturbation tests.
template <class Probe>
void jitter_hooks(Probe& p) {
  p.on_notify([] { csync_test::hook_jitter(); });
  p.on_visit([](csync::detail::waiter*, csync::visit) { csync_test::hook_jitter(); });
}

/// One round of release-then-delete: n waiters queue for one permit each on
/// a heap semaphore, one release(n) -- the controller's last access -- lets
/// them all through, and the last to count itself out deletes the semaphore
/// at once. `shaped` (queue strategies): every party runs on one CPU and the
/// release on an idle-policy thread (csync_test::sched), so each woken waiter
/// -- the deleter included -- runs as soon as it is delivered, before the
/// releaser's next step: whatever the releaser does after its last delivery
/// happens after the deletion. Otherwise: the natural schedule with jitter.
template <class C>
void release_then_delete_round(fairness f, std::size_t n, bool shaped) {
  using PS = typename C::PS;
  using K = typename C::K;
  auto* sem = new csync::Semaphore<PS>(0, f);
  if (!shaped) jitter_hooks(sem->strategy());
  std::atomic<std::size_t> arrived{0}, remaining{n}, deleted{0};
  auto waiter = [&](std::size_t) -> Task<> {
    if (shaped) csync_test::sched::pin_to_shared_cpu();
    arrived.fetch_add(1);
    co_await K::acquire(*sem, 1);
    // acq_rel (seq_cst): the other waiters' steps happen-before the delete.
    if (remaining.fetch_sub(1) == 1) {
      delete sem;  // the earliest moment: the last waiter, as soon as it runs
      deleted.fetch_add(1);
    }
  };
  auto workers = K::start(n, waiter);
  // Queue strategies: n registrations are n waiters queued (nothing wakes
  // them before the release). Eventcount strategies have no batches; it is
  // enough that all arrived.
  spin_until([&] { return arrived.load() == n && sem->strategy().registrations() >= n; },
             "all waiters queue");
  if (shaped) {
    std::thread releaser([s = sem, n] {
      csync_test::sched::pin_to_shared_cpu();
      csync_test::sched::yield_to_everyone();
      s->release(n);
    });
    releaser.join();
  } else {
    sem->release(n);
  }
  workers.join();
  EXPECT_EQ(deleted.load(), 1u);
  EXPECT_EQ(remaining.load(), 0u);
}

/// Regression (old notify_in_batches): a release whose visitor detached a
/// full batch of 32 waiters delivered them and then locked the registry
/// again to look for more -- in a semaphore the delivered waiters may have
/// destroyed meanwhile. 32 waiters is exactly one full batch with nothing
/// after it; 33 (a second batch, whose waiter cannot delete before it is
/// delivered) and 1 are the neighbours. Even rounds are shaped (see
/// release_then_delete_round) for queue strategies, which had the batches.
TYPED_TEST_P(Conformance, FullWakeBatchReleaseThenDelete) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(8, 4, 2);
  for (fairness f : policies<S>()) {
    for (std::size_t n : {std::size_t{32}, std::size_t{33}, std::size_t{1}}) {
      for (std::size_t round = 0; round < std::max<std::size_t>(rounds, 2); ++round) {
        const bool shaped = S::has_queue && round % 2 == 0;
        SCOPED_TRACE(std::string(to_string(f)) + ", " + std::to_string(n) + " waiters, round " +
                     std::to_string(round) + (shaped ? " (shaped)" : ""));
        release_then_delete_round<TypeParam>(f, n, shaped);
      }
    }
  }
}

/// Regression: two releasers, one waiter for 1 permit that then takes a
/// second permit and deletes the semaphore. The second release is placed
/// inside the first one's serve -- right after the visitor granted (queue
/// strategies) or at the entry of notify (eventcount) -- on another thread,
/// and the first releaser waits there until it returned. The old release
/// added its permits first and notified after, so the second releaser went
/// on into a notify of its own after the first had cleared the queued flag:
/// by then the waiter could take both permits and delete the semaphore
/// under it (here: the second releaser waits at the entry of its notify
/// until the waiter deleted it). Now the second release finds the first one
/// serving, leaves its permits with it and returns; the waiter is delivered
/// only after the server's last access.
TYPED_TEST_P(Conformance, SecondReleaserDoesNotTouchSemaphoreAfterQueuedBitCleared) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(8, 4, 2);
  for (fairness f : policies<S>()) {
    for (std::size_t round = 0; round < rounds; ++round) {
      SCOPED_TRACE(std::string(to_string(f)) + ", round " + std::to_string(round));
      struct shared {
        std::atomic<bool> armed{true}, go{false}, r2_returned{false}, r2_in_notify{false};
        std::atomic<bool> second_started{false}, second_registered{false}, deleted{false};
        std::atomic<int> placed{0};
        std::thread::id r1, r2;  // written before the hooks can run (see below)
      } st;
      st.r1 = std::this_thread::get_id();
      // Releaser 1, inside its serve: start releaser 2 and wait until it
      // returned (or went into a notify of its own: the old design).
      auto place_r2 = [](shared& c) {
        if (std::this_thread::get_id() != c.r1 || !c.armed.exchange(false)) return;
        c.go = true;
        spin_until([&c] { return c.r2_returned.load() || c.r2_in_notify.load(); },
                   "releaser 2 returns inside releaser 1's serve");
        c.placed.fetch_add(1);
      };
      auto* sem = new csync::Semaphore<PS>(0, f);
      sem->strategy().on_register([ctx = &st](const csync::detail::waiter&) {
        if (ctx->second_started.load()) ctx->second_registered = true;
      });
      if constexpr (S::has_queue) {
        sem->strategy().on_visit(
            [ctx = &st, place_r2](csync::detail::waiter* head, csync::visit decision) {
              if (head != nullptr && decision == csync::visit::wake) place_r2(*ctx);
            });
      }
      sem->strategy().on_notify([ctx = &st, place_r2] {
        shared& c = *ctx;  // the closure may be freed below: use only `c`
        if (std::this_thread::get_id() == c.r2) {
          // Releaser 2 entered a notify. Let the waiter finish first (it
          // deletes), or queue for its second permit (then nobody deletes
          // before we serve it): whatever this notify does next must not
          // touch a deleted semaphore. (A polling waiter registers without
          // needing us: for it, only the deletion counts.)
          c.r2_in_notify = true;
          spin_until(
              [&c] {
                return c.deleted.load() || (!registers_to_poll<TypeParam> && c.second_registered.load());
              },
              "the waiter deletes the semaphore or queues again");
          return;
        }
        if constexpr (!S::has_queue) place_r2(c);
      });
      std::thread r2_thread([&st, &sem] {
        spin_until([&st] { return st.go.load(); }, "releaser 1 starts releaser 2");
        csync::Semaphore<PS>* s = sem;
        s->release(1);  // our last access
        st.r2_returned = true;
      });
      st.r2 = r2_thread.get_id();  // before go, which orders it before every use
      auto waiter = [&](std::size_t) -> Task<> {
        csync::Semaphore<PS>* mine = sem;
        co_await K::acquire(*mine, 1);  // releaser 1's permit
        st.second_started = true;
        co_await K::acquire(*mine, 1);  // releaser 2's
        delete mine;                    // both permits are ours: nobody else may use it
        st.deleted = true;
      };
      auto workers = K::start(1, waiter);
      spin_until([&] { return sem->strategy().registrations() >= 1; }, "the waiter queues");
      sem->release(1);  // releaser 1; our last access
      r2_thread.join();
      workers.join();
      EXPECT_EQ(st.placed.load(), 1) << "releaser 2 was not placed inside releaser 1's serve";
      EXPECT_TRUE(st.r2_returned.load());
      EXPECT_TRUE(st.deleted.load());
    }
  }
}

/// One round of timeout-during-unlock. The controller holds a heap mutex; a
/// worker calls try_lock_for(first_timeout) and, if that fails, retries
/// until it owns the mutex; then -- its last owner -- unlocks and deletes it.
/// The controller unlocks once the worker queued (its last access).
/// `place`: the controller's unlock waits at the entry of its notify until
/// the worker's first attempt timed out and the worker either deleted the
/// mutex (the old design: its timeout cleared the queued flag, the unlock's
/// permit was takeable, its retry took it) or queued again (now: the unlock
/// is serving, nobody can take the lock before it has finished). Returns
/// whether the timeout fell inside the unlock.
template <class C>
bool timeout_during_unlock_round(fairness f, std::chrono::nanoseconds first_timeout, bool place) {
  using PS = typename C::PS;
  using K = typename C::K;
  struct shared {
    std::atomic<bool> armed{false}, first_done{false}, deleted{false}, placed{false};
    std::atomic<int> first_result{-1};
    std::atomic<std::size_t> regs{0}, regs_at_first_done{0};
    std::thread::id controller;
  } st;
  st.armed = place;
  st.controller = std::this_thread::get_id();
  auto* m = new csync::Mutex<PS>(f);
  m->strategy().on_register([ctx = &st](const csync::detail::waiter&) { ctx->regs.fetch_add(1); });
  if (place) {
    m->strategy().on_notify([ctx = &st] {
      shared& c = *ctx;  // the closure may be freed below: use only `c`
      if (std::this_thread::get_id() != c.controller || !c.armed.exchange(false)) return;
      c.placed = !c.first_done.load();
      spin_until(
          [&c] {
            return c.first_done.load() &&
                   (c.deleted.load() || c.regs.load() > c.regs_at_first_done.load());
          },
          "the worker's try_lock_for times out, then it deletes the mutex or queues again");
    });
  } else {
    jitter_hooks(m->strategy());
  }
  m->lock();
  auto worker = [&](std::size_t) -> Task<> {
    csync::Mutex<PS>* mine = m;
    const bool first = co_await K::try_lock_for(*mine, first_timeout);
    st.regs_at_first_done = st.regs.load();
    st.first_result = first ? 1 : 0;
    st.first_done = true;
    if (!first) {
      while (!(co_await K::try_lock_for(*mine, 1ms))) {
      }
    }
    mine->unlock();
    delete mine;  // the last owner, as soon as it is done
    st.deleted = true;
  };
  auto workers = K::start(1, worker);
  spin_until([&] { return st.regs.load() >= 1; }, "the worker queues");
  m->unlock();  // our last access: the worker may own and delete it from here on
  workers.join();
  EXPECT_TRUE(st.deleted.load());
  EXPECT_NE(st.first_result.load(), -1);
  return st.placed.load();
}

/// Regression: Mutex::try_lock_for times out while another thread's unlock()
/// is under way, and the last owner deletes the mutex. Phase 1 places the
/// timeout inside the unlock (timeout_during_unlock_round, `place`; a round
/// whose unlock came only after the timeout is repeated). Phase 2: rounds
/// with timeouts from 0 to 300 us racing the unlock on the natural
/// schedule, jitter at the hooks.
TYPED_TEST_P(Conformance, TryLockForTimeoutDuringUnlockThenDelete) {
  CSYNC_COMBO_TYPES();
  const auto first_timeout = csync_test::sanitized ? 200ms : 50ms;
  const std::size_t rounds = TypeParam::rounds(100, 8, 2);
  constexpr std::array<std::chrono::nanoseconds, 4> racing{0us, 20us, 100us, 300us};
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    bool placed = false;
    for (int attempt = 0; attempt < 5 && !placed; ++attempt) {
      placed = timeout_during_unlock_round<TypeParam>(f, first_timeout, true);
    }
    EXPECT_TRUE(placed) << "5 times the unlock came only after the try_lock_for timed out";
    for (std::size_t round = 0; round < rounds; ++round) {
      SCOPED_TRACE(round);
      timeout_during_unlock_round<TypeParam>(f, racing[round % racing.size()], false);
    }
  }
}

/// The reference-count pattern: each user locks, drops its reference,
/// unlocks; whoever dropped the last one deletes the primitive at once,
/// while the others may still be returning from their unlock()/release().
/// On a Mutex (as MutexDestroyedByLastUser, but with jitter at every probe
/// hook: the entry of notify -- where the old unlock had already made the
/// lock takeable --, each visitor decision, and the moment before delivery)
/// and on a weighted Semaphore (3 permits, requests of 1 to 3: the user that
/// dropped the last reference then takes all 3 permits, which it gets only
/// once everybody else's release has made theirs available, and deletes).
/// Every policy the strategy supports, barging and eventcount included.
TYPED_TEST_P(Conformance, LastOwnerDestroysUnderPerturbation) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(100, 8, 2);
  csync_test::probe_deliver_hook_scope<PS> deliver_jitter([] { csync_test::hook_jitter(); });
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    const std::size_t users = per_loop<K>(4);
    for (std::size_t round = 0; round < rounds; ++round) {
      auto* m = new csync::Mutex<PS>(f);
      jitter_hooks(m->strategy());
      std::size_t refs = users;  // guarded by *m
      std::atomic<std::size_t> deleted{0};
      K::run(users, [&](std::size_t) -> Task<> {
        csync::Mutex<PS>* mine = m;
        co_await K::lock(*mine);
        co_await K::pause();  // the others queue meanwhile
        const bool last = --refs == 0;
        mine->unlock();
        if (last) {
          delete mine;
          deleted.fetch_add(1);
        }
      });
      EXPECT_EQ(deleted.load(), 1u) << "mutex, round " << round;
    }
    constexpr std::size_t permits = 3;
    for (std::size_t round = 0; round < rounds; ++round) {
      auto* sem = new csync::Semaphore<PS>(permits, f);
      jitter_hooks(sem->strategy());
      std::atomic<std::size_t> refs{users}, held{0}, violations{0}, deleted{0};
      K::run(users, [&](std::size_t i) -> Task<> {
        csync::Semaphore<PS>* mine = sem;
        const std::size_t n = 1 + (i + round) % permits;
        co_await K::acquire(*mine, n);
        if (held.fetch_add(n, relaxed) + n > permits) violations.fetch_add(1, relaxed);
        co_await K::pause();  // the others queue meanwhile
        held.fetch_sub(n, relaxed);
        // acq_rel (seq_cst): every other user dropped its reference before.
        const bool last = refs.fetch_sub(1) == 1;
        mine->release(n);
        if (last) {
          co_await K::acquire(*mine, permits);  // every other release is done with it
          delete mine;
          deleted.fetch_add(1);
        }
      });
      EXPECT_EQ(violations.load(), 0u);
      EXPECT_EQ(deleted.load(), 1u) << "semaphore, round " << round;
    }
  }
}

/// One round of notify-and-delete under the mutex (libc++'s
/// condvarany/destructor.pass.cpp): a waiter waits on a heap condvar for
/// `ready`; the notifier, holding the mutex, sets it, calls notify_one(),
/// deletes the condvar and only then unlocks; the waiter re-acquires the
/// mutex and returns without touching the condvar again. `timeout` > 0: the
/// waiter uses wait_for and the notifier, holding the mutex from the moment
/// it saw the waiter wait, notifies at about the waiter's deadline
/// (`offset` from it), so the deadline races the notify and the delete.
/// `notifier_is_worker`: the notifier is a second worker of kind K (a thread,
/// or a task: on coroutines_Nloops on another loop than the waiter's, on
/// coroutines_1loop on the same one); otherwise the controller thread.
/// Returns 1 if the waiter was notified, 0 if it timed out.
template <class C>
int notify_delete_round(bool notifier_is_worker, std::chrono::nanoseconds timeout,
                        std::chrono::nanoseconds offset) {
  using S = typename C::S;
  using PS = typename C::PS;
  using K = typename C::K;
  csync::Mutex<S> m;
  auto* cv = new csync::Condvar<PS>;
  bool waiting = false, ready = false;  // guarded by m
  steady::time_point deadline{};        // guarded by m
  std::atomic<int> result{-1}, wrong{0}, deleted{0};
  auto notify_and_delete = [&] {  // holding m
    ready = true;
    cv->notify_one();
    delete cv;  // at once, still holding the mutex
    deleted.fetch_add(1);
  };
  auto worker = [&](std::size_t i) -> Task<> {
    if (i == 0) {  // the waiter
      co_await K::lock(m);
      waiting = true;
      bool r = true;
      if (timeout == 0ns) {
        co_await K::wait(*cv, m, [&] { return ready; });
      } else {
        deadline = steady::now() + timeout;
        r = co_await K::wait_for(*cv, m, timeout, [&] { return ready; });
      }
      if (r != ready) wrong.fetch_add(1);  // wait_for yields pred(), holding m
      result = r ? 1 : 0;
      m.unlock();
    } else {  // the notifier, as a worker
      for (;;) {
        co_await K::lock(m);
        if (waiting) break;
        m.unlock();
        co_await K::sleep_for(20us);
      }
      if (timeout != 0ns) {
        const std::chrono::nanoseconds left = deadline + offset - steady::now();
        if (left > 0ns) co_await K::sleep_for(left);
      }
      notify_and_delete();
      m.unlock();
    }
  };
  auto workers = K::start(notifier_is_worker ? 2 : 1, worker);
  if (!notifier_is_worker) {
    for (;;) {
      m.lock();
      if (waiting) break;
      m.unlock();
      std::this_thread::sleep_for(20us);
    }
    if (timeout != 0ns) std::this_thread::sleep_until(deadline + offset);
    notify_and_delete();
    m.unlock();
  }
  workers.join();
  EXPECT_EQ(deleted.load(), 1);
  EXPECT_EQ(wrong.load(), 0) << "wait_for's result is not pred()'s value";
  return result.load();
}

/// Regression: the notifier deletes the condvar right after notify_one(),
/// under the mutex. The old waiter, once woken, took itself off the
/// condvar's waiter count -- in a condvar that was gone.
TYPED_TEST_P(Conformance, CondvarDeletedByNotifierUnderTheMutex) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(40, 8, 2);
  for (bool notifier_is_worker : {false, true}) {
    SCOPED_TRACE(notifier_is_worker ? "notifier: a worker" : "notifier: the controller thread");
    for (std::size_t round = 0; round < rounds; ++round) {
      EXPECT_EQ(notify_delete_round<TypeParam>(notifier_is_worker, 0ns, 0ns), 1);
    }
  }
}

/// As CondvarDeletedByNotifierUnderTheMutex with wait_for: the notifier
/// notifies and deletes at about the waiter's deadline (from a quarter of
/// the timeout before it to a quarter after), so the waiter's timeout --
/// its cancellation, which touches the condvar -- races the notify and the
/// delete. Either outcome is allowed; wait_for must report pred()'s value
/// and nothing may touch the condvar once deleted. Many rounds.
TYPED_TEST_P(Conformance, CondvarDeletedByNotifierAsDeadlineExpires) {
  CSYNC_COMBO_TYPES();
  const std::size_t rounds = TypeParam::rounds(200, 8, 2);
  constexpr std::array<std::chrono::nanoseconds, 4> timeouts{100us, 200us, 400us, 800us};
  for (bool notifier_is_worker : {false, true}) {
    SCOPED_TRACE(notifier_is_worker ? "notifier: a worker" : "notifier: the controller thread");
    std::size_t notified = 0, timed_out = 0;
    for (std::size_t round = 0; round < rounds; ++round) {
      const auto timeout = timeouts[round % timeouts.size()];
      const auto offset = timeout * (static_cast<int>(round % 5) - 2) / 8;  // -T/4 .. +T/4
      const int r = notify_delete_round<TypeParam>(notifier_is_worker, timeout, offset);
      (r == 1 ? notified : timed_out) += 1;
    }
    ::testing::Test::RecordProperty(notifier_is_worker ? "worker_notified" : "controller_notified",
                   std::to_string(notified) + " notified, " + std::to_string(timed_out) +
                       " timed out");
  }
}

REGISTER_TYPED_TEST_SUITE_P(Conformance,
                            SemaphoreOnePermitExcludes, SemaphoreThreePermitsBoundHolders,
                            MutexExcludes, NoLostWakeupsProducerConsumer, CondvarTokenRing,
                            SemaphoreFifoOrder, MutexFifoOrder, CondvarNotifyOneFifoOrder,
                            WeightedHeadNotStarvedUnderFifo, BargingLostRetryDoesNotStrandPermits,
                            WeightedAcquireAccounting,
                            TryAcquireSemantics, ReleaseNWakesSeveral,
                            CondvarNotifyOneWakesExactlyOne, CondvarNotifyAllWakesAll,
                            CondvarNotifyAllSkipsLaterWaiters, CondvarWaitForTimeout,
                            CondvarWithStdUniqueLock, TryAcquireForTimesOut,
                            TimeoutsRacingReleasesConservePermits,
                            SemaphoreCancellationConservesPermits,
                            MutexCancellationUnderContention, CondvarCancellationUnderNotifies,
                            CancelledHeadDoesNotStrandPermits,
                            CancelledLoneWaiterClearsQueuedFlag,
                            CancelledCondvarWaiterForwardsNotification, StopRequestedBeforeWait,
                            SemaphoreDestroyedAfterWaitersLeave, MutexDestroyedByLastUser,
                            CondvarDestroyedByLastWaiter, CondvarDestroyedAfterWaitersGiveUp,
                            CondvarDestroyedByWaiterWhileNotifierIsInside,
                            CondvarDeleteWaitsForANotifierInsideNotify,
                            UnlockDoesNotTouchTheMutexOnceAnotherCanOwnIt,
                            StatisticsHookCountsWakes,
                            FairnessPolicyConstruction, ThreadsAndCoroutinesShareAPrimitive,
                            FullWakeBatchReleaseThenDelete,
                            SecondReleaserDoesNotTouchSemaphoreAfterQueuedBitCleared,
                            TryLockForTimeoutDuringUnlockThenDelete,
                            LastOwnerDestroysUnderPerturbation,
                            CondvarDeletedByNotifierUnderTheMutex,
                            CondvarDeletedByNotifierAsDeadlineExpires);

}  // namespace
