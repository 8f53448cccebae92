// csync/detail/give_up.hpp
// -----------------------------------------------------------------------------
// When a coroutine waiter stops waiting without being delivered: never, when
// a stop_token is triggered, or at a deadline. The primitives' awaiters
// (Semaphore's acquire, Condvar's wait) are written once over this policy.
//
// A policy `give_up<When, Owner>` offers, to an awaiter `Owner` that has a
// `void give_up() noexcept` member (withdraw the registration if the strategy
// still has it, then resume on the waiter's own loop):
//
//   stop()           the stop_token to check inside the strategy's
//                    serialization at registration (nullptr: none)
//   due()            whether the waiter should give up now, checked on the
//                    waiter's loop before it registers again after a wake
//   prepare(w)       before each registration, on the waiter's loop: hands
//                    the deadline to the strategy and makes room for the
//                    timer, so that everything after the registration is
//                    noexcept. The only step that may throw (std::bad_alloc).
//   watch(o, w)      after each registration and `arm(w)` (on the waiter's
//                    loop), noexcept: make sure o.give_up() will be called
//                    when due -- a stop callback, or a timer on w's loop
//                    unless the strategy took charge of the deadline
//                    (w.deadline_armed)
//   unwatch(w)       once, on the waiter's loop, when the wait is over
//
// Calling give_up() when the registration is already gone is harmless: the
// strategy's cancel() answers "delivery in flight" and the awaiter does
// nothing (its pending delivery re-checks due()).
// -----------------------------------------------------------------------------
#pragma once

#include <chrono>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <csync/detail/waiter.hpp>
#include <csync/runtime/loop.hpp>

namespace csync::detail {

enum class give_up_on : unsigned char { never, stop, deadline };

template <give_up_on When, class Owner>
class give_up;

template <class Owner>
class give_up<give_up_on::never, Owner> {
 public:
  const std::stop_token* stop() const noexcept { return nullptr; }
  bool due() const noexcept { return false; }
  void prepare(waiter&) const noexcept {}
  void watch(Owner&, waiter&) const noexcept {}
  void unwatch(waiter&) const noexcept {}
};

template <class Owner>
class give_up<give_up_on::stop, Owner> {
 public:
  explicit give_up(std::stop_token token) noexcept : token_(std::move(token)) {}

  const std::stop_token* stop() const noexcept { return &token_; }
  bool due() const noexcept { return token_.stop_requested(); }
  void prepare(waiter&) const noexcept {}

  void watch(Owner& owner, waiter&) noexcept {
    // std::stop_callback's constructor does not allocate (the callback is
    // linked into the stop state) and is noexcept for this callable.
    static_assert(std::is_nothrow_constructible_v<std::stop_callback<caller>,
                                                  const std::stop_token&, caller>);
    // Constructed after the first registration: if stop is already requested
    // the callback runs right here and withdraws it. Later registrations
    // check the token inside the strategy's serialization instead.
    if (!callback_ && token_.stop_possible()) callback_.emplace(token_, caller{&owner});
  }

  /// Waits for a callback running on another thread to finish.
  void unwatch(waiter&) noexcept { callback_.reset(); }

 private:
  struct caller {
    Owner* owner;
    void operator()() const noexcept { owner->give_up(); }
  };

  std::stop_token token_;
  std::optional<std::stop_callback<caller>> callback_;
};

template <class Owner>
class give_up<give_up_on::deadline, Owner> {
 public:
  explicit give_up(std::chrono::steady_clock::time_point deadline) noexcept {
    timer_.deadline = deadline;
    timer_.run = &on_timer;
  }

  const std::stop_token* stop() const noexcept { return nullptr; }
  bool due() const noexcept { return std::chrono::steady_clock::now() >= timer_.deadline; }
  /// Throws std::bad_alloc (nothing changed then), and only before the first
  /// registration: later ones find the timer scheduled or the deadline kept
  /// by the strategy, so a re-registration from a delivery (noexcept) cannot.
  void prepare(waiter& w) {
    w.deadline = timer_.deadline;
    if (!timer_.scheduled() && !w.deadline_armed) w.loop->reserve_timer();
  }

  void watch(Owner& owner, waiter& w) noexcept {
    if (w.deadline_armed || timer_.scheduled()) return;
    timer_.owner = &owner;
    w.loop->add_timer_reserved(timer_);  // on w's loop: watch runs there
  }

  void unwatch(waiter& w) noexcept {
    if (timer_.scheduled()) w.loop->cancel_timer(timer_);
  }

 private:
  struct timer : runtime::timer_item {
    Owner* owner = nullptr;
  };

  static void on_timer(runtime::work_item* item) noexcept {
    static_cast<timer*>(item)->owner->give_up();
  }

  timer timer_;
};

}  // namespace csync::detail
