// harness/src/platform.cpp -- see platform.hpp.
#include "platform.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#if defined(_WIN32)
#include <io.h>

#include <csync/detail/win32.hpp>  // <windows.h> with NOMINMAX, and wine_version()
#else
#include <pthread.h>
#include <sched.h>
#include <spawn.h>
#include <sys/wait.h>
#include <sys/resource.h>
#include <time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <gnu/libc-version.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <cstring>
#endif

namespace csync::bench::platform {
namespace {

[[maybe_unused]] std::string first_line_starting(const char* path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return {};
}

}  // namespace

#if defined(_WIN32)

namespace {

std::uint64_t filetime_ns(const FILETIME& t) noexcept {
  const std::uint64_t ticks = (std::uint64_t{t.dwHighDateTime} << 32) | t.dwLowDateTime;
  return ticks * 100;  // FILETIME counts 100 ns intervals
}

template <class Fn>
Fn ntdll_fn(const char* name) noexcept {
  return reinterpret_cast<Fn>(reinterpret_cast<void*>(::csync::detail::ntdll_export(name)));
}

}  // namespace

std::string name() { return "windows"; }

std::optional<std::string> emulator() {
  const char* version = ::csync::detail::wine_version();
  if (version == nullptr) return std::nullopt;
  std::string text = std::string("wine ") + version;
  // wine_get_host_version(&sysname, &release): the Unix kernel underneath.
  using host_version_fn = void(__cdecl*)(const char**, const char**);
  if (const auto host = ntdll_fn<host_version_fn>("wine_get_host_version")) {
    const char* sysname = nullptr;
    const char* release = nullptr;
    host(&sysname, &release);
    if (sysname && release) text += std::string(" (host ") + sysname + " " + release + ")";
  }
  return text;
}

std::string host_name() {
  char buf[MAX_COMPUTERNAME_LENGTH + 1] = {};
  DWORD size = sizeof buf;
  return ::GetComputerNameA(buf, &size) ? std::string(buf, size) : "unknown";
}

std::string kernel() {
  // RtlGetVersion tells the truth; GetVersionEx lies to unmanifested programs.
  using get_version_fn = LONG(WINAPI*)(OSVERSIONINFOW*);
  OSVERSIONINFOW info{};
  info.dwOSVersionInfoSize = sizeof info;
  const auto get = ntdll_fn<get_version_fn>("RtlGetVersion");
  if (get == nullptr || get(&info) != 0) return "Windows (version unknown)";
  return "Windows " + std::to_string(info.dwMajorVersion) + "." +
         std::to_string(info.dwMinorVersion) + "." + std::to_string(info.dwBuildNumber);
}

std::string machine() {
  SYSTEM_INFO info{};
  ::GetNativeSystemInfo(&info);
  switch (info.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64: return "x86_64";
    case PROCESSOR_ARCHITECTURE_ARM64: return "aarch64";
    case PROCESSOR_ARCHITECTURE_INTEL: return "i686";
    default: return "unknown";
  }
}

std::string cpu_model() {
  char buf[256] = {};
  DWORD size = sizeof buf;
  if (::RegGetValueA(HKEY_LOCAL_MACHINE, "HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                     "ProcessorNameString", RRF_RT_REG_SZ, nullptr, buf, &size) != ERROR_SUCCESS) {
    return "unknown";
  }
  std::string model(buf);
  while (!model.empty() && model.back() == ' ') model.pop_back();
  return model.empty() ? "unknown" : model;
}

long cpus_online() {
  const DWORD n = ::GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
  return n > 0 ? static_cast<long>(n) : -1;
}

std::vector<int> allowed_cpus() {
  DWORD_PTR process_mask = 0, system_mask = 0;
  std::vector<int> cpus;
  if (!::GetProcessAffinityMask(::GetCurrentProcess(), &process_mask, &system_mask)) return cpus;
  for (int cpu = 0; cpu < static_cast<int>(8 * sizeof process_mask); ++cpu) {
    if (process_mask & (DWORD_PTR{1} << cpu)) cpus.push_back(cpu);
  }
  return cpus;
}

int cpu_topology_id(int, const char*) { return -1; }

bool pin_current_thread(int cpu) noexcept {
  if (cpu < 0 || cpu >= static_cast<int>(8 * sizeof(DWORD_PTR))) return false;
  return ::SetThreadAffinityMask(::GetCurrentThread(), DWORD_PTR{1} << cpu) != 0;
}

int current_cpu() noexcept { return static_cast<int>(::GetCurrentProcessorNumber()); }

thread_meter thread_meter::of_current_thread() noexcept {
  thread_meter m;
  HANDLE real = nullptr;  // GetCurrentThread() is a pseudo-handle: meaningless elsewhere
  if (::DuplicateHandle(::GetCurrentProcess(), ::GetCurrentThread(), ::GetCurrentProcess(), &real,
                        THREAD_QUERY_LIMITED_INFORMATION, FALSE, 0)) {
    m.handle_ = real;
  }
  return m;
}

thread_meter::~thread_meter() {
  if (handle_) ::CloseHandle(static_cast<HANDLE>(handle_));
}

void thread_meter::swap(thread_meter& other) noexcept { std::swap(handle_, other.handle_); }

std::uint64_t thread_meter::read_cpu_ns() const noexcept {
  FILETIME created{}, exited{}, kernel_time{}, user_time{};
  if (handle_ &&
      ::GetThreadTimes(static_cast<HANDLE>(handle_), &created, &exited, &kernel_time, &user_time)) {
    return filetime_ns(user_time) + filetime_ns(kernel_time);
  }
  return 0;
}

thread_times thread_meter::read_switches() const noexcept {
  return {};  // no per-thread context-switch counter: nullopt
}

std::optional<std::uint64_t> steal_ticks() { return std::nullopt; }
std::optional<std::array<double, 3>> load_average() { return std::nullopt; }

machine_details machine_info() {
  machine_details m;
  char path[MAX_PATH] = {};
  if (::GetModuleFileNameA(nullptr, path, sizeof path) != 0) m.executable = path;
  return m;
}

std::uint64_t process_id() noexcept { return ::GetCurrentProcessId(); }

namespace {
/// One argument as the C runtime's command-line parser reads it back
/// (quotes, and backslashes before a quote, escaped).
std::string quoted(const std::string& arg) {
  if (!arg.empty() && arg.find_first_of(" \t\"") == std::string::npos) return arg;
  std::string out = "\"";
  std::size_t backslashes = 0;
  for (char c : arg) {
    if (c == '\\') {
      ++backslashes;
      continue;
    }
    if (c == '"') backslashes = backslashes * 2 + 1;
    out.append(backslashes, '\\');
    backslashes = 0;
    out += c;
  }
  out.append(backslashes * 2, '\\');
  return out + "\"";
}
}  // namespace

int run_process(const std::vector<std::string>& argv, std::string& error,
                const std::atomic<bool>*) {
  std::string command_line;
  for (const std::string& arg : argv) command_line += (command_line.empty() ? "" : " ") + quoted(arg);
  STARTUPINFOA startup{};
  startup.cb = sizeof startup;
  PROCESS_INFORMATION process{};
  if (!::CreateProcessA(argv[0].c_str(), command_line.data(), nullptr, nullptr, TRUE, 0, nullptr,
                        nullptr, &startup, &process)) {
    error = "CreateProcess failed with error " + std::to_string(::GetLastError());
    return -1;
  }
  ::WaitForSingleObject(process.hProcess, INFINITE);
  DWORD code = 1;
  ::GetExitCodeProcess(process.hProcess, &code);
  ::CloseHandle(process.hThread);
  ::CloseHandle(process.hProcess);
  return static_cast<int>(code);  // an NTSTATUS of a crash is negative: not 0, 1, 2 or 130
}

bool stderr_is_terminal() noexcept { return ::_isatty(::_fileno(stderr)) != 0; }

std::tm utc(std::time_t t) noexcept {
  std::tm tm{};
  gmtime_s(&tm, &t);
  return tm;
}

bool replace_file(const std::string& from, const std::string& to) noexcept {
  return ::MoveFileExA(from.c_str(), to.c_str(), MOVEFILE_REPLACE_EXISTING) != 0;
}

#else  // POSIX (Linux)

std::string name() { return "linux"; }

std::optional<std::string> emulator() { return std::nullopt; }

std::string host_name() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  return host;
}

std::string kernel() {
  utsname u{};
  uname(&u);
  return std::string(u.sysname) + " " + u.release + " " + u.version;
}

std::string machine() {
  utsname u{};
  uname(&u);
  return u.machine;
}

std::string cpu_model() {
  const std::string line = first_line_starting("/proc/cpuinfo", "model name");
  const auto colon = line.find(':');
  return colon == std::string::npos ? "unknown" : line.substr(colon + 2);
}

long cpus_online() { return sysconf(_SC_NPROCESSORS_ONLN); }

std::vector<int> allowed_cpus() {
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) cpus.push_back(cpu);
  }
  return cpus;
}

