"""Load and validate csync-bench reports (docs/report-format.md, schema 1).

Validation checks what the comparison and plotting code rely on, so that a
wrong file fails at load time with its name and the place in it (the same
`file: $.path: problem` style as the scenario loader) rather than later with
a bare KeyError.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

TOOL = "csync-bench"
SCHEMA_VERSION = 1

# The csync wake-up strategies (`csync-bench list`); any other strategy name
# in a report is a reference peer (docs/peers.md). Listing csync's rather
# than the peers means a peer added later is still drawn as a peer.
CSYNC_STRATEGIES = (
    "mutex_queue", "spin", "atomic_waker", "intrusive_list",
    "futex", "uring_futex", "iocp",
)

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


def is_peer(strategy):
    """True for reference implementations, which plots draw apart from csync's."""
    return strategy not in CSYNC_STRATEGIES


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
    """One loaded report: the file it came from and its parsed JSON."""

    path: Path
    data: dict

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
    """Read and validate one report; raise ReportError naming what is wrong."""
    path = Path(path)
    data = _parse_json(path)
    _check_header(path, data)
    for index, cell in enumerate(data["results"]):
        _check_cell(path, index, cell)
    return Report(path, data)


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
    if version != SCHEMA_VERSION:
        raise ReportError(f"{path}: $.schema_version: unsupported schema_version "
                          f"{json.dumps(version)}; these scripts read {SCHEMA_VERSION}")
    _require(path, "$", data, "context", dict)
    _require(path, "$", data, "scenario", dict)
    _require(path, "$.scenario", data["scenario"], "name", str)
    _require(path, "$", data, "results", list)


def _check_cell(path, index, cell):
    where = f"$.results[{index}]"
    if not isinstance(cell, dict):
        raise ReportError(f"{path}: {where}: expected an object, got {_json_type(cell)}")
    _require(path, where, cell, "name", str)
    _require(path, where, cell, "status", str)
    _require(path, where, cell, "parameters", dict)
    _require(path, f"{where}.parameters", cell["parameters"], "strategy", str)
    if cell["status"] != "ok":
        return
    _require(path, where, cell, "aggregates", dict)
    _require(path, where, cell, "repetitions", list)
    for rep_index, rep in enumerate(cell["repetitions"]):
        if not isinstance(rep, dict):
            raise ReportError(f"{path}: {where}.repetitions[{rep_index}]: expected an "
                              f"object, got {_json_type(rep)}")
    for name in ("acquire_latency_histogram_ns", "wake_latency_histogram_ns"):
        if cell.get(name) is not None:
            _check_histogram(path, f"{where}.{name}", cell[name])


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
        expected = {dict: "an object", list: "an array", str: "a string"}[kind]
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
