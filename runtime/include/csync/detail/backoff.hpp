// csync/detail/backoff.hpp -- waiting for a word-sized lock held for a few
// instructions: pause a while, then give the CPU away (the holder may have
// been preempted, which on an oversubscribed machine is the common case).
#pragma once

#include <cstdint>
#include <thread>

#include <csync/detail/cpu_relax.hpp>

namespace csync::detail {

class backoff {
 public:
  void pause() noexcept {
    if (spins_ < spin_limit) {
      ++spins_;
      cpu_relax();
    } else {
      std::this_thread::yield();
    }
  }

 private:
  static constexpr std::uint32_t spin_limit = 64;
  std::uint32_t spins_ = 0;
};

}  // namespace csync::detail
