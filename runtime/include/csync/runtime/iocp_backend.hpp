// csync/runtime/iocp_backend.hpp
// -----------------------------------------------------------------------------
// The IOCP Loop backend (Windows): the loop sleeps on an I/O completion port
// of its own, and every remote post -- a task woken from another thread, a
// yield posted from elsewhere -- arrives as a completion packet.
//
// Availability. The class exists only when CSYNC_HAVE_IOCP_BACKEND is 1
// (Windows, CSYNC_WITH_IOCP not 0; see <csync/detail/iocp_probe.hpp>);
// `probe_iocp`, `make_iocp_backend` and `iocp_backend_of` exist everywhere
// (elsewhere they report, throw, and return nullptr).
//
//   const iocp_probe& probe_iocp() noexcept;        // cached, thread-safe
//   std::unique_ptr<backend> make_iocp_backend();   // throws runtime_error
//   class iocp_backend final : public backend;      // name() == "iocp"
//   iocp_backend* iocp_backend_of(Loop&) noexcept;  // nullptr: other backend
//
// A default-constructed Loop uses this backend on Windows (see
// make_default_backend() in loop.hpp, and CSYNC_LOOP_BACKEND=portable|iocp).
//
// Design
//   Port. One completion port per backend, i.e. per Loop:
//   CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1) -- no file, and
//   concurrency 1, since only the loop's thread ever dequeues from it.
//
//   post_remote(item) / post_remote_chain(items), any thread: one
//   PostQueuedCompletionStatus with completion key `kChainKey`, the first
//   work_item's address as the OVERLAPPED pointer and the number of items
//   as the byte count. The items are linked through work_item::next (a
//   work_queue), so a notifier that hands several waiters to one loop pays
//   one packet, not one per waiter (strategy::iocp does that). Posted values
//   come back verbatim and the OVERLAPPED pointer is never dereferenced by
//   the system (iocp-wine.md §1), so any pointer can travel this way. The
//   packet is both the publication and the wake: the same kernel call.
//
//   collect(out, block, deadline), loop thread: GetQueuedCompletionStatusEx
//   for up to `kBatch` packets with a timeout of 0 (not blocking), INFINITE
//   (blocking, no deadline) or the milliseconds left until `deadline`,
//   rounded up; a full batch is followed by more non-blocking calls until
//   the port is empty. Each packet's chain is appended to `out` in order.
//   A timeout (WAIT_TIMEOUT, 258) returns with nothing collected; the loop
//   then runs its expired timers (timers stay in the Loop, as with every
//   backend). Any other failure -- e.g. the port handle closed under the
//   loop (ERROR_ABANDONED_WAIT_0) -- is a bug: reported on stderr, abort.
//   A non-blocking collect first reads a relaxed counter of packets posted
//   and not yet dequeued (`outstanding_`) and skips the system call when it
//   is 0, so a loop busy with local work does not enter the kernel every
//   round; posters bump it before posting, the loop lowers it by what it
//   dequeued. A stale 0 only defers packets to the next collect; a loop out
//   of local work always blocks in the kernel.
//
//   Posting failure: PostQueuedCompletionStatus fails only when the system
//   cannot allocate the packet. Dropping it would lose a wake-up for good,
//   so post_remote retries (sleeping 1 ms between tries) for about a second
//   and then reports on stderr and aborts -- the io_uring backend's answer
//   to a dropped CQE.
//
// Memory ordering: for threads X and Y, where Y runs the loop, everything X
// did before `post_remote(item)` happens-before Y's return from the
// `GetQueuedCompletionStatusEx` that dequeues the packet: the port's queue is
// a kernel object whose insert and remove are serialized by the kernel, and
// Windows documents that functions which signal or wait on synchronization
// objects order memory ("Synchronization and Multiprocessor Issues"). The
// `outstanding_` counter is a relaxed hint and orders nothing.
//
// Lifetime: the post is the single operation that both publishes the items
// and wakes the loop (backend.hpp's requirement for kernel backends): after
// PostQueuedCompletionStatus returns, post_remote touches neither the items
// nor the backend, so the loop may take the items, finish and destroy the
// backend at once. The counter bump comes before the post, when the loop
// cannot finish yet. The destructor closes the port; it requires that no
// thread is inside post_remote/collect. Packets still queued then are
// discarded with the port -- only items not tied to a task can be among
// them (the Loop's rule: a task's wake keeps run() alive until it ran).
//
// Where things run: items run on the loop thread inside run(), after the
// collect that dequeued them -- never inline in post_remote.
// -----------------------------------------------------------------------------
#pragma once

