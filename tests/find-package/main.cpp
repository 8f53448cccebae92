// Uses csync through find_package(csync CONFIG) with the default strategy.
#include <csync/csync.hpp>

int main() {
  csync::Semaphore<> s(1);
  s.acquire();
  s.release();
  return s.available() == 1 ? 0 : 1;
}
