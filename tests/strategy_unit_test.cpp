// tests/strategy_unit_test.cpp -- the wakeup-strategy concept, strategy by
// strategy, driven directly with csync::detail::waiter nodes (thread waiters).
//
// One typed suite (`Strategy`) runs every strategy this build has through the
// promises of <csync/strategies/concept.hpp>; where queue and eventcount
// strategies differ the test branches on S::has_queue, and a test that has no
// meaning without a queue skips for eventcount strategies. Plain tests cover
// behaviour one strategy promises on its own: atomic_waker's slot <-> overflow
// transitions and spin's budget / broadcast.
//
// The predicate given to enqueue_if is the hook "between registered and
// re-checked" (seed-lessons.md section 3): tests put other threads' state
// changes and notifies *inside* it to force the lost-wake interleavings
// deterministically, and race them freely in a loop with a watchdog.
//
// No sleep is used as synchronization: cross-thread hand-offs poll a flag
// with a bounded deadline. Timeouts are measured only where the timeout is
// what is tested.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <csync/detail/cpu_relax.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/strategies/atomic_waker.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/intrusive_list.hpp>
#include <csync/strategies/mutex_queue.hpp>
#include <csync/strategies/spin.hpp>
#include <csync/strategies/stats.hpp>
#include <csync/strategies/futex.hpp>
#include <csync/strategies/iocp.hpp>
#include <csync/strategies/uring_futex.hpp>

namespace {

using csync::visit;
using csync::detail::deadline_t;
using csync::detail::waiter;
using csync::detail::wake_list;

/// More waiters than tokio's WakeList holds (32): notify once delivered in
/// batches of that size, re-taking its lock in between; now it detaches all
/// in one hold, and these sizes check nothing is lost at the old boundaries.
constexpr std::size_t wake_batch = 32;

/// notify + deliver, for tests that do not care about the order of the two.
template <class S, class Visitor>
std::size_t notify_now(S& s, Visitor&& visitor) {
  wake_list woken;
  const std::size_t n = s.notify(visitor, woken);
  S::deliver(woken);
  return n;
}
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

#if defined(__SANITIZE_THREAD__)
constexpr bool under_tsan = true;
#else
constexpr bool under_tsan = false;
#endif

/// Bound on every cross-thread wait that should finish promptly: a test that
/// hits it has found a lost wake-up or a deadlock, not a slow machine.
constexpr auto hang_limit = std::chrono::seconds(under_tsan ? 60 : 10);

deadline_t in(steady::duration d) { return steady::now() + d; }
deadline_t past() { return steady::now() - std::chrono::seconds(1); }

/// Spins (then yields) until `done()` or `hang_limit`; returns done().
template <class Done>
bool poll_until(Done done) {
  const auto limit = steady::now() + hang_limit;
  for (unsigned i = 0; !done(); ++i) {
    if (steady::now() >= limit) return done();
    if (i < 64) {
      csync::detail::cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }
  return true;
}

/// Waits until `done(value)` for an atomic another thread stores and then
/// notifies: spins briefly, then sleeps in std::atomic::wait, so a hand-off
/// stays fast on an oversubscribed machine. Unbounded: callers run under a
/// watchdog. Windows: yields instead of std::atomic::wait, whose libstdc++ 12
/// notify skips the waiter pool's lock where there is no futex (mingw-w64)
/// and loses wake-ups (observed under Wine).
template <class T, class Done>
T await_value(const std::atomic<T>& a, Done done) {
  T cur = a.load(std::memory_order_acquire);
  for (int i = 0; i < 512 && !done(cur); ++i) {
    csync::detail::cpu_relax();
    cur = a.load(std::memory_order_acquire);
  }
  while (!done(cur)) {
#if defined(_WIN32)
    std::this_thread::yield();
#else
    a.wait(cur, std::memory_order_acquire);
#endif
    cur = a.load(std::memory_order_acquire);
  }
  return cur;
}

/// Aborts the process (printing `what` and the current iteration) if it is
/// not destroyed within `limit`: a stuck race loop must fail, never hang.
class watchdog {
 public:
  watchdog(std::string what, std::chrono::seconds limit, const std::atomic<long>& iteration)
      : what_(std::move(what)), iteration_(iteration), thread_([this, limit] {
          std::unique_lock lock(mutex_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "watchdog: %s hung at iteration %ld; aborting\n", what_.c_str(),
                         iteration_.load());
            std::fflush(stderr);
            std::abort();
          }
        }) {}
  watchdog(const watchdog&) = delete;
  watchdog& operator=(const watchdog&) = delete;
  ~watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_one();
    thread_.join();
  }

 private:
  std::string what_;
  const std::atomic<long>& iteration_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;  // last: starts after the members above exist
};

/// Tiny deterministic PRNG (xorshift32) for delays and choices.
struct xorshift {
  std::uint32_t s;
  std::uint32_t next() {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
  }
};

// --- visitors and predicates ---------------------------------------------------

/// Records every head it is shown (nullptr included) and wakes up to
/// `wake_limit` of them; the decision reads only the recorder's own count of
/// waiters it chose to wake, so it is correct across notify's batches.
struct recorder {
  std::size_t wake_limit = std::numeric_limits<std::size_t>::max();
  std::size_t woken = 0;
  std::vector<waiter*> seen;

  visit operator()(waiter* head) {
    seen.push_back(head);
    if (head == nullptr || woken == wake_limit) return visit::stop;
    ++woken;
    return visit::wake;
  }
};

/// A recorder that wakes at most `limit` heads.
recorder waking(std::size_t limit) {
  recorder r;
  r.wake_limit = limit;
  return r;
}

/// A visitor an eventcount strategy must never call.
struct never_called {
  int* calls = nullptr;
  visit operator()(waiter*) {
    if (calls) ++*calls;
    ADD_FAILURE() << "an eventcount strategy called the notify visitor";
    return visit::stop;
  }
};

/// `ws` as pointers, in order, followed by nullptr (what a full drain sees).
std::vector<waiter*> then_null(std::vector<waiter*> ws) {
  ws.push_back(nullptr);
  return ws;
}

template <class S>
bool register_always(S& s, waiter& w) {
  return s.enqueue_if(w, [] { return true; });
}

/// Wakes every queued waiter; returns what it saw.
template <class S>
std::vector<waiter*> drain(S& s, std::size_t* delivered = nullptr) {
  recorder r;
  const std::size_t n = notify_now(s, r);
  if (delivered) *delivered = n;
  return r.seen;
}

bool is_notified(const waiter& w) {
  return w.state.load(std::memory_order_acquire) == csync::detail::notified;
}

