// csync/runtime/loop.hpp
// -----------------------------------------------------------------------------
// csync::runtime::Loop -- a single-threaded event loop for coroutine waiters.
//
// A Loop runs on the thread that calls `run()`. Several loops may run on
// several threads. Work reaches a loop in three ways:
//   * `spawn(Task<void>)` before `run()` or from the loop's own thread;
//   * `post(work_item&)` from ANY thread (a release/notify on another thread
//     delivering a waiter, a yield). Posted items run on the loop thread, in
//     FIFO order per poster, never inline inside `post`. From the loop's own
//     thread (while it runs) `post` appends to a local ready queue without
//     locking; from any other thread it goes through the backend;
//   * timers (`add_timer`, used by `sleep_for` / `sleep_until`): a min-heap of
//     deadlines local to the loop, loop thread only.
//
// How the loop sleeps and how other threads wake it is the *backend*, a
// replaceable part (backend.hpp; portable mutex+condvar backend in
// portable_backend.hpp; io_uring backend in uring_backend.hpp; IOCP backend
// in iocp_backend.hpp). `Loop()` takes `make_default_backend()` (below:
// io_uring on Linux when the kernel allows it, IOCP on Windows, else
// portable; env CSYNC_LOOP_BACKEND overrides); `Loop(make_portable_backend())`
// / `Loop(make_uring_backend())` / `Loop(make_iocp_backend())` choose
// explicitly.
//
// run(): repeat { run the items that are ready now (one batch: items they post
// run in the next batch, so yielding tasks cannot starve remote work or
// timers); move remotely posted items onto the ready queue -- without
// sleeping if local work is ready, otherwise sleeping in the backend until a
// post or the earliest timer deadline; run the timers whose deadline passed }
// until the count of unfinished spawned tasks is 0. If a task ended with an
// exception, `run()` rethrows the first one after all tasks finished. A loop
// whose tasks all wait for something that never comes sleeps forever.
//
// Where things run: spawned tasks, posted items, timer items and every
// coroutine resumed by `yield()` / `sleep_for()` / a waiter delivery run on
// the thread inside `run()`, with `Loop::current()` returning this loop.
// Nothing in the runtime resumes a coroutine inline inside `post()`.
//
// Memory ordering: for threads X and Y, where Y runs the loop, everything X
// does before `post(item)` happens-before `item.run(&item)` on Y (the
// backend's lock: X releases it after linking the item, Y acquires it before
// taking the item; see backend.hpp). Everything a task does happens-before
// `run()` returns on Y. `spawn()` / `add_timer()` before `run()` are plain
// writes: the thread that calls them must happen-before the thread that
// calls `run()` (same thread, or e.g. std::thread construction / join).
//
// Lifetime: a Loop must outlive every item posted to it and every timer added
// to it. Because a waiter is always a suspended task of the loop it is posted
// to, and `run()` returns only after all tasks finished, a notifier's `post`
// can race only with the loop's last step: the delivery that lets the last
// task finish. `post` publishes the item and wakes the loop inside the
// backend's lock, so the loop cannot take the item -- and therefore cannot
// finish, return from `run()` and be destroyed -- before the poster has left
// the backend (the argument is spelled out in backend.hpp). Hence "the last
// task finishes while a wake is in flight" cannot happen for task wakes: the
// task is not finished until its wake ran. Work items not tied to a task do
// not keep `run()` alive: items still queued when the last task finishes stay
// queued for the next `run()`. The memory of items and timers belongs to
// their owners.
//
// Destroying suspended tasks (drop = cancel): a coroutine frame may be
// destroyed while it is suspended -- its Task destroyed by its owner, or the
// Loop destroyed while spawned tasks are unfinished (the destructor destroys
// them, on the destroying thread, which must be the loop's or, the loop not
// running, any) -- on the loop's thread. Every awaiter in csync then
// withdraws what it registered: a timer is cancelled, a posted item taken
// back (`retract`), a primitive's wait cancelled (and what its delivery
// carried passed on). The destructor requires that the loop is not running
// and that no timer is pending once the unfinished tasks are gone (asserted
// in debug builds).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <csync/detail/atomic.hpp>
#include <csync/detail/backoff.hpp>
#include <csync/detail/iocp_probe.hpp>
#include <csync/detail/uring_compat.hpp>
#include <csync/detail/uring_probe.hpp>
#include <csync/runtime/backend.hpp>
#include <csync/runtime/portable_backend.hpp>
#include <csync/runtime/work_item.hpp>
#include <csync/task.hpp>

