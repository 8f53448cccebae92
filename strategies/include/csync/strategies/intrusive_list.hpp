// csync/strategies/intrusive_list.hpp
// -----------------------------------------------------------------------------
// strategy::intrusive_list -- a FIFO doubly-linked list whose nodes are the
// waiters themselves, living in the waiting thread's stack frame or the
// suspended coroutine's frame (tokio's batch_semaphore and folly's
// fibers::Semaphore design), under one internal mutex. No allocation per
// wait, O(1) cancel.
//
// The registry, its state machine and the races it handles are the shared
// queue-strategy skeleton's (<csync/detail/locked_fifo.hpp>) over
// detail::intrusive_fifo; delivery is detail::deliver_all.
//
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <string_view>

#include <csync/detail/intrusive_fifo.hpp>
#include <csync/detail/locked_fifo.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#define CSYNC_HAVE_INTRUSIVE_LIST 1

namespace csync::strategy {

template <stats_hook Stats = no_stats>
class basic_intrusive_list : public detail::locked_fifo<detail::intrusive_fifo, Stats> {
 public:
  static constexpr std::string_view name = "intrusive_list";
  struct options {};

  basic_intrusive_list() = default;
  explicit basic_intrusive_list(const options&) {}

  static csync::availability availability() noexcept { return {}; }
};

using intrusive_list = basic_intrusive_list<>;

}  // namespace csync::strategy
