"""The throughput-vs-workers figure runs (no timing asserted: figures are measured, not tested)."""

from __future__ import annotations

import json

import pytest

from bench.__main__ import main


@pytest.mark.heavy
@pytest.mark.timeout(300)
def test_smoke_run_of_the_workers_figure(tmp_path):
    assert main(["--smoke", "--only", "9", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    assert {row["figure"] for row in rows} == {"9. Throughput vs workers"}
    assert all(row["verdict"] != "error" for row in rows)
    assert all(row["details"].get("errors", 0) == 0 for row in rows)
