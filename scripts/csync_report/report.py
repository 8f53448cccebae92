"""Load and validate csync-bench reports (docs/report-format.md, schema 2).

Validation checks what the comparison and plotting code rely on, so that a
wrong file fails at load time with its name and the place in it (the same
`file: $.path: problem` style as the scenario loader) rather than later with
a bare KeyError.

A schema 1 report (the format before the paired throughput and latency runs)
still loads: it is validated as schema 1, then rewritten in memory into the
schema 2 shape (`upgrade_schema_1`) and marked (`Report.legacy_schema`), so
that the rest of the code reads one format and can say which numbers came
from the old instrument.
"""

import json
import re
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

TOOL = "csync-bench"
SCHEMA_VERSION = 2
LEGACY_SCHEMA_VERSION = 1  # read too, upgraded on load
LEGACY_NOTE = ("schema 1 report: measured with the old instrument (latency sampled inside "
               "the throughput runs; CPU bracketed by the worker body)")

# The csync wake-up strategies (`csync-bench list`) in catalog order. Schema 2
# cells say themselves whether they are a peer (`is_peer`); this list only
# decides it for schema 1 reports, which do not (any other strategy name is a
# reference peer, docs/peers.md), and gives plots a stable order and colour.
CSYNC_STRATEGIES = (
    "mutex_queue", "spin", "atomic_waker", "intrusive_list",
    "futex", "uring_futex", "iocp",
)
# The queue family (`has_queue`, docs/adding-a-strategy.md): FIFO hand-off,
# `notify` visits the head. The other csync strategies are eventcounts (an
# epoch; broadcast wakes; barging only).
QUEUE_STRATEGIES = frozenset({"mutex_queue", "atomic_waker", "intrusive_list", "iocp"})
# The reference peers in catalog order (docs/peers.md): order and shade in
# plots and tables only; whether a strategy is a peer comes from its cells.
KNOWN_PEERS = ("std_counting_semaphore", "std_mutex_condvar", "futex_spin_then_block", "absl_mutex",
               "boost_fiber")

# Aggregates that are latencies and so carry `below_timer_floor`.
LATENCY_AGGREGATES = ("acquire_p50", "acquire_p99", "acquire_p999", "wake_p50", "wake_p99",
                      "herd_p50", "herd_p99", "reacquire_p50", "reacquire_p99")

# `harness_overhead.verdict` (docs/report-format.md): `flagged` is true for
# "above limit" alone; "not applicable" for open loops, whose throughput is
# their offered rate whatever the timing costs.
VERDICTS = ("within limit", "above limit", "unresolved", "not applicable")
VERDICT_ABOVE, VERDICT_UNRESOLVED, VERDICT_NOT_APPLICABLE = VERDICTS[1:]
# The level the median intervals aim at; where the repetitions are too few,
# `ci_coverage` is below it and the figures say so.
INTERVAL_LEVEL = 0.95

# Parameters that say how long a cell was measured, not what was measured
# (docs/scenario-format.md, "Cell key").
RUN_SETTINGS = frozenset({"duration_ms", "operations", "warmup_ms", "repetitions"})

# Context entries whose difference changes what a cell measures: told apart
# when two reports are compared or drawn together. `platform` and `emulator`
# come first: a run under an emulator (Wine) measures the emulator.
CONTEXT_KEYS = ("platform", "emulator", "host", "cpu_model", "cpus_allowed", "kernel",
                "compiler", "cxx_flags", "build_type", "csync_git_sha", "loop_backend",
                "io_uring", "iocp")


class ReportError(Exception):
    """A file that is not a usable csync-bench report; the message names it."""


def csync_rank(strategy):
    """Known csync strategies in catalog order, unknown ones after them."""
    return (CSYNC_STRATEGIES.index(strategy) if strategy in CSYNC_STRATEGIES
            else len(CSYNC_STRATEGIES))


def peer_rank(strategy):
    """Known peers in catalog order (docs/peers.md), unknown ones after them."""
    return KNOWN_PEERS.index(strategy) if strategy in KNOWN_PEERS else len(KNOWN_PEERS)


