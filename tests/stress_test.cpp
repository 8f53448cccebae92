// tests/stress_test.cpp -- oversubscribed stress runs of every primitive.
//
// One TYPED_TEST_SUITE_P, `Stress`, over the same strategy x waiter-kind
// matrix as the conformance suite (support/waiter_kinds.hpp). The machine has
// 2 cores; the workers are always more than that:
//   threads            12 OS threads,
//   coroutines_1loop   24 tasks on one loop,
//   coroutines_Nloops  36 tasks over 3 loops,
// and the coroutine kinds get 2 extra blocking threads on the same
// primitives (thread and coroutine waiters in one queue). Coroutine waits are
// cancelled at random by a foreign thread; threads use short timeouts.
// Every run is a bounded number of iterations; invariants are checked inside
// the critical sections (relaxed counters, so ThreadSanitizer still checks
// the primitives' own happens-before) and conservation at the end. Every
// fairness policy the strategy supports runs, with half the iterations each.
//
//   SemaphoreMixedOperations   weighted try / timed / cancellable / blocking
//                              acquires, split releases
//   MutexMixedOperations       lock / try_lock / try_lock_for / cancellable
//   CondvarBoundedBuffer       producers and consumers on two condvars
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <vector>

#include <csync/csync.hpp>

#include "support/waiter_kinds.hpp"