/// For a waiter that must already have been delivered: queue strategies
/// check `state` first and only then call the untimed wait (which must
/// return at once), so a missing delivery fails instead of hanging;
/// eventcount strategies wait with a bound.
template <class S>
bool wait_delivered(S& s, waiter& w) {
  if constexpr (S::has_queue) {
    if (!is_notified(w)) return false;
    return s.wait(w, std::nullopt);
  } else {
    return s.wait(w, in(hang_limit));
  }
}

// --- the strategies under test ---------------------------------------------------

/// `with_stats_t<S, Stats>`: strategy S (a `basic_<name><no_stats>`) with
/// another statistics hook.
template <class S, class Stats>
struct with_stats;
template <template <csync::stats_hook> class Basic, class Old, class Stats>
struct with_stats<Basic<Old>, Stats> {
  using type = Basic<Stats>;
};
template <class S, class Stats>
using with_stats_t = typename with_stats<S, Stats>::type;

/// The typed suite: TypeParam is the strategy (`strategy::<name>`). It is
/// instantiated once per strategy this build has, at the end of the file.
template <class T>
class Strategy : public ::testing::Test {
 protected:
  using S = T;

  void SetUp() override {
    const csync::availability a = S::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }

  S s_{typename S::options{}};
};

TYPED_TEST_SUITE_P(Strategy);

#define SKIP_WITHOUT_QUEUE()                                                          \
  do {                                                                                \
    if constexpr (!S::has_queue) {                                                    \
      GTEST_SKIP() << S::name << " is an eventcount strategy: nothing is queued";     \
    }                                                                                 \
  } while (0)

// --- the concept ---------------------------------------------------------------------

TYPED_TEST_P(Strategy, SatisfiesTheConcept) {
  using S = typename TestFixture::S;
  using Counting = with_stats_t<typename TestFixture::S, csync::counting_stats>;
  static_assert(csync::wakeup_strategy<S>);
  static_assert(csync::wakeup_strategy<Counting>);
  static_assert(S::has_queue == Counting::has_queue);
  EXPECT_FALSE(std::string_view(S::name).empty());
  EXPECT_EQ(S::name, Counting::name);
  EXPECT_TRUE(S::availability().available);
  EXPECT_TRUE(S::availability().reason.empty()) << S::availability().reason;
}

// --- enqueue_if --------------------------------------------------------------------

TYPED_TEST_P(Strategy, EnqueueIfReturnsPredResultAndCallsItOnce) {
  using S = typename TestFixture::S;
  S& s = this->s_;

  waiter rejected;
  int calls = 0;
  EXPECT_FALSE(s.enqueue_if(rejected, [&] {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);

  waiter w;
  calls = 0;
  EXPECT_TRUE(s.enqueue_if(w, [&] {
    ++calls;
    return true;
  }));
  EXPECT_EQ(calls, 1);

  if constexpr (S::has_queue) {
    // Registered iff pred() was true: only w is queued.
    std::size_t n = 0;
    EXPECT_EQ(drain(s, &n), then_null({&w}));
    EXPECT_EQ(n, 1u);
    EXPECT_TRUE(is_notified(w));
    EXPECT_FALSE(is_notified(rejected));
  } else {
    // Registered: no epoch change yet, so wait times out; a notify releases it.
    EXPECT_FALSE(s.wait(w, past()));
    int calls_v = 0;
    EXPECT_EQ(notify_now(s, never_called{&calls_v}), 0u);
    EXPECT_TRUE(s.wait(w, past()));
    EXPECT_TRUE(s.cancel(w));
  }
}

TYPED_TEST_P(Strategy, EnqueueIfFalseRegistersNothing) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  std::vector<waiter> ws(5);
  for (waiter& w : ws) EXPECT_FALSE(s.enqueue_if(w, [] { return false; }));
  EXPECT_EQ(drain(s), then_null({}));
  // Also with waiters already queued (atomic_waker: slot and overflow states).
  waiter a, b, c;
  ASSERT_TRUE(register_always(s, a));
  EXPECT_FALSE(s.enqueue_if(ws[0], [] { return false; }));
  ASSERT_TRUE(register_always(s, b));
  EXPECT_FALSE(s.enqueue_if(ws[1], [] { return false; }));
  ASSERT_TRUE(register_always(s, c));
  EXPECT_EQ(drain(s), then_null({&a, &b, &c}));
}

// --- notify ----------------------------------------------------------------------------

TYPED_TEST_P(Strategy, NotifyOnEmptyRegistry) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  if constexpr (S::has_queue) {
    recorder r;
    EXPECT_EQ(notify_now(s, r), 0u);
    EXPECT_EQ(r.seen, then_null({})) << "the visitor must see nullptr on an empty queue";
  } else {
    int calls = 0;
    EXPECT_EQ(notify_now(s, never_called{&calls}), 0u);
    EXPECT_EQ(calls, 0) << "eventcount strategies never call the visitor";
  }
}

TYPED_TEST_P(Strategy, NotifyWakesRegisteredWaitersInOrder) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  waiter a, b, c;
  for (waiter* w : {&a, &b, &c}) ASSERT_TRUE(register_always(s, *w));

  if constexpr (S::has_queue) {
    recorder r;
    EXPECT_EQ(notify_now(s, r), 3u);
    EXPECT_EQ(r.seen, then_null({&a, &b, &c})) << "FIFO heads, then nullptr after the last";
  } else {
    int calls = 0;
    EXPECT_EQ(notify_now(s, never_called{&calls}), 0u);
    EXPECT_EQ(calls, 0);
  }
  for (waiter* w : {&a, &b, &c}) {
    if constexpr (S::has_queue) {
      EXPECT_TRUE(is_notified(*w));
    }
    const auto t0 = steady::now();
    EXPECT_TRUE(wait_delivered(s, *w));  // returns at once: delivered / epoch moved
    EXPECT_TRUE(s.wait(*w, past())) << "a delivered waiter stays delivered";
    EXPECT_LT(steady::now() - t0, hang_limit);
  }
  if constexpr (!S::has_queue) {
    for (waiter* w : {&a, &b, &c}) EXPECT_TRUE(s.cancel(*w));
  }
}

TYPED_TEST_P(Strategy, StopLeavesHeadQueued) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  waiter a, b;
  ASSERT_TRUE(register_always(s, a));

  recorder stop_at_once = waking(0);
  EXPECT_EQ(notify_now(s, stop_at_once), 0u);
  EXPECT_EQ(stop_at_once.seen, std::vector<waiter*>{&a}) << "stop ends the visit at the head";
  EXPECT_FALSE(is_notified(a));
  EXPECT_FALSE(s.wait(a, past())) << "queue strategies never return true spuriously";

  ASSERT_TRUE(register_always(s, b));
  recorder one = waking(1);
  EXPECT_EQ(notify_now(s, one), 1u);
  EXPECT_EQ(one.seen, (std::vector<waiter*>{&a, &b}));
  EXPECT_TRUE(is_notified(a));
  EXPECT_FALSE(is_notified(b));
  EXPECT_TRUE(wait_delivered(s, a));
  EXPECT_FALSE(s.wait(b, past())) << "b was not delivered; a's delivery must not wake it";

  std::size_t n = 0;
  EXPECT_EQ(drain(s, &n), then_null({&b}));
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(wait_delivered(s, b));
}