namespace csync::runtime {

class Loop;

/// A work_item with a deadline: added with `Loop::add_timer`, run once on the
/// loop thread (by `run()`, never inline) after `deadline` passed, unless
/// cancelled with `Loop::cancel_timer` first. Timers with equal deadlines run
/// in the order they were added. The memory must stay valid until the timer
/// ran or was cancelled.
struct timer_item : work_item {
  std::chrono::steady_clock::time_point deadline{};

  timer_item() noexcept = default;
  /// Copying is allowed only while not scheduled; the copy is not scheduled.
  timer_item(const timer_item& other) noexcept : work_item(other), deadline(other.deadline) {
    assert(!other.scheduled() && "copying a scheduled timer_item");
    next = nullptr;
  }
  timer_item& operator=(const timer_item&) = delete;

  /// True between add_timer and the moment it runs or is cancelled.
  bool scheduled() const noexcept { return heap_index_ != npos; }

 private:
  friend class Loop;
  static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
  std::uint64_t seq_ = 0;         ///< tie-breaker: FIFO among equal deadlines
  std::size_t heap_index_ = npos; ///< position in the loop's heap, npos if not scheduled
};

}  // namespace csync::runtime

namespace csync::detail {

/// A work_item that resumes a coroutine. Lives in the suspended frame.
struct resume_item : runtime::work_item {
  std::coroutine_handle<> handle{};
  resume_item() noexcept { run = &resume_item::resume; }
  static void resume(runtime::work_item* self) noexcept {
    static_cast<resume_item*>(self)->handle.resume();
  }
};

/// A timer that resumes a coroutine. Lives in the suspended frame.
struct resume_timer : runtime::timer_item {
  std::coroutine_handle<> handle{};
  resume_timer() noexcept { run = &resume_timer::resume; }
  static void resume(runtime::work_item* self) noexcept {
    static_cast<resume_timer*>(self)->handle.resume();
  }
};

/// The detached coroutine that drives one spawned task: created suspended by
/// Loop::spawn, started by its `start` item from the loop's ready queue,
/// frees its own frame (and with it the task's) when it finishes.
class spawn_driver {
 public:
  struct promise_type {
    resume_item start;
    promise_type* prev = nullptr;  ///< the Loop's list of unfinished spawned tasks
    promise_type* next = nullptr;

    spawn_driver get_return_object() noexcept {
      return spawn_driver{std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }  // the body catches all
  };

