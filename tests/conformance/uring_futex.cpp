// tests/conformance/uring_futex.cpp -- the conformance suite for strategy::uring_futex
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_URING_FUTEX)
INSTANTIATE_TYPED_TEST_SUITE_P(uring_futex, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_uring_futex>>,
                               csync_test::kind_name);
#else
TEST(Conformance, uring_futexUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::uring_futex is not compiled on this platform";
}
#endif

}  // namespace
