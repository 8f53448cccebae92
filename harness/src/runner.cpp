// harness/src/runner.cpp -- see runner.hpp.
#include "runner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
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
  if (p.arrival != arrival_kind::closed) {
    name += "/arrival:" + std::string(to_string(p.arrival)) + ":" + std::to_string(p.arrival_rate_per_s);
  }
  if (p.latency_sample_every != cell_params{}.latency_sample_every) {
    name += "/sample_every:" + std::to_string(p.latency_sample_every);
  }
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

double throughput_of(const repetition_data& d) {
  return d.elapsed_s > 0 ? static_cast<double>(d.ops()) / d.elapsed_s : 0.0;
}

nlohmann::json histogram_summary(const latency_histogram& h) {
  return h.count() ? h.summary_json() : nlohmann::json();
}

/// One repetition: a throughput run and the latency run paired with it.
nlohmann::json repetition_json(const repetition_data& t, const repetition_data& l) {
  const std::uint64_t ops = t.ops();
  const double cpu_ns = static_cast<double>(t.usage.cpu_ns);
  const double throughput = throughput_of(t), latency_throughput = throughput_of(l);
  const auto switches = [&](std::uint64_t n) {
    // null where the platform has no per-thread count (Windows; platform.hpp)
    return t.usage.switches_known ? nlohmann::json(per_op(static_cast<double>(n), ops))
                                  : nlohmann::json();
  };
  return {
      {"elapsed_s", t.elapsed_s},
      {"operations", ops},
      {"throughput_ops_per_s", throughput},
      {"ops_per_worker", t.ops_per_worker},
      {"starved", t.starved()},
      {"longest_stall_ns_per_worker", t.longest_stall_ns_per_worker},
      {"fairness", fairness_summary::of(t.ops_per_worker).to_json()},
      {"censored_waits", t.censored_waits},
      {"cpu_ns_per_op", per_op(cpu_ns, ops)},
      // What the workload burnt on purpose (critical sections, think time,
      // open-loop idling) is not waste; the rest is waiting and waking.
      {"wasted_cpu_ns_per_op", per_op(cpu_ns - static_cast<double>(t.burnt_ns), ops)},
      {"voluntary_switches_per_op", switches(t.usage.voluntary_switches)},
      {"involuntary_switches_per_op", switches(t.usage.involuntary_switches)},
      {"latency_run",
       {{"elapsed_s", l.elapsed_s},
        {"operations", l.ops()},
        {"throughput_ops_per_s", latency_throughput},
        // What timing operations cost this pair: 1 - latency run / throughput run.
        {"overhead_fraction", throughput > 0 ? 1 - latency_throughput / throughput : 0.0},
        {"acquire_latency_ns", histogram_summary(l.acquire_latency)},
        {"wake_latency_ns", histogram_summary(l.wake_latency)},
        {"herd_latency_ns", histogram_summary(l.herd_latency)},
        {"reacquire_latency_ns", histogram_summary(l.reacquire_latency)},
        {"max_wait_ns_per_worker", l.max_wait_ns_per_worker},
        {"censored_waits", l.censored_waits},
        {"censored_timed", l.censored_timed},
        {"censored_max_age_ns", l.censored_max_age_ns}}},
  };
}

/// The diagnostic run: exclusion checker and the statistics hook.
nlohmann::json diagnostic_json(const repetition_result& r) {
  const repetition_data& d = r.data;
  const std::uint64_t ops = d.ops();
  const auto count = [&](std::uint64_t strategy_counts::*field) {
    return r.counts ? nlohmann::json(per_op(static_cast<double>((*r.counts).*field), ops))
                    : nlohmann::json();  // a peer: no statistics hook
  };
  return {{"operations", ops},
          {"max_holders", d.max_holders},
          {"violations", d.violations},
          {"wakes_per_op", count(&strategy_counts::wakes)},
          {"spurious_per_op", count(&strategy_counts::spurious)},
          {"futile_per_op", count(&strategy_counts::futile)}};
}