def is_peer(cell):
    """True for a cell of a reference implementation, which plots draw apart from csync's.

    The cell's `is_peer` says it; a schema 1 report got it on load from
    CSYNC_STRATEGIES (any strategy not listed there is a peer).
    """
    peer = cell.get("is_peer")
    if isinstance(peer, bool):
        return peer
    return cell["parameters"]["strategy"] not in CSYNC_STRATEGIES


class Starved(NamedTuple):
    """How a cell starved workers over its repetitions (throughput runs)."""

    repetitions: int  # repetitions with at least one starved worker
    of: int  # repetitions that recorded `starved`
    most: int  # the most workers starved in one repetition
    workers: int | None  # workers per repetition (pingpong: pairs); None where not known
    noun: str = "workers"  # what `workers` counts: "workers", or "pairs" for pingpong


def starved_workers(cell):
    """A Starved for an ok cell where any repetition had a worker that did no
    operation, else None (also where no repetition recorded `starved`, as
    in a schema 1 report).

    Any repetition counts, not the median over them: a cell that starves a
    worker in 2 of 5 repetitions has a median of 0 but is not sound. Workers
    is the length of a repetition's `ops_per_worker` (pingpong: pairs).
    """
    reps = [rep for rep in cell.get("repetitions") or () if isinstance(rep, dict)]
    counts = [rep["starved"] for rep in reps if _is_number(rep.get("starved"))]
    starved = [count for count in counts if count > 0]
    if not starved:
        return None
    workers = next((len(rep["ops_per_worker"]) for rep in reps
                    if isinstance(rep.get("ops_per_worker"), list)), None)
    noun = "pairs" if (cell.get("parameters") or {}).get("workload") == "pingpong" else "workers"
    return Starved(len(starved), len(counts), max(starved), workers, noun)


def starved_recorded(cell):
    """Whether any repetition of the cell counted its starved workers (a schema 1
    report's did not): only then does "no starved_workers" mean none starved."""
    return any(isinstance(rep, dict) and _is_number(rep.get("starved"))
               for rep in cell.get("repetitions") or ())


def starved_label(cell):
    """`starved in 2 of 5 repetitions (up to 1 of 4 workers)` for a starved cell,
    else None."""
    found = starved_workers(cell)
    if found is None:
        return None
    noun = found.noun
    if found.workers is None and found.most == 1:
        noun = noun[:-1]  # "up to 1 worker"
    of = f" of {found.workers}" if found.workers is not None else ""
    repetitions = "repetition" if found.of == 1 else "repetitions"
    return (f"starved in {found.repetitions} of {found.of} {repetitions} "
            f"(up to {found.most:g}{of} {noun})")


def longest_stall_ns(cell):
    """The longest time any worker of an ok cell went without completing an
    operation in a throughput run (`longest_stall_ns_per_worker`, the
    controller's progress monitor, ~1 ms resolution), or None where no
    repetition recorded it (counted runs; schema 1)."""
    stalls = [stall for rep in cell.get("repetitions") or () if isinstance(rep, dict)
              for stall in rep.get("longest_stall_ns_per_worker") or () if _is_number(stall)]
    return max(stalls, default=None)


def overhead_verdict(cell):
    """`harness_overhead.verdict` (one of VERDICTS), or None where the cell has
    none (not ok; a schema 1 report, whose overhead was never judged)."""
    return (cell.get("harness_overhead") or {}).get("verdict")


def median_interval(aggregate):
    """(ci_low, ci_high, ci_coverage) of an aggregate, None for what it lacks
    (a schema 1 report's intervals have no coverage: they were bootstrap
    intervals)."""
    aggregate = aggregate if isinstance(aggregate, dict) else {}
    return tuple(aggregate.get(k) if _is_number(aggregate.get(k)) else None
                 for k in ("ci_low", "ci_high", "ci_coverage"))


