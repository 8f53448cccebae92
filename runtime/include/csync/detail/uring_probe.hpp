// csync/detail/uring_probe.hpp
// -----------------------------------------------------------------------------
// The run-time io_uring probe, and the declaration of make_uring_backend().
// Public names (csync::runtime::uring_probe, probe_uring, make_uring_backend)
// are documented in <csync/runtime/uring_backend.hpp>; this internal header
// exists so that loop.hpp can choose the default backend without depending on
// the backend class (which itself depends on Loop).
//
// probe_uring() runs once per process (a function-local static: the first
// caller computes it, concurrent callers wait, later callers read it) and
// answers two questions:
//   ring_ok   can this process create and drive an io_uring the way the loop
//             backend needs (io_uring_setup and io_uring_enter allowed -- the
//             sysctl kernel.io_uring_disabled and seccomp filters can forbid
//             them --, IORING_FEAT_NODROP (5.5), a working probe and
//             IORING_OP_READ (5.6)); ring_reason says why not;
//   futex_ok  are IORING_OP_FUTEX_WAIT (51) and IORING_OP_FUTEX_WAKE (52)
//             available (Linux 6.7+): both reported supported by
//             io_uring_get_probe_ring() (a NULL probe counts as "no"), and a
//             hand-filled FUTEX_WAKE SQE on a dummy word completing with
//             res >= 0; futex_reason says why not.
// Without the backend compiled in (CSYNC_HAVE_URING_BACKEND undefined) both
// are false and the reasons say so.
//
// Memory ordering: the result is published by the function-local static's
// initialization, which happens-before every return of probe_uring().
// Lifetime: the returned reference stays valid until the process exits.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>

#include <csync/detail/uring_compat.hpp>

#if CSYNC_HAVE_URING_BACKEND
#include <unistd.h>
#endif

namespace csync::runtime {

class backend;

/// What probe_uring() found. A reason is empty exactly when its flag is true.
struct uring_probe {
  bool ring_ok = false;      ///< the io_uring loop backend can run here
  std::string ring_reason;   ///< why not: errno text, sysctl, seccomp, kernel age
  bool futex_ok = false;     ///< IORING_OP_FUTEX_WAIT / WAKE work (Linux 6.7+)
  std::string futex_reason;  ///< why not
};

inline const uring_probe& probe_uring() noexcept;

/// A fresh io_uring backend with default sizes; throws std::runtime_error
/// carrying probe_uring().ring_reason when io_uring is unavailable (and
/// std::system_error, also a runtime_error, when this ring cannot be created).
/// Defined in <csync/runtime/uring_backend.hpp>, which loop.hpp includes at
/// its end, so every translation unit that sees Loop sees the definition.
inline std::unique_ptr<backend> make_uring_backend();

}  // namespace csync::runtime

