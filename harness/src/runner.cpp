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

#include "aggregates.hpp"
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

/// A cell being measured. Its repetitions are interleaved with those of the
/// other cells (run_scenario), so what its visits gathered waits here until
/// its diagnostic run completes it.
struct cell_session {
  const cell_params* params = nullptr;
  std::size_t index = 0;  ///< in the run's cell list: the seeds depend on it
  const strategy_runner* runner = nullptr;
  nlohmann::json entry;   ///< the report entry; complete once `done`
  bool done = false;      ///< entry final: ok, failed, unavailable or skipped
  bool failed = false;    ///< a csync cell failed: the run fails
  bool interrupted = false;
  nlohmann::json reps = nlohmann::json::array();
  histogram_sums histograms;
  std::string started;    ///< UTC, at the first visit
  nlohmann::json load_at_start;
  std::uint64_t steal = 0;
  bool steal_known = true;
};

/// A run that showed the primitive broken -- more holders than permits, or
/// workers left asleep by a lost wake-up -- fails the cell, loudly; a csync
/// cell also fails the run (cell.failed). true: the cell failed.
bool fail_if_broken(const repetition_result& result, cell_session& cell, std::ostream& err) {
  const repetition_data& d = result.data;
  const cell_params& p = *cell.params;
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
  cell.entry["status"] = "failed";
  cell.entry["reason"] = reason;
  // A peer is a reference, not the product: its failure is a finding about
  // it (recorded in the report), and does not fail the run.
  err << "csync-bench: " << (cell.runner->is_peer ? "peer cell failed (recorded; exit status unaffected) " : "FAILED ")
      << cell.entry["name"].get<std::string>() << ": " << reason << "\n";
  cell.failed = !cell.runner->is_peer;
  cell.done = true;
  return true;
}

/// A distinct seed per (run seed, cell, repetition, mode): samplers and
/// arrival schedules never repeat one another.
std::uint64_t run_seed(std::uint64_t seed, std::size_t cell, std::uint32_t repetition, run_mode mode) {
  std::uint64_t state = seed ^ (0x9e3779b97f4a7c15u * (cell + 1));
  state ^= (std::uint64_t{repetition} << 8) | static_cast<std::uint64_t>(mode);
  return static_cast<std::uint64_t>(uniform_open0(state) * 0x1.0p63) ^ state;
}

/// The report entry's identity; for a cell that cannot run (unavailable
/// strategy, refused parameters) also its final status.
cell_session open_cell(const cell_params& p, std::size_t index) {
  cell_session cell;
  cell.params = &p;
  cell.index = index;
  nlohmann::json& e = cell.entry;
  e = {{"cell", index}, {"name", cell_name(p)}, {"key", p.key()}, {"point", point_key(p)},
       {"parameters", p.to_json()}};
  const std::size_t threads = worker_threads(p);
  e["worker_threads"] = threads;
  e["oversubscribed"] = threads > allowed_cpus();
  cell.runner = find_strategy(p.strategy);
  e["is_peer"] = cell.runner->is_peer;
  if (!cell.runner->unavailable_reason.empty()) {
    e["status"] = "unavailable";
    e["reason"] = cell.runner->unavailable_reason;
    cell.done = true;
  } else if (auto why = cell.runner->refuses(p)) {
    e["status"] = "skipped";
    e["reason"] = *why;
    cell.done = true;
  }
  return cell;
}

/// One run of the cell's workload. nullopt: interrupted, or the run showed
/// the primitive broken (the cell is then done, failed).
std::optional<repetition_result> run_once(cell_session& cell, run_mode mode, std::uint32_t repetition,
                                          std::uint64_t duration_ns, std::uint64_t operations,
                                          std::uint64_t seed, std::ostream& err) {
  const cell_params& p = *cell.params;
  run_control ctl;
  ctl.interrupted = &interrupt_requested;
  ctl.cpus = pin_order(p.pin);
  ctl.sample_every = p.latency_sample_every;
  ctl.mode = mode;
  ctl.duration_ns = duration_ns;
  ctl.operations = operations;
  ctl.seed = run_seed(seed, cell.index, repetition, mode);
  repetition_result result = cell.runner->run(p, ctl);
  if (result.data.interrupted) {
    cell.interrupted = true;
    return std::nullopt;
  }
  if (fail_if_broken(result, cell, err)) return std::nullopt;
  return result;
}