/// Latency metrics: where a value lies below twice the cost of a clock read,
/// the clock, not the primitive, dominates it.
bool is_latency_metric(std::string_view name) {
  return name.starts_with("acquire_") || name.starts_with("wake_") || name.starts_with("herd_") ||
         name.starts_with("reacquire_");
}

/// Aggregates over repetitions: median, mean, stddev, 95% CI of each metric.
nlohmann::json aggregates_json(const nlohmann::json& reps) {
  struct metric {
    const char* name;
    const char* unit;
    nlohmann::json::json_pointer where;
  };
  using ptr = nlohmann::json::json_pointer;
  const metric metrics[] = {
      {"throughput", "ops/s", ptr("/throughput_ops_per_s")},
      {"acquire_p50", "ns", ptr("/latency_run/acquire_latency_ns/p50")},
      {"acquire_p99", "ns", ptr("/latency_run/acquire_latency_ns/p99")},
      {"acquire_p999", "ns", ptr("/latency_run/acquire_latency_ns/p999")},
      {"wake_p50", "ns", ptr("/latency_run/wake_latency_ns/p50")},
      {"wake_p99", "ns", ptr("/latency_run/wake_latency_ns/p99")},
      {"herd_p50", "ns", ptr("/latency_run/herd_latency_ns/p50")},
      {"herd_p99", "ns", ptr("/latency_run/herd_latency_ns/p99")},
      {"reacquire_p50", "ns", ptr("/latency_run/reacquire_latency_ns/p50")},
      {"reacquire_p99", "ns", ptr("/latency_run/reacquire_latency_ns/p99")},
      {"jain", "index", ptr("/fairness/jain")},
      {"relative_stddev", "ratio", ptr("/fairness/relative_stddev")},
      {"starved", "workers", ptr("/starved")},
      {"cpu_per_op", "ns", ptr("/cpu_ns_per_op")},
      {"wasted_cpu_per_op", "ns", ptr("/wasted_cpu_ns_per_op")},
      {"voluntary_switches_per_op", "switches", ptr("/voluntary_switches_per_op")},
      {"involuntary_switches_per_op", "switches", ptr("/involuntary_switches_per_op")},
      {"overhead_fraction", "ratio", ptr("/latency_run/overhead_fraction")},
  };
  const double floor_ns = 2 * timer_cost_ns();
  nlohmann::json out = nlohmann::json::object();
  for (const metric& m : metrics) {
    std::vector<double> samples;
    for (const nlohmann::json& rep : reps) {
      if (rep.contains(m.where) && rep[m.where].is_number()) samples.push_back(rep[m.where].get<double>());
    }
    if (samples.empty()) continue;
    const summary sum = summary::of(std::move(samples));
    out[m.name] = sum.to_json(m.unit);
    if (is_latency_metric(m.name)) out[m.name]["below_timer_floor"] = sum.median < floor_ns;
  }
  return out;
}

/// A latency run's timing must not change what it measures by more than this;
/// where the paired runs' interval lies above it, the cell's latencies are
/// flagged.
constexpr double overhead_limit = 0.02;

struct cell_outcome {
  nlohmann::json entry;
  bool interrupted = false;
  bool failed = false;
};

/// A run that showed the primitive broken -- more holders than permits, or
/// workers left asleep by a lost wake-up -- fails the cell, loudly; a csync
/// cell also fails the run (out.failed). true: the cell failed.
bool fail_if_broken(const repetition_result& result, const strategy_runner& runner,
                    const cell_params& p, cell_outcome& out, std::ostream& err) {
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
  err << "csync-bench: " << (runner.is_peer ? "peer cell failed (recorded; exit status unaffected) " : "FAILED ")
      << out.entry["name"].get<std::string>() << ": " << reason << "\n";
  out.failed = !runner.is_peer;
  return true;
}

/// A distinct seed per (run seed, cell, repetition, mode): samplers and
/// arrival schedules never repeat one another.
std::uint64_t run_seed(std::uint64_t seed, std::size_t cell, std::uint32_t repetition, run_mode mode) {
  std::uint64_t state = seed ^ (0x9e3779b97f4a7c15u * (cell + 1));
  state ^= (std::uint64_t{repetition} << 8) | static_cast<std::uint64_t>(mode);
  return static_cast<std::uint64_t>(uniform_open0(state) * 0x1.0p63) ^ state;
}