namespace csync::detail {

/// "Operation not permitted (errno 1)".
inline std::string errno_message(int err) {
  return std::system_category().message(err) + " (errno " + std::to_string(err) + ")";
}

/// Prints "csync: io_uring unavailable (<reason>); using the portable loop
/// backend" on stderr, at most once per process, unless CSYNC_QUIET=1.
inline void note_uring_fallback(std::string_view reason) noexcept {
  static std::atomic<bool> logged{false};
  if (logged.exchange(true)) return;  // seq_cst; only "first caller prints"
  const char* quiet = std::getenv("CSYNC_QUIET");
  if (quiet && std::string_view(quiet) == "1") return;
  std::fprintf(stderr, "csync: io_uring unavailable (%.*s); using the portable loop backend\n",
               static_cast<int>(reason.size()), reason.data());
}

#if CSYNC_HAVE_URING_BACKEND

/// ThreadSanitizer and ring memory. liburing 2.3 maps and unmaps the SQ/CQ
/// rings and the SQE array with raw system calls that TSan does not
/// intercept, so TSan never learns that a destroyed ring's pages are gone.
/// When a new ring is mapped at addresses a destroyed ring used (typical:
/// one loop per thread, loops created and destroyed concurrently), the new
/// owner's first writes to its SQEs would be reported as racing with the old
/// owner's. The kernel does order the munmap before the mmap that reuses the
/// range; model that: every page of a ring is released when it is unmapped
/// (`tsan_ring_pages(ring, false)` before io_uring_queue_exit) and acquired
/// when it is mapped (`tsan_ring_pages(ring, true)` after init). Mappings are
/// page-aligned, so a reused range always shares a page address with the
/// old one. No-op without TSan.
inline void tsan_ring_pages([[maybe_unused]] io_uring& ring, [[maybe_unused]] bool acquire) noexcept {
#if CSYNC_DETAIL_TSAN
  const long page_size = ::sysconf(_SC_PAGESIZE);
  const std::size_t page = page_size > 0 ? static_cast<std::size_t>(page_size) : 4096;
  const struct {
    const void* base;
    std::size_t size;
  } maps[] = {
      {ring.sq.ring_ptr, ring.sq.ring_sz},
      {ring.cq.ring_ptr, ring.cq.ring_sz},
      {ring.sq.sqes, ring.sq.ring_entries * sizeof(io_uring_sqe)},
  };
  for (const auto& m : maps) {
    if (!m.base) continue;
    const char* p = static_cast<const char*>(m.base);
    for (std::size_t off = 0; off < m.size; off += page) {
      if (acquire) {
        tsan_acquire(p + off);
      } else {
        tsan_release(p + off);
      }
    }
  }
#endif
}

/// /proc/sys/kernel/io_uring_disabled (Linux 6.6+): 0, 1, 2, or -1 if absent.
inline int read_io_uring_disabled() noexcept {
  std::FILE* f = std::fopen("/proc/sys/kernel/io_uring_disabled", "re");
  if (!f) return -1;
  int value = -1;
  if (std::fscanf(f, "%d", &value) != 1) value = -1;
  std::fclose(f);
  return value;
}

/// Submits one SQE filled by `fill` on `ring` and waits for its CQE; stores
/// the CQE's res. Returns 0, or -errno when submitting/waiting failed.
template <class Fill>
int uring_round_trip(io_uring& ring, Fill fill, int& res) noexcept {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring);
  if (!sqe) return -EBUSY;
  std::memset(sqe, 0, sizeof *sqe);
  fill(sqe);
  sqe->user_data = 1;
  int r = io_uring_submit_and_wait(&ring, 1);
  if (r < 0) return r;
  io_uring_cqe* cqe = nullptr;
  r = io_uring_wait_cqe(&ring, &cqe);
  if (r < 0) return r;
  res = cqe->res;
  io_uring_cqe_seen(&ring, cqe);
  return 0;
}

