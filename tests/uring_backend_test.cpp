// tests/uring_backend_test.cpp -- the io_uring Loop backend.
//
// Covers: the probe; default backend selection (io_uring here, the
// CSYNC_LOOP_BACKEND override, explicit portable selection); tasks, yield and
// timers on an io_uring loop; remote posts from 4 threads while the loop
// sleeps; several io_uring loops on several threads; uring_submit (a pipe
// read whose writer is another thread, resuming on the loop; a timer and a
// pipe read in one loop; errors); the raw get_sqe/bind/reserve API with a
// linked timeout; CQ overflow (far more requests in flight than CQ entries);
// loops destroyed right after their last remote wake.
//
// When probe_uring().ring_ok is false (old kernel, sysctl, seccomp, or built
// without the backend) every test is skipped with the probe's reason.
// tests/runtime_test.cpp runs the general Loop suite on the default backend,
// i.e. on io_uring wherever these tests do not skip.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include <csync/runtime.hpp>
#include <csync/runtime/uring_backend.hpp>

namespace {

using csync::Task;
using csync::runtime::Loop;
using csync::runtime::probe_uring;
using csync::runtime::work_item;
using std::chrono::milliseconds;
using steady = std::chrono::steady_clock;

#if CSYNC_HAVE_URING_BACKEND

using csync::runtime::uring_backend;
using csync::runtime::uring_backend_of;
using csync::runtime::uring_submit;

#define SKIP_WITHOUT_URING()                                           \
  do {                                                                 \
    if (!probe_uring().ring_ok) {                                      \
      GTEST_SKIP() << "unavailable: " << probe_uring().ring_reason;    \
    }                                                                  \
  } while (0)

/// Sets (or unsets, for nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

/// A pipe closed on scope exit.
struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_end = fds[0];
    write_end = fds[1];
  }
  ~Pipe() {
    ::close(read_end);
    ::close(write_end);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
};

/// An eager, self-destroying coroutine: drives a Task without a Loop.
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

std::unique_ptr<Loop> make_uring_loop(unsigned sq = uring_backend::kDefaultSqEntries,
                                      unsigned cq = 0) {
  return std::make_unique<Loop>(csync::runtime::make_uring_backend(sq, cq));
}

// --- probe and selection -------------------------------------------------------

TEST(UringProbe, IsConsistentAndCached) {
  const auto& p = probe_uring();
  EXPECT_EQ(&p, &probe_uring()) << "the probe must be computed once";
  EXPECT_EQ(p.ring_ok, p.ring_reason.empty()) << p.ring_reason;
  EXPECT_EQ(p.futex_ok, p.futex_reason.empty()) << p.futex_reason;
  if (!p.ring_ok) {
    EXPECT_FALSE(p.futex_ok);
  }
  std::printf("probe: ring_ok=%d%s%s futex_ok=%d%s%s\n", p.ring_ok, p.ring_ok ? "" : " ",
              p.ring_reason.c_str(), p.futex_ok, p.futex_ok ? "" : " ", p.futex_reason.c_str());
  RecordProperty("futex_ok", p.futex_ok ? "1" : "0");
  SKIP_WITHOUT_URING();
}

TEST(UringSelection, DefaultLoopPicksIoUring) {
  SKIP_WITHOUT_URING();
  ScopedEnv env("CSYNC_LOOP_BACKEND", nullptr);
  Loop loop;
  EXPECT_EQ(loop.backend_name(), "io_uring");
  ASSERT_NE(uring_backend_of(loop), nullptr);
  EXPECT_EQ(uring_backend_of(loop)->name(), uring_backend::kName);
  EXPECT_EQ(csync::runtime::make_default_backend()->name(), "io_uring");
}

TEST(UringSelection, ExplicitPortableSelection) {
  SKIP_WITHOUT_URING();
  ScopedEnv env("CSYNC_LOOP_BACKEND", "io_uring");  // explicit beats the environment
  Loop loop(csync::runtime::make_portable_backend());
  EXPECT_EQ(loop.backend_name(), "portable");
  EXPECT_EQ(uring_backend_of(loop), nullptr);
  std::string message;
  loop.spawn([](std::string& m) -> Task<> {
    try {
      (void)co_await uring_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
    } catch (const std::logic_error& e) {
      m = e.what();
    }
  }(message));
  loop.run();
  EXPECT_NE(message.find("not io_uring"), std::string::npos) << message;

  Loop explicit_uring(csync::runtime::make_uring_backend());
  EXPECT_EQ(explicit_uring.backend_name(), "io_uring");
}

