// csync/runtime/uring_backend.hpp
// -----------------------------------------------------------------------------
// The io_uring Loop backend (Linux + liburing), its run-time probe, and the
// loop-thread API that lets code running on a Loop submit its own io_uring
// requests and resume when they complete.
//
// Availability. Everything below except `probe_uring` and
// `make_uring_backend` exists only when CSYNC_HAVE_URING_BACKEND is 1 (see
// <csync/detail/uring_compat.hpp>: Linux, <liburing.h>, CSYNC_WITH_URING not
// 0). At run time the kernel may still refuse io_uring (too old, the sysctl
// kernel.io_uring_disabled, a seccomp filter): `probe_uring().ring_ok` says
// whether this backend can work and `ring_reason` why not.
//
//   const uring_probe& probe_uring() noexcept;           // cached, thread-safe
//   std::unique_ptr<backend> make_uring_backend();       // throws runtime_error
//   std::unique_ptr<backend> make_uring_backend(unsigned sq_entries,
//                                               unsigned cq_entries = 0);
//   class uring_backend final : public backend;          // name() == "io_uring"
//   uring_backend* uring_backend_of(Loop&) noexcept;     // nullptr: other backend
//   co_await uring_submit([&](io_uring_sqe* sqe) { io_uring_prep_read(...); })
//                                                        // -> int, the CQE's res
//
// A default-constructed Loop uses this backend when it is available (see
// make_default_backend() in loop.hpp for the rules and CSYNC_LOOP_BACKEND).
//
// Design
//   Ring. One ring per backend, i.e. per Loop: io_uring_queue_init_params with
//   256 SQ entries and a CQ four times larger (IORING_SETUP_CQSIZE | CLAMP),
//   plus IORING_SETUP_COOP_TASKRUN | TASKRUN_FLAG | SUBMIT_ALL where the
//   kernel has them (5.19+; otherwise the ring is created without them).
//   COOP_TASKRUN: completions that need the loop thread (task_work) no longer
//   interrupt it with an IPI while it runs tasks; they run the next time it
//   enters the kernel, which it does when it sleeps, and `collect` enters
//   early when the kernel raises IORING_SQ_TASKRUN. SUBMIT_ALL: one bad SQE
//   does not hold back the ones after it.
//   Not SINGLE_ISSUER | DEFER_TASKRUN (both accepted by Linux 6.18): a
//   SINGLE_ISSUER ring accepts submissions only from the task that created it
//   (or, with R_DISABLED, the one that enabled it; on 6.18 a submit from
//   another thread fails with -EEXIST, observed), and DEFER_TASKRUN
//   requires SINGLE_ISSUER. A Loop may be constructed on one thread and run
//   on another, or run on different threads in turn, so the ring cannot be
//   tied to one task; the gain (fewer task_work runs) is small for a loop
//   that already batches its kernel entries.
//
//   Cross-thread wake: a mutex-guarded FIFO of posted items plus an eventfd
//   whose read the loop keeps armed in the ring (user_data kWakeTag). Chosen
//   over IORING_OP_MSG_RING because posters are arbitrary threads without a
//   ring of their own: MSG_RING would need a ring per posting thread (or a
//   shared, locked one), and Linux 5.18+. `post_remote`: lock; link the
//   item; if no wake is outstanding (`signalled_`), write 1 to the eventfd;
//   unlock -- so a burst of posts costs one write(2) until the loop drains.
//   The loop drains (lock, splice, clear `signalled_`) whenever the eventfd
//   read completes, and also when the relaxed `pending_` hint says items are
//   queued, so a busy loop picks remote work up without waiting for the CQE.
//   Why no wake is lost: `signalled_` is true whenever the FIFO is non-empty
//   (both change under the lock), and it is set only by a write made after
//   the last drain; that write keeps the eventfd count non-zero until a read
//   consumes it, the consuming read posts a CQE, and every reaped wake CQE is
//   followed by a drain in the same `collect`. The read is re-armed after
//   each CQE and always submitted before the loop sleeps.
//   The eventfd is blocking (no EFD_NONBLOCK): io_uring returns -EAGAIN for
//   reads of O_NONBLOCK files instead of arming a poll. A write never blocks
//   (the count cannot approach its 2^64-2 limit: one write per drain). The
//   read's 8-byte target is a process-wide sink nobody reads, so a read the
//   kernel completes or cancels while tearing a ring down never writes into
//   freed memory.
//
//   collect(out, block, deadline), loop thread:
//     1. hand over completions reaped earlier (by get_sqe/submit making room);
//     2. reap every CQE (below), drain the remote FIFO if a wake CQE was seen
//        or the hint is set, re-arm the eventfd read if it completed;
//     3. if `block` and nothing was handed over: submit pending SQEs and wait
//        for one CQE in the same io_uring_enter -- io_uring_submit_and_wait,
//        or io_uring_submit_and_wait_timeout with the time left until
//        `deadline` (a passed deadline does not wait); then step 2 again;
//     4. submit whatever SQEs are still pending (loop code's and the re-armed
//        read), so SQEs prepared while tasks ran reach the kernel at the end
//        of the loop's round at the latest.
//   Reaping walks the CQ ring; for each CQE: user_data kWakeTag -> wake (see
//   above); 0 or LIBURING_UDATA_TIMEOUT -> ignored; anything else is the
//   work_item* given to `bind`: `item->result = cqe->res`, append the item
//   to `out` (it then runs on the loop thread like a posted item).
//
//   CQ overflow: the ring needs IORING_FEAT_NODROP (5.5; the probe checks), so
//   a full CQ parks further CQEs in the kernel's overflow list and sets
//   IORING_SQ_CQ_OVERFLOW. After draining the CQ, `reap` enters the kernel
//   with GETEVENTS (io_uring_get_events) while that flag (or
//   IORING_SQ_TASKRUN) is set and the previous flush made progress, so the
//   backlog is flushed and reaped in the same pass. Submission that the
//   kernel refuses while a backlog exists (-EBUSY on older kernels) reaps and
//   retries. Only if the kernel could not even allocate an overflow entry
//   does it drop a CQE (counted in cq.koverflow): the item would never run,
//   so the backend reports it on stderr and aborts.
//
// Loop-thread API (from code running on the loop: tasks, items, timers; or
// before run() on the thread that will run it):
//   io_uring* ring() noexcept            the ring, for liburing calls that
//                                        need it (registering files, ...);
//                                        do not reap CQEs from it yourself
//   io_uring_sqe* get_sqe() noexcept     a zeroed SQE (a NOP with user_data 0
//                                        until filled); never null: when the
//                                        SQ is full it submits to make room
//   void reserve(unsigned n) noexcept    make room for n SQEs in a row (use
//                                        before a linked chain: get_sqe may
//                                        submit and would split the chain)
//   void bind(io_uring_sqe*, work_item&) noexcept
//                                        sets user_data = &item: when the CQE
//                                        arrives, item.result = res and
//                                        item.run(&item) runs on the loop
//                                        thread. Exactly one CQE per bound SQE:
//                                        no multishot, no IOSQE_CQE_SKIP_SUCCESS.
//                                        An SQE left with user_data 0 (e.g. a
//                                        LINK_TIMEOUT or a cancel whose result
//                                        you do not need) is ignored.
//   void submit() noexcept               submit now (otherwise at the end of
//                                        the loop's current round, see 4.)
//   std::size_t in_flight() const        bound SQEs whose CQE has not been
//                                        reaped yet
//
// Memory ordering: for threads X and Y, where Y runs the loop, X's unlock of
// the backend mutex in `post_remote` synchronizes-with Y's lock of it in the
// `collect` that takes the item (same argument as portable_backend.hpp; the
// eventfd only wakes, it orders nothing). `pending_` is a relaxed hint that
// orders nothing. For a bound SQE, everything the binding thread did before
// `bind` happens-before the item runs: it is the same thread in every
// supported use (the loop thread), and for ThreadSanitizer, which cannot see
// the SQE -> kernel -> CQE path, `bind` does __tsan_release(item) and the
// reaping thread __tsan_acquire(item). Effects of another thread that reach
// the loop through the kernel (a pipe write, a futex wake) are NOT ordered
// for TSan by this: synchronize through an atomic (the futex word itself)
// or annotate with csync::detail::tsan_release/tsan_acquire on both sides.
//
// Lifetime: `post_remote` links the item and writes the eventfd while holding
// the mutex; its last access to the backend is the unlock, and the loop takes
// the item only after locking, so the Loop may be destroyed right after that
// (backend.hpp). The destructor requires that no thread is inside
// `post_remote`/`collect` and that no bound SQE is in flight (asserted in
// debug builds): the kernel would otherwise write a result into, or the
// backend hand over, an item whose owner is gone. A task awaiting
// `uring_submit` keeps `run()` from returning, so the Loop cannot be
// destroyed under it; code using `bind` directly must not let the loop end
// with requests in flight (cancel and reap them first). A wake read still
// armed at destruction is cancelled by the kernel when the ring is closed.
//
// Where things run: a bound item (and the coroutine `uring_submit` suspended)
// runs on the loop thread, inside `run()`, after the `collect` that reaped
// its CQE -- never inline in `bind` or in the kernel. CQEs are reaped only in
// `collect` (once per loop round) and, to make room, inside get_sqe/submit;
// items reaped there are handed over by the next `collect`.
// A Loop may run on different threads in turn (no SINGLE_ISSUER, see
// "Ring"). io_uring completes a request through task_work of the thread that
// submitted it: if that thread still lives and sleeps, the kernel wakes it to
// post the CQE; if it is running user code, the CQE waits for its next kernel
// entry (at most a scheduler tick, COOP_TASKRUN); if it exited, its requests
// were cancelled (res -ECANCELED: the wake read is re-armed from the current
// thread, a bound item sees -ECANCELED).
// -----------------------------------------------------------------------------
#pragma once