/// Per cell: a warmup run (throughput mode, discarded); `repetitions` pairs
/// of a throughput run and a latency run, the pair's order alternating; then
/// one diagnostic run. Every cell -- csync strategy or peer -- runs exactly
/// this sequence with the same harness code.
cell_outcome run_cell(const cell_params& p, std::size_t index, std::uint64_t seed, bool smoke,
                      std::ostream& err) {
  cell_outcome out;
  nlohmann::json& e = out.entry;
  e = {{"cell", index}, {"name", cell_name(p)}, {"key", p.key()}, {"point", point_key(p)},
       {"parameters", p.to_json()}};
  const std::size_t threads = worker_threads(p);
  e["worker_threads"] = threads;
  e["oversubscribed"] = threads > allowed_cpus();
  const strategy_runner* runner = find_strategy(p.strategy);
  e["is_peer"] = runner->is_peer;
  if (!runner->unavailable_reason.empty()) {
    e["status"] = "unavailable";
    e["reason"] = runner->unavailable_reason;
    return out;
  }
  if (auto why = runner->refuses(p)) {
    e["status"] = "skipped";
    e["reason"] = *why;
    return out;
  }

  run_control base;
  base.interrupted = &interrupt_requested;
  base.cpus = pin_order(p.pin);
  base.sample_every = p.latency_sample_every;
  const auto run = [&](run_mode mode, std::uint32_t repetition, std::uint64_t duration_ns,
                       std::uint64_t operations) -> std::optional<repetition_result> {
    run_control ctl = base;
    ctl.mode = mode;
    ctl.duration_ns = duration_ns;
    ctl.operations = operations;
    ctl.seed = run_seed(seed, index, repetition, mode);
    repetition_result result = runner->run(p, ctl);
    if (result.data.interrupted) {
      out.interrupted = true;
      return std::nullopt;
    }
    if (fail_if_broken(result, *runner, p, out, err)) return std::nullopt;
    return result;
  };

  const std::uint64_t duration_ns = p.duration_ms * 1'000'000;
  if (p.warmup_ms > 0 && !run(run_mode::throughput, UINT32_MAX, p.warmup_ms * 1'000'000, 0)) {
    return out;
  }
  nlohmann::json reps = nlohmann::json::array();
  latency_histogram acquire_all, wake_all, herd_all, reacquire_all;
  std::vector<double> overheads;
  for (std::uint32_t r = 0; r < p.repetitions; ++r) {
    std::optional<repetition_result> throughput, latency;
    for (int k = 0; k < 2; ++k) {  // alternate the order within the pair
      const bool throughput_now = (k == 0) == (r % 2 == 0);
      auto& slot = throughput_now ? throughput : latency;
      slot = run(throughput_now ? run_mode::throughput : run_mode::latency, r, duration_ns,
                 p.operations);
      if (!slot) return out;
    }
    reps.push_back(repetition_json(throughput->data, latency->data));
    overheads.push_back(reps.back()["latency_run"]["overhead_fraction"].get<double>());
    acquire_all.merge(latency->data.acquire_latency);
    wake_all.merge(latency->data.wake_latency);
    herd_all.merge(latency->data.herd_latency);
    reacquire_all.merge(latency->data.reacquire_latency);
  }
  const std::optional<repetition_result> diagnostic =
      run(run_mode::diagnostic, 0, duration_ns, p.operations);
  if (!diagnostic) return out;

  e["status"] = "ok";
  e["measurement"] = {{"latency_sample_every", p.latency_sample_every},
                      {"latency_loop", p.arrival == arrival_kind::closed ? "closed" : "open"},
                      {"timer_cost_ns", timer_cost_ns()},
                      {"timer_floor_ns", 2 * timer_cost_ns()}};
  const summary overhead = summary::of(overheads);
  // The verdict needs the interval, not the median: between-run noise alone
  // moves single pairs by far more than the limit.
  const bool open_loop = p.arrival != arrival_kind::closed;
  const std::string verdict = open_loop ? "not applicable"
                              : overhead.ci.low > overhead_limit  ? "above limit"
                              : overhead.ci.high <= overhead_limit ? "within limit"
                                                                   : "unresolved";
  e["harness_overhead"] = {{"fraction", overhead.to_json("ratio")},
                           {"min", *std::min_element(overheads.begin(), overheads.end())},
                           {"max", *std::max_element(overheads.begin(), overheads.end())},
                           {"limit", overhead_limit},
                           {"verdict", verdict},
                           {"flagged", verdict == "above limit"}};
  if (open_loop) {
    e["harness_overhead"]["reason"] =
        "an open loop's throughput is its offered rate, whatever the timing costs";
  }
  if (verdict == "above limit" && !smoke) {  // a smoke run measures nothing
    const auto percent = [](double f) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", f * 100);
      return std::string(text);
    };
    err << "csync-bench: note: " << e["name"].get<std::string>()
        << ": the latency runs' throughput is lower by a median " << percent(overhead.median)
        << "% over " << overheads.size() << " paired runs (interval "
        << percent(overhead.ci.low) << "% to " << percent(overhead.ci.high) << "%, coverage "
        << percent(overhead.ci.coverage) << "%; limit 2%): its latencies are flagged\n";
  }
  e["diagnostic"] = diagnostic_json(*diagnostic);
  e["aggregates"] = aggregates_json(reps);
  e["acquire_latency_histogram_ns"] = acquire_all.buckets_json();
  if (wake_all.count()) e["wake_latency_histogram_ns"] = wake_all.buckets_json();
  if (herd_all.count()) e["herd_latency_histogram_ns"] = herd_all.buckets_json();
  if (reacquire_all.count()) e["reacquire_latency_histogram_ns"] = reacquire_all.buckets_json();
  e["repetitions"] = std::move(reps);
  return out;
}

