// csync/strategies/mutex_queue.hpp
// -----------------------------------------------------------------------------
// strategy::mutex_queue -- a std::mutex and a std::deque of waiter pointers.
// The baseline every other strategy is measured against: the textbook design
// (and the seed crate's first one), with none of their lost-wake bugs.
//
// The registry, its state machine and the races it handles are the shared
// queue-strategy skeleton's (<csync/detail/locked_fifo.hpp>) over a deque of
// pointers (`deque_fifo` below); delivery is detail::deliver_all.
//
// Costs: one mutex acquisition per registration, notify and cancel; a deque
// block allocation every so often (a registration whose allocation throws
// std::bad_alloc registers nothing); O(n) cancel.
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <algorithm>
#include <deque>
#include <string_view>

#include <csync/detail/locked_fifo.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_MUTEX_QUEUE 1

namespace csync::detail {

/// The FIFO interface of detail::intrusive_fifo over a std::deque of
/// pointers; keeps `waiter::linked` as the intrusive list does. Not
/// thread-safe: locked_fifo serializes every call.
class deque_fifo {
 public:
  bool empty() const noexcept { return queue_.empty(); }
  waiter* front() const noexcept { return queue_.empty() ? nullptr : queue_.front(); }

  void push_back(waiter& w) {
    queue_.push_back(&w);  // may throw std::bad_alloc; nothing changed then
    w.linked = true;
  }

  void remove(waiter& w) noexcept {
    if (queue_.back() == &w) {
      queue_.pop_back();  // a registration whose predicate said no
    } else {
      queue_.erase(std::find(queue_.begin(), queue_.end(), &w));
    }
    w.linked = false;
  }

 private:
  std::deque<waiter*> queue_;
};

}  // namespace csync::detail

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_mutex_queue : public detail::locked_fifo<detail::deque_fifo, Stats> {
 public:
  static constexpr std::string_view name = "mutex_queue";
  struct options {};

  basic_mutex_queue() = default;
  explicit basic_mutex_queue(const options&) {}

  static csync::availability availability() noexcept { return {}; }
};

using mutex_queue = basic_mutex_queue<>;

}  // namespace csync::strategy