  std::coroutine_handle<promise_type> handle;
};

inline runtime::Loop*& current_loop_slot() noexcept {
  static thread_local runtime::Loop* current = nullptr;
  return current;
}

}  // namespace csync::detail

namespace csync::runtime {

/// The backend a default-constructed Loop uses, chosen per call:
///   * env CSYNC_LOOP_BACKEND=portable: the portable backend;
///   * env CSYNC_LOOP_BACKEND=io_uring: make_uring_backend(), which throws
///     std::runtime_error (with the probe's reason) when io_uring is
///     unavailable -- an explicit request is not silently downgraded (on
///     Windows: "csync: io_uring unavailable (io_uring is a Linux kernel
///     interface; this is a Windows build ...)");
///   * env CSYNC_LOOP_BACKEND=iocp: make_iocp_backend(), likewise
///     ("csync: iocp unavailable (<reason>)" off Windows);
///   * any other non-empty value: std::invalid_argument;
///   * unset or empty: io_uring when the backend is compiled in
///     (CSYNC_HAVE_URING_BACKEND, i.e. Linux with liburing) and
///     probe_uring().ring_ok; IOCP when that backend is compiled in
///     (CSYNC_HAVE_IOCP_BACKEND, i.e. Windows) and probe_iocp().port_ok;
///     otherwise portable. When a compiled-in kernel backend is unusable
///     (probe failed, or this ring/port could not be created) the reason
///     goes to stderr once per process -- "csync: io_uring unavailable
///     (<reason>); using the portable loop backend", "csync: iocp
///     unavailable (<reason>); ..." -- unless env CSYNC_QUIET=1.
/// The environment is read on every call (so a setenv before constructing a
/// Loop takes effect; like any getenv, not concurrently with setenv); the
/// kernel probe is cached for the process.
inline std::unique_ptr<backend> make_default_backend() {
  const char* env = std::getenv("CSYNC_LOOP_BACKEND");
  const std::string_view choice = env ? std::string_view(env) : std::string_view();
  if (choice == "portable") return make_portable_backend();
  if (choice == "io_uring") return make_uring_backend();
  if (choice == "iocp") return make_iocp_backend();
  if (!choice.empty()) {
    throw std::invalid_argument("csync: CSYNC_LOOP_BACKEND='" + std::string(choice) +
                                "' is none of 'portable', 'io_uring', 'iocp'");
  }
#if CSYNC_HAVE_URING_BACKEND
  const uring_probe& probe = probe_uring();
  if (probe.ring_ok) {
    try {
      return make_uring_backend();
    } catch (const std::runtime_error& e) {  // this ring failed (fds, memory): fall back
      std::string_view why = e.what();
      if (why.starts_with("csync: ")) why.remove_prefix(7);
      ::csync::detail::note_uring_fallback(why);
      return make_portable_backend();
    }
  }
  ::csync::detail::note_uring_fallback(probe.ring_reason);
#endif
#if CSYNC_HAVE_IOCP_BACKEND
  const iocp_probe& iocp = probe_iocp();
  if (iocp.port_ok) {
    try {
      return make_iocp_backend();
    } catch (const std::runtime_error& e) {  // this port failed (handles, memory): fall back
      std::string_view why = e.what();
      if (why.starts_with("csync: ")) why.remove_prefix(7);
      ::csync::detail::note_iocp_fallback(why);
      return make_portable_backend();
    }
  }
  ::csync::detail::note_iocp_fallback(iocp.port_reason);
#endif
  return make_portable_backend();
}

class Loop {
 public:
  Loop() : Loop(make_default_backend()) {}

  /// Throws std::invalid_argument when `b` is null.
  explicit Loop(std::unique_ptr<backend> b) : backend_(std::move(b)) {
    if (!backend_) throw std::invalid_argument("csync::runtime::Loop: null backend");
  }

  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  /// Precondition: not running. Destroys the spawned tasks that have not
  /// finished (each suspended awaiter withdraws its wait: see the file
  /// comment); afterwards no timer may be pending.
  ~Loop() {
    // relaxed: diagnostic only, pairs with no other operation; a correct
    // program already synchronized with the thread that ran run().
    assert(!running_.load(std::memory_order_relaxed) && "Loop destroyed while running");
    while (spawned_ != nullptr) {
      spawn_driver_t::promise_type& driver = *spawned_;
      unlink_spawned(driver);
      --unfinished_;
      ready_.remove(driver.start);  // never started: its start item is still queued
      // The driver's frame owns the task's: both go, innermost awaiter first.
      std::coroutine_handle<spawn_driver_t::promise_type>::from_promise(driver).destroy();
    }
    assert(unfinished_ == 0);
    assert(timers_.empty() && "Loop destroyed with pending timers");
  }

  /// Schedules `task` to start on this loop; `run()` returns only after it
  /// finished. Call before `run()` or from the loop's own thread. Throws
  /// std::bad_alloc (nothing is scheduled then).
  void spawn(Task<void> task) {
    assert(task.valid() && "spawning an empty Task");
    // relaxed: diagnostic only, pairs with no other operation (see ~Loop);
    // misuse from a foreign thread while running is a data race on ready_
    // that this assert reports first.
    assert((!running_.load(std::memory_order_relaxed) || current() == this) &&
           "Loop::spawn from a thread other than the running loop's");
    spawn_driver_t driver = drive(*this, std::move(task));
    auto& promise = driver.handle.promise();
    promise.start.handle = driver.handle;
    ++unfinished_;
    link_spawned(promise);
    ready_.push_back(promise.start);
  }

