// csync/detail/liveness.hpp
// -----------------------------------------------------------------------------
// detail::liveness -- lets code that may outlive an object ask, safely,
// whether the object still exists, and keep it in existence for one call.
//
// Why: a coroutine's Condvar wait that is destroyed after a notifier claimed
// it holds a notification another waiter should get (what POSIX asks of a
// cancelled pthread_cond_wait), but by then the notifier may have destroyed
// the Condvar (condvar.hpp, "Lifetime"), so the dropped wait cannot simply
// call notify_one(). It asks here first. If the Condvar is gone, nobody was
// left waiting on it -- destroying a Condvar with an un-notified waiter is a
// usage error -- so nothing needs passing on.
//
// How: one table per program, of 16 shards, each a mutex and an intrusive
// list of enrolled objects. An object enrols on first need (the first
// coroutine wait on it) under an id from a 64-bit counter, so that a new
// object built at a destroyed one's address is never taken for it. pin()
// searches the shard for (address, id) comparing pointers only -- it never
// dereferences an entry it has not found in the list -- and if it finds it,
// counts a pin under the shard's mutex. The destructor leaves the list (no
// pin can succeed after that) and then waits until the pins taken before are
// released. A pin is held for one non-blocking call (notify_one), so that
// wait is a short spin behind a running thread, never behind a blocked one.
//
// Cost: nothing for an object that never enrols (a Condvar used only by
// threads); one uncontended shard lock at enrolment and at destruction;
// pin() walks one shard's list and runs only when a claimed wait is dropped.
//
// Scope: an entry remembers the shard it joined, so enrolling, pinning and
// leaving in different program images (DLLs that do not merge inline
// variables) never corrupt a list; a pin looked up in another image's table
// just finds nothing, and the notification is not passed on.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include <csync/detail/backoff.hpp>

namespace csync::detail {

class liveness {
 public:
  liveness() = default;
  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;

  /// Leaves the table, then waits for the pins taken before (see above).
  ~liveness() {
    // acquire: pairs with enrol()'s release store; the enrolment happened
    // before a wait registered, and that before it was notified, which a
    // correct program orders before the destruction.
    if (id_.load(std::memory_order_acquire) == 0) return;  // never enrolled
    {
      std::lock_guard guard(shard_->mutex);
      (prev_ ? prev_->next_ : shard_->head) = next_;
      if (next_) next_->prev_ = prev_;
    }
    backoff backoff;
    // acquire: pairs with unpin()'s release decrement -- the pinned call's
    // accesses to the object happen-before its destruction.
    while (pins_.load(std::memory_order_acquire) != 0) backoff.pause();
  }

  /// Enrols this object (once; later calls return at once) and returns the
  /// id a pin() must name. Call it while the object is certainly alive.
  /// Throws std::system_error only if a mutex cannot be locked.
  std::uint64_t enrol() {
    // acquire: pairs with the release store below, made by whichever wait
    // enrolled first (possibly on another loop's thread).
    if (const std::uint64_t id = id_.load(std::memory_order_acquire)) return id;
    shard& s = shard_of(this);
    std::lock_guard guard(s.mutex);
    // relaxed: a racing enrolment stored it under this same mutex.
    if (const std::uint64_t id = id_.load(std::memory_order_relaxed)) return id;
    shard_ = &s;
    next_ = s.head;
    if (next_) next_->prev_ = this;
    s.head = this;
    // relaxed fetch_add: uniqueness needs only the RMW's atomicity.
    const std::uint64_t id = the_table().next_id.fetch_add(1, std::memory_order_relaxed);
    id_.store(id, std::memory_order_release);  // pairs with the acquire loads above and in ~liveness
    return id;
  }

  /// true: the object that enrolled at `entry` as `id` is alive and stays so
  /// until unpin(). false: it is gone (or never enrolled in this table).
  /// `entry` is compared, never dereferenced, unless it is found.
  static bool pin(const liveness* entry, std::uint64_t id) {
    shard& s = shard_of(entry);
    std::lock_guard guard(s.mutex);
    for (liveness* e = s.head; e != nullptr; e = e->next_) {
      // relaxed: id_ of a listed entry was stored before it was linked,
      // under this mutex.
      if (e == entry && e->id_.load(std::memory_order_relaxed) == id) {
        // relaxed: the destructor cannot pass its unlink, under this mutex,
        // before this increment is visible; unpin()'s release carries the rest.
        e->pins_.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

  /// Ends a successful pin(): the object may be destroyed from here on.
  void unpin() noexcept {
    // release: pairs with the destructor's acquire load.
    pins_.fetch_sub(1, std::memory_order_release);
  }

 private:
  struct shard {
    std::mutex mutex;
    liveness* head = nullptr;  // guarded by mutex
  };
  static constexpr std::size_t shard_count = 16;
  struct table {
    shard shards[shard_count];
    std::atomic<std::uint64_t> next_id{1};  // 0 means "not enrolled"
  };

  /// Never destroyed: an object with static storage duration may still
  /// leave it while the program's other statics are being torn down.
  static table& the_table() {
    static table* const instance = new table;
    return *instance;
  }

  static shard& shard_of(const liveness* entry) {
    auto a = reinterpret_cast<std::uintptr_t>(entry);
    a ^= a >> 12;  // mix in higher bits: neighbours in an array spread too
    return the_table().shards[(a >> 4) % shard_count];
  }

  liveness* prev_ = nullptr;  // guarded by shard_->mutex
  liveness* next_ = nullptr;  // guarded by shard_->mutex
  shard* shard_ = nullptr;    // set once, by enrol(), before id_
  std::atomic<std::uint64_t> id_{0};
  std::atomic<std::uint32_t> pins_{0};
};

}  // namespace csync::detail