TEST(UringSelection, EnvironmentOverrideIsReadPerConstruction) {
  SKIP_WITHOUT_URING();
  {
    ScopedEnv env("CSYNC_LOOP_BACKEND", "portable");
    Loop loop;
    EXPECT_EQ(loop.backend_name(), "portable");
  }
  {
    ScopedEnv env("CSYNC_LOOP_BACKEND", "io_uring");
    Loop loop;
    EXPECT_EQ(loop.backend_name(), "io_uring");
  }
  {
    ScopedEnv env("CSYNC_LOOP_BACKEND", "");  // empty = unset
    Loop loop;
    EXPECT_EQ(loop.backend_name(), "io_uring");
  }
  {
    ScopedEnv env("CSYNC_LOOP_BACKEND", "select");
    EXPECT_THROW(Loop{}, std::invalid_argument);
  }
}

TEST(UringSubmit, ThrowsOutsideALoop) {
  SKIP_WITHOUT_URING();
  bool done = false;
  std::exception_ptr error;
  drive_sync([]() -> Task<> {
    (void)co_await uring_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
  }(), done, error);
  ASSERT_TRUE(done);
  ASSERT_TRUE(error);
  EXPECT_THROW(std::rethrow_exception(error), std::logic_error);
}

// --- the loop on io_uring --------------------------------------------------------

TEST(UringLoop, TasksYieldAndTimers) {
  SKIP_WITHOUT_URING();
  auto loop = make_uring_loop();
  std::string log;
  auto yielder = [](std::string& l, char name) -> Task<> {
    for (int i = 0; i < 3; ++i) {
      l += name;
      co_await csync::runtime::yield();
    }
  };
  std::vector<int> order;
  auto sleeper = [](std::vector<int>& o, int ms) -> Task<> {
    co_await csync::runtime::sleep_for(milliseconds(ms));
    o.push_back(ms);
  };
  steady::duration slept{};
  loop->spawn(yielder(log, 'a'));
  loop->spawn(yielder(log, 'b'));
  for (int ms : {30, 10, 0, 20}) loop->spawn(sleeper(order, ms));
  loop->spawn([](steady::duration& d) -> Task<> {
    const auto start = steady::now();
    co_await csync::runtime::sleep_for(milliseconds(25));
    d = steady::now() - start;
  }(slept));
  loop->run();
  EXPECT_EQ(log, "ababab");
  EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 30}));
  EXPECT_GE(slept, milliseconds(25));
  EXPECT_LT(slept, milliseconds(900));
}

TEST(UringLoop, RemotePostsFromFourThreadsWhileLoopSleeps) {
  SKIP_WITHOUT_URING();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 2500;
  constexpr int kTotal = kThreads * kPerThread;

  struct Shared {
    std::thread::id loop_thread;
    int done = 0;  // loop thread only
    int wrong_thread = 0;
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
      if (std::this_thread::get_id() != me.shared->loop_thread) ++me.shared->wrong_thread;
      if (++me.shared->done == kTotal) me.shared->waiter.resume();
    };
  }
  struct Park {
    std::coroutine_handle<>* slot;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept { *slot = h; }
    void await_resume() const noexcept {}
  };

  auto loop = make_uring_loop();
  std::atomic<bool> go{false};
  loop->spawn([](Shared& s, std::atomic<bool>& g) -> Task<> {
    s.loop_thread = std::this_thread::get_id();
    g.store(true);             // seq_cst: posters start after loop_thread is set
    co_await Park{&s.waiter};  // the loop now sleeps in io_uring_enter
  }(shared, go));

  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < kPerThread; ++i) {
        // Pause now and then so the loop drains everything and goes back to
        // sleep: the next post must wake it through the eventfd.
        if (i % 250 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));
        loop->post(items[t * kPerThread + i]);
      }
    });
  }
  loop->run();
  for (std::thread& p : posters) p.join();

  EXPECT_EQ(shared.done, kTotal);
  EXPECT_EQ(shared.wrong_thread, 0);
  for (const Item& it : items) ASSERT_EQ(it.runs, 1);
}

