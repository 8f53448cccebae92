// csync/semaphore.hpp
// -----------------------------------------------------------------------------
// csync::Semaphore<S> -- a counting semaphore with weighted acquires, for
// blocked threads and for coroutines on csync::runtime::Loop, over any
// wakeup strategy S.
//
// Fairness (chosen per object, see `fairness`):
//   * fifo (default for queue strategies) -- direct hand-off. While anybody
//     is queued, newcomers may not take permits (try_acquire fails, acquire
//     queues behind). release() adds its permits and then serves queued
//     waiters strictly in arrival order: the head is granted its full
//     request as soon as enough permits have accumulated, and is woken
//     already holding them. A large request at the head is never starved by
//     small ones behind it (they wait behind it, as in tokio).
//   * barging -- release() adds its permits and wakes as many head waiters
//     as the released count can satisfy; woken waiters retry and may lose
//     to newcomers (higher throughput, unbounded unfairness). The only
//     policy strategies without a queue (spin, futex) support; asking such
//     a strategy for fifo throws std::invalid_argument.
//
// Where waiters resume: a thread returns from acquire() on its own thread; a
// coroutine that could not take its permits at once resumes from its own
// loop's queue -- never inside release() on the releaser's thread.
//
// Memory ordering: for threads X and Y, if X calls release() and Y's
// acquire (of any kind) obtains permits that X's release added, everything
// X did before release() happens-before everything Y does after its acquire
// returns (or its co_await resumes).
//
// Cancellation: try_acquire_for/until give up at the deadline; a coroutine's
// async_acquire(n, stop_token) gives up when stop is requested and
// async_acquire_for/until at a deadline (co_await yields false). Either way
// no permit is lost: a waiter that was granted permits while giving up keeps
// them and reports success; one that gives up first is unlinked and the next
// waiter is considered.
//
// Drop = cancel: a coroutine frame destroyed while it waits (on its loop's
// thread: its Task destroyed, its Loop destroyed) withdraws the wait in the
// awaiter's destructor; permits already granted to it are released again and
// a wake meant for it is passed on, and nothing refers to the frame
// afterwards (strategy `reclaim`, Loop::retract).
//
// Lifetime: destroy a Semaphore only after every waiter has returned or
// resumed (checked by an assertion in debug builds) -- but it may be
// destroyed by whoever takes the last permits while the releaser is still
// inside release(), as std::mutex allows: once release() has made permits
// available to another party it no longer touches the Semaphore. Its last
// access is one atomic RMW on the state word; after it, it only delivers
// the waiters it detached (their own records, their loops) and, with a
// kernel strategy, wakes an address with futex(2) / WakeByAddressAll, which
// tolerates the memory being gone. This holds for every strategy, both
// fairness policies and both waiter kinds (tests/conformance: "destroy right
// after the last use").
//
// Exceptions: a wait that throws (std::bad_alloc: a deadline's timer slot,
// mutex_queue's deque) leaves the semaphore as it was and holds nothing; a
// coroutine gets the exception from its co_await, also when it is thrown by a
// re-registration after a wake (tests/alloc_failure_test.cpp).
//
// Limits: requests and releases of more than max_permits throw
// std::invalid_argument (try_acquire returns false); a release that would
// take the count beyond max_permits throws std::overflow_error and releases
// nothing. In every build, not only with assertions.
//
// State: `word_` = permits << 3 | recheck_bit | serving_bit | queued_bit.
//   queued_bit   somebody may be registered: a release must serve the queue.
//                Set by a registering waiter inside the strategy's
//                serialization; cleared only by a server that saw the queue
//                empty (with a strategy that has no queue it stays set once
//                contention was seen, and every release bumps that
//                strategy's epoch).
//   serving_bit  one party (a releaser, or a waiter that gave up) is handing
//                out the permits in the word; nobody else may take any until
//                it clears the bit. Clearing it -- together with queued_bit
//                when the queue is empty -- is the server's last access.
//   recheck_bit  something changed while a server was at work (permits added
//                by another release, a registration, a cancellation): the
//                server must look again before it may finish.
// An uncontended acquire and release are one CAS each. A release that finds
// waiters takes serving_bit with its permits in the same CAS, serves, and
// finishes with one CAS that fails (and sends it round again) if
// recheck_bit was set meanwhile; a release that finds somebody serving adds
// its permits with recheck_bit and leaves (the server hands them out).
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>