TYPED_TEST_P(Strategy, OneNotifyDeliversMoreThanAWakeBatch) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  constexpr std::size_t n = 3 * wake_batch + 5;
  std::vector<waiter> ws(n);
  std::vector<waiter*> order;
  for (waiter& w : ws) {
    ASSERT_TRUE(register_always(s, w));
    order.push_back(&w);
  }
  recorder r;
  EXPECT_EQ(notify_now(s, r), n);
  EXPECT_EQ(r.seen, then_null(order));
  for (waiter& w : ws) {
    EXPECT_TRUE(is_notified(w));
    EXPECT_TRUE(wait_delivered(s, w));
  }
  EXPECT_EQ(drain(s), then_null({}));
}

TYPED_TEST_P(Strategy, VisitorStoppingAfterKLeavesRestQueuedInOrder) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  constexpr std::size_t n = 3 * wake_batch + 5;
  for (std::size_t k : {std::size_t{1}, wake_batch - 1, wake_batch, wake_batch + 7, 2 * wake_batch}) {
    SCOPED_TRACE("k = " + std::to_string(k));
    std::vector<waiter> ws(n);
    std::vector<waiter*> order;
    for (waiter& w : ws) {
      ASSERT_TRUE(register_always(s, w));
      order.push_back(&w);
    }
    recorder r = waking(k);
    EXPECT_EQ(notify_now(s, r), k);
    std::vector<waiter*> expected(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k + 1));
    EXPECT_EQ(r.seen, expected) << "k wakes, then the (k+1)-th head is shown and stays";
    for (std::size_t i = 0; i < n; ++i) {
      EXPECT_EQ(is_notified(ws[i]), i < k) << "waiter " << i;
    }
    std::size_t rest = 0;
    EXPECT_EQ(drain(s, &rest),
              then_null({order.begin() + static_cast<std::ptrdiff_t>(k), order.end()}));
    EXPECT_EQ(rest, n - k);
  }
}

// --- cancel -----------------------------------------------------------------------------

TYPED_TEST_P(Strategy, CancelRegisteredWaiter) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  waiter w;
  ASSERT_TRUE(register_always(s, w));
  EXPECT_TRUE(s.cancel(w));
  if constexpr (S::has_queue) {
    EXPECT_EQ(drain(s), then_null({})) << "a cancelled waiter is never visited";
    EXPECT_FALSE(is_notified(w));
  }
  // The node can register again after a successful cancel.
  w.rearm();
  ASSERT_TRUE(register_always(s, w));
  if constexpr (S::has_queue) {
    EXPECT_EQ(drain(s), then_null({&w}));
  } else {
    int calls = 0;
    notify_now(s, never_called{&calls});
  }
  EXPECT_TRUE(wait_delivered(s, w));
}

TYPED_TEST_P(Strategy, CancelAfterNotifyReturnsFalse) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  // Single waiter (atomic_waker: the slot) and two (the overflow queue).
  for (int queued : {1, 2}) {
    SCOPED_TRACE("waiters queued: " + std::to_string(queued));
    waiter a, b;
    ASSERT_TRUE(register_always(s, a));
    if (queued == 2) {
      ASSERT_TRUE(register_always(s, b));
    }
    recorder one = waking(1);
    EXPECT_EQ(notify_now(s, one), 1u);
    EXPECT_FALSE(s.cancel(a)) << "a notify detached a: its delivery is in flight";
    EXPECT_TRUE(wait_delivered(s, a));
    if (queued == 2) {
      EXPECT_TRUE(s.cancel(b));
      EXPECT_FALSE(is_notified(b));
    }
    EXPECT_EQ(drain(s), then_null({}));
  }
}

TYPED_TEST_P(Strategy, CancelAtAnyPositionKeepsOthersInOrder) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  for (std::size_t victim = 0; victim < 3; ++victim) {
    SCOPED_TRACE("cancelled position " + std::to_string(victim));
    waiter ws[3];
    for (waiter& w : ws) ASSERT_TRUE(register_always(s, w));
    EXPECT_TRUE(s.cancel(ws[victim]));
    std::vector<waiter*> rest;
    for (std::size_t i = 0; i < 3; ++i) {
      if (i != victim) rest.push_back(&ws[i]);
    }
    EXPECT_EQ(drain(s), then_null(rest));
    EXPECT_FALSE(is_notified(ws[victim]));
  }
}

// --- wait ---------------------------------------------------------------------------------

TYPED_TEST_P(Strategy, WaitWithPastDeadlineReturnsFalse) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  waiter w;
  ASSERT_TRUE(register_always(s, w));
  EXPECT_FALSE(s.wait(w, past()));
  EXPECT_FALSE(s.wait(w, steady::now()));
  EXPECT_FALSE(is_notified(w));
  EXPECT_TRUE(s.cancel(w)) << "after a timeout w is still registered";
  if constexpr (S::has_queue) {
    EXPECT_EQ(drain(s), then_null({}));
  }
}

TYPED_TEST_P(Strategy, WaitTimesOutWhenNobodyNotifies) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  waiter w;
  ASSERT_TRUE(register_always(s, w));
  const auto t0 = steady::now();
  EXPECT_FALSE(s.wait(w, t0 + milliseconds(20)));
  const auto elapsed = steady::now() - t0;
  EXPECT_GE(elapsed, milliseconds(19));
  EXPECT_LT(elapsed, hang_limit);
  EXPECT_TRUE(s.cancel(w));
}

TYPED_TEST_P(Strategy, WaitReturnsTrueOnNotifyFromAnotherThread) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    waiter w;
    ASSERT_TRUE(register_always(s, w));
    std::atomic<bool> waiting{false};
    std::size_t delivered = 0;
    recorder r;
    std::thread notifier([&] {
      poll_until([&] { return waiting.load(std::memory_order_acquire); });
      // Not synchronization (w is registered already): in round > 0 give the
      // waiter time to really fall asleep so the futex path is exercised.
      if (round > 0) std::this_thread::sleep_for(milliseconds(2));
      delivered = notify_now(s, r);
    });
    waiting.store(true, std::memory_order_release);
    const deadline_t deadline = in(hang_limit);
    const bool woke = s.wait(w, deadline);
    // An eventcount wait also returns true when it wakes at its deadline and
    // then sees the moved epoch: only the clock tells a lost wake from a kept one.
    EXPECT_LT(steady::now(), *deadline) << "the wake was lost: the wait slept to its deadline";
    notifier.join();
    EXPECT_TRUE(woke);
    if constexpr (S::has_queue) {
      EXPECT_EQ(delivered, 1u);
      EXPECT_EQ(r.seen, then_null({&w}));
      EXPECT_TRUE(is_notified(w));
    }
    // (A wait that returned true ended the registration: no cancel, by the
    // concept; a second cancel here once hid a lost wake in this very test.)
  }
}

