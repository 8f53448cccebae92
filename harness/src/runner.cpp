// harness/src/runner.cpp -- see runner.hpp.
#include "runner.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <ostream>
#include <random>
#include <set>

#include "catalog.hpp"
#include "metrics.hpp"
#include "platform.hpp"
#include "report.hpp"
#include "scenario.hpp"

namespace csync::bench {

std::atomic<bool> interrupt_requested{false};

void pin_current_thread(int cpu) noexcept { platform::pin_current_thread(cpu); }

// ---- pinning --------------------------------------------------------------------

// Where the topology is unknown (Windows: platform::cpu_topology_id is -1),
// every CPU looks like a sibling on one core and both orders are CPU index
// order.
std::vector<int> pin_order(pinning mode) {
  if (mode == pinning::none) return {};
  struct cpu_place {
    int package, core, cpu, sibling_rank;
  };
  std::vector<cpu_place> cpus;
  std::map<std::pair<int, int>, int> seen_on_core;
  for (const int cpu : platform::allowed_cpus()) {
    const int package = platform::cpu_topology_id(cpu, "physical_package_id");
    const int core = platform::cpu_topology_id(cpu, "core_id");
    cpus.push_back({package, core, cpu, seen_on_core[{package, core}]++});
  }
  std::sort(cpus.begin(), cpus.end(), [mode](const cpu_place& a, const cpu_place& b) {
    if (mode == pinning::compact) {
      return std::tie(a.package, a.core, a.sibling_rank) < std::tie(b.package, b.core, b.sibling_rank);
    }
    return std::tie(a.sibling_rank, a.core, a.package) < std::tie(b.sibling_rank, b.core, b.package);
  });
  std::vector<int> order;
  for (const cpu_place& c : cpus) order.push_back(c.cpu);
  return order;
}

namespace {

std::size_t allowed_cpus() {
  const std::size_t n = platform::allowed_cpus().size();
  return n == 0 ? 1 : n;
}

// ---- one cell ---------------------------------------------------------------------

std::size_t worker_threads(const cell_params& p) {
  if (p.waiters == waiter_kind::coroutines) return p.loops;
  if (p.workload == workload_kind::pingpong) return std::max<std::uint32_t>(1, p.threads / 2) * 2;
  return p.threads;
}

std::string cell_name(const cell_params& p) {
  std::string name = std::string(to_string(p.workload)) + "/" + p.strategy + "/" +
                     std::string(to_string(p.waiters));
  if (p.waiters == waiter_kind::threads) {
    name += "/threads:" + std::to_string(p.threads);
  } else {
    name += "/tasks:" + std::to_string(p.tasks) + "/loops:" + std::to_string(p.loops);
  }
  if (p.workload != workload_kind::pingpong) {
    name += "/permits:" + std::to_string(p.permits) + "/cs:" + std::to_string(p.critical_section_ns) +
            "/think:" + std::to_string(p.think_ns);
    if (p.weight != 1) name += "/weight:" + std::to_string(p.weight);
  }
  if (p.fairness != fairness_choice::strategy_default) name += "/" + std::string(to_string(p.fairness));
  if (p.spin_budget) name += "/spin:" + std::to_string(*p.spin_budget);
  if (p.hold != hold_mode::none) name += "/hold:" + std::string(to_string(p.hold));
  return name;
}

/// The parameter point of a cell: its parameters without what distinguishes
/// strategies, so peers and csync strategies at one point can be compared.
std::string point_key(const cell_params& p) {
  nlohmann::json j = p.to_json();
  for (const char* k : {"strategy", "fairness", "spin_budget", "repetitions", "warmup_ms",
                        "duration_ms", "operations"}) {
    j.erase(k);
  }
  return j.dump();
}

double per_op(double total, std::uint64_t ops) { return ops ? total / static_cast<double>(ops) : 0.0; }

nlohmann::json repetition_json(const cell_params& p, const repetition_result& r,
                               std::uint32_t sample_every) {
  const repetition_data& d = r.data;
  const std::uint64_t ops = d.ops();
  const double cpu_ns = static_cast<double>(d.usage.user_ns + d.usage.sys_ns);
  // The work each operation asks for: its critical section and think time
  // (burnt by whoever runs it); the rest of the CPU is waiting and waking.
  const double useful_ns = static_cast<double>(p.critical_section_ns + p.think_ns);
  nlohmann::json j = {
      {"elapsed_s", d.elapsed_s},
      {"operations", ops},
      {"throughput_ops_per_s", d.elapsed_s > 0 ? static_cast<double>(ops) / d.elapsed_s : 0.0},
      {"acquire_latency_ns", d.acquire_latency.summary_json()},
      {"wake_latency_ns", d.wake_latency.count() ? d.wake_latency.summary_json() : nlohmann::json()},
      {"latency_sample_every", sample_every},
      {"fairness", fairness_summary::of(d.ops_per_worker).to_json()},
      {"cpu_user_ns_per_op", per_op(static_cast<double>(d.usage.user_ns), ops)},
      {"cpu_sys_ns_per_op", per_op(static_cast<double>(d.usage.sys_ns), ops)},
      {"wasted_cpu_ns_per_op", per_op(cpu_ns, ops) - useful_ns},
      // null where the platform has no per-thread count (Windows; platform.hpp)
      {"voluntary_switches_per_op",
       d.usage.switches_known ? nlohmann::json(per_op(static_cast<double>(d.usage.voluntary_switches), ops))
                              : nlohmann::json()},
      {"involuntary_switches_per_op",
       d.usage.switches_known ? nlohmann::json(per_op(static_cast<double>(d.usage.involuntary_switches), ops))
                              : nlohmann::json()},
      {"wakes_per_op", per_op(static_cast<double>(r.wakes), ops)},
      {"spurious_per_op", per_op(static_cast<double>(r.spurious), ops)},
      {"futile_per_op", per_op(static_cast<double>(r.futile), ops)},
      {"max_holders", d.max_holders},
  };
  return j;
}

/// Aggregates over repetitions: median, mean, stddev, 95% CI of each metric.
nlohmann::json aggregates_json(const nlohmann::json& reps, std::uint64_t seed) {
  struct metric {
    const char* name;
    const char* unit;
    nlohmann::json::json_pointer where;
  };
  using ptr = nlohmann::json::json_pointer;
  const metric metrics[] = {
      {"throughput", "ops/s", ptr("/throughput_ops_per_s")},
      {"acquire_p50", "ns", ptr("/acquire_latency_ns/p50")},
      {"acquire_p99", "ns", ptr("/acquire_latency_ns/p99")},
      {"acquire_p999", "ns", ptr("/acquire_latency_ns/p999")},
      {"wake_p50", "ns", ptr("/wake_latency_ns/p50")},
      {"wake_p99", "ns", ptr("/wake_latency_ns/p99")},
      {"jain", "index", ptr("/fairness/jain")},
      {"relative_stddev", "ratio", ptr("/fairness/relative_stddev")},
      {"cpu_user_per_op", "ns", ptr("/cpu_user_ns_per_op")},
      {"cpu_sys_per_op", "ns", ptr("/cpu_sys_ns_per_op")},
      {"wasted_cpu_per_op", "ns", ptr("/wasted_cpu_ns_per_op")},
      {"voluntary_switches_per_op", "switches", ptr("/voluntary_switches_per_op")},
      {"involuntary_switches_per_op", "switches", ptr("/involuntary_switches_per_op")},
      {"wakes_per_op", "wakes", ptr("/wakes_per_op")},
      {"spurious_per_op", "wakes", ptr("/spurious_per_op")},
      {"futile_per_op", "wakes", ptr("/futile_per_op")},
  };
  nlohmann::json out = nlohmann::json::object();
  for (const metric& m : metrics) {
    std::vector<double> samples;
    for (const nlohmann::json& rep : reps) {
      if (rep.contains(m.where) && rep[m.where].is_number()) samples.push_back(rep[m.where].get<double>());
    }
    if (!samples.empty()) out[m.name] = summary::of(std::move(samples), seed).to_json(m.unit);
  }
  return out;
}

/// What recording one latency costs: two clock reads and a histogram bump.
double record_cost_ns() { return 2 * timer_cost_ns() + 5; }

/// Operations per worker thread that keep the harness's latency recording
/// under 2% of an operation.
std::uint32_t choose_sample_every(double ns_per_op_per_worker) {
  const double record_cost = record_cost_ns();
  if (ns_per_op_per_worker <= 0) return 1;
  const double every = std::ceil(record_cost / (0.02 * ns_per_op_per_worker));
  return static_cast<std::uint32_t>(std::clamp(every, 1.0, double{1 << 20}));
}

double throughput_of(const repetition_result& r) {
  return r.data.elapsed_s > 0 ? static_cast<double>(r.data.ops()) / r.data.elapsed_s : 0.0;
}

struct cell_outcome {
  nlohmann::json entry;
  bool interrupted = false;
  bool failed = false;
};

/// A repetition (or warmup run) that showed the primitive broken -- more
/// holders than permits, or workers left asleep by a lost wake-up -- fails
/// the cell, loudly; a csync cell also fails the run (out.failed). true:
/// the cell failed.
bool fail_if_broken(const repetition_result& result, const cell_params& p, cell_outcome& out,
                    std::ostream& err) {
  const repetition_data& d = result.data;
  std::string reason;
  if (d.violations != 0) {
    reason = "mutual exclusion violated " + std::to_string(d.violations) + " times: " +
             std::to_string(d.max_holders) + " permits held at once, " +
             std::to_string(p.permits) + " exist";
  } else if (d.stuck_workers != 0) {
    reason = std::to_string(d.stuck_workers) +
             " workers were still blocked long after the stop (grace: max(2 s, 4 x duration)) "
             "although they could be served: a lost wake-up in " + p.strategy +
             "; extra releases / notify_all freed them";
  } else {
    return false;
  }
  out.entry["status"] = "failed";
  out.entry["reason"] = reason;
  // A peer is a reference, not the product: its failure is a finding about
  // it (recorded in the report), and does not fail the run.
  const bool peer = find_strategy(p.strategy)->is_peer;
  err << "csync-bench: " << (peer ? "peer cell failed (recorded; exit status unaffected) " : "FAILED ")
      << out.entry["name"].get<std::string>() << ": " << reason << "\n";
  out.failed = !peer;
  return true;
}

cell_outcome run_cell(const cell_params& p, std::size_t index, std::uint64_t seed, std::ostream& err) {
  cell_outcome out;
  nlohmann::json& e = out.entry;
  e = {{"cell", index}, {"name", cell_name(p)}, {"key", p.key()}, {"point", point_key(p)},
       {"parameters", p.to_json()}};
  const std::size_t threads = worker_threads(p);
  e["worker_threads"] = threads;
  e["oversubscribed"] = threads > allowed_cpus();
  const strategy_runner* runner = find_strategy(p.strategy);
  if (!runner->unavailable_reason.empty()) {
    e["status"] = "unavailable";
    e["reason"] = "unavailable: " + runner->unavailable_reason;
    return out;
  }
  if (auto why = runner->refuses(p)) {
    e["status"] = "skipped";
    e["reason"] = *why;
    return out;
  }

  run_control ctl;
  ctl.interrupted = &interrupt_requested;
  ctl.cpus = pin_order(p.pin);

  // Warmup, split in two to measure the harness's own overhead: throughput
  // without latency recording, then with the sampling rate chosen from it.
  std::uint32_t sample_every = 64;
  nlohmann::json overhead = {{"measured", false}, {"reason", "warmup_ms is 0"}};
  if (p.warmup_ms > 0) {
    run_control warm = ctl;
    warm.duration_ns = p.warmup_ms * 1'000'000 / 2;
    warm.sample_every = UINT32_MAX;  // records only each worker's first operation
    const repetition_result bare = runner->run(p, warm);
    const std::uint64_t ops = bare.data.ops();
    const double ns_per_op = ops ? bare.data.elapsed_s * 1e9 * static_cast<double>(threads) /
                                       static_cast<double>(ops)
                                 : 0;
    sample_every = choose_sample_every(ns_per_op);
    warm.sample_every = sample_every;
    const repetition_result recorded = runner->run(p, warm);
    const double without = throughput_of(bare), with = throughput_of(recorded);
    overhead = {{"measured", true},
                {"throughput_without_recording", without},
                {"throughput_with_recording", with},
                {"fraction", without > 0 ? 1 - with / without : 0.0},
                {"estimated_fraction",
                 ns_per_op > 0 ? record_cost_ns() / sample_every / ns_per_op : 0.0},
                {"timer_cost_ns", timer_cost_ns()},
                {"latency_sample_every", sample_every}};
    if (bare.data.interrupted || recorded.data.interrupted) {
      out.interrupted = true;
      return out;
    }
    if (fail_if_broken(bare, p, out, err) || fail_if_broken(recorded, p, out, err)) return out;
  }
  e["harness_overhead"] = overhead;

  ctl.duration_ns = p.duration_ms * 1'000'000;
  ctl.operations = p.operations;
  ctl.sample_every = sample_every;
  nlohmann::json reps = nlohmann::json::array();
  latency_histogram acquire_all, wake_all;
  for (std::uint32_t r = 0; r < p.repetitions; ++r) {
    const repetition_result result = runner->run(p, ctl);
    if (result.data.interrupted) {
      out.interrupted = true;
      return out;
    }
    if (fail_if_broken(result, p, out, err)) return out;
    reps.push_back(repetition_json(p, result, sample_every));
    acquire_all.merge(result.data.acquire_latency);
    wake_all.merge(result.data.wake_latency);
  }
  e["status"] = "ok";
  e["aggregates"] = aggregates_json(reps, seed + index);
  e["acquire_latency_histogram_ns"] = acquire_all.buckets_json();
  if (wake_all.count()) e["wake_latency_histogram_ns"] = wake_all.buckets_json();
  e["repetitions"] = std::move(reps);
  return out;
}

/// Ratios of each csync cell's median throughput to every peer's at the same
/// parameter point.
void add_peer_ratios(nlohmann::json& results) {
  std::map<std::string, std::vector<const nlohmann::json*>> peers_at;
  for (const nlohmann::json& cell : results) {
    const strategy_runner* r = find_strategy(cell["parameters"].value("strategy", ""));
    if (r && r->is_peer && cell.value("status", "") == "ok") peers_at[cell["point"]].push_back(&cell);
  }
  for (nlohmann::json& cell : results) {
    const strategy_runner* r = find_strategy(cell["parameters"].value("strategy", ""));
    cell.erase("throughput_vs_peers");
    if (!r || r->is_peer || cell.value("status", "") != "ok") continue;
    nlohmann::json ratios = nlohmann::json::object();
    const double mine = cell["aggregates"]["throughput"]["median"].get<double>();
    for (const nlohmann::json* peer : peers_at[cell["point"]]) {
      const double theirs = (*peer)["aggregates"]["throughput"]["median"].get<double>();
      if (theirs > 0) ratios[(*peer)["parameters"]["strategy"].get<std::string>()] = mine / theirs;
    }
    cell["throughput_vs_peers"] = std::move(ratios);
  }
}

/// --smoke: does every cell run? (CTest's check of the shipped scenarios.)
void make_smoke(cell_params& p) {
  p.duration_ms = p.duration_ms ? 5 : 0;
  p.operations = std::min<std::uint64_t>(p.operations, 50);
  p.warmup_ms = 0;
  p.repetitions = 1;
}

/// Caps for --quick (documented in docs/scenario-format.md).
void make_quick(cell_params& p) {
  p.duration_ms = std::min<std::uint64_t>(p.duration_ms, 100);
  p.warmup_ms = std::min<std::uint64_t>(p.warmup_ms, 20);
  p.operations = std::min<std::uint64_t>(p.operations, 2000);
  p.repetitions = std::min<std::uint32_t>(p.repetitions, 3);
}

class progress_line {
 public:
  progress_line(std::ostream& err, std::size_t total)
      : err_(err), total_(total), tty_(platform::stderr_is_terminal()), start_(bench_clock::now()) {}

