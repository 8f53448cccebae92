// tests/conformance/atomic_waker.cpp -- the conformance suite for strategy::atomic_waker
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_ATOMIC_WAKER)
INSTANTIATE_TYPED_TEST_SUITE_P(atomic_waker, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_atomic_waker>>,
                               csync_test::kind_name);
#else
TEST(Conformance, atomic_wakerUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::atomic_waker is not compiled on this platform";
}
#endif

}  // namespace