TEST(UringLoop, SeveralLoopsOnSeveralThreads) {
  SKIP_WITHOUT_URING();
  constexpr int kLoops = 4;
  constexpr int kTasks = 40;
  std::atomic<int> mismatches{0};
  std::atomic<int> bad_results{0};
  std::vector<int> finished(kLoops, 0);
  std::vector<std::thread> threads;
  for (int l = 0; l < kLoops; ++l) {
    threads.emplace_back([&, l] {
      auto loop = make_uring_loop();
      const auto me = std::this_thread::get_id();
      for (int t = 0; t < kTasks; ++t) {
        loop->spawn([](Loop& lp, std::thread::id id, std::atomic<int>& bad,
                       std::atomic<int>& bad_res, int& done, int n) -> Task<> {
          for (int i = 0; i < 5; ++i) {
            switch ((n + i) % 3) {
              case 0:
                co_await csync::runtime::yield();
                break;
              case 1:
                co_await csync::runtime::sleep_for(std::chrono::microseconds(200));
                break;
              default: {
                const int r =
                    co_await uring_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
                if (r != 0) ++bad_res;
              }
            }
            if (Loop::current() != &lp || std::this_thread::get_id() != id) ++bad;
          }
          ++done;
        }(*loop, me, mismatches, bad_results, finished[l], t));
      }
      loop->run();
      EXPECT_EQ(uring_backend_of(*loop)->in_flight(), 0u);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(bad_results.load(), 0);
  for (int f : finished) EXPECT_EQ(f, kTasks);
}

TEST(UringLoop, LoopDestroyedRightAfterLastRemoteWake) {
  SKIP_WITHOUT_URING();
  struct Park {
    std::coroutine_handle<>* slot;
    std::atomic<bool>* parked;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      *slot = h;
      parked->store(true);  // seq_cst: the waker reads `slot` after seeing this
    }
    void await_resume() const noexcept {}
  };
  for (int round = 0; round < 100; ++round) {
    std::coroutine_handle<> handle;
    std::atomic<bool> parked{false};
    csync::detail::resume_item wake;
    auto loop = make_uring_loop(8);
    loop->spawn([](std::coroutine_handle<>& h, std::atomic<bool>& p) -> Task<> {
      co_await Park{&h, &p};
    }(handle, parked));
    std::thread waker([&] {
      while (!parked.load()) std::this_thread::yield();
      wake.handle = handle;
      loop->post(wake);  // the last touch of the loop by this thread
    });
    loop->run();
    loop.reset();  // may run while the waker is still returning from post()
    waker.join();
  }
}

TEST(UringLoop, RunOnAnotherThreadWhileTheFirstStillLives) {
  SKIP_WITHOUT_URING();
  // The eventfd read armed while thread A ran the loop completes through A's
  // task_work. A now sleeps (interruptibly) while main runs the loop; the
  // kernel must wake A to post the CQE that wakes main.
  struct Park {
    std::coroutine_handle<>* slot;
    std::atomic<bool>* parked;
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      *slot = h;
      parked->store(true);  // seq_cst: the waker reads `slot` after seeing this
    }
    void await_resume() const noexcept {}
  };
  auto loop = make_uring_loop();
  std::mutex m;
  std::condition_variable cv;
  bool first_done = false, release_a = false;
  std::thread a([&] {
    loop->spawn([]() -> Task<> { co_await csync::runtime::yield(); }());
    loop->run();  // arms the wake read from thread A
    std::unique_lock<std::mutex> lock(m);
    first_done = true;
    cv.notify_all();
    cv.wait(lock, [&] { return release_a; });  // A sleeps, alive
  });
  {
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [&] { return first_done; });
  }
  std::coroutine_handle<> handle;
  std::atomic<bool> parked{false};
  csync::detail::resume_item wake;
  loop->spawn([](std::coroutine_handle<>& h, std::atomic<bool>& p) -> Task<> {
    co_await Park{&h, &p};
  }(handle, parked));
  std::thread waker([&] {
    while (!parked.load()) std::this_thread::yield();
    std::this_thread::sleep_for(milliseconds(20));  // main sleeps in io_uring_enter
    wake.handle = handle;
    loop->post(wake);
  });
  const auto start = steady::now();
  loop->run();
  const auto took = steady::now() - start;
  waker.join();
  {
    std::lock_guard<std::mutex> lock(m);
    release_a = true;
  }
  cv.notify_all();
  a.join();
  EXPECT_LT(took, milliseconds(2000));
}

