// csync/task.hpp
// -----------------------------------------------------------------------------
// csync::Task<T> -- a lazy, move-only coroutine task.
//
// A function returning `Task<T>` is a coroutine that does not start when
// called: it starts when the returned task is `co_await`ed, runs on the
// awaiting thread, and when it finishes the awaiter resumes with its result
// (`co_await` yields `T`, or rethrows the exception the task ended with).
// Top-level tasks are started by `csync::runtime::Loop::spawn`.
//
//   Task<int> answer() { co_return 42; }
//   Task<> user() { int v = co_await answer(); ... }
//
// Symmetric transfer: starting a task (in `await_suspend`) and returning to
// its awaiter (in `final_suspend`) hand control directly to the next
// coroutine without nesting a `resume()` call per step, so a long chain of
// tasks that complete synchronously (a loop of 100000 `co_await`s, or a
// recursion 100000 tasks deep) runs in constant stack (cppcoro#65 is the
// failure mode this avoids). The standard spelling -- `await_suspend`
// returning the next handle -- is not used: GCC (through 14; PR c++/100897,
// libcoro#273) emits the resulting `resume()` as a tail call only when it
// optimizes sibling calls (-O2 without sanitizers), so Debug and sanitizer
// builds overflow the stack. Instead the hand-over goes through a per-thread
// trampoline (`detail::symmetric_transfer`, below), which has the same
// observable behaviour in every build mode. The section "Trampoline" next to
// it states the protocol.
//
// Memory ordering: a Task has no internal synchronization. For threads X and
// Y: if X resumes a task's coroutine and Y later resumes it (a wake-up
// delivered through a Loop, say), the delivery mechanism must make X's steps
// happen-before Y's; csync::runtime::Loop::post does (see loop.hpp). The
// result written by `co_return` is read by the awaiter after the symmetric
// transfer in `final_suspend`, on the same thread, so it needs no ordering.
//
// Where things run: the body runs on the thread that `co_await`s it until its
// first real suspension; afterwards on whichever thread resumes it (for tasks
// on a Loop, the loop's thread). The awaiter is resumed inline, on the thread
// that completes the task, by symmetric transfer -- never anywhere else.
//
// Lifetime: the Task object owns the coroutine frame and destroys it in its
// destructor. A task that is being awaited is owned by the awaiting frame (a
// temporary or local there), so the frame outlives the await. Destroying a
// task that was started but has not finished is only allowed while it is
// suspended and nothing will resume it again (it is a usage error otherwise).
// A task may be awaited once; the result is moved out by that `co_await`
// (awaiting an empty, moved-from or already-awaited task asserts in debug).
// -----------------------------------------------------------------------------
#pragma once

#include <cassert>
#include <concepts>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace csync {

template <class T = void>
class Task;

namespace detail {

// --- Trampoline ---------------------------------------------------------------
// `symmetric_transfer(suspending, next)` is called from the `await_suspend` of
// the coroutine `suspending` (which is already suspended) and makes `next` run
// in its place. Per thread, `trampoline_state` records `running`: the
// coroutine the innermost trampoline on this thread resumed and that has not
// handed over yet.
//
//   * Deferral: if `suspending` is `running`, the caller of its `resume()` is
//     the trampoline loop itself, and the coroutine's actor returns to it as
//     soon as `await_suspend` returns. So the call just records `next` and
//     returns; the loop resumes `next` with no stack growth.
//   * New trampoline: otherwise (`suspending` was resumed by a Loop item, by
//     user code, or started by a plain call) the call becomes a trampoline
//     inside this `await_suspend`: it saves the state of any outer trampoline
//     (so a nested Loop::run or an inline resume never has its work deferred
//     to an outer loop that cannot run meanwhile), resumes `next`, then
//     whatever each resumed coroutine deferred, until a coroutine suspends
//     without deferring (it waits for something else) or finishes without a
//     continuation, and restores the saved state.
//
// Races handled (all on one thread; the state is thread-local):
//   * `suspending` itself may be resumed, finish and be freed inside the new
//     trampoline before `await_suspend` returns (a task completing
//     synchronously resumes its awaiter through the deferral). That is the
//     standard's "resumed before await_suspend returns" case: after the call,
//     `await_suspend` touches neither the awaiter nor the frame, and the
//     compiler-generated code after a void `await_suspend` only returns.
//   * A coroutine resumed by the trampoline may suspend through a foreign
//     awaiter that resumes it again inline; its next hand-over still defers
//     to the same loop, which runs once the inline resume unwinds.
//   * Frame-address reuse cannot confuse the identity test: `running` is set
//     immediately before each `resume()` and cleared by the deferral, so it
//     names a live, currently executing coroutine whenever it is compared.
// A continuation whose `resume()` lets an exception escape (not a Task: its
// promise catches everything) terminates the program, as a `noexcept`
// symmetric transfer would.
struct trampoline_state {
  std::coroutine_handle<> running{};
  std::coroutine_handle<> next{};
};

inline trampoline_state& this_thread_trampoline() noexcept {
  static thread_local trampoline_state state;
  return state;
}

inline void symmetric_transfer(std::coroutine_handle<> suspending,
                               std::coroutine_handle<> next) noexcept {
  trampoline_state& t = this_thread_trampoline();
  if (suspending == t.running) {  // resumed by the innermost trampoline: defer
    assert(!t.next && "two hand-overs from one resume");
    t.next = next;
    t.running = nullptr;
    return;
  }
  const trampoline_state outer = t;
  while (next) {
    t.running = next;
    t.next = nullptr;
    next.resume();
    next = t.next;
  }
  t = outer;
}

/// What every Task promise shares: laziness, the awaiter to resume, the
/// exception the body ended with.
class task_promise_base {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    /// Symmetric transfer to the awaiter; a task nobody awaits (only possible
    /// through misuse) ends here and returns to whoever resumed it.
    template <class Promise>
    void await_suspend(std::coroutine_handle<Promise> self) noexcept {
      symmetric_transfer(self, self.promise().continuation_);
    }
    void await_resume() const noexcept {}
  };

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }

  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }

 protected:
  void rethrow_if_exception() {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::coroutine_handle<> continuation_{};
  std::exception_ptr exception_{};
};

