// Uses csync through find_package(csync CONFIG) with the default strategy,
// and a default Loop (io_uring where the installed build has it and the
// kernel allows it; the package config found liburing for us).
#include <csync/csync.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

int main() {
  csync::Semaphore<> s(1);
  s.acquire();
  s.release();

  csync::runtime::Loop loop;
  int ran = 0;
  loop.spawn([](int& r) -> csync::Task<> {
    co_await csync::runtime::yield();
    ++r;
  }(ran));
  loop.run();
  std::printf("csync loop backend: %s\n", std::string(loop.backend_name()).c_str());
#if CSYNC_HAVE_URING_BACKEND
  // The package carried liburing: the default must be io_uring where it works.
  if (csync::runtime::probe_uring().ring_ok && !std::getenv("CSYNC_LOOP_BACKEND") &&
      loop.backend_name() != "io_uring") {
    return 2;
  }
#endif

  return (s.available() == 1 && ran == 1) ? 0 : 1;
}
