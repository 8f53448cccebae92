"""One self-contained HTML page per csync-bench report (`plot.py REPORT --html OUT.html`).

The page holds, in order: the title, the scenario and a one-line context;
the flags (what a reader must know before trusting a number: closed or open
latency loops, the harness-overhead verdicts, starved workers, cells not
measured, and a schema 1 report, an emulator, an incomplete run, a dirty or
shortened one); per group of cells (the groups of the figures,
csync_report/plot.py) a summary table and every figure plot.py draws for
it; the full context (machine, build, run); the scenario text.

Self-contained: figures are PNG data URIs and the style sheet is inline, so
the one file opens offline and can be mailed or attached as it is; the page
has no script and refers to nothing outside itself. Every text taken from
the report is HTML-escaped. Something the report does not record is shown
as "not recorded", never filled in.

The numbers are the report's own -- medians, the median's interval and its
coverage (`aggregates`), the Hodges-Lehmann ratio to a peer with its
interval (`throughput_vs_peers`) -- formatted as the generated
documentation formats them (docs.py); nothing is recomputed.
"""

import base64
import contextlib
import html
import io
import os
import shlex
import struct
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import NamedTuple

from .docs import MICROSECONDS, MOPS, jain, median_text, ratio_text, sig, throughput, value_marks
from .plot import LATENCY_KINDS, Plotter, build_groups, has_aggregate
from .report import (
    _is_number, flagged_line, latency_loop, median_interval, overhead_verdict, percent,
    short_cpu_model, starved_label, starved_line, starved_recorded, unresolved_line)

NOT_RECORDED = "not recorded"
# Greys only: every colour on the page is a figure's (the Chromium test
# looks for coloured pixels in a screenshot to see that figures rendered).
STYLE = """
body { font-family: sans-serif; font-size: 14px; color: #111; margin: 1.5em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.3em; margin-top: 1.6em; border-bottom: 1px solid #999; }
h3 { font-size: 1.1em; margin-top: 1.4em; }
a { color: #333; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
th, td { border: 1px solid #bbb; padding: 2px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.number { text-align: right; white-space: nowrap; }
table.context td:first-child { white-space: nowrap; }
pre { background: #f4f4f4; border: 1px solid #ccc; padding: 0.6em; max-height: 40em;
      overflow: auto; }
figure { margin: 0.8em 0 1.6em; }
figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #444; }
dt { font-weight: bold; margin-top: 0.6em; }
dd { margin-left: 1.5em; }
.lead { color: #333; }
"""


class Page(NamedTuple):
    """An HTML page and how many figures it embeds."""

    text: str
    figures: int


def escape(value):
    return html.escape(str(value), quote=True)


def build_page(report, ccdf_at=None, progress=None):
    """The HTML page of one loaded report, as a Page.

    `ccdf_at` as plot.py's --ccdf-at; `progress(done, total)` is called after
    each group's figures are drawn (the slow part: ~1 s a group).
    """
    plotter = Plotter([report], ("png",), ccdf_at)
    groups = build_groups([report])
    sections, figures = [], 0
    for index, group in enumerate(groups):
        section, drawn = group_section(plotter, group, index)
        sections.append(section)
        figures += drawn
        if progress:
            progress(index + 1, len(groups))
    title = f"csync-bench report: {report.scenario_name}"
    body = [
        f"<h1>{escape(title)}</h1>",
        lead(report),
        contents(groups),
        flags_section(report),
        f'<h2 id="groups">Results: {len(groups)} group{"" if len(groups) == 1 else "s"} '
        f"of cells, {figures} figure{'' if figures == 1 else 's'}</h2>",
        GROUPS_NOTE,
        *sections,
        context_section(report),
        scenario_section(report),
    ]
    text = "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)} ({escape(report.path.name)})</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        *body,
        "</body>",
        "</html>",
        ""])
    return Page(text, figures)


