// csync/detail/cpu_relax.hpp -- the pause instruction used inside spin loops.
#pragma once

#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
#include <immintrin.h>
#endif

namespace csync::detail {

/// One spin-loop hint: tells the core we are busy-waiting (x86 `pause`, ARM
/// `yield`), which saves power and lets the sibling hyper-thread run.
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__) || defined(_M_X64) || defined(_M_IX86)
  _mm_pause();
#elif defined(__aarch64__) || defined(__arm__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace csync::detail
