"""page: `plot.py REPORT --html OUT.html`, one self-contained page per report.

The structure is read back with html.parser (what a browser would show:
text unescaped, tables as rows), not by matching markup. The tests marked
`chromium` load the page in headless Chromium (about 2 s a load): the page
renders (a screenshot that is not blank and shows the figures' colours) and
logs nothing to the console; a copy with a probe script appended says how
many images decoded and which resources the page fetched (Chromium logs
script errors and console messages to stderr, but not failed loads: those
the probe's resource list and the static check, assert_self_contained,
catch). A copy with a deliberate script error, a broken figure and an
external stylesheet shows that these checks fail when they should.
"""

import base64
import io
import json
import re
import shlex
import shutil
import subprocess
from collections import Counter, defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest
from matplotlib import image

from csync_report import load_report
from csync_report.docs import sig
from csync_report.page import (
    BUILD_FIELDS, MACHINE_FIELDS, NOT_RECORDED, RUN_FIELDS, Progress, build_page, current_umask,
    lookup, write_page)
from csync_report.report import LEGACY_NOTE, percent

REPOSITORY = Path(__file__).resolve().parents[2]
QUICK = REPOSITORY / "results" / "quick-dev-2vcpu-2026-12-03.json"
QUICK_GROUPS = {
    "semaphore_coroutines_cs-100_hold-yield_loops-1_permits-1_pin-none_think-200_weight-1":
        "ccdf-tasks-8",
    "semaphore_coroutines_cs-100_hold-yield_loops-2_permits-1_pin-none_think-200_weight-1":
        "ccdf-tasks-8",
    "semaphore_threads_cs-100_permits-1_pin-none_think-200_weight-1": "ccdf-threads-4",
}
SWEEP_GROUPS = {  # as test_plot.py: the golden sweep's groups and their CCDFs
    "broadcast_threads_cs-100_permits-1_pin-none_think-200_weight-1": "ccdf-threads-4",
    "semaphore_coroutines_arrival-poisson_rate-100000_cs-100_hold-yield_loops-2_permits-1"
    "_pin-none_think-200_weight-1": "ccdf-tasks-64",
    "semaphore_threads_cs-100_permits-1_pin-none_think-200_weight-1": "ccdf-threads-4",
}
IOCP_REASON = "I/O completion ports are a Windows API; this is not a Windows build"


def figure_names(groups):
    """The figures plot.py -o writes for these groups (file names without the format)."""
    return {f"{slug}_{figure}" for slug, ccdf in groups.items()
            for figure in ("throughput", "latency", ccdf, "fairness", "cpu-switches")}


class PageParser(HTMLParser):
    """What the tests read from a page: tag counts, every start tag's attributes,
    tables (rows of cell texts, the header row first) and the texts of some
    elements, as a browser shows them (character references resolved)."""

    COLLECTED = ("title", "h1", "h3", "pre", "li", "td", "th", "dt", "figcaption")

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.tags = Counter()
        self.attributes = []  # (tag, {name: value})
        self.tables = []
        self.texts = defaultdict(list)
        self._open = []  # (tag, [text chunks]) of the collected elements open now
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attributes.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in self.COLLECTED:
            self._open.append((tag, []))

    def handle_endtag(self, tag):
        if not self._open or self._open[-1][0] != tag:
            return
        _, chunks = self._open.pop()
        text = "".join(chunks)
        if tag in ("td", "th"):
            self.tables[-1][-1].append(text)
        else:
            self.texts[tag].append(text)
        if self._open:  # a nested element's text is its parent's too
            self._open[-1][1].append(text)

    def handle_data(self, data):
        if self._open:
            self._open[-1][1].append(data)

    def images(self):
        return [attrs for tag, attrs in self.attributes if tag == "img"]

    def summary_tables(self):
        return [table for table in self.tables if table and table[0][0] == "strategy"]

    def context_rows(self):
        """{label: value} of the two-column tables (context and scenario)."""
        return {label: value for table in self.tables if table and table[0] == ["", ""]
                for label, value in table[1:]}


