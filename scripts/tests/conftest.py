"""Shared test setup: the csync_report package on sys.path, golden files, CLI runner."""

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent
GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(SCRIPTS))


@pytest.fixture
def golden():
    """Path of a file under scripts/tests/golden/."""
    return lambda name: GOLDEN_DIR / name


@pytest.fixture
def run_script():
    """Run scripts/<name> with this interpreter; returns the CompletedProcess."""
    def run(name, *args):
        return subprocess.run([sys.executable, str(SCRIPTS / name), *map(str, args)],
                              capture_output=True, text=True, timeout=120, check=False)
    return run
