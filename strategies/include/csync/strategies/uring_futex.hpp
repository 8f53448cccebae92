// csync/strategies/uring_futex.hpp
// -----------------------------------------------------------------------------
// strategy::uring_futex -- a coroutine waiting on an io_uring loop sleeps in
// the kernel through its loop's ring: it submits IORING_OP_FUTEX_WAIT on the
// primitive's epoch word and is resumed by the CQE, in the same ring as its
// I/O. No helper thread, no userspace queue: the kernel's futex hash is the
// registry. Releasers wake with futex(2) FUTEX_WAKE_PRIVATE from any thread
// (io_uring-futex.md §11: immediate, needs no ring; a WAKE SQE would only
// help when batched into an io_uring_enter the releaser makes anyway).
//
// Semaphore and Mutex waits only: a Condvar keeps the coroutines that wait on
// it in a queue of its own (condvar.hpp, "Coroutine waiters"), so that its
// notifier can claim them one by one; its threads use this strategy.
//
// Everything else is strategy::futex (this class extends it): thread waiters
// block in futex(2) on the same word -- a per-thread ring would only add a
// syscall to a thread that blocks anyway -- and coroutines on a loop without
// an io_uring backend fall back to futex's userspace list.
//
// The FUTEX_WAIT SQE (liburing 2.3 has no helper; filled by hand):
//   opcode 51, fd = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE (0x82: the seed's 0 is
//   a U8 wait and fails with EINVAL), addr = &epoch, off = w.ticket (read
//   before the re-check, see futex.hpp), addr3 = 0xFFFFFFFF (a 64-bit mask is
//   EINVAL), len = 0, futex_flags/rw_flags = 0. PRIVATE matches the
//   FUTEX_WAKE_PRIVATE of notify(): a mismatch never wakes (§7).
//
// CQE results (the waiter's work item runs with `result` = res):
//   0          woken by a FUTEX_WAKE            -> re-check (may be for others)
//   -EAGAIN    the epoch moved before the wait was issued -> re-check
//   -ECANCELED our ASYNC_CANCEL (stop request) or the LINK_TIMEOUT linked
//              behind the wait (a coroutine's deadline) -> re-check; the
//              primitive sees its stop or deadline and gives up
//   other      a bug or an unsupported kernel: csync aborts with the errno
//              (a silent retry would spin forever, the seed's failure mode).
//
// Deadlines (async_acquire_for and friends): when w.deadline is set, arm()
// links an IORING_OP_LINK_TIMEOUT (absolute, CLOCK_MONOTONIC) behind the
// FUTEX_WAIT and sets w.deadline_armed, so the primitive keeps no timer.
//
// Cancellation state machine (waiter::kernel_wait), for a wait in flight:
//
//   armed --CQE--> idle (run the primitive's continuation)
//   armed --cancel() on any thread--> cancelling; cancel_item posted to the
//        waiter's loop (the ring is touched only by its own thread)
//   cancelling --cancel_item runs--> cancel_submitted (ASYNC_CANCEL SQE)
//   cancelling --CQE first--> completed_early: the continuation waits for
//        cancel_item, which finds it and runs it (the frame must outlive the
//        posted cancel_item)
//   idle --cancel()--> cancel_requested: the waiter is between waits (being
//        run by its loop); its next arm submits ASYNC_CANCEL right behind the
//        FUTEX_WAIT, so a stop request can never slip between two waits
//   cancel_submitted --CQE--> idle (continuation). If the CQE says 0 -- a wake
//        completed the wait being cancelled -- the wake is forwarded with a
//        fresh notify(), so no other waiter can lose it.
// cancel() always answers "delivery in flight" (false) for such a waiter:
// the CQE will come, cancelled or woken.
//
// Kernel >= 6.16 private futex hash (io_uring-futex.md §8): a PRIVATE wait
// armed while the process is single-threaded lands in the global hash, the
// first pthread_create installs a private hash without migrating it, and
// FUTEX_WAKE_PRIVATE never finds it. csync arms no ring wait until the
// process has been multi-threaded once: before the first ring registration in a process
// (checked per pid, so a forked child does it again) it starts and joins a
// thread, which makes the kernel install the private hash first; later
// resizes migrate queued waiters. Harmless on kernels without the hash.
//
// Availability: io_uring with FUTEX_WAIT/WAKE (kernel >= 6.7), probed at run
// time. When unavailable the strategy still works -- every coroutine takes
// the futex fallback -- and availability() says why.
// -----------------------------------------------------------------------------
#pragma once

