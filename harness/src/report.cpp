// harness/src/report.cpp -- see report.hpp.
#include "report.hpp"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include <csync/runtime/backend.hpp>
#if __has_include(<csync/detail/uring_probe.hpp>)
#include <csync/detail/uring_probe.hpp>
#endif
#include <csync/runtime/loop.hpp>

#include "metrics.hpp"

#ifndef CSYNC_BENCH_GIT_SHA
#define CSYNC_BENCH_GIT_SHA "unknown"
#endif
#ifndef CSYNC_BENCH_BUILD_TYPE
#define CSYNC_BENCH_BUILD_TYPE "unknown"
#endif
#ifndef CSYNC_BENCH_CXX_FLAGS
#define CSYNC_BENCH_CXX_FLAGS "unknown"
#endif

namespace csync::bench {
namespace {

std::string first_line_starting(const char* path, const std::string& prefix) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return {};
}

std::string cpu_model() {
  const std::string line = first_line_starting("/proc/cpuinfo", "model name");
  const auto colon = line.find(':');
  return colon == std::string::npos ? "unknown" : line.substr(colon + 2);
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
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
  return {{"ring", "unavailable: built without liburing"},
          {"futex", "unavailable: built without liburing"}};
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

/// What a default-constructed Loop uses here (CSYNC_LOOP_BACKEND overrides).
std::string loop_backend_choice() {
  const char* forced = std::getenv("CSYNC_LOOP_BACKEND");
  if (forced && *forced) return std::string(forced) + " (CSYNC_LOOP_BACKEND)";
  return csync::runtime::Loop().backend_name().data();
}

}  // namespace

std::uint64_t steal_ticks() {
  // "cpu  user nice system idle iowait irq softirq steal ..."
  std::istringstream fields(first_line_starting("/proc/stat", "cpu "));
  std::string label;
  std::uint64_t value = 0, steal = 0;
  fields >> label;
  for (int i = 0; i < 8 && fields >> value; ++i) steal = value;
  return steal;
}

nlohmann::json capture_context() {
  char host[256] = "unknown";
  gethostname(host, sizeof host - 1);
  utsname u{};
  uname(&u);
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  const int cpus_allowed =
      sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return {
      {"host", host},
      {"platform", "linux"},
      {"cpu_model", cpu_model()},
      {"cpus_online", sysconf(_SC_NPROCESSORS_ONLN)},
      {"cpus_allowed", cpus_allowed},
      {"kernel", std::string(u.sysname) + " " + u.release + " " + u.version},
      {"machine", u.machine},
      {"compiler", compiler_name()},
      {"cxx_flags", CSYNC_BENCH_CXX_FLAGS},
      {"build_type", CSYNC_BENCH_BUILD_TYPE},
      {"csync_git_sha", CSYNC_BENCH_GIT_SHA},
      {"date", utc_now()},
      {"load_average", {load[0], load[1], load[2]}},
      {"steal_ticks_at_start", steal_ticks()},
      {"io_uring", io_uring_context()},
      {"loop_backend", loop_backend_choice()},
      {"timer_cost_ns", timer_cost_ns()},
  };
}

void write_atomically(const std::string& path, const std::string& contents) {
  const std::string temp = path + ".tmp." + std::to_string(::getpid());
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
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    std::remove(temp.c_str());
    throw std::runtime_error(path + ": cannot replace the report (rename failed)");
  }
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
        {"mhz_per_cpu", 0},
        {"cpu_scaling_enabled", false},
        {"caches", nlohmann::json::array()},
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
      const double cpu_per_op = rep.value("cpu_user_ns_per_op", 0.0) + rep.value("cpu_sys_ns_per_op", 0.0);
      out["benchmarks"].push_back({{"name", name},
                                   {"run_name", name},
                                   {"run_type", "iteration"},
                                   {"repetitions", reps.size()},
                                   {"repetition_index", index++},
                                   {"threads", 1},
                                   {"iterations", ops},
                                   {"real_time", ops > 0 ? elapsed * 1e9 / ops : 0.0},
                                   {"cpu_time", cpu_per_op},
                                   {"time_unit", "ns"}});
    }
  }
  return out;
}

}  // namespace csync::bench
