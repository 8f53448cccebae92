// tests/alloc_failure_test.cpp -- std::bad_alloc at every allocation along
// every wait path leaves the primitive exactly as it was.
//
// This executable replaces the global operator new/delete (which is why it
// is an executable of its own): allocations are counted per thread, and once
// a thread is armed with k, the k-th allocation it makes throws
// std::bad_alloc. Only the arming thread is affected: helper threads (a
// releaser, a second waiter) allocate normally, and are created before the
// arming.
//
// For every wait path --
//   threads      Semaphore::acquire, Semaphore::try_acquire_for,
//                Mutex::try_lock_for, Condvar::wait_for
//   coroutines   Semaphore::async_acquire_for, Mutex::async_try_lock_for,
//                Condvar::async_wait_for (each a task on a fresh Loop run
//                on the test thread)
// -- on every strategy (typed over them) and every fairness policy it
// supports, the path runs with the failure at k = 1, 2, ... until a run
// completes without an injected failure. After each injected failure:
//   * std::bad_alloc surfaced to the caller (from the blocking call, from
//     the Task call or Loop::spawn when a coroutine frame could not be
//     allocated, or from Loop::run when the task ended with it), and the
//     path did not complete;
//   * the primitive is as before: available() (or still locked by us), no
//     registration left behind (the probe's registrations() minus
//     cancellations() did not move), a try_acquire/release round trip (a
//     stale queued flag fails it under fifo), a fresh waiter can still be
//     served; for a Condvar also: the waiter's mutex is still held when the
//     exception surfaces, and notify_one() does not reach the strategy -- it
//     does only while the condvar counts a waiter, so a count left behind by
//     a registration that threw is seen here rather than as a destructor
//     that waits forever.
// The default preset is a Release build: all of these are explicit checks,
// not assertions.
//
// Where allocations are: a coroutine frame (the Task call; Loop::spawn's
// driver), the loop's timer heap (reserve_timer, before the registration),
// and strategy::mutex_queue's deque -- which allocates only when a push
// crosses into a new 64-slot block. `prime_to_allocating()` first advances
// such a registry (two waiters, the front one served: the deque's start
// moves by one slot) until a single registration allocates, so that the
// deque's allocation is on the path too; for registries that never
// allocate it gives up after a bound and the path runs as it is.
// -----------------------------------------------------------------------------
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <csync/csync.hpp>

#include "support/waiter_kinds.hpp"

// --- the failing allocator --------------------------------------------------------

