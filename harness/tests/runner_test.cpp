// harness/tests/runner_test.cpp -- csync-bench end to end, in process: the
// report's schema (locked: a change must update docs/report-format.md and
// this list together), resume after a killed run, SIGINT, bad options.
// On Windows (mingw-w64, run under Wine) everything but the killed-run test,
// which needs fork(2), runs too.
#include <gtest/gtest.h>

#if defined(_WIN32)
#include <csync/detail/win32.hpp>  // wine_version()
#else
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "invocations.hpp"
#include "platform.hpp"
#include "report.hpp"
#include "runner.hpp"
#include "workloads.hpp"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

class Runner : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("csync-bench-test-" + std::to_string(csync::bench::platform::process_id()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    csync::bench::interrupt_requested = false;
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_scenario(const json& scenario) {
    const std::string path = (dir_ / "scenario.json").string();
    std::ofstream(path, std::ios::binary) << scenario.dump(1);  // the bytes the report embeds
    return path;
  }
  std::string report_path() const { return (dir_ / "report.json").string(); }

  int run(csync::bench::run_options options) {
    options.output_path = report_path();
    std::ostringstream err;
    const int rc = csync::bench::run_scenario(options, err);
    errors_ = err.str();
    return rc;
  }

  static json read(const std::string& path) {
    std::ifstream in(path);
    return json::parse(in);
  }

  fs::path dir_;
  std::string errors_;
};

/// Two thread strategies at one point, plus the peers: a few short cells.
json small_scenario(std::uint64_t duration_ms, std::uint32_t repetitions) {
  return {{"name", "small"},
          {"defaults",
           {{"workload", "semaphore"},
            {"waiters", "threads"},
            {"threads", 2},
            {"permits", 1},
            {"critical_section_ns", 50},
            {"duration_ms", duration_ms},
            {"warmup_ms", 10},
            {"repetitions", repetitions}}},
          {"matrix", {{"strategy", {"intrusive_list", "futex"}}}}};
}

std::set<std::string> keys_of(const json& object) {
  std::set<std::string> keys;
  for (const auto& [k, v] : object.items()) keys.insert(k);
  return keys;
}

TEST_F(Runner, ReportSchemaIsLocked) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(20, 2));
  options.seed = 7;
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  const json report = read(report_path());

  EXPECT_EQ(keys_of(report), (std::set<std::string>{"schema_version", "tool", "context", "scenario",
                                                    "run", "excluded", "results"}));
  EXPECT_EQ(report["schema_version"], csync::bench::report_schema_version);
  EXPECT_EQ(keys_of(report["context"]),
            (std::set<std::string>{"host", "platform", "emulator", "cpu_model", "cpus_online",
                                   "cpus_allowed", "kernel", "machine", "compiler", "cxx_flags",
                                   "build_type", "csync_git_sha", "csync_git_dirty", "libstdcxx",
                                   "liburing", "peer_libraries", "details", "date", "date_end", "load_average",
                                   "load_average_at_end", "steal_ticks_at_start",
                                   "steal_ticks_at_end", "io_uring", "iocp", "loop_backend",
                                   "timer_cost_ns", "burn_ns_per_iteration",
                                   "burn_ns_per_iteration_at_end"}));
  EXPECT_EQ(keys_of(report["context"]["details"]),
            (std::set<std::string>{"vendor", "family", "model", "stepping", "microcode", "mhz",
                                   "governor", "turbo", "smt_active", "caches", "clocksource",
                                   "kernel_cmdline", "hypervisor", "libc", "executable",
                                   "executable_hash"}));
  EXPECT_TRUE(report["context"]["details"]["executable_hash"].is_string());
  EXPECT_EQ(report["context"]["platform"], csync::bench::platform::name());
  EXPECT_EQ(keys_of(report["context"]["iocp"]),
            (std::set<std::string>{"port", "wait_completion_packet"}));
  EXPECT_EQ(keys_of(report["context"]["peer_libraries"]), (std::set<std::string>{"absl", "boost"}));
  EXPECT_EQ(report["context"]["peer_libraries"]["absl"].is_string(), CSYNC_BENCH_HAVE_ABSL == 1);
  EXPECT_EQ(report["context"]["peer_libraries"]["boost"].is_string(), CSYNC_BENCH_HAVE_BOOST_FIBER == 1);
