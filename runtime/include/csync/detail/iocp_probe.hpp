// csync/detail/iocp_probe.hpp
// -----------------------------------------------------------------------------
// The run-time IOCP probe, and the declaration of make_iocp_backend(). Public
// names (csync::runtime::iocp_probe, probe_iocp, make_iocp_backend) are
// documented in <csync/runtime/iocp_backend.hpp>; this internal header exists
// so that loop.hpp can choose the default backend without depending on the
// backend class (which itself depends on Loop) -- the same split as
// uring_probe.hpp.
//
// CSYNC_HAVE_IOCP_BACKEND is defined to 1 when the IOCP loop backend is
// compiled: on Windows unless CSYNC_WITH_IOCP is 0 (CMake records
// CSYNC_WITH_IOCP=0/1 on csync::csync; a non-CMake consumer that leaves it
// undefined gets the backend on Windows). It is left undefined otherwise.
//
// probe_iocp() runs once per process (a function-local static) and answers:
//   port_ok      can this process create an I/O completion port
//                (CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1));
//                port_reason says why not;
//   wait_packet_ok  does ntdll export NtCreateWaitCompletionPacket,
//                NtAssociateWaitCompletionPacket and
//                NtCancelWaitCompletionPacket (undocumented, Windows 8+): the
//                API that lets a port receive a packet when a kernel object
//                (an event, a thread) is signalled. Resolved with
//                GetProcAddress, never linked, so a system without them
//                (Wine 8.0: all three absent, observed) runs the same binary.
//                csync uses none of them yet (see strategy::iocp,
//                "Optional API"); the probe records whether a future path
//                could. wait_packet_reason says why not.
// Without the backend compiled in both are false and the reasons say so.
//
// Memory ordering: the result is published by the function-local static's
// initialization, which happens-before every return of probe_iocp().
// Lifetime: the returned reference stays valid until the process exits.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#if defined(_WIN32) && (!defined(CSYNC_WITH_IOCP) || CSYNC_WITH_IOCP)
#include <csync/detail/win32.hpp>
#define CSYNC_HAVE_IOCP_BACKEND 1
#endif

namespace csync::runtime {

class backend;

/// What probe_iocp() found. A reason is empty exactly when its flag is true.
struct iocp_probe {
  bool port_ok = false;             ///< the IOCP loop backend can run here
  std::string port_reason;          ///< why not
  bool wait_packet_ok = false;      ///< Nt{Create,Associate,Cancel}WaitCompletionPacket exist
  std::string wait_packet_reason;   ///< why not
};

inline const iocp_probe& probe_iocp() noexcept;

/// A fresh IOCP backend; throws std::runtime_error carrying
/// probe_iocp().port_reason when IOCP is unavailable (std::system_error, also
/// a runtime_error, when this port cannot be created). Defined in
/// <csync/runtime/iocp_backend.hpp>, which loop.hpp includes at its end.
inline std::unique_ptr<backend> make_iocp_backend();

}  // namespace csync::runtime

namespace csync::detail {

/// Prints "csync: iocp unavailable (<reason>); using the portable loop
/// backend" on stderr, at most once per process, unless CSYNC_QUIET=1.
inline void note_iocp_fallback(std::string_view reason) noexcept {
  static std::atomic<bool> logged{false};
  if (logged.exchange(true)) return;  // seq_cst; only "first caller prints"
  const char* quiet = std::getenv("CSYNC_QUIET");
  if (quiet && std::string_view(quiet) == "1") return;
  std::fprintf(stderr, "csync: iocp unavailable (%.*s); using the portable loop backend\n",
               static_cast<int>(reason.size()), reason.data());
}

#if CSYNC_HAVE_IOCP_BACKEND

inline runtime::iocp_probe run_iocp_probe() {
  runtime::iocp_probe p;
  const HANDLE port = ::CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1);
  if (port == nullptr) {
    p.port_reason = "CreateIoCompletionPort: " + win32_error_text(::GetLastError());
  } else {
    ::CloseHandle(port);
    p.port_ok = true;
  }
  std::string missing;
  for (const char* name : {"NtCreateWaitCompletionPacket", "NtAssociateWaitCompletionPacket",
                           "NtCancelWaitCompletionPacket"}) {
    if (ntdll_export(name) == nullptr) missing += (missing.empty() ? "" : ", ") + std::string(name);
  }
  if (missing.empty()) {
    p.wait_packet_ok = true;
  } else {
    p.wait_packet_reason = "ntdll.dll does not export " + missing;
    if (const char* wine = wine_version()) p.wait_packet_reason += " (Wine " + std::string(wine) + ")";
  }
  return p;
}

#endif  // CSYNC_HAVE_IOCP_BACKEND

}  // namespace csync::detail

namespace csync::runtime {

inline const iocp_probe& probe_iocp() noexcept {
#if CSYNC_HAVE_IOCP_BACKEND
  static const iocp_probe result = ::csync::detail::run_iocp_probe();
#else
  static const iocp_probe result = [] {
    iocp_probe p;
#if defined(_WIN32)
    p.port_reason = "csync was built without the IOCP backend (CSYNC_WITH_IOCP=0)";
#else
    p.port_reason = "I/O completion ports are a Windows API; this is not a Windows build";
#endif
    p.wait_packet_reason = p.port_reason;
    return p;
  }();
#endif
  return result;
}

}  // namespace csync::runtime
