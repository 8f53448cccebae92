// harness/tests/scenario_test.cpp -- the scenario loader (harness/src/scenario.hpp)
// against a small fake catalog, so the tests do not depend on which strategies
// this build has: good files (what cells come out, in which order) and bad
// files (each error names the place and what was expected).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "scenario.hpp"

namespace {

using namespace csync::bench;

/// Whether `text` contains `part`, showing both when not.
::testing::AssertionResult contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\n  " << text << "\ndoes not contain\n  " << part;
}

strategy_catalog fake_catalog() {
  const auto not_threads_mixed_io = [](workload_kind w, waiter_kind k) {
    return !(w == workload_kind::mixed_io && k == waiter_kind::threads);
  };
  strategy_catalog catalog;
  catalog.entries = {
      {"intrusive_list", false, false, not_threads_mixed_io},
      {"futex", false, true, not_threads_mixed_io},
      {"std_counting_semaphore", true, false,
       [](workload_kind w, waiter_kind k) {
         return k == waiter_kind::threads &&
                (w == workload_kind::semaphore || w == workload_kind::pingpong);
       }},
      {"std_mutex_condvar", true, false,
       [](workload_kind w, waiter_kind k) {
         return k == waiter_kind::threads && w == workload_kind::semaphore;
       }},
  };
  return catalog;
}

scenario parse(std::string_view text) { return parse_scenario(text, "t.json", fake_catalog()); }

/// The message parse() throws, or a failure if it accepts `text`.
std::string error_of(std::string_view text) {
  try {
    parse(text);
  } catch (const scenario_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return {};
}

/// Whether parse() refuses `text` with a message containing `part`.
::testing::AssertionResult refused_with(std::string_view text, const std::string& part) {
  return contains(error_of(text), part);
}

/// A scenario without peers, with `defaults` and `matrix` as given.
std::string file(std::string_view defaults, std::string_view matrix = "{}") {
  return R"({"name": "t", "peers": false, "defaults": )" + std::string(defaults) +
         R"(, "matrix": )" + std::string(matrix) + "}";
}

/// "[1, 2, ..., count]"
std::string json_array(int count) {
  std::string out = "[1";
  for (int i = 2; i <= count; ++i) out.append(", ").append(std::to_string(i));
  return out + "]";
}

std::vector<std::string> strategies_of(const scenario& s) {
  std::vector<std::string> out;
  for (const auto& c : s.cells) out.push_back(c.strategy);
  return out;
}

// ---- good files -------------------------------------------------------------

TEST(ScenarioLoad, DefaultsOnlyGivesOneCellWithTheBuiltInDefaults) {
  const std::string text = R"({"name": "one", "description": "d", "peers": false,
                               "defaults": {"strategy": "futex"}})";
  const scenario s = parse(text);
  EXPECT_EQ(s.name, "one");
  EXPECT_EQ(s.description, "d");
  EXPECT_EQ(s.origin, "t.json");
  EXPECT_EQ(s.hash, fnv1a_hex(text));
  EXPECT_FALSE(s.peers);
  ASSERT_EQ(s.cells.size(), 1u);
  const cell_params& c = s.cells[0];
  cell_params expected;
  expected.strategy = "futex";
  EXPECT_EQ(c.to_json(), expected.to_json());
  EXPECT_EQ(c.workload, workload_kind::semaphore);
  EXPECT_EQ(c.duration_ms, 1000u);
  EXPECT_EQ(c.repetitions, 6u);
  EXPECT_FALSE(c.spin_budget.has_value());
  EXPECT_TRUE(s.excluded.empty());
}

TEST(ScenarioLoad, EveryParameterInDefaults) {
  const scenario s = parse(file(R"({
    "workload": "condvar", "strategy": "futex", "waiters": "coroutines", "threads": 3,
    "tasks": 64, "loops": 4, "permits": 8, "weight": 2, "critical_section_ns": 100,
    "think_ns": 200, "fairness": "fifo", "spin_budget": 50, "hold": "timer",
    "duration_ms": 0, "operations": 1000, "warmup_ms": 7, "repetitions": 9,
    "pinning": "spread", "queue_capacity": 32})"));
  ASSERT_EQ(s.cells.size(), 1u);
  EXPECT_EQ(s.cells[0].to_json(), nlohmann::json::parse(R"({
    "workload": "condvar", "strategy": "futex", "waiters": "coroutines",
    "tasks": 64, "loops": 4, "permits": 8, "weight": 2, "critical_section_ns": 100,
    "think_ns": 200, "fairness": "fifo", "spin_budget": 50, "hold": "timer",
    "duration_ms": 0, "operations": 1000, "warmup_ms": 7, "repetitions": 9,
    "pinning": "spread", "queue_capacity": 32})"));
  EXPECT_EQ(s.cells[0].threads, 1u) << "threads does not apply to coroutine waiters";
}