#include <csync/detail/uring_compat.hpp>
#include <csync/strategies/futex.hpp>

#if CSYNC_HAVE_URING_BACKEND && defined(CSYNC_HAVE_FUTEX)

#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string_view>
#include <thread>

#include <csync/runtime/uring_backend.hpp>

#define CSYNC_HAVE_URING_FUTEX 1

namespace csync::strategy {

namespace detail_uring_futex {

enum kernel_wait_state : std::uint32_t {
  idle = 0,
  armed = 1,
  cancelling = 2,        // cancel_item posted, not run yet
  cancel_submitted = 3,  // ASYNC_CANCEL in the ring
  completed_early = 4,   // CQE arrived while cancel_item was still queued
  cancel_requested = 5,  // cancel() came between two waits; the next arm honours it
};

/// Before the first ring wait of this process: become multi-threaded once.
inline void settle_private_futex_hash() {
  static std::atomic<pid_t> settled_for{0};
  const pid_t pid = ::getpid();
  // relaxed: the flag only avoids repeating an idempotent step; the thread
  // creation and join below order everything that matters.
  if (settled_for.load(std::memory_order_relaxed) == pid) return;
  static std::mutex once;
  std::lock_guard guard(once);
  if (settled_for.load(std::memory_order_relaxed) == pid) return;
  std::thread([] {}).join();
  settled_for.store(pid, std::memory_order_relaxed);
}

}  // namespace detail_uring_futex

template <stats_hook Stats = no_stats>
class basic_uring_futex : public basic_futex<Stats> {
  using base = basic_futex<Stats>;

 public:
  static constexpr std::string_view name = "uring_futex";
  static constexpr bool has_queue = false;
  using options = typename base::options;

  basic_uring_futex() = default;
  explicit basic_uring_futex(const options& o) : base(o) {}

  static csync::availability availability() noexcept {
    const runtime::uring_probe& probe = runtime::probe_uring();
    if (!probe.ring_ok) return {false, probe.ring_reason};
    if (!probe.futex_ok) return {false, probe.futex_reason};
    return {};
  }

  template <class Pred>
  bool enqueue_if(csync::detail::waiter& w, Pred&& pred) {
    if (!uses_ring(w)) return base::enqueue_if(w, pred);
    // Before registering: it may throw (it starts a thread), and a throw must
    // leave nothing registered.
    detail_uring_futex::settle_private_futex_hash();
    // A ring wait is a kernel sleeper like a blocked thread: counted in
    // sleepers_ so notify() issues the FUTEX_WAKE.
    return this->enqueue_kernel_sleeper(w, pred);
  }