  void show(std::size_t done, const std::string& name) {
    if (!tty_) return;
    const double elapsed = std::chrono::duration<double>(bench_clock::now() - start_).count();
    const double eta = done ? elapsed / static_cast<double>(done) * static_cast<double>(total_ - done) : 0;
    err_ << "\r\033[K[cell " << done + 1 << "/" << total_ << ", ETA "
         << static_cast<long>(eta) / 60 << "m" << static_cast<long>(eta) % 60 << "s] " << name
         << std::flush;
  }
  void finish() {
    if (tty_) err_ << "\r\033[K" << std::flush;
  }

 private:
  std::ostream& err_;
  std::size_t total_;
  bool tty_;
  bench_clock::time_point start_;
};

}  // namespace

int run_scenario(const run_options& options, std::ostream& err) {
  const strategy_catalog catalog = make_catalog();
  scenario sc;
  try {
    sc = load_scenario(options.scenario_path, catalog);
  } catch (const scenario_error& e) {
    err << "csync-bench: " << e.what() << "\n";
    return exit_bad_input;
  }
  for (const std::string& name : options.strategies) {
    const strategy_catalog::entry* entry = catalog.find(name);
    if (!entry) {
      err << "csync-bench: --strategies: unknown strategy '" << name << "'; known: " << catalog.names()
          << "\n";
      return exit_bad_input;
    }
  }

  std::vector<cell_params> cells;
  for (cell_params p : sc.cells) {
    const strategy_runner* r = find_strategy(p.strategy);
    const bool wanted = options.strategies.empty() || r->is_peer ||
                        std::find(options.strategies.begin(), options.strategies.end(), p.strategy) !=
                            options.strategies.end();
    if (!wanted) continue;
    if (options.repetitions) p.repetitions = *options.repetitions;
    if (options.quick) make_quick(p);
    if (options.smoke) make_smoke(p);
    cells.push_back(p);
  }

  const std::uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  nlohmann::json report = {
      {"schema_version", report_schema_version},
      {"tool", "csync-bench"},
      {"context", capture_context()},
      {"scenario",
       {{"name", sc.name}, {"description", sc.description}, {"path", sc.origin}, {"hash", sc.hash}}},
      {"run",
       {{"seed", seed},
        {"quick", options.quick},
        {"smoke", options.smoke},
        {"repetitions_override", options.repetitions ? nlohmann::json(*options.repetitions) : nlohmann::json()},
        {"strategies_filter", options.strategies},
        {"cells", cells.size()},
        {"complete", false}}},
      {"excluded", nlohmann::json::array()},
      {"results", nlohmann::json::array()},
  };
  for (const excluded_cell& x : sc.excluded) {
    report["excluded"].push_back({{"parameters", x.params.to_json()}, {"reason", x.reason}});
  }

  // --resume: keep the finished cells of the previous report.
  std::set<std::string> done_keys;
  if (options.resume) {
    try {
      const nlohmann::json previous = read_report(options.output_path);
      // Cells measured on another machine or loop backend, or with other
      // run-setting caps, must not be mixed with new ones under the same keys.
      const std::pair<const char*, const char*> must_match[] = {
          {"context", "host"}, {"context", "loop_backend"}, {"run", "quick"}, {"run", "smoke"}};
      for (const auto& [section, field] : must_match) {
        const nlohmann::json was =
            previous.value(section, nlohmann::json::object()).value(field, nlohmann::json());
        const nlohmann::json& is = report[section][field];
        if (was != is) {
          err << "csync-bench: --resume: " << options.output_path << " was measured with "
              << field << " " << was.dump() << ", this run has " << is.dump()
              << "; write to another report instead\n";
          return exit_bad_input;
        }
      }
      if (previous.value("scenario", nlohmann::json::object()).value("hash", "") != sc.hash) {
        err << "csync-bench: note: " << options.output_path
            << " was made from a different version of the scenario; resuming by cell parameters\n";
      }
      for (const nlohmann::json& cell : previous["results"]) {
        if (!cell.contains("key") || !cell.contains("status")) continue;
        if (cell["status"] == "ok" || cell["status"] == "unavailable" || cell["status"] == "skipped") {
          done_keys.insert(cell["key"].get<std::string>());
          report["results"].push_back(cell);
        }
      }
    } catch (const std::exception& e) {
      err << "csync-bench: --resume: " << e.what() << "\n";
      return exit_bad_input;
    }
  }

  std::vector<std::size_t> order(cells.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 shuffle_rng(seed);
  std::shuffle(order.begin(), order.end(), shuffle_rng);
  std::erase_if(order, [&](std::size_t i) { return done_keys.count(cells[i].key()) != 0; });

  auto save = [&] {
    add_peer_ratios(report["results"]);
    report["context"]["steal_ticks_at_end"] = steal_ticks();
    write_atomically(options.output_path, report.dump());  // compact: reports grow to megabytes
    if (options.gbench_format) {
      write_atomically(options.output_path + ".gbench.json", to_gbench(report).dump(1));
    }
  };

  int status = exit_ok;
  progress_line progress(err, order.size());
  try {
    save();  // a valid (empty) report from the start
    for (std::size_t n = 0; n < order.size(); ++n) {
      const cell_params& p = cells[order[n]];
      progress.show(n, cell_name(p));
      cell_outcome outcome = run_cell(p, order[n], seed, err);
      if (outcome.interrupted) {
        progress.finish();
        err << "csync-bench: interrupted; " << options.output_path << " holds "
            << report["results"].size() << " finished cells (resume with --resume)\n";
        save();
        return exit_interrupted;
      }
      if (outcome.failed) status = exit_failure;
      report["results"].push_back(std::move(outcome.entry));
      save();
    }
    progress.finish();
    report["run"]["complete"] = true;
    save();
  } catch (const std::exception& e) {
    progress.finish();
    err << "csync-bench: " << e.what() << "\n";
    return exit_failure;
  }
  return status;
}

}  // namespace csync::bench