TEST(ScenarioLoad, MeasurementParametersAndOpenLoops) {
  const scenario s = parse(file(R"({"strategy": "futex", "latency_sample_every": 16,
    "arrival": "poisson", "arrival_rate_per_s": 5000})"));
  ASSERT_EQ(s.cells.size(), 1u);
  const cell_params& c = s.cells[0];
  EXPECT_EQ(c.latency_sample_every, 16u);
  EXPECT_EQ(c.arrival, arrival_kind::poisson);
  EXPECT_EQ(c.arrival_rate_per_s, 5000u);
  EXPECT_EQ(c.to_json()["arrival"], "poisson");
  EXPECT_EQ(c.to_json()["arrival_rate_per_s"], 5000);
  EXPECT_EQ(c.to_json()["latency_sample_every"], 16);

  // Closed loops carry no rate; built-in values are left out of the JSON.
  const scenario closed = parse(file(R"({"strategy": "futex", "arrival_rate_per_s": 5000})"));
  EXPECT_EQ(closed.cells[0].arrival_rate_per_s, 0u);
  EXPECT_FALSE(closed.cells[0].to_json().contains("arrival"));
  EXPECT_FALSE(closed.cells[0].to_json().contains("latency_sample_every"));

  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex", "arrival": "fixed"})"),
               "an open loop (arrival fixed) needs arrival_rate_per_s > 0"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex", "workload": "pingpong", "arrival": "fixed",
                        "arrival_rate_per_s": 10})"),
               "is supported by the semaphore workload only, not pingpong"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex", "latency_sample_every": 0})"),
               "$.defaults.latency_sample_every: 0 is out of range 1..1048576"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex", "arrival": "open"})"), "$.defaults.arrival"));
}

TEST(ScenarioLoad, MatrixIsTheCrossProductWithTheLastKeyFastest) {
  const scenario s = parse(file("{}", R"({"threads": [1, 2, 4],
                                          "strategy": ["intrusive_list", "futex"]})"));
  ASSERT_EQ(s.cells.size(), 6u);
  const std::vector<std::pair<std::uint32_t, std::string>> expected{
      {1, "intrusive_list"}, {1, "futex"},          {2, "intrusive_list"},
      {2, "futex"},          {4, "intrusive_list"}, {4, "futex"}};
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(s.cells[i].threads, expected[i].first) << i;
    EXPECT_EQ(s.cells[i].strategy, expected[i].second) << i;
  }
  // File order, not alphabetical: swapping the keys swaps which varies fastest.
  const scenario swapped = parse(file("{}", R"({"strategy": ["intrusive_list", "futex"],
                                                "threads": [1, 2, 4]})"));
  ASSERT_EQ(swapped.cells.size(), 6u);
  EXPECT_EQ(swapped.cells[1].threads, 2u);
  EXPECT_EQ(swapped.cells[1].strategy, "intrusive_list");
}

TEST(ScenarioLoad, MatrixWinsOverDefaults) {
  const scenario s =
      parse(file(R"({"strategy": "futex", "threads": 8})", R"({"threads": [1, 2]})"));
  ASSERT_EQ(s.cells.size(), 2u);
  EXPECT_EQ(s.cells[0].threads, 1u);
  EXPECT_EQ(s.cells[1].threads, 2u);
}

