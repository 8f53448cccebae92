// csync/strategies/default.hpp
// csync::default_strategy -- what `Semaphore<>`, `Mutex<>` and `Condvar<>`
// use. intrusive_list: portable, FIFO, no allocation per wait. Override for a
// whole build with -DCSYNC_DEFAULT_STRATEGY=<name> (e.g. spin), like Abseil's
// ABSL_FORCE_WAITER_MODE; the CMake cache variable of the same name does it.
// Not platform-dependent on purpose: on Windows, intrusive_list's coroutine
// wakes already arrive as IOCP completion packets (the default Loop backend
// there), one per waiter; strategy::iocp, which sends one packet per loop per
// notify batch, is available by name (<csync/strategies/iocp.hpp>).
#pragma once

#include <csync/strategies/atomic_waker.hpp>
#include <csync/strategies/intrusive_list.hpp>
#include <csync/strategies/mutex_queue.hpp>
#include <csync/strategies/spin.hpp>

namespace csync {

#if defined(CSYNC_DEFAULT_STRATEGY)
using default_strategy = strategy::CSYNC_DEFAULT_STRATEGY;
#else
using default_strategy = strategy::intrusive_list;
#endif

static_assert(wakeup_strategy<default_strategy>);

}  // namespace csync
