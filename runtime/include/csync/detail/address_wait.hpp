// csync/detail/address_wait.hpp
// -----------------------------------------------------------------------------
// Block the calling thread until a 32-bit word changes: the one OS primitive
// every thread waiter in csync is built on (the "parker").
//
//   wait_on_address(word, expected, deadline)  sleeps while word == expected;
//       returns false when `deadline` passed, true otherwise. It may return
//       true spuriously (the caller re-reads the word and loops).
//   wake_address_one(word) / wake_address_all(word)  wake sleepers on `word`.
//
// Linux: futex(2) FUTEX_WAIT_BITSET_PRIVATE with an absolute CLOCK_MONOTONIC
// deadline (std::chrono::steady_clock is CLOCK_MONOTONIC on Linux) and
// FUTEX_WAKE_PRIVATE. Elsewhere: std::atomic::wait/notify for untimed waits and
// a bounded sleep-poll for timed ones (Windows gets WaitOnAddress with its IOCP
// issue).
//
// Lifetime: waking an address whose owner has already returned (and perhaps
// reused the memory) is harmless here. futex(2) only hashes the address; at
// worst a later sleeper on reused memory sees a spurious wake-up, which every
// caller tolerates. csync relies on this: a notifier publishes its hand-over
// store and *then* wakes, so the waiter may leave between the two.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <type_traits>

#if defined(__linux__)
#include <cerrno>
#include <ctime>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define CSYNC_DETAIL_HAVE_FUTEX 1
#else
#include <thread>
#endif

namespace csync::detail {

using deadline_t = std::optional<std::chrono::steady_clock::time_point>;

/// A deadline on any clock, as a steady_clock deadline (what the sleeps use).
template <class Clock, class Duration>
std::chrono::steady_clock::time_point to_steady(std::chrono::time_point<Clock, Duration> t) {
  if constexpr (std::is_same_v<Clock, std::chrono::steady_clock>) {
    return std::chrono::time_point_cast<std::chrono::steady_clock::duration>(t);
  } else {
    return std::chrono::steady_clock::now() +
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(t - Clock::now());
  }
}

#if defined(CSYNC_DETAIL_HAVE_FUTEX)

inline long futex_syscall(void* addr, int op, std::uint32_t val, const timespec* ts,
                          std::uint32_t val3) noexcept {
  return ::syscall(SYS_futex, addr, op, val, ts, nullptr, val3);
}

/// Returns false only when the deadline has passed.
inline bool wait_on_address(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            deadline_t deadline = std::nullopt) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  timespec abs{};
  const timespec* ts = nullptr;
  if (deadline) {
    if (std::chrono::steady_clock::now() >= *deadline) return false;
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        deadline->time_since_epoch())
                        .count();
    abs.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    abs.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    ts = &abs;
  }
  // FUTEX_WAIT_BITSET takes an absolute CLOCK_MONOTONIC deadline, so retries
  // after EINTR never stretch the wait.
  const long rc = futex_syscall(&word, FUTEX_WAIT_BITSET_PRIVATE, expected, ts,
                                FUTEX_BITSET_MATCH_ANY);
  if (rc == -1 && errno == ETIMEDOUT) return false;
  return true;  // woken, EAGAIN (word already changed) or EINTR: caller re-reads
}

inline void wake_address_one(std::atomic<std::uint32_t>& word) noexcept {
  futex_syscall(&word, FUTEX_WAKE_PRIVATE, 1, nullptr, 0);
}

inline void wake_address_all(std::atomic<std::uint32_t>& word) noexcept {
  futex_syscall(&word, FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, 0);
}

#else  // portable fallback

inline bool wait_on_address(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            deadline_t deadline = std::nullopt) noexcept {
  if (!deadline) {
    word.wait(expected, std::memory_order_relaxed);  // caller re-reads with acquire
    return true;
  }
  // std::atomic has no timed wait: poll with a short sleep. Bounded latency
  // (~50 us) for timed waits only; untimed waits above sleep properly.
  while (word.load(std::memory_order_relaxed) == expected) {
    if (std::chrono::steady_clock::now() >= *deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return true;
}

inline void wake_address_one(std::atomic<std::uint32_t>& word) noexcept { word.notify_one(); }
inline void wake_address_all(std::atomic<std::uint32_t>& word) noexcept { word.notify_all(); }

#endif

}  // namespace csync::detail
