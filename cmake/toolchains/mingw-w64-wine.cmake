# Cross-build csync for 64-bit Windows with Debian's mingw-w64 and run the
# test executables under Wine (shared/reference/iocp-wine.md §6-§7).
#
#   cmake --preset windows            # uses this file; or by hand:
#   cmake -B build/windows -G Ninja \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/mingw-w64-wine.cmake
#
# Packages (Debian 12): g++-mingw-w64-x86-64-posix (the compiler; the
# mingw-w64 metapackage pulls it in), wine and wine64 (the emulator).
#
# * The *posix* driver (winpthreads): the default x86_64-w64-mingw32-g++ is
#   the win32-threads flavour, where std::thread does not even compile.
# * -static: the executables then import only KERNEL32, msvcrt and the
#   api-ms-win-core-synch set; a dynamic build needs WINEPATH pointed at the
#   mingw runtime DLLs and otherwise exits silently under Wine.
# * CMAKE_CROSSCOMPILING_EMULATOR: CTest (and gtest_discover_tests) prefix
#   every test whose command is an executable target with `wine`, so one test
#   list serves native and Wine runs. Export WINEPREFIX, WINEDEBUG=-all and
#   WINEDLLOVERRIDES="mscoree,mshtml=" in the environment that runs ctest
#   (scripts/test-windows.sh does).
# * _WIN32_WINNT=0x0602 (Windows 8: WaitOnAddress) and the `synchronization`
#   import library are set on the csync::csync target itself (CMakeLists.txt),
#   so find_package(csync) consumers get them without this file.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)

set(_csync_mingw x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${_csync_mingw}-gcc-posix)    # googletest's project() enables C
set(CMAKE_CXX_COMPILER ${_csync_mingw}-g++-posix)
set(CMAKE_RC_COMPILER ${_csync_mingw}-windres)

set(CMAKE_EXE_LINKER_FLAGS_INIT -static)

# libstdc++ 12 without a futex (mingw-w64) implements std::atomic::wait with a
# pool of mutex + condition variable pairs but compares the value outside the
# mutex and notifies without it (bits/atomic_wait.h), so wake-ups are lost:
# observed under Wine as std::latch / std::barrier / std::atomic::wait
# ping-pongs that hang within a few thousand rounds. std::binary_semaphore is
# built on it, and std::stop_callback's destructor waits on one when its
# callback runs on another thread -- exactly what a csync coroutine cancelled
# through a std::stop_token does, so cancellations hung their loop. This
# selects libstdc++'s POSIX-semaphore implementation (winpthreads' sem_t) for
# std::counting_semaphore / binary_semaphore instead. It changes those types'
# layout, so it must hold for every translation unit of a program: it is set
# here, for the whole build, not on csync::csync. std::latch, std::barrier
# and std::atomic::wait stay affected; csync's tests and csync-bench do not
# use them on Windows. (See docs/design.md, "Windows".)
set(CMAKE_CXX_FLAGS_INIT "-D_GLIBCXX_USE_POSIX_SEMAPHORE=1")

find_program(CSYNC_WINE wine)
if(CSYNC_WINE)
  set(CMAKE_CROSSCOMPILING_EMULATOR "${CSYNC_WINE}")
else()
  # Configuring and building work without Wine; running the tests does not.
  message(WARNING "csync: 'wine' not found: the Windows tests can be built but not run "
                  "(Debian: apt-get install wine wine64)")
endif()

# Libraries and headers come from the mingw sysroot only: the host's
# /usr/include and /usr/lib are Linux ones. Header-only host packages
# (nlohmann-json, CLI11) and googletest's sources are reached explicitly
# (cmake/csync-cross-deps.cmake).
set(CMAKE_FIND_ROOT_PATH /usr/${_csync_mingw})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
unset(_csync_mingw)
