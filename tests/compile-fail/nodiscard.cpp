// Compile-fail test: every try_* member and every async_* awaitable-returning
// member of the public primitives, and the runtime's yield()/sleep_*() and
// uring_submit() (the awaitable-returning free functions), are
// [[nodiscard]]: `sem.async_acquire();` without co_await does nothing, and an
// ignored try_lock() hides whether the lock is held. tests/CMakeLists.txt
// builds this file twice, with -Werror=unused-result:
//   CSYNC_COMPILE_FAIL_CONTROL=1  each call below is discarded explicitly,
//                                 through static_cast<void>, and the results
//                                 are also used properly; must compile (so
//                                 the calls themselves are well-formed);
//   (undefined)                   each call is a plain expression statement;
//                                 must NOT compile, and tests/cmake/
//                                 expect-diagnostic-per-line.cmake requires a
//                                 "ignoring return value" error on EVERY line
//                                 that ends in the marker comment (MARKER in
//                                 tests/CMakeLists.txt; this header must not
//                                 spell it) and no other error, so a single
//                                 missing attribute fails the test even
//                                 though the others still break the build.
// One call per marked line; keep the calls in plain (non-template,
// non-coroutine) functions so each diagnostic points at its own line. The
// object file is never linked or run.
#include <csync/csync.hpp>

#include <chrono>
#include <stop_token>

#if defined(CSYNC_COMPILE_FAIL_CONTROL)
#define CSYNC_DISCARD(...) static_cast<void>(__VA_ARGS__)
#else
#define CSYNC_DISCARD(...) __VA_ARGS__
#endif

namespace {

using namespace std::chrono_literals;

#if CSYNC_HAVE_URING_BACKEND
namespace uring = csync::runtime;
#else
// This build has no io_uring backend, so no csync::runtime::uring_submit: a
// [[nodiscard]] stand-in keeps its marked line below failing as expected.
namespace uring {
template <class Prep>
[[nodiscard]] int uring_submit(Prep&&) { return 0; }
}  // namespace uring
#endif

bool ready() { return true; }

void semaphore_calls(csync::Semaphore<>& sem, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + 1ms;
  CSYNC_DISCARD(sem.try_acquire());                          // expect-nodiscard
  CSYNC_DISCARD(sem.try_acquire_for(1ms));                   // expect-nodiscard
  CSYNC_DISCARD(sem.try_acquire_until(deadline));            // expect-nodiscard
  CSYNC_DISCARD(sem.async_acquire());                        // expect-nodiscard
  CSYNC_DISCARD(sem.async_acquire(1, stop));                 // expect-nodiscard
  CSYNC_DISCARD(sem.async_acquire_for(1ms));                 // expect-nodiscard
  CSYNC_DISCARD(sem.async_acquire_until(deadline));          // expect-nodiscard
}

void mutex_calls(csync::Mutex<>& m, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + 1ms;
  CSYNC_DISCARD(m.try_lock());                               // expect-nodiscard
  CSYNC_DISCARD(m.try_lock_for(1ms));                        // expect-nodiscard
  CSYNC_DISCARD(m.try_lock_until(deadline));                 // expect-nodiscard
  CSYNC_DISCARD(m.async_lock());                             // expect-nodiscard
  CSYNC_DISCARD(m.async_lock(stop));                         // expect-nodiscard
  CSYNC_DISCARD(m.async_try_lock_for(1ms));                  // expect-nodiscard
  CSYNC_DISCARD(m.async_try_lock_until(deadline));           // expect-nodiscard
}

void condvar_calls(csync::Condvar<>& cv, csync::Mutex<>& m, std::stop_token stop) {
  const auto deadline = std::chrono::steady_clock::now() + 1ms;
  CSYNC_DISCARD(cv.async_wait(m, ready));                    // expect-nodiscard
  CSYNC_DISCARD(cv.async_wait(m, ready, stop));              // expect-nodiscard
  CSYNC_DISCARD(cv.async_wait_for(m, 1ms, ready));           // expect-nodiscard
  CSYNC_DISCARD(cv.async_wait_until(m, deadline, ready));    // expect-nodiscard
}

void runtime_calls() {
  CSYNC_DISCARD(csync::runtime::yield());                    // expect-nodiscard
  CSYNC_DISCARD(csync::runtime::sleep_for(1ms));             // expect-nodiscard
  CSYNC_DISCARD(csync::runtime::sleep_until(std::chrono::steady_clock::now()));  // expect-nodiscard
  CSYNC_DISCARD(uring::uring_submit([](auto*) {}));          // expect-nodiscard
}

#if defined(CSYNC_COMPILE_FAIL_CONTROL)
// The results used as intended (never run: only compiled).
csync::Task<> proper_use(csync::Semaphore<>& sem, csync::Mutex<>& m, csync::Condvar<>& cv) {
  if (sem.try_acquire()) sem.release();
  co_await sem.async_acquire();
  sem.release();
  if (co_await sem.async_acquire_for(1ms)) sem.release();
  if (m.try_lock()) m.unlock();
  co_await m.async_lock();
  const bool ok = co_await cv.async_wait_for(m, 1ms, ready);
  m.unlock();
  if (ok) co_await csync::runtime::yield();
  co_await csync::runtime::sleep_for(1ms);
}
#endif

}  // namespace

// Referenced so that nothing above is unused.
void csync_nodiscard_test_entry(csync::Semaphore<>& sem, csync::Mutex<>& m, csync::Condvar<>& cv,
                                std::stop_token stop) {
  semaphore_calls(sem, stop);
  mutex_calls(m, stop);
  condvar_calls(cv, m, stop);
  runtime_calls();
#if defined(CSYNC_COMPILE_FAIL_CONTROL)
  static_cast<void>(proper_use(sem, m, cv));  // the Task is dropped unstarted: only compiled
#endif
}