  // @model(uf.cancel)
  bool cancel(csync::detail::waiter& w) {
    if (!uses_ring(w)) return base::cancel(w);
    // acquire: pairs with arm()'s release exchange, so w's fields are ours.
    std::uint32_t s = w.kernel_wait.load(std::memory_order_acquire);
    for (;;) {
      // acq_rel on success: acquire as above; release -- our claim and what
      // precedes it are seen by on_cqe's/arm()'s exchange.
      if (s == detail_uring_futex::armed) {
        if (w.kernel_wait.compare_exchange_weak(s, detail_uring_futex::cancelling,
                                                std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
          w.loop->post(w.cancel_item);  // ASYNC_CANCEL is submitted from the ring's thread
          return false;
        }
      } else if (s == detail_uring_futex::idle) {
        // The waiter is between waits (its loop is running it right now). It
        // may re-arm before it sees the stop request: leave word for arm().
        if (w.kernel_wait.compare_exchange_weak(s, detail_uring_futex::cancel_requested,
                                                std::memory_order_acq_rel,
                                                std::memory_order_acquire)) {
          return false;
        }
      } else {
        return false;  // a cancellation is already under way
      }
    }
  }

  // @model(uf.arm)
  void arm(csync::detail::waiter& w) {
    if (!uses_ring(w)) return base::arm(w);
    // settle_private_futex_hash() ran in enqueue_if, before registering.
    runtime::uring_backend& ring = *runtime::uring_backend_of(*w.loop);
    w.registry = this;
    w.primitive_run = w.item.run;
    w.item.run = &on_cqe;
    w.cancel_item.run = &on_cancel_item;
    // acq_rel: release -- pairs with cancel()'s acquire (a canceller that
    // sees `armed` sees the fields above); acquire -- a cancel_requested left
    // by a canceller is seen with what it wrote.
    const std::uint32_t prev =
        w.kernel_wait.exchange(detail_uring_futex::armed, std::memory_order_acq_rel);
    ring.reserve(2);  // a LINK_TIMEOUT must reach the kernel in the wait's batch
    io_uring_sqe* sqe = ring.get_sqe();
    namespace compat = csync::detail::uring_compat;
    sqe->opcode = compat::ioring_op_futex_wait;
    sqe->fd = static_cast<std::int32_t>(compat::futex2_size_u32 | compat::futex2_private);
    sqe->addr = reinterpret_cast<std::uintptr_t>(&this->epoch_);
    sqe->off = w.ticket;
    sqe->addr3 = compat::futex_bitset_match_any;
    ring.bind(sqe, w.item);
    if (w.deadline) link_deadline(ring, *sqe, w);
    // @model(uf.arm.cancel_requested)
    if (prev == detail_uring_futex::cancel_requested) {
      // A stop request raced the re-arm. The stop callback runs once, so no
      // other canceller can appear: cancel right behind the wait (the kernel
      // takes SQEs in order).
      w.kernel_wait.store(detail_uring_futex::cancel_submitted, std::memory_order_relaxed);
      submit_cancel(ring, w);
      return;
    }
    // Not submitted here: the loop submits before it sleeps. Deferring is safe
    // because the kernel compares the word with the ticket when it issues the
    // request; a notify in between makes it complete with -EAGAIN.
  }

  /// Drop = cancel for a ring wait (concept.hpp): on the waiter's loop
  /// thread, after cancel(w) -- so the wait is being cancelled. Submit the
  /// ASYNC_CANCEL here instead of through cancel_item, then reap the
  /// FUTEX_WAIT's completion (Loop::retract collects it from the ring and
  /// takes the item back unrun) and do what on_cqe would have done.
  void reclaim(csync::detail::waiter& w) noexcept {
    if (!uses_ring(w)) return base::reclaim(w);
    runtime::Loop& loop = *w.loop;
    // relaxed (all): the canceller that wrote these states is this thread
    // (abandon called cancel just now) or ran before on_cqe, on this thread.
    switch (w.kernel_wait.load(std::memory_order_relaxed)) {
      case detail_uring_futex::cancelling:
        loop.retract(w.cancel_item);  // posted by cancel(), not run: do its job here
        w.kernel_wait.store(detail_uring_futex::cancel_submitted, std::memory_order_relaxed);
        submit_cancel(*runtime::uring_backend_of(loop), w);
        [[fallthrough]];
      case detail_uring_futex::cancel_submitted:
        loop.retract(w.item);  // the FUTEX_WAIT's CQE, reaped but not run
        this->sleepers_.fetch_sub(1, std::memory_order_relaxed);
        if (w.item.result == 0) forward();  // a wake landed on the wait: pass it on
        w.kernel_wait.store(detail_uring_futex::idle, std::memory_order_relaxed);
        return;
      case detail_uring_futex::completed_early:
        // on_cqe already ran (and forwarded); only the cancel item is left.
        loop.retract(w.cancel_item);
        w.kernel_wait.store(detail_uring_futex::idle, std::memory_order_relaxed);
        return;
      default:
        assert(false && "uring_futex::reclaim: no ring wait is being cancelled");
        return;
    }
  }

 private:
  static bool uses_ring(const csync::detail::waiter& w) noexcept {
    return !w.is_thread() && runtime::uring_backend_of(*w.loop) != nullptr &&
           runtime::probe_uring().futex_ok;
  }

  /// The FUTEX_WAIT's CQE, on the waiter's loop thread.
  // @model(uf.on_cqe)
  static void on_cqe(runtime::work_item* item) noexcept {
    csync::detail::waiter& w = csync::detail::waiter_of(item);
    const int res = item->result;
    if (res != 0 && res != -EAGAIN && res != -ECANCELED) {
      std::fprintf(stderr, "csync: uring_futex: FUTEX_WAIT completed with %d (%s); aborting\n",
                   res, std::strerror(-res));
      std::abort();
    }
    auto& self = *static_cast<basic_uring_futex*>(w.registry);
    self.sleepers_.fetch_sub(1, std::memory_order_relaxed);
    // acq_rel: acquire -- pairs with a canceller's CAS; release -- for the
    // cancel item's load below.
    const std::uint32_t prev =
        w.kernel_wait.exchange(detail_uring_futex::idle, std::memory_order_acq_rel);
    // @model(uf.on_cqe.completed_early)
    if (prev == detail_uring_futex::cancelling) {
      // cancel_item is queued on this loop and will run after us: it must
      // find the frame alive, so it resumes the primitive instead of us.
      w.kernel_wait.store(detail_uring_futex::completed_early, std::memory_order_relaxed);
      if (res == 0) self.forward();
      return;
    }
    // @model(uf.on_cqe.forward)
    if (prev == detail_uring_futex::cancel_submitted && res == 0) self.forward();
    resume_primitive(w);
  }

  /// Posted by cancel(); runs on the waiter's loop thread.
  // @model(uf.on_cancel_item)
  static void on_cancel_item(runtime::work_item* item) noexcept {
    csync::detail::waiter& w = csync::detail::waiter_of_cancel(item);
    std::uint32_t expected = detail_uring_futex::cancelling;
    // relaxed: both this item and on_cqe run on the loop thread; only the
    // canceller's CAS (already seen: it posted us) came from elsewhere.
    if (w.kernel_wait.compare_exchange_strong(expected, detail_uring_futex::cancel_submitted,
                                              std::memory_order_relaxed)) {
      submit_cancel(*runtime::uring_backend_of(*w.loop), w);
      return;
    }
    // The CQE won: it left the continuation to us.
    w.kernel_wait.store(detail_uring_futex::idle, std::memory_order_relaxed);
    resume_primitive(w);
  }

  /// A coroutine's deadline, kept by the kernel: IORING_OP_LINK_TIMEOUT
  /// linked behind the FUTEX_WAIT cancels it at the deadline (its CQE then
  /// says -ECANCELED and the primitive re-checks and gives up). Absolute on
  /// CLOCK_MONOTONIC, which is std::chrono::steady_clock here, so re-arms
  /// after spurious wakes keep the original deadline.
  static void link_deadline(runtime::uring_backend& ring, io_uring_sqe& wait,
                            csync::detail::waiter& w) noexcept {
    static_assert(sizeof w.kernel_deadline == sizeof(__kernel_timespec));
    const auto since_boot = w.deadline->time_since_epoch();
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_boot);
    w.kernel_deadline.tv_sec = seconds.count();
    w.kernel_deadline.tv_nsec =
        std::chrono::duration_cast<std::chrono::nanoseconds>(since_boot - seconds).count();
    wait.flags |= IOSQE_IO_LINK;
    io_uring_sqe* timeout = ring.get_sqe();  // reserved by arm(): same batch as the wait
    io_uring_prep_link_timeout(
        timeout, reinterpret_cast<__kernel_timespec*>(&w.kernel_deadline), IORING_TIMEOUT_ABS);
    // user_data stays 0: the timeout's own CQE (-ETIME when it fired,
    // -ECANCELED when the wait completed first) carries nothing we need.
    w.deadline_armed = true;
  }

  // @model(uf.submit_cancel)
  static void submit_cancel(runtime::uring_backend& ring, csync::detail::waiter& w) noexcept {
    io_uring_sqe* sqe = ring.get_sqe();
    io_uring_prep_cancel64(sqe, reinterpret_cast<std::uintptr_t>(&w.item), 0);
    // user_data stays 0: the cancel's own CQE (res 1 for futex, not 0 --
    // io_uring-futex.md §4) carries nothing we need.
    ring.submit();
  }

  static void resume_primitive(csync::detail::waiter& w) noexcept {
    w.item.run = w.primitive_run;
    w.item.run(&w.item);
  }

  /// A wake landed on a wait we were cancelling: pass it on.
  // @model(uf.forward)
  void forward() {
    csync::detail::wake_list woken;
    this->notify([](csync::detail::waiter*) { return visit::stop; }, woken);
    base::deliver(woken);
  }
};

using uring_futex = basic_uring_futex<>;

}  // namespace csync::strategy

#endif  // CSYNC_HAVE_URING_BACKEND && CSYNC_HAVE_FUTEX