int cpu_topology_id(int cpu, const char* what) {
  std::ifstream in("/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/" + what);
  int v = -1;
  in >> v;
  return v;
}

bool pin_current_thread(int cpu) noexcept {
  if (cpu < 0 || cpu >= CPU_SETSIZE) return false;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

int current_cpu() noexcept { return sched_getcpu(); }

thread_meter thread_meter::of_current_thread() noexcept {
  thread_meter m;
  clockid_t clock{};
  if (pthread_getcpuclockid(pthread_self(), &clock) == 0) {
    m.clock_ = static_cast<long>(clock);
    m.tid_ = static_cast<long>(gettid());
    m.valid_ = true;
  }
  return m;
}

thread_meter::~thread_meter() = default;

void thread_meter::swap(thread_meter& other) noexcept {
  std::swap(clock_, other.clock_);
  std::swap(tid_, other.tid_);
  std::swap(valid_, other.valid_);
}

std::uint64_t thread_meter::read_cpu_ns() const noexcept {
  // The thread's CPU clock counts user + system time at scheduler precision
  // (getrusage's user/system split is tick-sampled: noise at these lengths).
  timespec ts{};
  if (!valid_ || clock_gettime(static_cast<clockid_t>(clock_), &ts) != 0) return 0;
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000u +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

thread_times thread_meter::read_switches() const noexcept {
  thread_times t;
  if (!valid_) return t;
  // "voluntary_ctxt_switches:\t12" and "nonvoluntary_ctxt_switches:\t3".
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid_);
  if (std::FILE* f = std::fopen(path, "r")) {
    char line[256];
    unsigned long long value = 0;
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "voluntary_ctxt_switches: %llu", &value) == 1) {
        t.voluntary_switches = value;
      } else if (std::sscanf(line, "nonvoluntary_ctxt_switches: %llu", &value) == 1) {
        t.involuntary_switches = value;
      }
    }
    std::fclose(f);
  }
  return t;
}

