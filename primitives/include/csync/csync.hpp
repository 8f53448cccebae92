// csync/csync.hpp -- everything portable: the primitives, the portable
// strategies and the coroutine runtime.
//
//   csync::Semaphore<S>, csync::Mutex<S>, csync::Condvar<S>
//   csync::strategy::{mutex_queue, spin, atomic_waker, intrusive_list}
//   csync::default_strategy, csync::fairness
//   csync::Task<T>, csync::runtime::Loop
#pragma once

#include <csync/condvar.hpp>
#include <csync/mutex.hpp>
#include <csync/runtime.hpp>
#include <csync/semaphore.hpp>
#include <csync/strategies/atomic_waker.hpp>
#include <csync/strategies/concept.hpp>
#include <csync/strategies/default.hpp>
#include <csync/strategies/intrusive_list.hpp>
#include <csync/strategies/mutex_queue.hpp>
#include <csync/strategies/spin.hpp>