def below_timer_floor(cell, name):
    """True where the cell's latency aggregate `name` has its median below
    `measurement.timer_floor_ns` (`below_timer_floor`): the clock dominates it."""
    aggregate = (cell.get("aggregates") or {}).get(name)
    return isinstance(aggregate, dict) and aggregate.get("below_timer_floor") is True


def timer_floor_ns(cell):
    """`measurement.timer_floor_ns` (twice a clock read's cost), None where not known."""
    floor = (cell.get("measurement") or {}).get("timer_floor_ns")
    return floor if _is_number(floor) else None


def duration_label(ns):
    """Plain text for nanoseconds: 500 ns, 2 µs, 10 ms (tick labels, summaries)."""
    for factor, suffix in ((1e9, "s"), (1e6, "ms"), (1e3, "µs")):
        if abs(ns) >= factor:
            return f"{ns / factor:g} {suffix}"
    return "0" if ns == 0 else f"{ns:g} ns"


def percent(fraction):
    """0.9375 -> '93.8 %', 0.75 -> '75 %' (coverages and overhead fractions)."""
    return f"{fraction * 100:.3g} %"


def latency_flagged(cell):
    """True where the latency recording disturbed the cell by more than its limit
    (`harness_overhead.flagged`); False where it did not or is not known."""
    return (cell.get("harness_overhead") or {}).get("flagged") is True


def overhead_limit(cell):
    """`harness_overhead.limit` (0.02 where a cell has none): the flagging threshold."""
    limit = (cell.get("harness_overhead") or {}).get("limit")
    return limit if _is_number(limit) else 0.02


def overhead_cost(cell):
    """` (median 4.9 %, interval 4.8 % to 5.1 %, coverage 93.8 %)` of a cell's
    harness_overhead.fraction; what it has of that ("" where it has no median)."""
    fraction = (cell.get("harness_overhead") or {}).get("fraction") or {}
    median = fraction.get("median")
    if not _is_number(median):
        return ""
    parts = [f"median {percent(median)}"]
    low, high, coverage = median_interval(fraction)
    if low is not None and high is not None:
        parts.append(f"interval {percent(low)} to {percent(high)}")
        if coverage is not None:
            parts.append(f"coverage {percent(coverage)}")
    return f" ({', '.join(parts)})"


def starved_line(cell):
    """`NAME: starved in 2 of 5 repetitions (up to 1 of 4 workers); longest stall
    of a worker 100 ms` for a starved ok cell, else None (plot.py's summary, the
    page's flags)."""
    label = starved_label(cell)
    if label is None:
        return None
    stall = longest_stall_ns(cell)
    longest = f"; longest stall of a worker {duration_label(stall)}" if stall is not None else ""
    return f"{cell['name']}: {label}{longest}"


def flagged_line(cell):
    """`NAME: latency recording cost > 2 % (median ...): its latencies are flagged`
    for a cell whose latencies are flagged, else None."""
    if not latency_flagged(cell):
        return None
    return (f"{cell['name']}: latency recording cost > {overhead_limit(cell) * 100:g} %"
            f"{overhead_cost(cell)}: its latencies are flagged")


def unresolved_line(cells):
    """`latency recording cost unresolved in 2 cells (...): NAME, NAME` over the
    cells whose overhead verdict is unresolved, else None."""
    unresolved = [cell["name"] for cell in cells if overhead_verdict(cell) == VERDICT_UNRESOLVED]
    if not unresolved:
        return None
    count = "1 cell" if len(unresolved) == 1 else f"{len(unresolved)} cells"
    return (f"latency recording cost unresolved in {count} (the interval of the paired runs' "
            f"overhead straddles the limit: between-run noise is larger than the effect; not "
            f"marked in the figures): {', '.join(unresolved)}")


def latency_loop(cell):
    """`closed` or `open` (`measurement.latency_loop`), None where not known."""
    return (cell.get("measurement") or {}).get("latency_loop")


def cell_id(cell):
    """The identity cells are matched on across reports: `key`, else `name`.

    `key` leaves out the run settings, so a rerun with more repetitions or
    longer durations still matches.
    """
    return cell.get("key") or cell["name"]