TYPED_TEST_P(Strategy, DeliveredWaiterCanRegisterAgain) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  waiter w;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(register_always(s, w)) << i;
    std::size_t n = 0;
    if constexpr (S::has_queue) {
      EXPECT_EQ(drain(s, &n), then_null({&w})) << i;
      EXPECT_EQ(n, 1u);
    } else {
      int calls = 0;
      notify_now(s, never_called{&calls});
    }
    ASSERT_TRUE(wait_delivered(s, w)) << i;  // ends the registration (no cancel)
    w.rearm();
  }
}

// --- the lost-wake guarantee --------------------------------------------------------------

// seed-lessons section 3, forced deterministically: the waiter's re-check
// (pred) reads "still blocked", and *while pred runs* another thread makes the
// condition true and notifies. Queue strategies run pred inside the
// serialization notify visits under, so that notify cannot complete before
// pred returns and must then find w. Eventcount strategies read the ticket
// before pred, so the notify (complete before pred returns) must make wait
// return true.
TYPED_TEST_P(Strategy, NotifyDuringPredIsNotLost) {
  using S = typename TestFixture::S;
  S& s = this->s_;
  std::atomic<bool> condition{false};
  std::atomic<bool> go{false}, calling_notify{false}, notify_returned{false};
  std::size_t delivered = 0;
  recorder r;
  std::thread notifier([&] {
    if (!poll_until([&] { return go.load(std::memory_order_acquire); })) return;
    condition.store(true, std::memory_order_seq_cst);
    calling_notify.store(true, std::memory_order_release);
    delivered = notify_now(s, r);
    notify_returned.store(true, std::memory_order_release);
  });

  waiter w;
  bool notify_finished_inside_pred = false;
  bool handshake_ok = true;
  const bool registered = s.enqueue_if(w, [&] {
    const bool blocked = !condition.load(std::memory_order_seq_cst);  // the re-check: still blocked
    go.store(true, std::memory_order_release);
    if constexpr (S::has_queue) {
      handshake_ok = poll_until([&] { return calling_notify.load(std::memory_order_acquire); });
      // The notify has started; give it ample chance to (wrongly) finish.
      for (int i = 0; i < 2000 && !notify_finished_inside_pred; ++i) {
        std::this_thread::yield();
        notify_finished_inside_pred = notify_returned.load(std::memory_order_acquire);
      }
    } else {
      handshake_ok = poll_until([&] { return notify_returned.load(std::memory_order_acquire); });
    }
    return blocked;
  });
  EXPECT_TRUE(registered) << "enqueue_if must return pred()'s value";
  const bool woke = registered && s.wait(w, in(hang_limit));
  if (registered && !woke) {
    EXPECT_TRUE(s.cancel(w));
  }
  notifier.join();

  EXPECT_TRUE(handshake_ok);
  EXPECT_TRUE(woke) << "lost wake-up: a notify issued while pred ran did not reach w";
  if constexpr (S::has_queue) {
    EXPECT_FALSE(notify_finished_inside_pred)
        << "notify completed while pred ran: pred is not inside the strategy's serialization";
    EXPECT_EQ(delivered, 1u);
    EXPECT_EQ(r.seen, then_null({&w}));
  }
}