inline runtime::uring_probe run_uring_probe() {
  runtime::uring_probe p;
  const int disabled = read_io_uring_disabled();
  if (disabled == 2) {
    p.ring_reason = "io_uring is disabled by sysctl kernel.io_uring_disabled=2";
    p.futex_reason = p.ring_reason;
    return p;
  }

  io_uring ring;
  io_uring_params params{};
  int r = io_uring_queue_init_params(4, &ring, &params);
  if (r < 0) {
    p.ring_reason = "io_uring_setup: " + errno_message(-r);
    if (r == -EPERM && disabled == 1) {
      p.ring_reason +=
          "; sysctl kernel.io_uring_disabled=1 allows only privileged processes and "
          "members of kernel.io_uring_group";
    } else if (r == -EPERM || r == -ENOSYS) {
      p.ring_reason +=
          "; blocked by a seccomp filter (e.g. a container runtime's default profile) or a "
          "kernel built without CONFIG_IO_URING";
    }
    p.futex_reason = p.ring_reason;
    return p;
  }
  tsan_ring_pages(ring, /*acquire=*/true);
  struct ring_guard {
    io_uring* ring;
    ~ring_guard() {
      tsan_ring_pages(*ring, /*acquire=*/false);
      io_uring_queue_exit(ring);
    }
  } guard{&ring};

  // io_uring_enter can be filtered separately from io_uring_setup.
  int res = 0;
  r = uring_round_trip(ring, [](io_uring_sqe* sqe) { io_uring_prep_nop(sqe); }, res);
  if (r < 0 || res < 0) {
    p.ring_reason = (r < 0 ? "io_uring_enter: " + errno_message(-r)
                           : "IORING_OP_NOP completed with " + errno_message(-res));
    p.futex_reason = p.ring_reason;
    return p;
  }

  io_uring_probe* ops = io_uring_get_probe_ring(&ring);
  struct probe_guard {
    io_uring_probe* ops;
    ~probe_guard() {
      if (ops) io_uring_free_probe(ops);
    }
  } probe_guard_{ops};

  if (!(params.features & IORING_FEAT_NODROP)) {
    p.ring_reason =
        "the kernel lacks IORING_FEAT_NODROP (Linux 5.5+): a full completion queue would "
        "drop completions";
  } else if (!ops) {
    p.ring_reason = "io_uring_get_probe failed (IORING_REGISTER_PROBE needs Linux 5.6+)";
  } else if (!io_uring_opcode_supported(ops, IORING_OP_READ)) {
    p.ring_reason = "the kernel lacks IORING_OP_READ (Linux 5.6+)";
  } else {
    p.ring_ok = true;
  }

  namespace uc = uring_compat;
  if (!ops) {
    p.futex_reason =
        "io_uring_get_probe returned NULL (Linux < 5.6), so IORING_OP_FUTEX_WAIT/WAKE "
        "cannot be detected";
  } else if (!io_uring_opcode_supported(ops, uc::ioring_op_futex_wait) ||
             !io_uring_opcode_supported(ops, uc::ioring_op_futex_wake)) {
    p.futex_reason = "the kernel lacks IORING_OP_FUTEX_WAIT/WAKE (opcodes 51/52, Linux 6.7+; "
                     "its last opcode is " +
                     std::to_string(ops->last_op) + ")";
  } else {
    // Functional check: wake (nobody) on a dummy word; res is the number
    // woken (0) when the opcode works, -EINVAL etc. when it does not.
    std::uint32_t word = 0;
    r = uring_round_trip(
        ring,
        [&word](io_uring_sqe* sqe) {
          sqe->opcode = uc::ioring_op_futex_wake;
          sqe->fd = static_cast<std::int32_t>(uc::futex2_size_u32 | uc::futex2_private);
          sqe->addr = reinterpret_cast<std::uintptr_t>(&word);
          sqe->off = 1;  // wake at most one
          sqe->addr3 = uc::futex_bitset_match_any;
        },
        res);
    if (r < 0) {
      p.futex_reason = "io_uring_enter (FUTEX_WAKE probe): " + errno_message(-r);
    } else if (res < 0) {
      p.futex_reason = "a FUTEX_WAKE SQE completed with " + errno_message(-res);
    } else {
      p.futex_ok = true;
    }
  }
  return p;
}

#endif  // CSYNC_HAVE_URING_BACKEND

}  // namespace csync::detail

namespace csync::runtime {

inline const uring_probe& probe_uring() noexcept {
#if CSYNC_HAVE_URING_BACKEND
  static const uring_probe result = ::csync::detail::run_uring_probe();
#else
  static const uring_probe result = [] {
    uring_probe p;
#if defined(_WIN32)
    p.ring_reason =
        "io_uring is a Linux kernel interface; this is a Windows build (loops use the IOCP "
        "backend there)";
#else
    p.ring_reason =
        "csync was built without the io_uring backend (not Linux, CSYNC_WITH_URING=0, or "
        "<liburing.h> not found)";
#endif
    p.futex_reason = p.ring_reason;
    return p;
  }();
#endif
  return result;
}

}  // namespace csync::runtime