def write_page(path, text):
    """Write `text` to `path` atomically: a temporary file in the same directory,
    then a rename, so that a failure leaves the old file (or none), never half
    a page. Creates the directory if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())  # the data on disk before the rename makes it visible
        os.chmod(temporary, 0o666 & ~current_umask())  # as open() would; mkstemp's is 0600
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def current_umask():
    mask = os.umask(0)  # reading it means setting it; set it back at once
    os.umask(mask)
    return mask


class Progress:
    """`plot.py: figures of 7 of 16 groups drawn` on a stream, once the work has
    run for `delay` seconds: a page that takes a few seconds (a small report)
    stays quiet; the largest committed report takes ~15 s."""

    def __init__(self, stream=sys.stderr, delay=5.0, clock=time.monotonic):
        self.stream, self.delay, self.clock = stream, delay, clock
        self.start = clock()

    def __call__(self, done, total):
        if self.clock() - self.start >= self.delay:
            print(f"plot.py: figures of {done} of {total} groups drawn", file=self.stream,
                  flush=True)


# ---------------------------------------------------------------- pieces


def html_table(header, rows, numeric=(), css_class=None):
    """A table of plain text (escaped here); the columns in `numeric` right-aligned."""
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    opening = f'<table class="{css_class}">' if css_class else "<table>"
    lines = [opening, f"<thead><tr>{head}</tr></thead>", "<tbody>"]
    for row in rows:
        cells = "".join(f'<td class="number">{escape(v)}</td>' if i in numeric
                        else f"<td>{escape(v)}</td>" for i, v in enumerate(row))
        lines.append(f"<tr>{cells}</tr>")
    lines += ["</tbody>", "</table>"]
    return "\n".join(lines)


def bullet_list(items):
    return "<ul>\n" + "\n".join(f"<li>{escape(item)}</li>" for item in items) + "\n</ul>"


def plural(count, noun):
    return f"{count} {noun}{'' if count == 1 else 's'}"


def recorded(value):
    """A context value as text; None (or absent) is "not recorded"."""
    if value is None:
        return NOT_RECORDED
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ", ".join(recorded(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {recorded(v)}" for k, v in value.items()) or "none"
    return str(value)


def lead(report):
    """The scenario's description and one line of where and when it ran."""
    ctx, scenario = report.context, report.data["scenario"]
    statuses = Counter(cell["status"] for cell in report.cells)
    cells = ", ".join(f"{count} {status}" for status, count in statuses.most_common())
    machine = (f"{report.host}: {short_cpu_model(ctx.get('cpu_model'))}, "
               f"{recorded(ctx.get('cpus_allowed'))} CPUs allowed, {recorded(ctx.get('kernel'))}")
    when = f"{recorded(ctx.get('date'))} to {recorded(ctx.get('date_end'))}"
    lines = [f"<p class=\"lead\">{escape(scenario.get('description') or 'No description.')}</p>",
             f"<p>Report <code>{escape(report.path.name)}</code>: scenario "
             f"<code>{escape(report.scenario_name)}</code>, {plural(len(report.cells), 'cell')} "
             f"({escape(cells or 'none')}). Ran on {escape(machine)}; {escape(build_line(ctx))}; "
             f"{escape(when)} (UTC). The full context is <a href=\"#context\">below</a>.</p>"]
    return "\n".join(lines)


def build_line(ctx):
    """'commit f0fcee03873c (clean tree), g++ 12.2.0 Release'."""
    sha = ctx.get("csync_git_sha")
    commit = f"commit {str(sha)[:12]}" if sha else "commit not recorded"
    return (f"{commit} ({tree_state(ctx)}), {recorded(ctx.get('compiler'))} "
            f"{recorded(ctx.get('build_type'))}")


def tree_state(ctx):
    return {True: "dirty tree", False: "clean tree"}.get(ctx.get("csync_git_dirty"),
                                                          "tree state not recorded")


def contents(groups):
    links = ['<li><a href="#flags">Flags</a></li>', '<li><a href="#groups">Results</a><ul>']
    links += [f'<li><a href="#{escape(group_id(group))}">{escape(group.describe())}</a></li>'
              for group in groups]
    links += ["</ul></li>", '<li><a href="#context">Context</a></li>',
              '<li><a href="#scenario">Scenario</a></li>']
    return "<nav><ul>\n" + "\n".join(links) + "\n</ul></nav>"


