// harness/src/report.cpp -- see report.hpp.
#include "report.hpp"


#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <csync/runtime/backend.hpp>
#if __has_include(<csync/detail/uring_probe.hpp>)
#include <csync/detail/uring_probe.hpp>
#endif
#include <csync/detail/iocp_probe.hpp>
#include <csync/runtime/loop.hpp>

#if CSYNC_BENCH_HAVE_ABSL
#include <absl/base/config.h>  // ABSL_LTS_RELEASE_VERSION
#endif
#if CSYNC_BENCH_HAVE_BOOST_FIBER
#include <boost/version.hpp>  // BOOST_VERSION
#endif

#include "metrics.hpp"
#include "platform.hpp"
#include "scenario.hpp"  // fnv1a_hex

#include "csync_bench_build_info.hpp"  // generated at build time: CSYNC_BENCH_GIT_SHA, _DIRTY
#ifndef CSYNC_BENCH_LIBURING_VERSION
#define CSYNC_BENCH_LIBURING_VERSION "unknown"
#endif
#ifndef CSYNC_BENCH_VERSION
#define CSYNC_BENCH_VERSION "unknown"
#endif
#ifndef CSYNC_BENCH_BUILD_TYPE
#define CSYNC_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef CSYNC_BENCH_CXX_FLAGS
#define CSYNC_BENCH_CXX_FLAGS "unknown"
#endif

