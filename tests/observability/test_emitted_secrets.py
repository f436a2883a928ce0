"""No secret in what a real server process emits: OTLP traces and metrics as sent, /metrics, the audit file, stderr.

The in-process test (test_logs_and_secrets.py) scans the SDK's span objects and the Prometheus
registry; this one scans the bytes that leave the process, through the exporters and encoders the
server really uses, with credentials in its environment, in the client's headers and pasted into
the arguments of reads, writes and failing calls.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from google.protobuf.message import Message
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.observability.conftest import audit_lines
from tests.processes import server_env, spawn_http, stop_process
from tests.safety.test_secrets import MCP_TOKENS, MEMBRANE_TOKEN, assert_clean

pytestmark = pytest.mark.anyio

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"


@dataclass
class OtlpSink:
    """An OTLP/HTTP collector on loopback keeping every request body by path."""

    url: str
    bodies: dict[str, list[bytes]] = field(default_factory=dict)


@pytest.fixture
def otlp_sink() -> Iterator[OtlpSink]:
    received: dict[str, list[bytes]] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            received.setdefault(self.path, []).append(body)
            self.send_response(200)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield OtlpSink(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def secret_sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(SandboxConfig(token=MEMBRANE_TOKEN, build_seconds=0.3)) as running:
        yield running


def strings_in(message: Message) -> list[str]:
    """Every string field of a protobuf message, nested ones included (ids are bytes, left out)."""
    found: list[str] = []
    for descriptor, value in message.ListFields():
        values = value if descriptor.is_repeated else [value]
        for item in values:
            if isinstance(item, Message):
                found += strings_in(item)
            elif isinstance(item, str):
                found.append(item)
    return found


async def calls_with_pasted_secrets(url: str) -> None:
    headers = {"Authorization": f"Bearer {MCP_TOKENS[0]}"}
    async with (
        httpx.AsyncClient(headers=headers, timeout=30) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        read = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": f"SELECT * FROM Leads WHERE lastname = '{MEMBRANE_TOKEN}';"},
            },
        )
        write = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": f"x {MEMBRANE_TOKEN} {JWT}"}},
            },
        )
        raw = await client.call_tool(
            "raw_write_request",
            {
                "connection": "vtiger",
                "method": "POST",
                "path": f"/create?token={MEMBRANE_TOKEN}",
                "body": {"elementType": "Contacts", "element": {"lastname": f"Bearer {MCP_TOKENS[1]}"}},
            },
        )
        failed = await client.call_tool(
            "run_write_action",
            {"connection": "vtiger", "action": "delete-record", "input": {"id": MEMBRANE_TOKEN}},
        )
        search = await client.call_tool("search_actions", {"query": f"{MEMBRANE_TOKEN} contacts"})
    assert not read.is_error and not write.is_error and not raw.is_error and not search.is_error
    assert failed.is_error


async def test_no_secret_in_anything_a_server_process_emits(secret_sandbox, otlp_sink, tmp_path):
    audit = tmp_path / "audit.jsonl"
    env = server_env(
        secret_sandbox,
        MEMBRANE_MCP_AUTH_TOKENS=",".join(MCP_TOKENS),
        OTEL_EXPORTER_OTLP_ENDPOINT=otlp_sink.url,
        OTEL_METRICS_EXPORTER="otlp",
    )
    process, url = spawn_http(
        ["--metrics", "--audit-log", str(audit), "--audit-values", "--log-format", "json"], env
    )
    try:
        await calls_with_pasted_secrets(url)
        async with httpx.AsyncClient() as http:
            scraped = await http.get(f"{url}/metrics", headers={"Authorization": f"Bearer {MCP_TOKENS[1]}"})
    finally:
        stop_process(process)  # SIGTERM: spans and metrics are flushed on the way out
    stderr = process.stderr.read().decode() if process.stderr else ""

    traces = [ExportTraceServiceRequest.FromString(body) for body in otlp_sink.bodies.get("/v1/traces", [])]
    span_names = {s.name for t in traces for r in t.resource_spans for ss in r.scope_spans for s in ss.spans}
    assert {
        "tools/call run_write_action",
        "membrane POST /actions/{id}/run",
        "membrane_mcp search",
    } <= span_names
    for request in traces:
        assert_clean("\n".join(strings_in(request)), "OTLP traces")
    metrics = [ExportMetricsServiceRequest.FromString(b) for b in otlp_sink.bodies.get("/v1/metrics", [])]
    assert any("membrane_mcp.tool.calls" in strings_in(request) for request in metrics)
    for request in metrics:
        assert_clean("\n".join(strings_in(request)), "OTLP metrics")
    assert scraped.status_code == 200 and "membrane_mcp_tool_calls_total" in scraped.text
    assert_clean(scraped.text, "/metrics")
    records = audit_lines(audit)
    assert [r["tool"] for r in records] == ["run_write_action", "raw_write_request", "run_write_action"]
    assert "***" in audit.read_text()  # the pasted values were there, masked
    assert_clean(audit.read_text(), "audit log")
    assert '"event": "tool_call"' in stderr or '"event":"tool_call"' in stderr
    assert_clean(stderr, "stderr (logs)")