// The same race left to the scheduler. Protocol (the Semaphore's): the waiter's
// pred sets `waiting` with an acq_rel RMW and is blocked unless `ready` was
// set; the notifier sets `ready` with an acq_rel RMW and notifies only if it
// saw `waiting`. Whichever RMW comes second sees the first, so: either pred
// sees ready (not registered) or the notifier notifies and w must wake.
//
// `bystanders` waiters are registered ahead of w in every iteration (and
// woken with it), so that w registers into a non-empty registry -- for
// atomic_waker: 0 = the empty slot, 1 = promotion out of the slot, 2 = the
// overflow queue.
//
// Each iteration is one hand-off each way between the two threads; on an
// oversubscribed machine that can cost a scheduler round trip, so the loop
// stops after `time_budget` once `min_iterations` have run.
//
// Why no "iteration finished" hand-off from the notifier is needed: the
// waiter leaves iteration i only after the notifier's RMW of iteration i
// (it either saw `ready` or was woken by the notify), and a notify's visitor
// is finished before it delivers anything, so it cannot see iteration i+1.
template <class S>
void race_registration_against_notify(S& s, int bystanders, long iterations) {
  constexpr long min_iterations = 1000;
  constexpr auto time_budget = milliseconds(under_tsan ? 5000 : 1500);
  constexpr std::uint32_t waiting_bit = 1, ready_bit = 2;
  constexpr long stop_round = std::numeric_limits<long>::max();
  std::atomic<std::uint32_t> state{0};
  std::atomic<long> round{-1}, iteration{0};
  std::atomic<long> first_head_null{0}, delivered{0}, notifies{0};
  // Who starts late, and by how many pauses: > 0 the waiter, < 0 the
  // notifier. It adapts so that both outcomes stay frequent: a registration
  // (the waiter won) delays the waiter more, a miss delays the notifier
  // more, which keeps the two RMWs close together -- the tightest race.
  // Written by the waiter before it publishes the round; read after.
  std::atomic<std::int32_t> bias{0};
  auto adapt_bias = [&bias](std::int32_t direction) {
    const std::int32_t b = bias.load(std::memory_order_relaxed);
    const std::int32_t step = (b < 0 ? -b : b) / 8 + 1;
    bias.store(std::clamp(b + direction * step, -65536, 65536), std::memory_order_relaxed);
  };
  auto pause = [](std::int32_t n) {
    for (; n > 0; --n) csync::detail::cpu_relax();
  };

  watchdog dog(std::string(S::name) + " lost-wake race, " + std::to_string(bystanders) +
                   " bystanders",
               std::chrono::seconds(under_tsan ? 170 : 60), iteration);

  std::thread notifier([&] {
    xorshift rng{0x9e3779b9u};
    for (long i = 0; i < iterations; ++i) {
      if (await_value(round, [i](long r) { return r == i || r == stop_round; }) == stop_round) return;
      pause(std::max(-bias.load(std::memory_order_relaxed), 0) + rng.next() % 16);
      const std::uint32_t old = state.fetch_or(ready_bit, std::memory_order_acq_rel);
      if (old & waiting_bit) {
        notifies.fetch_add(1, std::memory_order_relaxed);
        bool first = true;
        const std::size_t n = notify_now(s, [&](waiter* head) {
          // nullptr after detaching the last is expected; as the *first*
          // head it means the notify missed the registration.
          if (first && head == nullptr) first_head_null.fetch_add(1, std::memory_order_relaxed);
          first = false;
          return head == nullptr ? visit::stop : visit::wake;
        });
        delivered.fetch_add(static_cast<long>(n), std::memory_order_relaxed);
      }
    }
  });

  xorshift rng{0x12345678u};
  waiter w;
  std::vector<waiter> others(static_cast<std::size_t>(bystanders));
  long registrations = 0;
  long lost_at = -1;
  long done = 0;
  const auto give_up = steady::now() + time_budget;
  for (long i = 0; i < iterations && (i < min_iterations || steady::now() < give_up); ++i, ++done) {
    iteration.store(i, std::memory_order_relaxed);
    state.store(0, std::memory_order_relaxed);
    w.rearm();
    for (waiter& b : others) {
      b.rearm();
      if (!register_always(s, b)) ADD_FAILURE() << "bystander not registered";
    }
    round.store(i, std::memory_order_release);  // publishes the reset
    round.notify_one();
    pause(std::max(bias.load(std::memory_order_relaxed), 0) + rng.next() % 16);
    const bool registered = s.enqueue_if(w, [&] {
      const std::uint32_t old = state.fetch_or(waiting_bit, std::memory_order_acq_rel);
      return (old & ready_bit) == 0;
    });
    if (registered) {
      adapt_bias(+1);
      ++registrations;
      if (!s.wait(w, in(hang_limit))) {
        lost_at = i;
        std::fprintf(stderr, "%s: lost wake-up at iteration %ld (%d bystanders)\n",
                     std::string(S::name).c_str(), i, bystanders);
        if constexpr (S::has_queue) {
          if (!s.cancel(w)) s.wait(w, in(hang_limit));
        }
      } else if (S::has_queue && !is_notified(w)) {
        ADD_FAILURE() << "wait returned true but w is not notified, iteration " << i;
      }
    } else {
      adapt_bias(-1);
    }
    // Bystanders: woken with w by a notify, still registered otherwise.
    for (waiter& b : others) {
      if (registered) {
        if (!s.wait(b, in(hang_limit))) {
          ADD_FAILURE() << "bystander not woken, iteration " << i;
          if (!s.cancel(b)) s.wait(b, in(hang_limit));
        }
      } else if (!s.cancel(b)) {
        ADD_FAILURE() << "bystander delivered without a notify, iteration " << i;
        s.wait(b, in(hang_limit));
      }
    }
    if (lost_at >= 0) break;
  }
  round.store(stop_round, std::memory_order_release);
  round.notify_one();
  notifier.join();

  EXPECT_EQ(lost_at, -1) << "the waiter was registered but never woken";
  EXPECT_EQ(notifies.load(), registrations) << "notify is issued iff the waiter registered";
  if constexpr (S::has_queue) {
    EXPECT_EQ(delivered.load(), registrations * (1 + bystanders));
    EXPECT_EQ(first_head_null.load(), 0) << "a notify that saw `waiting` found the queue empty";
    EXPECT_EQ(drain(s), then_null({}));
  }
  // Coverage, not correctness: both outcomes should be frequent. A starved
  // notifier thread (a loaded machine) can skew this, so it is reported, not
  // asserted.
  std::printf("[ stats    ] %d bystanders: %ld of %ld iterations registered%s\n", bystanders,
              registrations, done,
              registrations == 0 || registrations == done ? " -- RACE NOT EXERCISED" : "");
}

TYPED_TEST_P(Strategy, RacingStateChangeAndNotifyNeverLoseTheWaiter) {
  using S = typename TestFixture::S;
  for (int bystanders : {0, 1, 2}) {
    SCOPED_TRACE(std::to_string(bystanders) + " bystanders");
    race_registration_against_notify(this->s_, bystanders, bystanders == 0 ? 20000 : 10000);
    if (this->HasFailure()) return;
    if constexpr (!S::has_queue) return;  // bystanders change nothing without a queue
  }
}

// --- concurrent register / cancel / notify ------------------------------------------------