#include <csync/detail/atomic.hpp>
#include <csync/detail/uring_compat.hpp>
#include <csync/detail/uring_probe.hpp>
#include <csync/runtime/loop.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#if CSYNC_HAVE_URING_BACKEND

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cassert>
#include <cerrno>
#include <chrono>
#include <concepts>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <optional>
#include <string_view>
#include <system_error>
#include <thread>
#include <type_traits>
#include <utility>

#include <csync/runtime/backend.hpp>
#include <csync/runtime/work_item.hpp>

namespace csync::detail {

/// Target of every loop's eventfd read. The value is never looked at; only
/// the kernel writes it. Static storage, so a read that completes while a
/// ring is torn down writes into live memory.
inline std::uint64_t uring_wake_sink = 0;

[[noreturn]] inline void uring_fatal(const char* what, int neg_errno) noexcept {
  std::fprintf(stderr, "csync: io_uring backend: %s: %s; aborting\n", what,
               std::strerror(-neg_errno));
  std::abort();
}

}  // namespace csync::detail

namespace csync::runtime {

class uring_backend final : public backend {
 public:
  static constexpr std::string_view kName = "io_uring";
  static constexpr unsigned kDefaultSqEntries = 256;

  /// Creates the eventfd and the ring: `sq_entries` SQ entries (rounded up to
  /// a power of two by the kernel) and `cq_entries` CQ entries (0: four times
  /// the SQ; clamped to the kernel's limit; at least the SQ size). Does not
  /// consult probe_uring(). Throws std::system_error when the eventfd or the
  /// ring cannot be created.
  explicit uring_backend(unsigned sq_entries = kDefaultSqEntries, unsigned cq_entries = 0) {
    efd_ = ::eventfd(0, EFD_CLOEXEC);  // blocking on purpose: see the file comment
    if (efd_ < 0) {
      throw std::system_error(errno, std::system_category(), "csync: eventfd");
    }
    if (sq_entries == 0) sq_entries = 1;
    if (cq_entries == 0) cq_entries = 4 * sq_entries;
    if (cq_entries < sq_entries) cq_entries = sq_entries;

    constexpr unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
    constexpr unsigned extra =
        IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL;
    int r = -EINVAL;
    for (unsigned flags : {base | extra, base}) {
      io_uring_params params{};
      params.flags = flags;
      params.cq_entries = cq_entries;
      r = io_uring_queue_init_params(sq_entries, &ring_, &params);
      if (r != -EINVAL) break;  // EINVAL: a flag this kernel does not know (< 5.19)
    }
    if (r < 0) {
      ::close(efd_);
      throw std::system_error(-r, std::system_category(), "csync: io_uring_queue_init");
    }
    // TSan: this ring may reuse pages of a ring another thread destroyed.
    ::csync::detail::tsan_ring_pages(ring_, /*acquire=*/true);
  }