TEST(ScenarioLoad, InapplicableParametersAreNormalizedAndDuplicatesDropped) {
  // 2 waiter kinds x 2 threads x 2 tasks = 8 combinations, but thread cells
  // ignore tasks and coroutine cells ignore threads: 4 distinct cells.
  const scenario s = parse(file(R"({"strategy": "intrusive_list", "spin_budget": 10,
                                    "hold": "yield", "queue_capacity": 99, "operations": 5})",
                                R"({"waiters": ["threads", "coroutines"], "threads": [1, 2],
                                    "tasks": [4, 8]})"));
  ASSERT_EQ(s.cells.size(), 4u);
  const cell_params built_in;
  for (std::size_t i = 0; i < 2; ++i) {
    const cell_params& c = s.cells[i];
    EXPECT_EQ(c.waiters, waiter_kind::threads);
    EXPECT_EQ(c.threads, i + 1);
    EXPECT_EQ(c.tasks, built_in.tasks);
    EXPECT_EQ(c.loops, built_in.loops);
    EXPECT_EQ(c.hold, hold_mode::none);
  }
  for (std::size_t i = 2; i < 4; ++i) {
    const cell_params& c = s.cells[i];
    EXPECT_EQ(c.waiters, waiter_kind::coroutines);
    EXPECT_EQ(c.threads, built_in.threads);
    EXPECT_EQ(c.tasks, i == 2 ? 4u : 8u);
    EXPECT_EQ(c.hold, hold_mode::yield);
  }
  for (const cell_params& c : s.cells) {
    EXPECT_FALSE(c.spin_budget) << "intrusive_list has no spin budget";
    EXPECT_EQ(c.queue_capacity, built_in.queue_capacity) << "not the condvar workload";
    EXPECT_EQ(c.operations, 0u) << "duration_ms > 0: operations do not apply";
  }
}

TEST(ScenarioLoad, SpinBudgetMayBeNullAndSweepsAgainstTheDefault) {
  const scenario s = parse(
      file(R"({"strategy": "futex", "spin_budget": null})", R"({"spin_budget": [null, 0, 100]})"));
  ASSERT_EQ(s.cells.size(), 3u);
  EXPECT_FALSE(s.cells[0].spin_budget);
  EXPECT_EQ(s.cells[1].spin_budget, 0u);
  EXPECT_EQ(s.cells[2].spin_budget, 100u);
}

TEST(ScenarioLoad, ToJsonHasOnlyApplicableMembers) {
  cell_params c;
  c.strategy = "futex";
  c.duration_ms = 250;
  const nlohmann::json j = c.to_json();
  EXPECT_EQ(j.at("fairness"), "default");
  EXPECT_EQ(j.at("pinning"), "none");
  EXPECT_EQ(j.at("threads"), 1);
  for (const char* absent :
       {"tasks", "loops", "hold", "spin_budget", "operations", "queue_capacity", "pin"}) {
    EXPECT_FALSE(j.contains(absent)) << absent;
  }
  c.waiters = waiter_kind::coroutines;
  c.workload = workload_kind::condvar;
  c.duration_ms = 0;
  c.spin_budget = 3;
  const nlohmann::json k = c.to_json();
  EXPECT_FALSE(k.contains("threads"));
  for (const char* present :
       {"tasks", "loops", "hold", "spin_budget", "operations", "queue_capacity"}) {
    EXPECT_TRUE(k.contains(present)) << present;
  }
}

TEST(ScenarioLoad, KeyIsStableAndIgnoresTheRunSettings) {
  cell_params c;
  c.strategy = "futex";
  c.threads = 4;
  c.spin_budget = 100;
  // Reports written by one version are resumed by the next: this string must not change.
  EXPECT_EQ(c.key(),
            R"({"critical_section_ns":0,"fairness":"default","permits":1,"pinning":"none",)"
            R"("spin_budget":100,"strategy":"futex","think_ns":0,"threads":4,)"
            R"("waiters":"threads","weight":1,"workload":"semaphore"})");
  cell_params rerun = c;
  rerun.repetitions = 20;
  rerun.warmup_ms = 0;
  rerun.duration_ms = 0;
  rerun.operations = 1000;
  EXPECT_EQ(rerun.key(), c.key());
  cell_params other = c;
  other.threads = 8;
  EXPECT_NE(other.key(), c.key());
}

TEST(ScenarioLoad, PeersAreAddedOncePerParameterPoint) {
  const scenario s = parse(R"({"name": "p",
    "defaults": {"fairness": "fifo", "spin_budget": 100},
    "matrix": {"threads": [1, 2], "strategy": ["intrusive_list", "futex"]}})");
  EXPECT_TRUE(s.peers);
  EXPECT_EQ(strategies_of(s),
            (std::vector<std::string>{"intrusive_list", "futex", "intrusive_list", "futex",
                                      "std_counting_semaphore", "std_mutex_condvar",
                                      "std_counting_semaphore", "std_mutex_condvar"}));
  for (std::size_t i = 4; i < 8; ++i) {
    EXPECT_EQ(s.cells[i].threads, i < 6 ? 1u : 2u);
    EXPECT_EQ(s.cells[i].fairness, fairness_choice::strategy_default);
    EXPECT_FALSE(s.cells[i].spin_budget);
  }
}