@pytest.fixture(scope="module")
def quick_page(run_script, tmp_path_factory):
    """The page of a committed report, made by the command line: (path, result, parsed)."""
    out = tmp_path_factory.mktemp("quick") / "quick.html"
    result = run_script("plot.py", QUICK, "--html", out)
    assert result.returncode == 0, result.stderr
    return out, result, PageParser(out.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def sweep_page(golden):
    """The golden sweep's page (failed, unavailable, starved, flagged, open-loop
    cells; no scenario text, end date or command line): (Page, parsed)."""
    page = build_page(load_report(golden("sweep-5reps.json")))
    return page, PageParser(page.text)


def assert_self_contained(text, parsed):
    """No reference to anything outside the file, and nothing to run."""
    assert parsed.tags["script"] == 0 and parsed.tags["link"] == 0
    assert parsed.tags["iframe"] == 0 and parsed.tags["object"] == 0
    assert 'src="http' not in text and "<link" not in text and "<script" not in text
    assert "url(" not in text and "@import" not in text
    for tag, attrs in parsed.attributes:
        if "src" in attrs:
            assert attrs["src"].startswith("data:image/png;base64,"), tag
        if "href" in attrs:
            assert attrs["href"].startswith("#"), attrs["href"]  # links within the page


def test_page_of_a_committed_report(quick_page):
    out, result, parsed = quick_page
    report = load_report(QUICK)
    ctx, run = report.context, report.data["run"]
    assert f"wrote {out} (15 figures embedded" in result.stdout
    # Quiet: at most the progress lines a slow machine prints.
    assert all(line.startswith("plot.py: figures of") for line in result.stderr.splitlines())
    assert parsed.texts["h1"] == ["csync-bench report: quick"]
    assert parsed.texts["title"] == [f"csync-bench report: quick ({QUICK.name})"]
    rows = parsed.context_rows()
    assert rows["host"] == "vm" and rows["CPU model"] == "Intel(R) Xeon(R) Processor"
    assert rows["kernel"] == ctx["kernel"] and rows["CPUs allowed"] == "2"
    assert rows["load average at the start (1, 5, 15 min)"] == "0.483398, 1.20312, 2.54248"
    assert rows["hypervisor steal ticks"] == "10395 at the start, 12015 at the end (1620 during " \
                                             "the run)"
    assert rows["commit"] == ctx["csync_git_sha"] and rows["tree"] == "clean tree"
    assert rows["compiler"] == "g++ 12.2.0" and rows["C++ flags"] == ctx["cxx_flags"]
    assert rows["build type"] == "Release" and rows["executable hash (FNV-1a 64)"] == \
        ctx["details"]["executable_hash"]
    assert rows["command line"] == shlex.join(run["command_line"])
    assert rows["started (UTC)"] == ctx["date"] and rows["last written (UTC)"] == ctx["date_end"]
    assert rows["--reference run"] == "yes" and rows["complete"] == "yes"
    assert rows["emulator"] == "none (a native run)"
    assert parsed.texts["pre"] == [report.data["scenario"]["text"]]
    assert_self_contained(out.read_text(encoding="utf-8"), parsed)


def test_page_has_a_table_and_the_figures_of_every_group(quick_page):
    _, _, parsed = quick_page
    tables = parsed.summary_tables()
    assert len(tables) == len(QUICK_GROUPS)
    assert sorted(len(table) - 1 for table in tables) == [6, 6, 27]  # one row per ok cell
    threads = next(table for table in tables if table[0][1] == "threads")
    assert threads[0] == ["strategy", "threads", "throughput, M ops/s", "coverage",
                          "acquire p99, µs", "Jain", "starved", "vs best peer"]
    images = parsed.images()
    assert {img["data-figure"] for img in images} == figure_names(QUICK_GROUPS)
    assert len(images) == 15 == len(parsed.texts["figcaption"])


def test_the_ratio_is_to_the_best_peer(quick_page):
    """intrusive_list at 4 threads: the report's ratio to the peer with the
    highest median throughput there, with its interval and coverage."""
    _, _, parsed = quick_page
    report = load_report(QUICK)
    here = [cell for cell in report.ok_cells() if cell["parameters"]["waiters"] == "threads"
            and cell["parameters"]["threads"] == 4]
    best = max((cell for cell in here if cell["is_peer"]),
               key=lambda cell: cell["aggregates"]["throughput"]["median"])
    peer = best["parameters"]["strategy"]
    cell = next(c for c in here if c["parameters"]["strategy"] == "intrusive_list")
    entry = cell["throughput_vs_peers"][peer]
    throughput = cell["aggregates"]["throughput"]
    threads = next(table for table in parsed.summary_tables() if table[0][1] == "threads")
    row = next(row for row in threads if row[:2] == ["intrusive_list", "4"])
    assert row[2] == (f"{sig(throughput['median'] / 1e6)} [{sig(throughput['ci_low'] / 1e6)}, "
                      f"{sig(throughput['ci_high'] / 1e6)}]")
    assert row[3] == f"{percent(throughput['ci_coverage'])} (n={throughput['n']})"
    assert row[-1] == (f"{sig(entry['ratio'])} [{sig(entry['ci_low'])}, {sig(entry['ci_high'])}]"
                       f" vs {peer}, coverage {percent(entry['ci_coverage'])}")
    peer_row = next(row for row in threads if row[0] == f"{peer} (peer)" and row[1] == "4")
    assert peer_row[-1] == "–"


def test_unavailable_strategy_is_summarised_once(quick_page):
    out, _, parsed = quick_page
    text = out.read_text(encoding="utf-8")
    summary = f"iocp: unavailable in 5 cells: {IOCP_REASON}"
    assert parsed.texts["li"].count(summary) == 1
    assert "semaphore/iocp/" not in text  # no cell of it one by one


def test_flags_of_failed_unavailable_starved_and_flagged_cells(sweep_page):
    page, parsed = sweep_page
    items = parsed.texts["li"]
    assert "uring_futex: unavailable in 1 cell: unavailable: io_uring futex not supported" in items
    assert ("semaphore/std_counting_semaphore/threads/threads:4: failed: 1 workers were still "
            "blocked long after the stop: a lost wake-up") in items
    assert ("semaphore/std_mutex_condvar/threads/threads:4: starved in 5 of 5 repetitions (up to "
            "2 of 4 workers); longest stall of a worker 100 ms") in items
    assert ("semaphore/intrusive_list/threads/threads:4: latency recording cost > 2 % (median "
            "4.87 %, interval 4.86 % to 4.91 %, coverage 93.8 %): its latencies are flagged"
            ) in items
    assert any(item.startswith("latency recording cost unresolved in 1 cell") and
               item.endswith(": semaphore/futex/threads/threads:2") for item in items)
    assert ("latencies measured closed-loop in 13 ok cells, open-loop in 4 ok cells "
            "(measurement.latency_loop)") in items
    assert any(item.startswith("verdicts of the 17 ok cells (harness_overhead.verdict): "
                               "within limit 11, not applicable 4, unresolved 1, above limit 1")
               for item in items)
    assert parsed.texts["dt"] == ["The run", "Latency loop", "Harness overhead",
                                  "Starved workers", "Cells not measured"]
    threads = next(t for t in parsed.summary_tables() if t[0][1] == "threads" and len(t) == 10)
    flagged = next(row for row in threads if row[:2] == ["intrusive_list", "4"])
    assert flagged[4].endswith("(overhead above limit)")
    starved = next(row for row in threads if row[:2] == ["std_mutex_condvar (peer)", "4"])
    assert starved[6] == "starved in 5 of 5 repetitions (up to 2 of 4 workers)"
    assert {img["data-figure"] for img in parsed.images()} == figure_names(SWEEP_GROUPS)
    assert page.figures == 15
    assert_self_contained(page.text, parsed)


def test_what_the_report_lacks_is_not_recorded(golden, sweep_page):
    """Every context field the golden report lacks says so, and nothing is made up."""
    page, parsed = sweep_page
    data = json.loads(golden("sweep-5reps.json").read_text())
    rows = parsed.context_rows()
    for label, what in (*MACHINE_FIELDS, *BUILD_FIELDS, *RUN_FIELDS):
        if isinstance(what, tuple) and lookup(data, what) is None:
            assert rows[label] == NOT_RECORDED, label
    assert rows["command line"] == NOT_RECORDED and rows["last written (UTC)"] == NOT_RECORDED
    assert rows["tree"] == "tree state not recorded"
    assert "whether the build's tree was clean is not recorded" in parsed.texts["li"]
    assert parsed.texts["pre"] == [] and "The scenario text is not recorded" in page.text


def test_schema_1_page_says_what_the_old_instrument_lacked(golden):
    """No starved count, no interval coverage: "not recorded", not "no" or a number."""
    page = build_page(load_report(golden("schema1-mixed.json")))
    parsed = PageParser(page.text)
    assert LEGACY_NOTE in parsed.texts["li"]
    assert "not recorded in 5 ok cells (no repetition counted starved workers)" in \
        parsed.texts["li"]
    rows = [row for table in parsed.summary_tables() for row in table[1:]]
    assert len(rows) == 5
    for row in rows:
        assert row[2].endswith("(no interval)") and row[3].startswith(NOT_RECORDED)
        assert row[-2] == NOT_RECORDED  # starved
    assert page.figures == 10  # as test_plot.py: 4 figures and a CCDF per group


def test_text_from_the_report_is_escaped(golden, tmp_path):
    data = json.loads(golden("pingpong-baseline.json").read_text())
    hostile = {
        "name": '<script>alert("name")</script>',
        "description": "A & B <b>bold</b>",
        "text": "</pre><script>alert('text')</script>",
        "host": "<img src=x onerror=alert(1)>",
        "compiler": 'g++ "quoted" <12>',
        "reason": 'needs <iocp> & "windows"',
    }
    data["scenario"].update(name=hostile["name"], description=hostile["description"],
                            text=hostile["text"])
    data["context"].update(host=hostile["host"], compiler=hostile["compiler"])
    data["results"][-1].update(status="unavailable", reason=hostile["reason"])
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(data))
    page = build_page(load_report(path))
    parsed = PageParser(page.text)
    for raw in ("<script", "<img src=x", "<b>", "<iocp>", "<12>"):
        assert raw not in page.text
    assert parsed.texts["h1"] == [f"csync-bench report: {hostile['name']}"]
    assert parsed.texts["pre"] == [hostile["text"]]
    rows = parsed.context_rows()
    assert rows["host"] == hostile["host"] and rows["compiler"] == hostile["compiler"]
    assert rows["description"] == hostile["description"]
    strategy = data["results"][-1]["parameters"]["strategy"]
    assert f"{strategy}: unavailable in 1 cell: {hostile['reason']}" in parsed.texts["li"]
    assert_self_contained(page.text, parsed)


