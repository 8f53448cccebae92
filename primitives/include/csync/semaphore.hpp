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
// async_acquire_for/until at a deadline (co_await yields false). Either way no permit is lost: a waiter that was granted
// permits while giving up keeps them and reports success; one that gives up
// first is unlinked and the next waiter is considered.
//
// Lifetime: destroy a Semaphore only after every waiter has returned or
// resumed (checked by an assertion in debug builds).
//
// State: `word_` = permits << 1 | queued_bit. queued_bit is set by a
// registering waiter inside the strategy's serialization and cleared only
// there (by the notify visitor when the queue is empty; with a strategy that
// has no queue it stays set once contention was seen, and every release
// bumps that strategy's epoch); release() adds its
// permits with one fetch_add and notifies only if the bit was set, so the
// uncontended paths are a single atomic RMW each.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cassert>
#include <chrono>
#include <coroutine>
#include <cstddef>
#include <cstdint>
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
  /// Largest permit count (the word keeps one bit for the queued flag).
  static constexpr std::size_t max_permits = (std::uint64_t{1} << 62) - 1;

  explicit Semaphore(std::size_t permits, fairness policy = default_fairness<S>,
                     const typename S::options& options = {})
      : word_(std::uint64_t{permits} << permit_shift), strategy_(options), policy_(policy) {
    if (permits > max_permits) throw std::invalid_argument("csync::Semaphore: permits > max_permits");
    if (policy == fairness::fifo && !S::has_queue) {
      throw std::invalid_argument(std::string("csync::Semaphore: strategy '") +
                                  std::string(S::name) +
                                  "' has no queue and supports only fairness::barging");
    }
  }

  Semaphore(const Semaphore&) = delete;
  Semaphore& operator=(const Semaphore&) = delete;

  ~Semaphore() {
    assert((!S::has_queue || (word_.load(std::memory_order_relaxed) & queued_bit) == 0) &&
           "csync::Semaphore destroyed while waiters are queued");
  }

  /// Takes n permits if available now (and, under fifo, nobody is queued).
  bool try_acquire(std::size_t n = 1) noexcept { return try_take(n, policy_ == fairness::fifo); }

  /// Blocks the calling thread until n permits are taken.
  void acquire(std::size_t n = 1) {
    if (try_acquire(n)) return;
    acquire_slow(n, std::nullopt);
  }

  template <class Rep, class Period>
  bool try_acquire_for(std::chrono::duration<Rep, Period> timeout, std::size_t n = 1) {
    return try_acquire_until(std::chrono::steady_clock::now() + timeout, n);
  }

  template <class Clock, class Duration>
  bool try_acquire_until(std::chrono::time_point<Clock, Duration> deadline, std::size_t n = 1) {
    if (try_acquire(n)) return true;
    return acquire_slow(n, detail::to_steady(deadline));
  }

  /// Adds n permits and serves waiters according to the fairness policy.
  void release(std::size_t n = 1) {
    if (n == 0) return;
    // acq_rel: release -- publishes the releaser's critical section to
    // whoever takes these permits (pairs with the acquire CAS in try_take()
    // and in the notify visitor); acquire -- if queued_bit is set we read the
    // registration's RMW and must see what it published before notifying.
    // @model(sem.release.fetch_add)
    const std::uint64_t old =
        word_.fetch_add(std::uint64_t{n} << permit_shift, std::memory_order_acq_rel);
    assert((old >> permit_shift) + n <= max_permits && "csync::Semaphore: permit overflow");
    // @model(sem.release.notify_if_queued)
    if (old & queued_bit) notify_waiters();
  }

  /// Permits available right now (a snapshot).
  std::size_t available() const noexcept {
    return static_cast<std::size_t>(word_.load(std::memory_order_relaxed) >> permit_shift);
  }

  fairness policy() const noexcept { return policy_; }
  S& strategy() noexcept { return strategy_; }

  /// `co_await sem.async_acquire(n)` resumes, on the awaiting coroutine's own
  /// loop, holding n permits.
  auto async_acquire(std::size_t n = 1) {
    return acquire_awaiter<detail::give_up_on::never>(*this, n);
  }

  /// As above, but gives up when `stop` is requested: co_await yields true
  /// when the permits were taken, false when cancelled (holding nothing).
  auto async_acquire(std::size_t n, std::stop_token stop) {
    return acquire_awaiter<detail::give_up_on::stop>(*this, n, std::move(stop));
  }

  /// As above, but gives up at a deadline (a timer on the coroutine's loop,
  /// or the strategy's own: uring_futex links an IORING_OP_LINK_TIMEOUT).
  template <class Rep, class Period>
  auto async_acquire_for(std::chrono::duration<Rep, Period> timeout, std::size_t n = 1) {
    return async_acquire_until(std::chrono::steady_clock::now() + timeout, n);
  }

  template <class Clock, class Duration>
  auto async_acquire_until(std::chrono::time_point<Clock, Duration> deadline, std::size_t n = 1) {
    return acquire_awaiter<detail::give_up_on::deadline>(*this, n, detail::to_steady(deadline));
  }

 private:
  template <wakeup_strategy>
  friend class Mutex;
  template <wakeup_strategy>
  friend class Condvar;

  static constexpr std::uint64_t queued_bit = 1;
  static constexpr unsigned permit_shift = 1;

  static std::uint64_t permits_of(std::uint64_t word) noexcept { return word >> permit_shift; }

  // @model(sem.try_take)
  bool try_take(std::size_t n, bool respect_queue) noexcept {
    // relaxed: only a successful CAS publishes anything, and it is acquire.
    std::uint64_t w = word_.load(std::memory_order_relaxed);
    for (;;) {
      if (respect_queue && (w & queued_bit)) return false;
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
        const bool can_take = !(respect_queue && (cur & queued_bit)) && permits_of(cur) >= w.wanted;
        const std::uint64_t next =
            can_take ? cur - (std::uint64_t{w.wanted} << permit_shift) : cur | queued_bit;
        // acq_rel: acquire -- taking permits pairs with release()'s fetch_add;
        // release -- setting queued_bit publishes the registration to the
        // releaser whose fetch_add reads it (it then notifies).
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
      // The wake we got was sized for permits a newcomer then took part of.
      // What is left may serve a smaller waiter behind us; nobody else will
      // look (the release that woke us is over), so pass the wake on before
      // we queue again -- or that waiter sleeps beside a free permit.
      if (permits_of(word_.load(std::memory_order_relaxed)) != 0) notify_waiters();
    } else {
      strategy_.stats().on_spurious();  // a broadcast woke every poller anyway
    }
    return false;
  }

  /// The notify visitor: runs inside the strategy's serialization.
  // @model(sem.notify_waiters)
  [[gnu::noinline]] void notify_waiters() {
    if (policy_ == fairness::fifo) {
      strategy_.notify([this](detail::waiter* head) {
        // @model(sem.visitor.clear_queued)
        if (head == nullptr) return clear_queued();
        std::uint64_t cur = word_.load(std::memory_order_relaxed);
        // @model(sem.visitor.grant)
        while (permits_of(cur) >= head->wanted) {
          // acquire: the head's critical section must follow the releaser's
          // (pairs with release()'s fetch_add; passed on by deliver()).
          if (word_.compare_exchange_weak(cur, cur - (std::uint64_t{head->wanted} << permit_shift),
                                          std::memory_order_acquire, std::memory_order_relaxed)) {
            return visit::wake;  // granted: the head wakes holding its permits
          }
        }
        return visit::stop;  // strict FIFO: nobody overtakes the head
      });
    } else {
      std::uint64_t promised = 0;  // permits the woken waiters may hope for
      strategy_.notify([this, &promised](detail::waiter* head) {
        if (head == nullptr) return clear_queued();
        if (promised + head->wanted > permits_of(word_.load(std::memory_order_relaxed))) {
          return visit::stop;
        }
        promised += head->wanted;
        return visit::wake;
      });
    }
  }

  visit clear_queued() noexcept {
    // relaxed: inside the strategy's serialization, which orders it against
    // every registration that could set the bit again.
    word_.fetch_and(~queued_bit, std::memory_order_relaxed);
    return visit::stop;
  }

  /// A waiter left the queue without its permits: whoever is now at the head
  /// may be servable (or the queue empty, and the flag must go).
  // @model(sem.after_cancel)
  void after_cancel() {
    // Eventcount strategies register nothing, so nothing can be stuck behind us.
    if constexpr (!S::has_queue) return;
    if (word_.load(std::memory_order_relaxed) & queued_bit) notify_waiters();
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
      waiter_.wanted = n;
    }
    acquire_awaiter(const acquire_awaiter&) = delete;
    acquire_awaiter& operator=(const acquire_awaiter&) = delete;

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
      return register_or_finish();
    }

    auto await_resume() {
      give_up_.unwatch(waiter_);
      if constexpr (can_give_up) {
        return acquired_;
      } else {
        assert(acquired_);
      }
    }

   private:
    /// true: registered, stay suspended; false: finished (acquired or stopped).
    // @model(sem.awaiter.register)
    bool register_or_finish() {
      switch (sem_.take_or_enqueue(waiter_, give_up_.stop())) {
        case attempt::acquired: acquired_ = true; return false;
        case attempt::stopped: return false;
        case attempt::enqueued: break;
      }
      give_up_.prepare(waiter_);
      sem_.strategy_.arm(waiter_);
      give_up_.watch(*this, waiter_);
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
          if (register_or_finish()) return;  // still waiting
        }
      }
      handle_.resume();
    }

    Semaphore& sem_;
    detail::waiter waiter_;
    std::coroutine_handle<> handle_;
    give_up_policy give_up_;
    bool acquired_ = false;
    bool cancelled_ = false;  // written by give_up() before it posts the item
  };

  detail::atomic<std::uint64_t> word_;
  S strategy_;
  fairness policy_;
};

}  // namespace csync