#include <csync/detail/atomic.hpp>
#include <csync/detail/give_up.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/runtime/loop.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/default.hpp>

namespace csync {

/// How released permits reach waiters. See the header comment.
enum class fairness : unsigned char { fifo, barging };

/// fifo where the strategy has a queue, barging otherwise.
template <wakeup_strategy S>
inline constexpr fairness default_fairness = S::has_queue ? fairness::fifo : fairness::barging;

template <wakeup_strategy S>
class Mutex;
template <wakeup_strategy S>
class Condvar;

namespace detail {
[[noreturn]] inline void throw_no_loop(const char* what) {
  throw std::logic_error(std::string(what) +
                         " awaited outside a csync::runtime::Loop (Loop::current() is null)");
}
}  // namespace detail

template <wakeup_strategy S = default_strategy>
class Semaphore {
 public:
  using strategy_type = S;
  /// Largest permit count (the word keeps three bits for its flags).
  static constexpr std::size_t max_permits = (std::uint64_t{1} << 61) - 1;

  /// Throws std::invalid_argument when permits > max_permits, or for
  /// fairness::fifo on a strategy without a queue.
  explicit Semaphore(std::size_t permits, fairness policy = default_fairness<S>,
                     const typename S::options& options = {})
      : word_(checked(permits, "constructed with") << permit_shift),
        strategy_(options),
        policy_(policy) {
    if (policy == fairness::fifo && !S::has_queue) {
      throw std::invalid_argument(std::string("csync::Semaphore: strategy '") +
                                  std::string(S::name) +
                                  "' has no queue and supports only fairness::barging");
    }
  }

  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  ~Semaphore() {
    assert((word_.load(std::memory_order_relaxed) & serving_bit) == 0 &&
           "csync::Semaphore destroyed while a release is serving its waiters");
    assert((!S::has_queue || (word_.load(std::memory_order_relaxed) & queued_bit) == 0) &&
           "csync::Semaphore destroyed while waiters are queued");
  }

  /// Takes n permits if available now (and, under fifo, nobody is queued).
  /// false for n > max_permits.
  [[nodiscard("false means no permits were taken")]]
  bool try_acquire(std::size_t n = 1) noexcept {
    return n <= max_permits && try_take(n, policy_ == fairness::fifo);
  }

  /// Blocks the calling thread until n permits are taken. Throws
  /// std::invalid_argument for n > max_permits (it could never return).
  void acquire(std::size_t n = 1) {
    if (try_acquire(checked(n, "acquire of"))) return;
    acquire_slow(n, std::nullopt);
  }

  template <class Rep, class Period>
  [[nodiscard("false means no permits were taken")]]
  bool try_acquire_for(std::chrono::duration<Rep, Period> timeout, std::size_t n = 1) {
    return try_acquire_until(std::chrono::steady_clock::now() + timeout, n);
  }

  template <class Clock, class Duration>
  [[nodiscard("false means no permits were taken")]]
  bool try_acquire_until(std::chrono::time_point<Clock, Duration> deadline, std::size_t n = 1) {
    if (try_acquire(checked(n, "acquire of"))) return true;
    return acquire_slow(n, detail::to_steady(deadline));
  }

  /// Adds n permits and serves waiters according to the fairness policy.
  /// Throws std::invalid_argument for n > max_permits and
  /// std::overflow_error when the count would exceed max_permits (nothing is
  /// released then). See "Lifetime" for what it touches.
  void release(std::size_t n = 1) {
    if (n == 0) return;
    const std::uint64_t added = std::uint64_t{checked(n, "release of")} << permit_shift;
    // relaxed: a hint for the CAS below, which publishes.
    std::uint64_t cur = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (permits_of(cur) > max_permits - n) {
        throw std::overflow_error("csync::Semaphore: release would exceed max_permits");
      }
      // Every CAS here releases: it publishes the releaser's critical section
      // to whoever takes these permits (pairs with the acquire CAS in
      // try_take()/take_or_enqueue() and with serve()'s acquire RMWs).
      // @model(sem.release.fast)
      if ((cur & (queued_bit | serving_bit)) == 0) {
        // Nobody to serve: the permits are available the moment this
        // succeeds, and it is our last access.
        if (word_.compare_exchange_weak(cur, cur + added, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          return;
        }
      } else if (cur & serving_bit) {
        // @model(sem.release.combine)
        // Somebody is serving: leave the permits to it. They are not
        // available to anyone else until it finishes, so this is our last
        // access too.
        if (word_.compare_exchange_weak(cur, (cur + added) | recheck_bit,
                                        std::memory_order_release, std::memory_order_relaxed)) {
          return;
        }
      } else {
        // @model(sem.release.serve)
        // Waiters and no server: become it, our permits in the word but
        // reserved to us. acq_rel: release as above; acquire -- we are about
        // to read what registrations published before setting queued_bit.
        if (word_.compare_exchange_weak(cur, (cur + added) | serving_bit,
                                        std::memory_order_acq_rel, std::memory_order_relaxed)) {
          serve();
          return;
        }
      }
    }
  }