namespace {

/// Per-thread allocation fault state (constant-initialized: no TLS init
/// function, so it is safe to touch from any allocation).
struct fault_state {
  bool armed = false;
  std::size_t fail_at = 0;  ///< 0: count only
  std::size_t count = 0;    ///< allocations since arming
  bool fired = false;       ///< the fail_at-th allocation threw
};
thread_local fault_state fault;

void* allocate(std::size_t n) {
  fault_state& f = fault;
  if (f.armed) {
    ++f.count;
    if (f.count == f.fail_at) {
      f.fired = true;
      throw std::bad_alloc();
    }
  }
  void* p = std::malloc(n == 0 ? 1 : n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* allocate_aligned(std::size_t n, std::align_val_t align) {
  fault_state& f = fault;
  if (f.armed) {
    ++f.count;
    if (f.count == f.fail_at) {
      f.fired = true;
      throw std::bad_alloc();
    }
  }
  // Portable over-alignment: the block from malloc is kept just before the
  // aligned pointer (free_aligned reads it back).
  const std::size_t a = static_cast<std::size_t>(align);
  void* raw = std::malloc(n + a + sizeof(void*));
  if (raw == nullptr) throw std::bad_alloc();
  const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(raw) + sizeof(void*);
  void* p = reinterpret_cast<void*>((start + a - 1) / a * a);
  static_cast<void**>(p)[-1] = raw;
  return p;
}

void free_aligned(void* p) noexcept {
  if (p != nullptr) std::free(static_cast<void**>(p)[-1]);
}

}  // namespace

void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (...) {
    return nullptr;
  }
}
void* operator new(std::size_t n, std::align_val_t a) { return allocate_aligned(n, a); }
void* operator new[](std::size_t n, std::align_val_t a) { return allocate_aligned(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  try {
    return allocate_aligned(n, a);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { free_aligned(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { free_aligned(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { free_aligned(p); }

namespace {

using namespace std::chrono_literals;
using csync::fairness;
using csync::Task;
using csync_test::policies;
using csync_test::spin_until;
using csync_test::to_string;

/// Arms the calling thread for its scope: the k-th allocation from now
/// throws (k == 0: count only). No gtest macro inside: they allocate.
class arm_fault {
 public:
  explicit arm_fault(std::size_t k) { fault = {true, k, 0, false}; }
  arm_fault(const arm_fault&) = delete;
  arm_fault& operator=(const arm_fault&) = delete;
  ~arm_fault() { fault.armed = false; }
  bool fired() const noexcept { return fault.fired; }
  std::size_t count() const noexcept { return fault.count; }
};

/// Allocations `f()` makes on this thread.
template <class F>
std::size_t allocations_of(F&& f) {
  arm_fault counting(0);
  f();
  return counting.count();
}

struct outcome {
  bool injected = false;   ///< the k-th allocation threw
  bool bad_alloc = false;  ///< std::bad_alloc reached the caller
  bool completed = false;  ///< the path ran to its end
  std::string other;       ///< any other exception
};

template <class Path>
outcome run_failing_at(std::size_t k, Path& path) {
  outcome o;
  {
    arm_fault arm(k);
    try {
      path();
      o.completed = true;
    } catch (const std::bad_alloc&) {
      o.bad_alloc = true;
    } catch (const std::exception& e) {
      o.other = e.what();
    }
    o.injected = arm.fired();
  }
  return o;
}

/// Runs `path` with the failure at k = 1, 2, ... until a run completes
/// without an injected failure; `unchanged()` checks the primitive after
/// each injected failure, `completed()` after the clean run. `balance()` is
/// the probe's registrations() - cancellations() (see outstanding()): a
/// failed run must leave it where it was, the clean run must move it by
/// `completed_delta` (0 for a wait that timed out and withdrew, 1 for one
/// that was served; nullopt: not checked, see ends_without_cancel).
/// Returns the number of allocations the path makes (the
/// clean run's k - 1).
template <class Path, class Balance, class Unchanged, class Completed>
std::size_t for_every_allocation(const std::string& what, Path path, Balance balance,
                                 std::optional<std::ptrdiff_t> completed_delta, Unchanged unchanged,
                                 Completed completed) {
  constexpr std::size_t limit = 64;
  for (std::size_t k = 1; k <= limit; ++k) {
    SCOPED_TRACE(what + ": allocation " + std::to_string(k) + " fails");
    const std::ptrdiff_t balance_before = balance();
    const outcome o = run_failing_at(k, path);
    const std::ptrdiff_t moved = balance() - balance_before;
    EXPECT_TRUE(o.other.empty()) << "unexpected exception: " << o.other;
    if (!o.injected) {
      EXPECT_TRUE(o.completed) << "no failure was injected, yet the path did not complete";
      if (completed_delta) {
        EXPECT_EQ(moved, *completed_delta) << "registrations - cancellations after the clean run";
      }
      completed();
      return k - 1;
    }
    EXPECT_TRUE(o.bad_alloc) << "the allocation failed, but std::bad_alloc did not reach the caller";
    EXPECT_FALSE(o.completed) << "the allocation failed, yet the path completed as if it had not";
    EXPECT_EQ(moved, 0) << "the failed wait left a registration behind";
    unchanged();
    if (::testing::Test::HasFatalFailure()) return k;
  }
  ADD_FAILURE() << what << ": the path still allocates after " << limit << " allocations";
  return limit;
}

/// Registrations not withdrawn: a timed-out or failed waiter must leave
/// registrations() - cancellations() where it was.
template <class Probe>
std::ptrdiff_t outstanding(Probe& p) {
  return static_cast<std::ptrdiff_t>(p.registrations()) -
         static_cast<std::ptrdiff_t>(p.cancellations());
}

/// Coroutine waits that end without a cancel(): strategy::spin's waiters
/// poll (each poll registers again; a cancel reports the poll in flight) and
/// strategy::uring_futex's deadline is the kernel's (a LINK_TIMEOUT ends the
/// ring wait). Their registrations - cancellations moves with every clean
/// run and says nothing about what is left registered; a failed run must
/// still leave it where it was.
template <class S>
constexpr bool ends_without_cancel =
    !S::has_queue &&
    (S::name == std::string_view("spin") || S::name == std::string_view("uring_futex"));

template <class S>
constexpr std::optional<std::ptrdiff_t> coroutine_clean_delta() {
  if (ends_without_cancel<S>) return std::nullopt;
  return 0;
}

/// Advances a registry until one registration allocates (see the file
/// comment). `one_registration()` registers and withdraws one waiter on the
/// test thread; `advance()` moves the registry's start by one slot. false
/// when no registration allocated within the bound (a registry that never
/// allocates).
template <class OneRegistration, class Advance>
bool prime_to_allocating(OneRegistration one_registration, Advance advance) {
  for (int i = 0; i < 80; ++i) {
    if (allocations_of(one_registration) > 0) return true;
    advance();
  }
  return false;
}

template <class C>
class AllocFailure : public ::testing::Test {
 protected:
  void SetUp() override {
    const csync::availability a = C::plain::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
};

// --- semaphore helpers ------------------------------------------------------------------

template <class Sem>
void wait_registrations(Sem& sem, std::size_t at_least, const char* what) {
  spin_until([&] { return sem.strategy().registrations() >= at_least; }, what);
}

/// Two waiters for more than is available queue in order; the front one is
/// served first, then the second: the registry's start moves by one.
template <class Sem>
void advance_semaphore(Sem& sem, std::size_t available) {
  const std::size_t want = available + 1;
  const std::size_t base = sem.strategy().registrations();
  csync_test::watchdog dog("advance the semaphore's registry");
  std::thread a([&] {
    sem.acquire(want);
    sem.release(want);
  });
  wait_registrations(sem, base + 1, "first waiter queues");
  std::thread b([&] {
    sem.acquire(want);
    sem.release(want);
  });
  wait_registrations(sem, base + 2, "second waiter queues");
  sem.release(1);
  a.join();
  b.join();
  EXPECT_TRUE(sem.try_acquire(1));
  EXPECT_EQ(sem.available(), available);
}

/// After an injected failure: the semaphore is exactly as before.
template <class Sem>
void expect_semaphore_unchanged(Sem& sem, std::size_t available) {
  EXPECT_EQ(sem.available(), available);
  // Round trip: under fifo a stale queued flag would refuse this.
  if (available != 0) {
    EXPECT_TRUE(sem.try_acquire(available)) << "free permits, nobody waiting, and try_acquire refused";
    EXPECT_EQ(sem.available(), 0u);
    sem.release(available);
  }
  // A fresh waiter can still be served.
  const std::size_t base = sem.strategy().registrations();
  {
    csync_test::watchdog dog("a fresh waiter is served");
    std::thread w([&] {
      sem.acquire(available + 1);
      sem.release(available + 1);
    });
    wait_registrations(sem, base + 1, "a fresh waiter queues");
    sem.release(1);
    w.join();
  }
  EXPECT_TRUE(sem.try_acquire(1));
  EXPECT_EQ(sem.available(), available);
}

// --- mutex helpers (the test thread holds the mutex between paths) ---------------------------

template <class M>
void advance_mutex(M& m) {  // held by us on entry and exit
  const std::size_t base = m.strategy().registrations();
  csync_test::watchdog dog("advance the mutex's registry");
  std::thread a([&] {
    m.lock();
    m.unlock();
  });
  spin_until([&] { return m.strategy().registrations() >= base + 1; }, "first locker queues");
  std::thread b([&] {
    m.lock();
    m.unlock();
  });
  spin_until([&] { return m.strategy().registrations() >= base + 2; }, "second locker queues");
  m.unlock();
  a.join();
  b.join();
  m.lock();
}

template <class M>
void expect_mutex_unchanged_and_held(M& m) {
  EXPECT_FALSE(m.try_lock()) << "the mutex is no longer held by its owner";
  m.unlock();
  EXPECT_TRUE(m.try_lock()) << "unlocked, nobody waiting, and try_lock refused";
  // A fresh locker is served by our unlock.
  const std::size_t base = m.strategy().registrations();
  {
    csync_test::watchdog dog("a fresh locker is served");
    std::thread w([&] {
      m.lock();
      m.unlock();
    });
    spin_until([&] { return m.strategy().registrations() >= base + 1; }, "a fresh locker queues");
    m.unlock();
    w.join();
  }
  m.lock();
}

// --- condvar helpers --------------------------------------------------------------------------

/// Two waiters, notified one at a time: the front one first.
template <class CV, class M>
void advance_condvar(CV& cv, M& m) {
  const std::size_t base = cv.strategy().registrations();
  std::size_t tokens = 0;  // guarded by m
  csync_test::watchdog dog("advance the condvar's registry");
  auto waiter = [&] {
    m.lock();
    cv.wait(m, [&] { return tokens > 0; });
    --tokens;
    m.unlock();
  };
  std::thread a(waiter);
  spin_until([&] { return cv.strategy().registrations() >= base + 1; }, "first waiter waits");
  std::thread b(waiter);
  spin_until([&] { return cv.strategy().registrations() >= base + 2; }, "second waiter waits");
  for (int i = 0; i < 2; ++i) {
    m.lock();
    ++tokens;
    m.unlock();
    cv.notify_one();
  }
  a.join();
  b.join();
}

/// After an injected failure (the mutex free again, the condvar's notify
/// counted by `notifies`): nothing counts as waiting, nothing registered, a
/// fresh waiter can be notified.
template <class CV, class M>
void expect_condvar_unchanged(CV& cv, M& m, const std::atomic<std::size_t>& notifies) {
  const std::size_t before = notifies.load();
  cv.notify_one();  // nobody waits: must not reach the strategy
  EXPECT_EQ(notifies.load(), before)
      << "notify_one() with nobody waiting reached the strategy: the condvar still counts a "
         "waiter (its destructor would wait for it forever)";
  EXPECT_TRUE(m.try_lock()) << "the mutex was left locked";
  m.unlock();
  bool go = false;  // guarded by m
  const std::size_t base = cv.strategy().registrations();
  {
    csync_test::watchdog dog("a fresh condvar waiter is notified");
    std::thread w([&] {
      m.lock();
      cv.wait(m, [&] { return go; });
      m.unlock();
    });
    spin_until([&] { return cv.strategy().registrations() >= base + 1; }, "a fresh waiter waits");
    m.lock();
    go = true;
    m.unlock();
    cv.notify_all();
    w.join();
  }
}

// --- coroutine paths -------------------------------------------------------------------------

template <class Sem>
Task<> acquire_for_task(Sem& sem, std::size_t n, int& result) {
  result = (co_await sem.async_acquire_for(200us, n)) ? 1 : 0;
}

template <class M>
Task<> try_lock_for_task(M& m, int& result) {
  result = (co_await m.async_try_lock_for(200us)) ? 1 : 0;
}

/// `held_when_thrown`: 1 if the mutex was still ours when async_wait_for
/// threw (it must be: the wait registers nothing before it could fail).
template <class CV, class M>
Task<> wait_for_task(CV& cv, M& m, int& result, int& held_when_thrown) {
  co_await m.async_lock();
  try {
    result = (co_await cv.async_wait_for(m, 200us, [] { return false; })) ? 1 : 0;
  } catch (const std::bad_alloc&) {
    held_when_thrown = m.try_lock() ? 0 : 1;  // try_lock succeeding: it was not ours
    m.unlock();
    throw;
  }
  m.unlock();
}

/// A fresh loop (constructed before arming), the task spawned and run on
/// this thread: a failure surfaces from the Task call, from spawn, or from
/// run() (the task ended with it).
template <class MakeTask>
void run_on_fresh_loop(csync::runtime::Loop& loop, MakeTask make_task) {
  loop.spawn(make_task());
  loop.run();
}

// --- the matrix ----------------------------------------------------------------------------------

using strategies = ::testing::Types<
#if defined(CSYNC_HAVE_MUTEX_QUEUE)
    csync_test::family<csync::strategy::basic_mutex_queue>,
#endif
#if defined(CSYNC_HAVE_INTRUSIVE_LIST)
    csync_test::family<csync::strategy::basic_intrusive_list>,
#endif
#if defined(CSYNC_HAVE_ATOMIC_WAKER)
    csync_test::family<csync::strategy::basic_atomic_waker>,
#endif
#if defined(CSYNC_HAVE_FUTEX)
    csync_test::family<csync::strategy::basic_futex>,
#endif
#if defined(CSYNC_HAVE_URING_FUTEX)
    csync_test::family<csync::strategy::basic_uring_futex>,
#endif
#if defined(CSYNC_HAVE_IOCP)
    csync_test::family<csync::strategy::basic_iocp>,
#endif
    csync_test::family<csync::strategy::basic_spin>>;

struct strategy_name {
  template <class F>
  static std::string GetName(int) {
    return std::string(F::plain::name);
  }
};

TYPED_TEST_SUITE(AllocFailure, strategies, strategy_name);

#define CSYNC_ALLOC_TYPES()                              \
  using S [[maybe_unused]] = typename TypeParam::plain;  \
  using PS [[maybe_unused]] = csync_test::probe<typename TypeParam::counted>

/// Semaphore::acquire (blocking) on 1 permit for 2; a helper releases one
/// once the waiter registered (or gives up once the call returned).
TYPED_TEST(AllocFailure, ThreadAcquire) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(1, f);
    const bool primed = prime_to_allocating(
        [&] { (void)sem.try_acquire_for(0ms, 2); }, [&] { advance_semaphore(sem, 1); });
    std::unique_ptr<std::thread> releaser;
    std::atomic<bool> returned{false};
    auto path = [&] {
      // The helper exists before the arming (creating a thread allocates).
      sem.acquire(2);
    };
    auto start_releaser = [&] {
      returned = false;
      const std::size_t base = sem.strategy().registrations();
      releaser = std::make_unique<std::thread>([&, base] {
        spin_until([&] { return returned.load() || sem.strategy().registrations() > base; },
                   "the acquire registers or returns");
        if (sem.strategy().registrations() > base) sem.release(1);
      });
    };
    auto stop_releaser = [&] {
      returned = true;
      releaser->join();
      releaser.reset();
    };
    auto guarded_path = [&] {
      struct on_exit {
        std::atomic<bool>& returned;
        ~on_exit() { returned = true; }
      } mark{returned};
      path();
    };
    std::size_t allocs = 0;
    {
      csync_test::watchdog dog("ThreadAcquire runs");
      start_releaser();
      allocs = for_every_allocation(
          "Semaphore::acquire",
          [&] { guarded_path(); }, [&] { return outstanding(sem.strategy()); }, 1,
          [&] {
            stop_releaser();
            expect_semaphore_unchanged(sem, 1);
            start_releaser();
          },
          [&] {
            stop_releaser();
            EXPECT_EQ(sem.available(), 0u);
            sem.release(1);  // back to 1 (we hold 2, the helper added 1)
            EXPECT_EQ(sem.available(), 1u);
          });
      if (releaser) stop_releaser();
    }
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  }
}

TYPED_TEST(AllocFailure, ThreadTryAcquireFor) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(1, f);
    const bool primed = prime_to_allocating(
        [&] { (void)sem.try_acquire_for(0ms, 2); }, [&] { advance_semaphore(sem, 1); });
    bool result = true;
    csync_test::watchdog dog("ThreadTryAcquireFor runs");
    const std::size_t allocs = for_every_allocation(
        "Semaphore::try_acquire_for", [&] { result = sem.try_acquire_for(200us, 2); },
        [&] { return outstanding(sem.strategy()); }, 0,
        [&] { expect_semaphore_unchanged(sem, 1); },
        [&] {
          EXPECT_FALSE(result) << "nothing was released: it must time out";
          expect_semaphore_unchanged(sem, 1);
        });
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  }
}

TYPED_TEST(AllocFailure, ThreadTryLockFor) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<PS> m(f);
    m.lock();  // held by this thread throughout: every try_lock_for times out
    const bool primed =
        prime_to_allocating([&] { (void)m.try_lock_for(0ms); }, [&] { advance_mutex(m); });
    bool result = true;
    csync_test::watchdog dog("ThreadTryLockFor runs");
    const std::size_t allocs = for_every_allocation(
        "Mutex::try_lock_for", [&] { result = m.try_lock_for(200us); },
        [&] { return outstanding(m.strategy()); }, 0,
        [&] { expect_mutex_unchanged_and_held(m); },
        [&] {
          EXPECT_FALSE(result) << "the mutex is held: it must time out";
          expect_mutex_unchanged_and_held(m);
        });
    m.unlock();
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  }
}

TYPED_TEST(AllocFailure, ThreadCondvarWaitFor) {
  CSYNC_ALLOC_TYPES();
  csync::Mutex<PS> m;
  // On the heap and leaked on purpose if it still counts a waiter: its
  // destructor would wait for that waiter forever.
  auto* cv = new csync::Condvar<PS>;
  std::atomic<std::size_t> notifies{0};
  cv->strategy().on_notify([&notifies] { notifies.fetch_add(1); });
  const bool primed = prime_to_allocating(
      [&] {
        m.lock();
        (void)cv->wait_for(m, 0ms, [] { return false; });
        m.unlock();
      },
      [&] { advance_condvar(*cv, m); });
  int result = -1, held_when_thrown = -1;
  csync_test::watchdog dog("ThreadCondvarWaitFor runs");
  const std::size_t allocs = for_every_allocation(
      "Condvar::wait_for",
      [&] {
        m.lock();
        try {
          result = cv->wait_for(m, 200us, [] { return false; }) ? 1 : 0;
        } catch (const std::bad_alloc&) {
          held_when_thrown = m.try_lock() ? 0 : 1;
          m.unlock();
          throw;
        }
        m.unlock();
      },
      [&] { return outstanding(cv->strategy()) + outstanding(m.strategy()); }, 0,
      [&] {
        EXPECT_EQ(held_when_thrown, 1) << "wait_for threw without the lock held";
        expect_condvar_unchanged(*cv, m, notifies);
      },
      [&] {
        EXPECT_EQ(result, 0) << "nobody notified: it must time out";
        expect_condvar_unchanged(*cv, m, notifies);
      });
  ::testing::Test::RecordProperty("allocations",
                                  std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  const std::size_t n = notifies.load();
  cv->notify_one();
  if (notifies.load() == n) delete cv;  // nothing counted as waiting: safe to destroy
}

TYPED_TEST(AllocFailure, CoroutineAcquireFor) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Semaphore<PS> sem(1, f);
    const bool primed = prime_to_allocating(
        [&] { (void)sem.try_acquire_for(0ms, 2); }, [&] { advance_semaphore(sem, 1); });
    int result = -1;
    std::unique_ptr<csync::runtime::Loop> loop;
    auto fresh_loop = [&] { loop = std::make_unique<csync::runtime::Loop>(); };
    fresh_loop();
    csync_test::watchdog dog("CoroutineAcquireFor runs");
    const std::size_t allocs = for_every_allocation(
        "Semaphore::async_acquire_for",
        [&] {
          result = -1;
          run_on_fresh_loop(*loop, [&] { return acquire_for_task(sem, 2, result); });
        },
        [&] { return outstanding(sem.strategy()); }, coroutine_clean_delta<S>(),
        [&] {
          EXPECT_EQ(result, -1);
          fresh_loop();
          expect_semaphore_unchanged(sem, 1);
        },
        [&] {
          EXPECT_EQ(result, 0) << "nothing was released: it must time out";
          expect_semaphore_unchanged(sem, 1);
        });
    loop.reset();
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  }
}

TYPED_TEST(AllocFailure, CoroutineTryLockFor) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    csync::Mutex<PS> m(f);
    m.lock();  // held by this thread: the task's try_lock_for times out
    const bool primed =
        prime_to_allocating([&] { (void)m.try_lock_for(0ms); }, [&] { advance_mutex(m); });
    int result = -1;
    std::unique_ptr<csync::runtime::Loop> loop;
    auto fresh_loop = [&] { loop = std::make_unique<csync::runtime::Loop>(); };
    fresh_loop();
    csync_test::watchdog dog("CoroutineTryLockFor runs");
    const std::size_t allocs = for_every_allocation(
        "Mutex::async_try_lock_for",
        [&] {
          result = -1;
          run_on_fresh_loop(*loop, [&] { return try_lock_for_task(m, result); });
        },
        [&] { return outstanding(m.strategy()); }, coroutine_clean_delta<S>(),
        [&] {
          EXPECT_EQ(result, -1);
          fresh_loop();
          expect_mutex_unchanged_and_held(m);
        },
        [&] {
          EXPECT_EQ(result, 0) << "the mutex is held: it must time out";
          expect_mutex_unchanged_and_held(m);
        });
    loop.reset();
    m.unlock();
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (primed ? " (registry primed)" : ""));
  }
}