def x_parameter(cell):
    """The parameter a sweep's x axis uses: threads, or tasks for coroutines."""
    return "tasks" if cell["parameters"].get("waiters") == "coroutines" else "threads"


def short_cpu_model(model):
    """`Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz` -> `Intel Xeon Gold 6148`, for titles."""
    model = re.sub(r"\((R|TM|tm)\)", "", model or "")
    model = re.sub(r"\s*@.*$", "", model)
    model = re.sub(r"\b(\d+-Core )?(CPU|Processor)\b", "", model)
    return " ".join(model.split()) or "unknown CPU"


@dataclass
class Report:
    """One loaded report: the file it came from and its parsed JSON (schema 2 shape).

    `legacy_schema` is the version the file had when it was upgraded on load
    (1), or None for a schema 2 file.
    """

    path: Path
    data: dict
    legacy_schema: int | None = None

    @property
    def legacy_note(self):
        """What to say about the numbers of an upgraded report, or None."""
        return LEGACY_NOTE if self.legacy_schema == LEGACY_SCHEMA_VERSION else None

    @property
    def context(self):
        return self.data["context"]

    @property
    def cells(self):
        return self.data["results"]

    @property
    def scenario_name(self):
        return self.data["scenario"]["name"]

    @property
    def host(self):
        return str(self.context.get("host", "unknown host"))

    @property
    def emulator(self):
        """The emulator the run was made under (e.g. `wine 8.0 (host Linux 6.1.0)`),
        or None for a native run (and for reports that predate the key)."""
        return self.context.get("emulator")

    def ok_cells(self):
        return [c for c in self.cells if c["status"] == "ok"]

    def not_ok_cells(self):
        return [c for c in self.cells if c["status"] != "ok"]

    def describe(self):
        """One line naming the run, for the headers of printed output."""
        ctx = self.context
        under = f", {ctx.get('platform', '?')} under {self.emulator}" if self.emulator else ""
        return (f"{self.path} (scenario {self.scenario_name}, host {self.host}{under}, "
                f"{short_cpu_model(ctx.get('cpu_model'))}, "
                f"{ctx.get('cpus_allowed', '?')} CPUs allowed, {ctx.get('date', 'no date')})")


def load_report(path):
    """Read and validate one report; raise ReportError naming what is wrong.

    A schema 1 report is validated as such (the messages name the file's own
    JSON paths) and then upgraded in memory to the schema 2 shape.
    """
    path = Path(path)
    data = _parse_json(path)
    version = _check_header(path, data)
    for index, cell in enumerate(data["results"]):
        _check_cell(path, index, cell, version)
    if version == LEGACY_SCHEMA_VERSION:
        upgrade_schema_1(data)
        return Report(path, data, legacy_schema=LEGACY_SCHEMA_VERSION)
    return Report(path, data)