  /// Permits available right now (a snapshot).
  std::size_t available() const noexcept {
    return static_cast<std::size_t>(word_.load(std::memory_order_relaxed) >> permit_shift);
  }

  fairness policy() const noexcept { return policy_; }
  S& strategy() noexcept { return strategy_; }

  /// `co_await sem.async_acquire(n)` resumes, on the awaiting coroutine's own
  /// loop, holding n permits. Every async_acquire throws
  /// std::invalid_argument for n > max_permits, when called.
  [[nodiscard("nothing is acquired until the awaitable is co_awaited")]]
  auto async_acquire(std::size_t n = 1) {
    return acquire_awaiter<detail::give_up_on::never>(*this, n);
  }

  /// As above, but gives up when `stop` is requested: co_await yields true
  /// when the permits were taken, false when cancelled (holding nothing).
  [[nodiscard("nothing is acquired until the awaitable is co_awaited")]]
  auto async_acquire(std::size_t n, std::stop_token stop) {
    return acquire_awaiter<detail::give_up_on::stop>(*this, n, std::move(stop));
  }

  /// As above, but gives up at a deadline (a timer on the coroutine's loop,
  /// or the strategy's own: uring_futex links an IORING_OP_LINK_TIMEOUT).
  template <class Rep, class Period>
  [[nodiscard("nothing is acquired until the awaitable is co_awaited")]]
  auto async_acquire_for(std::chrono::duration<Rep, Period> timeout, std::size_t n = 1) {
    return async_acquire_until(std::chrono::steady_clock::now() + timeout, n);
  }

  template <class Clock, class Duration>
  [[nodiscard("nothing is acquired until the awaitable is co_awaited")]]
  auto async_acquire_until(std::chrono::time_point<Clock, Duration> deadline, std::size_t n = 1) {
    return acquire_awaiter<detail::give_up_on::deadline>(*this, n, detail::to_steady(deadline));
  }

 private:
  template <wakeup_strategy>
  friend class Mutex;
  template <wakeup_strategy>
  friend class Condvar;

  static constexpr std::uint64_t queued_bit = 1;
  static constexpr std::uint64_t serving_bit = 2;
  static constexpr std::uint64_t recheck_bit = 4;
  static constexpr unsigned permit_shift = 3;
  static_assert(std::uint64_t{max_permits} << permit_shift >> permit_shift == max_permits,
                "max_permits must fit above the flag bits");

  static std::uint64_t permits_of(std::uint64_t word) noexcept { return word >> permit_shift; }

  /// n, or std::invalid_argument naming `what` when n > max_permits.
  static std::size_t checked(std::size_t n, const char* what) {
    if (n > max_permits) {
      throw std::invalid_argument(std::string("csync::Semaphore: ") + what + " " +
                                  std::to_string(n) + " permits, more than max_permits (" +
                                  std::to_string(max_permits) + ")");
    }
    return n;
  }

  /// The flags that forbid taking permits outside the strategy: a server at
  /// work always, and under fifo anybody queued.
  static constexpr std::uint64_t blocking_flags(bool respect_queue) noexcept {
    return serving_bit | (respect_queue ? queued_bit : 0);
  }

  // @model(sem.try_take)
  bool try_take(std::size_t n, bool respect_queue) noexcept {
    // relaxed: only a successful CAS publishes anything, and it is acquire.
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (w & blocking_flags(respect_queue)) return false;
      if (permits_of(w) < n) return false;
      // acquire: pairs with the release half of release()'s fetch_add.
      if (word_.compare_exchange_weak(w, w - (std::uint64_t{n} << permit_shift),
                                      std::memory_order_acquire, std::memory_order_relaxed)) {
        return true;
      }
    }
  }

  // ---- the registration protocol, shared by every waiter kind -------------

  enum class attempt : unsigned char { acquired, enqueued, stopped };