namespace {

using namespace std::chrono_literals;
using csync::fairness;
using csync::Task;
using csync_test::cancel_slot;
using csync_test::chaos_canceller;
using csync_test::policies;
using csync_test::to_string;

constexpr auto relaxed = std::memory_order_relaxed;
using T = csync_test::threads;

/// Workers of kind K in a stress run (all more than the 2 cores).
template <class K>
constexpr std::size_t stress_workers() {
  if constexpr (K::is_threads) {
    return 12;
  } else {
    return 12 * (K::loops == 1 ? 2 : K::loops);
  }
}
/// Extra blocking threads sharing the primitives with coroutine workers.
template <class K>
constexpr std::size_t foreign_threads() {
  return K::is_threads ? 0 : 2;
}

/// Rounds per worker and policy: sized for ~0.5 s per test in Release on 2
/// idle cores; sanitizers, polling coroutines (combo::rounds), blocking
/// threads (context switches) and spinning strategies run fewer. So does
/// schedule perturbation: its sleeps make the queue strategies' coroutine
/// runs about 10x slower, and widened windows need fewer rounds to be hit.
///
/// Soak mode (scripts/soak.sh): with CSYNC_SOAK_OPS=N in the environment each
/// test runs at least N operations in all (summed over its policies, spread
/// over `workers` per policy) and prints "[ soak ] ops=<n>" when it ends.
std::size_t soak_ops() {
  static const std::size_t ops = [] {
    const char* v = std::getenv("CSYNC_SOAK_OPS");
    return v == nullptr ? std::size_t{0} : static_cast<std::size_t>(std::strtoull(v, nullptr, 10));
  }();
  return ops;
}

template <class C>
std::size_t stress_rounds(std::size_t policies, std::size_t workers) {
  std::size_t n = C::rounds(19200 / policies, 4, 4);
  if (csync_test::perturbed) n /= 8;
  if (C::K::is_threads) n /= 2;
  if (!C::S::has_queue) n /= 4;
  if (const std::size_t target = soak_ops(); target != 0) {
    n = std::max(n, (target + policies * workers - 1) / (policies * workers));
  }
  return std::max<std::size_t>(1, n);
}

/// Operations a test performed (acquire attempts, lock attempts, items
/// moved); printed in soak mode.
std::atomic<std::uint64_t> operations_done{0};

/// Runs body(K{}, i) for K's workers and body(threads{}, i) for the foreign
/// threads (numbered after them), all concurrently.
template <class K, class Body>
void run_mixed(Body& body) {
  const std::size_t kw = stress_workers<K>(), tw = foreign_threads<K>();
  auto k_worker = [&](std::size_t i) { return body(K{}, i); };
  auto t_worker = [&](std::size_t i) { return body(T{}, kw + i); };
  auto g1 = K::start(kw, k_worker, "stress workers");
  std::optional<csync_test::group> g2;
  if (tw > 0) g2.emplace(T::start(tw, t_worker, "foreign blocking threads"));
  g1.join();
  if (g2) g2->join();
}

template <class C>
class Stress : public ::testing::Test {
 protected:
  void SetUp() override {
    operations_done = 0;
    const csync::availability a = C::S::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
  void TearDown() override {
    if (soak_ops() != 0) std::printf("[ soak ] ops=%llu\n", static_cast<unsigned long long>(operations_done.load()));
  }
};

TYPED_TEST_SUITE_P(Stress);

TYPED_TEST_P(Stress, SemaphoreMixedOperations) {
  CSYNC_COMBO_TYPES();
  const auto fs = policies<S>();
  for (fairness f : fs) {
    SCOPED_TRACE(to_string(f));
    constexpr std::size_t permits = 4;
    csync::Semaphore<PS> sem(permits, f);
    const std::size_t total = stress_workers<K>() + foreign_threads<K>();
    const std::size_t iterations = stress_rounds<TypeParam>(fs.size(), total);
    operations_done += total * iterations;
    std::vector<cancel_slot> slots(total);
    for (std::size_t i = 0; i < total; ++i) slots[i].set_thread_timeout(std::chrono::microseconds(20 + 30 * (i % 8)));
    std::atomic<std::size_t> held{0}, violations{0}, taken{0}, refused{0};
    auto body = [&]<class Kind>(Kind, std::size_t i) -> Task<> {
      std::minstd_rand rng(static_cast<unsigned>(1000 + i));
      // Prologue: the first holders keep their permit until somebody queued.
      co_await Kind::acquire(sem, 1);
      if (held.fetch_add(1, relaxed) + 1 > permits) violations.fetch_add(1, relaxed);
      co_await csync_test::hold_until_queued<Kind>(sem.strategy());
      held.fetch_sub(1, relaxed);
      sem.release(1);
      for (std::size_t r = 0; r < iterations; ++r) {
        const std::size_t n = rng() % 4 == 0 ? 1 + rng() % permits : 1;
        bool got = false;
        switch (rng() % 5) {
          case 0:
            got = sem.try_acquire(n);
            break;
          case 1:
            got = co_await Kind::try_acquire_for(sem, n, std::chrono::microseconds(rng() % 3 * 100));
            break;
          case 2:
            got = co_await Kind::acquire_cancellable(sem, n, slots[i]);
            break;
          default:
            co_await Kind::acquire(sem, n);
            got = true;
            break;
        }
        if (!got) {
          refused.fetch_add(1, relaxed);
          continue;
        }
        taken.fetch_add(1, relaxed);
        if (held.fetch_add(n, relaxed) + n > permits) violations.fetch_add(1, relaxed);
        for (std::size_t p = rng() % 3; p > 0; --p) co_await Kind::pause();
        held.fetch_sub(n, relaxed);
        if (n > 1 && rng() % 2 == 0) {  // give back in two parts
          sem.release(1);
          sem.release(n - 1);
        } else {
          sem.release(n);
        }
      }
    };
    {
      auto chaos = chaos_canceller::start<K>(slots);
      run_mixed<K>(body);
    }
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(taken.load() + refused.load(), total * iterations);
    EXPECT_GT(taken.load(), 0u);
    EXPECT_EQ(sem.available(), permits) << "permits not conserved";
    EXPECT_TRUE(sem.try_acquire(permits)) << "the semaphore still looks queued";
    EXPECT_GT(sem.strategy().stats().read().wakes, 0u) << "the slow path was never taken";
  }
}

TYPED_TEST_P(Stress, MutexMixedOperations) {
  CSYNC_COMBO_TYPES();
  const auto fs = policies<S>();
  for (fairness f : fs) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<PS> m(f);
    const std::size_t total = stress_workers<K>() + foreign_threads<K>();
    const std::size_t iterations = stress_rounds<TypeParam>(fs.size(), total);
    operations_done += total * iterations;
    std::vector<cancel_slot> slots(total);
    for (std::size_t i = 0; i < total; ++i) slots[i].set_thread_timeout(std::chrono::microseconds(30 + 20 * (i % 8)));
    std::atomic<std::size_t> holders{0}, violations{0}, locked{0};
    std::uint64_t plain = 0, checksum = 0;  // guarded by m
    std::atomic<std::uint64_t> expected_checksum{0};
    auto body = [&]<class Kind>(Kind, std::size_t i) -> Task<> {
      std::minstd_rand rng(static_cast<unsigned>(7000 + i));
      co_await Kind::lock(m);  // prologue: hold until somebody queued
      co_await csync_test::hold_until_queued<Kind>(m.strategy());
      m.unlock();
      for (std::size_t r = 0; r < iterations; ++r) {
        bool got = false;
        switch (rng() % 5) {
          case 0:
            got = m.try_lock();
            break;
          case 1:
            got = co_await Kind::try_lock_for(m, std::chrono::microseconds(rng() % 3 * 100));
            break;
          case 2:
            got = co_await Kind::lock_cancellable(m, slots[i]);
            break;
          default:
            co_await Kind::lock(m);
            got = true;
            break;
        }
        if (!got) continue;
        if (holders.fetch_add(1, relaxed) != 0) violations.fetch_add(1, relaxed);
        const std::uint64_t v = i * 1'000'003 + r;
        ++plain;
        checksum += v;
        if (rng() % 2 == 0) co_await Kind::pause();
        holders.fetch_sub(1, relaxed);
        locked.fetch_add(1, relaxed);
        expected_checksum.fetch_add(v, relaxed);
        m.unlock();
      }
    };
    {
      auto chaos = chaos_canceller::start<K>(slots);
      run_mixed<K>(body);
    }
    EXPECT_EQ(violations.load(), 0u);
    EXPECT_EQ(plain, locked.load());
    EXPECT_EQ(checksum, expected_checksum.load());
    EXPECT_TRUE(m.try_lock()) << "mutex left locked";
    m.unlock();
    EXPECT_GT(m.strategy().stats().read().wakes, 0u) << "the slow path was never taken";
  }
}

/// A bounded buffer (capacity 4) between producers and consumers, with a
/// not_full and a not_empty Condvar. Items carry (producer, sequence): the
/// sum and count must match, and every consumer must see each producer's
/// items in increasing order (the buffer is FIFO under the mutex). Some
/// consumer waits are cancellable (stop requests / timeouts) and retry.
TYPED_TEST_P(Stress, CondvarBoundedBuffer) {
  CSYNC_COMBO_TYPES();
  const auto fs = policies<S>();
  for (fairness f : fs) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<S> m(f);
    csync::Condvar<CS> not_full;
    csync::Condvar<PS> not_empty;
    constexpr std::size_t capacity = 4;
    const std::size_t total_workers = stress_workers<K>() + foreign_threads<K>();
    const std::size_t producers = total_workers / 2;
    const std::size_t per_producer = stress_rounds<TypeParam>(fs.size(), producers);
    const std::size_t total = producers * per_producer;
    operations_done += total;
    std::vector<cancel_slot> slots(total_workers);
    for (std::size_t i = 0; i < total_workers; ++i) slots[i].set_thread_timeout(std::chrono::microseconds(50 + 25 * (i % 8)));
    std::deque<std::uint64_t> buffer;  // guarded by m
    std::size_t consumed = 0;          // guarded by m
    std::uint64_t sum = 0;             // guarded by m
    std::atomic<std::size_t> overflow{0}, out_of_order{0}, cancelled{0};
    auto body = [&]<class Kind>(Kind, std::size_t i) -> Task<> {
      std::minstd_rand rng(static_cast<unsigned>(4242 + i));
      if (i < producers) {
        // Start once a consumer waits: the slow path is certain.
        while (not_empty.strategy().registrations() == 0) co_await Kind::pause();
        for (std::size_t s = 0; s < per_producer; ++s) {
          co_await Kind::lock(m);
          co_await Kind::wait(not_full, m, [&] { return buffer.size() < capacity; });
          buffer.push_back((std::uint64_t{i} << 32) | s);
          if (buffer.size() > capacity) overflow.fetch_add(1, relaxed);
          m.unlock();
          if (rng() % 8 == 0) {
            not_empty.notify_all();
          } else {
            not_empty.notify_one();
          }
        }
      } else {
        std::vector<std::int64_t> last(producers, -1);
        const bool cancellable = i % 2 == 0;
        for (;;) {
          co_await Kind::lock(m);
          auto ready = [&] { return !buffer.empty() || consumed == total; };
          if (cancellable) {
            if (!(co_await Kind::wait_cancellable(not_empty, m, ready, slots[i]))) {
              cancelled.fetch_add(1, relaxed);
              m.unlock();
              continue;
            }
          } else {
            co_await Kind::wait(not_empty, m, ready);
          }
          if (buffer.empty()) {  // consumed == total: everything is done
            m.unlock();
            break;
          }
          const std::uint64_t item = buffer.front();
          buffer.pop_front();
          sum += item;
          const bool finished = ++consumed == total;
          const std::size_t p = static_cast<std::size_t>(item >> 32);
          const auto s = static_cast<std::int64_t>(item & 0xffffffffu);
          if (s <= last[p]) out_of_order.fetch_add(1, relaxed);
          last[p] = s;
          m.unlock();
          not_full.notify_one();
          if (finished) not_empty.notify_all();  // release the other consumers
          if (rng() % 4 == 0) co_await Kind::pause();
        }
      }
    };
    {
      auto chaos = chaos_canceller::start<K>(slots);
      run_mixed<K>(body);
    }
    std::uint64_t expected = 0;
    for (std::size_t p = 0; p < producers; ++p) {
      for (std::size_t s = 0; s < per_producer; ++s) expected += (std::uint64_t{p} << 32) | s;
    }
    EXPECT_EQ(overflow.load(), 0u);
    EXPECT_EQ(out_of_order.load(), 0u);
    EXPECT_EQ(consumed, total);
    EXPECT_EQ(sum, expected);
    EXPECT_TRUE(buffer.empty());
    EXPECT_GT(not_empty.strategy().stats().read().wakes, 0u) << "no consumer was ever woken";
  }
}

