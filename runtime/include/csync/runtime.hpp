// csync/runtime.hpp
// -----------------------------------------------------------------------------
// Umbrella header for the csync coroutine runtime:
//   <csync/task.hpp>          csync::Task<T>, the lazy coroutine task;
//   <csync/runtime/loop.hpp>  csync::runtime::Loop, yield(), sleep_for(),
//                             sleep_until(), timer_item; it includes
//                             <csync/runtime/backend.hpp> (the replaceable
//                             backend interface, work_queue) and
//                             <csync/runtime/portable_backend.hpp>;
//   <csync/runtime/uring_backend.hpp>  the io_uring backend (Linux), the
//                             probe, uring_backend_of(), uring_submit();
//   <csync/runtime/iocp_backend.hpp>   the IOCP backend (Windows), the
//                             probe, iocp_backend_of().
// The contracts (memory ordering, lifetimes, where things run) are stated in
// those headers.
// -----------------------------------------------------------------------------
#pragma once

#include <csync/runtime/backend.hpp>
#include <csync/runtime/loop.hpp>
#include <csync/runtime/portable_backend.hpp>
#include <csync/runtime/uring_backend.hpp>
#include <csync/runtime/iocp_backend.hpp>
#include <csync/runtime/work_item.hpp>
#include <csync/task.hpp>
