// csync/runtime/work_item.hpp
// -----------------------------------------------------------------------------
// The unit a Loop runs: an intrusive, allocation-free callback record.
//
// Whoever wants code to run on a loop (a waker delivering a coroutine, a
// `yield`, the loop's own task driver) embeds a work_item in memory that lives
// until `run` is called -- typically the awaiting coroutine's frame -- and
// posts it with `Loop::post`. The loop calls `run(item)` exactly once, on its
// own thread. After `post` returns the poster must not touch the item again:
// the loop may already have run it and its owner may have freed it.
//
// Kernel completions: a backend that lets loop code submit its own requests
// (io_uring SQEs, IOCP operations) uses a work_item's address as the
// request's user data; when the completion arrives it stores the kernel's
// result in `result` and runs the item on the loop thread, exactly as if it
// had been posted.
// -----------------------------------------------------------------------------
#pragma once

#include <cstdint>

namespace csync::runtime {

struct work_item {
  /// Called once on the loop thread the item was posted to.
  void (*run)(work_item* self) noexcept = nullptr;
  /// Intrusive link; owned by the loop's queues while the item is posted.
  work_item* next = nullptr;
  /// Kernel completions only: the completion's result (an io_uring CQE's
  /// `res`: >= 0 success, -errno failure), stored before `run` is called.
  std::int32_t result = 0;
};

}  // namespace csync::runtime