def test_missing_or_invalid_report_is_one_line_and_writes_nothing(run_script, golden, tmp_path):
    out = tmp_path / "page.html"
    missing = run_script("plot.py", tmp_path / "no-such.json", "--html", out)
    assert missing.returncode == 2 and not out.exists()
    assert missing.stderr.count("\n") == 1
    assert "no-such.json: cannot read" in missing.stderr
    out.write_text("old page")
    invalid = run_script("plot.py", golden("not-json.txt"), "--html", out)
    assert invalid.returncode == 2 and invalid.stderr.count("\n") == 1
    assert "not-json.txt" in invalid.stderr and "not JSON" in invalid.stderr
    assert out.read_text() == "old page" and sorted(tmp_path.iterdir()) == [out]


def test_html_arguments(run_script, golden, tmp_path):
    two = run_script("plot.py", golden("pingpong-baseline.json"),
                     golden("pingpong-candidate.json"), "--html", tmp_path / "p.html")
    assert two.returncode == 2 and "--html makes the page of one report" in two.stderr
    neither = run_script("plot.py", golden("pingpong-baseline.json"))
    assert neither.returncode == 2 and "--html" in neither.stderr and "-o" in neither.stderr
    help_text = run_script("plot.py", "--help")
    assert help_text.returncode == 0 and "--html OUT.html" in help_text.stdout
    assert list(tmp_path.iterdir()) == []