#include <csync/detail/atomic.hpp>
#include <csync/detail/iocp_probe.hpp>
#include <csync/runtime/loop.hpp>

#include <memory>
#include <stdexcept>
#include <string>

#if CSYNC_HAVE_IOCP_BACKEND

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string_view>
#include <system_error>

#include <csync/detail/win32.hpp>
#include <csync/runtime/backend.hpp>
#include <csync/runtime/work_item.hpp>

namespace csync::runtime {

class iocp_backend final : public backend {
 public:
  static constexpr std::string_view kName = "iocp";
  /// Completion key of a packet carrying a chain of work_items.
  static constexpr ULONG_PTR kChainKey = 0x63737963;  // "csyc"
  /// Packets dequeued per GetQueuedCompletionStatusEx call.
  static constexpr ULONG kBatch = 64;

  /// Throws std::system_error when the port cannot be created.
  iocp_backend() : port_(::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1)) {
    if (port_ == nullptr) {
      throw std::system_error(static_cast<int>(::GetLastError()), std::system_category(),
                              "csync: CreateIoCompletionPort");
    }
  }
  iocp_backend(const iocp_backend&) = delete;
  iocp_backend& operator=(const iocp_backend&) = delete;
  ~iocp_backend() override { ::CloseHandle(port_); }

  std::string_view name() const noexcept override { return kName; }

  /// The port, for diagnostics and tests. Do not dequeue from it, and do
  /// not associate handles with it: collect() expects only csync's packets.
  HANDLE port() const noexcept { return port_; }

  void post_remote(work_item& item) noexcept override {
    item.next = nullptr;
    post_packet(&item, 1);
  }

  /// Any thread: hand every item of `items` (in order) to the loop with one
  /// completion packet; `items` is left empty. The caller must not touch
  /// the items afterwards. Nothing happens for an empty queue.
  void post_remote_chain(work_queue& items) noexcept {
    std::uint32_t count = 0;
    work_item* head = items.pop_front();
    if (head == nullptr) return;
    // Relink: the queue's own links are exactly the chain; rebuild them
    // while counting (pop_front clears `next`).
    work_item* tail = head;
    ++count;
    while (work_item* item = items.pop_front()) {
      tail->next = item;
      tail = item;
      ++count;
    }
    post_packet(head, count);
  }

  void collect(work_queue& out, bool block,
               std::optional<std::chrono::steady_clock::time_point> deadline) override {
    // relaxed: a hint, paired with the relaxed increment in post_packet();
    // a stale 0 defers the packets to the next collect, and a loop with
    // nothing else to do passes block = true, which always asks the kernel.
    if (!block && outstanding_.load(std::memory_order_relaxed) == 0) return;
    DWORD timeout = 0;
    if (block) timeout = deadline ? timeout_until(*deadline) : INFINITE;
    for (;;) {
      OVERLAPPED_ENTRY entries[kBatch];
      ULONG n = 0;
      if (!::GetQueuedCompletionStatusEx(port_, entries, kBatch, &n, timeout, FALSE)) {
        const DWORD error = ::GetLastError();
        if (error == WAIT_TIMEOUT) return;
        fail("GetQueuedCompletionStatusEx", error);
      }
      for (ULONG i = 0; i < n; ++i) take(out, entries[i]);
      // relaxed: see the load above; the kernel already ordered the items.
      outstanding_.fetch_sub(n, std::memory_order_relaxed);
      if (n < kBatch) return;
      timeout = 0;  // a full batch: drain the rest without sleeping
    }
  }