// Three owner threads register, sometimes sleep with a short deadline, and
// cancel; a fourth thread notifies continuously with a visitor that sometimes
// stops early. Every registration must end exactly once: delivered (visited
// with `wake` by exactly one notify, and the owner's wait then returns true)
// or cancelled (cancel true, and never visited afterwards).
TYPED_TEST_P(Strategy, RegisterCancelNotifyHammer) {
  using S = typename TestFixture::S;
  SKIP_WITHOUT_QUEUE();
  S& s = this->s_;
  constexpr int owners = 3;
  constexpr long per_owner = under_tsan ? 10000 : 20000;

  struct record {
    std::atomic<int> in_registry{0};  // 1 between a true pred and its one ending
    waiter w;
  };
  std::atomic<long> registered{0}, rejected{0}, cancelled{0}, delivered_seen{0};
  std::atomic<long> visited_wakes{0}, notify_total{0}, violations{0};
  std::atomic<int> owners_done{0};
  std::atomic<long> progress{0};
  watchdog dog(std::string(S::name) + " hammer", std::chrono::seconds(under_tsan ? 170 : 60),
               progress);

  auto owner = [&](std::uint32_t seed) {
    xorshift rng{seed};
    record rec;
    rec.w.context = &rec;
    for (long i = 0; i < per_owner; ++i) {
      progress.fetch_add(1, std::memory_order_relaxed);
      rec.w.rearm();
      const bool accept = rng.next() % 8 != 0;
      const bool ok = s.enqueue_if(rec.w, [&] {
        if (!accept) return false;
        if (rec.in_registry.exchange(1, std::memory_order_relaxed) != 0) {
          violations.fetch_add(1, std::memory_order_relaxed);
        }
        return true;
      });
      if (!ok) {
        rejected.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      registered.fetch_add(1, std::memory_order_relaxed);
      bool delivered = false;
      switch (rng.next() % 3) {
        case 0: break;  // cancel at once
        case 1: delivered = s.wait(rec.w, past()); break;
        case 2: delivered = s.wait(rec.w, in(std::chrono::microseconds(rng.next() % 100))); break;
      }
      if (!delivered) {
        if (s.cancel(rec.w)) {
          if (rec.in_registry.exchange(0, std::memory_order_relaxed) != 1) {
            violations.fetch_add(1, std::memory_order_relaxed);
          }
          if (is_notified(rec.w)) violations.fetch_add(1, std::memory_order_relaxed);
          cancelled.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        // A notify detached us: its delivery must arrive.
        if (!s.wait(rec.w, in(hang_limit))) {
          // The strategy may still reference rec.w: nothing safe is left to do.
          std::fprintf(stderr, "%s hammer: cancel returned false but no delivery arrived\n",
                       std::string(S::name).c_str());
          std::fflush(stderr);
          std::abort();
        }
      }
      if (!is_notified(rec.w)) violations.fetch_add(1, std::memory_order_relaxed);
      delivered_seen.fetch_add(1, std::memory_order_relaxed);
    }
    owners_done.fetch_add(1, std::memory_order_release);
  };

  std::thread notifier([&] {
    xorshift rng{0xdeadbeefu};
    while (owners_done.load(std::memory_order_acquire) < owners) {
      std::size_t budget = rng.next() % 4;  // 0..3 wakes, then stop (0: just look)
      const std::size_t n = notify_now(s, [&](waiter* head) {
        if (head == nullptr || budget == 0) return visit::stop;
        --budget;
        auto* rec = static_cast<record*>(head->context);
        if (rec->in_registry.exchange(0, std::memory_order_relaxed) != 1) {
          violations.fetch_add(1, std::memory_order_relaxed);
        }
        visited_wakes.fetch_add(1, std::memory_order_relaxed);
        return visit::wake;
      });
      notify_total.fetch_add(static_cast<long>(n), std::memory_order_relaxed);
      if (rng.next() % 4 == 0) std::this_thread::yield();
    }
  });

  std::vector<std::thread> threads;
  for (int t = 0; t < owners; ++t) threads.emplace_back(owner, 0x1000u + static_cast<std::uint32_t>(t));
  for (std::thread& t : threads) t.join();
  notifier.join();

  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(registered.load(), cancelled.load() + delivered_seen.load())
      << "every registration ends exactly once";
  EXPECT_EQ(visited_wakes.load(), delivered_seen.load());
  EXPECT_EQ(notify_total.load(), delivered_seen.load()) << "notify returns the number delivered";
  EXPECT_GT(rejected.load(), 0);
  EXPECT_GT(cancelled.load(), 0);
  EXPECT_GT(delivered_seen.load(), 0);
  EXPECT_EQ(drain(s), then_null({}));
  std::printf("[ stats    ] registered %ld (cancelled %ld, delivered %ld), rejected %ld\n",
              registered.load(), cancelled.load(), delivered_seen.load(), rejected.load());
}

// --- statistics ---------------------------------------------------------------------------

TYPED_TEST_P(Strategy, CountingStatsCountWakes) {
  using Counting = with_stats_t<typename TestFixture::S, csync::counting_stats>;
  Counting s{typename Counting::options{}};
  EXPECT_EQ(s.stats().read().wakes, 0u);
  if constexpr (Counting::has_queue) {
    constexpr std::size_t n = wake_batch + 8;
    std::vector<waiter> ws(n);
    for (waiter& w : ws) ASSERT_TRUE(register_always(s, w));
    std::uint64_t expected = 0;
    recorder two = waking(2);
    expected += notify_now(s, two);
    EXPECT_EQ(expected, 2u);
    EXPECT_EQ(s.stats().read().wakes, expected);
    recorder none_woken = waking(0);
    expected += notify_now(s, none_woken);
    EXPECT_EQ(s.stats().read().wakes, expected);
    std::size_t rest = 0;
    drain(s, &rest);
    expected += rest;
    EXPECT_EQ(expected, n);
    EXPECT_EQ(s.stats().read().wakes, expected) << "one wake per delivered waiter";
    drain(s);
    EXPECT_EQ(s.stats().read().wakes, expected) << "an empty notify delivers nothing";
  } else {
    int calls = 0;
    for (int i = 0; i < 3; ++i) notify_now(s, never_called{&calls});
    EXPECT_EQ(s.stats().read().wakes, 3u) << "one wake per epoch bump";
  }
  EXPECT_EQ(s.stats().read().spurious, 0u);
  EXPECT_EQ(s.stats().read().futile, 0u);
}

REGISTER_TYPED_TEST_SUITE_P(Strategy,
                            SatisfiesTheConcept,
                            EnqueueIfReturnsPredResultAndCallsItOnce,
                            EnqueueIfFalseRegistersNothing,
                            NotifyOnEmptyRegistry,
                            NotifyWakesRegisteredWaitersInOrder,
                            StopLeavesHeadQueued,
                            OneNotifyDeliversMoreThanAWakeBatch,
                            VisitorStoppingAfterKLeavesRestQueuedInOrder,
                            CancelRegisteredWaiter,
                            CancelAfterNotifyReturnsFalse,
                            CancelAtAnyPositionKeepsOthersInOrder,
                            WaitWithPastDeadlineReturnsFalse,
                            WaitTimesOutWhenNobodyNotifies,
                            WaitReturnsTrueOnNotifyFromAnotherThread,
                            DeliveredWaiterCanRegisterAgain,
                            NotifyDuringPredIsNotLost,
                            RacingStateChangeAndNotifyNeverLoseTheWaiter,
                            RegisterCancelNotifyHammer,
                            CountingStatsCountWakes);

// One instantiation per strategy, named after it: gtest names the suites
// "<Name>/Strategy/0", ctest "strategy_unit_test.<Name>.<test><type>".
#if CSYNC_HAVE_MUTEX_QUEUE
INSTANTIATE_TYPED_TEST_SUITE_P(MutexQueue, Strategy, csync::strategy::mutex_queue);
#endif
#if CSYNC_HAVE_SPIN
INSTANTIATE_TYPED_TEST_SUITE_P(Spin, Strategy, csync::strategy::spin);
#endif
#if CSYNC_HAVE_ATOMIC_WAKER
INSTANTIATE_TYPED_TEST_SUITE_P(AtomicWaker, Strategy, csync::strategy::atomic_waker);
#endif
#if CSYNC_HAVE_INTRUSIVE_LIST
INSTANTIATE_TYPED_TEST_SUITE_P(IntrusiveList, Strategy, csync::strategy::intrusive_list);
#endif
#if CSYNC_HAVE_FUTEX
INSTANTIATE_TYPED_TEST_SUITE_P(Futex, Strategy, csync::strategy::futex);
#endif
#if CSYNC_HAVE_URING_FUTEX
INSTANTIATE_TYPED_TEST_SUITE_P(UringFutex, Strategy, csync::strategy::uring_futex);
#endif
#if CSYNC_HAVE_IOCP
INSTANTIATE_TYPED_TEST_SUITE_P(Iocp, Strategy, csync::strategy::iocp);
#endif

// --- the concept rejects a type missing an expression -------------------------------------

template <bool WithCancel>
struct fake_strategy {
  static constexpr std::string_view name = "fake";
  static constexpr bool has_queue = true;
  struct options {};
  fake_strategy() = default;
  explicit fake_strategy(const options&) {}
  static csync::availability availability() noexcept { return {}; }
  template <class Pred>
  bool enqueue_if(waiter&, Pred&&);
  template <class Visitor>
  std::size_t notify(Visitor&&, wake_list&);
  static void deliver(wake_list&) noexcept;
  bool cancel(waiter&) requires WithCancel;
  bool wait(waiter&, deadline_t);
  void arm(waiter&);
  void reclaim(waiter&) noexcept;
  csync::no_stats& stats();
};

static_assert(csync::wakeup_strategy<fake_strategy<true>>, "the control must satisfy the concept");
static_assert(!csync::wakeup_strategy<fake_strategy<false>>, "no cancel: not a strategy");

#if CSYNC_HAVE_MUTEX_QUEUE
static_assert(csync::wakeup_strategy<csync::strategy::mutex_queue>);
#endif
#if CSYNC_HAVE_SPIN
static_assert(csync::wakeup_strategy<csync::strategy::spin>);
#endif
#if CSYNC_HAVE_ATOMIC_WAKER
static_assert(csync::wakeup_strategy<csync::strategy::atomic_waker>);
#endif
#if CSYNC_HAVE_INTRUSIVE_LIST
static_assert(csync::wakeup_strategy<csync::strategy::intrusive_list>);
#endif
#if CSYNC_HAVE_FUTEX
static_assert(csync::wakeup_strategy<csync::strategy::futex>);
#endif
#if CSYNC_HAVE_URING_FUTEX
static_assert(csync::wakeup_strategy<csync::strategy::uring_futex>);
#endif
// Compiled everywhere (unavailable off Windows): it must satisfy the concept everywhere.
static_assert(csync::wakeup_strategy<csync::strategy::iocp>);

TEST(Concept, MissingCancelIsNotAStrategy) {
  // The checks are the static_asserts above; this test names them in the list.
  EXPECT_TRUE(csync::wakeup_strategy<fake_strategy<true>>);
  EXPECT_FALSE(csync::wakeup_strategy<fake_strategy<false>>);
}

// --- atomic_waker: slot <-> overflow transitions ------------------------------------------

#if CSYNC_HAVE_ATOMIC_WAKER

class AtomicWaker : public ::testing::Test {
 protected:
  void SetUp() override {
    const csync::availability a = csync::strategy::atomic_waker::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
  csync::strategy::atomic_waker s_;
};

TEST_F(AtomicWaker, SingleWaiterStaysInTheSlot) {
  waiter a;
  ASSERT_TRUE(register_always(s_, a));
  for (int i = 0; i < 3; ++i) {  // visiting with stop leaves it there, unchanged
    recorder stop = waking(0);
    EXPECT_EQ(notify_now(s_, stop), 0u);
    EXPECT_EQ(stop.seen, std::vector<waiter*>{&a});
  }
  EXPECT_FALSE(s_.wait(a, past()));
  std::size_t n = 0;
  EXPECT_EQ(drain(s_, &n), then_null({&a})) << "the slot's head, then nullptr once detached";
  EXPECT_EQ(n, 1u);
  EXPECT_TRUE(wait_delivered(s_, a));
  EXPECT_FALSE(s_.cancel(a));
  EXPECT_EQ(drain(s_), then_null({}));
}

TEST_F(AtomicWaker, SecondRegistrationPromotesBothInFifoOrder) {
  waiter a, b, c;
  ASSERT_TRUE(register_always(s_, a));
  recorder stop = waking(0);
  notify_now(s_, stop);  // the slot was visited; a is still the head
  ASSERT_TRUE(register_always(s_, b));
  recorder peek = waking(0);
  EXPECT_EQ(notify_now(s_, peek), 0u);
  EXPECT_EQ(peek.seen, std::vector<waiter*>{&a}) << "the first registered is the head after promotion";
  ASSERT_TRUE(register_always(s_, c));
  EXPECT_EQ(drain(s_), then_null({&a, &b, &c}));
  for (waiter* w : {&a, &b, &c}) EXPECT_TRUE(wait_delivered(s_, *w));
}

TEST_F(AtomicWaker, RejectedSecondRegistrationKeepsTheSingleWaiter) {
  waiter a, b;
  ASSERT_TRUE(register_always(s_, a));
  int calls = 0;
  EXPECT_FALSE(s_.enqueue_if(b, [&] {
    ++calls;
    return false;
  }));
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(s_.cancel(a)) << "a is still in the slot";
  EXPECT_EQ(drain(s_), then_null({}));
}

TEST_F(AtomicWaker, CancelOfAPromotedWaiterRemovesOnlyIt) {
  {  // cancel the older one: the newer one must stay (no slot theft)
    waiter a, b;
    ASSERT_TRUE(register_always(s_, a));
    ASSERT_TRUE(register_always(s_, b));
    EXPECT_TRUE(s_.cancel(a));
    EXPECT_EQ(drain(s_), then_null({&b}));
    EXPECT_TRUE(wait_delivered(s_, b));
    EXPECT_FALSE(is_notified(a));
  }
  {  // cancel the newer one
    waiter a, b;
    ASSERT_TRUE(register_always(s_, a));
    ASSERT_TRUE(register_always(s_, b));
    EXPECT_TRUE(s_.cancel(b));
    EXPECT_EQ(drain(s_), then_null({&a}));
    EXPECT_FALSE(is_notified(b));
  }
  {  // the promoted a was delivered: its cancel says so, b's cancel still works
    waiter a, b;
    ASSERT_TRUE(register_always(s_, a));
    ASSERT_TRUE(register_always(s_, b));
    recorder one = waking(1);
    EXPECT_EQ(notify_now(s_, one), 1u);
    EXPECT_FALSE(s_.cancel(a));
    EXPECT_TRUE(wait_delivered(s_, a));
    EXPECT_TRUE(s_.cancel(b));
    EXPECT_EQ(drain(s_), then_null({}));
  }
}

TEST_F(AtomicWaker, LateCancelDoesNotStealTheSlot) {
  // seed-lessons 4(b): a waiter whose registration already ended must not
  // take the slot from the waiter that holds it now.
  {  // a was delivered from the slot; b holds the slot now
    waiter a, b;
    ASSERT_TRUE(register_always(s_, a));
    EXPECT_EQ(drain(s_), then_null({&a}));
    ASSERT_TRUE(register_always(s_, b));
    EXPECT_FALSE(s_.cancel(a)) << "a's delivery already happened";
    EXPECT_TRUE(wait_delivered(s_, a));
    EXPECT_EQ(drain(s_), then_null({&b})) << "b must still be registered";
  }
  {  // a and b were promoted and delivered; c holds the slot now
    waiter a, b, c;
    ASSERT_TRUE(register_always(s_, a));
    ASSERT_TRUE(register_always(s_, b));
    EXPECT_EQ(drain(s_), then_null({&a, &b}));
    ASSERT_TRUE(register_always(s_, c));
    EXPECT_FALSE(s_.cancel(a));
    EXPECT_FALSE(s_.cancel(b));
    EXPECT_EQ(drain(s_), then_null({&c}));
  }
  {  // a was delivered out of the overflow queue; b and c are still queued
    waiter a, b, c;
    for (waiter* w : {&a, &b, &c}) ASSERT_TRUE(register_always(s_, *w));
    recorder one = waking(1);
    EXPECT_EQ(notify_now(s_, one), 1u);
    EXPECT_FALSE(s_.cancel(a));
    EXPECT_EQ(drain(s_), then_null({&b, &c}));
  }
}

TEST_F(AtomicWaker, EmptiedOverflowQueueStillWorks) {
  // Cancel everything out of the overflow queue: the next waiter must be
  // found, and the registry must come back to the single-waiter slot.
  waiter a, b, c, d;
  ASSERT_TRUE(register_always(s_, a));
  ASSERT_TRUE(register_always(s_, b));
  EXPECT_TRUE(s_.cancel(a));
  EXPECT_TRUE(s_.cancel(b));
  ASSERT_TRUE(register_always(s_, c));
  recorder peek = waking(0);
  notify_now(s_, peek);
  EXPECT_EQ(peek.seen, std::vector<waiter*>{&c});
  EXPECT_TRUE(s_.cancel(c));
  EXPECT_EQ(drain(s_), then_null({}));  // drains the (empty) queue back to the slot
  ASSERT_TRUE(register_always(s_, d));
  EXPECT_TRUE(s_.cancel(d));
  EXPECT_EQ(drain(s_), then_null({}));
}

TEST_F(AtomicWaker, QueueDrainsBackToTheSlotRepeatedly) {
  for (int cycle = 0; cycle < 50; ++cycle) {
    SCOPED_TRACE("cycle " + std::to_string(cycle));
    // Overflow, drained by one notify.
    waiter q[3];
    for (waiter& w : q) ASSERT_TRUE(register_always(s_, w));
    EXPECT_EQ(drain(s_), then_null({&q[0], &q[1], &q[2]}));
    // A single waiter again: visit-stop leaves it, cancel takes it back.
    waiter d;
    ASSERT_TRUE(register_always(s_, d));
    recorder stop = waking(0);
    notify_now(s_, stop);
    EXPECT_EQ(stop.seen, std::vector<waiter*>{&d});
    EXPECT_TRUE(s_.cancel(d));
    EXPECT_EQ(drain(s_), then_null({}));
    // A single waiter delivered from the slot.
    waiter e;
    ASSERT_TRUE(register_always(s_, e));
    EXPECT_EQ(drain(s_), then_null({&e}));
    EXPECT_FALSE(s_.cancel(e));
  }
}

#endif  // CSYNC_HAVE_ATOMIC_WAKER

// --- spin: budget and broadcast -----------------------------------------------------------

#if CSYNC_HAVE_SPIN

class Spin : public ::testing::Test {
 protected:
  void SetUp() override {
    const csync::availability a = csync::strategy::spin::availability();
    if (!a.available) GTEST_SKIP() << "unavailable: " << a.reason;
  }
};

TEST_F(Spin, ZeroBudgetStillWaitsAndWakes) {
  using csync::strategy::spin;
  EXPECT_GT(spin::options{}.spin_budget, 0u);
  spin s{spin::options{.spin_budget = 0}};
  EXPECT_EQ(s.tuning().spin_budget, 0u);

  waiter w;
  ASSERT_TRUE(register_always(s, w));
  EXPECT_FALSE(s.wait(w, past())) << "budget 0: the deadline is checked on the first poll";
  const auto t0 = steady::now();
  EXPECT_FALSE(s.wait(w, t0 + milliseconds(20)));
  EXPECT_GE(steady::now() - t0, milliseconds(19));

  std::atomic<bool> waiting{false};
  std::thread notifier([&] {
    poll_until([&] { return waiting.load(std::memory_order_acquire); });
    notify_now(s, never_called{nullptr});
  });
  waiting.store(true, std::memory_order_release);
  EXPECT_TRUE(s.wait(w, in(hang_limit)));  // yields between polls until the bump
  notifier.join();
  EXPECT_TRUE(s.cancel(w));
}

TEST_F(Spin, LargeBudgetReturnsOnAnEarlierNotify) {
  using csync::strategy::spin;
  spin s{spin::options{.spin_budget = 1u << 20}};
  waiter w;
  ASSERT_TRUE(register_always(s, w));
  notify_now(s, never_called{nullptr});
  EXPECT_TRUE(s.wait(w, past())) << "the first poll already sees the moved epoch";
  EXPECT_TRUE(s.cancel(w));
}

TEST_F(Spin, NotifyWakesEveryPoller) {
  using csync::strategy::spin;
  spin s;
  constexpr int pollers = 3;
  std::atomic<int> registered{0};
  std::atomic<int> woke{0};
  std::atomic<int> cancelled{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < pollers; ++t) {
    threads.emplace_back([&] {
      waiter w;
      if (!register_always(s, w)) return;
      registered.fetch_add(1, std::memory_order_release);
      if (s.wait(w, in(hang_limit))) woke.fetch_add(1);
      if (s.cancel(w)) cancelled.fetch_add(1);
    });
  }
  EXPECT_TRUE(poll_until([&] { return registered.load(std::memory_order_acquire) == pollers; }));
  int calls = 0;
  EXPECT_EQ(notify_now(s, never_called{&calls}), 0u);  // one bump for all of them
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(woke.load(), pollers) << "a spin notify is a broadcast";
  EXPECT_EQ(cancelled.load(), pollers) << "a thread's cancel always succeeds";
}

TEST_F(Spin, ThreadCancelReturnsTrue) {
  using csync::strategy::spin;
  spin s;
  waiter w;
  ASSERT_TRUE(register_always(s, w));
  EXPECT_TRUE(s.cancel(w));
  w.rearm();
  ASSERT_TRUE(register_always(s, w));
  notify_now(s, never_called{nullptr});
  EXPECT_TRUE(s.cancel(w)) << "nothing is registered, so nothing can have been detached";
}

#endif  // CSYNC_HAVE_SPIN

}  // namespace
