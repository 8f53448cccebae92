// harness/src/workloads_io.hpp
// -----------------------------------------------------------------------------
// mixed_io: coroutine tasks on io_uring loops wait on a csync semaphore and on
// I/O in the same ring, with no helper thread -- the reason
// strategy::uring_futex exists. Each task loops: acquire(weight) -> critical
// section (burn, then an I/O round trip while holding: write 8 bytes into
// its own pipe and co_await an IORING_OP_READ of them through the loop's
// ring) -> release -> think. With uring_futex the permit waits are
// FUTEX_WAIT SQEs beside those reads; with the other strategies the waits
// are userspace registrations and the ring carries only the reads.
// Needs the io_uring loop backend (catalog.cpp refuses the cell otherwise).
// -----------------------------------------------------------------------------
#pragma once

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include <csync/csync.hpp>
#if CSYNC_HAVE_URING_BACKEND
#include <fcntl.h>
#include <unistd.h>

#include <csync/runtime/uring_backend.hpp>
#endif

#include "workloads.hpp"

namespace csync::bench {

#if CSYNC_HAVE_URING_BACKEND

/// One pipe per task, closed on destruction.
class task_pipes {
 public:
  explicit task_pipes(std::size_t tasks) {
    for (std::size_t i = 0; i < tasks; ++i) {
      std::array<int, 2> fds{};
      if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
        throw std::runtime_error("mixed_io: pipe2 failed: " + std::string(std::strerror(errno)) +
                                 " (one pipe per task: lower `tasks` or raise the fd limit)");
      }
      pipes_.push_back(fds);
    }
  }
  ~task_pipes() {
    for (const auto& fds : pipes_) {
      ::close(fds[0]);
      ::close(fds[1]);
    }
  }
  task_pipes(const task_pipes&) = delete;
  task_pipes& operator=(const task_pipes&) = delete;

  int read_end(std::size_t task) const { return pipes_[task][0]; }
  int write_end(std::size_t task) const { return pipes_[task][1]; }

 private:
  std::vector<std::array<int, 2>> pipes_;
};

template <class Sem>
csync::Task<void> mixed_io_worker(Sem& sem, int read_fd, int write_fd, const cell_params& p,
                                  const run_control& ctl, detail::shared_state& shared,
                                  detail::worker_slot& me) {
  std::uint64_t message = 0, received = 0;
  for (std::uint64_t i = 0; ctl.timed() ? !shared.stopping() : i < ctl.operations; ++i) {
    const bool timed_op = me.sampler.next();
    const std::uint64_t start = timed_op ? now_ns() : 0;
    co_await sem.async_acquire(p.weight);
    const std::uint64_t end = timed_op ? now_ns() : 0;
    if (ctl.timed() && shared.stopping()) {  // ended after the window: censored
      me.censor(timed_op, end - start);
      sem.release(p.weight);
      break;
    }
    if (ctl.checks_exclusion()) shared.enter(p.weight);
    me.burn(p.critical_section_ns);
    ++message;
    if (::write(write_fd, &message, sizeof message) != sizeof message) {
      throw std::runtime_error("mixed_io: pipe write failed: " + std::string(std::strerror(errno)));
    }
    const int n = co_await csync::runtime::uring_submit([&](io_uring_sqe* sqe) {
      io_uring_prep_read(sqe, read_fd, &received, sizeof received, 0);
    });
    if (n != sizeof received || received != message) {
      throw std::runtime_error("mixed_io: ring read returned " + std::to_string(n));
    }
    if (ctl.checks_exclusion()) shared.leave(p.weight);
    sem.release(p.weight);
    if (timed_op) me.record_wait(end - start);
    me.count_op();
    me.burn(p.think_ns);
  }
}

template <class Sem>
repetition_data mixed_io_workload(Sem& sem, const cell_params& p, const run_control& ctl) {
  detail::shared_state shared(p.permits);
  shared.rescue = [&sem, &p] { detail::rescue_semaphore(sem, p.weight); };
  task_pipes pipes(p.tasks);
  run_slots slots(p.tasks, p, ctl);
  return run_workers(p, ctl, shared, slots.workers, slots.threads, [&](std::size_t t) {
    return mixed_io_worker(sem, pipes.read_end(t), pipes.write_end(t), p, ctl, shared,
                           slots.workers[t]);
  });
}

#endif  // CSYNC_HAVE_URING_BACKEND

}  // namespace csync::bench
