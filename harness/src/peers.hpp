// harness/src/peers.hpp
// -----------------------------------------------------------------------------
// Reference semaphores for thread waiters, run in the same report as the csync
// strategies so every number has a ratio against them. Each offers the
// interface the thread workloads use: acquire(n), try_acquire(n), release(n).
//
//   std_counting_semaphore   std::counting_semaphore (libstdc++ 12: atomic
//                            wait/notify, i.e. a futex with spinning); no
//                            weighted acquire, so weight must be 1. It can
//                            lose a wake-up (docs/peers.md): the harness's
//                            watchdog reports such a cell as failed.
//   std_mutex_condvar        a count under std::mutex with one
//                            std::condition_variable: the textbook semaphore.
//   futex_spin_then_block    a 32-bit count that is its own futex word: spin
//                            `spin_polls` CAS attempts, then FUTEX_WAIT; a
//                            release wakes one sleeper only if one is counted.
//   absl_mutex               Abseil's absl::Mutex, as its users write a
//                            semaphore: a count under the mutex and
//                            Mutex::Await on "enough permits" (the unlock
//                            re-evaluates waiters' conditions); for the
//                            condvar workloads, absl::Mutex with absl::CondVar
//                            (absl_kit). Built where CMake finds Abseil
//                            (CSYNC_BENCH_HAVE_ABSL; Debian: libabsl-dev).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <semaphore>

#include <csync/detail/address_wait.hpp>
#include <csync/detail/cpu_relax.hpp>

#if CSYNC_BENCH_HAVE_ABSL
#include <absl/synchronization/mutex.h>
#endif

namespace csync::bench::peers {

class std_counting_semaphore {
 public:
  explicit std_counting_semaphore(std::uint64_t permits)
      : sem_(static_cast<std::ptrdiff_t>(permits)) {}
  void acquire(std::uint64_t) { sem_.acquire(); }           // weight 1 (see catalog)
  bool try_acquire(std::uint64_t) { return sem_.try_acquire(); }
  void release(std::uint64_t n) { sem_.release(static_cast<std::ptrdiff_t>(n)); }

 private:
  std::counting_semaphore<> sem_;
};

/// The textbook semaphore: a count under a mutex with one condition
/// variable. std_mutex_condvar for threads; peers_fiber.hpp makes the same
/// of Boost.Fiber's primitives.
template <class Mutex, class Condvar>
class counted_semaphore {
 public:
  explicit counted_semaphore(std::uint64_t permits) : count_(permits) {}
  void acquire(std::uint64_t n) {
    std::unique_lock<Mutex> lock(mutex_);
    available_.wait(lock, [&] { return count_ >= n; });
    count_ -= n;
  }
  bool try_acquire(std::uint64_t n) {
    std::lock_guard<Mutex> lock(mutex_);
    if (count_ < n) return false;
    count_ -= n;
    return true;
  }
  void release(std::uint64_t n) {
    {
      std::lock_guard<Mutex> lock(mutex_);
      count_ += n;
    }
    // Every waiter wants the same weight, so one wake per release suffices.
    available_.notify_one();
  }

 private:
  Mutex mutex_;
  Condvar available_;
  std::uint64_t count_;  // guarded by mutex_
};

using std_mutex_condvar = counted_semaphore<std::mutex, std::condition_variable>;

#if defined(CSYNC_DETAIL_HAVE_FUTEX)
class futex_spin_then_block {
 public:
  static constexpr int spin_polls = 100;  // musl's sem_wait spins 100 times

  explicit futex_spin_then_block(std::uint64_t permits)
      : count_(static_cast<std::uint32_t>(permits)) {}

  void acquire(std::uint64_t n) {
    const auto want = static_cast<std::uint32_t>(n);
    for (int i = 0; i < spin_polls; ++i) {
      if (try_take(want)) return;
      csync::detail::cpu_relax();
    }
    // seq_cst: a store-load pair with release() (it adds to count_, then
    // loads sleepers_): one of the two sides must see the other's write, so
    // either the releaser wakes us or our FUTEX_WAIT sees the new count.
    sleepers_.fetch_add(1, std::memory_order_seq_cst);
    for (;;) {
      if (try_take(want)) break;
      // seq_cst: the load half of the pair above. The kernel compares the
      // word again before sleeping, so a release after this load -> EAGAIN.
      const std::uint32_t seen = count_.load(std::memory_order_seq_cst);
      if (seen < want) csync::detail::wait_on_address(count_, seen);
    }
    sleepers_.fetch_sub(1, std::memory_order_relaxed);
  }

  bool try_acquire(std::uint64_t n) { return try_take(static_cast<std::uint32_t>(n)); }

  void release(std::uint64_t n) {
    // seq_cst (both): the other half of acquire()'s store-load pair; the
    // increment also releases the holder's critical section to the taker.
    count_.fetch_add(static_cast<std::uint32_t>(n), std::memory_order_seq_cst);
    if (sleepers_.load(std::memory_order_seq_cst) != 0) csync::detail::wake_address_one(count_);
  }

 private:
  bool try_take(std::uint32_t want) {
    std::uint32_t c = count_.load(std::memory_order_relaxed);
    while (c >= want) {
      // acquire: pairs with release()'s fetch_add.
      if (count_.compare_exchange_weak(c, c - want, std::memory_order_acquire,
                                       std::memory_order_relaxed)) {
        return true;
      }
    }
    return false;
  }

  std::atomic<std::uint32_t> count_;
  std::atomic<std::uint32_t> sleepers_{0};
};
#endif

#if CSYNC_BENCH_HAVE_ABSL
/// absl::Mutex as production code runs it: Abseil enables its deadlock
/// detector (a global lock-order graph updated on every Lock) when the
/// library itself was built without NDEBUG, which a distribution's build
/// may be. Switched off once, before the first peer mutex exists.
inline void absl_as_in_production() {
  static const bool done = [] {
    absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
    return true;
  }();
  (void)done;
}

class absl_mutex {
 public:
  explicit absl_mutex(std::uint64_t permits) : count_(permits) { absl_as_in_production(); }
  void acquire(std::uint64_t n) {
    absl::MutexLock lock(&mutex_);
    const auto enough = [&] { return count_ >= n; };  // evaluated holding mutex_
    mutex_.Await(absl::Condition(&enough));
    count_ -= n;
  }
  bool try_acquire(std::uint64_t n) {
    absl::MutexLock lock(&mutex_);
    if (count_ < n) return false;
    count_ -= n;
    return true;
  }
  void release(std::uint64_t n) {
    absl::MutexLock lock(&mutex_);  // its unlock wakes a waiter whose condition now holds
    count_ += n;
  }

 private:
  absl::Mutex mutex_;
  std::uint64_t count_;  // guarded by mutex_
};
#endif

}  // namespace csync::bench::peers