#if defined(_WIN32)
  // Under Wine the report must say so: its numbers are not Windows numbers.
  if (csync::detail::wine_version() != nullptr) {
    ASSERT_TRUE(report["context"]["emulator"].is_string());
    EXPECT_EQ(report["context"]["emulator"].get<std::string>().rfind("wine ", 0), 0u);
  }
  EXPECT_EQ(report["context"]["iocp"]["port"], "available");
#else
  EXPECT_TRUE(report["context"]["emulator"].is_null());
#endif
  EXPECT_EQ(keys_of(report["scenario"]),
            (std::set<std::string>{"name", "description", "path", "hash", "text"}));
  EXPECT_EQ(report["scenario"]["text"].get<std::string>(), small_scenario(20, 2).dump(1))
      << "the scenario's exact bytes";
  EXPECT_FALSE(report["run"]["command_line"].is_null());
  EXPECT_EQ(report["run"]["reference"], false);
  EXPECT_TRUE(report["run"]["complete"].get<bool>());
  EXPECT_EQ(report["run"]["seed"], 7);

  std::set<std::string> strategies;
  std::set<std::string> peer_repetition_keys, csync_repetition_keys;
  for (const json& cell : report["results"]) {
    strategies.insert(cell["parameters"]["strategy"].get<std::string>());
    const bool peer = cell["is_peer"].get<bool>();
    if (cell["status"] != "ok") {
      // A peer may fail (std::counting_semaphore loses wake-ups), or be one
      // this build cannot run (absl_mutex under TSan); csync may not fail.
      std::set<std::string> expected{"cell", "name", "key", "point", "parameters", "is_peer",
                                     "worker_threads", "oversubscribed", "status", "reason"};
      if (cell["status"] == "failed") {
        EXPECT_EQ(cell["parameters"]["strategy"], "std_counting_semaphore") << cell.dump();
        expected.insert("provenance");  // it ran
      } else {
        EXPECT_EQ(cell["status"], "unavailable") << cell.dump();
        EXPECT_TRUE(peer) << cell.dump();
      }
      EXPECT_EQ(keys_of(cell), expected);
      continue;
    }
    std::set<std::string> expected{"cell", "name", "key", "point", "parameters", "is_peer",
                                   "worker_threads", "oversubscribed", "status", "measurement",
                                   "harness_overhead", "diagnostic", "aggregates",
                                   "acquire_latency_histogram_ns", "repetitions", "provenance"};
    if (cell.contains("throughput_vs_peers")) expected.insert("throughput_vs_peers");
    EXPECT_EQ(keys_of(cell), expected) << cell["name"];
    EXPECT_EQ(keys_of(cell["provenance"]), (std::set<std::string>{"started", "finished",
                                                                  "load_average_at_start",
                                                                  "steal_ticks"}));
    EXPECT_EQ(keys_of(cell["measurement"]),
              (std::set<std::string>{"latency_sample_every", "latency_loop", "timer_cost_ns",
                                     "timer_floor_ns"}));
    EXPECT_EQ(cell["measurement"]["latency_loop"], "closed");
    EXPECT_EQ(keys_of(cell["harness_overhead"]),
              (std::set<std::string>{"fraction", "min", "max", "limit", "verdict", "flagged"}));
    const std::string verdict = cell["harness_overhead"]["verdict"];
    EXPECT_TRUE(verdict == "within limit" || verdict == "above limit" || verdict == "unresolved")
        << verdict;
    EXPECT_EQ(cell["harness_overhead"]["flagged"].get<bool>(), verdict == "above limit");
    EXPECT_EQ(keys_of(cell["diagnostic"]),
              (std::set<std::string>{"operations", "max_holders", "violations", "wakes_per_op",
                                     "spurious_per_op", "futile_per_op"}));
    EXPECT_EQ(cell["diagnostic"]["violations"], 0);
    EXPECT_LE(cell["diagnostic"]["max_holders"].get<int>(), 1);
    // Statistics come from the strategy's hook: peers have none (null, not 0).
    EXPECT_EQ(cell["diagnostic"]["wakes_per_op"].is_null(), peer) << cell["name"];
    ASSERT_EQ(cell["repetitions"].size(), 2u);
    const json& rep = cell["repetitions"][0];
    EXPECT_EQ(keys_of(rep),
              (std::set<std::string>{"elapsed_s", "operations", "throughput_ops_per_s",
                                     "ops_per_worker", "starved", "longest_stall_ns_per_worker",
                                     "fairness", "censored_waits",
                                     "cpu_ns_per_op", "wasted_cpu_ns_per_op",
                                     "voluntary_switches_per_op", "involuntary_switches_per_op",
                                     "latency_run", "started", "visit"}));
    EXPECT_EQ(keys_of(rep["latency_run"]),
              (std::set<std::string>{"elapsed_s", "operations", "throughput_ops_per_s",
                                     "overhead_fraction", "acquire_latency_ns", "wake_latency_ns",
                                     "herd_latency_ns", "reacquire_latency_ns",
                                     "max_wait_ns_per_worker",
                                     "censored_waits", "censored_timed", "censored_max_age_ns"}));
    EXPECT_GT(rep["operations"].get<double>(), 0);
    EXPECT_EQ(rep["ops_per_worker"].size(), 2u);
    // Peers and csync cells run the same harness: the same record, key for key.
    auto& same = peer ? peer_repetition_keys : csync_repetition_keys;
    for (const auto& [k, v] : rep.items()) same.insert(k);
    for (const auto& [k, v] : rep["latency_run"].items()) same.insert("latency_run/" + k);
    const json& throughput = cell["aggregates"]["throughput"];
    EXPECT_EQ(keys_of(throughput),
              (std::set<std::string>{"median", "mean", "stddev", "ci_low", "ci_high",
                                     "ci_coverage", "ci_method", "n", "unit"}));
    EXPECT_EQ(throughput["unit"], "ops/s");
    EXPECT_EQ(throughput["ci_method"], "order_statistics");
    EXPECT_LE(throughput["ci_low"].get<double>(), throughput["median"].get<double>());
    EXPECT_GE(throughput["ci_high"].get<double>(), throughput["median"].get<double>());
    EXPECT_DOUBLE_EQ(throughput["ci_coverage"].get<double>(), 0.5) << "n = 2: [min, max], 1 - 2/4";
    EXPECT_EQ(rep["longest_stall_ns_per_worker"].size(), 2u);
    // A latency below twice the cost of a clock read is flagged, and only then.
    const double floor_ns = cell["measurement"]["timer_floor_ns"].get<double>();
    EXPECT_DOUBLE_EQ(floor_ns, 2 * cell["measurement"]["timer_cost_ns"].get<double>());
    for (const char* latency : {"acquire_p50", "acquire_p99", "acquire_p999"}) {
      const json& a = cell["aggregates"][latency];
      ASSERT_TRUE(a.contains("below_timer_floor")) << latency;
      EXPECT_EQ(a["below_timer_floor"].get<bool>(), a["median"].get<double>() < floor_ns) << latency;
    }
    EXPECT_FALSE(cell["aggregates"]["throughput"].contains("below_timer_floor"));
  }
  EXPECT_EQ(peer_repetition_keys, csync_repetition_keys);
  // The peers ran in the same report, and csync cells carry ratios to them.
  EXPECT_TRUE(strategies.count("std_counting_semaphore"));
  EXPECT_TRUE(strategies.count("std_mutex_condvar"));
  for (const json& cell : report["results"]) {
    if (cell["parameters"]["strategy"] == "intrusive_list") {
      ASSERT_TRUE(cell["throughput_vs_peers"].contains("std_counting_semaphore"));
      const json& ratio = cell["throughput_vs_peers"]["std_counting_semaphore"];
      EXPECT_EQ(keys_of(ratio),
                (std::set<std::string>{"ratio", "ci_low", "ci_high", "ci_coverage", "ci_method"}));
      EXPECT_EQ(ratio["ci_method"], "hodges_lehmann");
      EXPECT_LE(ratio["ci_low"].get<double>(), ratio["ratio"].get<double>());
      EXPECT_GE(ratio["ci_high"].get<double>(), ratio["ratio"].get<double>());
    }
  }
}