TYPED_TEST(AllocFailure, CoroutineCondvarWaitFor) {
  CSYNC_ALLOC_TYPES();
  for (fairness f : policies<S>()) {
    SCOPED_TRACE(to_string(f));
    // The mutex never allocates (intrusive_list): re-acquiring it after a
    // coroutine's wake must not fail, and csync calls std::terminate if it
    // does (condvar.hpp, "Exceptions", as std::condition_variable_any), so
    // an allocating mutex would make this sweep end the process. The
    // condvar's own registration is swept with the strategy under test.
    using MS = csync_test::probe<csync::strategy::basic_intrusive_list<csync::counting_stats>>;
    csync::Mutex<MS> m(S::has_queue ? f : fairness::fifo);
    auto* cv = new csync::Condvar<PS>;  // leaked on purpose if it still counts a waiter
    std::atomic<std::size_t> notifies{0};
    cv->strategy().on_notify([&notifies] { notifies.fetch_add(1); });
    // Both registries on the path: the condvar's (the wait) and the mutex's
    // (re-acquiring it after the timeout).
    const bool cv_primed = prime_to_allocating(
        [&] {
          m.lock();
          (void)cv->wait_for(m, 0ms, [] { return false; });
          m.unlock();
        },
        [&] { advance_condvar(*cv, m); });
    const bool m_primed = false;  // an intrusive registry has nothing to prime
    int result = -1, held_when_thrown = -1;
    std::unique_ptr<csync::runtime::Loop> loop;
    auto fresh_loop = [&] { loop = std::make_unique<csync::runtime::Loop>(); };
    fresh_loop();
    csync_test::watchdog dog("CoroutineCondvarWaitFor runs");
    const std::size_t allocs = for_every_allocation(
        "Condvar::async_wait_for",
        [&] {
          result = -1;
          held_when_thrown = -1;
          run_on_fresh_loop(*loop, [&] { return wait_for_task(*cv, m, result, held_when_thrown); });
        },
        [&] { return outstanding(cv->strategy()) + outstanding(m.strategy()); },
        coroutine_clean_delta<S>(),
        [&] {
          EXPECT_EQ(result, -1);
          // -1: the failure came before the wait (a frame, the lock).
          EXPECT_NE(held_when_thrown, 0) << "async_wait_for threw without the mutex held";
          fresh_loop();
          expect_condvar_unchanged(*cv, m, notifies);
        },
        [&] {
          EXPECT_EQ(result, 0) << "nobody notified: it must time out";
          expect_condvar_unchanged(*cv, m, notifies);
        });
    loop.reset();
    ::testing::Test::RecordProperty(std::string("allocations_") + to_string(f),
                                    std::to_string(allocs) + (cv_primed ? " (condvar primed)" : "") +
                                        (m_primed ? " (mutex primed)" : ""));
    const std::size_t n = notifies.load();
    cv->notify_one();
    if (notifies.load() == n) delete cv;  // nothing counted as waiting: safe to destroy
  }
}

}  // namespace
