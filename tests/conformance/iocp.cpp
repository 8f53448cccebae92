// tests/conformance/iocp.cpp -- the conformance suite for strategy::iocp
// (every waiter kind; Windows, run under Wine in CI). The suite itself: suite.hpp.
#include <csync/strategies/iocp.hpp>

#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_IOCP)
INSTANTIATE_TYPED_TEST_SUITE_P(iocp, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_iocp>>,
                               csync_test::kind_name);
#else
TEST(Conformance, iocpUnavailable) {
  GTEST_SKIP() << "unavailable: " << csync::strategy::iocp::availability().reason;
}
#endif

}  // namespace