// --- uring_submit ------------------------------------------------------------------

TEST(UringSubmit, PipeReadFromAnotherThreadResumesOnTheLoop) {
  SKIP_WITHOUT_URING();
  Pipe pipe;
  auto loop = make_uring_loop();
  const std::string message = "hello from another thread";
  std::string received;
  int res = -1;
  bool on_loop = false;
  std::thread::id resumed_on;
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(20));  // the loop is asleep by now
    ASSERT_EQ(::write(pipe.write_end, message.data(), message.size()),
              static_cast<ssize_t>(message.size()));
  });
  loop->spawn([](Loop& self, int fd, std::string& out, int& r, bool& on,
                 std::thread::id& where) -> Task<> {
    char buf[64] = {};
    r = co_await uring_submit(
        [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buf, sizeof buf, 0); });
    on = Loop::current() == &self;
    where = std::this_thread::get_id();
    if (r > 0) out.assign(buf, static_cast<std::size_t>(r));
  }(*loop, pipe.read_end, received, res, on_loop, resumed_on));
  loop->run();
  writer.join();
  EXPECT_EQ(res, static_cast<int>(message.size()));
  EXPECT_EQ(received, message);
  EXPECT_TRUE(on_loop);
  EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(UringSubmit, TimerAndPipeReadInTheSameLoop) {
  SKIP_WITHOUT_URING();
  Pipe pipe;
  auto loop = make_uring_loop();
  std::vector<std::string> events;  // loop thread only
  steady::duration timer_after{};
  const auto start = steady::now();
  std::thread writer([&] {
    std::this_thread::sleep_for(milliseconds(60));
    ASSERT_EQ(::write(pipe.write_end, "x", 1), 1);
  });
  loop->spawn([](std::vector<std::string>& ev, int fd) -> Task<> {
    char c = 0;
    const int r = co_await uring_submit(
        [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, &c, 1, 0); });
    ev.push_back("read " + std::to_string(r) + " " + c);
  }(events, pipe.read_end));
  loop->spawn([](std::vector<std::string>& ev, steady::time_point t0,
                 steady::duration& after) -> Task<> {
    co_await csync::runtime::sleep_for(milliseconds(10));  // while the read is pending
    after = steady::now() - t0;
    ev.push_back("timer");
  }(events, start, timer_after));
  loop->run();
  writer.join();
  EXPECT_EQ(events, (std::vector<std::string>{"timer", "read 1 x"}));
  EXPECT_GE(timer_after, milliseconds(10));
}

TEST(UringSubmit, ErrorsAndThrowingPrep) {
  SKIP_WITHOUT_URING();
  auto loop = make_uring_loop();
  int bad_fd_res = 0;
  std::string thrown;
  loop->spawn([](int& bad, std::string& t) -> Task<> {
    char c;
    bad = co_await uring_submit([&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, -1, &c, 1, 0); });
    try {
      (void)co_await uring_submit([](io_uring_sqe* sqe) {
        io_uring_prep_read(sqe, 0, nullptr, 1, 0);  // half-filled, then...
        throw std::runtime_error("prep failed");
      });
    } catch (const std::runtime_error& e) {
      t = e.what();
    }
    // The abandoned SQE became an ignored NOP; the ring still works.
    const int r = co_await uring_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
    EXPECT_EQ(r, 0);
  }(bad_fd_res, thrown));
  loop->run();
  EXPECT_EQ(bad_fd_res, -EBADF);
  EXPECT_EQ(thrown, "prep failed");
  EXPECT_EQ(uring_backend_of(*loop)->in_flight(), 0u);
}

// --- raw loop-thread API --------------------------------------------------------------

