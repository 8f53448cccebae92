// tests/runtime_test.cpp -- csync::Task and csync::runtime::Loop.
//
// Covers: Task value / void / reference / move-only / exception propagation;
// symmetric transfer (100000 synchronously completing co_awaits, in a loop and
// as a 100000-deep recursion, in constant stack); spawn / run / rethrow;
// yield FIFO interleaving; timers (ordering, duration, cancellation); remote
// posts from 4 threads while the loop sleeps; several loops on several
// threads, including cross-loop delivery; Loop::current(); replaceable
// backends; work_queue.
//
// Every Loop here is default-constructed, so the suite runs on the default
// backend: io_uring on Linux where the kernel allows it. CTest runs it a
// second time with CSYNC_LOOP_BACKEND=portable (runtime_test.portable.*);
// tests/uring_backend_test.cpp covers what is specific to io_uring.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <csync/runtime.hpp>

namespace {

using csync::Task;
using csync::runtime::Loop;
using csync::runtime::work_item;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

// --- helpers -----------------------------------------------------------------

/// An eager, self-destroying coroutine: drives a Task to completion on the
/// calling thread without a Loop (only valid for tasks that never suspend
/// for real).
struct Eager {
  struct promise_type {
    Eager get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
};

Eager drive_sync(Task<> task, bool& done, std::exception_ptr& error) {
  try {
    co_await std::move(task);
  } catch (...) {
    error = std::current_exception();
  }
  done = true;
}

/// Runs `task` synchronously; fails the test if it did not complete.
void run_sync(Task<> task) {
  bool done = false;
  std::exception_ptr error;
  drive_sync(std::move(task), done, error);
  ASSERT_TRUE(done) << "task suspended without a loop";
  if (error) std::rethrow_exception(error);
}

/// One-shot event for coroutine waiters, delivered through the waiter's own
/// loop (the delivery pattern csync primitives use): single waiter.
class Event {
 public:
  class awaiter {
   public:
    explicit awaiter(Event& e) : event_(e) {}
    bool await_ready() {
      std::lock_guard<std::mutex> lock(event_.mutex_);
      return std::exchange(event_.set_, false);
    }
    bool await_suspend(std::coroutine_handle<> h) {
      std::lock_guard<std::mutex> lock(event_.mutex_);
      if (std::exchange(event_.set_, false)) return false;  // set meanwhile: don't suspend
      item_.handle = h;
      event_.loop_ = Loop::current();
      event_.waiter_ = &item_;
      return true;
    }
    void await_resume() const noexcept {}

   private:
    Event& event_;
    csync::detail::resume_item item_;
  };

  awaiter wait() { return awaiter(*this); }

  void notify() {
    Loop* loop = nullptr;
    work_item* waiter = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiter = std::exchange(waiter_, nullptr);
      loop = loop_;
      if (!waiter) set_ = true;
    }
    if (waiter) loop->post(*waiter);  // delivered after unlocking; never inline
  }

 private:
  std::mutex mutex_;
  bool set_ = false;
  Loop* loop_ = nullptr;
  work_item* waiter_ = nullptr;
};

/// Suspends the awaiting coroutine, storing its handle (resumed by the test).
struct Park {
  std::coroutine_handle<>* slot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
  void await_resume() const noexcept {}
};

// --- Task --------------------------------------------------------------------

Task<int> answer() { co_return 42; }
Task<> nothing(int& touched) {
  ++touched;
  co_return;
}
Task<int> thrower() {
  throw std::runtime_error("task failed");
  co_return 0;
}
Task<std::unique_ptr<int>> boxed(int v) { co_return std::make_unique<int>(v); }
Task<int&> ref_to(int& x) { co_return x; }

TEST(Task, PropagatesValue) {
  int got = 0;
  run_sync([](int& out) -> Task<> { out = co_await answer(); }(got));
  EXPECT_EQ(got, 42);
}

TEST(Task, PropagatesVoid) {
  int touched = 0;
  run_sync([](int& t) -> Task<> {
    co_await nothing(t);
    co_await nothing(t);
  }(touched));
  EXPECT_EQ(touched, 2);
}

TEST(Task, PropagatesMoveOnlyAndReference) {
  int value = 0;
  int target = 1;
  run_sync([](int& v, int& t) -> Task<> {
    std::unique_ptr<int> p = co_await boxed(7);
    v = *p;
    int& r = co_await ref_to(t);
    r = 9;
  }(value, target));
  EXPECT_EQ(value, 7);
  EXPECT_EQ(target, 9);
}

TEST(Task, RethrowsException) {
  std::string message;
  run_sync([](std::string& m) -> Task<> {
    try {
      (void)co_await thrower();
    } catch (const std::runtime_error& e) {
      m = e.what();
    }
  }(message));
  EXPECT_EQ(message, "task failed");
  EXPECT_THROW(run_sync([]() -> Task<> { (void)co_await thrower(); }()), std::runtime_error);
}

TEST(Task, LazyMoveOnlyAndAwaitableAsLvalue) {
  int touched = 0;
  Task<> t = nothing(touched);
  EXPECT_EQ(touched, 0) << "a Task must not start before it is awaited";
  EXPECT_TRUE(t.valid());
  Task<> moved = std::move(t);
  EXPECT_FALSE(t.valid());  // NOLINT(bugprone-use-after-move): documented state
  Task<> other = nothing(touched);
  other = std::move(moved);  // destroys other's unstarted frame (ASan checks leaks)
  run_sync([](Task<> inner) -> Task<> { co_await inner; }(std::move(other)));
  EXPECT_EQ(touched, 1);
  { Task<int> never = answer(); }  // destroyed unstarted: frame freed
}

// Symmetric transfer: each level starts its child as a tail call and the child
// returns to it as a tail call, so 100000 levels use constant stack.
Task<int> chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await chain(depth - 1);
}

