// csync/strategies/stats.hpp
// -----------------------------------------------------------------------------
// The statistics hook of wakeup strategies.
//
// Every strategy is a template `basic_<name><Stats>`; the public alias
// `strategy::<name>` uses `no_stats`, whose members are empty inline
// functions, so a normal build carries no counter and no instruction for it.
// csync-bench instantiates `basic_<name><counting_stats>` to report:
//
//   wakes     deliveries issued by notify (queue strategies: one per waiter
//             delivered; eventcount strategies: one per epoch bump, plus,
//             in a Condvar, one per coroutine waiter its own queue delivered)
//   spurious  a waiter returned from its sleep but nothing was meant for it
//             (eventcount strategies: an epoch change for somebody else)
//   futile    a waiter was delivered for it, but could not proceed when it
//             retried (barging: a newcomer took the permit first)
//
// Memory ordering: counters are relaxed; they are read after the measured
// threads were joined, and the join orders everything before it.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <concepts>
#include <cstddef>
#include <cstdint>

#include <csync/detail/atomic.hpp>

namespace csync {

template <class T>
concept stats_hook = requires(T& s, std::size_t n) {
  { T::enabled } -> std::convertible_to<bool>;
  s.on_wake(n);
  s.on_spurious();
  s.on_futile();
};

/// Default hook: compiles to nothing.
struct no_stats {
  static constexpr bool enabled = false;
  void on_wake(std::size_t) noexcept {}
  void on_spurious() noexcept {}
  void on_futile() noexcept {}
};

/// Counting hook for the harness.
struct counting_stats {
  static constexpr bool enabled = true;

  struct snapshot {
    std::uint64_t wakes = 0;
    std::uint64_t spurious = 0;
    std::uint64_t futile = 0;
  };

  void on_wake(std::size_t n) noexcept { wakes_.fetch_add(n, std::memory_order_relaxed); }
  void on_spurious() noexcept { spurious_.fetch_add(1, std::memory_order_relaxed); }
  void on_futile() noexcept { futile_.fetch_add(1, std::memory_order_relaxed); }

  snapshot read() const noexcept {
    return {wakes_.load(std::memory_order_relaxed), spurious_.load(std::memory_order_relaxed),
            futile_.load(std::memory_order_relaxed)};
  }

 private:
  detail::atomic<std::uint64_t> wakes_{0};
  detail::atomic<std::uint64_t> spurious_{0};
  detail::atomic<std::uint64_t> futile_{0};
};

}  // namespace csync