TEST(ScenarioLoad, PeersOnlyWhereTheySupportTheWorkloadAndWaiters) {
  const scenario s = parse(R"({"name": "p",
    "defaults": {"strategy": "futex", "workload": "pingpong"},
    "matrix": {"waiters": ["threads", "coroutines"]}})");
  EXPECT_EQ(strategies_of(s),
            (std::vector<std::string>{"futex", "futex", "std_counting_semaphore"}));
  EXPECT_EQ(s.cells[2].waiters, waiter_kind::threads);
  EXPECT_TRUE(s.excluded.empty()) << "a peer not added is not an excluded cell";
}

TEST(ScenarioLoad, PeersNamedInTheMatrixAreNotDuplicated) {
  const scenario s = parse(R"({"name": "p", "defaults": {"fairness": "barging"},
    "matrix": {"strategy": ["futex", "std_counting_semaphore"]}})");
  EXPECT_EQ(strategies_of(s),
            (std::vector<std::string>{"futex", "std_counting_semaphore", "std_mutex_condvar"}));
  EXPECT_EQ(s.cells[1].fairness, fairness_choice::strategy_default)
      << "a peer has no fairness to choose";
  // Without peers, the named one stays.
  const scenario named = parse(R"({"name": "p", "peers": false,
    "matrix": {"strategy": ["futex", "std_counting_semaphore"]}})");
  EXPECT_EQ(strategies_of(named), (std::vector<std::string>{"futex", "std_counting_semaphore"}));
}

TEST(ScenarioLoad, UnsupportedCellsAreExcludedWithAReason) {
  const scenario s = parse(R"({"name": "x", "defaults": {"workload": "mixed_io"},
    "matrix": {"waiters": ["threads", "coroutines"],
               "strategy": ["futex", "std_counting_semaphore"]}})");
  ASSERT_EQ(s.cells.size(), 1u);
  EXPECT_EQ(s.cells[0].strategy, "futex");
  EXPECT_EQ(s.cells[0].waiters, waiter_kind::coroutines);
  ASSERT_EQ(s.excluded.size(), 3u);
  EXPECT_EQ(s.excluded[0].params.strategy, "futex");
  EXPECT_TRUE(contains(s.excluded[0].reason, "strategy futex"));
  EXPECT_TRUE(contains(s.excluded[0].reason, "mixed_io"));
  EXPECT_TRUE(contains(s.excluded[0].reason, "threads"));
  EXPECT_TRUE(contains(s.excluded[2].reason, "peer std_counting_semaphore"));
  EXPECT_TRUE(contains(s.excluded[2].reason, "coroutines"));
}

TEST(ScenarioLoad, HashIsFnv1a64OfTheBytes) {
  EXPECT_EQ(fnv1a_hex(""), "cbf29ce484222325");
  EXPECT_EQ(fnv1a_hex("a"), "af63dc4c8601ec8c");
  EXPECT_EQ(fnv1a_hex("foobar"), "85944171f73967e8");
  const std::string text = file(R"({"strategy": "futex"})");
  EXPECT_NE(parse(text).hash, parse(text + " ").hash);
}

TEST(ScenarioLoad, EnumNamesAreTheJsonNames) {
  EXPECT_EQ(to_string(workload_kind::mixed_io), "mixed_io");
  EXPECT_EQ(to_string(waiter_kind::coroutines), "coroutines");
  EXPECT_EQ(to_string(pinning::compact), "compact");
  EXPECT_EQ(to_string(hold_mode::timer), "timer");
  EXPECT_EQ(to_string(fairness_choice::strategy_default), "default");
  EXPECT_EQ(to_string(fairness_choice::barging), "barging");
}

TEST(ScenarioLoad, CatalogFindAndNames) {
  const strategy_catalog catalog = fake_catalog();
  ASSERT_NE(catalog.find("futex"), nullptr);
  EXPECT_TRUE(catalog.find("futex")->has_spin_budget);
  EXPECT_EQ(catalog.find("fuutex"), nullptr);
  EXPECT_EQ(catalog.names(), "intrusive_list, futex, std_counting_semaphore, std_mutex_condvar");
}

