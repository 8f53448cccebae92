// examples/mixed_io.cpp
// -----------------------------------------------------------------------------
// Why strategy::uring_futex exists: tasks on ONE io_uring loop wait on a csync
// Semaphore and on I/O in the same ring, with no helper thread.
//
//   * readers: 4 tasks each read messages from their own pipe (a READ SQE in
//     the loop's ring); before handling a message they take one of 2 permits
//     of a Semaphore<uring_futex> (a FUTEX_WAIT SQE in the same ring when no
//     permit is free) and hold it across a timer (a third kind of request in
//     the ring), so they really contend;
//   * writers: plain threads write the messages into the pipes.
//
// The loop thread blocks only inside io_uring_enter; every wake-up -- a pipe
// becoming readable, a permit released by another task, a timer -- is a CQE.
// Exit status 0 when all messages were handled with never more than 2
// permits held; 77 (skip) when io_uring or its futex opcodes are unavailable.
// -----------------------------------------------------------------------------
#include <csync/csync.hpp>
#include <csync/strategies/uring_futex.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#if defined(CSYNC_HAVE_URING_FUTEX)
#include <unistd.h>

namespace {

using S = csync::strategy::basic_uring_futex<csync::counting_stats>;
constexpr int readers = 4, messages_per_reader = 50, permits = 2;

csync::Task<void> reader(int fd, csync::Semaphore<S>& sem, std::atomic<int>& holding,
                         std::atomic<bool>& violated, int& handled) {
  for (int m = 0; m < messages_per_reader; ++m) {
    char byte = 0;
    const int n = co_await csync::runtime::uring_submit(
        [&](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, &byte, 1, 0); });
    if (n != 1) {
      std::fprintf(stderr, "mixed_io: read returned %d\n", n);
      co_return;
    }
    co_await sem.async_acquire();  // FUTEX_WAIT in the same ring when contended
    if (holding.fetch_add(1) + 1 > permits) violated = true;
    co_await csync::runtime::sleep_for(std::chrono::microseconds(200));  // hold across a timer
    holding.fetch_sub(1);
    sem.release();
    ++handled;
  }
}

}  // namespace

int main() {
  const csync::availability avail = S::availability();
  if (!avail.available) {
    std::printf("mixed_io: skipped: uring_futex unavailable: %.*s\n", int(avail.reason.size()),
                avail.reason.data());
    return 77;
  }
  csync::Semaphore<S> sem(permits);
  csync::runtime::Loop loop(csync::runtime::make_uring_backend());
  std::atomic<int> holding{0};
  std::atomic<bool> violated{false};
  std::vector<int> handled(readers, 0);
  std::vector<std::thread> writers;
  std::vector<int> read_ends;
  for (int r = 0; r < readers; ++r) {
    int fds[2];
    if (::pipe(fds) != 0) return 1;
    read_ends.push_back(fds[0]);
    loop.spawn(reader(fds[0], sem, holding, violated, handled[r]));
    writers.emplace_back([wfd = fds[1]] {
      for (int m = 0; m < messages_per_reader; ++m) {
        const char byte = 'x';
        if (::write(wfd, &byte, 1) != 1) return;
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
      ::close(wfd);
    });
  }
  const auto start = std::chrono::steady_clock::now();
  loop.run();
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  for (auto& w : writers) w.join();
  for (int fd : read_ends) ::close(fd);

  int total = 0;
  for (int h : handled) total += h;
  const auto stats = sem.strategy().stats().read();
  std::printf("mixed_io: %d messages on one %s loop in %.1f ms; permit waits woken %llu times; "
              "max holders <= %d: %s\n",
              total, std::string(loop.backend_name()).c_str(), ms,
              static_cast<unsigned long long>(stats.wakes), permits, violated ? "NO" : "yes");
  return (total == readers * messages_per_reader && !violated) ? 0 : 1;
}

#else

int main() {
  std::printf("mixed_io: skipped: built without the io_uring backend\n");
  return 77;
}

#endif
