// harness/src/scenario.cpp -- the scenario loader (spec: scenario.hpp, user
// reference: docs/scenario-format.md).
//
// Three passes, each refusing bad input with the place and the expectation:
//   1. text -> document: nlohmann's parser driven through our own SAX
//      builder, which keeps file order, keeps the byte offset of every syntax
//      error (nlohmann's number-overflow error carries none) for line:column,
//      and refuses duplicate keys (nlohmann would silently keep the last);
//   2. document -> sweep: top-level keys, `defaults` and `matrix` checked
//      against the parameter table, every value through one reader per kind
//      (unsigned integer with range, enum, strategy name);
//   3. sweep -> cells: cross product, normalization, cross-field checks,
//      de-duplication, exclusion of unsupported cells, peers.
// Values are never copied or dumped whole: a fuzzer's deeply nested array
// would overflow the stack in nlohmann's recursive copy and dump.
#include "scenario.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace csync::bench {
namespace {

using document = nlohmann::ordered_json;  // keeps file order: it is the matrix order

/// A scenario is a hand-written file of a few KiB; this bounds the parser's
/// memory and its quadratic key look-up on absurd input.
constexpr std::size_t max_text_bytes = std::size_t{1} << 20;
constexpr std::size_t max_values_per_parameter = 1000;
constexpr std::uint64_t max_cells = 100'000;

/// JSON spelling of each enum value: to_string() one way, read_enum() the other.
template <class E, std::size_t N>
using name_table = std::array<std::pair<E, std::string_view>, N>;

constexpr name_table<workload_kind, 5> workload_names{{{workload_kind::semaphore, "semaphore"},
                                                       {workload_kind::condvar, "condvar"},
                                                       {workload_kind::broadcast, "broadcast"},
                                                       {workload_kind::pingpong, "pingpong"},
                                                       {workload_kind::mixed_io, "mixed_io"}}};
constexpr name_table<waiter_kind, 2> waiter_names{
    {{waiter_kind::threads, "threads"}, {waiter_kind::coroutines, "coroutines"}}};
constexpr name_table<pinning, 3> pinning_names{
    {{pinning::none, "none"}, {pinning::compact, "compact"}, {pinning::spread, "spread"}}};
constexpr name_table<hold_mode, 3> hold_names{
    {{hold_mode::none, "none"}, {hold_mode::yield, "yield"}, {hold_mode::timer, "timer"}}};
// "default", not "strategy_default": to_json() must write what the loader reads.
constexpr name_table<fairness_choice, 3> fairness_names{
    {{fairness_choice::strategy_default, "default"},
     {fairness_choice::fifo, "fifo"},
     {fairness_choice::barging, "barging"}}};
constexpr name_table<arrival_kind, 3> arrival_names{{{arrival_kind::closed, "closed"},
                                                     {arrival_kind::poisson, "poisson"},
                                                     {arrival_kind::fixed, "fixed"}}};

template <class E, std::size_t N>
std::string_view name_in(const name_table<E, N>& table, E value) noexcept {
  for (const auto& [e, name] : table) {
    if (e == value) return name;
  }
  return "?";
}

template <class Range, class Name>
std::string join(const Range& items, Name name) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += name(item);
  }
  return out;
}

// ---- messages ---------------------------------------------------------------

/// A problem at a JSON path; parse_scenario prefixes the origin.
struct path_error {
  std::string path;
  std::string what;
};

[[noreturn]] void fail(std::string path, std::string what) {
  throw path_error{std::move(path), std::move(what)};
}

/// User text cut to a readable length, never inside a UTF-8 sequence.
std::string shorten(std::string_view text) {
  constexpr std::size_t max_shown = 60;
  if (text.size() <= max_shown) return std::string(text);
  std::size_t end = max_shown;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "...";
}

/// As a JSON string literal, so control characters show escaped.
std::string json_string(std::string_view text) { return document(shorten(text)).dump(); }

std::string member_path(const std::string& path, std::string_view key) {
  const bool plain = !key.empty() && std::isdigit(static_cast<unsigned char>(key[0])) == 0 &&
                     std::all_of(key.begin(), key.end(), [](char c) {
                       return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
                     });
  return plain ? path + "." + std::string(key) : path + "[" + json_string(key) + "]";
}

