"""`membrane-mcp call` observes its tool call as `serve` does: a write it runs leaves its audit record."""

from __future__ import annotations

import json
from pathlib import Path

CREATE = {
    "connection": "vtiger",
    "action": "create-record",
    "input": {"elementType": "Contacts", "element": {"lastname": "Audited"}},
}


def test_a_write_run_by_call_leaves_one_audit_record(cli, clean_home, tmp_path: Path):
    audit = tmp_path / "audit.jsonl"
    common = ["--sandbox", "--sandbox-db", ":memory:", "--audit-log", str(audit)]
    done = cli("call", "run_write_action", *common, "--json-args", json.dumps(CREATE))
    assert done.returncode == 0, done.stderr
    run_id = json.loads(done.stdout)["actionRunId"]
    read = cli("call", "list_connections", *common)
    assert read.returncode == 0, read.stderr
    records = [json.loads(line) for line in audit.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 1, records  # the write, not the read
    assert records[0]["tool"] == "run_write_action" and records[0]["action"] == "create-record"
    assert records[0]["outcome"] == "done" and records[0]["actionRunId"] == run_id


def test_call_with_an_unwritable_audit_log_is_one_line_and_runs_nothing(cli, clean_home, tmp_path: Path):
    missing = tmp_path / "no-such-folder" / "audit.jsonl"
    done = cli(
        "call",
        "run_write_action",
        "--sandbox",
        "--audit-log",
        str(missing),
        "--json-args",
        json.dumps(CREATE),
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == f"membrane-mcp: --audit-log: the folder {missing.parent} does not exist"
