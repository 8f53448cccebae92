// csync/detail/uring_compat.hpp
// -----------------------------------------------------------------------------
// io_uring availability, and what liburing 2.3 / Linux 6.1 uapi headers lack.
//
// CSYNC_HAVE_URING_BACKEND is defined to 1 when the io_uring loop backend is
// compiled: on Linux, when <liburing.h> exists and CSYNC_WITH_URING is not 0
// (CMake records CSYNC_WITH_URING=0/1 on csync::csync and links liburing when
// it is 1; a non-CMake consumer that leaves it undefined gets the backend
// whenever <liburing.h> is found and must then link -luring). It is left
// undefined otherwise (house style: `#if CSYNC_HAVE_URING_BACKEND`).
//
// Constants (csync::detail::uring_compat), named in lower case because newer
// <linux/futex.h> defines FUTEX2_* as macros:
//   ioring_op_futex_wait  = 51  IORING_OP_FUTEX_WAIT  (Linux 6.7)
//   ioring_op_futex_wake  = 52  IORING_OP_FUTEX_WAKE  (Linux 6.7)
//   ioring_op_futex_waitv = 53  IORING_OP_FUTEX_WAITV (Linux 6.7)
//   futex2_size_u32       = 0x02  FUTEX2_SIZE_U32 (goes in sqe->fd)
//   futex2_private        = 128   FUTEX2_PRIVATE  (goes in sqe->fd)
//   futex_bitset_match_any = 0xffffffff (goes in sqe->addr3)
// liburing 2.3 has no io_uring_prep_futex_*; fill those SQEs by hand
// (docs: shared/reference/io_uring-futex.md §2, §9). The SQE field that 6.7
// calls `futex_flags` is `rw_flags` in 2.3's header; it must be 0.
//
// ThreadSanitizer: `tsan_release(p)` / `tsan_acquire(p)` annotate a
// happens-before edge that goes through the kernel (an SQE submitted by one
// thread, its CQE reaped by another), which TSan cannot see. They compile to
// nothing without TSan.
// -----------------------------------------------------------------------------
#pragma once

#include <cstdint>

#if defined(__linux__) && (!defined(CSYNC_WITH_URING) || CSYNC_WITH_URING)
#if defined(__has_include)
#if __has_include(<liburing.h>)
#define CSYNC_HAVE_URING_BACKEND 1
#endif
#endif
#endif

#if CSYNC_HAVE_URING_BACKEND
#include <liburing.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define CSYNC_DETAIL_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CSYNC_DETAIL_TSAN 1
#endif
#endif

#if CSYNC_DETAIL_TSAN
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace csync::detail {

namespace uring_compat {
inline constexpr std::uint8_t ioring_op_futex_wait = 51;
inline constexpr std::uint8_t ioring_op_futex_wake = 52;
inline constexpr std::uint8_t ioring_op_futex_waitv = 53;
inline constexpr std::uint32_t futex2_size_u32 = 0x02;
inline constexpr std::uint32_t futex2_private = 128;
inline constexpr std::uint64_t futex_bitset_match_any = 0xffffffffu;

// Where a newer header names them, they must agree.
#if defined(FUTEX2_SIZE_U32)
static_assert(FUTEX2_SIZE_U32 == futex2_size_u32);
#endif
#if defined(FUTEX2_PRIVATE)
static_assert(FUTEX2_PRIVATE == futex2_private);
#endif
}  // namespace uring_compat

/// TSan: the thread that calls this releases `addr`'s sync object; pair with
/// tsan_acquire(addr) on the thread that observes the effect through the kernel.
inline void tsan_release([[maybe_unused]] const void* addr) noexcept {
#if CSYNC_DETAIL_TSAN
  __tsan_release(const_cast<void*>(addr));
#endif
}

/// TSan: acquire `addr`'s sync object (see tsan_release).
inline void tsan_acquire([[maybe_unused]] const void* addr) noexcept {
#if CSYNC_DETAIL_TSAN
  __tsan_acquire(const_cast<void*>(addr));
#endif
}

}  // namespace csync::detail
