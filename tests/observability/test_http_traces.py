"""Over streamable HTTP: a `traceparent` header is continued, and the span names the MCP session."""

from __future__ import annotations

import json
from typing import Any

import httpx

from tests.processes import server_env, spawn_http, stop_process

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
LEGACY = "2025-11-25"


def rpc(http: httpx.Client, url: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    response = http.post(
        f"{url}/mcp",
        json=body,
        headers={"Accept": "application/json, text/event-stream", **headers},
    )
    response.raise_for_status()
    return response


def result_of(response: httpx.Response) -> Any:
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


def exported_spans(stderr: str) -> list[dict[str, Any]]:
    spans = []
    for line in stderr.splitlines():
        if line.startswith("{") and '"context"' in line:
            spans.append(json.loads(line))
    return spans


def test_a_traceparent_header_is_continued_with_the_session_id(sandbox):
    env = server_env(sandbox, OTEL_TRACES_EXPORTER="console", OTEL_BSP_SCHEDULE_DELAY="100")
    process, url = spawn_http(["--log-level", "WARNING"], env)
    try:
        with httpx.Client(timeout=30) as http:
            init = rpc(
                http,
                url,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "protocolVersion": LEGACY,
                        "capabilities": {},
                        "clientInfo": {"name": "t", "version": "0"},
                    },
                },
            )
            session = init.headers["mcp-session-id"]
            headers = {"mcp-session-id": session, "mcp-protocol-version": LEGACY}
            http.post(
                f"{url}/mcp",
                json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                headers={"Accept": "application/json, text/event-stream", **headers},
            )
            call = rpc(
                http,
                url,
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {
                        "name": "run_action",
                        "arguments": {
                            "connection": "vtiger",
                            "action": "query-records",
                            "input": {"query": "SELECT * FROM Leads LIMIT 1;"},
                        },
                    },
                },
                traceparent=f"00-{TRACE_ID}-{PARENT_ID}-01",
                **headers,
            )
            assert not result_of(call)["result"].get("isError")
    finally:
        stop_process(process)  # SIGTERM: the server shuts down and flushes its spans
    stderr = process.stderr.read().decode() if process.stderr else ""
    spans = exported_spans(stderr)
    calls = [s for s in spans if s["name"] == "tools/call run_action"]
    assert len(calls) == 1, stderr[-2000:]
    (span,) = calls
    assert span["context"]["trace_id"] == f"0x{TRACE_ID}"
    assert span["parent_id"] == f"0x{PARENT_ID}"
    assert span["attributes"]["mcp.session.id"] == session
    assert span["attributes"]["gen_ai.tool.name"] == "run_action"
    assert span["resource"]["attributes"]["service.name"] == "membrane-mcp"
    children = [s for s in spans if s["context"]["trace_id"] == f"0x{TRACE_ID}" and s is not span]
    runs = [s for s in children if s["name"] == "membrane POST /actions/{id}/run"]
    assert len(runs) == 1 and runs[0]["parent_id"] == span["context"]["span_id"], [
        s["name"] for s in children
    ]
    assert runs[0]["attributes"]["membrane.action_run_id"]