/// The repetitions of different cells are interleaved: round r measures
/// repetition r of every cell, in its own random order, so repetition 0 of
/// every cell comes before repetition 1 of any -- and the rounds' orders
/// differ (with four cells, 3 rounds in one order would be a 1-in-216 draw).
TEST_F(Runner, RepetitionsOfDifferentCellsAreInterleaved) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(5, 3));
  options.seed = 11;
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  const json report = read(report_path());
  std::vector<std::vector<std::size_t>> visits_in_round(3);  // the cells' visit indexes
  std::vector<std::vector<std::string>> order_of_round(3);
  std::set<std::size_t> all_visits;
  std::size_t cells = 0;
  for (const json& cell : report["results"]) {
    if (cell["status"] != "ok") continue;
    ++cells;
    ASSERT_EQ(cell["repetitions"].size(), 3u);
    for (std::size_t r = 0; r < 3; ++r) {
      const std::size_t visit = cell["repetitions"][r]["visit"].get<std::size_t>();
      EXPECT_TRUE(all_visits.insert(visit).second) << "two repetitions in one visit";
      visits_in_round[r].push_back(visit);
    }
  }
  ASSERT_GE(cells, 3u);
  for (std::size_t r = 0; r + 1 < 3; ++r) {
    EXPECT_LT(*std::max_element(visits_in_round[r].begin(), visits_in_round[r].end()),
              *std::min_element(visits_in_round[r + 1].begin(), visits_in_round[r + 1].end()))
        << "round " << r << " is not finished before round " << r + 1 << " starts";
  }
  // Each round's order: the cells sorted by their visit in it.
  for (std::size_t r = 0; r < 3; ++r) {
    std::vector<std::pair<std::size_t, std::string>> order;
    for (const json& cell : report["results"]) {
      if (cell["status"] == "ok") order.emplace_back(cell["repetitions"][r]["visit"], cell["name"]);
    }
    std::sort(order.begin(), order.end());
    for (auto& [visit, name] : order) order_of_round[r].push_back(name);
  }
  EXPECT_FALSE(order_of_round[0] == order_of_round[1] && order_of_round[1] == order_of_round[2])
      << "every round visited the cells in the same order";
}