  /// Inside the strategy's serialization: take w.wanted permits, or mark the
  /// semaphore queued and register w. A pending stop request (checked in the
  /// same serialization as cancel) registers nothing.
  attempt take_or_enqueue(detail::waiter& w, const std::stop_token* stop) {
    attempt result = attempt::enqueued;
    const bool respect_queue = policy_ == fairness::fifo;
    // @model(sem.take_or_enqueue.pred)
    strategy_.enqueue_if(w, [&] {
      if (stop && stop->stop_requested()) {
        result = attempt::stopped;
        return false;
      }
      std::uint64_t cur = word_.load(std::memory_order_relaxed);
      for (;;) {
        const bool can_take =
            !(cur & blocking_flags(respect_queue)) && permits_of(cur) >= w.wanted;
        // Registering while somebody serves: make it look again, or it could
        // finish (clear queued_bit) without seeing us.
        const std::uint64_t next = can_take ? cur - (std::uint64_t{w.wanted} << permit_shift)
                                            : cur | queued_bit | ((cur & serving_bit) ? recheck_bit : 0);
        // acq_rel: acquire -- taking permits pairs with release()'s release
        // CAS; release -- setting queued_bit or recheck_bit publishes the
        // registration (and what the strategy recorded before pred, e.g. a
        // sleeper count) to the server whose acquire RMW reads it.
        if (word_.compare_exchange_weak(cur, next, std::memory_order_acq_rel,
                                        std::memory_order_relaxed)) {
          result = can_take ? attempt::acquired : attempt::enqueued;
          return !can_take;
        }
      }
    });
    return result;
  }

  /// true when a delivery hands the waiter its permits (fifo hand-off);
  /// false when it only says "try again" (barging, eventcount strategies).
  bool delivery_grants() const noexcept { return policy_ == fairness::fifo; }

  /// A woken waiter retries; count why it failed.
  bool retry_after_wake(std::size_t n) {
    if (try_take(n, false)) return true;
    if constexpr (S::has_queue) {
      strategy_.stats().on_futile();
    } else {
      strategy_.stats().on_spurious();  // a broadcast woke every poller anyway
    }
    forward_wake();
    return false;
  }

  /// A wake we got will not be used (our retry lost, or our frame is going).
  /// It was sized for permits that may now serve a waiter behind us; nobody
  /// else will look (the release that woke us is over), so pass it on -- or
  /// that waiter sleeps beside a free permit. Eventcount strategies woke
  /// every waiter anyway.
  void forward_wake() noexcept {
    if constexpr (S::has_queue) {
      // relaxed: request_serve() re-reads with its own RMWs.
      if (permits_of(word_.load(std::memory_order_relaxed)) != 0) request_serve();
    }
  }

  /// Drop = cancel for a coroutine waiter `w` registered here whose frame is
  /// being destroyed (on its loop's thread): withdraw it; if a delivery was
  /// already on its way, take it back unrun and pass on what it carried --
  /// the granted permits (fifo) or the wake (barging).
  void abandon_wait(detail::waiter& w) noexcept {
    if (strategy_.cancel(w)) {
      after_cancel();
      return;
    }
    strategy_.reclaim(w);
    if (delivery_grants()) {
      release(w.wanted);  // cannot throw: these permits came out of the count
    } else {
      forward_wake();
    }
  }