  /// Runs until every spawned task finished or stop() was called (see the
  /// file comment); sets `current()` to this loop meanwhile. Rethrows the
  /// first exception a task ended with. Not reentrant for the same loop.
  void run() {
    // relaxed: diagnostic only, pairs with no other operation (see ~Loop).
    assert(!running_.load(std::memory_order_relaxed) && "Loop::run is not reentrant");
    running_.store(true, std::memory_order_relaxed);  // relaxed: diagnostic only (see ~Loop)
    struct scope {
      Loop& loop;
      Loop* previous;
      ~scope() {
        ::csync::detail::current_loop_slot() = previous;
        loop.running_.store(false, std::memory_order_relaxed);  // relaxed: diagnostic only
      }
    } restore{*this, std::exchange(::csync::detail::current_loop_slot(), this)};

    stop_requested_ = false;
    while (unfinished_ != 0 && !stop_requested_) {
      run_ready_batch();
      if (unfinished_ == 0 || stop_requested_) break;
      backend_->collect(ready_, /*block=*/ready_.empty(), next_deadline());
      run_expired_timers();
    }

    if (first_error_) std::rethrow_exception(std::exchange(first_error_, nullptr));
  }

  /// Any thread: `item.run(&item)` runs later on this loop's thread, never
  /// inline. When this loop is `current()` (the caller runs on the loop's
  /// thread, inside its run()) the item goes to the local ready queue without
  /// a lock; otherwise through the backend. The caller must not touch `item`
  /// after this call (it may already have run and been freed).
  void post(work_item& item) noexcept {
    if (current() == this) {
      ready_.push_back(item);
    } else {
      backend_->post_remote(item);
    }
  }

  /// Loop thread, from a task or item it runs: make run() return after the
  /// current batch even though spawned tasks are unfinished. They stay
  /// suspended: a later run() continues them, and destroying the Loop
  /// destroys them (each awaiter withdrawing its wait).
  void stop() noexcept { stop_requested_ = true; }

  /// Loop thread (or, the loop not running, the thread that owns it): take
  /// back `item`, posted to this loop and not run yet, so that its memory may
  /// go. A post still in flight from another thread (a notifier between
  /// detaching a waiter and delivering it) is waited for: the caller must
  /// know the item was or will be posted here. Used by awaiters whose
  /// coroutine frame is destroyed while suspended (see the file comment).
  void retract(work_item& item) noexcept {
    for (::csync::detail::backoff backoff;; backoff.pause()) {
      if (ready_.remove(item) || batch_.remove(item)) return;
      backend_->collect(ready_, /*block=*/false, std::nullopt);  // what was posted remotely
    }
  }

  /// The loop running on the calling thread (innermost if nested), or nullptr.
  static Loop* current() noexcept { return ::csync::detail::current_loop_slot(); }

  std::string_view backend_name() const noexcept { return backend_->name(); }

  /// The backend this loop was constructed with (never null). Backend-specific
  /// loop-thread APIs reach it through this, e.g. uring_backend_of().
  backend& get_backend() noexcept { return *backend_; }
  const backend& get_backend() const noexcept { return *backend_; }

  /// Loop thread (or before run(), like spawn): run `t` (its work_item part)
  /// once after `t.deadline`. Timers do not keep `run()` alive; a task that
  /// waits for one does. Throws std::bad_alloc (then `t` is not scheduled).
  void add_timer(timer_item& t) {
    reserve_timer();  // may throw; t untouched then
    add_timer_reserved(t);
  }

  /// Loop thread: make room for one more timer, so that the next
  /// add_timer_reserved cannot fail. Throws std::bad_alloc (nothing changed).
  void reserve_timer() {
    // relaxed: diagnostic only, pairs with no other operation (see spawn).
    assert((!running_.load(std::memory_order_relaxed) || current() == this) &&
           "Loop::add_timer from a thread other than the running loop's");
    if (timers_.size() == timers_.capacity()) timers_.reserve(timers_.size() * 2 + 4);
  }

  /// add_timer after reserve_timer() made room: never throws.
  void add_timer_reserved(timer_item& t) noexcept {
    assert(!t.scheduled() && "timer_item already scheduled");
    assert(timers_.size() < timers_.capacity() && "add_timer_reserved without reserve_timer");
    timers_.push_back(&t);  // within capacity: no allocation
    t.seq_ = next_timer_seq_++;
    t.heap_index_ = timers_.size() - 1;
    sift_up(t.heap_index_);
  }

  /// Loop thread: unschedule `t`. Returns true if it was pending (it will not
  /// run), false if it already ran, is running, or was never scheduled.
  bool cancel_timer(timer_item& t) noexcept {
    if (!t.scheduled()) return false;
    assert(t.heap_index_ < timers_.size() && timers_[t.heap_index_] == &t &&
           "timer_item scheduled on another loop");
    heap_remove(t.heap_index_);
    return true;
  }