TEST_F(Runner, GbenchFormatHasWhatCompareDotPyReads) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(20, 2));
  options.gbench_format = true;
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  const json gbench = read(report_path() + ".gbench.json");
  ASSERT_TRUE(gbench.contains("context"));
  ASSERT_FALSE(gbench["benchmarks"].empty());
  for (const json& b : gbench["benchmarks"]) {
    for (const char* key : {"name", "run_name", "run_type", "repetitions", "repetition_index",
                            "threads", "iterations", "real_time", "cpu_time", "time_unit"}) {
      EXPECT_TRUE(b.contains(key)) << key;
    }
    EXPECT_EQ(b["run_type"], "iteration");
    EXPECT_EQ(b["time_unit"], "ns");
    EXPECT_GT(b["real_time"].get<double>(), 0);
  }
}

#if !defined(_WIN32)
TEST_F(Runner, ResumeAfterAKilledRunKeepsWhatItMeasured) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(150, 3));
  options.seed = 11;
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child == 0) {
    options.output_path = report_path();
    std::ostringstream err;
    csync::bench::run_scenario(options, err);
    std::_Exit(0);
  }
  // Kill it once the report holds two cells with repetitions (the report is
  // written about once a second; each visit takes ~0.3 s).
  const auto measured = [](const json& report) {
    std::size_t n = report["results"].size();
    for (const json& cell : report.value("partial", json::array())) n += !cell["repetitions"].empty();
    return n;
  };
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(20ms);
    try {
      if (measured(read(report_path())) >= 2) break;
    } catch (const std::exception&) {  // not written yet
    }
  }
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  const json killed = read(report_path());  // valid JSON: written atomically
  ASSERT_GE(measured(killed), 2u);
  ASSERT_FALSE(killed["run"]["complete"].get<bool>()) << "the run finished before the kill";

  options.resume = true;
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  const json resumed = read(report_path());
  EXPECT_TRUE(resumed["run"]["complete"].get<bool>());
  EXPECT_FALSE(resumed.contains("partial"));
  std::set<std::string> keys;
  for (const json& cell : resumed["results"]) {
    EXPECT_TRUE(keys.insert(cell["key"].get<std::string>()).second) << "cell run twice";
  }
  EXPECT_EQ(resumed["results"].size(), resumed["run"]["cells"].get<std::size_t>());
  const auto after_of = [&](const json& before) -> const json* {
    for (const json& after : resumed["results"]) {
      if (after["key"] == before["key"]) return &after;
    }
    return nullptr;
  };
  for (const json& before : killed["results"]) {  // finished cells kept as they were
    if (before["status"] != "ok") continue;
    const json* after = after_of(before);
    ASSERT_NE(after, nullptr) << before["name"];
    EXPECT_EQ((*after)["repetitions"], before["repetitions"]) << before["name"];
  }
  for (const json& before : killed.value("partial", json::array())) {  // continued, not redone
    const json* after = after_of(before);
    ASSERT_NE(after, nullptr) << before["name"];
    if ((*after)["status"] != "ok") continue;
    for (std::size_t r = 0; r < before["repetitions"].size(); ++r) {
      EXPECT_EQ((*after)["repetitions"][r], before["repetitions"][r]) << before["name"] << " " << r;
    }
  }
}
#endif  // !_WIN32 (fork)