  uring_backend(const uring_backend&) = delete;
  uring_backend& operator=(const uring_backend&) = delete;

  /// Precondition: no thread inside post_remote/collect; no bound SQE in flight.
  ~uring_backend() override {
    assert(inflight_ == 0 && "uring_backend destroyed with bound SQEs in flight");
    ::csync::detail::tsan_ring_pages(ring_, /*acquire=*/false);  // see tsan_ring_pages
    io_uring_queue_exit(&ring_);  // cancels the armed eventfd read, if any
    ::close(efd_);
  }

  std::string_view name() const noexcept override { return kName; }

  // --- backend interface -----------------------------------------------------

  void post_remote(work_item& item) noexcept override {
    std::lock_guard lock(mutex_);
    remote_.push_back(item);
    // relaxed: a hint read by the relaxed load in drain_remote(); the item is
    // published by this mutex's unlock, which pairs with drain_remote's lock.
    pending_.store(true, std::memory_order_relaxed);
    if (!signalled_) {
      signalled_ = true;
      // Inside the lock: after the unlock the loop may take the item, finish
      // and close efd_ (see the file comment, "Lifetime").
      const std::uint64_t one = 1;
      ssize_t n;
      do {
        n = ::write(efd_, &one, sizeof one);
      } while (n < 0 && errno == EINTR);
      assert(n == static_cast<ssize_t>(sizeof one) && "eventfd write failed");
    }
  }