 private:
  using spawn_driver_t = ::csync::detail::spawn_driver;
  using clock = std::chrono::steady_clock;

  static spawn_driver_t drive(Loop& loop, Task<void> task) {
    std::exception_ptr error;
    try {
      co_await std::move(task);
    } catch (...) {
      error = std::current_exception();
    }
    loop.task_finished(co_await driver_promise{}, std::move(error));
    // final_suspend is suspend_never: the frame (and `task`'s frame) is freed
    // here, before the item that resumed us returns to run().
  }

  /// `co_await driver_promise{}` inside drive(): its own promise, without
  /// suspending.
  struct driver_promise {
    spawn_driver_t::promise_type* promise = nullptr;
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<spawn_driver_t::promise_type> h) noexcept {
      promise = &h.promise();
      return false;  // resume at once
    }
    spawn_driver_t::promise_type& await_resume() const noexcept { return *promise; }
  };

  void task_finished(spawn_driver_t::promise_type& driver, std::exception_ptr error) noexcept {
    if (error && !first_error_) first_error_ = std::move(error);
    assert(unfinished_ > 0);
    --unfinished_;
    unlink_spawned(driver);
  }

  void link_spawned(spawn_driver_t::promise_type& driver) noexcept {
    driver.prev = nullptr;
    driver.next = spawned_;
    if (spawned_) spawned_->prev = &driver;
    spawned_ = &driver;
  }

  void unlink_spawned(spawn_driver_t::promise_type& driver) noexcept {
    (driver.prev ? driver.prev->next : spawned_) = driver.next;
    if (driver.next) driver.next->prev = driver.prev;
    driver.prev = driver.next = nullptr;
  }

  void run_ready_batch() noexcept {
    batch_.splice(ready_);  // items posted while the batch runs wait for the next one
    while (work_item* item = batch_.pop_front()) item->run(item);
  }

  std::optional<clock::time_point> next_deadline() const noexcept {
    if (timers_.empty()) return std::nullopt;
    return timers_.front()->deadline;
  }

  void run_expired_timers() noexcept {
    if (timers_.empty()) return;
    const clock::time_point now = clock::now();
    // Timers added by the timers we run wait for the next round, so a task
    // sleeping for 0 in a loop cannot starve everything else.
    const std::uint64_t limit = next_timer_seq_;
    while (!timers_.empty()) {
      timer_item* t = timers_.front();
      if (t->deadline > now || t->seq_ >= limit) break;
      heap_remove(0);
      t->run(t);
    }
  }

  // --- indexed binary min-heap of timers, ordered by (deadline, seq) -------
  static bool earlier(const timer_item* a, const timer_item* b) noexcept {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq_ < b->seq_);
  }
  void heap_place(std::size_t i, timer_item* t) noexcept {
    timers_[i] = t;
    t->heap_index_ = i;
  }
  void sift_up(std::size_t i) noexcept {
    timer_item* t = timers_[i];
    while (i > 0) {
      const std::size_t parent = (i - 1) / 2;
      if (!earlier(t, timers_[parent])) break;
      heap_place(i, timers_[parent]);
      i = parent;
    }
    heap_place(i, t);
  }
  void sift_down(std::size_t i) noexcept {
    timer_item* t = timers_[i];
    const std::size_t n = timers_.size();
    for (;;) {
      std::size_t child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && earlier(timers_[child + 1], timers_[child])) ++child;
      if (!earlier(timers_[child], t)) break;
      heap_place(i, timers_[child]);
      i = child;
    }
    heap_place(i, t);
  }
  void heap_remove(std::size_t i) noexcept {
    timer_item* removed = timers_[i];
    timer_item* last = timers_.back();
    timers_.pop_back();
    removed->heap_index_ = timer_item::npos;
    if (removed == last) return;  // it was the last slot
    heap_place(i, last);
    if (i > 0 && earlier(last, timers_[(i - 1) / 2])) {
      sift_up(i);
    } else {
      sift_down(i);
    }
  }

  // Loop-thread state (or the spawning thread's before run(); see the file
  // comment): no synchronization.
  std::unique_ptr<backend> backend_;   ///< immutable after construction
  work_queue ready_;                   ///< local ready queue
  work_queue batch_;                   ///< the batch being run (retract searches it too)
  spawn_driver_t::promise_type* spawned_ = nullptr;  ///< unfinished spawned tasks
  std::vector<timer_item*> timers_;    ///< min-heap by (deadline, seq)
  std::uint64_t next_timer_seq_ = 0;
  std::size_t unfinished_ = 0;         ///< spawned tasks not finished yet
  bool stop_requested_ = false;        ///< stop() called during this run()
  std::exception_ptr first_error_;     ///< first exception a spawned task ended with
  detail::atomic<bool> running_{false};   ///< for debug assertions only
};