namespace {
/// The first line of a (sysfs, procfs) file, or nullopt.
std::optional<std::string> first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  while (!line.empty() && (line.back() == '\n' || line.back() == ' ')) line.pop_back();
  return line;
}

/// The value of `key` in /proc/cpuinfo's first processor, or nullopt.
std::optional<std::string> cpuinfo(const std::string& key) {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) break;  // the first processor's block ends
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    if (name == key) return colon + 2 <= line.size() ? line.substr(colon + 2) : std::string();
  }
  return std::nullopt;
}
}  // namespace

machine_details machine_info() {
  machine_details m;
  m.cpu_vendor = cpuinfo("vendor_id");
  m.cpu_family = cpuinfo("cpu family");
  m.cpu_model_number = cpuinfo("model");
  m.cpu_stepping = cpuinfo("stepping");
  m.microcode = cpuinfo("microcode");
  const std::string cpu0 = "/sys/devices/system/cpu/cpu0/";
  if (const auto khz = first_line(cpu0 + "cpufreq/scaling_cur_freq")) {
    m.cpu_mhz = std::strtod(khz->c_str(), nullptr) / 1000;
  } else if (const auto mhz = cpuinfo("cpu MHz")) {
    m.cpu_mhz = std::strtod(mhz->c_str(), nullptr);
  }
  m.governor = first_line(cpu0 + "cpufreq/scaling_governor");
  if (const auto no_turbo = first_line("/sys/devices/system/cpu/intel_pstate/no_turbo")) {
    m.turbo = *no_turbo == "0";
  } else if (const auto boost = first_line("/sys/devices/system/cpu/cpufreq/boost")) {
    m.turbo = *boost == "1";
  }
  if (const auto smt = first_line("/sys/devices/system/cpu/smt/active")) m.smt_active = *smt == "1";
  for (int i = 0; i < 8; ++i) {
    const std::string dir = cpu0 + "cache/index" + std::to_string(i) + "/";
    const auto level = first_line(dir + "level");
    if (!level) break;
    const std::string type = first_line(dir + "type").value_or("");
    const std::string kind = type == "Data" ? "d" : type == "Instruction" ? "i" : "";
    m.caches.push_back("L" + *level + kind + " " + first_line(dir + "size").value_or("?"));
  }
  m.clocksource = first_line("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  m.kernel_cmdline = first_line("/proc/cmdline");
  m.hypervisor = first_line("/sys/hypervisor/type");
  if (!m.hypervisor) {
    const std::string flags = cpuinfo("flags").value_or("");
    if ((" " + flags + " ").find(" hypervisor ") != std::string::npos) {
      m.hypervisor = "present (cpuid hypervisor bit)";
#if defined(__x86_64__) || defined(__i386__)
      // cpuid leaf 0x40000000: the hypervisor's vendor signature in ebx, ecx, edx.
      unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
      __cpuid(0x40000000, eax, ebx, ecx, edx);
      char vendor[13] = {};
      std::memcpy(vendor, &ebx, 4);
      std::memcpy(vendor + 4, &ecx, 4);
      std::memcpy(vendor + 8, &edx, 4);
      if (vendor[0] != '\0') m.hypervisor = std::string(vendor);
#endif
    }
  }
  m.libc = std::string("glibc ") + gnu_get_libc_version();
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) m.executable = exe.string();
  return m;
}