  void collect(work_queue& out, bool block,
               std::optional<std::chrono::steady_clock::time_point> deadline) override {
    bool got = take_completed(out);
    got |= reap(out);
    got |= drain_remote(out);
    if (need_rearm_) arm_wake();
    got |= take_completed(out);  // arm_wake's get_sqe may have reaped to make room
    if (block && !got) {
      wait(deadline);  // submits pending SQEs (the armed read among them) too
      reap(out);
      drain_remote(out);
      if (need_rearm_) arm_wake();
    }
    submit();
    take_completed(out);
  }

  // --- loop-thread API ---------------------------------------------------------

  /// The ring. Loop thread only. Do not reap its CQEs yourself.
  io_uring* ring() noexcept { return &ring_; }

  /// The io_uring_setup flags the ring was created with.
  unsigned setup_flags() const noexcept { return ring_.flags; }

  /// A zeroed SQE (an IORING_OP_NOP with user_data 0 until you fill it).
  /// Never null: when the SQ is full, submits what is queued to make room.
  /// Loop thread only.
  io_uring_sqe* get_sqe() noexcept {
    io_uring_sqe* sqe;
    while ((sqe = io_uring_get_sqe(&ring_)) == nullptr) submit();
    std::memset(sqe, 0, sizeof *sqe);
    return sqe;
  }

