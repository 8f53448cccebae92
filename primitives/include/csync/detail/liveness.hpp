// csync/detail/liveness.hpp
// -----------------------------------------------------------------------------
// detail::liveness -- lets code that may outlive an object ask, safely,
// whether the object still exists, and keep it in existence for one call.
//
// Why: a coroutine's Condvar wait that is destroyed after a notifier claimed
// it holds a notification another waiter should get, but by then the
// notifier may have destroyed the Condvar (condvar.hpp, "Lifetime"), so the
// dropped wait cannot simply call notify_one(). It asks here first. If the
// Condvar is gone, nobody was left waiting on it -- destroying a Condvar
// with an un-notified waiter is a usage error -- so nothing needs passing on.
//
// How: a table of 16 shards, each a word-sized spinlock and an intrusive
// list of enrolled objects. An object enrols on first need (the first
// coroutine wait on it) and hands out a ticket: its shard, its address as an
// integer, and an id from a 64-bit counter, so that a new object built at a
// destroyed one's address is never taken for it. pin(ticket) searches that
// shard's list comparing addresses as integers -- it never dereferences an
// entry it has not found in the list -- and if it finds the entry under the
// ticket's id, counts a pin under the shard's lock. The destructor leaves the
// list (no pin can succeed after that) and then waits until the pins taken
// before are released. A pin is held for one non-blocking call (notify_one),
// so that wait is a short spin behind a running thread, never behind a
// blocked one.
//
// Cost: one unlinked entry (40 bytes) in each object; nothing else for an
// object that never enrols (a Condvar only threads wait on); one shard lock
// at enrolment and at destruction otherwise; pin() walks one shard's list
// and runs only when a claimed wait is dropped. No allocation, nothing that
// throws, nothing destroyed at exit (the shards are constant-initialized
// and trivially destructible).
//
// Several program images (DLLs, shared objects with hidden symbols) each
// have their own table. That is safe: one CAS on the entry's id elects the
// single enrolment, the entry remembers the shard it joined, and a ticket
// names that shard, so enrolling, pinning and leaving always meet in the
// same list whatever image runs them.
// -----------------------------------------------------------------------------
#pragma once

#include <cstddef>
#include <cstdint>

#include <csync/detail/atomic.hpp>  // detail::atomic: the schedule-perturbation seam
#include <csync/detail/backoff.hpp>

namespace csync::detail {

class liveness {
  struct shard;

 public:
  /// What a later pin() needs: taken by enrol() while the object is alive.
  struct ticket {
    shard* where = nullptr;
    std::uintptr_t address = 0;
    std::uint64_t id = 0;
  };

  liveness() = default;
  liveness(const liveness&) = delete;
  liveness& operator=(const liveness&) = delete;

  /// Leaves the table, then waits for the pins taken before (see above).
  ~liveness() {
    // acquire: pairs with enrol()'s release store of the id, so that shard_
    // is visible. (The program orders every use of the object, enrolment
    // included, before its destruction; this only reads what enrol wrote.)
    const std::uint64_t id = id_.load(std::memory_order_acquire);
    if (id == 0) return;  // never enrolled
    {
      shard_lock guard(*shard_);
      (prev_ ? prev_->next_ : shard_->head) = next_;
      if (next_) next_->prev_ = prev_;
    }
    backoff backoff;
    // acquire: pairs with unpin()'s release decrement -- the pinned call's
    // accesses to the object happen-before its destruction.
    while (pins_.load(std::memory_order_acquire) != 0) backoff.pause();
  }