 private:
  void post_packet(work_item* head, std::uint32_t count) noexcept {
    // relaxed: a hint for collect() (see there). Bumped before the post:
    // afterwards the loop may already have finished and destroyed *this.
    outstanding_.fetch_add(1, std::memory_order_relaxed);
    const HANDLE port = port_;
    for (int attempt = 0;; ++attempt) {
      // The last access to *this is reading port_ above: from the moment the
      // packet is queued the loop may run the items, finish and destroy us.
      if (::PostQueuedCompletionStatus(port, count, kChainKey,
                                       reinterpret_cast<LPOVERLAPPED>(head))) {
        return;
      }
      if (attempt == 1000) fail("PostQueuedCompletionStatus", ::GetLastError());
      ::Sleep(1);  // out of memory for the packet: try again shortly
    }
  }

  static void take(work_queue& out, const OVERLAPPED_ENTRY& e) noexcept {
    if (e.lpCompletionKey != kChainKey) {
      std::fprintf(stderr, "csync: iocp backend: unexpected completion key %llu\n",
                   static_cast<unsigned long long>(e.lpCompletionKey));
      std::abort();
    }
    // The OVERLAPPED pointer is the chain's first work_item (see post_packet).
    work_item* item = reinterpret_cast<work_item*>(e.lpOverlapped);
    while (item != nullptr) {
      work_item* next = item->next;  // push_back clears it
      out.push_back(*item);
      item = next;
    }
  }

  static DWORD timeout_until(std::chrono::steady_clock::time_point deadline) noexcept {
    const auto now = std::chrono::steady_clock::now();
    if (deadline <= now) return 0;
    // Round up, so that a wake-up before the deadline is rare and a
    // sub-millisecond remainder does not become a spin of 0 ms waits.
    const auto ms = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    return ms >= static_cast<std::int64_t>(INFINITE - 1) ? INFINITE - 1 : static_cast<DWORD>(ms);
  }

  [[noreturn]] static void fail(const char* call, DWORD error) noexcept {
    const std::string text = ::csync::detail::win32_error_text(error);
    std::fprintf(stderr, "csync: iocp backend: %s failed: %s\n", call, text.c_str());
    std::abort();
  }

  HANDLE port_;                                ///< immutable after construction
  detail::atomic<std::uint64_t> outstanding_{0};  ///< hint: packets posted, not yet dequeued
};

/// A fresh IOCP backend; std::runtime_error (with the probe's reason) when
/// IOCP is unavailable here, std::system_error when this port cannot be
/// created.
inline std::unique_ptr<backend> make_iocp_backend() {
  const iocp_probe& probe = probe_iocp();
  if (!probe.port_ok) {
    throw std::runtime_error("csync: iocp unavailable (" + probe.port_reason + ")");
  }
  return std::make_unique<iocp_backend>();
}

/// The loop's IOCP backend, or nullptr when it uses another backend.
inline iocp_backend* iocp_backend_of(Loop& loop) noexcept {
  return dynamic_cast<iocp_backend*>(&loop.get_backend());
}

}  // namespace csync::runtime

#else  // !CSYNC_HAVE_IOCP_BACKEND

namespace csync::runtime {

class iocp_backend;

inline std::unique_ptr<backend> make_iocp_backend() {
  throw std::runtime_error("csync: iocp unavailable (" + probe_iocp().port_reason + ")");
}

inline iocp_backend* iocp_backend_of(Loop&) noexcept { return nullptr; }

}  // namespace csync::runtime

#endif  // CSYNC_HAVE_IOCP_BACKEND
