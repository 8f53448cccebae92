// csync/detail/win32.hpp
// -----------------------------------------------------------------------------
// The one place csync includes <windows.h>, and the small Win32 helpers the
// IOCP backend, the iocp strategy and address waiting share. Empty on other
// platforms.
//
// <windows.h> is included with WIN32_LEAN_AND_MEAN and NOMINMAX (each only if
// the includer did not decide already): csync's headers call std::min and
// std::max, which the min/max macros would break. Code that needs the macros
// must include <windows.h> itself before any csync header and live with them.
//
// _WIN32_WINNT must be at least 0x0602 (Windows 8): WaitOnAddress,
// WakeByAddressSingle/All (csync/detail/address_wait.hpp) are declared only
// from there. CMake defines 0x0602 on csync::csync (cache variable
// CSYNC_WIN32_WINNT); mingw-w64 defaults to 0x0A00 and the Windows SDK to the
// newest version, so a consumer that defines nothing is fine too. A lower
// value fails here, with the reason, instead of in an undeclared function.
//
//   win32_error_text(code)   "The wait operation timed out. (error 258)"
//   wine_version()           Wine's version ("8.0") when the process runs
//                            under Wine -- ntdll's wine_get_version export,
//                            resolved once -- else nullptr. For reports and
//                            tests only: csync never behaves differently
//                            under Wine.
// -----------------------------------------------------------------------------
#pragma once

#if defined(_WIN32)

#if !defined(WIN32_LEAN_AND_MEAN)
#define WIN32_LEAN_AND_MEAN 1
#endif
#if !defined(NOMINMAX)
#define NOMINMAX 1
#endif
#include <windows.h>

#if !defined(_WIN32_WINNT) || _WIN32_WINNT < 0x0602
#error "csync needs _WIN32_WINNT >= 0x0602 (Windows 8) for WaitOnAddress; define it before <windows.h> (CMake: CSYNC_WIN32_WINNT)"
#endif

#include <string>
#include <system_error>

#define CSYNC_DETAIL_HAVE_WIN32 1

namespace csync::detail {

/// The system's message for a GetLastError() code, with the number.
inline std::string win32_error_text(DWORD code) {
  std::string text = std::system_category().message(static_cast<int>(code));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  return text + " (error " + std::to_string(code) + ")";
}

/// An export of ntdll.dll, or nullptr. ntdll is mapped into every Windows
/// process, so GetModuleHandleW never loads anything.
inline FARPROC ntdll_export(const char* name) noexcept {
  const HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
  return ntdll ? ::GetProcAddress(ntdll, name) : nullptr;
}

/// Wine's version string when running under Wine, else nullptr.
inline const char* wine_version() noexcept {
  static const char* const version = []() noexcept -> const char* {
    using get_version_fn = const char*(__cdecl*)();
    // GetProcAddress returns a generic FARPROC; converting it to the
    // export's real type is how every caller of GetProcAddress works.
    const auto fn = reinterpret_cast<get_version_fn>(
        reinterpret_cast<void*>(ntdll_export("wine_get_version")));
    return fn ? fn() : nullptr;
  }();
  return version;
}

}  // namespace csync::detail

#endif  // _WIN32