  /// Enrols this object (once; later calls return at once) and returns the
  /// ticket a pin() must show. Call it while the object is certainly alive.
  ticket enrol() noexcept {
    // acquire: pairs with the release store below, made by whichever wait
    // enrolled first (possibly on another loop's thread, or in another image).
    std::uint64_t id = id_.load(std::memory_order_acquire);
    if (id == 0) {
      // One enrolment wins this CAS, whatever table the racers use.
      // relaxed: the winner publishes with the release store below; a loser
      // waits for that store with acquire loads.
      if (id_.compare_exchange_strong(id, enrolling, std::memory_order_relaxed)) {
        shard& s = shard_of(address());
        {
          shard_lock guard(s);
          shard_ = &s;
          next_ = s.head;
          if (next_) next_->prev_ = this;
          s.head = this;
        }
        // relaxed fetch_add: uniqueness needs only the RMW's atomicity.
        id = next_id().fetch_add(1, std::memory_order_relaxed);
        // release: publishes shard_ and the links to the acquire loads above,
        // here and in ~liveness.
        id_.store(id, std::memory_order_release);
        return {shard_, address(), id};
      }
    }
    backoff backoff;
    while (id == enrolling) {  // another wait is enrolling it right now
      backoff.pause();
      id = id_.load(std::memory_order_acquire);  // pairs with the release store above
    }
    return {shard_, address(), id};
  }

  /// true: the object that enrolled under `t` is alive and stays so until
  /// unpin(). false: it is gone. The object is looked for by address, never
  /// dereferenced unless it is found in the ticket's shard.
  static liveness* pin(const ticket& t) noexcept {
    if (t.where == nullptr) return nullptr;
    shard_lock guard(*t.where);
    for (liveness* e = t.where->head; e != nullptr; e = e->next_) {
      // relaxed: a listed entry's id was stored by its enrolment, which
      // linked it under this same lock before storing it -- so an entry
      // seen here may still read `enrolling`, which matches no ticket.
      if (e->address() == t.address && e->id_.load(std::memory_order_relaxed) == t.id) {
        // relaxed: the destructor cannot pass its unlink, under this lock,
        // before this increment is visible; unpin()'s release carries the rest.
        e->pins_.fetch_add(1, std::memory_order_relaxed);
        return e;
      }
    }
    return nullptr;
  }

  /// Ends a successful pin(): the object may be destroyed from here on.
  void unpin() noexcept {
    // release: pairs with the destructor's acquire load.
    pins_.fetch_sub(1, std::memory_order_release);
  }

 private:
  static constexpr std::uint64_t enrolling = ~std::uint64_t{0};  // the id while enrolment runs
  static constexpr std::size_t shard_count = 16;

  struct shard {
    detail::atomic<bool> locked{false};
    liveness* head = nullptr;  // guarded by locked
  };

  /// Held for a few pointer updates or one list walk; never across a call.
  class shard_lock {
   public:
    explicit shard_lock(shard& s) noexcept : s_(s) {
      backoff backoff;
      // acquire: pairs with the release store of the previous holder.
      while (s_.locked.exchange(true, std::memory_order_acquire)) backoff.pause();
    }
    ~shard_lock() { s_.locked.store(false, std::memory_order_release); }
    shard_lock(const shard_lock&) = delete;
    shard_lock& operator=(const shard_lock&) = delete;

   private:
    shard& s_;
  };

  static shard& shard_of(std::uintptr_t a) noexcept {
    static constinit shard shards[shard_count];  // trivially destructible: never torn down
    a ^= a >> 12;  // mix in higher bits: neighbours in an array spread too
    return shards[(a >> 4) % shard_count];
  }

  static detail::atomic<std::uint64_t>& next_id() noexcept {
    static constinit detail::atomic<std::uint64_t> next{1};  // 0 means "not enrolled"
    return next;
  }

  std::uintptr_t address() const noexcept { return reinterpret_cast<std::uintptr_t>(this); }

  liveness* prev_ = nullptr;  // guarded by shard_->locked
  liveness* next_ = nullptr;  // guarded by shard_->locked
  shard* shard_ = nullptr;    // written once by the enrolment, before id_ is stored
  detail::atomic<std::uint64_t> id_{0};
  detail::atomic<std::uint32_t> pins_{0};
};

}  // namespace csync::detail
