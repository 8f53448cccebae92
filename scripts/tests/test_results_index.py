"""scripts/results_index.py: the index of reference runs in results/README.md."""
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "results_index.py"
spec = importlib.util.spec_from_file_location("results_index", SCRIPT)
results_index = importlib.util.module_from_spec(spec)
spec.loader.exec_module(results_index)


def write_report(path, dirty, complete, reference):
    path.write_text(json.dumps({
        "schema_version": 2, "tool": "csync-bench",
        "context": {"csync_git_sha": "0123456789abcdef", "csync_git_dirty": dirty,
                    "date": "2026-12-03T10:00:00Z", "date_end": "2026-12-03T10:05:00Z",
                    "load_average": [0.25, 0.5, 0.75]},
        "scenario": {"name": "quick"},
        "run": {"complete": complete, "reference": reference},
        "results": [{"status": "ok"}, {"status": "unavailable"}, {"status": "ok"}]}))


def test_a_row_says_where_a_report_came_from(tmp_path, capsys):
    clean = tmp_path / "quick-clean.json"
    dirty = tmp_path / "quick-dirty.json"
    write_report(clean, False, True, True)
    write_report(dirty, True, False, False)
    assert results_index.main([str(clean), str(dirty)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("| report | scenario | cells ok")
    assert len(lines) == 4
    assert ("| `quick-clean.json` | `quick` | 2 of 3 | 0123456789ab (clean) "
            "| 2026-12-03T10:00:00Z to 2026-12-03T10:05:00Z | 0.25 | yes | yes |") == lines[2]
    assert "(dirty)" in lines[3] and lines[3].endswith("| no | no |")


def test_no_report_is_a_usage_error(capsys):
    assert results_index.main([]) == 2
    assert "results_index.py" in capsys.readouterr().err