TEST(Task, DeepRecursiveChainDoesNotGrowStack) {
  int got = -1;
  run_sync([](int& out) -> Task<> { out = co_await chain(100000); }(got));
  EXPECT_EQ(got, 100000);
}

TEST(Task, ManySynchronousAwaitsDoNotGrowStack) {
  long sum = 0;
  run_sync([](long& s) -> Task<> {
    for (int i = 0; i < 100000; ++i) s += co_await answer();
  }(sum));
  EXPECT_EQ(sum, 42L * 100000);
}

// --- Loop basics -------------------------------------------------------------

TEST(Loop, CurrentIsNullOutsideRun) {
  EXPECT_EQ(Loop::current(), nullptr);
  Loop loop;
  Loop* seen = nullptr;
  loop.spawn([](Loop*& s) -> Task<> {
    s = Loop::current();
    co_return;
  }(seen));
  EXPECT_EQ(Loop::current(), nullptr);
  loop.run();
  EXPECT_EQ(seen, &loop);
  EXPECT_EQ(Loop::current(), nullptr);
  std::thread([] { EXPECT_EQ(Loop::current(), nullptr); }).join();
}

/// The backend a default Loop must pick here (see make_default_backend()).
std::string expected_default_backend() {
  if (const char* env = std::getenv("CSYNC_LOOP_BACKEND"); env && *env) return env;
#if CSYNC_HAVE_URING_BACKEND
  if (csync::runtime::probe_uring().ring_ok) return "io_uring";
#endif
#if CSYNC_HAVE_IOCP_BACKEND
  if (csync::runtime::probe_iocp().port_ok) return "iocp";
#endif
  return "portable";
}

TEST(Loop, BackendNameAndRunWithoutTasks) {
  Loop loop;
  EXPECT_EQ(loop.backend_name(), expected_default_backend());
  RecordProperty("backend", std::string(loop.backend_name()));
  std::printf("default loop backend: %s\n", std::string(loop.backend_name()).c_str());
  loop.run();  // nothing spawned: returns at once
  EXPECT_THROW(Loop(std::unique_ptr<csync::runtime::backend>{}), std::invalid_argument);
}

TEST(Loop, AwaitablesThrowOutsideALoop) {
  EXPECT_THROW(run_sync([]() -> Task<> { co_await csync::runtime::yield(); }()),
               std::logic_error);
  EXPECT_THROW(run_sync([]() -> Task<> { co_await csync::runtime::sleep_for(milliseconds(1)); }()),
               std::logic_error);
}

TEST(Loop, TaskResultsOnALoop) {
  Loop loop;
  int value = 0;
  std::string message;
  loop.spawn([](int& v, std::string& m) -> Task<> {
    v = co_await answer();
    co_await csync::runtime::yield();
    try {
      (void)co_await thrower();
    } catch (const std::exception& e) {
      m = e.what();
    }
  }(value, message));
  loop.run();
  EXPECT_EQ(value, 42);
  EXPECT_EQ(message, "task failed");
}

