// tests/liveness_test.cpp -- csync::detail::liveness (csync/detail/liveness.hpp):
// what a dropped coroutine Condvar wait asks before it passes a notification
// on to a Condvar that its notifier may have destroyed.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <new>
#include <thread>
#include <vector>

#include <csync/detail/liveness.hpp>

namespace {

using csync::detail::liveness;
using namespace std::chrono_literals;

TEST(Liveness, AnObjectThatNeverEnrolledIsNotFound) {
  liveness entry;
  EXPECT_FALSE(liveness::pin(&entry, 1));
  EXPECT_FALSE(liveness::pin(&entry, 0));
}

TEST(Liveness, EnrolmentIsOnceAndTheIdIsNeverZero) {
  liveness a, b;
  const std::uint64_t id = a.enrol();
  EXPECT_NE(id, 0u);
  EXPECT_EQ(a.enrol(), id);
  EXPECT_NE(b.enrol(), id);
}

TEST(Liveness, PinFindsALiveObjectOnlyUnderItsOwnId) {
  liveness entry;
  const std::uint64_t id = entry.enrol();
  ASSERT_TRUE(liveness::pin(&entry, id));
  entry.unpin();
  EXPECT_FALSE(liveness::pin(&entry, id + 1)) << "another id at the same address";
}

// A destroyed object is not found, and a new object built in the same
// storage (what the allocator usually hands out next) is not taken for it.
TEST(Liveness, ADestroyedObjectIsNotFoundAndItsAddressIsNotReusedByMistake) {
  alignas(liveness) unsigned char storage[sizeof(liveness)];
  auto* first = ::new (storage) liveness;
  const std::uint64_t first_id = first->enrol();
  first->~liveness();
  EXPECT_FALSE(liveness::pin(reinterpret_cast<liveness*>(storage), first_id));

  auto* second = ::new (storage) liveness;
  EXPECT_FALSE(liveness::pin(second, first_id)) << "not enrolled yet";
  const std::uint64_t second_id = second->enrol();
  EXPECT_NE(second_id, first_id);
  EXPECT_FALSE(liveness::pin(second, first_id)) << "the old id named the old object";
  ASSERT_TRUE(liveness::pin(second, second_id));
  second->unpin();
  second->~liveness();
}

// Many objects in one shard's list (an array: neighbours), each found under
// its own id after others left.
TEST(Liveness, ManyObjectsEachFoundUnderItsOwnId) {
  std::vector<std::unique_ptr<liveness>> objects(200);
  std::vector<std::uint64_t> ids;
  for (auto& o : objects) {
    o = std::make_unique<liveness>();
    ids.push_back(o->enrol());
  }
  for (std::size_t i = 0; i < objects.size(); i += 2) objects[i].reset();
  for (std::size_t i = 1; i < objects.size(); i += 2) {
    ASSERT_TRUE(liveness::pin(objects[i].get(), ids[i])) << i;
    objects[i]->unpin();
  }
}

// The destructor waits for a pin taken before it started (the pinned call
// still uses the object), and finishes once the pin is released.
TEST(Liveness, TheDestructorWaitsForAPinTakenBeforeIt) {
  auto* entry = new liveness;
  const std::uint64_t id = entry->enrol();
  ASSERT_TRUE(liveness::pin(entry, id));
  std::atomic<bool> destroyed{false};
  std::thread destroyer([&] {
    delete entry;
    destroyed.store(true, std::memory_order_release);
  });
  std::this_thread::sleep_for(50ms);  // ample time to (wrongly) finish
  EXPECT_FALSE(destroyed.load(std::memory_order_acquire)) << "destroyed while pinned";
  entry->unpin();  // the pinned call's end: the object is intact until here
  destroyer.join();
  EXPECT_TRUE(destroyed.load(std::memory_order_acquire));
}

}  // namespace