  /// Makes sure the next `n` get_sqe() calls will not submit in between
  /// (so a linked chain is submitted whole). `n` <= the SQ size.
  void reserve(unsigned n) noexcept {
    assert(n <= ring_.sq.ring_entries && "reserve: more SQEs than the SQ holds");
    if (io_uring_sq_space_left(&ring_) < n) submit();
  }

  /// Binds `sqe` (filled, from get_sqe) to `item`: its CQE stores `res` in
  /// `item.result` and runs `item` on the loop thread. Loop thread only.
  void bind(io_uring_sqe* sqe, work_item& item) noexcept {
    assert(sqe != nullptr);
    item.result = 0;
    io_uring_sqe_set_data(sqe, &item);
    ++inflight_;
    // TSan cannot follow SQE -> kernel -> CQE: release here, acquire in
    // handle_cqe() before the item is handed over.
    ::csync::detail::tsan_release(&item);
  }

  /// Submits every queued SQE now. Loop thread only. Completions reaped while
  /// making room are handed over by the next collect().
  void submit() noexcept {
    while (io_uring_sq_ready(&ring_) > 0) {
      const int r = io_uring_submit(&ring_);
      if (r > 0) continue;
      if (r == 0 || r == -EBUSY || r == -EAGAIN || r == -EINTR) {
        // The kernel took nothing: a CQ overflow backlog must drain first
        // (older kernels answer -EBUSY) or it is short of memory. Reap (which
        // flushes the backlog) and retry.
        if (!reap(completed_)) std::this_thread::yield();
        continue;
      }
      ::csync::detail::uring_fatal("io_uring_submit", r);
    }
  }

  /// Bound SQEs whose CQE has not been reaped yet. Loop thread only.
  std::size_t in_flight() const noexcept { return inflight_; }

 private:
  using clock = std::chrono::steady_clock;

  /// user_data of the eventfd read. work_items are at least pointer-aligned,
  /// so no item has this address; 0 (ignored) is never an item either.
  static constexpr std::uint64_t kWakeTag = 1;
  static_assert(alignof(work_item) > 1);

  bool take_completed(work_queue& out) noexcept {
    if (completed_.empty()) return false;
    out.splice(completed_);
    return true;
  }

  /// Prepares the eventfd read (submitted by the next submit/wait).
  void arm_wake() noexcept {
    need_rearm_ = false;
    io_uring_sqe* sqe = get_sqe();
    io_uring_prep_read(sqe, efd_, &::csync::detail::uring_wake_sink, sizeof(std::uint64_t), 0);
    sqe->user_data = kWakeTag;
  }

  /// Moves remotely posted items onto `out` if a wake CQE was reaped or the
  /// hint says some are queued. Returns whether any were.
  bool drain_remote(work_queue& out) noexcept {
    // relaxed: pairs with the relaxed store in post_remote() only as a hint.
    // A stale `false` defers the items until the wake CQE (which the poster's
    // eventfd write guarantees) sets remote_fired_; no data is read on the
    // strength of this load -- the lock below orders the items.
    if (!remote_fired_ && !pending_.load(std::memory_order_relaxed)) return false;
    remote_fired_ = false;
    std::lock_guard lock(mutex_);
    const bool any = !remote_.empty();
    out.splice(remote_);
    signalled_ = false;  // the next post writes the eventfd again
    // relaxed: written under the mutex like every store to pending_; see the
    // store in post_remote().
    pending_.store(false, std::memory_order_relaxed);
    return any;
  }

