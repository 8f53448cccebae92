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
// its awaiter (in `final_suspend`) hand control over by returning the next
// coroutine handle instead of calling `resume()`, so the compiler emits a
// tail call. A long chain of tasks that complete synchronously (a loop of
// 100000 `co_await`s, or recursion 100000 tasks deep) therefore runs in
// constant stack (cppcoro#65 is the failure mode this avoids).
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

/// What every Task promise shares: laziness, the awaiter to resume, the
/// exception the body ended with.
class task_promise_base {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    /// Symmetric transfer to the awaiter; a task nobody awaits (only possible
    /// through misuse) ends here and returns to whoever resumed it.
    template <class Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      std::coroutine_handle<> next = self.promise().continuation_;
      return next ? next : std::noop_coroutine();
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
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
      task.promise().set_continuation(awaiting);
      return task;  // symmetric transfer: start the body as a tail call
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