TEST(UringApi, BindWithLinkedTimeoutAndIgnoredCqes) {
  SKIP_WITHOUT_URING();
  Pipe pipe;  // nobody writes: the read can only end by its linked timeout
  auto loop = make_uring_loop();
  std::int32_t res = 1;
  steady::duration took{};
  loop->spawn([](int fd, std::int32_t& out, steady::duration& d) -> Task<> {
    struct Await {
      int fd;
      char* buf;
      __kernel_timespec* ts;
      csync::detail::resume_item item;
      bool await_ready() const noexcept { return false; }
      void await_suspend(std::coroutine_handle<> h) noexcept {
        uring_backend& b = *uring_backend_of(*Loop::current());
        b.reserve(2);  // the chain must not be split by a submit in between
        io_uring_sqe* read = b.get_sqe();
        io_uring_prep_read(read, fd, buf, 1, 0);
        read->flags |= IOSQE_IO_LINK;
        item.handle = h;
        b.bind(read, item);
        io_uring_sqe* timeout = b.get_sqe();
        io_uring_prep_link_timeout(timeout, ts, 0);
        // user_data stays 0: its CQE is ignored by the backend
      }
      std::int32_t await_resume() const noexcept { return item.result; }
    };
    char c = 0;
    __kernel_timespec ts{};
    ts.tv_nsec = 20'000'000;  // 20 ms
    const auto start = steady::now();
    out = co_await Await{fd, &c, &ts, {}};
    d = steady::now() - start;
  }(pipe.read_end, res, took));
  loop->run();
  EXPECT_EQ(res, -ECANCELED);
  EXPECT_GE(took, milliseconds(15));
  EXPECT_EQ(uring_backend_of(*loop)->in_flight(), 0u);
}

TEST(UringApi, GetSqeBeforeRunIsSubmittedByTheFirstCollect) {
  SKIP_WITHOUT_URING();
  auto loop = make_uring_loop(4);
  struct Counted : work_item {
    int runs = 0;
    std::int32_t seen = -1;
  };
  Counted items[10];
  uring_backend& b = *uring_backend_of(*loop);
  for (Counted& it : items) {  // more than the SQ holds: get_sqe submits to make room
    it.run = [](work_item* self) noexcept {
      auto& me = *static_cast<Counted*>(self);
      ++me.runs;
      me.seen = me.result;
    };
    io_uring_sqe* sqe = b.get_sqe();
    io_uring_prep_nop(sqe);
    b.bind(sqe, it);
  }
  EXPECT_EQ(b.in_flight(), 10u);
  loop->spawn([]() -> Task<> {
    for (int i = 0; i < 3; ++i) co_await csync::runtime::yield();
  }());
  loop->run();
  // The items need not have run yet if the only task finished first; run a
  // task that waits long enough for every completion to be handed over.
  loop->spawn([](Counted* its) -> Task<> {
    for (int i = 0; i < 100; ++i) {
      bool all = true;
      for (int k = 0; k < 10; ++k) all = all && its[k].runs == 1;
      if (all) break;
      co_await csync::runtime::sleep_for(milliseconds(1));
    }
  }(items));
  loop->run();
  for (const Counted& it : items) {
    EXPECT_EQ(it.runs, 1);
    EXPECT_EQ(it.seen, 0);
  }
  EXPECT_EQ(b.in_flight(), 0u);
}

// --- CQ overflow ----------------------------------------------------------------------