TEST(Loop, SpawnManyRunReturnsAfterAll) {
  constexpr int kTasks = 10000;
  Loop loop;
  int finished = 0;  // loop thread only
  auto worker = [](int& f) -> Task<> {
    co_await csync::runtime::yield();
    ++f;
  };
  for (int i = 0; i < kTasks / 2; ++i) loop.spawn(worker(finished));
  // The other half is spawned from inside the loop.
  loop.spawn([](Loop& l, int& f, decltype(worker)& w) -> Task<> {
    for (int i = 0; i < kTasks / 2; ++i) l.spawn(w(f));
    co_return;
  }(loop, finished, worker));
  loop.run();
  EXPECT_EQ(finished, kTasks);
}

TEST(Loop, YieldInterleavesInFifoOrder) {
  Loop loop;
  std::string log;
  auto task = [](std::string& l, char name) -> Task<> {
    for (int i = 0; i < 3; ++i) {
      l += name;
      l += static_cast<char>('0' + i);
      l += ' ';
      co_await csync::runtime::yield();
    }
  };
  loop.spawn(task(log, 'a'));
  loop.spawn(task(log, 'b'));
  loop.run();
  EXPECT_EQ(log, "a0 b0 a1 b1 a2 b2 ");
}

TEST(Loop, PostFromLoopThreadIsNeverInline) {
  Loop loop;
  struct Item : work_item {
    int* counter;
  };
  int counter = 0;
  bool ran_inline = true;
  Item item;
  item.counter = &counter;
  item.run = [](work_item* self) noexcept { ++*static_cast<Item*>(self)->counter; };
  loop.spawn([](Loop& l, Item& it, int& c, bool& inl) -> Task<> {
    l.post(it);
    inl = (c != 0);
    co_await csync::runtime::yield();  // the item was queued before us
    EXPECT_EQ(c, 1);
  }(loop, item, counter, ran_inline));
  loop.run();
  EXPECT_FALSE(ran_inline);
  EXPECT_EQ(counter, 1);
}

TEST(Loop, RunRethrowsFirstExceptionAfterAllTasksFinished) {
  Loop loop;
  bool survivor_done = false;
  bool second_thrown = false;
  loop.spawn([]() -> Task<> {
    co_await csync::runtime::yield();
    throw std::runtime_error("first");
  }());
  loop.spawn([](bool& thrown) -> Task<> {
    for (int i = 0; i < 3; ++i) co_await csync::runtime::yield();
    thrown = true;
    throw std::logic_error("second");
  }(second_thrown));
  loop.spawn([](bool& done) -> Task<> {
    co_await csync::runtime::sleep_for(milliseconds(5));
    done = true;
  }(survivor_done));
  try {
    loop.run();
    ADD_FAILURE() << "run() did not rethrow";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "first");
  }
  EXPECT_TRUE(survivor_done);
  EXPECT_TRUE(second_thrown);
  // The loop is reusable and the error was consumed.
  bool again = false;
  loop.spawn([](bool& a) -> Task<> {
    a = true;
    co_return;
  }(again));
  EXPECT_NO_THROW(loop.run());
  EXPECT_TRUE(again);
}

TEST(Loop, NestedRunOnTheSameThread) {
  // A task of `outer` runs another loop to completion inline. Hand-overs
  // inside the inner loop must not be deferred to the outer task's
  // trampoline (which cannot run meanwhile).
  Loop outer;
  int sum = 0;
  bool current_restored = false;
  outer.spawn([](int& s, bool& restored) -> Task<> {
    Loop* const self = Loop::current();
    s += co_await answer();
    {
      Loop inner;
      inner.spawn([](int& acc) -> Task<> {
        for (int i = 0; i < 100; ++i) {
          acc += co_await answer();
          co_await csync::runtime::yield();
        }
      }(s));
      inner.run();
    }
    restored = (Loop::current() == self);
    co_await csync::runtime::yield();
    s += co_await answer();
  }(sum, current_restored));
  outer.run();
  EXPECT_EQ(sum, 42 * 102);
  EXPECT_TRUE(current_restored);
}

// --- timers ------------------------------------------------------------------

TEST(Loop, SleepForOrdersTimers) {
  Loop loop;
  std::vector<int> order;
  auto sleeper = [](std::vector<int>& o, int ms) -> Task<> {
    co_await csync::runtime::sleep_for(milliseconds(ms));
    o.push_back(ms);
  };
  for (int ms : {30, 10, 0, 20, 10}) loop.spawn(sleeper(order, ms));
  loop.run();
  EXPECT_EQ(order, (std::vector<int>{0, 10, 10, 20, 30}));
}