REGISTER_TYPED_TEST_SUITE_P(Stress, SemaphoreMixedOperations, MutexMixedOperations,
                            CondvarBoundedBuffer);

#if defined(CSYNC_HAVE_MUTEX_QUEUE)
INSTANTIATE_TYPED_TEST_SUITE_P(mutex_queue, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_mutex_queue>>,
                               csync_test::kind_name);
#endif
#if defined(CSYNC_HAVE_SPIN)
INSTANTIATE_TYPED_TEST_SUITE_P(spin, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_spin>>,
                               csync_test::kind_name);
#endif
#if defined(CSYNC_HAVE_ATOMIC_WAKER)
INSTANTIATE_TYPED_TEST_SUITE_P(atomic_waker, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_atomic_waker>>,
                               csync_test::kind_name);
#endif
#if defined(CSYNC_HAVE_INTRUSIVE_LIST)
INSTANTIATE_TYPED_TEST_SUITE_P(intrusive_list, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_intrusive_list>>,
                               csync_test::kind_name);
#endif
#if defined(CSYNC_HAVE_FUTEX)
INSTANTIATE_TYPED_TEST_SUITE_P(futex, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_futex>>,
                               csync_test::kind_name);
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
INSTANTIATE_TYPED_TEST_SUITE_P(uring_futex, Stress,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_uring_futex>>,
                               csync_test::kind_name);
#endif

}  // namespace
