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
// FUTEX_WAKE_PRIVATE. Windows: WaitOnAddress / WakeByAddressSingle /
// WakeByAddressAll (Windows 8+, import library `synchronization`; csync's
// CMake target links it), the Windows analogue of futex(2): compare the word,
// sleep, woken by address. Its timeout is relative and in milliseconds, so a
// timed wait sleeps for the time left until `deadline` rounded *up* to a
// millisecond, and a wait that the system ends a little early (timer
// granularity) returns true -- a spurious wake-up the caller re-checks --
// rather than false before the deadline. A timeout is reported as FALSE with
// GetLastError() == ERROR_TIMEOUT (1460; not WAIT_TIMEOUT, 258, which the
// completion-port waits report). Elsewhere: std::atomic::wait/notify for
// untimed waits and a bounded sleep-poll for timed ones.
//
// Lifetime: waking an address whose owner has already returned (and perhaps
// reused the memory) is harmless here. futex(2) only hashes the address; at
// worst a later sleeper on reused memory sees a spurious wake-up, which every
// caller tolerates. csync relies on this: a notifier publishes its hand-over
// store and *then* wakes, so the waiter may leave between the two.
// WakeByAddress* likewise only looks the address up among the sleepers and
// never reads the memory (from source: it is documented to take any address,
// and Rust's std and other futex-style parkers on Windows rely on the same
// store-then-wake order).
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
#elif defined(_WIN32)
#include <csync/detail/win32.hpp>
#define CSYNC_DETAIL_HAVE_WAIT_ON_ADDRESS 1
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

#elif defined(CSYNC_DETAIL_HAVE_WAIT_ON_ADDRESS)

/// Returns false only when the deadline has passed.
inline bool wait_on_address(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                            deadline_t deadline = std::nullopt) noexcept {
  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t));
  DWORD timeout_ms = INFINITE;
  if (deadline) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= *deadline) return false;
    // Round up: a wait of 0 ms would turn a sub-millisecond remainder into a
    // busy loop of spurious returns.
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - now).count();
    timeout_ms = left >= static_cast<std::int64_t>(INFINITE - 1) ? INFINITE - 1
                                                                  : static_cast<DWORD>(left);
  }
  // WaitOnAddress compares the word with `expected` (AddressSize bytes)
  // before sleeping, atomically with respect to WakeByAddress*: the same
  // no-lost-wake-up contract as FUTEX_WAIT.
  if (::WaitOnAddress(static_cast<volatile void*>(&word), &expected, sizeof expected,
                      timeout_ms)) {
    return true;  // woken (possibly spuriously) or the word differed: caller re-reads
  }
  if (::GetLastError() == ERROR_TIMEOUT && deadline &&
      std::chrono::steady_clock::now() >= *deadline) {
    return false;
  }
  return true;  // ended early (timer granularity) or an unexpected error: caller re-reads
}

inline void wake_address_one(std::atomic<std::uint32_t>& word) noexcept {
  ::WakeByAddressSingle(static_cast<void*>(&word));
}

inline void wake_address_all(std::atomic<std::uint32_t>& word) noexcept {
  ::WakeByAddressAll(static_cast<void*>(&word));
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
