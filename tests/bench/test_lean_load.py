"""The lean load generator (bench/lean_load.py) sends what the SDK client sends and counts bad answers.

Its requests are compared with the ones mcp's `Client` really sends to the bench's echo server over
streamable HTTP (captured at httpx2's `send`): the same headers in the same order and the same body
bytes. No timing is asserted.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx2
import pytest
from mcp import Client

from bench import lean_load
from bench.common import echo_http_server

pytestmark = pytest.mark.anyio

ARGUMENTS = {"query": "find contacts by email", "limit": 5}
UNCOMPARED = {"host", "content-length"}  # written by each HTTP library from the URL and the body
# The SDK client adds the current trace context to `_meta` when an OpenTelemetry tracer provider is set
# (another test in the same process may have set one); the lean load sends none.
TRACE_CONTEXT = re.compile(rb',"(?:traceparent|tracestate)":"[^"]*"')


def _sent(request: httpx2.Request) -> list[tuple[str, str]]:
    """Its headers as written on the wire (names in their own case, in order)."""
    raw = [(name.decode(), value.decode()) for name, value in request.headers.raw]
    return [(name, value) for name, value in raw if name.lower() not in UNCOMPARED]


async def test_the_lean_requests_are_the_sdk_clients_requests(monkeypatch):
    captured: list[httpx2.Request] = []
    send = httpx2.AsyncClient.send

    async def capture(self: httpx2.AsyncClient, request: httpx2.Request, **kwargs: Any) -> Any:
        captured.append(request)
        return await send(self, request, **kwargs)

    monkeypatch.setattr(httpx2.AsyncClient, "send", capture)
    with echo_http_server() as echo:
        async with Client(echo.url) as client:
            await client.list_tools()
            result = await client.call_tool("echo_0", ARGUMENTS)
    assert result.structured_content == {"echo": ARGUMENTS}
    posts = [r for r in captured if r.method == "POST"]
    expected = [
        lean_load.request_for("server/discover"),
        lean_load.request_for("tools/list"),
        lean_load.request_for("tools/call", "echo_0", ARGUMENTS),
    ]
    assert len(posts) == len(expected)
    for real, lean in zip(posts, expected, strict=True):
        request_id = json.loads(real.content)["id"]
        assert lean.body(request_id) == TRACE_CONTEXT.sub(b"", real.content)
        assert list(lean.headers) == _sent(real)


async def test_the_lean_load_runs_the_mix_against_an_mcp_server_without_errors():
    operations: list[lean_load.Operation] = [("list", None, {}), ("echo", "echo_0", ARGUMENTS)]
    with echo_http_server() as echo:
        measured = await lean_load.run_load(echo.url, 2, 0.2, operations)
    assert measured["errors"] == {"list": 0, "echo": 0}, measured["samples"]
    assert sum(len(values) for values in measured["latencies"].values()) > 0


def test_bad_answers_are_errors_and_good_ones_are_not():
    call = lean_load.request_for("tools/call", "echo_0", ARGUMENTS)
    listing = lean_load.request_for("tools/list")
    ok_call = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": False}}).encode()
    assert lean_load.answer_problem(call, 200, ok_call) is None
    assert lean_load.answer_problem(listing, 200, b'{"jsonrpc":"2.0","id":1,"result":{"tools":[]}}') is None
    tool_error = json.dumps({"jsonrpc": "2.0", "id": 1, "result": {"content": [], "isError": True}}).encode()
    rpc_error = b'{"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"unknown tool"}}'
    assert "tool error" in (lean_load.answer_problem(call, 200, tool_error) or "")
    assert "no result" in (lean_load.answer_problem(call, 200, rpc_error) or "")
    assert "HTTP 503" in (lean_load.answer_problem(call, 503, b"busy") or "")
    assert "not JSON" in (lean_load.answer_problem(call, 200, b"event: message") or "")
    assert "without tools" in (lean_load.answer_problem(listing, 200, ok_call) or "")