def group_id(group):
    return f"group-{group.slug()}"


# ---------------------------------------------------------------- flags


def flags_section(report):
    """What qualifies the numbers, as a definition list."""
    entries = [
        ("Latency loop", latency_loop_flags(report)),
        ("Harness overhead", overhead_flags(report)),
        ("Starved workers", starved_flags(report)),
        ("Cells not measured", not_measured_flags(report)),
    ]
    run = run_flags(report)
    if run:
        entries.insert(0, ("The run", run))
    parts = ['<h2 id="flags">Flags</h2>', "<dl>"]
    for term, items in entries:
        parts += [f"<dt>{escape(term)}</dt>", f"<dd>{bullet_list(items)}</dd>"]
    parts.append("</dl>")
    return "\n".join(parts)


def run_flags(report):
    """Why the whole report may not say what it seems to: empty when nothing does."""
    ctx, run = report.context, report.data.get("run") or {}
    flags = []
    if report.legacy_note:
        flags.append(report.legacy_note)
    if report.emulator:
        flags.append(f"measured under {report.emulator}: the numbers describe the emulator, "
                      f"not {ctx.get('platform', 'the platform')}")
    if run.get("complete") is False:
        flags.append(f"incomplete: the run stopped before every cell finished "
                     f"({len(report.cells)} of {recorded(run.get('cells'))} cells in the report)")
    if ctx.get("csync_git_dirty") is True:
        flags.append("built from a dirty tree: these numbers cannot be regenerated from a commit")
    elif ctx.get("csync_git_dirty") is None:
        flags.append("whether the build's tree was clean is not recorded")
    if run.get("quick"):
        flags.append("a --quick run: at most 100 ms and 3 repetitions per cell "
                     "(docs/scenario-format.md)")
    if run.get("smoke"):
        flags.append("a --smoke run: one 5 ms repetition per cell, which checks that every cell "
                     "runs; its numbers mean nothing")
    return flags


def latency_loop_flags(report):
    loops = Counter(latency_loop(cell) for cell in report.ok_cells())
    if not loops:
        return ["no ok cells"]
    counts = ", ".join(f"{loop}-loop in {plural(n, 'ok cell')}" if loop else
                       f"{NOT_RECORDED} in {plural(n, 'ok cell')}"
                       for loop, n in sorted(loops.items(), key=lambda kv: str(kv[0])))
    flags = [f"latencies measured {counts} (measurement.latency_loop)"]
    if loops.get("open"):
        flags.append("an open loop's latency runs from the operation's intended start, a closed "
                     "loop's from the call; an open loop's throughput is its offered rate, so "
                     "its harness overhead is not judged")
    return flags


def overhead_flags(report):
    """The verdicts on what timing cost the latency runs, the cells above the
    limit (their latencies are flagged) and those unresolved."""
    cells = report.ok_cells()
    if not cells:
        return ["no ok cells"]
    verdicts = Counter(overhead_verdict(cell) or "not judged (schema 1)" for cell in cells)
    timer = report.context.get("timer_cost_ns")
    flags = [f"verdicts of the {plural(len(cells), 'ok cell')} (harness_overhead.verdict): "
             + ", ".join(f"{verdict} {count}" for verdict, count in verdicts.most_common())
             + (f"; a clock read costs {sig(timer)} ns (context.timer_cost_ns)"
                if _is_number(timer) else "")]
    flags += [line for line in map(flagged_line, cells) if line]
    unresolved = unresolved_line(cells)
    return flags + ([unresolved] if unresolved else [])


def starved_flags(report):
    cells = report.ok_cells()
    flags = [line for line in map(starved_line, cells) if line]
    if flags:
        flags.append("a starved cell's throughput is the other workers' alone, and the waits "
                     "that never ended are in no latency histogram")
    unknown = sum(1 for cell in cells if not starved_recorded(cell))
    if unknown:
        flags.append(f"{NOT_RECORDED} in {plural(unknown, 'ok cell')} (no repetition counted "
                     f"starved workers)")
    elif not flags:
        flags.append("none: every worker did operations in every repetition" if cells
                     else "no ok cells")
    return flags