TEST_F(Runner, ResumeRefusesAReportFromAnotherLoopBackend) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(10, 1));
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  json report = read(report_path());
  report["context"]["loop_backend"] = "elsewhere";
  std::ofstream(report_path()) << report.dump();
  options.resume = true;
  EXPECT_EQ(run(options), csync::bench::exit_bad_input);
  EXPECT_NE(errors_.find("loop_backend \"elsewhere\""), std::string::npos) << errors_;
  EXPECT_EQ(read(report_path()), report) << "the report was touched";
}

TEST_F(Runner, ResumeRefusesAReportFromAnotherBinary) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(10, 1));
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  for (const char* field : {"csync_git_sha", "compiler", "cxx_flags", "kernel"}) {
    json report = read(report_path());
    const json kept = report;
    report["context"][field] = "elsewhere";
    std::ofstream(report_path()) << report.dump();
    options.resume = true;
    EXPECT_EQ(run(options), csync::bench::exit_bad_input) << field;
    EXPECT_NE(errors_.find(std::string(field) + " \"elsewhere\""), std::string::npos) << errors_;
    std::ofstream(report_path()) << kept.dump();
  }
}

TEST_F(Runner, ReferenceRunsRefuseWhatCannotBeReproduced) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(10, 1));
  options.reference = true;
  options.smoke = true;  // refused whatever the tree: a smoke run measures nothing
  EXPECT_EQ(run(options), csync::bench::exit_bad_input);
  EXPECT_NE(errors_.find("--reference: "), std::string::npos) << errors_;
  EXPECT_FALSE(fs::exists(report_path())) << "nothing written when refused";
}

