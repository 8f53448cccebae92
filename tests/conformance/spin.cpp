// tests/conformance/spin.cpp -- the conformance suite for strategy::spin
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_SPIN)
INSTANTIATE_TYPED_TEST_SUITE_P(spin, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_spin>>,
                               csync_test::kind_name);
#else
TEST(Conformance, spinUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::spin is not compiled on this platform";
}
#endif

}  // namespace
