// tests/conformance/mutex_queue.cpp -- the conformance suite for strategy::mutex_queue
// (every waiter kind). The suite itself: suite.hpp.
#include "suite.hpp"

namespace {

#if defined(CSYNC_HAVE_MUTEX_QUEUE)
INSTANTIATE_TYPED_TEST_SUITE_P(mutex_queue, Conformance,
                               csync_test::kinds_for<csync_test::family<csync::strategy::basic_mutex_queue>>,
                               csync_test::kind_name);
#else
TEST(Conformance, mutex_queueUnavailable) {
  GTEST_SKIP() << "unavailable: strategy::mutex_queue is not compiled on this platform";
}
#endif

}  // namespace