/// The repetitions' throughputs of an ok cell.
std::vector<double> throughputs_of(const nlohmann::json& cell) {
  std::vector<double> out;
  for (const nlohmann::json& rep : cell["repetitions"]) out.push_back(rep["throughput_ops_per_s"].get<double>());
  return out;
}

/// Each csync cell's throughput relative to every peer's at the same
/// parameter point: the Hodges-Lehmann ratio with its exact interval
/// (metrics.hpp, ratio_of).
void add_peer_ratios(nlohmann::json& results) {
  std::map<std::string, std::vector<const nlohmann::json*>> peers_at;
  for (const nlohmann::json& cell : results) {
    if (cell.value("is_peer", false) && cell.value("status", "") == "ok") {
      peers_at[cell["point"]].push_back(&cell);
    }
  }
  for (nlohmann::json& cell : results) {
    cell.erase("throughput_vs_peers");
    if (cell.value("is_peer", true) || cell.value("status", "") != "ok") continue;
    nlohmann::json ratios = nlohmann::json::object();
    const std::vector<double> mine = throughputs_of(cell);
    for (const nlohmann::json* peer : peers_at[cell["point"]]) {
      if (const auto r = ratio_of(mine, throughputs_of(*peer))) {
        ratios[(*peer)["parameters"]["strategy"].get<std::string>()] = {
            {"ratio", r->ratio}, {"ci_low", r->ci.low}, {"ci_high", r->ci.high},
            {"ci_coverage", r->ci.coverage}};
      }
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

  if (options.reference) {
    const nlohmann::json context = capture_context();
    std::string refused;
    if (context["csync_git_dirty"] != false) {
      refused = "csync-bench was built from a tree that differs from its commit (or without git: "
                "csync_git_dirty " + context["csync_git_dirty"].dump() +
                "); commit, rebuild and run again";
    } else if (options.quick || options.smoke) {
      refused = "--quick and --smoke do not measure what a reference run must";
    } else if (context["load_average"].is_array() &&
               context["load_average"][0].get<double>() > options.max_load) {
      refused = "the machine is busy: 1-minute load average " + context["load_average"][0].dump() +
                " > --max-load " + std::to_string(options.max_load) +
                "; stop what else runs, wait, and run again";
    }
    if (!refused.empty()) {
      err << "csync-bench: --reference: " << refused << "\n";
      return exit_bad_input;
    }
  }

  const std::uint64_t seed = options.seed ? *options.seed : std::random_device{}();
  nlohmann::json report = {
      {"schema_version", report_schema_version},
      {"tool", "csync-bench"},
      {"context", capture_context()},
      {"scenario",
       {{"name", sc.name}, {"description", sc.description}, {"path", sc.origin}, {"hash", sc.hash},
        {"text", sc.text}}},
      {"run",
       {{"seed", seed},
        {"command_line", options.command_line},
        {"reference", options.reference},
        {"max_load", options.reference ? nlohmann::json(options.max_load) : nlohmann::json()},
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
      // Cells measured on another machine, kernel, loop backend or binary
      // (commit, tree, compiler, flags), or with other run-setting caps, must
      // not be mixed with new ones under the same keys.
      const char* const must_match[] = {
          "/context/host",          "/context/kernel",          "/context/loop_backend",
          "/context/csync_git_sha", "/context/csync_git_dirty", "/context/compiler",
          "/context/cxx_flags",     "/context/build_type",      "/context/details/executable_hash",
          "/run/quick",             "/run/smoke"};
      for (const char* where : must_match) {
        const nlohmann::json::json_pointer at(where);
        const nlohmann::json was = previous.contains(at) ? previous[at] : nlohmann::json();
        const nlohmann::json is = report.contains(at) ? report[at] : nlohmann::json();
        if (was != is) {
          err << "csync-bench: --resume: " << options.output_path << " was measured with "
              << at.back() << " " << was.dump() << ", this run has " << is.dump()
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
    report["context"]["load_average_at_end"] = load_average();
    report["context"]["date_end"] = utc_timestamp();
    if (report["run"]["complete"].get<bool>()) {  // once: the run's burn drift
      report["context"]["burn_ns_per_iteration_at_end"] = burn_ns_per_iteration_now();
    }
    write_atomically(options.output_path, report.dump());  // compact: reports grow to megabytes
    if (options.gbench_format) {
      write_atomically(options.output_path + ".gbench.json", to_gbench(report).dump(1));
    }
  };

  // Say it once when the repetitions cannot give a 95 % interval of a median.
  if (!options.smoke && !cells.empty()) {
    const auto fewest = std::min_element(cells.begin(), cells.end(), [](const auto& a, const auto& b) {
      return a.repetitions < b.repetitions;
    })->repetitions;
    std::vector<double> ranks(fewest);
    std::iota(ranks.begin(), ranks.end(), 0.0);
    const double coverage = median_interval(ranks).coverage;
    if (coverage < ci_level) {
      char text[160];
      std::snprintf(text, sizeof text,
                    "csync-bench: note: %u repetitions: a median's interval covers it with only "
                    "%.2f %% (95 %% needs at least 6)\n",
                    fewest, coverage * 100);
      err << text;
    }
  }

  burn_ns_per_iteration();  // calibrated now, not inside the first measured run

  int status = exit_ok;
  progress_line progress(err, order.size());
  try {
    save();  // a valid (empty) report from the start
    for (std::size_t n = 0; n < order.size(); ++n) {
      const cell_params& p = cells[order[n]];
      progress.show(n, cell_name(p));
      const std::string started = utc_timestamp();
      const nlohmann::json steal_before = steal_ticks(), load_before = load_average();
      cell_outcome outcome = run_cell(p, order[n], seed, options.smoke, err);
      const nlohmann::json steal_after = steal_ticks();
      outcome.entry["provenance"] = {
          {"started", started},
          {"finished", utc_timestamp()},
          {"load_average_at_start", load_before},
          // Ticks the hypervisor took from this machine while the cell ran.
          {"steal_ticks", steal_before.is_number() && steal_after.is_number()
                              ? nlohmann::json(steal_after.get<std::uint64_t>() -
                                               steal_before.get<std::uint64_t>())
                              : nlohmann::json()}};
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
