// csync/runtime/portable_backend.hpp
// -----------------------------------------------------------------------------
// The portable Loop backend: a std::mutex guarding an intrusive FIFO of
// remotely posted work_items, and a std::condition_variable the loop sleeps
// on. Works everywhere; it is the default Loop backend except on Linux where
// the io_uring backend is compiled in and the kernel allows it (see
// make_default_backend() in loop.hpp).
//
//   post_remote  lock; link the item; set `pending_`; notify_one; unlock.
//   collect      (fast path) nothing pending and not blocking: return without
//                locking. Otherwise lock; if blocking, wait on the condition
//                variable until the queue is non-empty or the deadline passes;
//                splice the queue onto `out`; clear `pending_`; unlock.
//
// Memory ordering: for threads X and Y, where Y runs the loop, X's unlock of
// the mutex in `post_remote` synchronizes-with Y's lock of it in the
// `collect` that takes the item, so everything X did before posting
// happens-before the loop runs the item. `pending_` is only a hint that lets
// a loop with local work skip the lock; it orders nothing (see `collect`).
//
// Lifetime: `post_remote` links the item and notifies while holding the
// mutex; its last access to the backend is the unlock (see backend.hpp for
// why this lets the loop be destroyed right after it takes the item). The
// destructor requires that no thread is inside `post_remote` or `collect`.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/runtime/backend.hpp>
#include <csync/runtime/work_item.hpp>

namespace csync::runtime {

class portable_backend final : public backend {
 public:
  static constexpr std::string_view kName = "portable";

  portable_backend() = default;
  portable_backend(const portable_backend&) = delete;
  portable_backend& operator=(const portable_backend&) = delete;

  std::string_view name() const noexcept override { return kName; }

  void post_remote(work_item& item) noexcept override {
    // mutex_ stays a std::mutex (std::condition_variable needs one), so the
    // perturbed build (detail/atomic.hpp) gets its lock perturbation here.
    detail::perturbation_point();
    std::lock_guard<std::mutex> lock(mutex_);
    remote_.push_back(item);
    // relaxed: a hint read by the relaxed load in collect(); the item itself
    // is published by this mutex's unlock, which pairs with collect's lock.
    pending_.store(true, std::memory_order_relaxed);
    // Notify while holding the lock: after the unlock the loop may take the
    // item, finish and destroy `cv_` (see the file comment).
    cv_.notify_one();
  }

  void collect(work_queue& out, bool block,
               std::optional<std::chrono::steady_clock::time_point> deadline) override {
    // relaxed: pairs with the relaxed store in post_remote() only as a hint.
    // A stale `false` merely defers the items to the next collect(); a loop
    // that runs out of local work calls collect(block = true), which always
    // locks. No data is read on the strength of this load.
    if (!block && !pending_.load(std::memory_order_relaxed)) return;
    detail::perturbation_point();
    std::unique_lock<std::mutex> lock(mutex_);
    if (block && remote_.empty()) {
      const auto has_work = [this] { return !remote_.empty(); };
      if (deadline) {
        cv_.wait_until(lock, *deadline, has_work);
      } else {
        cv_.wait(lock, has_work);
      }
    }
    out.splice(remote_);
    // relaxed: written under the mutex, like every store to `pending_`; see
    // the store in post_remote().
    pending_.store(false, std::memory_order_relaxed);
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;   ///< the loop sleeps here; signalled under mutex_
  work_queue remote_;            ///< guarded by mutex_
  detail::atomic<bool> pending_{false};  ///< hint: remote_ may be non-empty; written under mutex_
};

/// A fresh portable backend for a Loop.
inline std::unique_ptr<backend> make_portable_backend() {
  return std::make_unique<portable_backend>();
}

}  // namespace csync::runtime