// --- awaitables --------------------------------------------------------------

/// `co_await yield()`: reschedule the awaiting coroutine at the back of the
/// current loop's ready queue. Throws std::logic_error (from await_suspend,
/// so the awaiting coroutine sees it) when no loop runs on this thread.
class yield_awaitable {
 public:
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiting) {
    Loop* loop = Loop::current();
    if (!loop) throw std::logic_error("csync::runtime::yield() awaited outside a running Loop");
    item_.handle = awaiting;
    loop_ = loop;
    loop->post(item_);  // local queue: runs in the loop's next batch
  }
  void await_resume() noexcept { loop_ = nullptr; }
  yield_awaitable() = default;
  yield_awaitable(const yield_awaitable&) = delete;
  yield_awaitable& operator=(const yield_awaitable&) = delete;
  /// The frame is destroyed while suspended: take the queued item back.
  ~yield_awaitable() {
    if (loop_) loop_->retract(item_);
  }

 private:
  ::csync::detail::resume_item item_;
  Loop* loop_ = nullptr;  ///< set while suspended
};

/// `co_await sleep_until(t)` / `co_await sleep_for(d)`: resume the awaiting
/// coroutine on the current loop once the deadline passed (always suspends,
/// even for a deadline in the past). Throws std::logic_error (from
/// await_suspend) when no loop runs on this thread.
class sleep_awaitable {
 public:
  explicit sleep_awaitable(std::chrono::steady_clock::time_point deadline) noexcept {
    timer_.deadline = deadline;
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> awaiting) {
    Loop* loop = Loop::current();
    if (!loop) throw std::logic_error("csync::runtime::sleep awaited outside a running Loop");
    timer_.handle = awaiting;
    loop->add_timer(timer_);
    loop_ = loop;
  }
  void await_resume() noexcept { loop_ = nullptr; }
  sleep_awaitable(const sleep_awaitable&) = delete;
  sleep_awaitable& operator=(const sleep_awaitable&) = delete;
  /// The frame is destroyed while suspended: the timer must not fire.
  ~sleep_awaitable() {
    if (loop_) loop_->cancel_timer(timer_);
  }

 private:
  ::csync::detail::resume_timer timer_;
  Loop* loop_ = nullptr;  ///< set while suspended
};

[[nodiscard("it does nothing until co_awaited")]]
inline yield_awaitable yield() noexcept { return {}; }

[[nodiscard("it does nothing until co_awaited")]]
inline sleep_awaitable sleep_until(std::chrono::steady_clock::time_point t) noexcept {
  return sleep_awaitable(t);
}

/// The deadline is now + `d`, saturated at steady_clock::time_point::max();
/// a zero or negative `d` behaves like a deadline in the past (the coroutine
/// still suspends and resumes on the loop's next round).
[[nodiscard("it does nothing until co_awaited")]]
inline sleep_awaitable sleep_for(std::chrono::nanoseconds d) noexcept {
  using clock = std::chrono::steady_clock;
  const clock::time_point now = clock::now();
  if (d <= std::chrono::nanoseconds::zero()) return sleep_awaitable(now);
  const auto room =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::time_point::max() - now);
  return sleep_awaitable(d >= room ? clock::time_point::max()
                                   : now + std::chrono::duration_cast<clock::duration>(d));
}

}  // namespace csync::runtime

// The io_uring backend and uring_submit need the complete Loop; included here
// so that make_uring_backend(), declared above and used by
// make_default_backend(), is defined in every translation unit that uses Loop.
// Likewise make_iocp_backend() and iocp_backend_of().
#include <csync/runtime/uring_backend.hpp>
#include <csync/runtime/iocp_backend.hpp>