def not_measured_flags(report):
    """Cells that are not ok: a strategy unavailable or skipped is said once per
    strategy and reason, a failed cell (a finding) each on its own; then the
    cells the scenario loader dropped (`excluded`), once per reason."""
    per_strategy = Counter()  # (status, strategy, reason) -> cells
    failures = []
    for cell in report.not_ok_cells():
        reason = cell.get("reason") or "no reason given"
        if cell["status"] in ("unavailable", "skipped"):
            per_strategy[(cell["status"], cell["parameters"]["strategy"], reason)] += 1
        else:
            failures.append(f"{cell['name']}: {cell['status']}: {reason}")
    excluded = Counter(str(entry.get("reason") or "no reason given")
                       for entry in report.data.get("excluded") or () if isinstance(entry, dict))
    flags = [f"{strategy}: {status} in {plural(n, 'cell')}: {reason}"
             for (status, strategy, reason), n in per_strategy.items()]
    flags += failures
    flags += [f"excluded by the scenario loader: {plural(n, 'cell')}: {reason}"
              for reason, n in excluded.items()]
    return flags or ["none: every cell is ok"]


# ---------------------------------------------------------------- groups


GROUPS_NOTE = (
    "<p>One group per set of cells that differ only in the x axis (threads, or tasks for "
    "coroutine waiters) and the strategy. In the tables a value is the median over the "
    "repetitions and <code>[lo, hi]</code> the median's order-statistic interval, with its "
    "coverage as the report states it (below 95 % where the repetitions are too few); the "
    "ratio to the best peer (the peer with the highest median throughput at that point) is the "
    "report's Hodges-Lehmann estimate with its Mann-Whitney interval "
    "(<code>throughput_vs_peers</code>). Marks: starved (a worker did no operation in some "
    "repetition), overhead above limit (the latencies are flagged), below timer floor (the "
    "clock dominates the median).</p>")


def group_section(plotter, group, index):
    """(HTML, figures drawn) of one group: its summary table, then its figures."""
    figures = plotter.figures(group)
    parts = [f'<section id="{escape(group_id(group))}">',
             f"<h3>{index + 1}. {escape(group.describe())}</h3>",
             summary_table(plotter, group)]
    parts += [figure_html(group, suffix, figure) for suffix, figure in figures]
    parts.append("</section>")
    return "\n".join(parts), len(figures)


def summary_table(plotter, group):
    """Per line (strategy, or peer) and x: throughput, its interval's coverage,
    each p99 latency the group timed, Jain's index, starved workers and the
    ratio to the best peer."""
    kinds = [kind for kind in LATENCY_KINDS if has_aggregate(group, f"{kind}_p99")]
    header = ["strategy", group.x_name, "throughput, M ops/s", "coverage",
              *(f"{kind} p99, µs" for kind in kinds), "Jain", "starved", "vs best peer"]
    rows = []
    for line in group.lines.values():
        for x, cell in line.points():
            throughput = cell["aggregates"].get("throughput")
            rows.append([
                plotter.line_label(group, line), str(x),
                median_text(throughput, MOPS) if throughput else NOT_RECORDED,
                coverage_text(throughput) if throughput else NOT_RECORDED,
                *(latency_text(cell, f"{kind}_p99") for kind in kinds),
                "–" if jain(cell) is None else sig(jain(cell)),
                starved_label(cell) or ("no" if starved_recorded(cell) else NOT_RECORDED),
                best_peer_text(group, line, x, cell)])
    numeric = set(range(1, header.index("Jain") + 1))  # x to Jain; then words
    return html_table(header, rows, numeric)


def coverage_text(aggregate):
    """'93.8 % (n=5)': the coverage of an aggregate's median interval."""
    _, _, coverage = median_interval(aggregate)
    n = aggregate.get("n")
    return (NOT_RECORDED if coverage is None else percent(coverage)) + (
        f" (n={n})" if n is not None else "")


