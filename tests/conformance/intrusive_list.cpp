// tests/conformance/intrusive_list.cpp -- the conformance suite for strategy::intrusive_list
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_INTRUSIVE_LIST)
INSTANTIATE_TYPED_TEST_SUITE_P(intrusive_list, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_intrusive_list>>,
                               csync_test::kind_name);
#else
TEST(Conformance, intrusive_listUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::intrusive_list is not compiled on this platform";
}
#endif

}  // namespace