def upgrade_schema_1(data):
    """Rewrite a validated schema 1 document, in place, into the schema 2 shape.

    Schema 1 measured each repetition in one run: latencies were sampled
    inside the throughput run and CPU time was read by the worker body. The
    upgrade keeps each number under the schema 2 name closest in meaning and
    writes null where schema 1 has no such number:

    - repetitions: `acquire_latency_ns` and `wake_latency_ns` move under
      `latency_run`, which stands for the same run (its elapsed time,
      operations and throughput are the repetition's; `overhead_fraction`,
      `herd_latency_ns` and the censoring counts are null);
      `cpu_ns_per_op` = user + sys; `starved`, `ops_per_worker` and
      `censored_waits` are null (not recorded);
    - `diagnostic`: wakes / spurious / futile per operation from the
      aggregates' medians (else the first repetition), null for peers
      (schema 1 wrote 0 for them); `max_holders` the largest of the
      repetitions'; `violations` 0 (schema 1 failed a cell that had one);
      `operations` null (there was no diagnostic run);
    - `measurement`: `latency_sample_every` from the first repetition,
      `latency_loop` closed (schema 1 had no open loop), the timer cost from
      `harness_overhead` or the context;
    - `harness_overhead`: `fraction`, `min`, `max`, `verdict` and `flagged`
      null: schema 1's fraction came from two short warmup runs, too noisy to
      judge a cell on; it is kept as `schema_1_fraction`;
    - aggregates: `ci95_low` / `ci95_high` (bootstrap intervals) become
      `ci_low` / `ci_high` with `ci_coverage` null (not the order-statistic
      interval of schema 2, so no exact coverage); `cpu_per_op` from the
      repetitions' `cpu_ns_per_op` (median, mean, stddev; no bootstrap, so
      the interval is null) replaces `cpu_user_per_op` / `cpu_sys_per_op`;
      the wake statistics' aggregates go; latency aggregates get
      `below_timer_floor`;
    - `throughput_vs_peers`: each `{peer: ratio}` becomes `{peer: {ratio,
      ci_low: null, ci_high: null, ci_coverage: null}}` (schema 1 had only the
      ratio of medians);
    - repetitions get `longest_stall_ns_per_worker` null (no progress monitor);
    - every cell gets `is_peer` from CSYNC_STRATEGIES.
    """
    context_timer = data["context"].get("timer_cost_ns")
    for cell in data["results"]:
        peer = cell["parameters"]["strategy"] not in CSYNC_STRATEGIES
        cell["is_peer"] = peer
        if cell["status"] == "ok":
            _upgrade_ok_cell_1(cell, peer, context_timer)
    data["schema_version"] = SCHEMA_VERSION


SCHEMA_1_STATISTICS = ("wakes_per_op", "spurious_per_op", "futile_per_op")


def _upgrade_ok_cell_1(cell, peer, context_timer):
    reps, aggregates = cell["repetitions"], cell["aggregates"]
    old_overhead = cell.get("harness_overhead") or {}
    first = reps[0] if reps else {}

    timer_cost = old_overhead.get("timer_cost_ns")
    timer_cost = timer_cost if _is_number(timer_cost) else context_timer
    timer_floor = 2 * timer_cost if _is_number(timer_cost) else None
    cell["measurement"] = {
        "latency_sample_every": first.get("latency_sample_every",
                                          old_overhead.get("latency_sample_every")),
        "latency_loop": "closed", "timer_cost_ns": timer_cost, "timer_floor_ns": timer_floor}
    cell["harness_overhead"] = {"fraction": None, "min": None, "max": None, "limit": 0.02,
                                "verdict": None, "flagged": None,
                                "schema_1_fraction": old_overhead.get("fraction")}
    peers = cell.get("throughput_vs_peers")
    if isinstance(peers, dict):
        cell["throughput_vs_peers"] = {
            peer: ratio if isinstance(ratio, dict) else
            {"ratio": ratio if _is_number(ratio) else None, "ci_low": None, "ci_high": None,
             "ci_coverage": None}
            for peer, ratio in peers.items()}

    def statistic(name):
        if peer:
            return None
        aggregate = aggregates.get(name)
        if isinstance(aggregate, dict) and _is_number(aggregate.get("median")):
            return aggregate["median"]
        return first.get(name)

    holders = [rep["max_holders"] for rep in reps if _is_number(rep.get("max_holders"))]
    cell["diagnostic"] = {"operations": None, "max_holders": max(holders, default=None),
                          "violations": 0,
                          **{name: statistic(name) for name in SCHEMA_1_STATISTICS}}

    for rep in reps:
        user, sys = rep.pop("cpu_user_ns_per_op", None), rep.pop("cpu_sys_ns_per_op", None)
        rep["cpu_ns_per_op"] = (None if user is None and sys is None
                                else (user or 0.0) + (sys or 0.0))
        rep["latency_run"] = {
            "elapsed_s": rep.get("elapsed_s"), "operations": rep.get("operations"),
            "throughput_ops_per_s": rep.get("throughput_ops_per_s"),
            "overhead_fraction": None,
            "acquire_latency_ns": rep.pop("acquire_latency_ns", None),
            "wake_latency_ns": rep.pop("wake_latency_ns", None),
            "herd_latency_ns": None, "reacquire_latency_ns": None,
            "max_wait_ns_per_worker": None,
            "censored_waits": None, "censored_timed": None, "censored_max_age_ns": None}
        rep.update(ops_per_worker=None, starved=None, longest_stall_ns_per_worker=None,
                   censored_waits=None)
        for name in (*SCHEMA_1_STATISTICS, "max_holders", "latency_sample_every"):
            rep.pop(name, None)

    for name in ("cpu_user_per_op", "cpu_sys_per_op", *SCHEMA_1_STATISTICS):
        aggregates.pop(name, None)
    for aggregate in aggregates.values():
        if isinstance(aggregate, dict):
            aggregate["ci_low"] = aggregate.pop("ci95_low", None)
            aggregate["ci_high"] = aggregate.pop("ci95_high", None)
            aggregate["ci_coverage"] = None
    cpu = [rep["cpu_ns_per_op"] for rep in reps if _is_number(rep["cpu_ns_per_op"])]
    if cpu:
        aggregates["cpu_per_op"] = {
            "median": statistics.median(cpu), "mean": statistics.fmean(cpu),
            "stddev": statistics.stdev(cpu) if len(cpu) > 1 else 0.0,
            "ci_low": None, "ci_high": None, "ci_coverage": None, "n": len(cpu), "unit": "ns"}
    for name in LATENCY_AGGREGATES:
        aggregate = aggregates.get(name)
        if isinstance(aggregate, dict):
            median = aggregate.get("median")
            aggregate["below_timer_floor"] = (
                median < timer_floor if _is_number(median) and timer_floor is not None
                else None)


