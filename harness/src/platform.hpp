// harness/src/platform.hpp
// -----------------------------------------------------------------------------
// The operating-system facts and calls csync-bench needs, behind one small
// interface, so that the rest of the harness is the same on Linux and on
// Windows (mingw-w64; CI runs it under Wine). What a platform cannot tell
// cheaply is std::nullopt and ends up as null in the report -- never a
// made-up number.
//
//                       Linux                          Windows
//   name()              "linux"                        "windows"
//   emulator()          nullopt                        "wine 8.0 (host Linux 6.1.0-...)"
//                                                      under Wine (ntdll's
//                                                      wine_get_version), else nullopt
//   kernel()            uname -srv                     "Windows <major>.<minor>.<build>"
//                                                      (RtlGetVersion: what the
//                                                      system, or Wine, reports)
//   cpu_model()         /proc/cpuinfo "model name"     registry ProcessorNameString
//   allowed_cpus()      sched_getaffinity              GetProcessAffinityMask
//                                                      (the first 64 CPUs)
//   cpu_topology_id()   sysfs package / core ids       -1 (unknown: pinning
//                                                      orders CPUs by index)
//   pin_current_thread  pthread_setaffinity_np         SetThreadAffinityMask
//   current_cpu()       sched_getcpu                   GetCurrentProcessorNumber
//   thread_meter        another thread's CPU clock     GetThreadTimes on a
//                       (pthread_getcpuclockid) and    duplicated handle: CPU;
//                       /proc/self/task/TID/status     no per-thread context-
//                       context switches               switch count -> nullopt
//   steal_ticks()       /proc/stat steal               nullopt
//   load_average()      getloadavg                     nullopt
//   replace_file()      rename(2)                      MoveFileExA(REPLACE_EXISTING):
//                                                      msvcrt's rename() never
//                                                      replaces a file
// -----------------------------------------------------------------------------
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace csync::bench::platform {

std::string name();
std::optional<std::string> emulator();
std::string host_name();
std::string kernel();
std::string machine();
std::string cpu_model();
long cpus_online();

/// CPUs this process may run on (its affinity mask), ascending; empty if unknown.
std::vector<int> allowed_cpus();
/// "physical_package_id" or "core_id" of `cpu`, or -1 when unknown.
int cpu_topology_id(int cpu, const char* what);
/// Restricts the calling thread to `cpu`; false if the system refused.
bool pin_current_thread(int cpu) noexcept;
/// The CPU the calling thread runs on now, or -1.
int current_cpu() noexcept;

/// CPU time (user + system) of a thread and, where the platform counts them,
/// its context switches.
struct thread_times {
  std::uint64_t cpu_ns = 0;
  std::optional<std::uint64_t> voluntary_switches;
  std::optional<std::uint64_t> involuntary_switches;
};

/// Reads one thread's thread_times from any thread, so that a controller can
/// sample every worker at the exact edges of a measured window (a worker that
/// reads its own usage can only bracket its whole body). Made on the thread
/// it meters; valid until that thread exits.
class thread_meter {
 public:
  thread_meter() = default;  ///< meters nothing: read() is all zero
  static thread_meter of_current_thread() noexcept;
  thread_meter(thread_meter&& other) noexcept { swap(other); }
  thread_meter& operator=(thread_meter&& other) noexcept {
    swap(other);
    return *this;
  }
  thread_meter(const thread_meter&) = delete;
  thread_meter& operator=(const thread_meter&) = delete;
  ~thread_meter();

  /// CPU time only: one clock read, fast enough to sweep many threads at an edge.
  std::uint64_t read_cpu_ns() const noexcept;
  /// Context switches only (nullopt where the platform has no count).
  thread_times read_switches() const noexcept;

 private:
  void swap(thread_meter& other) noexcept;
#if defined(_WIN32)
  void* handle_ = nullptr;  ///< a real (duplicated) thread HANDLE
#else
  long clock_ = 0;          ///< clockid_t from pthread_getcpuclockid
  long tid_ = 0;            ///< kernel thread id (for /proc/self/task/TID/status)
  bool valid_ = false;
#endif
};

/// The machine in detail, for a report's context: whatever the platform can
/// tell cheaply; nullopt (null in the report) for the rest, never a guess.
struct machine_details {
  std::optional<std::string> cpu_vendor, cpu_family, cpu_model_number, cpu_stepping, microcode;
  std::optional<double> cpu_mhz;             ///< cpu0's current frequency
  std::optional<std::string> governor;       ///< cpufreq scaling governor of cpu0
  std::optional<bool> turbo;                 ///< intel_pstate / cpufreq boost enabled
  std::optional<bool> smt_active;            ///< SMT siblings online
  std::vector<std::string> caches;           ///< "L1d 48K", "L2 1280K", ... (cpu0)
  std::optional<std::string> clocksource;    ///< the kernel's current clocksource
  std::optional<std::string> kernel_cmdline; ///< /proc/cmdline (mitigations=...)
  std::optional<std::string> hypervisor;     ///< "KVM", "xen", ...: cpuid's vendor, or sysfs
  std::optional<std::string> libc;           ///< "glibc 2.36"
  std::optional<std::string> executable;     ///< the running binary's path
};
machine_details machine_info();

/// CPU steal time so far in USER_HZ ticks (hypervisor), or nullopt.
std::optional<std::uint64_t> steal_ticks();
/// 1, 5 and 15 minute load averages, or nullopt.
std::optional<std::array<double, 3>> load_average();

std::uint64_t process_id() noexcept;
/// Runs the program at argv[0] with `argv` in a new process, with this
/// process's standard streams, and waits for it: its exit status (POSIX:
/// 128 + the signal that ended it). When it could not be started, `error`
/// says why (and the status means nothing). POSIX: once `interrupt` is
/// set, the child is sent SIGINT (once) and still waited for.
int run_process(const std::vector<std::string>& argv, std::string& error,
                const std::atomic<bool>* interrupt = nullptr);
/// Whether standard error is a terminal (the progress line's redraw needs one).
bool stderr_is_terminal() noexcept;
/// UTC broken-down time of `t`.
std::tm utc(std::time_t t) noexcept;
/// Atomically replaces `to` with `from` (same directory); false on failure.
bool replace_file(const std::string& from, const std::string& to) noexcept;

}  // namespace csync::bench::platform
