// examples/readme_usage.cpp -- the README's "Using it" snippet, compiled and
// run by CTest so the README cannot drift from the API. Keep the two in sync.
#include <csync/csync.hpp>
#include <thread>
#include <mutex>
csync::Semaphore<> slots(4);
csync::Semaphore<csync::strategy::spin> hot(1, csync::fairness::barging, {.spin_budget = 256});
void worker() { slots.acquire(); slots.release(); if (slots.try_acquire_for(std::chrono::milliseconds(5), 2)) slots.release(2); }
csync::Task<void> task(csync::Mutex<>& m, csync::Condvar<>& cv, bool& ready) {
  co_await slots.async_acquire(); slots.release();
  co_await m.async_lock();
  co_await cv.async_wait(m, [&] { return ready; });
  m.unlock();
}
int main() {
  csync::Mutex<> m; csync::Condvar<> cv; bool ready = false;
  csync::runtime::Loop loop; loop.spawn(task(m, cv, ready));
  std::thread setter([&] { { std::lock_guard g(m); ready = true; } cv.notify_all(); });
  loop.run(); setter.join(); worker(); return 0;
}
