"""Shared test setup: the csync_report package on sys.path, golden files, CLI runner."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture(scope="session")
def golden():
    """Path of a file under scripts/tests/golden/."""
    return lambda name: GOLDEN_DIR / name


@pytest.fixture(scope="session")
def run_script():
    """Run scripts/<name> with this interpreter; returns the CompletedProcess."""
    def run(name, *args):
        return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                              capture_output=True, text=True, timeout=120, check=False)
    return run


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "chromium: loads a page in headless Chromium (Debian's chromium); skipped, "
                   "with the reason printed, where it is not installed")


def pytest_terminal_summary(terminalreporter):
    """Print why tests were skipped even without -rs: a skip (chromium not
    installed) must be seen, not mistaken for a pass."""
    reasons = sorted({report.longrepr[2] for report in terminalreporter.stats.get("skipped", ())
                      if isinstance(report.longrepr, tuple)})
    for reason in reasons:
        terminalreporter.write_line(f"SKIPPED: {reason.removeprefix('Skipped: ')}")