TEST(ScenarioLoad, LoadsAFileAndRefusesAMissingOne) {
  const auto unique = std::chrono::steady_clock::now().time_since_epoch().count();
  const auto dir = std::filesystem::path(::testing::TempDir()) /
                   ("csync_scenario_test_" + std::to_string(unique));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "good.json").string();
  const std::string text = file(R"({"strategy": "futex"})");
  std::ofstream(path, std::ios::binary) << text;
  const scenario s = load_scenario(path, fake_catalog());
  EXPECT_EQ(s.origin, path);
  EXPECT_EQ(s.hash, fnv1a_hex(text));
  EXPECT_EQ(s.cells.size(), 1u);

  const auto missing = (dir / "missing.json").string();
  try {
    load_scenario(missing, fake_catalog());
    ADD_FAILURE() << "missing file accepted";
  } catch (const scenario_error& e) {
    EXPECT_TRUE(contains(e.what(), missing + ": cannot open"));
  }
  EXPECT_THROW(load_scenario(dir.string(), fake_catalog()), scenario_error);
  std::filesystem::remove_all(dir);
}

// ---- bad files --------------------------------------------------------------

TEST(ScenarioErrors, InvalidJsonHasLineAndColumn) {
  const std::string e = error_of("{\n  \"name\": \"x\",\n  \"peers\" }\n");
  EXPECT_TRUE(contains(e, "t.json:3:11: invalid JSON: "));
  EXPECT_TRUE(contains(e, "unexpected '}'"));
  EXPECT_EQ(e.find("json.exception"), std::string::npos) << e;

  EXPECT_TRUE(refused_with("", "t.json:1:1: invalid JSON: "));
  EXPECT_TRUE(refused_with("{\"name\": \"x\"} x", "t.json:1:15: invalid JSON: "));
  EXPECT_TRUE(refused_with("{\"name\": \"x\", // comment\n}", "t.json:1:15: invalid JSON"));
  EXPECT_TRUE(refused_with("{\"name\": \"\xff\"}", "t.json:1:11: invalid JSON"));
}

TEST(ScenarioErrors, NumberOverflowHasLineAndColumnToo) {
  const std::string e = error_of("{\"name\": \"x\",\n \"defaults\": {\"threads\": 1e999}}");
  EXPECT_TRUE(contains(e, "t.json:2:"));
  EXPECT_TRUE(contains(e, "invalid JSON: number overflow"));
}

TEST(ScenarioErrors, DuplicateKeysAreRefused) {
  EXPECT_TRUE(refused_with(file(R"({"threads": 1, "threads": 2})"),
                           "t.json: $.defaults.threads: duplicate key"));
  EXPECT_TRUE(refused_with(R"({"name": "a", "name": "b"})", "$.name: duplicate key"));
}

