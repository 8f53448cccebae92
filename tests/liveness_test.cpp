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

TEST(Liveness, ADefaultTicketFindsNothing) {
  EXPECT_EQ(liveness::pin(liveness::ticket{}), nullptr);
}

TEST(Liveness, EnrolmentIsOnceAndTheIdIsNeverZero) {
  liveness a, b;
  const liveness::ticket t = a.enrol();
  EXPECT_NE(t.id, 0u);
  EXPECT_EQ(a.enrol().id, t.id);
  EXPECT_NE(b.enrol().id, t.id);
}

TEST(Liveness, PinFindsALiveObjectOnlyUnderItsOwnId) {
  liveness entry;
  liveness::ticket t = entry.enrol();
  ASSERT_EQ(liveness::pin(t), &entry);
  entry.unpin();
  ++t.id;
  EXPECT_EQ(liveness::pin(t), nullptr) << "another id at the same address";
}

// A destroyed object is not found, and a new object built in the same
// storage (what an allocator often hands out next) is not taken for it.
TEST(Liveness, ADestroyedObjectIsNotFoundAndANewOneAtItsAddressIsNotTakenForIt) {
  alignas(liveness) unsigned char storage[sizeof(liveness)];
  auto* first = ::new (storage) liveness;
  const liveness::ticket first_ticket = first->enrol();
  first->~liveness();
  EXPECT_EQ(liveness::pin(first_ticket), nullptr);

  auto* second = ::new (storage) liveness;
  EXPECT_EQ(liveness::pin(first_ticket), nullptr) << "not enrolled yet";
  const liveness::ticket second_ticket = second->enrol();
  EXPECT_EQ(second_ticket.address, first_ticket.address);
  EXPECT_NE(second_ticket.id, first_ticket.id);
  EXPECT_EQ(liveness::pin(first_ticket), nullptr) << "the old ticket named the old object";
  ASSERT_EQ(liveness::pin(second_ticket), second);
  second->unpin();
  second->~liveness();
}

// Many objects in the shards' lists (an array: neighbours), each found under
// its own ticket after others left.
TEST(Liveness, ManyObjectsEachFoundUnderItsOwnTicket) {
  std::vector<std::unique_ptr<liveness>> objects(200);
  std::vector<liveness::ticket> tickets;
  for (auto& o : objects) {
    o = std::make_unique<liveness>();
    tickets.push_back(o->enrol());
  }
  for (std::size_t i = 0; i < objects.size(); i += 2) objects[i].reset();
  for (std::size_t i = 0; i < objects.size(); ++i) {
    liveness* found = liveness::pin(tickets[i]);
    if (i % 2 == 0) {
      EXPECT_EQ(found, nullptr) << i;
    } else {
      ASSERT_EQ(found, objects[i].get()) << i;
      found->unpin();
    }
  }
}

// The destructor waits for a pin taken before it started (the pinned call
// still uses the object), and finishes once the pin is released.
TEST(Liveness, TheDestructorWaitsForAPinTakenBeforeIt) {
  auto* entry = new liveness;
  ASSERT_EQ(liveness::pin(entry->enrol()), entry);
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

// Racing first enrolments of one object agree on one ticket; racing pins and
// destructions of many objects never touch a destroyed one (ThreadSanitizer,
// AddressSanitizer): each pin either finds its object alive or nothing.
TEST(Liveness, RacingEnrolmentsPinsAndDestructions) {
  for (int round = 0; round < 200; ++round) {
    liveness shared;
    liveness::ticket seen[2];
    std::thread a([&] { seen[0] = shared.enrol(); });
    std::thread b([&] { seen[1] = shared.enrol(); });
    a.join();
    b.join();
    ASSERT_EQ(seen[0].id, seen[1].id);
    ASSERT_EQ(seen[0].where, seen[1].where);
  }
  constexpr int objects = 64;
  std::vector<liveness*> made(objects);
  std::vector<liveness::ticket> tickets(objects);
  for (int i = 0; i < objects; ++i) {
    made[i] = new liveness;
    tickets[i] = made[i]->enrol();
  }
  std::thread pinner([&] {
    for (int pass = 0; pass < 20; ++pass) {
      for (const liveness::ticket& t : tickets) {
        if (liveness* e = liveness::pin(t)) e->unpin();
      }
    }
  });
  for (liveness* e : made) delete e;
  pinner.join();
  for (const liveness::ticket& t : tickets) EXPECT_EQ(liveness::pin(t), nullptr);
}

}  // namespace
