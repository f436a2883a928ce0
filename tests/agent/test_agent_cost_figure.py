"""The agent-cost figure runs its task script through the MCP client and reports bytes and calls (no
figure is asserted beyond "the script ran without a failed call")."""

from __future__ import annotations

import json

from bench.__main__ import main


def test_agent_cost_smoke_runs_every_task_without_a_failed_call(tmp_path):
    assert main(["--smoke", "--only", "10", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "results.json").read_text())["results"]
    assert {row["figure"] for row in rows} == {"10. Agent cost"}
    search = next(row for row in rows if row["name"].startswith("search mode: bytes returned"))
    assert search["details"]["errors"] == 0
    assert search["details"]["calls"] >= 24  # every task called something
    assert all(task["calls"] >= 2 for task in search["details"]["tasks"].values())
