"""Call logs (`--log-format json`) join the span and the audit record; no secret in any signal."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest

from membrane_mcp.observability import metrics
from membrane_mcp.observability.logs import CALL_LOGGER, JsonFormatter
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.observability.conftest import audit_lines, observed_client
from tests.processes import server_env
from tests.safety.test_secrets import MEMBRANE_TOKEN, assert_clean

pytestmark = pytest.mark.anyio


@pytest.fixture
def call_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    previous = CALL_LOGGER.level
    CALL_LOGGER.addHandler(handler)
    CALL_LOGGER.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        CALL_LOGGER.removeHandler(handler)
        CALL_LOGGER.setLevel(previous)


@pytest.fixture
def secret_sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(SandboxConfig(token=MEMBRANE_TOKEN, build_seconds=0.3)) as running:
        yield running


async def test_one_json_line_per_call_with_the_ids_of_span_and_audit(
    fresh_sandbox, tmp_path, spans, call_log
):
    log = tmp_path / "audit.jsonl"
    async with observed_client(fresh_sandbox, audit_log=str(log)) as client:
        await client.call_tool("list_connections", {})
        result = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": "joined"}},
            },
        )
    assert not result.is_error
    lines = [json.loads(line) for line in call_log.getvalue().splitlines()]
    assert [line["tool"] for line in lines] == ["list_connections", "run_write_action"]
    line = lines[1]
    assert line["logger"] == "membrane_mcp.calls" and line["event"] == "tool_call"
    assert line["kind"] == "write" and line["outcome"] == "ok" and line["audit"] == "done"
    (record,) = audit_lines(log)
    (span,) = [s for s in spans.get_finished_spans() if s.name == "tools/call run_write_action"]
    assert line["call_id"] == record["call_id"] == span.attributes["membrane_mcp.call.id"]
    assert line["trace_id"] == record["trace_id"] == format(span.context.trace_id, "032x")
    assert line["actionRunId"] == record["actionRunId"] == span.attributes["membrane.action_run_id"]
    assert "joined" not in call_log.getvalue()


def test_log_format_json_makes_every_stderr_line_json(sandbox):
    lines = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}\n'
        '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
        '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_connections","arguments":{}}}\n'
    )
    process = subprocess.run(
        [sys.executable, "-m", "membrane_mcp", "serve", "--log-format", "json"],
        input=lines,
        capture_output=True,
        text=True,
        env=server_env(sandbox),
        timeout=60,
    )
    logged = [json.loads(line) for line in process.stderr.splitlines() if line.strip()]
    assert logged and all({"time", "level", "logger", "message"} <= set(line) for line in logged)
    calls = [line for line in logged if line.get("event") == "tool_call"]
    assert [(c["tool"], c["kind"]) for c in calls] == [("list_connections", "meta")]


async def test_no_secret_in_spans_metrics_audit_or_logs(secret_sandbox, tmp_path, spans, call_log):
    recorded = metrics.reset()
    log = tmp_path / "audit.jsonl"
    async with observed_client(secret_sandbox, audit_log=str(log), audit_values=True, metrics=True) as client:
        # The user pasted a credential into the arguments: --audit-values must still mask it.
        pasted = {"elementType": "Accounts", "element": {"accountname": f"x {MEMBRANE_TOKEN}"}}
        ran = await client.call_tool(
            "run_write_action", {"connection": "vtiger", "action": "create-record", "input": pasted}
        )
        raw = await client.call_tool(
            "raw_write_request",
            {
                "connection": "vtiger",
                "method": "POST",
                "path": "/create",
                "body": {"elementType": "Contacts", "element": {"lastname": f"Bearer {MEMBRANE_TOKEN}"}},
            },
        )
        failed = await client.call_tool(
            "run_write_action",
            {"connection": "vtiger", "action": "delete-record", "input": {"id": MEMBRANE_TOKEN}},
        )
    assert not ran.is_error and not raw.is_error and failed.is_error
    records = audit_lines(log)
    assert len(records) == 3 and "***" in json.dumps(records)
    exported = spans.get_finished_spans()
    assert exported
    for span in exported:
        assert_clean(span.to_json(), f"span {span.name}")
    assert_clean(recorded.render().decode(), "/metrics")
    assert_clean(log.read_text(), "audit log")
    assert_clean(call_log.getvalue(), "call log")
