// csync/runtime/backend.hpp
// -----------------------------------------------------------------------------
// The replaceable part of a Loop: how it sleeps and how other threads hand it
// work.
//
// A Loop keeps its own, unsynchronized ready queue for work produced on its
// thread. Work produced on other threads goes through the backend:
//
//   post_remote(item)              any thread: append to the remote FIFO and
//                                  wake the loop if it sleeps;
//   collect(out, block, deadline)  loop thread: move everything posted
//                                  remotely, in order, onto `out`; when there
//                                  is nothing and `block` is set, sleep until
//                                  an item arrives or `deadline` passes.
//
// Implementations: portable_backend.hpp (std::mutex + std::condition_variable,
// every platform); uring_backend.hpp (Linux io_uring: mutex-guarded FIFO +
// eventfd wake, plus loop-thread SQE submission). An IOCP (completion packet
// wake) backend will implement the same interface.
//
// Memory ordering: for threads X and Y, where Y runs the loop, everything X
// did before `post_remote(item)` must happen-before Y's return from the
// `collect` that hands `item` over (a mutex, a release/acquire pair, or a
// kernel round trip that implies one). The loop relies on this to run `item`
// on Y without further synchronization.
//
// Lifetime (the rule every backend must keep): a backend is owned by its Loop
// and destroyed with it, and a Loop may be destroyed by its thread as soon as
// `run()` returns -- which can be immediately after `collect` handed over the
// item that let the last task finish. So `post_remote` must not touch the
// backend after the point where the loop can observe the item. The portable
// backend achieves this by linking the item *and* signalling the wake while
// holding its mutex: the loop can only take the item after acquiring the
// mutex, i.e. after the poster's unlock, and the unlock is the poster's last
// access (a mutex may be destroyed as soon as it is unlocked and unreferenced;
// POSIX guarantees it and glibc's unlock ends with at most a futex wake on
// the address, which tolerates freed memory). Signalling after unlocking
// would let the loop wake for another reason (a timer, a spurious wake-up),
// take the item, finish and destroy the condition variable while the poster
// is about to signal it. A kernel backend gets the same guarantee when the
// syscall that publishes the item is also the wake (MSG_RING, a posted
// completion packet).
// -----------------------------------------------------------------------------
#pragma once

#include <cassert>
#include <chrono>
#include <optional>
#include <string_view>

#include <csync/runtime/work_item.hpp>

namespace csync::runtime {

/// A tiny intrusive FIFO of work_items, linked through `work_item::next`.
/// Not synchronized: its owner (a loop, or a backend under its lock) provides
/// exclusion. An item may be in at most one queue at a time.
class work_queue {
 public:
  work_queue() noexcept = default;
  work_queue(const work_queue&) = delete;
  work_queue& operator=(const work_queue&) = delete;
  work_queue(work_queue&& other) noexcept : head_(other.head_), tail_(other.tail_) {
    other.head_ = other.tail_ = nullptr;
  }
  work_queue& operator=(work_queue&& other) noexcept {
    if (this != &other) {
      assert(empty() && "move-assigning onto a non-empty work_queue would drop items");
      head_ = other.head_;
      tail_ = other.tail_;
      other.head_ = other.tail_ = nullptr;
    }
    return *this;
  }

  bool empty() const noexcept { return head_ == nullptr; }

  void push_back(work_item& item) noexcept {
    item.next = nullptr;
    if (tail_) {
      tail_->next = &item;
    } else {
      head_ = &item;
    }
    tail_ = &item;
  }

  /// Unlinks and returns the oldest item, or nullptr when empty.
  work_item* pop_front() noexcept {
    work_item* item = head_;
    if (item) {
      head_ = item->next;
      if (!head_) tail_ = nullptr;
      item->next = nullptr;
    }
    return item;
  }

  /// Unlinks `item` if it is queued here; O(n). Returns whether it was.
  bool remove(work_item& item) noexcept {
    work_item* prev = nullptr;
    for (work_item* cur = head_; cur != nullptr; prev = cur, cur = cur->next) {
      if (cur != &item) continue;
      (prev ? prev->next : head_) = cur->next;
      if (tail_ == cur) tail_ = prev;
      cur->next = nullptr;
      return true;
    }
    return false;
  }

  /// Moves every item of `other`, in order, onto the end of this queue;
  /// `other` is left empty. O(1).
  void splice(work_queue& other) noexcept {
    if (other.empty() || &other == this) return;
    if (tail_) {
      tail_->next = other.head_;
    } else {
      head_ = other.head_;
    }
    tail_ = other.tail_;
    other.head_ = other.tail_ = nullptr;
  }

 private:
  work_item* head_ = nullptr;
  work_item* tail_ = nullptr;
};

/// How a loop sleeps and how other threads hand it work. See the file comment
/// for the memory-ordering and lifetime obligations of implementations.
class backend {
 public:
  virtual ~backend() = default;

  /// Short identifier ("portable", "io_uring", ...), for diagnostics and
  /// benchmark reports.
  virtual std::string_view name() const noexcept = 0;

  /// Any thread (Loop::post uses it from every thread except the one running
  /// the loop): append `item` to the remote FIFO and wake the loop if it
  /// sleeps. Must publish the item and signal the wake while holding the
  /// backend's lock (or in one kernel operation), so that a loop that
  /// finishes right after taking the item cannot be destroyed while this call
  /// still runs. After it returns the caller must not touch `item`.
  virtual void post_remote(work_item& item) noexcept = 0;

  /// Loop thread only: move all remotely posted items, in posting order, onto
  /// the end of `out`. If none are queued and `block` is true, sleep until
  /// one arrives or until `deadline` (nullopt: no deadline); a deadline that
  /// has already passed returns promptly. May return with nothing collected
  /// (spurious wake-up, deadline).
  virtual void collect(work_queue& out, bool block,
                       std::optional<std::chrono::steady_clock::time_point> deadline) = 0;
};

}  // namespace csync::runtime