TEST_F(Runner, SigintLeavesAValidReportOfFinishedCells) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(200, 3));
  std::thread interrupter([] {
    std::this_thread::sleep_for(900ms);
    csync::bench::interrupt_requested = true;
  });
  const int rc = run(options);
  interrupter.join();
  EXPECT_EQ(rc, csync::bench::exit_interrupted);
  const json report = read(report_path());
  EXPECT_FALSE(report["run"]["complete"].get<bool>());
  EXPECT_LT(report["results"].size(), report["run"]["cells"].get<std::size_t>());
  for (const json& cell : report["results"]) {
    if (cell["status"] == "failed") {  // only a peer may (docs/peers.md)
      EXPECT_EQ(cell["parameters"]["strategy"], "std_counting_semaphore");
    }
  }
  EXPECT_NE(errors_.find("--resume"), std::string::npos) << errors_;
}

/// An interrupted run keeps the repetitions of cells it had not finished
/// (`partial`), and --resume continues them instead of starting again.
TEST_F(Runner, ResumeContinuesPartlyMeasuredCells) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(100, 3));
  options.seed = 5;
  // Interrupt once the report on disk holds a cell measured in part (the
  // report is written about once a second), however slow the build.
  std::thread interrupter([this] {
    for (int i = 0; i < 3000; ++i) {
      std::this_thread::sleep_for(20ms);
      try {
        if (!read(report_path()).value("partial", json::array()).empty()) break;
      } catch (const std::exception&) {  // not written yet
      }
    }
    csync::bench::interrupt_requested = true;
  });
  ASSERT_EQ(run(options), csync::bench::exit_interrupted) << errors_;
  interrupter.join();
  const json interrupted = read(report_path());
  ASSERT_TRUE(interrupted.contains("partial")) << errors_;
  ASSERT_FALSE(interrupted["partial"].empty());
  for (const json& cell : interrupted["partial"]) {
    EXPECT_EQ(cell["status"], "partial");
    EXPECT_GE(cell["repetitions"].size(), 1u);
    EXPECT_LE(cell["repetitions"].size(), 3u);  // 3: interrupted in the diagnostic round
  }
  EXPECT_NE(errors_.find("partly measured"), std::string::npos) << errors_;

  csync::bench::interrupt_requested = false;
  options.resume = true;
  ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
  const json resumed = read(report_path());
  EXPECT_FALSE(resumed.contains("partial"));
  EXPECT_EQ(resumed["results"].size(), resumed["run"]["cells"].get<std::size_t>());
  for (const json& before : interrupted["partial"]) {
    for (const json& after : resumed["results"]) {
      if (after["key"] != before["key"] || after["status"] != "ok") continue;
      ASSERT_EQ(after["repetitions"].size(), 3u) << after["name"];
      for (std::size_t r = 0; r < before["repetitions"].size(); ++r) {
        EXPECT_EQ(after["repetitions"][r], before["repetitions"][r]) << "repetition " << r << " re-measured";
      }
    }
  }
}