/// One visit of a cell (run_scenario interleaves the visits of all cells):
/// a warmup run (throughput mode, discarded) -- every visit finds the
/// machine as the previous cell left it -- then repetition `r`: a throughput
/// run and a latency run, their order alternating with r. `visit`: its
/// position in the run (0-based), recorded with the repetition. false: the
/// cell was interrupted or failed.
bool measure_repetition(cell_session& cell, std::uint32_t r, std::size_t visit, std::uint64_t seed,
                        std::ostream& err) {
  const cell_params& p = *cell.params;
  const std::string started = utc_timestamp();
  if (cell.started.empty()) {
    cell.started = started;
    cell.load_at_start = load_average();
  }
  const nlohmann::json steal_before = steal_ticks();
  const auto count_steal = [&] {
    const nlohmann::json steal_after = steal_ticks();
    if (steal_before.is_number() && steal_after.is_number()) {
      cell.steal += steal_after.get<std::uint64_t>() - steal_before.get<std::uint64_t>();
    } else {
      cell.steal_known = false;
    }
  };
  const std::uint64_t duration_ns = p.duration_ms * 1'000'000;
  // Warmups of different visits get different seeds (UINT32_MAX - r), apart
  // from the measured repetitions' (r).
  if (p.warmup_ms > 0 &&
      !run_once(cell, run_mode::throughput, UINT32_MAX - r, p.warmup_ms * 1'000'000, 0, seed, err)) {
    count_steal();
    return false;
  }
  std::optional<repetition_result> throughput, latency;
  for (int k = 0; k < 2; ++k) {  // alternate the order within the pair
    const bool throughput_now = (k == 0) == (r % 2 == 0);
    auto& slot = throughput_now ? throughput : latency;
    slot = run_once(cell, throughput_now ? run_mode::throughput : run_mode::latency, r, duration_ns,
                    p.operations, seed, err);
    if (!slot) {
      count_steal();
      return false;
    }
  }
  count_steal();
  nlohmann::json rep = repetition_json(throughput->data, latency->data);
  rep["started"] = started;
  rep["visit"] = visit;  // the run's how-manieth visit of a cell it was
  cell.reps.push_back(std::move(rep));
  cell.histograms.add("acquire", latency->data.acquire_latency.buckets_json());
  for (const auto& [name, h] : {std::pair{"wake", &latency->data.wake_latency},
                                std::pair{"herd", &latency->data.herd_latency},
                                std::pair{"reacquire", &latency->data.reacquire_latency}}) {
    if (h->count()) cell.histograms.add(name, h->buckets_json());
  }
  return true;
}

