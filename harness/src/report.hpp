// harness/src/report.hpp
// -----------------------------------------------------------------------------
// The report csync-bench writes (format: docs/report-format.md):
//
//   { "schema_version": 2, "tool": "csync-bench",
//     "context":  { host, platform, emulator, cpu, kernel, compiler, git sha,
//                   io_uring, iocp, ... },
//     "scenario": { name, description, path, hash },
//     "run":      { seed, quick, repetitions override, cell order, complete },
//     "results":  [ one entry per cell, flat ] }
//
// Written atomically (a temporary file in the same directory, then rename)
// after every cell, so a killed run leaves the last complete report.
// -----------------------------------------------------------------------------
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace csync::bench {

inline constexpr int report_schema_version = 2;

/// `csync-bench --version`: the version, the commit it was built from (and
/// whether the tree was dirty), the compiler, the build type and flags.
std::string version_text();

/// The machine, build and environment: everything a reader needs to judge
/// the numbers. `steal_ticks` is filled in by the runner at the end.
nlohmann::json capture_context();

/// CPU steal time so far, in USER_HZ ticks, from /proc/stat; null where the
/// platform has no such counter (Windows).
nlohmann::json steal_ticks();
/// 1, 5, 15 minute load averages; null where there are none (Windows).
nlohmann::json load_average();
/// Now, UTC, ISO 8601.
std::string utc_timestamp();
/// FNV-1a 64 of a file's bytes (16 hex digits), "unreadable" if it cannot be read;
/// computed once per process and path (it is meant for the executable).
std::string file_hash(const std::string& path);

/// Write `report` to `path` atomically. Throws std::runtime_error naming the
/// path on failure (the previous file, if any, is left intact).
void write_atomically(const std::string& path, const std::string& contents);

/// Reads an existing report for --resume. Throws std::runtime_error naming
/// the path and the problem when it is not a csync-bench report.
nlohmann::json read_report(const std::string& path);

/// Why cells of report `previous` must not be mixed with those of `current`
/// (--resume, merging invocations): "" when they may; else which setting
/// differs, as "KEY X, this run has Y". Cells measured on another machine,
/// kernel or loop backend, by another binary (commit, tree, compiler,
/// flags, build type, executable), with other --quick/--smoke caps or not
/// both --reference runs differ.
std::string mixing_refusal(const nlohmann::json& previous, const nlohmann::json& current);

/// Google Benchmark's JSON format (one "iteration" run per repetition,
/// real_time = ns per operation) so tools/compare.py can diff two reports.
nlohmann::json to_gbench(const nlohmann::json& report);

}  // namespace csync::bench