def latency_text(cell, name):
    aggregate = cell["aggregates"].get(name)
    if not isinstance(aggregate, dict):
        return "not timed"
    return median_text(aggregate, MICROSECONDS) + value_marks(cell, name)


def best_peer_text(group, line, x, cell):
    """This cell's `throughput_vs_peers` ratio to the peer with the highest
    median throughput at the same x of the group."""
    if line.peer:
        return "–"
    peers = [other.cells[x] for other in group.lines.values() if other.peer and x in other.cells]
    if not peers:
        return "no peer at this point"
    best = max(peers, key=throughput)["parameters"]["strategy"]
    entry = (cell.get("throughput_vs_peers") or {}).get(best)
    if not isinstance(entry, dict) or not _is_number(entry.get("ratio")):
        return f"{NOT_RECORDED} (best peer {best})"
    coverage = entry.get("ci_coverage")
    return (f"{ratio_text(entry['ratio'], entry.get('ci_low'), entry.get('ci_high'))} vs {best}"
            + (f", coverage {percent(coverage)}" if _is_number(coverage) else ""))


def figure_html(group, suffix, figure):
    """A figure as an <img> with a PNG data URI, named as plot.py -o names its file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    png = buffer.getvalue()
    width, height = struct.unpack(">II", png[16:24])  # the IHDR chunk, first in every PNG
    data = base64.b64encode(png).decode("ascii")
    name = f"{group.slug()}_{suffix}"
    return (f'<figure id="figure-{escape(name)}">'
            f'<img src="data:image/png;base64,{data}" width="{width}" height="{height}" '
            f'alt="{escape(suffix)}: {escape(group.describe())}" data-figure="{escape(name)}">'
            f"<figcaption>{escape(name)}.png</figcaption></figure>")


# ---------------------------------------------------------------- context


def emulator_text(report):
    ctx = report.context
    if "emulator" in ctx and ctx["emulator"] is None:  # the key says: native
        return "none (a native run)"
    return recorded(ctx.get("emulator"))


def command_line_text(report):
    command = (report.data.get("run") or {}).get("command_line")
    if isinstance(command, list) and command:
        return shlex.join(map(str, command))
    return NOT_RECORDED


def steal_text(report):
    start, end = (report.context.get(k) for k in ("steal_ticks_at_start", "steal_ticks_at_end"))
    text = f"{recorded(start)} at the start, {recorded(end)} at the end"
    return text + (f" ({end - start:g} during the run)"
                   if _is_number(start) and _is_number(end) else "")


# (label, what): `what` is a path into the report's JSON, (object, key, ...),
# or a function of the report for a value made of several entries.
MACHINE_FIELDS = (
    ("host", ("context", "host")), ("platform", ("context", "platform")),
    ("architecture", ("context", "machine")), ("emulator", emulator_text),
    ("CPU model", ("context", "cpu_model")),
    ("CPUs online", ("context", "cpus_online")), ("CPUs allowed", ("context", "cpus_allowed")),
    ("kernel", ("context", "kernel")), ("hypervisor", ("context", "details", "hypervisor")),
    ("CPU vendor", ("context", "details", "vendor")),
    ("CPU family", ("context", "details", "family")),
    ("CPU model number", ("context", "details", "model")),
    ("CPU stepping", ("context", "details", "stepping")),
    ("microcode", ("context", "details", "microcode")), ("MHz", ("context", "details", "mhz")),
    ("governor", ("context", "details", "governor")), ("turbo", ("context", "details", "turbo")),
    ("SMT active", ("context", "details", "smt_active")),
    ("caches", ("context", "details", "caches")),
    ("clocksource", ("context", "details", "clocksource")),
    ("kernel command line", ("context", "details", "kernel_cmdline")),
    ("libc", ("context", "details", "libc")),
    ("loop backend", ("context", "loop_backend")), ("io_uring", ("context", "io_uring")),
    ("IOCP", ("context", "iocp")),
    ("load average at the start (1, 5, 15 min)", ("context", "load_average")),
    ("load average at the end", ("context", "load_average_at_end")),
    ("hypervisor steal ticks", steal_text),
    ("clock read, ns", ("context", "timer_cost_ns")),
    ("busy-work iteration, ns (start)", ("context", "burn_ns_per_iteration")),
    ("busy-work iteration, ns (end)", ("context", "burn_ns_per_iteration_at_end")),
)
BUILD_FIELDS = (
    ("commit", ("context", "csync_git_sha")), ("tree", lambda report: tree_state(report.context)),
    ("compiler", ("context", "compiler")), ("C++ flags", ("context", "cxx_flags")),
    ("build type", ("context", "build_type")), ("C++ library", ("context", "libstdcxx")),
    ("liburing", ("context", "liburing")), ("executable", ("context", "details", "executable")),
    ("executable hash (FNV-1a 64)", ("context", "details", "executable_hash")),
)
RUN_FIELDS = (
    ("command line", command_line_text),
    ("started (UTC)", ("context", "date")), ("last written (UTC)", ("context", "date_end")),
    ("seed", ("run", "seed")), ("--reference run", ("run", "reference")),
    ("--max-load", ("run", "max_load")), ("--quick", ("run", "quick")),
    ("--smoke", ("run", "smoke")), ("--repetitions", ("run", "repetitions_override")),
    ("strategies filter", ("run", "strategies_filter")), ("cells in the run", ("run", "cells")),
    ("complete", ("run", "complete")),
)
# Context entries the functions above read: not repeated under "other".
READ_BY_FUNCTIONS = {"emulator", "csync_git_dirty", "steal_ticks_at_start",
                     "steal_ticks_at_end", "details"}


def lookup(data, path):
    """The value at `path` in the report's JSON, None where any step is missing."""
    value = data
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def field_rows(report, fields):
    return [[label, what(report) if callable(what) else recorded(lookup(report.data, what))]
            for label, what in fields]