TEST(Loop, SleepLastsAtLeastItsDuration) {
  Loop loop;
  steady::duration slept{};
  loop.spawn([](steady::duration& d) -> Task<> {
    const auto start = steady::now();
    co_await csync::runtime::sleep_for(milliseconds(20));
    d = steady::now() - start;
  }(slept));
  loop.run();
  EXPECT_GE(slept, milliseconds(20));
  EXPECT_LT(slept, milliseconds(900));

  steady::time_point woke{};
  const auto deadline = steady::now() + milliseconds(5);
  loop.spawn([](steady::time_point t, steady::time_point& w) -> Task<> {
    co_await csync::runtime::sleep_until(t);
    w = steady::now();
  }(deadline, woke));
  loop.run();
  EXPECT_GE(woke, deadline);
}

TEST(Loop, TimersCanBeCancelled) {
  Loop loop;
  struct Counted : csync::runtime::timer_item {
    int* fired;
  };
  int fired = 0;
  Counted a, b;
  for (Counted* t : {&a, &b}) {
    t->fired = &fired;
    t->run = [](work_item* self) noexcept { ++*static_cast<Counted*>(self)->fired; };
    t->deadline = steady::now() + milliseconds(1);
  }
  loop.spawn([](Loop& l, Counted& x, Counted& y) -> Task<> {
    l.add_timer(x);
    l.add_timer(y);
    EXPECT_TRUE(x.scheduled());
    EXPECT_TRUE(l.cancel_timer(y));
    EXPECT_FALSE(l.cancel_timer(y));
    co_await csync::runtime::sleep_for(milliseconds(5));  // x fired before us
    EXPECT_FALSE(x.scheduled());
    EXPECT_FALSE(l.cancel_timer(x));
  }(loop, a, b));
  loop.run();
  EXPECT_EQ(fired, 1);
}

TEST(Loop, ManyTimersFireInDeadlineOrder) {
  Loop loop;
  std::vector<int> order;
  auto sleeper = [](std::vector<int>& o, int key, steady::time_point t) -> Task<> {
    co_await csync::runtime::sleep_until(t);
    o.push_back(key);
  };
  const auto base = steady::now() + milliseconds(2);
  // Keys spread over 0..199 in a scrambled order; deadline grows with key.
  for (int i = 0; i < 200; ++i) {
    const int key = (i * 73) % 200;
    loop.spawn(sleeper(order, key, base + std::chrono::microseconds(key * 20)));
  }
  loop.run();
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
}

// --- cross-thread delivery ---------------------------------------------------

TEST(Loop, RemotePostsFromFourThreadsWhileLoopSleeps) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2000;
  constexpr int kTotal = kThreads * kPerThread;

  struct Shared {
    std::thread::id loop_thread;
    int done = 0;  // loop thread only
    bool wrong_thread = false;
    std::coroutine_handle<> waiter;
  };
  struct Item : work_item {
    Shared* shared = nullptr;
    int runs = 0;  // loop thread only (TSan checks)
  };
  Shared shared;
  std::vector<Item> items(kTotal);
  for (Item& it : items) {
    it.shared = &shared;
    it.run = [](work_item* self) noexcept {
      Item& me = *static_cast<Item*>(self);
      ++me.runs;
      if (std::this_thread::get_id() != me.shared->loop_thread) me.shared->wrong_thread = true;
      if (++me.shared->done == kTotal) me.shared->waiter.resume();  // on the loop thread
    };
  }

  Loop loop;
  std::atomic<bool> go{false};
  loop.spawn([](Shared& s, std::atomic<bool>& g) -> Task<> {
    s.loop_thread = std::this_thread::get_id();
    g.store(true);  // seq_cst: the posters start after the loop thread id is known
    co_await Park{&s.waiter};  // the loop now sleeps in the backend
  }(shared, go));

  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        if (i % 500 == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
        loop.post(items[t * kPerThread + i]);
      }
    });
  }
  loop.run();
  for (std::thread& p : posters) p.join();

  EXPECT_EQ(shared.done, kTotal);
  EXPECT_FALSE(shared.wrong_thread);
  for (const Item& it : items) ASSERT_EQ(it.runs, 1);
}