def test_unwritable_page_fails_and_leaves_no_temporary(run_script, golden, tmp_path):
    taken = tmp_path / "page.html"
    taken.mkdir()  # a directory where the page should go: the rename fails
    result = run_script("plot.py", golden("pingpong-baseline.json"), "--html", taken)
    assert result.returncode == 1
    assert f"plot.py: error: cannot write {taken}:" in result.stderr
    assert list(tmp_path.iterdir()) == [taken] and list(taken.iterdir()) == []


def test_write_page_is_atomic(tmp_path, monkeypatch):
    out = tmp_path / "sub" / "page.html"
    write_page(out, "first")  # creates the directory
    assert out.read_text() == "first"
    assert out.stat().st_mode & 0o777 == 0o666 & ~current_umask()  # not mkstemp's 0600

    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("csync_report.page.os.replace", full_disk)
    with pytest.raises(OSError):
        write_page(out, "second")
    assert out.read_text() == "first" and list(out.parent.iterdir()) == [out]


def test_progress_is_quiet_for_short_work():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(stream, delay=5.0, clock=lambda: now[0])
    now[0] = 4.9
    progress(1, 3)
    assert stream.getvalue() == ""
    now[0] = 5.0
    progress(2, 3)
    assert stream.getvalue() == "plot.py: figures of 2 of 3 groups drawn\n"


def test_embedded_figures_decode_to_non_blank_images(quick_page):
    _, _, parsed = quick_page
    for img in parsed.images():
        pixels = decoded_png(img["src"])
        assert pixels.shape[:2] == (int(img["height"]), int(img["width"])), img["data-figure"]
        assert non_white_fraction(pixels) > 0.02, img["data-figure"]


