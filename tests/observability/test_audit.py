"""The audit trail: every write path leaves exactly one JSON line, whatever its outcome."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, types

from tests.observability.conftest import audit_lines, observed_client, structured
from tests.reliability.conftest import no_faults, runs_with_input, set_faults

pytestmark = pytest.mark.anyio


def create_account(name: str) -> dict[str, Any]:
    return {
        "connection": "vtiger",
        "action": "create-record",
        "input": {"elementType": "Accounts", "element": {"accountname": name}},
    }


async def call(
    client: Client, log: Path, tool: str, arguments: dict[str, Any]
) -> tuple[types.CallToolResult, list[Any]]:
    """Run one call; return its result and the audit lines it added."""
    before = len(audit_lines(log))
    result = await client.call_tool(tool, arguments)
    return result, audit_lines(log)[before:]


async def test_each_write_path_leaves_one_record_and_reads_none(fresh_sandbox, tmp_path, mode):
    log = tmp_path / "audit.jsonl"
    async with observed_client(
        fresh_sandbox, mode, tool_mode="direct", apps=["vtiger"], audit_log=str(log), tenant_key="acme"
    ) as client:
        await client.list_tools()
        # A write action run through run_action.
        result, (record,) = await call(client, log, "run_write_action", create_account("audit-one"))
        assert not result.is_error
        assert (
            record["event"] == "write"
            and record["tool"] == "run_write_action"
            and record["outcome"] == "done"
        )
        assert record["action"] == "create-record" and record["app"] == "vtiger"
        assert record["actionRunId"] == structured(result)["actionRunId"]
        vtiger = next(c.id for c in client.gateway.catalog.cached.connections if c.app_key == "vtiger")
        assert record["connection"] == vtiger and record["membrane_writes"] == 1
        assert record["argument_keys"] == ["action", "connection", "input"]
        assert record["input_keys"] == ["element", "elementType"]
        assert record["tenant"] == "acme" and len(record["call_id"]) == 16 and record["time"].endswith("Z")
        assert "audit-one" not in json.dumps(record)  # keys, not values

        # The same action as a direct tool.
        result, (record,) = await call(
            client,
            log,
            "vtiger_create_record",
            {"elementType": "Accounts", "element": {"accountname": "audit-two"}},
        )
        assert (
            not result.is_error and record["tool"] == "vtiger_create_record" and record["outcome"] == "done"
        )
        assert record["actionRunId"] and record["argument_keys"] == ["element", "elementType"]

        # A raw write; raw and action reads leave nothing.
        result, (record,) = await call(
            client,
            log,
            "raw_write_request",
            {
                "connection": "vtiger",
                "method": "POST",
                "path": "/create?x=1",
                "body": {"elementType": "Contacts", "element": {"lastname": "audit-raw"}},
            },
        )
        assert not result.is_error and record["outcome"] == "done" and record["membrane_status"] == 200
        assert record["method"] == "POST" and record["path"] == "/create"
        assert (
            await call(client, log, "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
        )[1] == []
        reads = await call(client, log, "vtiger_query_records", {"query": "SELECT * FROM Leads LIMIT 1;"})
        assert not reads[0].is_error and reads[1] == []
        assert (await call(client, log, "list_connections", {}))[1] == []

        # create_action and connect_app.
        result, (record,) = await call(
            client, log, "create_action", {"connection": "vtiger", "description": "list all vtiger campaigns"}
        )
        assert not result.is_error and record["tool"] == "create_action" and record["outcome"] == "done"
        result, (record,) = await call(client, log, "connect_app", {"app": "bigtincan", "new": True})
        assert not result.is_error and record["tool"] == "connect_app" and record["outcome"] == "done"
        assert record["app"] == "bigtincan" and record["membrane_writes"] == 1

        # Failures: refused before sending (invalid input), and refused by the app (with its run id).
        result, (record,) = await call(
            client, log, "vtiger_create_record", {"elementType": "Accounts", "element": "x"}
        )
        assert result.is_error and record["outcome"] == "failed" and "actionRunId" not in record
        result, (record,) = await call(
            client,
            log,
            "run_write_action",
            {"connection": "vtiger", "action": "delete-record", "input": {"id": "11x999999"}},
        )
        assert result.is_error and record["outcome"] == "failed" and record["actionRunId"]
    assert len(audit_lines(log)) == 7  # one per write call above, none for the four reads


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        ({"drop_rate": 1.0}, "unknown"),  # ran, then the connection dropped mid-answer
        ({"fault_rate": 1.0}, "unknown"),  # Membrane's 5xx: may or may not have happened
        ({"rate_limit_rate": 1.0, "rate_limit_burst": 10}, "failed"),  # refused every time, nothing ran
    ],
)
async def test_writes_under_faults_record_their_outcome(faulty_sandbox, tmp_path, faults, outcome):
    log = tmp_path / "audit.jsonl"
    async with observed_client(faulty_sandbox, audit_log=str(log), call_timeout=10) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, seed=1, **faults)
        result, records = await call(client, log, "run_write_action", create_account("audit-fault"))
        raw, raw_records = await call(
            client,
            log,
            "raw_write_request",
            {
                "connection": "vtiger",
                "method": "POST",
                "path": "/create",
                "body": {"elementType": "Contacts", "element": {"lastname": "audit-fault"}},
            },
        )
        no_faults(faulty_sandbox)
    assert result.is_error and len(records) == 1 and records[0]["outcome"] == outcome, (
        records,
        result.content,
    )
    assert raw.is_error and len(raw_records) == 1
    if "drop_rate" in faults:
        assert runs_with_input(faulty_sandbox, "audit-fault") == 1  # it did run: 'unknown' is honest
    if "rate_limit_rate" in faults:
        assert runs_with_input(faulty_sandbox, "audit-fault") == 0
        assert raw_records[0]["outcome"] == "failed"


async def test_a_write_whose_record_cannot_be_written_fails_closed(fresh_sandbox, tmp_path):
    log = tmp_path / "audit.jsonl"
    async with observed_client(fresh_sandbox, audit_log=str(log)) as client:
        await client.list_tools()
        assert not (await client.call_tool("run_write_action", create_account("closed-1"))).is_error
        log.unlink()
        log.mkdir()  # the audit log can no longer be written
        withheld = await client.call_tool("run_write_action", create_account("closed-2"))
        refused = await client.call_tool("run_write_action", create_account("closed-3"))
        read = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": "SELECT * FROM Leads LIMIT 1;"},
            },
        )
        log.rmdir()
        again = await client.call_tool("run_write_action", create_account("closed-4"))
    assert withheld.is_error and "audit record could not be written" in withheld.content[0].text
    assert structured(withheld)["details"]["outcome"] == "done"  # it ran, and the agent is told so
    assert refused.is_error and "nothing was sent" in refused.content[0].text
    assert runs_with_input(fresh_sandbox, "closed-3") == 0
    assert not read.is_error  # reads are not audited, so they go on
    assert not again.is_error and [r["outcome"] for r in audit_lines(log)] == ["done"]


async def test_fail_open_lets_writes_run_unrecorded(fresh_sandbox, tmp_path):
    log = tmp_path / "audit.jsonl"
    log.mkdir()
    async with observed_client(fresh_sandbox, audit_log=str(log), audit_fail_open=True) as client:
        result = await client.call_tool("run_write_action", create_account("open-1"))
    assert not result.is_error and runs_with_input(fresh_sandbox, "open-1") == 1


async def test_audit_values_and_stderr(fresh_sandbox, capsys):
    async with observed_client(fresh_sandbox, audit_log="-", audit_values=True) as client:
        result = await client.call_tool("run_write_action", create_account("with-values"))
    assert not result.is_error
    (line,) = [
        json.loads(entry) for entry in capsys.readouterr().err.splitlines() if entry.startswith('{"time"')
    ]
    assert line["arguments"]["input"]["element"]["accountname"] == "with-values"