def context_section(report):
    parts = ['<h2 id="context">Context</h2>',
             f"<p>From the report's <code>context</code> and <code>run</code> "
             f"(docs/report-format.md); {NOT_RECORDED} where the report has no value.</p>"]
    for title, fields in (("Machine", MACHINE_FIELDS), ("Build", BUILD_FIELDS),
                          ("Run", RUN_FIELDS)):
        parts += [f"<h3>{title}</h3>", html_table(["", ""], field_rows(report, fields),
                                                  css_class="context")]
    other = other_context_rows(report)
    if other:
        parts += ["<h3>Other context entries</h3>",
                  html_table(["", ""], other, css_class="context")]
    return "\n".join(parts)


def other_context_rows(report):
    """Context (and context.details) entries the tables above do not show, so
    that the page leaves out nothing the report recorded."""
    shown = {what[1:] for fields in (MACHINE_FIELDS, BUILD_FIELDS) for _, what in fields
             if isinstance(what, tuple) and what[0] == "context"}
    rows = [[key, recorded(value)] for key, value in report.context.items()
            if (key,) not in shown and key not in READ_BY_FUNCTIONS]
    details = report.context.get("details")
    if isinstance(details, dict):
        rows += [[f"details.{key}", recorded(value)] for key, value in details.items()
                 if ("details", key) not in shown]
    return rows


def scenario_section(report):
    scenario = report.data["scenario"]
    rows = [["name", recorded(scenario.get("name"))],
            ["description", recorded(scenario.get("description"))],
            ["file", recorded(scenario.get("path"))],
            ["hash (FNV-1a 64 of the text)", recorded(scenario.get("hash"))]]
    text = scenario.get("text")
    shown = (f"<pre>{escape(text)}</pre>" if isinstance(text, str) else
             f"<p>The scenario text is {NOT_RECORDED} in this report.</p>")
    return "\n".join(['<h2 id="scenario">Scenario</h2>',
                      html_table(["", ""], rows, css_class="context"), shown])
