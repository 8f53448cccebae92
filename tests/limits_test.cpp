// tests/limits_test.cpp -- limits are errors in every build (semaphore.hpp,
// "Limits"): requests and releases beyond max_permits throw
// std::invalid_argument, a release that would overflow the count throws
// std::overflow_error and releases nothing, try_acquire says no. Release
// builds included (the default preset has no assertions), so nothing here
// relies on assert.
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>

#include <csync/csync.hpp>

namespace {

using csync::Task;
using Sem = csync::Semaphore<>;
constexpr std::size_t max = Sem::max_permits;

TEST(Limits, MaxPermitsLeavesRoomForTheFlags) {
  EXPECT_EQ(max, (std::size_t{1} << 61) - 1);
  Sem full(max);
  EXPECT_EQ(full.available(), max);
  EXPECT_THROW(Sem(max + 1), std::invalid_argument);
}

TEST(Limits, RequestsBeyondMaxPermitsThrowInvalidArgument) {
  Sem sem(1);
  EXPECT_FALSE(sem.try_acquire(max + 1));
  EXPECT_THROW(sem.acquire(max + 1), std::invalid_argument);
  EXPECT_THROW((void)sem.try_acquire_for(std::chrono::milliseconds(1), max + 1), std::invalid_argument);
  EXPECT_THROW((void)sem.async_acquire(max + 1), std::invalid_argument);
  EXPECT_THROW((void)sem.async_acquire_for(std::chrono::milliseconds(1), max + 1),
               std::invalid_argument);
  EXPECT_THROW(sem.release(max + 1), std::invalid_argument);
  EXPECT_EQ(sem.available(), 1u) << "a refused call changed the count";
  try {
    sem.release(max + 1);
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_permits"), std::string::npos) << e.what();
  }
}

TEST(Limits, OverflowingReleaseThrowsAndReleasesNothing) {
  Sem sem(max - 2);
  sem.release(2);  // exactly max: fine
  EXPECT_EQ(sem.available(), max);
  EXPECT_THROW(sem.release(1), std::overflow_error);
  EXPECT_EQ(sem.available(), max);
  ASSERT_TRUE(sem.try_acquire(5));
  EXPECT_THROW(sem.release(6), std::overflow_error);
  EXPECT_EQ(sem.available(), max - 5);
  sem.release(5);
  EXPECT_EQ(sem.available(), max);
}

// With a waiter queued the release takes its serving path; the check is the
// same and nothing is left half done (the waiter is still served later).
TEST(Limits, OverflowCheckedOnTheServingPathToo) {
  Sem sem(0);
  csync::runtime::Loop loop;
  bool got = false;
  loop.spawn([](Sem& s, bool& g) -> Task<> {
    co_await s.async_acquire(1);
    g = true;
  }(sem, got));
  loop.spawn([](Sem& s) -> Task<> {
    co_await csync::runtime::yield();  // the first task is queued now
    EXPECT_THROW(s.release(max + 1), std::invalid_argument);
    s.release(1);
  }(sem));
  loop.run();
  EXPECT_TRUE(got);
  EXPECT_EQ(sem.available(), 0u);
}

}  // namespace
