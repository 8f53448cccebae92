# csync-find-liburing.cmake -- defines the imported target csync::liburing.
#
# Used twice: by csync's own CMakeLists.txt when CSYNC_WITH_URING is ON, and
# by the installed (and build-tree) csync-config.cmake when the build that
# produced it used liburing, so a find_package(csync) consumer resolves the
# same dependency without doing anything itself. Sets csync_liburing_FOUND.
#
# Search order: pkg-config's `liburing` module (IMPORTED_TARGET), then plain
# find_path(liburing.h) / find_library(uring) for systems without pkg-config.
# Hints: CSYNC_LIBURING_INCLUDE_DIR / CSYNC_LIBURING_LIBRARY cache entries.
#
# The targets are directory-scoped like any find_package result, unless the
# includer sets CSYNC_LIBURING_GLOBAL to TRUE: csync's own build does, because
# a project that add_subdirectory()s csync links csync::csync (and through it
# csync::liburing) from directories above csync's.
if(TARGET csync::liburing)
  set(csync_liburing_FOUND TRUE)
  return()
endif()

set(csync_liburing_FOUND FALSE)

find_package(PkgConfig QUIET)
set(_csync_liburing_global "")
if(CSYNC_LIBURING_GLOBAL)
  set(_csync_liburing_global GLOBAL)
endif()

if(PKG_CONFIG_FOUND)
  pkg_check_modules(CSYNC_LIBURING QUIET IMPORTED_TARGET ${_csync_liburing_global} liburing)
endif()

if(TARGET PkgConfig::CSYNC_LIBURING)
  add_library(csync::liburing INTERFACE IMPORTED ${_csync_liburing_global})
  set_target_properties(csync::liburing PROPERTIES
    INTERFACE_LINK_LIBRARIES PkgConfig::CSYNC_LIBURING)
  set(csync_liburing_FOUND TRUE)
else()
  find_path(CSYNC_LIBURING_INCLUDE_DIR NAMES liburing.h)
  find_library(CSYNC_LIBURING_LIBRARY NAMES uring)
  if(CSYNC_LIBURING_INCLUDE_DIR AND CSYNC_LIBURING_LIBRARY)
    add_library(csync::liburing UNKNOWN IMPORTED ${_csync_liburing_global})
    set_target_properties(csync::liburing PROPERTIES
      IMPORTED_LOCATION "${CSYNC_LIBURING_LIBRARY}"
      INTERFACE_INCLUDE_DIRECTORIES "${CSYNC_LIBURING_INCLUDE_DIR}")
    set(csync_liburing_FOUND TRUE)
  endif()
endif()
unset(_csync_liburing_global)