/// Reports of several invocations merge into one: repetitions tagged with
/// their invocation, summaries over the invocations' medians, ratios over
/// their ratios; reports that must not be mixed are refused.
TEST_F(Runner, InvocationReportsMergeIntoOne) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(10, 2));
  std::vector<json> parts;
  for (std::uint64_t seed : {1, 2}) {
    options.seed = seed;
    ASSERT_EQ(run(options), csync::bench::exit_ok) << errors_;
    parts.push_back(read(report_path()));
  }
  // A peer that lost a wake-up in one invocation is failed in the merge.
  std::string failed_key;
  for (json& cell : parts[1]["results"]) {
    if (cell["status"] == "ok" && cell["is_peer"].get<bool>() && failed_key.empty()) {
      failed_key = cell["key"];
      cell["status"] = "failed";
      cell["reason"] = "injected";
    }
  }
  const json merged = csync::bench::merge_invocations(parts);
  std::size_t ok = 0;
  for (const json& cell : merged["results"]) {
    if (cell["key"] == failed_key) {
      EXPECT_EQ(cell["status"], "failed");
      EXPECT_EQ(cell["invocation"], 2);
      continue;
    }
    if (cell["status"] != "ok") continue;
    ++ok;
    ASSERT_EQ(cell["repetitions"].size(), 4u);
    std::vector<int> invocations;
    for (const json& rep : cell["repetitions"]) invocations.push_back(rep["invocation"]);
    EXPECT_EQ(invocations, (std::vector<int>{1, 1, 2, 2}));
    const json& throughput = cell["aggregates"]["throughput"];
    EXPECT_EQ(throughput["ci_method"], "order_statistics_of_invocation_medians");
    EXPECT_EQ(throughput["n"], 2);
    EXPECT_EQ(throughput["repetitions"], 4);
    EXPECT_DOUBLE_EQ(throughput["ci_coverage"].get<double>(), 0.5) << "2 invocations: [min, max]";
    EXPECT_TRUE(throughput.contains("within_invocation_stddev"));
    EXPECT_TRUE(throughput.contains("between_invocation_stddev"));
    EXPECT_EQ(cell["provenance"]["invocations"].size(), 2u);
    std::uint64_t operations = 0;
    for (const json& part : parts) {
      for (const json& c : part["results"]) {
        if (c["key"] == cell["key"]) operations += c["diagnostic"]["operations"].get<std::uint64_t>();
      }
    }
    EXPECT_EQ(cell["diagnostic"]["operations"], operations);
    if (cell["parameters"]["strategy"] == "intrusive_list") {
      EXPECT_FALSE(cell["throughput_vs_peers"].empty());
      // The estimate is the median of the invocations' ratios of medians;
      // with 2 invocations of 2 repetitions, their mean of means' ratio.
      const auto median_of_pair = [](const json& reps, int invocation) {
        std::vector<double> v;
        for (const json& rep : reps) {
          if (rep["invocation"] == invocation) v.push_back(rep["throughput_ops_per_s"]);
        }
        return (v.at(0) + v.at(1)) / 2;
      };
      for (const auto& [peer, ratio] : cell["throughput_vs_peers"].items()) {
        EXPECT_EQ(ratio["ci_method"], "order_statistics_of_invocation_ratios") << peer;
        const json* theirs = nullptr;
        for (const json& c : merged["results"]) {
          if (c["parameters"]["strategy"] == peer && c["point"] == cell["point"]) theirs = &c;
        }
        ASSERT_NE(theirs, nullptr) << peer;
        const double r1 = median_of_pair(cell["repetitions"], 1) / median_of_pair((*theirs)["repetitions"], 1);
        const double r2 = median_of_pair(cell["repetitions"], 2) / median_of_pair((*theirs)["repetitions"], 2);
        EXPECT_NEAR(ratio["ratio"].get<double>(), (r1 + r2) / 2, 1e-9 * (r1 + r2)) << peer;
        EXPECT_DOUBLE_EQ(ratio["ci_low"].get<double>(), std::min(r1, r2)) << peer;
      }
    }
  }
  EXPECT_GE(ok, 2u);

  json other_compiler = parts[1];
  other_compiler["context"]["compiler"] = "elsewhere";
  try {
    csync::bench::merge_invocations({parts[0], other_compiler});
    ADD_FAILURE() << "reports of two compilers were merged";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("compiler"), std::string::npos) << e.what();
  }
  json incomplete = parts[1];
  incomplete["run"]["complete"] = false;
  EXPECT_THROW(csync::bench::merge_invocations({parts[0], incomplete}), std::runtime_error);
}