TEST(Loop, SeveralLoopsOnSeveralThreads) {
  constexpr int kLoops = 4;
  constexpr int kTasks = 50;
  std::atomic<int> mismatches{0};
  std::vector<int> finished(kLoops, 0);
  std::vector<std::thread> threads;
  for (int l = 0; l < kLoops; ++l) {
    threads.emplace_back([&, l] {
      Loop loop;
      const auto me = std::this_thread::get_id();
      for (int t = 0; t < kTasks; ++t) {
        loop.spawn([](Loop& lp, std::thread::id id, std::atomic<int>& bad, int& done,
                      int n) -> Task<> {
          for (int i = 0; i < 5; ++i) {
            if (n % 2 == 0) {
              co_await csync::runtime::yield();
            } else {
              co_await csync::runtime::sleep_for(std::chrono::microseconds(100));
            }
            if (Loop::current() != &lp || std::this_thread::get_id() != id) ++bad;
          }
          ++done;
        }(loop, me, mismatches, finished[l], t));
      }
      loop.run();
      EXPECT_EQ(Loop::current(), nullptr);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  for (int f : finished) EXPECT_EQ(f, kTasks);
}

TEST(Loop, CrossLoopPingPongResumesOnOwnLoop) {
  constexpr int kRounds = 2000;
  Event ping, pong;
  std::atomic<int> misplaced{0};
  int a_rounds = 0, b_rounds = 0;
  std::thread b_thread([&] {
    Loop b;
    b.spawn([](Loop& self, Event& pi, Event& po, std::atomic<int>& bad, int& n) -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        co_await pi.wait();
        if (Loop::current() != &self) ++bad;
        ++n;
        po.notify();
      }
    }(b, ping, pong, misplaced, b_rounds));
    b.run();
  });
  {
    Loop a;
    a.spawn([](Loop& self, Event& pi, Event& po, std::atomic<int>& bad, int& n) -> Task<> {
      for (int i = 0; i < kRounds; ++i) {
        pi.notify();
        co_await po.wait();
        if (Loop::current() != &self) ++bad;
        ++n;
      }
    }(a, ping, pong, misplaced, a_rounds));
    a.run();
  }  // `a` destroyed right after its last wake: the lifetime rule under test
  b_thread.join();
  EXPECT_EQ(misplaced.load(), 0);
  EXPECT_EQ(a_rounds, kRounds);
  EXPECT_EQ(b_rounds, kRounds);
}

TEST(Loop, LoopDestroyedRightAfterLastRemoteWake) {
  // Many short-lived loops, each finished by a wake from another thread, and
  // destroyed immediately: ASan/TSan catch a poster touching a dead backend.
  for (int round = 0; round < 200; ++round) {
    Event e;
    auto loop = std::make_unique<Loop>();
    loop->spawn([](Event& ev) -> Task<> { co_await ev.wait(); }(e));
    std::thread notifier([&e] { e.notify(); });
    loop->run();
    loop.reset();
    notifier.join();
  }
}

// --- backends ----------------------------------------------------------------

class CountingBackend final : public csync::runtime::backend {
 public:
  explicit CountingBackend(std::atomic<int>& remote) : remote_(remote) {}
  std::string_view name() const noexcept override { return "counting"; }
  void post_remote(work_item& item) noexcept override {
    remote_.fetch_add(1);
    inner_->post_remote(item);
  }
  void collect(csync::runtime::work_queue& out, bool block,
               std::optional<steady::time_point> deadline) override {
    inner_->collect(out, block, deadline);
  }

 private:
  std::atomic<int>& remote_;
  std::unique_ptr<csync::runtime::backend> inner_ = csync::runtime::make_portable_backend();
};

TEST(Loop, UsesTheGivenBackendOnlyForRemotePosts) {
  std::atomic<int> remote{0};
  Loop loop(std::make_unique<CountingBackend>(remote));
  EXPECT_EQ(loop.backend_name(), "counting");
  Event e;
  loop.spawn([](Event& ev) -> Task<> {
    for (int i = 0; i < 10; ++i) co_await csync::runtime::yield();  // local: no backend
    co_await ev.wait();
  }(e));
  std::thread notifier([&e] {
    std::this_thread::sleep_for(milliseconds(2));
    e.notify();
  });
  loop.run();
  notifier.join();
  EXPECT_LE(remote.load(), 1);  // 0 if the event was set before the task waited
}

TEST(WorkQueue, FifoAndSplice) {
  csync::runtime::work_queue a, b;
  work_item items[5];
  EXPECT_TRUE(a.empty());
  EXPECT_EQ(a.pop_front(), nullptr);
  a.push_back(items[0]);
  a.push_back(items[1]);
  b.push_back(items[2]);
  b.push_back(items[3]);
  a.splice(b);
  EXPECT_TRUE(b.empty());
  b.splice(a);  // onto an empty queue
  b.push_back(items[4]);
  for (work_item& it : items) EXPECT_EQ(b.pop_front(), &it);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.pop_front(), nullptr);
}

}  // namespace
