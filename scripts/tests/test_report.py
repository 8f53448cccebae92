"""Loading and validation: a file that is not a report fails with a message
naming the file and what is wrong."""

import json

import pytest

from csync_report import ReportError, load_report
from csync_report.report import cell_id, is_peer, short_cpu_model, x_parameter


def error_for(path):
    with pytest.raises(ReportError) as info:
        load_report(path)
    message = str(info.value)
    assert str(path) in message
    return message


def write_variant(tmp_path, golden, change):
    """A copy of the sweep report with `change(data)` applied."""
    data = json.loads(golden("sweep-5reps.json").read_text())
    change(data)
    path = tmp_path / "variant.json"
    path.write_text(json.dumps(data))
    return path


def test_loads_golden_report(golden):
    report = load_report(golden("sweep-5reps.json"))
    assert report.scenario_name == "tiny-sweep"
    assert report.host == "golden-a"
    assert len(report.cells) == 15
    assert [c["status"] for c in report.not_ok_cells()] == ["failed", "unavailable"]
    assert "tiny-sweep" in report.describe() and "Intel Xeon Gold 6148" in report.describe()


def test_not_json(golden):
    assert "not JSON" in error_for(golden("not-json.txt"))


def test_google_benchmark_output(golden):
    message = error_for(golden("gbench.json"))
    assert "not a csync-bench report" in message
    assert "looks like Google Benchmark output" in message


def test_missing_file(tmp_path):
    assert "cannot read" in error_for(tmp_path / "missing.json")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.json"
    path.write_text("\n")
    assert "not JSON: the file is empty" in error_for(path)


def test_top_level_array(tmp_path):
    path = tmp_path / "array.json"
    path.write_text("[1, 2]")
    assert "expected a JSON object, got an array" in error_for(path)


def test_missing_tool(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.pop("tool"))
    assert 'no "tool" key, expected "tool": "csync-bench"' in error_for(path)


def test_other_tool(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.update(tool="other-bench"))
    assert "tool is 'other-bench'" in error_for(path)


def test_unsupported_schema_version(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.update(schema_version=2))
    message = error_for(path)
    assert "unsupported schema_version 2" in message and "read 1" in message


def test_missing_results(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d.pop("results"))
    assert "$.results: required" in error_for(path)


def test_ok_cell_without_aggregates(tmp_path, golden):
    path = write_variant(tmp_path, golden, lambda d: d["results"][3].pop("aggregates"))
    assert "$.results[3].aggregates: required" in error_for(path)


def test_bad_histogram(tmp_path, golden):
    def change(data):
        data["results"][0]["acquire_latency_histogram_ns"] = [[1, 2, 3]]
    message = error_for(write_variant(tmp_path, golden, change))
    assert "$.results[0].acquire_latency_histogram_ns" in message


def test_not_ok_cells_need_no_measurements(golden):
    report = load_report(golden("sweep-5reps.json"))
    failed = report.not_ok_cells()[0]
    assert "aggregates" not in failed and failed["reason"]


def test_helpers():
    assert not is_peer("futex") and not is_peer("iocp")
    assert is_peer("std_mutex_condvar") and is_peer("some_new_peer")
    assert cell_id({"key": "k", "name": "n"}) == "k"
    assert cell_id({"name": "n"}) == "n"
    assert x_parameter({"parameters": {"waiters": "coroutines"}}) == "tasks"
    assert x_parameter({"parameters": {"waiters": "threads"}}) == "threads"
    assert short_cpu_model("Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz") == "Intel Xeon Gold 6148"
    assert short_cpu_model("AMD EPYC 7B13 64-Core Processor") == "AMD EPYC 7B13"
    assert short_cpu_model(None) == "unknown CPU"