  /// Holding serving_bit: hand out the permits in the word as the policy
  /// says, then clear the bit (and queued_bit when the queue drained) with
  /// one CAS -- our last access to *this -- and only then deliver the
  /// waiters detached meanwhile. The CAS fails while recheck_bit is set
  /// (something changed since we looked); we clear it and look again. The
  /// woken waiters cannot run before the delivery, so nobody can own what we
  /// granted, or destroy *this, while we are still here.
  // @model(sem.serve)
  [[gnu::noinline]] void serve() noexcept {
    detail::wake_list woken;
    for (;;) {
      // acquire: pairs with the release CAS that set recheck_bit (a
      // combining release's permits, a registration, a cancellation): what
      // it did is visible to the visit below.
      // @model(sem.serve.clear_recheck)
      word_.fetch_and(~recheck_bit, std::memory_order_acquire);
      bool drained = false;
      visit_queue(woken, drained);
      // @model(sem.serve.finish)
      // relaxed: the CAS below either fails or publishes.
      std::uint64_t cur = word_.load(std::memory_order_relaxed);
      bool finished = false;
      while (!(cur & recheck_bit)) {
        const std::uint64_t next = cur & ~(serving_bit | (drained ? queued_bit : 0));
        // release: the permits become available to everyone with this store
        // (pairs with the acquire CAS in try_take()/take_or_enqueue()).
        if (word_.compare_exchange_weak(cur, next, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          finished = true;
          break;
        }
      }
      if (finished) break;
    }
    S::deliver(woken);  // no access to *this from here on
  }

  /// One pass of the strategy's notify with the policy's visitor; sets
  /// `drained` when the visitor saw the queue empty (queue strategies only).
  // @model(sem.visit_queue)
  void visit_queue(detail::wake_list& woken, bool& drained) noexcept {
    if (policy_ == fairness::fifo) {
      strategy_.notify(
          [this, &drained](detail::waiter* head) {
            if (head == nullptr) {
              drained = true;
              return visit::stop;
            }
            // acquire: the permits may come from a combining release we have
            // not read yet (pairs with its release CAS); passed on to the
            // head by the delivery.
            // @model(sem.visitor.grant)
            const std::uint64_t cur = word_.load(std::memory_order_acquire);
            if (permits_of(cur) < head->wanted) return visit::stop;  // nobody overtakes the head
            // relaxed: while serving_bit is set only we take permits (others
            // only add), so the count cannot drop below what we just read.
            word_.fetch_sub(std::uint64_t{head->wanted} << permit_shift, std::memory_order_relaxed);
            return visit::wake;  // granted: the head wakes holding its permits
          },
          woken);
    } else {
      std::uint64_t promised = 0;  // permits the woken waiters may hope for
      strategy_.notify(
          [this, &drained, &promised](detail::waiter* head) {
            if (head == nullptr) {
              drained = true;
              return visit::stop;
            }
            // relaxed: only sizes the wake; the woken waiters' retries acquire.
            if (promised + head->wanted > permits_of(word_.load(std::memory_order_relaxed))) {
              return visit::stop;
            }
            promised += head->wanted;
            return visit::wake;
          },
          woken);
    }
  }

  /// Somebody must look at the queue again (a waiter left it without its
  /// permits, or a woken waiter lost its retry with permits left over): if
  /// a server is at work, make it re-check; otherwise serve ourselves.
  // @model(sem.request_serve)
  void request_serve() noexcept {
    // relaxed: a hint for the CAS below.
    std::uint64_t cur = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (!(cur & queued_bit)) return;  // nobody queued: nothing to serve
      if (cur & serving_bit) {
        // release: pairs with serve()'s acquire clear of recheck_bit (our
        // unlink happened before this).
        if (word_.compare_exchange_weak(cur, cur | recheck_bit, std::memory_order_release,
                                        std::memory_order_relaxed)) {
          return;
        }
      } else if (word_.compare_exchange_weak(cur, cur | serving_bit, std::memory_order_acquire,
                                             std::memory_order_relaxed)) {
        // acquire: as release()'s serve path.
        serve();
        return;
      }
    }
  }

  /// A waiter left the queue without its permits: whoever is now at the head
  /// may be servable (or the queue empty, and the flag must go).
  // @model(sem.after_cancel)
  void after_cancel() noexcept {
    // Eventcount strategies register nothing, so nothing can be stuck behind us.
    if constexpr (S::has_queue) request_serve();
  }

  // @model(sem.acquire_slow)
  [[gnu::noinline]] bool acquire_slow(std::size_t n, detail::deadline_t deadline) {
    if (n == 0) return true;
    detail::waiter w;
    w.wanted = n;
    for (;;) {
      if (take_or_enqueue(w, nullptr) == attempt::acquired) return true;
      if (!strategy_.wait(w, deadline)) {
        // @model(sem.acquire_slow.cancel)
        if (strategy_.cancel(w)) {  // gave up before any notify reached us
          after_cancel();
          return false;
        }
        // @model(sem.acquire_slow.in_flight)
        strategy_.wait(w, std::nullopt);  // a delivery is in flight: take it
      }
      if (delivery_grants() || retry_after_wake(n)) return true;
      if (deadline && std::chrono::steady_clock::now() >= *deadline) return false;
      w.rearm();
    }
  }

  // ---- coroutine waiters ---------------------------------------------------

  /// The awaiter lives in the awaiting coroutine's frame and owns the waiter
  /// node: no allocation per wait. `When` says when it gives up (give_up.hpp).
  template <detail::give_up_on When>
  class acquire_awaiter {
    static constexpr bool can_give_up = When != detail::give_up_on::never;
    using give_up_policy = detail::give_up<When, acquire_awaiter>;
    friend give_up_policy;