  /// Sleeps in the kernel until a CQE arrives or `deadline` passes, submitting
  /// pending SQEs in the same call.
  void wait(std::optional<clock::time_point> deadline) noexcept {
    io_uring_cqe* cqe = nullptr;
    int r;
    if (deadline) {
      const clock::time_point now = clock::now();
      if (*deadline <= now) return;  // collect() submits afterwards
      const std::int64_t ns =
          std::chrono::duration_cast<std::chrono::nanoseconds>(*deadline - now).count();
      __kernel_timespec ts{};
      ts.tv_sec = ns / 1'000'000'000;
      ts.tv_nsec = ns % 1'000'000'000;
      r = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &ts, nullptr);
    } else {
      r = io_uring_submit_and_wait(&ring_, 1);
    }
    // -ETIME: the deadline passed; -EINTR: a signal; -EBUSY/-EAGAIN: an
    // overflow backlog or a transient shortage that reap() deals with. All
    // mean "look at the CQ now" (a spurious wake-up is allowed).
    if (r < 0 && r != -ETIME && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
      ::csync::detail::uring_fatal("io_uring_enter (wait)", r);
    }
  }

  /// Reaps every available CQE, flushing the kernel's overflow backlog and
  /// pending task_work as needed. Returns whether an item was appended.
  bool reap(work_queue& out) noexcept {
    bool any = false;
    bool progress = true;  // since the last flush
    for (;;) {
      unsigned head;
      unsigned n = 0;
      io_uring_cqe* cqe;
      io_uring_for_each_cqe(&ring_, head, cqe) {
        any |= handle_cqe(*cqe, out);
        ++n;
      }
      io_uring_cq_advance(&ring_, n);
      if (n != 0) {
        progress = true;
        continue;  // the CQ may have refilled meanwhile
      }
      const unsigned kflags = IO_URING_READ_ONCE(*ring_.sq.kflags);
      if (!(kflags & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) || !progress) break;
      progress = false;
      const int r = io_uring_get_events(&ring_);  // io_uring_enter(GETEVENTS, 0 wait)
      if (r < 0 && r != -EINTR && r != -EBUSY && r != -EAGAIN) {
        ::csync::detail::uring_fatal("io_uring_enter (flush)", r);
      }
    }
    if (IO_URING_READ_ONCE(*ring_.cq.koverflow) != 0) {
      std::fprintf(stderr,
                   "csync: io_uring backend: the kernel dropped %u completion(s) (no memory "
                   "for its CQ overflow list); their work items would never run\n",
                   IO_URING_READ_ONCE(*ring_.cq.koverflow));
      std::abort();
    }
    return any;
  }

  bool handle_cqe(const io_uring_cqe& cqe, work_queue& out) noexcept {
    const std::uint64_t tag = cqe.user_data;
    if (tag == kWakeTag) {  // any res: data, -ECANCELED (its thread exited), ...
      remote_fired_ = true;
      need_rearm_ = true;
      return false;
    }
    if (tag == 0 || tag == LIBURING_UDATA_TIMEOUT) return false;  // unbound / liburing's own
    auto* item = reinterpret_cast<work_item*>(static_cast<std::uintptr_t>(tag));
    assert(!(cqe.flags & IORING_CQE_F_MORE) && "a multishot request was bound to a work_item");
    ::csync::detail::tsan_acquire(item);  // pairs with tsan_release in bind()
    item->result = cqe.res;
    assert(inflight_ > 0);
    --inflight_;
    out.push_back(*item);
    return true;
  }

  // Loop-thread state (see "Loop-thread API"): no synchronization.
  io_uring ring_{};
  int efd_ = -1;                 ///< immutable after construction
  work_queue completed_;         ///< reaped by get_sqe/submit, handed over by collect
  std::size_t inflight_ = 0;     ///< bound SQEs without a reaped CQE
  bool need_rearm_ = true;       ///< the eventfd read is not armed
  bool remote_fired_ = false;    ///< a wake CQE was reaped; drain under the lock

  // Shared with posting threads.
  detail::mutex mutex_;
  work_queue remote_;                 ///< guarded by mutex_
  bool signalled_ = false;            ///< guarded by mutex_: an eventfd write is outstanding
  detail::atomic<bool> pending_{false};  ///< hint: remote_ may be non-empty; written under mutex_
};

