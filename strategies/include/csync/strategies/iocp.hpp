// csync/strategies/iocp.hpp
// -----------------------------------------------------------------------------
// strategy::iocp -- waiters are recorded in userspace (an intrusive FIFO under
// a mutex, as intrusive_list) and a coroutine waiter is woken by a completion
// packet posted to the I/O completion port of *its own* loop; a thread waiter
// sleeps with WaitOnAddress on its waiter's state word. Windows only: the
// class compiles everywhere, but CSYNC_HAVE_IOCP is defined, and
// availability() says yes, only where the IOCP loop backend is compiled
// (<csync/runtime/iocp_backend.hpp>: Windows, CSYNC_WITH_IOCP not 0) and a
// port can be created.
//
// The registry is intrusive_list's: the shared queue-strategy skeleton
// (<csync/detail/locked_fifo.hpp>) over detail::intrusive_fifo, with its
// state machine and races handled. Only the delivery is this strategy's own.
//
// Delivery (S::deliver, after the notifier's last access to the primitive,
// in FIFO order):
//   * coroutine waiter whose loop runs an IOCP backend and is not the
//     notifier's own loop: its work_item joins a chain for that loop; once
//     the woken list is sorted (up to 32 distinct loops at a time), each
//     chain goes out as ONE completion packet
//     (iocp_backend::post_remote_chain: PostQueuedCompletionStatus with the
//     chain's head as the OVERLAPPED pointer). The loop's
//     GetQueuedCompletionStatusEx dequeues it and runs the items on the
//     loop's thread. So wake_all of k waiters on m loops costs m packets,
//     and every waiter is woken (a single auto-reset event per queue would
//     wake one per wake_all and merge N releases into one).
//   * coroutine waiter on the notifier's own loop: Loop::post, i.e. the
//     loop's local ready queue (no system call; it runs in the next batch).
//   * coroutine waiter on a loop with another backend (a Loop constructed
//     with make_portable_backend(), CSYNC_LOOP_BACKEND=portable): Loop::post,
//     i.e. that backend's own wake. Correct, merely not a packet.
//   * thread waiter: detail::deliver -- release store of `notified` into the
//     waiter's state word, then WakeByAddressSingle on it; the thread sleeps
//     in WaitOnAddress on that word (detail::park, address_wait.hpp).
//
// Why WaitOnAddress and not a completion port per thread: a port per waiting
// thread would be a kernel handle per thread (created once, kept in
// thread-local storage, closed at thread exit) and would cost the same two
// system calls per wait/wake (GetQueuedCompletionStatus +
// PostQueuedCompletionStatus) as WaitOnAddress/WakeByAddressSingle, which
// need no handle at all and skip the kernel when the word already changed.
// A thread has no loop to share a port with, so a port buys nothing there.
//
// Optional API: NtAssociateWaitCompletionPacket (with NtCreate/
// NtCancelWaitCompletionPacket; undocumented, Windows 8+) lets a port
// receive a packet when a kernel object is signalled -- the way to wait for
// a HANDLE (a process, an event) and csync waiters in one loop. Wine 8.0's
// ntdll lacks all three (observed). iocp_features() reports whether they are
// present (resolved once with GetProcAddress, never linked, so the same
// binary runs either way); csync does not need them -- its waiters live in
// userspace and are delivered by posted packets -- and uses them nowhere
// yet: waiting on foreign handles through the loop is future work that
// would take that path where it exists and RegisterWaitForSingleObject
// posting to the port where it does not.
//
// Races handled: as intrusive_list (locked_fifo.hpp). A packet is posted
// only for detached waiters, whose frames cannot end
// before their item runs, and after post_remote_chain returns neither the
// items nor the target backend are touched again (the loop may finish and
// be destroyed as soon as the packet is queued).
//
// Memory ordering: for threads X and Y, where X notifies a waiter that Y
// owns, everything X did before notify (the primitive's grant of permits,
// the unlink) happens-before Y's resumption: for a coroutine through the
// completion port (the kernel's queue; iocp_backend.hpp), or the loop's own
// ready queue on the same thread; for a thread through the release store
// of `notified`, paired with park()'s acquire load. Registration and notify
// are ordered by the registry's lock.
//
// Where waiters resume: a coroutine on its own loop's thread, inside run(),
// after the loop dequeued the packet -- never inside notify. A thread
// returns from wait() on its own thread.
// Lifetime: the strategy may be destroyed once no waiter is linked (asserted).
//
// FIFO: yes. Hand-off: yes (has_queue).
// -----------------------------------------------------------------------------
#pragma once