template <class T>
class task_promise final : public task_promise_base {
 public:
  Task<T> get_return_object() noexcept;

  template <class U = T>
    requires std::constructible_from<T, U&&>
  void return_value(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    value_.emplace(std::forward<U>(value));  // a throwing constructor lands in unhandled_exception()
  }

  /// Moves the result out (or rethrows). Called once, by the awaiter.
  T take_result() {
    rethrow_if_exception();
    assert(value_.has_value());
    return std::move(*value_);
  }

 private:
  std::optional<T> value_{};
};

template <class T>
class task_promise<T&> final : public task_promise_base {
 public:
  Task<T&> get_return_object() noexcept;
  void return_value(T& value) noexcept { value_ = std::addressof(value); }
  T& take_result() {
    rethrow_if_exception();
    assert(value_ != nullptr);
    return *value_;
  }

 private:
  T* value_ = nullptr;
};

template <>
class task_promise<void> final : public task_promise_base {
 public:
  Task<void> get_return_object() noexcept;
  void return_void() const noexcept {}
  void take_result() { rethrow_if_exception(); }
};

}  // namespace detail

template <class T>
class [[nodiscard]] Task {
 public:
  using promise_type = detail::task_promise<T>;
  using value_type = T;

  /// An empty task (owns no coroutine); only assignable, movable, destructible.
  Task() noexcept = default;
  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, nullptr)) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, nullptr);
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  /// True when this task owns a coroutine frame.
  bool valid() const noexcept { return static_cast<bool>(handle_); }
  explicit operator bool() const noexcept { return valid(); }

  /// Starts the task (symmetric transfer into its body) and resumes the
  /// awaiter with its result when it finishes. Both value categories are
  /// accepted; either way the result is moved out, so await a task once.
  auto operator co_await() && noexcept { return awaiter{handle_}; }
  auto operator co_await() & noexcept { return awaiter{handle_}; }

 private:
  friend class detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;

  explicit Task(handle_type h) noexcept : handle_(h) {}

  struct awaiter {
    handle_type task;

    bool await_ready() const noexcept {
      assert(task && "co_await on an empty (moved-from) Task");
      assert(!task.done() && "a Task may be co_awaited only once");
      return false;
    }
    void await_suspend(std::coroutine_handle<> awaiting) noexcept {
      task.promise().set_continuation(awaiting);
      // Start the body. `this` lives in the awaiting frame, which may be gone
      // when this returns (see "Trampoline"): touch nothing afterwards.
      detail::symmetric_transfer(awaiting, task);
    }
    decltype(auto) await_resume() { return task.promise().take_result(); }
  };

  handle_type handle_{};
};

namespace detail {

template <class T>
Task<T> task_promise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<task_promise>::from_promise(*this));
}

template <class T>
Task<T&> task_promise<T&>::get_return_object() noexcept {
  return Task<T&>(std::coroutine_handle<task_promise>::from_promise(*this));
}

inline Task<void> task_promise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<task_promise>::from_promise(*this));
}

}  // namespace detail
}  // namespace csync