std::string index_path(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

/// "string \"4\"", "number -1.5", "array": what the file has instead.
std::string describe(const document& value) {
  switch (value.type()) {
    case document::value_t::string:
      return "string " + json_string(value.get_ref<const std::string&>());
    case document::value_t::number_integer:
    case document::value_t::number_unsigned:
    case document::value_t::number_float:
      return "number " + value.dump();
    case document::value_t::boolean:
      return "boolean " + value.dump();
    case document::value_t::null:
      return "null";
    case document::value_t::array:
      return value.empty() ? "an empty array" : "an array";
    default:
      return "an object";
  }
}

// ---- pass 1: text -> document -----------------------------------------------

/// 1-based line and byte column of byte `offset` in `text`.
std::string line_column(std::string_view text, std::size_t offset) {
  const auto before = text.substr(0, std::min(offset, text.size()));
  const auto line = 1 + std::count(before.begin(), before.end(), '\n');
  const auto line_start = before.rfind('\n');
  const auto column = before.size() - (line_start == std::string_view::npos ? 0 : line_start + 1);
  return std::to_string(line) + ":" + std::to_string(column + 1);
}

/// nlohmann's message without its "[json.exception...] parse error at line
/// L, column C: " prefix: we print our own location in our own format.
std::string plain_message(const std::string& what) {
  std::string_view text = what;
  if (text.starts_with('[')) text.remove_prefix(std::min(text.find("] ") + 2, text.size()));
  if (text.starts_with("parse error")) {
    const auto colon = text.find(": ");
    if (colon != std::string_view::npos) text.remove_prefix(colon + 2);
  }
  return std::string(text);
}

class document_builder final : public nlohmann::json_sax<document> {
 public:
  document root;
  std::optional<std::size_t> error_offset;  ///< of a syntax error
  std::string error_message;
  std::string duplicate_key_path;

  bool null() override { return add(nullptr); }
  bool boolean(bool value) override { return add(value); }
  bool number_integer(number_integer_t value) override { return add(value); }
  bool number_unsigned(number_unsigned_t value) override { return add(value); }
  bool number_float(number_float_t value, const string_t&) override { return add(value); }
  bool string(string_t& value) override { return add(std::move(value)); }
  bool binary(binary_t&) override { return false; }  // JSON text has no binary values
  bool start_object(std::size_t) override { return open(document::object()); }
  bool start_array(std::size_t) override { return open(document::array()); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& key) override {
    frame& top = frames_.back();
    if (top.value->contains(key)) {
      duplicate_key_path = member_path(open_path(), key);
      return false;
    }
    top.key = std::move(key);
    return true;
  }

  bool parse_error(std::size_t position, const std::string&,
                   const document::exception& error) override {
    // `position` counts the bytes read including the offending one.
    error_offset = position == 0 ? 0 : position - 1;
    error_message = plain_message(error.what());
    return false;
  }

 private:
  struct frame {
    document* value;  // stays valid: only the innermost open container grows
    std::string key;  // objects: the member being read
  };
  std::vector<frame> frames_;

  document* place(document value) {
    if (frames_.empty()) return &(root = std::move(value));
    frame& top = frames_.back();
    if (top.value->is_array()) {
      top.value->push_back(std::move(value));
      return &top.value->back();
    }
    return &((*top.value)[top.key] = std::move(value));
  }
  bool add(document value) {
    place(std::move(value));
    return true;
  }
  bool open(document container) {
    frames_.push_back({place(std::move(container)), {}});
    return true;
  }
  bool close() {
    frames_.pop_back();
    return true;
  }
  std::string open_path() const {
    std::string path = "$";
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      const frame& f = frames_[i];
      path = f.value->is_array() ? index_path(path, f.value->size() - 1) : member_path(path, f.key);
    }
    return path;
  }
};

document parse_document(std::string_view text, const std::string& origin) {
  document_builder builder;
  if (document::sax_parse(text, &builder)) return std::move(builder.root);
  if (!builder.duplicate_key_path.empty()) {
    throw scenario_error(origin + ": " + builder.duplicate_key_path + ": duplicate key");
  }
  const auto where = line_column(text, builder.error_offset.value_or(0));
  throw scenario_error(origin + ":" + where + ": invalid JSON: " + builder.error_message);
}

