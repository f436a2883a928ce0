"""The benchmark entry point runs and writes its report (no timing assertions: figures are measured,
not tested)."""

from __future__ import annotations

import json

import pytest

from bench import report
from bench.__main__ import main
from bench.common import Result, percentile, upper_bound


def _smoke(tmp_path, figures: str) -> dict:
    assert main(["--smoke", "--only", figures, "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    assert all(row["verdict"] != "error" for row in payload["results"]), payload["results"]
    table = (tmp_path / "results.md").read_text()
    assert "| figure | measured | value | target | verdict |" in table
    return payload


def test_smoke_run_of_one_figure_writes_the_report(tmp_path):
    # Search quality: the cheapest figure that still goes through a sandbox process, the MCP client and the
    # report (one process to start); the transports' figure is in the heavy run below.
    payload = _smoke(tmp_path, "6")
    assert {row["figure"] for row in payload["results"]} == {"6. Search quality"}


@pytest.mark.heavy
def test_smoke_run_of_the_call_overhead_figure_over_both_transports(tmp_path):
    payload = _smoke(tmp_path, "3")
    assert {row["figure"] for row in payload["results"]} == {"3. Call overhead"}


def test_missed_targets_show_the_gap_and_do_not_fail():
    missed = upper_bound("x", 3.0, 2.0, "ms", "3. Call overhead")
    assert missed.verdict == "MISS" and "1.5x" in missed.gap
    assert upper_bound("x", 1.0, 2.0, "ms", "f").verdict == "pass"
    row = report.markdown([missed, Result("f", "skipped", None, "", "t", "skip")], _meta())
    assert "**MISS** (1.5x the target" in row and "| - | t | skip |" in row


def test_plot_without_data_is_skipped_with_a_reason(tmp_path):
    assert report.plot({}, tmp_path / "p.png") == "no listing data"


def test_percentile_nearest_rank():
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0


def _meta():
    return {"started": "now", "machine": "m", "python": "3", "duration_s": 1.0, "smoke": True}