/// The last visit of a measured cell: one diagnostic run (the exclusion
/// checker and the statistics hook), then the aggregates. Every cell --
/// csync strategy or peer -- runs exactly this sequence with the same
/// harness code. false: interrupted or failed.
bool complete_cell(cell_session& cell, std::uint64_t seed, bool smoke, std::ostream& err) {
  const cell_params& p = *cell.params;
  const std::optional<repetition_result> diagnostic =
      run_once(cell, run_mode::diagnostic, 0, p.duration_ms * 1'000'000, p.operations, seed, err);
  if (!diagnostic) return false;

  nlohmann::json& e = cell.entry;
  e["status"] = "ok";
  e["measurement"] = {{"latency_sample_every", p.latency_sample_every},
                      {"latency_loop", p.arrival == arrival_kind::closed ? "closed" : "open"},
                      {"timer_cost_ns", timer_cost_ns()},
                      {"timer_floor_ns", 2 * timer_cost_ns()}};
  e["harness_overhead"] = overhead_json(cell.reps, p.arrival != arrival_kind::closed);
  const nlohmann::json& overhead = e["harness_overhead"];
  if (overhead["flagged"].get<bool>() && !smoke) {  // a smoke run measures nothing
    const auto percent = [](double f) {
      char text[32];
      std::snprintf(text, sizeof text, "%.1f", f * 100);
      return std::string(text);
    };
    const nlohmann::json& f = overhead["fraction"];
    err << "csync-bench: note: " << e["name"].get<std::string>()
        << ": the latency runs' throughput is lower by a median " << percent(f["median"].get<double>())
        << "% over " << cell.reps.size() << " paired runs (interval "
        << percent(f["ci_low"].get<double>()) << "% to " << percent(f["ci_high"].get<double>())
        << "%, coverage " << percent(f["ci_coverage"].get<double>()) << "%; limit 2%): its latencies are flagged\n";
  }
  e["diagnostic"] = diagnostic_json(*diagnostic);
  e["aggregates"] = aggregates_json(cell.reps, 2 * timer_cost_ns());
  cell.histograms.write_to(e);
  e["repetitions"] = std::move(cell.reps);
  cell.done = true;
  return true;
}

/// A cell's provenance: when its first visit started and its last one
/// finished, the load at the start, and the ticks the hypervisor took from
/// this machine while its runs ran (its visits only, not the cells between).
nlohmann::json provenance_json(const cell_session& cell) {
  return {{"started", cell.started},
          {"finished", utc_timestamp()},
          {"load_average_at_start", cell.load_at_start},
          {"steal_ticks", cell.steal_known ? nlohmann::json(cell.steal) : nlohmann::json()}};
}

/// A cell with repetitions but no diagnostic run yet, as the report's
/// `partial` list holds it: what --resume continues from.
nlohmann::json partial_entry(const cell_session& cell) {
  nlohmann::json e = cell.entry;
  e["status"] = "partial";
  e["repetitions"] = cell.reps;
  cell.histograms.write_to(e);
  e["provenance"] = provenance_json(cell);
  return e;
}