def decoded_png(data_uri):
    """The RGB(A) pixels, 0..1, of a data:image/png;base64 URI."""
    payload = data_uri.removeprefix("data:image/png;base64,")
    return image.imread(io.BytesIO(base64.b64decode(payload, validate=True)), format="png")


def non_white_fraction(pixels):
    rgb = pixels[..., :3]
    return float((rgb.min(axis=-1) < 0.9).mean())


def coloured_pixels(pixels):
    """Pixels of a saturated colour: the page's own style is greys only, so
    these are the figures' lines and markers."""
    rgb = pixels[..., :3]
    return int(((rgb.max(axis=-1) - rgb.min(axis=-1)) > 0.3).sum())


# ------------------------------------------------------------ headless Chromium

# Any console line means trouble: the page has no script, so a message is a
# resource that failed to load, something refused, or a script that should
# not be there. Only the probe's own line is expected (PROBE).
CONSOLE_LINE = re.compile(r':CONSOLE[^\]]*\] "(?P<message>.*)", source: ')
PROBE_PREFIX = "csync-probe: "
# Resource Timing lists every fetch over the network, failed ones too (not
# data: URIs, nor file:// ones: a missing local image shows as not decoded).
PROBE = """<script>
window.addEventListener("load", () => {
  const images = Array.from(document.images);
  const decoded = images.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  const fetched = performance.getEntriesByType("resource").map(entry => entry.name);
  console.log(`csync-probe: ${decoded.length} of ${images.length} images decoded; ` +
              `fetched: ${fetched.join(", ") || "nothing"}`);
});
</script>"""


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("chromium not installed: run scripts/install-deps.sh")
    return path


def load_in_chromium(chromium, page, workdir):
    """Open `page` in headless Chromium, as a file:// URL, window 1200x3000:
    (console messages, screenshot pixels)."""
    shot = workdir / f"{page.stem}.png"
    command = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               "--no-first-run", "--disable-background-networking",
               f"--user-data-dir={workdir / 'profile'}",  # parallel runs: one profile each
               "--enable-logging=stderr", "--v=0", "--window-size=1200,3000",
               f"--screenshot={shot}", page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 0 and shot.exists(), result.stderr[-2000:]
    messages = [m["message"] for m in map(CONSOLE_LINE.search, result.stderr.splitlines()) if m]
    return messages, image.imread(shot)


def probed_copy(page, workdir, change=lambda text: text):
    """A copy of the page with the probe script before </body> (after `change`)."""
    copy = workdir / f"probed-{page.name}"
    text = change(page.read_text(encoding="utf-8"))
    copy.write_text(text.replace("</body>", PROBE + "\n</body>", 1), encoding="utf-8")
    return copy


@pytest.mark.chromium
def test_page_renders_in_chromium(chromium, quick_page, tmp_path):
    out, _, _ = quick_page
    messages, pixels = load_in_chromium(chromium, out, tmp_path)
    assert messages == []
    assert pixels.shape[:2] == (3000, 1200)
    assert non_white_fraction(pixels) > 0.02  # text, tables and figures: not a blank page
    assert coloured_pixels(pixels) > 2000  # the first figures are in the window


@pytest.mark.chromium
def test_every_figure_decodes_in_chromium(chromium, quick_page, tmp_path):
    out, _, _ = quick_page
    messages, _ = load_in_chromium(chromium, probed_copy(out, tmp_path), tmp_path)
    assert messages == [f"{PROBE_PREFIX}15 of 15 images decoded; fetched: nothing"]


@pytest.mark.chromium
def test_chromium_check_catches_a_script_error_and_a_broken_figure(chromium, quick_page,
                                                                   tmp_path):
    """The checks above can fail: a copy with a script error, one figure's PNG
    replaced by bytes that are no image, and a stylesheet from the network."""
    out, _, _ = quick_page
    stylesheet = "https://example.invalid/style.css"  # .invalid: never resolves

    def break_page(text):
        text = re.sub(r'src="data:image/png;base64,[^"]*"',
                      f'src="data:image/png;base64,{base64.b64encode(b"no png").decode()}"',
                      text, count=1)
        text = text.replace("</head>", f'<link rel="stylesheet" href="{stylesheet}">\n</head>')
        return text.replace("</body>", "<script>undefinedFunction();</script>\n</body>", 1)

    messages, _ = load_in_chromium(chromium, probed_copy(out, tmp_path, break_page), tmp_path)
    assert any("Uncaught ReferenceError: undefinedFunction is not defined" in m
               for m in messages), messages
    assert f"{PROBE_PREFIX}14 of 15 images decoded; fetched: {stylesheet}" in messages