// ---- pass 2: value readers and the parameter table --------------------------

std::uint64_t read_unsigned(const document& value, const std::string& path, std::uint64_t min,
                            std::uint64_t max, std::string_view expected = "an unsigned integer") {
  const auto out_of_range = [&](const std::string& shown) {
    fail(path, shown + " is out of range " + std::to_string(min) + ".." + std::to_string(max));
  };
  if (!value.is_number_integer()) {
    fail(path, "expected " + std::string(expected) + ", got " + describe(value));
  }
  // "-0" is a signed zero to nlohmann; accept it as 0.
  if (!value.is_number_unsigned() && value.get<std::int64_t>() < 0) out_of_range(value.dump());
  const auto number = value.get<std::uint64_t>();
  if (number < min || number > max) out_of_range(std::to_string(number));
  return number;
}

template <class E, std::size_t N>
E read_enum(const document& value, const std::string& path, const name_table<E, N>& table) {
  if (value.is_string()) {
    for (const auto& [e, name] : table) {
      if (value.get_ref<const std::string&>() == name) return e;
    }
  }
  fail(path, "expected one of " + join(table, [](const auto& e) { return std::string(e.second); }) +
                 "; got " + describe(value));
}

/// Sets one member of a cell from a JSON value, or fails at `path`.
using applier = std::function<void(cell_params&, const document& value, const std::string& path,
                                   const strategy_catalog&)>;

struct parameter {
  std::string_view name;  ///< as in to_json()
  applier apply;
};

template <class T>
applier unsigned_member(T cell_params::*member, std::uint64_t min, std::uint64_t max) {
  return [=](cell_params& cell, const document& value, const std::string& path,
             const strategy_catalog&) {
    cell.*member = static_cast<T>(read_unsigned(value, path, min, max));
  };
}

template <class E, std::size_t N>
applier enum_member(E cell_params::*member, const name_table<E, N>& table) {
  return [member, &table](cell_params& cell, const document& value, const std::string& path,
                          const strategy_catalog&) {
    cell.*member = read_enum(value, path, table);
  };
}

void apply_strategy(cell_params& cell, const document& value, const std::string& path,
                    const strategy_catalog& catalog) {
  if (!value.is_string()) fail(path, "expected a strategy name (string), got " + describe(value));
  const auto& name = value.get_ref<const std::string&>();
  if (catalog.find(name) == nullptr) {
    fail(path, "unknown strategy '" + shorten(name) + "'; known: " + catalog.names());
  }
  cell.strategy = name;
}

void apply_spin_budget(cell_params& cell, const document& value, const std::string& path,
                       const strategy_catalog&) {
  // null: the strategy's own budget (also how a matrix sweeps "default vs. N").
  if (value.is_null()) {
    cell.spin_budget.reset();
    return;
  }
  cell.spin_budget = static_cast<std::uint32_t>(
      read_unsigned(value, path, 0, limits::max_spin_budget, "an unsigned integer or null"));
}

/// Every cell parameter, in cell_params order (the order of "known: ...").
const std::vector<parameter>& parameters() {
  using c = cell_params;
  static const std::vector<parameter> table{
      {"workload", enum_member(&c::workload, workload_names)},
      {"strategy", apply_strategy},
      {"waiters", enum_member(&c::waiters, waiter_names)},
      {"threads", unsigned_member(&c::threads, 1, limits::max_threads)},
      {"tasks", unsigned_member(&c::tasks, 1, limits::max_tasks)},
      {"loops", unsigned_member(&c::loops, 1, limits::max_loops)},
      {"permits", unsigned_member(&c::permits, 1, limits::max_permits)},
      {"weight", unsigned_member(&c::weight, 1, limits::max_permits)},
      {"critical_section_ns", unsigned_member(&c::critical_section_ns, 0, limits::max_time_ns)},
      {"think_ns", unsigned_member(&c::think_ns, 0, limits::max_time_ns)},
      {"fairness", enum_member(&c::fairness, fairness_names)},
      {"spin_budget", apply_spin_budget},
      {"hold", enum_member(&c::hold, hold_names)},
      {"duration_ms", unsigned_member(&c::duration_ms, 0, limits::max_duration_ms)},
      {"operations", unsigned_member(&c::operations, 0, limits::max_operations)},
      {"warmup_ms", unsigned_member(&c::warmup_ms, 0, limits::max_duration_ms)},
      {"repetitions", unsigned_member(&c::repetitions, 1, limits::max_repetitions)},
      {"pinning", enum_member(&c::pin, pinning_names)},
      {"queue_capacity", unsigned_member(&c::queue_capacity, 1, limits::max_queue_capacity)},
      {"latency_sample_every",
       unsigned_member(&c::latency_sample_every, 1, limits::max_latency_sample_every)},
      {"arrival", enum_member(&c::arrival, arrival_names)},
      {"arrival_rate_per_s", unsigned_member(&c::arrival_rate_per_s, 0, limits::max_arrival_rate_per_s)},
  };
  return table;
}