/// --resume: continue a cell from its partial entry of the previous report.
void restore_partial(cell_session& cell, const nlohmann::json& partial) {
  cell.reps = partial["repetitions"];
  cell.histograms.add_entry(partial);
  const nlohmann::json& provenance = partial["provenance"];
  cell.started = provenance.value("started", "");
  cell.load_at_start = provenance.value("load_average_at_start", nlohmann::json());
  if (provenance.value("steal_ticks", nlohmann::json()).is_number()) {
    cell.steal = provenance["steal_ticks"].get<std::uint64_t>();
  } else {
    cell.steal_known = false;
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
    err_ << "\r\033[K[visit " << done + 1 << "/" << total_ << ", ETA "
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

std::string reference_refusal(const run_options& options) {
  const nlohmann::json context = capture_context();
  if (context["csync_git_dirty"] != false) {
    return "csync-bench was built from a tree that differs from its commit (or without git: "
           "csync_git_dirty " + context["csync_git_dirty"].dump() + "); commit, rebuild and run again";
  }
  if (options.quick || options.smoke) return "--quick and --smoke do not measure what a reference run must";
  if (context["load_average"].is_array() && context["load_average"][0].get<double>() > options.max_load) {
    return "the machine is busy: 1-minute load average " + context["load_average"][0].dump() +
           " > --max-load " + std::to_string(options.max_load) + "; stop what else runs, wait, and run again";
  }
  return "";
}

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
    if (const std::string refused = reference_refusal(options); !refused.empty()) {
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
  std::map<std::string, nlohmann::json> partial_of;  // cells measured in part, by key
  if (options.resume) {
    try {
      const nlohmann::json previous = read_report(options.output_path);
      if (const std::string why = mixing_refusal(previous, report); !why.empty()) {
        err << "csync-bench: --resume: " << options.output_path << " was measured with " << why
            << "; write to another report instead\n";
        return exit_bad_input;
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
      for (const nlohmann::json& cell : previous.value("partial", nlohmann::json::array())) {
        partial_of[cell["key"].get<std::string>()] = cell;
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

  std::vector<cell_session> sessions;  // filled below; save() writes the partial ones
  auto last_save = bench_clock::now();
  auto save = [&] {
    nlohmann::json partial = nlohmann::json::array();
    for (const cell_session& cell : sessions) {
      if (!cell.done && !cell.reps.empty()) partial.push_back(partial_entry(cell));
    }
    if (partial.empty()) {
      report.erase("partial");
    } else {
      report["partial"] = std::move(partial);
    }
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
    last_save = bench_clock::now();
  };
  // After a visit: at most about once a second (a report of a large
  // scenario takes tens of ms to write), so a killed run loses about a
  // second of measurements and an interrupted one none.
  const auto save_soon = [&] {
    if (bench_clock::now() - last_save >= std::chrono::seconds(1)) save();
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

  // Every cell's entry; those that cannot run are final at once, and a
  // resumed cell continues from the repetitions it had.
  sessions.reserve(order.size());
  for (std::size_t i : order) {
    sessions.push_back(open_cell(cells[i], i));
    cell_session& cell = sessions.back();
    if (const auto found = partial_of.find(cells[i].key()); found != partial_of.end() && !cell.done) {
      restore_partial(cell, found->second);
    }
  }
  std::uint32_t rounds = 0;
  std::size_t visits = 0;
  for (const cell_session& cell : sessions) {
    if (cell.done) continue;
    const std::uint32_t have = static_cast<std::uint32_t>(cell.reps.size());
    rounds = std::max(rounds, cell.params->repetitions);
    // the repetitions still to measure, then the diagnostic run
    visits += (cell.params->repetitions > have ? cell.params->repetitions - have : 0) + 1;
  }

  int status = exit_ok;
  progress_line progress(err, visits);
  std::size_t visited = 0;
  // Moves a final entry into the report (written soon).
  const auto record = [&](cell_session& cell) {
    if (cell.failed) status = exit_failure;
    if (!cell.started.empty()) cell.entry["provenance"] = provenance_json(cell);  // it ran
    report["results"].push_back(std::move(cell.entry));
  };
  const auto on_interrupt = [&] {
    progress.finish();
    save();
    err << "csync-bench: interrupted; " << options.output_path << " holds "
        << report["results"].size() << " finished cells and "
        << report.value("partial", nlohmann::json::array()).size()
        << " partly measured ones (resume with --resume)\n";
    return exit_interrupted;
  };
  // The cells still measuring, in a fresh random order for every round.
  const auto round_order = [&](auto&& wanted) {
    std::vector<cell_session*> out;
    for (cell_session& cell : sessions) {
      if (!cell.done && wanted(cell)) out.push_back(&cell);
    }
    std::shuffle(out.begin(), out.end(), shuffle_rng);
    return out;
  };
  try {
    for (cell_session& cell : sessions) {
      if (cell.done) record(cell);
    }
    save();  // a valid report from the start
    // Round r measures repetition r of every cell that has one, so the
    // repetitions of one cell are spread over the whole run rather than run
    // back to back (Kalibera & Jones): drift of the machine shows up as
    // variation within each cell instead of as a difference between cells.
    for (std::uint32_t r = 0; r < rounds; ++r) {
      const auto due = [r](const cell_session& c) { return c.reps.size() == r && r < c.params->repetitions; };
      for (cell_session* cell : round_order(due)) {
        progress.show(visited, cell_name(*cell->params));
        const bool measured = measure_repetition(*cell, r, visited++, seed, err);
        if (cell->interrupted) return on_interrupt();
        if (!measured) record(*cell);  // failed
        save_soon();
      }
    }
    for (cell_session* cell : round_order([](const cell_session&) { return true; })) {
      progress.show(visited++, cell_name(*cell->params));
      if (!complete_cell(*cell, seed, options.smoke, err) && cell->interrupted) return on_interrupt();
      record(*cell);
      save_soon();
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
