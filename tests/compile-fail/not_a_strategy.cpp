// Compile-fail test: csync::Semaphore must reject a type that does not model
// csync's wakeup_strategy concept (<csync/strategies/concept.hpp>), with a
// diagnostic that names the concept. tests/CMakeLists.txt builds this twice:
//   CSYNC_COMPILE_FAIL_CONTROL=1  default strategy; must compile (control), and
//   (undefined)                   Semaphore<NotAStrategy>; must NOT compile,
//                                 and the compiler output must mention
//                                 "wakeup_strategy".
#include <csync/csync.hpp>

// Has none of the members the concept requires.
struct NotAStrategy {};

int main() {
#if defined(CSYNC_COMPILE_FAIL_CONTROL)
  csync::Semaphore<> s(1);
#else
  csync::Semaphore<NotAStrategy> s(1);
#endif
  s.acquire();
  s.release();
  return 0;
}