std::optional<std::uint64_t> steal_ticks() {
  // "cpu  user nice system idle iowait irq softirq steal ..."
  std::istringstream fields(first_line_starting("/proc/stat", "cpu "));
  std::string label;
  std::uint64_t value = 0, steal = 0;
  fields >> label;
  int read = 0;
  for (; read < 8 && fields >> value; ++read) steal = value;
  if (read < 8) return std::nullopt;
  return steal;
}

std::optional<std::array<double, 3>> load_average() {
  std::array<double, 3> load{0, 0, 0};
  if (getloadavg(load.data(), 3) != 3) return std::nullopt;
  return load;
}

std::uint64_t process_id() noexcept { return static_cast<std::uint64_t>(::getpid()); }

int run_process(const std::vector<std::string>& argv, std::string& error,
                const std::atomic<bool>* interrupt) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t child = 0;
  if (const int e = ::posix_spawn(&child, args[0], nullptr, nullptr, args.data(), environ); e != 0) {
    error = std::strerror(e);
    return -1;
  }
  // Polled, not a blocking waitpid: SIGINT's handler is installed with
  // SA_RESTART, so a blocking wait would not notice an interrupt meant for
  // this process alone; the child gets it forwarded.
  bool forwarded = false;
  int status = 0;
  for (;;) {
    const pid_t done = ::waitpid(child, &status, WNOHANG);
    if (done == child) break;
    if (done < 0 && errno != EINTR) {
      error = std::strerror(errno);
      return -1;
    }
    if (interrupt && !forwarded && interrupt->load()) {
      ::kill(child, SIGINT);
      forwarded = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
}

bool stderr_is_terminal() noexcept { return ::isatty(STDERR_FILENO) == 1; }

std::tm utc(std::time_t t) noexcept {
  std::tm tm{};
  gmtime_r(&t, &tm);
  return tm;
}

bool replace_file(const std::string& from, const std::string& to) noexcept {
  return std::rename(from.c_str(), to.c_str()) == 0;
}

#endif

}  // namespace csync::bench::platform