def _parse_json(path):
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReportError(f"{path}: cannot read: {err.strerror or err}") from err
    if not raw.strip():
        raise ReportError(f"{path}: not JSON: the file is empty")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as err:
        raise ReportError(f"{path}: not JSON: not UTF-8 text") from err
    except json.JSONDecodeError as err:
        raise ReportError(
            f"{path}:{err.lineno}:{err.colno}: not JSON: {err.msg}") from err


def _looks_like_gbench(data):
    return "benchmarks" in data and "context" in data and "tool" not in data


def _check_header(path, data):
    if not isinstance(data, dict):
        raise ReportError(f"{path}: not a csync-bench report: expected a JSON object, "
                          f"got {_json_type(data)}")
    if _looks_like_gbench(data):
        raise ReportError(
            f"{path}: not a csync-bench report: this looks like Google Benchmark output "
            f"(csync-micro, or csync-bench --format gbench); compare those with Google "
            f"Benchmark's tools/compare.py")
    if data.get("tool") != TOOL:
        found = f"tool is {data['tool']!r}" if "tool" in data else "no \"tool\" key"
        raise ReportError(f"{path}: not a csync-bench report: {found}, "
                          f"expected \"tool\": \"{TOOL}\"")
    version = data.get("schema_version")
    if version not in (SCHEMA_VERSION, LEGACY_SCHEMA_VERSION) or isinstance(version, bool):
        raise ReportError(f"{path}: $.schema_version: unsupported schema_version "
                          f"{json.dumps(version)}; these scripts read {SCHEMA_VERSION} "
                          f"(and {LEGACY_SCHEMA_VERSION}, upgraded on load)")
    _require(path, "$", data, "context", dict)
    _require(path, "$", data, "scenario", dict)
    _require(path, "$.scenario", data["scenario"], "name", str)
    _require(path, "$", data, "results", list)
    return version