#include <array>
#include <cassert>
#include <cstddef>
#include <mutex>
#include <string_view>

#include <csync/detail/atomic.hpp>
#include <csync/detail/intrusive_fifo.hpp>
#include <csync/detail/iocp_probe.hpp>
#include <csync/detail/locked_fifo.hpp>
#include <csync/detail/waiter.hpp>
#include <csync/runtime/backend.hpp>
#include <csync/runtime/iocp_backend.hpp>
#include <csync/runtime/loop.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/stats.hpp>

#if CSYNC_HAVE_IOCP_BACKEND
#define CSYNC_HAVE_IOCP 1
#endif

namespace csync::strategy {

/// What strategy::iocp found about optional Windows APIs (see "Optional API").
struct iocp_features {
  /// ntdll exports NtCreate/NtAssociate/NtCancelWaitCompletionPacket.
  bool wait_completion_packet = false;
  /// Why not (empty when present), e.g. "ntdll.dll does not export
  /// NtCreateWaitCompletionPacket, ... (Wine 8.0)".
  std::string_view reason{};
};

template <stats_hook Stats = no_stats>
class basic_iocp : public detail::locked_fifo<detail::intrusive_fifo, Stats> {
 public:
  static constexpr std::string_view name = "iocp";
  struct options {};

  basic_iocp() = default;
  explicit basic_iocp(const options&) {}

  /// Available where the IOCP backend is compiled and a completion port can
  /// be created (probe_iocp(), run once per process).
  static csync::availability availability() noexcept {
    const runtime::iocp_probe& probe = runtime::probe_iocp();
    if (probe.port_ok) return {};
    return {false, probe.port_reason};  // the probe lives until exit
  }

  /// Optional API detection; never fails, never crashes where they are absent.
  static iocp_features features() noexcept {
    const runtime::iocp_probe& probe = runtime::probe_iocp();
    return {probe.wait_packet_ok, probe.wait_packet_reason};
  }

  /// Delivers the woken waiters: one completion packet per IOCP loop, see the
  /// file comment. Touches no waiter after handing it over, and no strategy.
  [[gnu::noinline]] static void deliver(detail::wake_list& woken) noexcept {
#if CSYNC_HAVE_IOCP
    struct chain {
      runtime::Loop* loop = nullptr;
      runtime::iocp_backend* port = nullptr;  ///< nullptr: the loop has another backend
      runtime::work_queue items;
    };
    constexpr std::size_t max_chains = 32;  // distinct loops sorted at a time
    runtime::Loop* const here = runtime::Loop::current();
    while (detail::waiter* first = woken.pop()) {
      std::array<chain, max_chains> chains;
      std::size_t used = 0;
      for (detail::waiter* next = first; next != nullptr;
           next = used == max_chains ? nullptr : woken.pop()) {
        detail::waiter& w = *next;
        runtime::Loop* const loop = w.loop;
        if (loop == nullptr || loop == here) {
          detail::deliver(w);  // thread: WakeByAddressSingle; own loop: local ready queue
          continue;
        }
        std::size_t c = 0;
        while (c < used && chains[c].loop != loop) ++c;
        if (c == used) {
          chains[used].loop = loop;
          chains[used].port = runtime::iocp_backend_of(*loop);
          ++used;
        }
        if (chains[c].port == nullptr) {
          detail::deliver(w);  // another backend: its own post
          continue;
        }
        chains[c].items.push_back(w.item);
      }
      // Each loop's waiters are still suspended until its packet is dequeued,
      // so each target backend outlives its own post_remote_chain; nothing of
      // a chain is touched after it was posted.
      for (std::size_t c = 0; c < used; ++c) {
        if (chains[c].port != nullptr) chains[c].port->post_remote_chain(chains[c].items);
      }
    }
#endif
    detail::deliver_all(woken);  // whatever is left (everything where IOCP is not compiled)
  }
};

using iocp = basic_iocp<>;

}  // namespace csync::strategy
