// harness/src/scenario.hpp
// -----------------------------------------------------------------------------
// Scenario files: what csync-bench runs. A scenario is JSON (format in
// docs/scenario-format.md, JSON Schema in docs/scenario.schema.json):
//
//   {
//     "name": "quick",
//     "description": "...",                 optional
//     "peers": true,                        optional: add the reference peers
//     "defaults": { "workload": "semaphore", "threads": 2, ... },
//     "matrix":   { "threads": [1, 2, 4], "strategy": ["futex", "spin"] }
//   }
//
// Every cell parameter (the members of `cell_params`, spelled as in
// `to_json`) may appear in `defaults` as a single value or in `matrix` as a
// non-empty array of values; the cells are the cross product of the matrix
// arrays over the defaults, in file order (the last matrix key varies
// fastest). Parameters that do not apply to a cell are normalized away
// (`tasks` and `loops` for thread waiters, `threads` for coroutine waiters,
// `spin_budget` for strategies without one, `hold` for thread waiters,
// `queue_capacity` outside the condvar workload) and duplicate cells are
// dropped, so a matrix over both waiter kinds does not run anything twice.
//
// Loading never crashes and never half-succeeds: any problem is a
// `scenario_error` whose message names the place (line and column for
// malformed JSON, the JSON path such as `$.matrix.threads[2]` for a bad
// value) and what was expected, including the limit for an absurd value and
// the list of known names for an unknown strategy.
// -----------------------------------------------------------------------------
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace csync::bench {

enum class workload_kind { semaphore, condvar, broadcast, pingpong, mixed_io };
enum class waiter_kind { threads, coroutines };
enum class pinning { none, compact, spread };
/// What a coroutine holder does inside its critical section besides burning
/// `critical_section_ns`: nothing, a runtime::yield(), or a zero-length
/// loop timer (async code holding a permit across I/O). Without a
/// suspension, tasks on one loop never contend.
enum class hold_mode { none, yield, timer };
/// fifo / barging as csync::fairness; strategy_default: the strategy's own.
enum class fairness_choice { strategy_default, fifo, barging };
/// When a worker starts its next operation: closed (as soon as the last one
/// and its think time are done) or open (on a schedule of
/// `arrival_rate_per_s` per worker: exponential gaps, or fixed ones), so that
/// latency is measured from the intended start (free of coordinated omission).
enum class arrival_kind { closed, poisson, fixed };

std::string_view to_string(workload_kind) noexcept;
std::string_view to_string(waiter_kind) noexcept;
std::string_view to_string(pinning) noexcept;
std::string_view to_string(hold_mode) noexcept;
std::string_view to_string(fairness_choice) noexcept;
std::string_view to_string(arrival_kind) noexcept;

/// Accepted ranges. Values outside are refused with the limit in the message.
struct limits {
  static constexpr std::uint32_t max_threads = 1024;
  static constexpr std::uint32_t max_tasks = 65536;
  static constexpr std::uint32_t max_loops = 256;
  static constexpr std::uint64_t max_permits = std::uint64_t{1} << 40;
  static constexpr std::uint64_t max_time_ns = 10'000'000'000;  // cs and think: 10 s
  static constexpr std::uint64_t max_duration_ms = 3'600'000;   // 1 h per repetition
  static constexpr std::uint64_t max_operations = 1'000'000'000'000;
  static constexpr std::uint32_t max_repetitions = 1000;
  static constexpr std::uint32_t max_queue_capacity = 1 << 20;
  static constexpr std::uint32_t max_spin_budget = 1 << 24;
  static constexpr std::uint32_t max_latency_sample_every = 1 << 20;
  static constexpr std::uint64_t max_arrival_rate_per_s = 1'000'000'000;
};

/// One cell of the sweep: everything a runner needs to run it.
struct cell_params {
  workload_kind workload = workload_kind::semaphore;
  std::string strategy;  ///< a csync strategy or a peer (see strategy_catalog)
  waiter_kind waiters = waiter_kind::threads;
  std::uint32_t threads = 1;  ///< thread waiters: worker threads (1..max_threads)
  std::uint32_t tasks = 1;    ///< coroutine waiters: tasks in all (1..max_tasks)
  std::uint32_t loops = 1;    ///< coroutine waiters: loops, one thread each (1..tasks)
  std::uint64_t permits = 1;  ///< semaphore permits (1..max_permits)
  std::uint64_t weight = 1;   ///< permits per acquire (1..permits)
  std::uint64_t critical_section_ns = 0;
  std::uint64_t think_ns = 0;
  fairness_choice fairness = fairness_choice::strategy_default;
  std::optional<std::uint32_t> spin_budget;  ///< spin/futex/uring_futex only
  hold_mode hold = hold_mode::none;          ///< coroutine waiters only
  std::uint64_t duration_ms = 1000;  ///< per repetition; 0: run `operations` instead
  std::uint64_t operations = 0;      ///< per worker, when duration_ms == 0
  std::uint64_t warmup_ms = 100;     ///< per cell, before the first repetition
  std::uint32_t repetitions = 6;     ///< 1..max_repetitions; 6 is the fewest whose median interval reaches 95 %
  pinning pin = pinning::none;
  std::uint32_t queue_capacity = 16;  ///< condvar workload: bounded queue size
  /// Latency runs time each operation with probability 1 / this (one rate
  /// for every strategy and peer at a parameter point).
  std::uint32_t latency_sample_every = 64;
  arrival_kind arrival = arrival_kind::closed;  ///< open loops: semaphore workload only
  std::uint64_t arrival_rate_per_s = 0;         ///< per worker; open loops only (> 0)

  /// The "parameters" object of a report entry: every applicable member by
  /// its JSON name, enums as their strings; no inapplicable ones.
  nlohmann::json to_json() const;
  /// Stable identity of the cell (for --resume): the canonical dump of
  /// to_json() without `repetitions`, `warmup_ms`, `duration_ms`, `operations`.
  std::string key() const;
};

/// Which strategy names exist and what each can run. Provided by the runner
/// (catalog.hpp) so the loader knows no strategy by itself.
struct strategy_catalog {
  struct entry {
    std::string name;
    bool is_peer = false;  ///< a reference implementation, not a csync strategy
    bool has_spin_budget = false;
    /// Whether this strategy can run the workload with these waiters.
    std::function<bool(workload_kind, waiter_kind)> supports;
  };
  std::vector<entry> entries;

  const entry* find(std::string_view name) const noexcept;
  /// "a, b, c" -- for error messages.
  std::string names() const;
};

/// A cell the loader dropped, with the reason (goes into the report).
struct excluded_cell {
  cell_params params;
  std::string reason;  ///< e.g. "peer std_counting_semaphore has no coroutine waiters"
};

struct scenario {
  std::string name;
  std::string description;
  std::string origin;  ///< the file path, or what the caller passed
  std::string hash;    ///< FNV-1a 64 of the file's bytes, 16 hex digits
  std::string text;    ///< the file's bytes (the report embeds them)
  bool peers = true;
  std::vector<cell_params> cells;  ///< csync cells, then (when peers) peer cells per point
  std::vector<excluded_cell> excluded;
};

/// Bad input; `what()` is the full message, e.g.
///   "quick.json:3:14: invalid JSON: unexpected '}'"
///   "quick.json: $.matrix.threads[2]: 0 is out of range 1..1024"
///   "quick.json: $.defaults.strategy: unknown strategy 'fuutex'; known: ..."
class scenario_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Parses `text` (the contents of `origin`). With `peers` true in the file,
/// every distinct parameter point of the csync cells also gets one cell per
/// peer that supports its workload and waiter kind.
scenario parse_scenario(std::string_view text, std::string origin, const strategy_catalog& catalog);

/// Reads and parses a file; a missing or unreadable file is a scenario_error.
scenario load_scenario(const std::string& path, const strategy_catalog& catalog);

/// 16 lowercase hex digits of FNV-1a 64 over `bytes`.
std::string fnv1a_hex(std::string_view bytes);

/// The same hash, fed in pieces (a file read in chunks).
class fnv1a {
 public:
  void update(std::string_view bytes) noexcept;
  std::string hex() const;

 private:
  std::uint64_t hash_ = 14695981039346656037ULL;
};

}  // namespace csync::bench