namespace csync::bench {
namespace {

std::string utc_now() {
  const std::tm tm = platform::utc(std::time(nullptr));
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json io_uring_context() {
#if CSYNC_HAVE_URING_BACKEND
  const auto& probe = csync::runtime::probe_uring();
  return {{"ring", probe.ring_ok ? "available" : "unavailable: " + std::string(probe.ring_reason)},
          {"futex", probe.futex_ok ? "available" : "unavailable: " + std::string(probe.futex_reason)}};
#else
  const std::string why = "unavailable: " + csync::runtime::probe_uring().ring_reason;
  return {{"ring", why}, {"futex", why}};
#endif
}

/// {port, wait_completion_packet}: "available" or "unavailable: <reason>".
nlohmann::json iocp_context() {
  const auto& probe = csync::runtime::probe_iocp();
  return {{"port", probe.port_ok ? "available" : "unavailable: " + probe.port_reason},
          {"wait_completion_packet",
           probe.wait_packet_ok ? "available" : "unavailable: " + probe.wait_packet_reason}};
}

template <class T>
nlohmann::json or_null(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json();
}

nlohmann::json machine_json() {
  const platform::machine_details m = platform::machine_info();
  return {{"vendor", or_null(m.cpu_vendor)},
          {"family", or_null(m.cpu_family)},
          {"model", or_null(m.cpu_model_number)},
          {"stepping", or_null(m.cpu_stepping)},
          {"microcode", or_null(m.microcode)},
          {"mhz", or_null(m.cpu_mhz)},
          {"governor", or_null(m.governor)},
          {"turbo", or_null(m.turbo)},
          {"smt_active", or_null(m.smt_active)},
          {"caches", m.caches},
          {"clocksource", or_null(m.clocksource)},
          {"kernel_cmdline", or_null(m.kernel_cmdline)},
          {"hypervisor", or_null(m.hypervisor)},
          {"libc", or_null(m.libc)},
          {"executable", or_null(m.executable)},
          {"executable_hash", m.executable ? nlohmann::json(file_hash(*m.executable)) : nlohmann::json()}};
}

/// The libraries the peers come from, with the versions csync-bench was
/// built against (the C++ library's is `libstdcxx`); null: not built.
nlohmann::json peer_libraries() {
#if CSYNC_BENCH_HAVE_ABSL
  const nlohmann::json absl = std::to_string(ABSL_LTS_RELEASE_VERSION) + "." +
                              std::to_string(ABSL_LTS_RELEASE_PATCH_LEVEL);
#else
  const nlohmann::json absl;  // the absl_mutex peer is not built
#endif
#if CSYNC_BENCH_HAVE_BOOST_FIBER
  const nlohmann::json boost = std::to_string(BOOST_VERSION / 100000) + "." +
                               std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                               std::to_string(BOOST_VERSION % 100);
#else
  const nlohmann::json boost;  // the boost_fiber peer is not built
#endif
  return {{"absl", absl}, {"boost", boost}};
}

std::string libstdcxx_version() {
#if defined(_GLIBCXX_RELEASE) && defined(__GLIBCXX__)
  return "libstdc++ " + std::to_string(_GLIBCXX_RELEASE) + " (" + std::to_string(__GLIBCXX__) + ")";
#else
  return "unknown";
#endif
}

std::string compiler_name() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("g++ ") + __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

std::string version_text() {
  const std::string_view dirty = CSYNC_BENCH_GIT_DIRTY;
  return std::string("csync-bench ") + CSYNC_BENCH_VERSION + "\ncommit " + CSYNC_BENCH_GIT_SHA +
         (dirty == "true" ? " (built from a dirty tree)" : dirty == "false" ? "" : " (tree state unknown)") +
         "\ncompiler " + compiler_name() + "\nbuild type " + CSYNC_BENCH_BUILD_TYPE +
         ", flags: " + CSYNC_BENCH_CXX_FLAGS;
}

namespace {

/// What a default-constructed Loop uses here (CSYNC_LOOP_BACKEND overrides).
std::string loop_backend_choice() {
  const char* forced = std::getenv("CSYNC_LOOP_BACKEND");
  if (forced && *forced) return std::string(forced) + " (CSYNC_LOOP_BACKEND)";
  return csync::runtime::Loop().backend_name().data();
}

}  // namespace

nlohmann::json steal_ticks() { return or_null(platform::steal_ticks()); }

nlohmann::json load_average() { return or_null(platform::load_average()); }

std::string utc_timestamp() { return utc_now(); }

std::string file_hash(const std::string& path) {
  // Hashed once per process and path: the executable does not change under
  // a running process, and reading ~100 MB (a sanitizer build) for every
  // run of a test process took seconds each.
  static std::mutex mutex;
  static std::map<std::string, std::string> known;
  std::lock_guard guard(mutex);
  if (auto it = known.find(path); it != known.end()) return it->second;
  std::ifstream in(path, std::ios::binary);
  if (!in) return "unreadable";  // not remembered: it may become readable
  fnv1a hash;
  std::vector<char> chunk(1 << 20);
  while (in.read(chunk.data(), static_cast<std::streamsize>(chunk.size())) || in.gcount() > 0) {
    hash.update({chunk.data(), static_cast<std::size_t>(in.gcount())});
  }
  if (in.bad()) return "unreadable";
  return known[path] = hash.hex();
}

nlohmann::json capture_context() {
  const std::size_t allowed = platform::allowed_cpus().size();
  return {
      {"host", platform::host_name()},
      {"platform", platform::name()},
      // Non-null (e.g. "wine 8.0 (host Linux 6.1.0)"): the numbers say
      // nothing about the platform named above; plots keep such runs apart.
      {"emulator", or_null(platform::emulator())},
      {"cpu_model", platform::cpu_model()},
      {"cpus_online", platform::cpus_online()},
      {"cpus_allowed", allowed == 0 ? -1 : static_cast<long>(allowed)},
      {"kernel", platform::kernel()},
      {"machine", platform::machine()},
      {"compiler", compiler_name()},
      {"cxx_flags", CSYNC_BENCH_CXX_FLAGS},
      {"build_type", CSYNC_BENCH_BUILD_TYPE},
      {"csync_git_sha", CSYNC_BENCH_GIT_SHA},
      // Whether the tree differed from that commit when csync-bench was
      // built ("unknown" without git): a dirty build cannot be regenerated.
      {"csync_git_dirty", std::string_view(CSYNC_BENCH_GIT_DIRTY) == "true"    ? nlohmann::json(true)
                          : std::string_view(CSYNC_BENCH_GIT_DIRTY) == "false" ? nlohmann::json(false)
                                                                              : nlohmann::json()},
      {"libstdcxx", libstdcxx_version()},
      {"liburing", CSYNC_BENCH_LIBURING_VERSION},
      {"peer_libraries", peer_libraries()},
      {"details", machine_json()},
      {"date", utc_now()},
      {"load_average", or_null(platform::load_average())},
      {"steal_ticks_at_start", steal_ticks()},
      {"io_uring", io_uring_context()},
      {"iocp", iocp_context()},
      {"loop_backend", loop_backend_choice()},
      {"timer_cost_ns", timer_cost_ns()},
      {"burn_ns_per_iteration", burn_ns_per_iteration()},
  };
}

void write_atomically(const std::string& path, const std::string& contents) {
  const std::string temp = path + ".tmp." + std::to_string(platform::process_id());
  {
    std::ofstream out(temp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(path + ": cannot create " + temp);
    out << contents;
    out.flush();
    if (!out) {
      std::remove(temp.c_str());
      throw std::runtime_error(path + ": write failed (disk full?)");
    }
  }
  if (!platform::replace_file(temp, path)) {
    std::remove(temp.c_str());
    throw std::runtime_error(path + ": cannot replace the report (rename failed)");
  }
}

std::string mixing_refusal(const nlohmann::json& previous, const nlohmann::json& current) {
  const char* const must_match[] = {
      "/context/host",          "/context/kernel",          "/context/loop_backend",
      "/context/csync_git_sha", "/context/csync_git_dirty", "/context/compiler",
      "/context/cxx_flags",     "/context/build_type",      "/context/details/executable_hash",
      "/run/quick",             "/run/smoke",               "/run/reference"};
  for (const char* where : must_match) {
    const nlohmann::json::json_pointer at(where);
    const nlohmann::json was = previous.contains(at) ? previous[at] : nlohmann::json();
    const nlohmann::json is = current.contains(at) ? current[at] : nlohmann::json();
    if (was != is) return at.back() + " " + was.dump() + ", this run has " + is.dump();
  }
  return "";
}

nlohmann::json read_report(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open the report to resume");
  nlohmann::json report = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (report.is_discarded() || !report.is_object() || report.value("tool", "") != "csync-bench" ||
      !report.contains("results") || !report["results"].is_array()) {
    throw std::runtime_error(path + ": not a csync-bench report (cannot resume from it)");
  }
  if (report.value("schema_version", 0) != report_schema_version) {
    throw std::runtime_error(path + ": report schema_version " +
                             report.value("schema_version", nlohmann::json(0)).dump() +
                             ", this csync-bench writes " + std::to_string(report_schema_version));
  }
  return report;
}

nlohmann::json to_gbench(const nlohmann::json& report) {
  const nlohmann::json& ctx = report["context"];
  nlohmann::json out = {
      {"context",
       {{"date", ctx.value("date", "")},
        {"host_name", ctx.value("host", "")},
        {"executable", "csync-bench"},
        {"num_cpus", ctx.value("cpus_online", 0)},
        // Only what was measured: no mhz_per_cpu, cpu_scaling_enabled or caches.
        {"library_build_type", ctx.value("build_type", "")}}},
      {"benchmarks", nlohmann::json::array()}};
  for (const nlohmann::json& cell : report["results"]) {
    if (cell.value("status", "") != "ok") continue;
    const std::string name = cell.value("name", "cell");
    const auto& reps = cell["repetitions"];
    std::size_t index = 0;
    for (const nlohmann::json& rep : reps) {
      const double ops = rep.value("operations", 0.0);
      const double elapsed = rep.value("elapsed_s", 0.0);
      const double cpu_per_op = rep.value("cpu_ns_per_op", 0.0);
      out["benchmarks"].push_back({{"name", name},
                                   {"run_name", name},
                                   {"run_type", "iteration"},
                                   {"repetitions", reps.size()},
                                   {"repetition_index", index++},
                                   {"threads", cell.value("worker_threads", 1)},
                                   {"iterations", ops},
                                   {"real_time", ops > 0 ? elapsed * 1e9 / ops : 0.0},
                                   {"cpu_time", cpu_per_op},
                                   {"time_unit", "ns"}});
    }
  }
  return out;
}

}  // namespace csync::bench
