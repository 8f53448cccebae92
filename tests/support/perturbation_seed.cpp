// Linked into the *_perturbed test binaries (built with
// CSYNC_SCHEDULE_PERTURBATION=1): prints the schedule-perturbation seed before
// the first test and, after each failed test, the command that reruns it with
// the same seed. See csync/detail/schedule_perturbation.hpp.
#include <cstdio>
#include <string>

#include <gtest/gtest.h>

#include <csync/detail/atomic.hpp>

#if !(defined(CSYNC_SCHEDULE_PERTURBATION) && CSYNC_SCHEDULE_PERTURBATION)
#error "perturbation_seed.cpp belongs to the CSYNC_SCHEDULE_PERTURBATION=1 test binaries"
#endif

namespace {

class perturbation_seed_printer : public ::testing::EmptyTestEventListener {
  void OnTestProgramStart(const ::testing::UnitTest&) override {
    const auto& settings = csync::detail::perturbation();
    // A hang (a lost wakeup) ends in a CTest timeout with no failure event,
    // so the seed is printed up front, where the captured output keeps it.
    std::printf("[ perturb  ] schedule perturbation: CSYNC_PERTURB_SEED=%llu CSYNC_PERTURB_RATE=%u\n",
                static_cast<unsigned long long>(settings.seed), settings.rate);
    std::fflush(stdout);
  }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    if (!info.result()->Failed()) return;
    const auto& settings = csync::detail::perturbation();
    std::printf("[ perturb  ] reproduce: CSYNC_PERTURB_SEED=%llu CSYNC_PERTURB_RATE=%u <this binary> "
                "--gtest_filter='%s.%s' --gtest_repeat=20\n",
                static_cast<unsigned long long>(settings.seed), settings.rate,
                info.test_suite_name(), info.name());
    std::fflush(stdout);
  }
};

// gtest_main parses flags and runs the tests; registering from a static
// initializer puts the printer in place before it does.
const bool registered = [] {
  ::testing::UnitTest::GetInstance()->listeners().Append(new perturbation_seed_printer);
  return true;
}();

}  // namespace