const parameter& find_parameter(std::string_view name, const std::string& path) {
  for (const auto& p : parameters()) {
    if (p.name == name) return p;
  }
  fail(path, "unknown parameter; known: " +
                 join(parameters(), [](const parameter& p) { return std::string(p.name); }));
}

/// A matrix array. Values point into the document (see the file comment).
struct axis {
  const parameter* param;
  std::string path;
  std::vector<const document*> values;
};

struct sweep {
  cell_params base;  ///< built-in defaults overridden by `defaults`
  std::vector<std::string_view> in_defaults;
  std::vector<axis> axes;  ///< file order

  /// Where the value of `name` in the cell at matrix indices `at` came from.
  std::string source(std::string_view name, const std::vector<std::size_t>& at) const {
    for (std::size_t i = 0; i < axes.size(); ++i) {
      if (axes[i].param->name == name) return index_path(axes[i].path, at[i]);
    }
    if (std::find(in_defaults.begin(), in_defaults.end(), name) != in_defaults.end()) {
      return member_path("$.defaults", name);
    }
    return "built-in default";
  }
};

const document* member(const document& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const document& expect_object(const document& value, const std::string& path) {
  if (!value.is_object()) fail(path, "expected an object, got " + describe(value));
  return value;
}

sweep read_sweep(const document& root, scenario& out, const strategy_catalog& catalog) {
  static constexpr std::array<std::string_view, 5> top_keys{"name", "description", "peers",
                                                            "defaults", "matrix"};
  expect_object(root, "$");
  for (const auto& item : root.items()) {
    if (std::find(top_keys.begin(), top_keys.end(), item.key()) == top_keys.end()) {
      fail(member_path("$", item.key()),
           "unknown key; known: " + join(top_keys, [](auto k) { return std::string(k); }));
    }
  }
  const document* name = member(root, "name");
  if (name == nullptr) fail("$.name", "required");
  if (!name->is_string() || name->get_ref<const std::string&>().empty()) {
    fail("$.name", "expected a non-empty string, got " + describe(*name));
  }
  out.name = name->get<std::string>();
  if (const document* description = member(root, "description")) {
    if (!description->is_string()) {
      fail("$.description", "expected a string, got " + describe(*description));
    }
    out.description = description->get<std::string>();
  }
  if (const document* peers = member(root, "peers")) {
    if (!peers->is_boolean()) fail("$.peers", "expected true or false, got " + describe(*peers));
    out.peers = peers->get<bool>();
  }

  sweep result;
  if (const document* defaults = member(root, "defaults")) {
    for (const auto& item : expect_object(*defaults, "$.defaults").items()) {
      const auto path = member_path("$.defaults", item.key());
      const parameter& param = find_parameter(item.key(), path);
      param.apply(result.base, item.value(), path, catalog);
      result.in_defaults.push_back(param.name);
    }
  }
  if (const document* matrix = member(root, "matrix")) {
    for (const auto& item : expect_object(*matrix, "$.matrix").items()) {
      axis ax{&find_parameter(item.key(), member_path("$.matrix", item.key())),
              member_path("$.matrix", item.key()),
              {}};
      const document& values = item.value();
      if (!values.is_array() || values.empty()) {
        fail(ax.path, "expected a non-empty array, got " + describe(values));
      }
      if (values.size() > max_values_per_parameter) {
        fail(ax.path, std::to_string(values.size()) + " values; limit 1.." +
                          std::to_string(max_values_per_parameter) + " per parameter");
      }
      cell_params scratch;  // validates now, so expansion cannot fail on a value
      for (std::size_t i = 0; i < values.size(); ++i) {
        ax.param->apply(scratch, values[i], index_path(ax.path, i), catalog);
        ax.values.push_back(&values[i]);
      }
      result.axes.push_back(std::move(ax));
    }
  }
  if (result.base.strategy.empty() &&
      std::none_of(result.axes.begin(), result.axes.end(),
                   [](const axis& a) { return a.param->name == "strategy"; })) {
    fail("$.defaults.strategy", "required (here or as an array in $.matrix.strategy)");
  }
  return result;
}

// ---- pass 3: sweep -> cells -------------------------------------------------

// Which members apply to a cell; normalize() and to_json() share them so that
// equal JSON means equal cells.
bool has_thread_workers(const cell_params& c) { return c.waiters == waiter_kind::threads; }
bool has_queue(const cell_params& c) { return c.workload == workload_kind::condvar; }
bool counts_operations(const cell_params& c) { return c.duration_ms == 0; }
bool open_loop(const cell_params& c) { return c.arrival != arrival_kind::closed; }

void normalize(cell_params& cell, const strategy_catalog::entry& strategy) {
  const cell_params built_in;
  if (has_thread_workers(cell)) {
    cell.tasks = built_in.tasks;
    cell.loops = built_in.loops;
    cell.hold = built_in.hold;
  } else {
    cell.threads = built_in.threads;
  }
  if (!strategy.has_spin_budget) cell.spin_budget.reset();
  // A peer is not a csync strategy: it has no fairness to choose.
  if (strategy.is_peer) cell.fairness = fairness_choice::strategy_default;
  if (!has_queue(cell)) cell.queue_capacity = built_in.queue_capacity;
  if (!counts_operations(cell)) cell.operations = built_in.operations;
  if (!open_loop(cell)) cell.arrival_rate_per_s = built_in.arrival_rate_per_s;
}

void check_cell(const cell_params& cell, const sweep& s, const std::vector<std::size_t>& at) {
  // The two values compared often come from different places: name both, and the cell.
  const auto refuse = [&](std::string_view name, const std::string& what, std::string_view other) {
    fail(s.source(name, at), what + " (" + std::string(other) + " from " + s.source(other, at) +
                                 "); cell: " + cell.to_json().dump());
  };
  const auto at_most = [&](std::string_view name, std::uint64_t value, std::string_view bound_name,
                           std::uint64_t bound) {
    if (value <= bound) return;
    refuse(name, std::string(name) + " " + std::to_string(value) + " is more than " +
                     std::string(bound_name) + " " + std::to_string(bound), bound_name);
  };
  at_most("weight", cell.weight, "permits", cell.permits);
  at_most("loops", cell.loops, "tasks", cell.tasks);
  if (cell.duration_ms == 0 && cell.operations == 0) {
    refuse("duration_ms", "duration_ms 0 needs operations > 0", "operations");
  }
  if (open_loop(cell) && cell.arrival_rate_per_s == 0) {
    refuse("arrival_rate_per_s", "an open loop (arrival " + std::string(to_string(cell.arrival)) +
                                     ") needs arrival_rate_per_s > 0", "arrival");
  }
  if (open_loop(cell) && cell.think_ns != 0) {
    refuse("think_ns", "an open loop (arrival " + std::string(to_string(cell.arrival)) +
                           ") waits for its schedule instead of thinking: think_ns must be 0",
           "arrival");
  }
  if (open_loop(cell) && cell.workload != workload_kind::semaphore) {
    refuse("arrival", "an open loop (arrival " + std::string(to_string(cell.arrival)) +
                          ") is supported by the semaphore workload only, not " +
                          std::string(to_string(cell.workload)), "workload");
  }
}

// Members grouped by role, each listed once; the comparisons below combine them.
auto strategy_fields(const cell_params& c) {
  return std::tie(c.strategy, c.fairness, c.spin_budget);
}
auto run_fields(const cell_params& c) {
  return std::tie(c.duration_ms, c.operations, c.warmup_ms, c.repetitions);
}
auto sweep_fields(const cell_params& c) {
  return std::tie(c.workload, c.waiters, c.threads, c.tasks, c.loops, c.permits, c.weight,
                  c.critical_section_ns, c.think_ns, c.hold, c.pin, c.queue_capacity,
                  c.latency_sample_every, c.arrival, c.arrival_rate_per_s);
}
auto identity_fields(const cell_params& c) {
  return std::tuple_cat(strategy_fields(c), sweep_fields(c), run_fields(c));
}
/// A parameter point: what a peer is compared with.
auto point_fields(const cell_params& c) { return std::tuple_cat(sweep_fields(c), run_fields(c)); }
/// What key() covers.
auto key_fields(const cell_params& c) {
  return std::tuple_cat(strategy_fields(c), sweep_fields(c));
}

template <auto Fields>
struct less_by {
  bool operator()(const cell_params& a, const cell_params& b) const {
    return Fields(a) < Fields(b);
  }
};

bool supports(const strategy_catalog::entry& e, const cell_params& c) {
  return !e.supports || e.supports(c.workload, c.waiters);  // no predicate: runs everything
}

std::string unsupported_reason(const strategy_catalog::entry& e, const cell_params& c) {
  return std::string(e.is_peer ? "peer " : "strategy ") + e.name + " does not run workload " +
         std::string(to_string(c.workload)) + " with " + std::string(to_string(c.waiters)) +
         " waiters";
}

std::uint64_t count_cells(const sweep& s) {
  std::uint64_t count = 1;
  for (const auto& a : s.axes) {
    count *= a.values.size();  // no overflow: each factor <= 1000, and we stop past max_cells
    if (count > max_cells) {
      fail("$.matrix", "the cross product has at least " + std::to_string(count) +
                           " cells; limit " + std::to_string(max_cells));
    }
  }
  return count;
}

void expand(const sweep& s, scenario& out, const strategy_catalog& catalog) {
  const std::uint64_t count = count_cells(s);
  std::set<cell_params, less_by<identity_fields>> seen;
  std::vector<cell_params> peer_cells;  // named in the file; go after the csync cells
  std::vector<std::size_t> at(s.axes.size(), 0);
  for (std::uint64_t n = 0; n < count; ++n) {
    cell_params cell = s.base;
    for (std::size_t i = 0; i < s.axes.size(); ++i) {
      s.axes[i].param->apply(cell, *s.axes[i].values[at[i]], s.axes[i].path, catalog);
    }
    const strategy_catalog::entry& strategy = *catalog.find(cell.strategy);
    normalize(cell, strategy);
    check_cell(cell, s, at);
    if (seen.insert(cell).second) {
      if (!supports(strategy, cell)) {
        out.excluded.push_back({cell, unsupported_reason(strategy, cell)});
      } else {
        (strategy.is_peer ? peer_cells : out.cells).push_back(std::move(cell));
      }
    }
    for (std::size_t i = s.axes.size(); i-- > 0;) {  // odometer: the last axis fastest
      if (++at[i] < s.axes[i].values.size()) break;
      at[i] = 0;
    }
  }

  const std::size_t csync_cells = out.cells.size();
  out.cells.insert(out.cells.end(), peer_cells.begin(), peer_cells.end());
  if (out.peers) {
    std::set<cell_params, less_by<point_fields>> points;
    for (std::size_t i = 0; i < csync_cells; ++i) {
      if (!points.insert(out.cells[i]).second) continue;
      for (const auto& entry : catalog.entries) {
        if (!entry.is_peer || !supports(entry, out.cells[i])) continue;
        cell_params peer = out.cells[i];
        peer.strategy = entry.name;
        peer.fairness = fairness_choice::strategy_default;
        peer.spin_budget.reset();
        if (seen.insert(peer).second) out.cells.push_back(std::move(peer));
      }
    }
  }

  // --resume finds a cell by key(), which leaves the run settings out.
  std::map<cell_params, std::size_t, less_by<key_fields>> by_key;
  for (std::size_t i = 0; i < out.cells.size(); ++i) {
    const auto [it, inserted] = by_key.emplace(out.cells[i], i);
    if (!inserted) {
      fail("$.matrix",
           "two cells differ only in duration_ms, operations, warmup_ms or "
           "repetitions, which the cell key ignores; sweep those in separate "
           "scenario files; cells: " +
               out.cells[it->second].to_json().dump() + " and " + out.cells[i].to_json().dump());
    }
  }
}

}  // namespace