def _check_cell(path, index, cell, version):
    where = f"$.results[{index}]"
    if not isinstance(cell, dict):
        raise ReportError(f"{path}: {where}: expected an object, got {_json_type(cell)}")
    _require(path, where, cell, "name", str)
    _require(path, where, cell, "status", str)
    _require(path, where, cell, "parameters", dict)
    _require(path, f"{where}.parameters", cell["parameters"], "strategy", str)
    if version == SCHEMA_VERSION:
        _require(path, where, cell, "is_peer", bool)
    if cell["status"] != "ok":
        return
    _require(path, where, cell, "aggregates", dict)
    _require(path, where, cell, "repetitions", list)
    for rep_index, rep in enumerate(cell["repetitions"]):
        if not isinstance(rep, dict):
            raise ReportError(f"{path}: {where}.repetitions[{rep_index}]: expected an "
                              f"object, got {_json_type(rep)}")
        if version == SCHEMA_VERSION:
            _require(path, f"{where}.repetitions[{rep_index}]", rep, "latency_run", dict)
    if version == SCHEMA_VERSION:
        _check_schema_2_objects(path, where, cell)
    for name in ("acquire_latency_histogram_ns", "wake_latency_histogram_ns",
                 "herd_latency_histogram_ns", "reacquire_latency_histogram_ns"):
        if cell.get(name) is not None:
            _check_histogram(path, f"{where}.{name}", cell[name])


def _check_schema_2_objects(path, where, cell):
    """The objects plots and summaries read to mark a cell (schema 2, ok cells)."""
    for name in ("measurement", "harness_overhead", "diagnostic"):
        _require(path, where, cell, name, dict)
    overhead = cell["harness_overhead"]
    _require(path, f"{where}.harness_overhead", overhead, "verdict", str)
    if overhead["verdict"] not in VERDICTS:
        raise ReportError(f"{path}: {where}.harness_overhead.verdict: expected one of "
                          f"{', '.join(json.dumps(v) for v in VERDICTS)}, got "
                          f"{json.dumps(overhead['verdict'])}")
    _require(path, f"{where}.harness_overhead", overhead, "flagged", bool)
    if overhead["flagged"] != (overhead["verdict"] == VERDICT_ABOVE):
        raise ReportError(f"{path}: {where}.harness_overhead.flagged: "
                          f"{json.dumps(overhead['flagged'])} with verdict "
                          f"{json.dumps(overhead['verdict'])}; flagged is true exactly when "
                          f"the verdict is \"{VERDICT_ABOVE}\"")
    peers = cell.get("throughput_vs_peers")
    if peers is not None:
        if not isinstance(peers, dict):
            raise ReportError(f"{path}: {where}.throughput_vs_peers: expected an object, "
                              f"got {_json_type(peers)}")
        for peer, ratio in peers.items():
            if not isinstance(ratio, dict) or "ratio" not in ratio:
                got = _json_type(ratio) if not isinstance(ratio, dict) else "no \"ratio\""
                raise ReportError(f"{path}: {where}.throughput_vs_peers.{peer}: expected an "
                                  f"object {{ratio, ci_low, ci_high, ci_coverage}}, got {got}")
    measurement = cell["measurement"]
    if "latency_loop" not in measurement:
        raise ReportError(f"{path}: {where}.measurement.latency_loop: required")
    if measurement["latency_loop"] not in ("closed", "open"):
        raise ReportError(f"{path}: {where}.measurement.latency_loop: expected \"closed\" "
                          f"or \"open\", got {json.dumps(measurement['latency_loop'])}")


def _check_histogram(path, where, histogram):
    ok = isinstance(histogram, list) and all(
        isinstance(b, list) and len(b) == 2 and all(_is_number(v) for v in b)
        for b in histogram)
    if not ok:
        raise ReportError(f"{path}: {where}: expected [[bucket_lower_bound_ns, count], ...]")


def _require(path, where, obj, key, kind):
    if key not in obj:
        raise ReportError(f"{path}: {where}.{key}: required")
    if not isinstance(obj[key], kind):
        expected = {dict: "an object", list: "an array", str: "a string",
                    bool: "a boolean"}[kind]
        raise ReportError(f"{path}: {where}.{key}: expected {expected}, "
                          f"got {_json_type(obj[key])}")


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if _is_number(value):
        return "a number"
    return {dict: "an object", list: "an array", str: "a string"}.get(type(value), "?")