/// A fresh io_uring backend; std::runtime_error (with the probe's reason)
/// when io_uring is unavailable here, std::system_error when this ring
/// cannot be created (e.g. out of file descriptors or locked memory).
inline std::unique_ptr<backend> make_uring_backend(unsigned sq_entries,
                                                   unsigned cq_entries = 0) {
  const uring_probe& probe = probe_uring();
  if (!probe.ring_ok) {
    throw std::runtime_error("csync: io_uring unavailable (" + probe.ring_reason + ")");
  }
  return std::make_unique<uring_backend>(sq_entries, cq_entries);
}

inline std::unique_ptr<backend> make_uring_backend() {
  return make_uring_backend(uring_backend::kDefaultSqEntries);
}

/// The loop's io_uring backend, or nullptr when it uses another backend.
inline uring_backend* uring_backend_of(Loop& loop) noexcept {
  return dynamic_cast<uring_backend*>(&loop.get_backend());
}

/// `co_await uring_submit(prep)`: takes an SQE from the current loop's ring,
/// calls `prep(sqe)` to fill it (any io_uring_prep_* or hand-filled fields;
/// do not set user_data, do not call get_sqe from `prep`), binds it to the
/// awaiting coroutine, and resumes that coroutine on the loop, with the
/// CQE's `res` as the value of the co_await, once the request completes.
/// Always suspends. The SQE is submitted at the end of the loop's round (or
/// earlier if the SQ fills up). Throws std::logic_error (from await_suspend,
/// so the awaiting coroutine sees it) when no loop runs on this thread or
/// its backend is not io_uring; an exception from `prep` propagates the same
/// way and the SQE becomes a NOP. Everything `prep` refers to (buffers, the
/// fd) must stay valid until the co_await returns.
template <class Prep>
class uring_submit_awaitable {
 public:
  explicit uring_submit_awaitable(Prep prep) noexcept(std::is_nothrow_move_constructible_v<Prep>)
      : prep_(std::move(prep)) {}

  bool await_ready() const noexcept { return false; }

  void await_suspend(std::coroutine_handle<> awaiting) {
    Loop* loop = Loop::current();
    if (!loop) throw std::logic_error("csync::runtime::uring_submit awaited outside a running Loop");
    uring_backend* b = uring_backend_of(*loop);
    if (!b) {
      throw std::logic_error(
          "csync::runtime::uring_submit: the current Loop's backend is not io_uring but '" +
          std::string(loop->backend_name()) + "'");
    }
    io_uring_sqe* sqe = b->get_sqe();
    try {
      std::invoke(prep_, sqe);
    } catch (...) {
      std::memset(sqe, 0, sizeof *sqe);  // submitted as an ignored NOP
      throw;
    }
    item_.handle = awaiting;
    b->bind(sqe, item_);
  }

  int await_resume() const noexcept { return item_.result; }

 private:
  Prep prep_;
  ::csync::detail::resume_item item_;
};

template <class Prep>
  requires std::invocable<std::decay_t<Prep>&, io_uring_sqe*>
[[nodiscard("nothing is submitted until co_awaited")]]
uring_submit_awaitable<std::decay_t<Prep>> uring_submit(Prep&& prep) {
  return uring_submit_awaitable<std::decay_t<Prep>>(std::forward<Prep>(prep));
}

}  // namespace csync::runtime

#else  // !CSYNC_HAVE_URING_BACKEND

namespace csync::runtime {

inline std::unique_ptr<backend> make_uring_backend() {
  throw std::runtime_error("csync: io_uring unavailable (" + probe_uring().ring_reason + ")");
}

inline std::unique_ptr<backend> make_uring_backend(unsigned /*sq_entries*/,
                                                   unsigned /*cq_entries*/ = 0) {
  return make_uring_backend();
}

}  // namespace csync::runtime

#endif  // CSYNC_HAVE_URING_BACKEND