std::string_view to_string(workload_kind v) noexcept { return name_in(workload_names, v); }
std::string_view to_string(waiter_kind v) noexcept { return name_in(waiter_names, v); }
std::string_view to_string(pinning v) noexcept { return name_in(pinning_names, v); }
std::string_view to_string(hold_mode v) noexcept { return name_in(hold_names, v); }
std::string_view to_string(fairness_choice v) noexcept { return name_in(fairness_names, v); }
std::string_view to_string(arrival_kind v) noexcept { return name_in(arrival_names, v); }

nlohmann::json cell_params::to_json() const {
  const auto text = [](auto value) { return std::string(to_string(value)); };
  nlohmann::json j{
      {"workload", text(workload)},
      {"strategy", strategy},
      {"waiters", text(waiters)},
      {"permits", permits},
      {"weight", weight},
      {"critical_section_ns", critical_section_ns},
      {"think_ns", think_ns},
      {"fairness", text(fairness)},
      {"duration_ms", duration_ms},
      {"warmup_ms", warmup_ms},
      {"repetitions", repetitions},
      {"pinning", text(pin)},
  };
  if (has_thread_workers(*this)) {
    j["threads"] = threads;
  } else {
    j["tasks"] = tasks;
    j["loops"] = loops;
    j["hold"] = text(hold);
  }
  if (spin_budget) j["spin_budget"] = *spin_budget;
  if (counts_operations(*this)) j["operations"] = operations;
  if (has_queue(*this)) j["queue_capacity"] = queue_capacity;
  // Written only where they differ from the built-in values, so that the
  // keys of cells that existed before these parameters did stay the same.
  if (latency_sample_every != cell_params{}.latency_sample_every) {
    j["latency_sample_every"] = latency_sample_every;
  }
  if (open_loop(*this)) {
    j["arrival"] = text(arrival);
    j["arrival_rate_per_s"] = arrival_rate_per_s;
  }
  return j;
}