   public:
    template <class... GiveUpArgs>
    acquire_awaiter(Semaphore& sem, std::size_t n, GiveUpArgs&&... args)
        : sem_(sem), give_up_(std::forward<GiveUpArgs>(args)...) {
      waiter_.wanted = checked(n, "acquire of");
    }
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;

    /// Drop = cancel: the coroutine frame is destroyed while it waits (on
    /// its loop's thread). The wait is withdrawn; permits already granted to
    /// it, or a wake meant for it, are passed on; nothing refers to the
    /// frame afterwards.
    ~acquire_awaiter() {
      if (!suspended_) return;
      give_up_.unwatch(waiter_);  // no give_up() runs after this
      if (cancelled_) {
        waiter_.loop->retract(waiter_.item);  // give_up() withdrew us and posted our resumption
      } else {
        sem_.abandon_wait(waiter_);
      }
    }

    bool await_ready() noexcept {
      if (waiter_.wanted == 0 || sem_.try_acquire(waiter_.wanted)) {
        acquired_ = true;
        return true;
      }
      return false;
    }

    bool await_suspend(std::coroutine_handle<> handle) {
      runtime::Loop* loop = runtime::Loop::current();
      if (!loop) detail::throw_no_loop("csync::Semaphore::async_acquire");
      handle_ = handle;
      waiter_.loop = loop;
      waiter_.item.run = &on_delivered;
      waiter_.context = this;
      if (give_up_.due()) return false;  // e.g. a zero timeout: no registration at all
      suspended_ = register_or_finish();
      return suspended_;
    }

    auto await_resume() {
      give_up_.unwatch(waiter_);
      // A registration after a lost retry threw (std::bad_alloc from
      // mutex_queue's deque): the coroutine gets it, holding nothing.
      if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
      if constexpr (can_give_up) {
        return acquired_;
      } else {
        assert(acquired_);
      }
    }

   private:
    /// true: registered, stay suspended; false: finished (acquired or stopped).
    // @model(sem.awaiter.register)
    /// Throws only before anything is registered (std::bad_alloc from
    /// reserving the deadline's timer slot): then the semaphore is unchanged.
    bool register_or_finish() {
      give_up_.prepare(waiter_);  // may throw: nothing registered yet
      switch (sem_.take_or_enqueue(waiter_, give_up_.stop())) {
        case attempt::acquired: acquired_ = true; return false;
        case attempt::stopped: return false;
        case attempt::enqueued: break;
      }
      sem_.strategy_.arm(waiter_);
      give_up_.watch(*this, waiter_);  // noexcept: prepare() made room for it
      return true;
    }

    /// From the give-up policy (a stop callback on any thread, or a timer on
    /// our loop): withdraw the registration unless a delivery is on its way.
    // @model(sem.awaiter.give_up)
    void give_up() noexcept {
      if (!sem_.strategy_.cancel(waiter_)) return;  // the delivery re-checks due()
      cancelled_ = true;
      sem_.after_cancel();
      waiter_.loop->post(waiter_.item);  // resume on our own loop, not here
    }

    /// Runs on the waiter's own loop thread when its work item is posted.
    static void on_delivered(runtime::work_item* item) noexcept {
      static_cast<acquire_awaiter*>(detail::waiter_of(item).context)->step();
    }

    // @model(sem.awaiter.step)
    void step() noexcept {
      if (!cancelled_) {
        Semaphore& sem = sem_;
        if (sem.delivery_grants() || sem.retry_after_wake(waiter_.wanted)) {
          acquired_ = true;
        } else if (!give_up_.due()) {
          waiter_.rearm();
          try {
            if (register_or_finish()) return;  // still waiting
          } catch (...) {
            error_ = std::current_exception();  // nothing registered: rethrown by await_resume
          }
        }
      }
      suspended_ = false;
      handle_.resume();
    }

    Semaphore& sem_;
    detail::waiter waiter_;
    std::coroutine_handle<> handle_;
    give_up_policy give_up_;
    bool acquired_ = false;
    bool cancelled_ = false;  // written by give_up() before it posts the item
    bool suspended_ = false;  // registered (or its delivery pending): the destructor withdraws it
    std::exception_ptr error_;  // thrown by a re-registration inside step()
  };

  detail::atomic<std::uint64_t> word_;
  S strategy_;
  fairness policy_;
};

}  // namespace csync