TEST(ScenarioErrors, DeepNestingIsAnErrorNotACrash) {
  const std::string deep(100'000, '[');
  EXPECT_TRUE(refused_with(deep, "invalid JSON"));
  const std::string nested = std::string(50'000, '[') + std::string(50'000, ']');
  EXPECT_TRUE(refused_with(file(R"({"threads": )" + nested + "}"),
                           "$.defaults.threads: expected an unsigned integer, got an array"));
}

TEST(ScenarioErrors, WrongTypesNameThePathAndTheExpectation) {
  const std::string d = R"({"strategy": "futex", )";
  EXPECT_TRUE(
      refused_with(file(d + R"("threads": "4"})"),
                   R"(t.json: $.defaults.threads: expected an unsigned integer, got string "4")"));
  EXPECT_TRUE(
      refused_with(file(d + R"("threads": 1.5})"), "expected an unsigned integer, got number 1.5"));
  EXPECT_TRUE(
      refused_with(file(d + R"("threads": 4.0})"), "expected an unsigned integer, got number 4.0"));
  EXPECT_TRUE(refused_with(file(d + R"("threads": true})"),
                           "expected an unsigned integer, got boolean true"));
  EXPECT_TRUE(
      refused_with(file(d + R"("threads": null})"), "expected an unsigned integer, got null"));
  EXPECT_TRUE(refused_with(file(d + R"("spin_budget": "x"})"),
                           "$.defaults.spin_budget: expected an unsigned integer or null"));
  EXPECT_TRUE(refused_with(file(d + R"("workload": "sem"})"),
                           "$.defaults.workload: expected one of semaphore, condvar, broadcast, "
                           R"(pingpong, mixed_io; got string "sem")"));
  EXPECT_TRUE(
      refused_with(file(d + R"("fairness": 1})"),
                   "$.defaults.fairness: expected one of default, fifo, barging; got number 1"));
  EXPECT_TRUE(
      refused_with(file(d + R"("pinning": "numa"})"), "expected one of none, compact, spread"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": 3})"),
                           "$.defaults.strategy: expected a strategy name (string), got number 3"));
}

TEST(ScenarioErrors, AbsurdValuesAreRefusedWithTheLimit) {
  const std::string d = R"({"strategy": "futex", )";
  EXPECT_TRUE(
      refused_with(file(d + R"("threads": 0})"), "$.defaults.threads: 0 is out of range 1..1024"));
  EXPECT_TRUE(refused_with(file(d + R"("threads": 1000000})"),
                           "$.defaults.threads: 1000000 is out of range 1..1024"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex"})", R"({"threads": [1, 2, 0]})"),
                           "t.json: $.matrix.threads[2]: 0 is out of range 1..1024"));
  EXPECT_TRUE(refused_with(file(d + R"("duration_ms": -5})"),
                           "$.defaults.duration_ms: -5 is out of range 0..3600000"));
  EXPECT_TRUE(refused_with(file(d + R"("permits": 0})"),
                           "$.defaults.permits: 0 is out of range 1..1099511627776"));
  EXPECT_TRUE(refused_with(file(d + R"("repetitions": 1001})"), "1001 is out of range 1..1000"));
  EXPECT_TRUE(refused_with(file(d + R"("tasks": 65537})"), "out of range 1..65536"));
  EXPECT_TRUE(refused_with(file(d + R"("loops": 257})"), "out of range 1..256"));
  EXPECT_TRUE(refused_with(file(d + R"("critical_section_ns": 10000000001})"),
                           "out of range 0..10000000000"));
  EXPECT_TRUE(refused_with(file(d + R"("spin_budget": 16777217})"), "out of range 0..16777216"));
  EXPECT_TRUE(refused_with(file(d + R"("queue_capacity": 0})"), "out of range 1..1048576"));
  EXPECT_TRUE(refused_with(file(d + R"("operations": 18446744073709551615})"),
                           "18446744073709551615 is out of range 0..1000000000000"));
  EXPECT_TRUE(refused_with(file(d + R"("operations": -9223372036854775808})"),
                           "-9223372036854775808 is out of range"));
  // -0 is zero, not a negative number.
  EXPECT_EQ(parse(file(d + R"("think_ns": -0})")).cells[0].think_ns, 0u);
}

TEST(ScenarioErrors, UnknownKeysListTheKnownOnes) {
  EXPECT_TRUE(
      refused_with(file(R"({"strategy": "futex", "colour": 1})"),
                   "t.json: $.defaults.colour: unknown parameter; known: workload, strategy, "
                   "waiters, threads, tasks, loops, permits, weight, critical_section_ns, "
                   "think_ns, fairness, spin_budget, hold, duration_ms, operations, "
                   "warmup_ms, repetitions, pinning, queue_capacity"));
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex"})", R"({"pin": ["none"]})"),
                           "$.matrix.pin: unknown parameter; known: workload"));
  EXPECT_TRUE(refused_with(R"({"name": "x", "colour": 1})",
                           "t.json: $.colour: unknown key; known: name, description, peers, "
                           "defaults, matrix"));
  EXPECT_TRUE(refused_with(R"({"name": "x", "a b": 1})", R"($["a b"]: unknown key)"));
}

TEST(ScenarioErrors, TopLevelShape) {
  EXPECT_TRUE(refused_with("[1]", "t.json: $: expected an object, got an array"));
  EXPECT_TRUE(refused_with(R"({"defaults": {}})", "t.json: $.name: required"));
  EXPECT_TRUE(refused_with(R"({"name": ""})", "$.name: expected a non-empty string"));
  EXPECT_TRUE(refused_with(R"({"name": 1})", "$.name: expected a non-empty string, got number 1"));
  EXPECT_TRUE(
      refused_with(R"({"name": "x", "description": 2})", "$.description: expected a string"));
  EXPECT_TRUE(refused_with(R"({"name": "x", "peers": "yes"})",
                           R"($.peers: expected true or false, got string "yes")"));
  EXPECT_TRUE(refused_with(R"({"name": "x", "defaults": []})",
                           "$.defaults: expected an object, got an empty array"));
  EXPECT_TRUE(refused_with(R"({"name": "x", "defaults": {"strategy": "futex"}, "matrix": 1})",
                           "$.matrix: expected an object, got number 1"));
  EXPECT_TRUE(refused_with(R"({"name": "x"})", "t.json: $.defaults.strategy: required"));
}