TEST_F(Runner, BadInputExitsWithTwoAndNamesTheProblem) {
  csync::bench::run_options options;
  options.scenario_path = write_scenario(small_scenario(10, 1));
  options.strategies = {"fuutex"};
  EXPECT_EQ(run(options), csync::bench::exit_bad_input);
  EXPECT_NE(errors_.find("unknown strategy 'fuutex'"), std::string::npos) << errors_;
  EXPECT_NE(errors_.find("intrusive_list"), std::string::npos) << "the known ones are listed";
  EXPECT_FALSE(fs::exists(report_path())) << "nothing written for bad input";

  options.strategies.clear();
  options.scenario_path = (dir_ / "missing.json").string();
  EXPECT_EQ(run(options), csync::bench::exit_bad_input);

  options.scenario_path = write_scenario(small_scenario(10, 1));
  options.resume = true;  // no report to resume from
  EXPECT_EQ(run(options), csync::bench::exit_bad_input);
  EXPECT_NE(errors_.find("--resume"), std::string::npos) << errors_;
}

TEST(Watchdog, WorkersLeftAsleepAfterTheStopAreRescuedAndCounted) {
  // Nobody ever releases a 0-permit semaphore, so both workers are still
  // asleep when the stop comes -- what a lost wake-up looks like to the
  // harness. It must neither hang nor let the repetition pass as healthy.
  csync::Semaphore<> sem(0);
  csync::bench::cell_params p;
  p.threads = 2;
  csync::bench::run_control ctl;
  ctl.duration_ns = 10'000'000;
  const auto t0 = std::chrono::steady_clock::now();
  const csync::bench::repetition_data d =
      csync::bench::semaphore_workload<csync::bench::waiting::blocking>(sem, p, ctl);
  EXPECT_EQ(d.stuck_workers, 2u);
  EXPECT_EQ(d.ops(), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
}

/// A "semaphore" that never makes anybody wait: the harness must notice.
struct no_exclusion {
  void acquire(std::uint64_t) {}
  bool try_acquire(std::uint64_t) { return true; }
  void release(std::uint64_t) {}
};

TEST(ExclusionCheck, MoreHoldersThanPermitsAreCounted) {
  no_exclusion sem;
  csync::bench::cell_params p;
  p.threads = 4;
  p.permits = 1;
  p.critical_section_ns = 20'000;  // long enough for holders to overlap
  csync::bench::run_control ctl;
  ctl.duration_ns = 50'000'000;
  ctl.mode = csync::bench::run_mode::diagnostic;  // the checker runs there only
  const csync::bench::repetition_data d =
      csync::bench::semaphore_workload<csync::bench::waiting::blocking>(sem, p, ctl);
  EXPECT_GT(d.violations, 0u);
  EXPECT_GT(d.max_holders, 1u);

  // A throughput run carries no checker: it measures the primitive alone.
  ctl.mode = csync::bench::run_mode::throughput;
  const csync::bench::repetition_data bare =
      csync::bench::semaphore_workload<csync::bench::waiting::blocking>(sem, p, ctl);
  EXPECT_EQ(bare.violations, 0u);
  EXPECT_EQ(bare.max_holders, 0u);
}

TEST(Pinning, OrdersAreThePermutationsOfTheAllowedCpus) {
  using csync::bench::pinning;
  EXPECT_TRUE(csync::bench::pin_order(pinning::none).empty());
  const std::vector<int> allowed = csync::bench::platform::allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  const std::set<int> expected(allowed.begin(), allowed.end());
  for (pinning mode : {pinning::compact, pinning::spread}) {
    const std::vector<int> order = csync::bench::pin_order(mode);
    EXPECT_EQ(order.size(), expected.size());
    EXPECT_EQ(std::set<int>(order.begin(), order.end()), expected);
    // A pinned worker runs where it was put.
    std::thread([&] {
      csync::bench::pin_current_thread(order.back());
      EXPECT_EQ(csync::bench::platform::current_cpu(), order.back());
    }).join();
  }
}

}  // namespace
