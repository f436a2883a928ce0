"""The benchmark entry point runs and writes its report (no timing assertions: figures are measured,
not tested)."""

from __future__ import annotations

import json

from bench import report
from bench.__main__ import main
from bench.common import Result, percentile, upper_bound


def test_smoke_run_of_two_figures_writes_the_report(tmp_path):
    # Call overhead (two transports, subprocesses) and search quality: the cheapest figures that still
    # go through the sandbox, both transports and the report; the full smoke is `python -m bench --smoke`.
    assert main(["--smoke", "--only", "3,6", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "results.json").read_text())
    figures = {row["figure"] for row in payload["results"]}
    assert {"3. Call overhead", "6. Search quality"} <= figures
    assert all(row["verdict"] != "error" for row in payload["results"]), payload["results"]
    table = (tmp_path / "results.md").read_text()
    assert "| figure | measured | value | target | verdict |" in table


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