TEST(ScenarioErrors, UnknownStrategyListsTheKnownOnes) {
  EXPECT_TRUE(refused_with(file(R"({"strategy": "fuutex"})"),
                           "t.json: $.defaults.strategy: unknown strategy 'fuutex'; known: "
                           "intrusive_list, futex, std_counting_semaphore, std_mutex_condvar"));
  EXPECT_TRUE(refused_with(file("{}", R"({"strategy": ["futex", "spin"]})"),
                           "$.matrix.strategy[1]: unknown strategy 'spin'; known: intrusive_list"));
}

TEST(ScenarioErrors, MatrixArrays) {
  const std::string d = R"({"strategy": "futex"})";
  EXPECT_TRUE(refused_with(file(d, R"({"threads": []})"),
                           "$.matrix.threads: expected a non-empty array, got an empty array"));
  EXPECT_TRUE(refused_with(file(d, R"({"threads": 4})"),
                           "$.matrix.threads: expected a non-empty array, got number 4"));
  EXPECT_TRUE(refused_with(file(d, R"({"threads": )" + json_array(1001) + "}"),
                           "$.matrix.threads: 1001 values; limit 1..1000 per parameter"));
  EXPECT_TRUE(refused_with(file(d, R"({"threads": )" + json_array(100) + R"(, "permits": )" +
                                       json_array(100) + R"(, "weight": )" + json_array(100) + "}"),
                           "$.matrix: the cross product has at least 1000000 cells; limit 100000"));
}

TEST(ScenarioErrors, CrossFieldChecksNameEveryPlaceAndTheCell) {
  const std::string e =
      error_of(file(R"({"strategy": "futex", "permits": 2})", R"({"weight": [1, 4]})"));
  EXPECT_TRUE(contains(e,
                       "t.json: $.matrix.weight[1]: weight 4 is more than permits 2 "
                       "(permits from $.defaults.permits); cell: {"));
  EXPECT_TRUE(contains(e, R"("strategy":"futex")"));

  const std::string loops = error_of(file(R"({"strategy": "futex", "waiters": "coroutines",
                                              "loops": 8})",
                                          R"({"tasks": [16, 4]})"));
  EXPECT_TRUE(contains(loops,
                       "$.defaults.loops: loops 8 is more than tasks 4 "
                       "(tasks from $.matrix.tasks[1])"));
  // The same loops with thread waiters: neither applies, nothing to refuse.
  EXPECT_NO_THROW(parse(file(R"({"strategy": "futex", "loops": 8, "tasks": 4})")));

  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex", "duration_ms": 0})"),
                           "$.defaults.duration_ms: duration_ms 0 needs operations > 0 "
                           "(operations from built-in default)"));
  EXPECT_NO_THROW(parse(file(R"({"strategy": "futex", "duration_ms": 0, "operations": 10})")));
}

TEST(ScenarioErrors, CellsDifferingOnlyInRunSettingsWouldShareAKey) {
  EXPECT_TRUE(refused_with(file(R"({"strategy": "futex"})", R"({"repetitions": [3, 5]})"),
                           "$.matrix: two cells differ only in duration_ms, operations, warmup_ms "
                           "or repetitions"));
}

TEST(ScenarioErrors, OversizedTextIsRefusedWithTheLimit) {
  const std::string text = file(R"({"strategy": "futex"})") + std::string(1 << 20, ' ');
  EXPECT_TRUE(refused_with(text, "bytes; limit 1048576 bytes"));
}

TEST(ScenarioErrors, LongUserTextIsShortenedInMessages) {
  const std::string name(500, 'x');
  const std::string e = error_of(file(R"({"strategy": ")" + name + "\"}"));
  EXPECT_TRUE(contains(e, "unknown strategy 'xxx"));
  EXPECT_LT(e.size(), 300u);
}

}  // namespace