std::string cell_params::key() const {
  nlohmann::json j = to_json();
  for (const char* run_setting : {"repetitions", "warmup_ms", "duration_ms", "operations"}) {
    j.erase(run_setting);
  }
  return j.dump();  // nlohmann::json sorts keys: canonical
}

const strategy_catalog::entry* strategy_catalog::find(std::string_view name) const noexcept {
  for (const auto& e : entries) {
    if (e.name == name) return &e;
  }
  return nullptr;
}

std::string strategy_catalog::names() const {
  return join(entries, [](const entry& e) { return e.name; });
}

scenario parse_scenario(std::string_view text, std::string origin,
                        const strategy_catalog& catalog) {
  if (text.size() > max_text_bytes) {
    throw scenario_error(origin + ": " + std::to_string(text.size()) + " bytes; limit " +
                         std::to_string(max_text_bytes) + " bytes for a scenario file");
  }
  const document root = parse_document(text, origin);
  scenario out;
  out.origin = origin;
  out.hash = fnv1a_hex(text);
  out.text = std::string(text);
  try {
    expand(read_sweep(root, out, catalog), out, catalog);
  } catch (const path_error& e) {
    throw scenario_error(origin + ": " + e.path + ": " + e.what);
  }
  return out;
}

scenario load_scenario(const std::string& path, const strategy_catalog& catalog) {
  std::error_code ignored;
  if (std::filesystem::is_directory(path, ignored)) {
    throw scenario_error(path + ": is a directory, not a scenario file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw scenario_error(path + ": cannot open: " + std::strerror(errno));
  std::string text(max_text_bytes + 1, '\0');  // one more: parse_scenario reports the limit
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw scenario_error(path + ": cannot read: " + std::strerror(errno));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return parse_scenario(text, path, catalog);
}

void fnv1a::update(std::string_view bytes) noexcept {
  for (const char byte : bytes) {
    hash_ ^= static_cast<unsigned char>(byte);
    hash_ *= 1099511628211ULL;
  }
}

std::string fnv1a::hex() const {
  std::uint64_t hash = hash_;
  std::string hex(16, '0');
  for (std::size_t i = 16; i-- > 0; hash >>= 4) hex[i] = "0123456789abcdef"[hash & 0xF];
  return hex;
}

std::string fnv1a_hex(std::string_view bytes) {
  fnv1a h;
  h.update(bytes);
  return h.hex();
}

}  // namespace csync::bench
