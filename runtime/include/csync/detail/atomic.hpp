// csync/detail/atomic.hpp
// -----------------------------------------------------------------------------
// The test seam for every atomic and every internal lock inside csync.
//
// csync's runtime, strategies and primitives never name std::atomic or
// std::mutex for shared state; they name `detail::atomic<T>` and
// `detail::mutex`. In a normal build these are aliases of the standard types:
// zero cost, same layout, same code.
//
// A build that defines CSYNC_SCHEDULE_PERTURBATION=1 (the `*.perturbed` test
// binaries; see tests/CMakeLists.txt) gets instead types that call
// `detail::perturbation_point()` before every atomic operation and around every
// lock acquisition: a seeded generator decides whether the calling thread
// continues, spins, yields or sleeps briefly. That widens the windows of a few
// instructions between "read the state" and "act on it" that stress tests on
// two cores almost never hit (schedule_perturbation.hpp explains the mode).
//
// The macro must be the same for every translation unit of a program (the
// types differ; mixing them is an ODR violation). Layout is identical either
// way: a futex word stays a 4-byte word at the object's address.
// -----------------------------------------------------------------------------
#pragma once

#include <atomic>
#include <mutex>

#if defined(CSYNC_SCHEDULE_PERTURBATION) && CSYNC_SCHEDULE_PERTURBATION
#include <csync/detail/schedule_perturbation.hpp>
#endif

namespace csync::detail {

#if defined(CSYNC_SCHEDULE_PERTURBATION) && CSYNC_SCHEDULE_PERTURBATION
template <class T>
using atomic = perturbed_atomic<T>;
using mutex = perturbed_mutex;
#else
template <class T>
using atomic = std::atomic<T>;
using mutex = std::mutex;
/// No-op outside the perturbed build; see schedule_perturbation.hpp.
inline void perturbation_point() noexcept {}
#endif

}  // namespace csync::detail