/// `kOps` reads from /dev/zero of distinct lengths, all issued before the
/// loop reaps anything, on a ring with `sq`/`cq` entries: every request must
/// complete exactly once with its own length.
void overflow_run(unsigned sq, unsigned cq, int ops) {
  const int zero = ::open("/dev/zero", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(zero, 0);
  auto loop = make_uring_loop(sq, cq);
  std::vector<int> results(static_cast<std::size_t>(ops), -1000);
  std::vector<int> runs(static_cast<std::size_t>(ops), 0);
  for (int i = 0; i < ops; ++i) {
    loop->spawn([](int fd, int n, int& res, int& r) -> Task<> {
      char buf[64];
      res = co_await uring_submit([&](io_uring_sqe* sqe) {
        io_uring_prep_read(sqe, fd, buf, static_cast<unsigned>(1 + n % 64), 0);
      });
      ++r;
    }(zero, i, results[static_cast<std::size_t>(i)], runs[static_cast<std::size_t>(i)]));
  }
  loop->run();  // the first batch starts all tasks: `ops` SQEs before any reaping
  ::close(zero);
  for (int i = 0; i < ops; ++i) {
    ASSERT_EQ(runs[static_cast<std::size_t>(i)], 1) << "request " << i;
    ASSERT_EQ(results[static_cast<std::size_t>(i)], 1 + i % 64) << "request " << i;
  }
  EXPECT_EQ(uring_backend_of(*loop)->in_flight(), 0u);
}

TEST(UringOverflow, ThousandRequestsThroughASixteenEntryCq) {
  SKIP_WITHOUT_URING();
  overflow_run(8, 16, 1000);
}

TEST(UringOverflow, RawBindsBeyondTheCqRaiseOverflowAndAllRun) {
  SKIP_WITHOUT_URING();
  constexpr int kOps = 1000;
  auto loop = make_uring_loop(8, 16);
  uring_backend& b = *uring_backend_of(*loop);
  struct Counted : work_item {
    int runs = 0;
  };
  std::vector<Counted> items(kOps);
  for (Counted& it : items) {
    it.run = [](work_item* self) noexcept { ++static_cast<Counted*>(self)->runs; };
    io_uring_sqe* sqe = b.get_sqe();  // submits every 8: NOPs complete at once
    io_uring_prep_nop(sqe);
    b.bind(sqe, it);
  }
  b.submit();
  // 1000 completions, 16 CQ slots: the kernel must be holding the rest.
  EXPECT_TRUE(io_uring_cq_has_overflow(b.ring())) << "the CQ did not overflow; test is vacuous";
  loop->spawn([](std::vector<Counted>& its) -> Task<> {
    for (int round = 0; round < 1000; ++round) {
      bool all = true;
      for (const Counted& it : its) all = all && it.runs > 0;
      if (all) break;
      co_await csync::runtime::yield();
    }
  }(items));
  loop->run();
  for (const Counted& it : items) ASSERT_EQ(it.runs, 1);
  EXPECT_EQ(b.in_flight(), 0u);
  EXPECT_FALSE(io_uring_cq_has_overflow(b.ring()));
}

TEST(UringOverflow, DefaultSizedRingWithFiveThousandRequests) {
  SKIP_WITHOUT_URING();
  overflow_run(uring_backend::kDefaultSqEntries, 0, 5000);
}

TEST(UringOverflow, NopsWithRemotePostsInterleaved) {
  SKIP_WITHOUT_URING();
  // 1000 NOPs in flight through a 16-entry CQ while another thread keeps
  // posting: wake CQEs land in the overflow list too and must not be lost.
  constexpr int kOps = 1000;
  constexpr int kPosts = 2000;
  auto loop = make_uring_loop(8, 16);
  int nops = 0;
  struct Item : work_item {
    int* count = nullptr;
  };
  int posted_runs = 0;
  std::vector<Item> items(kPosts);
  for (Item& it : items) {
    it.count = &posted_runs;
    it.run = [](work_item* self) noexcept { ++*static_cast<Item*>(self)->count; };
  }
  std::atomic<bool> go{false};
  for (int i = 0; i < kOps; ++i) {
    loop->spawn([](int& n, std::atomic<bool>& g) -> Task<> {
      g.store(true);
      const int r = co_await uring_submit([](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); });
      if (r == 0) ++n;
    }(nops, go));
  }
  loop->spawn([](int& runs) -> Task<> {  // keeps the loop alive until every post ran
    while (runs < kPosts) co_await csync::runtime::sleep_for(std::chrono::microseconds(200));
  }(posted_runs));
  std::thread poster([&] {
    while (!go.load()) std::this_thread::yield();
    for (Item& it : items) loop->post(it);
  });
  loop->run();
  poster.join();
  EXPECT_EQ(nops, kOps);
  EXPECT_EQ(posted_runs, kPosts);
}

#else  // !CSYNC_HAVE_URING_BACKEND

TEST(UringBackend, NotCompiledIn) {
  EXPECT_FALSE(probe_uring().ring_ok);
  EXPECT_THROW((void)csync::runtime::make_uring_backend(), std::runtime_error);
  GTEST_SKIP() << "unavailable: " << probe_uring().ring_reason;
}

#endif  // CSYNC_HAVE_URING_BACKEND

}  // namespace
