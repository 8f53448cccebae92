// tests/conformance/futex.cpp -- the conformance suite for strategy::futex
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_FUTEX)
INSTANTIATE_TYPED_TEST_SUITE_P(futex, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_futex>>,
                               csync_test::kind_name);
#else
TEST(Conformance, futexUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::futex is not compiled on this platform";
}
#endif

}  // namespace
