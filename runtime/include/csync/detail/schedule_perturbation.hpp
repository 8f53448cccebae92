// csync/detail/schedule_perturbation.hpp
// -----------------------------------------------------------------------------
// Schedule-perturbation mode: the test-only halves of detail::atomic and
// detail::mutex (atomic.hpp). Included only when CSYNC_SCHEDULE_PERTURBATION=1.
//
// Why: a lost wakeup lives in a window of a few instructions -- between a
// waiter's re-check and its registration, between a notifier's state change
// and its look at the queue, between a cancel and a wake that detached the
// waiter. On two cores a stress test hits such a window once in millions of
// operations. Here every atomic operation and every lock acquisition inside
// csync first calls perturbation_point(), which, drawing from a seeded
// generator, lets the thread continue (about 3 in 4 calls), spin a few hundred
// cycles, yield its CPU, or sleep tens of microseconds. The windows become as
// wide as a scheduler tick, so the interleavings that break a protocol show up
// within a test run. (folly drives Baton with DeterministicSchedule; tokio
// uses loom. Those enumerate or serialize schedules; this randomizes real
// threads and real kernels -- futex, io_uring -- which a model cannot.)
//
// Seeds: the run's seed comes from CSYNC_PERTURB_SEED (decimal) or, if unset,
// from std::random_device; the test binaries print it first thing and again
// on each failure as "CSYNC_PERTURB_SEED=<n>". Each thread draws from its own
// stream, derived from the seed and the order in which threads first reach a
// perturbation point. The seed therefore fixes every thread's sequence of
// decisions; what it cannot fix is the OS's own scheduling, so a failure
// reproduces with its seed often rather than always (rerun with
// --gtest_repeat to be sure).
//
// Rates: CSYNC_PERTURB_RATE=N perturbs 1 in N points (default 4; 1 = every
// point). The decision mix among perturbed points is fixed: spin 1/2, yield
// 3/8, sleep 1/8.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <random>
#include <thread>

#include <csync/detail/cpu_relax.hpp>

namespace csync::detail {

struct perturbation_settings {
  std::uint64_t seed;
  std::uint32_t rate;  ///< perturb 1 point in `rate`
};

/// Reads the environment once per process.
inline const perturbation_settings& perturbation() noexcept {
  static const perturbation_settings settings = [] {
    perturbation_settings s{};
    if (const char* text = std::getenv("CSYNC_PERTURB_SEED"); text != nullptr && *text != '\0') {
      s.seed = std::strtoull(text, nullptr, 10);
    } else {
      std::random_device device;
      s.seed = (std::uint64_t{device()} << 32) | device();
    }
    s.rate = 4;
    if (const char* text = std::getenv("CSYNC_PERTURB_RATE"); text != nullptr && *text != '\0') {
      const unsigned long rate = std::strtoul(text, nullptr, 10);
      if (rate >= 1 && rate <= 1'000'000) s.rate = static_cast<std::uint32_t>(rate);
    }
    return s;
  }();
  return settings;
}

/// splitmix64: a tiny generator whose every seed, including 0, is good.
class perturbation_stream {
 public:
  explicit perturbation_stream(std::uint64_t seed) noexcept : state_(seed) {}
  std::uint64_t next() noexcept {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

/// One chance for the scheduler to interleave another thread here.
inline void perturbation_point() noexcept {
  // Plain std::atomic: the seam's own bookkeeping must not recurse into it.
  static std::atomic<std::uint64_t> next_ordinal{0};
  thread_local perturbation_stream stream{
      perturbation().seed ^ (0xd1b54a32d192ed03ULL *
                             (next_ordinal.fetch_add(1, std::memory_order_relaxed) + 1))};
  const std::uint64_t r = stream.next();
  if (r % perturbation().rate != 0) return;
  const std::uint64_t how = (r >> 32) & 7;  // 0-3 spin, 4-6 yield, 7 sleep
  const std::uint64_t amount = (r >> 40) & 0xff;
  if (how < 4) {
    for (std::uint64_t i = 0; i < amount; ++i) cpu_relax();
  } else if (how < 7) {
    std::this_thread::yield();
  } else {
    std::this_thread::sleep_for(std::chrono::microseconds(1 + amount / 4));
  }
}

/// std::atomic<T> with a perturbation point before every operation. Same size
/// and address as the std::atomic<T> it extends (a futex word stays a word),
/// and it binds to a `std::atomic<T>&` where a syscall wrapper needs one.
template <class T>
class perturbed_atomic : public std::atomic<T> {
  using base = std::atomic<T>;

 public:
  using base::base;
  perturbed_atomic() noexcept = default;
  perturbed_atomic(const perturbed_atomic&) = delete;
  perturbed_atomic& operator=(const perturbed_atomic&) = delete;

  T load(std::memory_order order = std::memory_order_seq_cst) const noexcept {
    perturbation_point();
    return base::load(order);
  }
  void store(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    base::store(value, order);
  }
  T exchange(T value, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::exchange(value, order);
  }
  bool compare_exchange_weak(T& expected, T desired, std::memory_order success,
                             std::memory_order failure) noexcept {
    perturbation_point();
    return base::compare_exchange_weak(expected, desired, success, failure);
  }
  bool compare_exchange_weak(T& expected, T desired,
                             std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::compare_exchange_weak(expected, desired, order);
  }
  bool compare_exchange_strong(T& expected, T desired, std::memory_order success,
                               std::memory_order failure) noexcept {
    perturbation_point();
    return base::compare_exchange_strong(expected, desired, success, failure);
  }
  bool compare_exchange_strong(T& expected, T desired,
                               std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::compare_exchange_strong(expected, desired, order);
  }
  // Integral-only members: instantiated only where a caller uses them.
  template <class D>
  T fetch_add(D delta, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::fetch_add(delta, order);
  }
  template <class D>
  T fetch_sub(D delta, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::fetch_sub(delta, order);
  }
  template <class D>
  T fetch_or(D bits, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::fetch_or(bits, order);
  }
  template <class D>
  T fetch_and(D bits, std::memory_order order = std::memory_order_seq_cst) noexcept {
    perturbation_point();
    return base::fetch_and(bits, order);
  }
  void wait(T old, std::memory_order order = std::memory_order_seq_cst) const noexcept {
    perturbation_point();
    base::wait(old, order);
  }
  void notify_one() noexcept {
    perturbation_point();
    base::notify_one();
  }
  void notify_all() noexcept {
    perturbation_point();
    base::notify_all();
  }
  operator T() const noexcept { return load(); }
  T operator=(T value) noexcept {
    store(value);
    return value;
  }
};

/// std::mutex with perturbation points before and after acquiring and before
/// releasing, so critical sections are stretched and lock hand-offs reordered.
class perturbed_mutex : public std::mutex {
 public:
  void lock() {
    perturbation_point();
    std::mutex::lock();
    perturbation_point();
  }
  bool try_lock() {
    perturbation_point();
    return std::mutex::try_lock();
  }
  void unlock() {
    perturbation_point();
    std::mutex::unlock();
  }
};

static_assert(sizeof(perturbed_atomic<std::uint32_t>) == sizeof(std::uint32_t),
              "a futex word must stay one 32-bit word");

}  // namespace csync::detail
