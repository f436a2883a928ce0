"""HTTP limits: sessions per server and per caller, idle sessions (injected clock), slow clients, bad ids.

The server runs in-process under uvicorn on a free port, so the test controls the sessions' clock.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.http import build_http_app, is_loopback
from membrane_mcp.server.limits import header_timeout_protocol
from membrane_mcp.settings import Settings
from tests.messages import initialize_request
from tests.server.conftest import sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}
INITIALIZE = initialize_request("t")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def http_server(settings: Settings, clock: FakeClock | None = None) -> AsyncIterator[str]:
    # A socket already listening: clients queue in its backlog until uvicorn serves, so no readiness wait.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    async with open_gateway(settings) as gateway:
        app = build_http_app(build_server(gateway), settings, clock=clock or FakeClock())
        config = uvicorn.Config(
            app,
            host="127.0.0.1",
            log_config=None,
            lifespan="on",
            http=header_timeout_protocol(settings.header_timeout),
        )
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve, [sock])
            try:
                yield f"http://127.0.0.1:{port}"
            finally:
                server.should_exit = True


def rpc_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message of a JSON or single-event SSE response."""
    if response.headers.get("content-type", "").startswith("text/event-stream"):
        data = [line[5:].strip() for line in response.text.splitlines() if line.startswith("data:")]
        return json.loads(data[-1])
    return response.json()


async def open_session(http: httpx.AsyncClient, url: str, token: str | None = None) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    response = await http.post(f"{url}/mcp", headers=headers, json=INITIALIZE)
    if response.status_code == 200:
        session = {"mcp-session-id": response.headers["mcp-session-id"], "mcp-protocol-version": "2025-11-25"}
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        assert (await http.post(f"{url}/mcp", headers={**headers, **session}, json=note)).status_code == 202
    return response


async def call(
    http: httpx.AsyncClient, url: str, session_id: str, method: str, params: dict[str, Any]
) -> httpx.Response:
    headers = {**MCP_HEADERS, "mcp-session-id": session_id, "mcp-protocol-version": "2025-11-25"}
    return await http.post(
        f"{url}/mcp", headers=headers, json={"jsonrpc": "2.0", "id": 7, "method": method, "params": params}
    )


ME = {"name": "raw_request", "arguments": {"connection": "vtiger", "method": "GET", "path": "/me"}}


async def test_sessions_per_server_are_limited_and_nothing_else_degrades(sandbox):
    settings = settings_for(sandbox, apps=["vtiger"], max_sessions=2)
    async with http_server(settings) as url, httpx.AsyncClient(timeout=30) as http:
        first, second = await open_session(http, url), await open_session(http, url)
        refused = await open_session(http, url)
        still = await call(http, url, first.headers["mcp-session-id"], "tools/call", ME)
        health = await http.get(f"{url}/healthz")
        async with create_mcp_http_client() as modern_http:  # the stateless era opens no session
            async with Client(
                streamable_http_client(f"{url}/mcp", http_client=modern_http), mode="auto"
            ) as client:
                modern = await client.call_tool(ME["name"], ME["arguments"])
    assert first.status_code == second.status_code == 200
    assert refused.status_code == 503
    error = refused.json()
    assert error["id"] is None and error["error"]["code"] == -32000
    assert "Too many open MCP sessions on this server (2)" in error["error"]["message"]
    assert rpc_body(still)["result"]["structuredContent"]["status"] == 200
    assert health.status_code == 200
    assert modern.structured_content["status"] == 200


async def test_sessions_per_caller_are_limited(sandbox):
    settings = settings_for(sandbox, apps=["vtiger"], max_sessions_per_caller=1, auth_tokens="alpha,beta")
    async with http_server(settings) as url, httpx.AsyncClient(timeout=30) as http:
        alpha = await open_session(http, url, "alpha")
        alpha_again = await open_session(http, url, "alpha")
        beta = await open_session(http, url, "beta")
    assert alpha.status_code == 200 and beta.status_code == 200
    assert alpha_again.status_code == 429
    assert "Too many open MCP sessions for this credential (1)" in alpha_again.json()["error"]["message"]


async def test_idle_sessions_expire_sooner_when_they_never_called_a_tool(sandbox):
    clock = FakeClock()
    settings = settings_for(
        sandbox, apps=["vtiger"], fresh_session_idle_timeout=60, session_idle_timeout=1800, max_sessions=2
    )
    async with http_server(settings, clock) as url, httpx.AsyncClient(timeout=30) as http:
        idle = (await open_session(http, url)).headers["mcp-session-id"]
        busy = (await open_session(http, url)).headers["mcp-session-id"]
        assert (
            rpc_body(await call(http, url, busy, "tools/call", ME))["result"]["structuredContent"]["status"]
            == 200
        )
        assert (await open_session(http, url)).status_code == 503  # full
        clock.now += 61
        third = await open_session(http, url)  # the idle one is ended first, which makes room
        idle_after = await call(http, url, idle, "tools/list", {})
        busy_after = await call(http, url, busy, "tools/call", ME)
        clock.now += 1801
        fourth = await open_session(http, url)
        busy_later = await call(http, url, busy, "tools/list", {})
    assert third.status_code == 200
    assert idle_after.status_code == 404
    assert rpc_body(busy_after)["result"]["structuredContent"]["status"] == 200
    assert fourth.status_code == 200 and busy_later.status_code == 404


BAD_IDS = [{"a": 1}, 1.5, True, None, [1]]


@pytest.mark.parametrize("bad_id", BAD_IDS, ids=["object", "float", "bool", "null", "array"])
async def test_invalid_ids_are_answered_with_invalid_request_over_http(fresh_sandbox, bad_id):
    settings = settings_for(fresh_sandbox, apps=["vtiger"])
    before = sandbox_stats(fresh_sandbox)["proxyRequests"]
    async with http_server(settings) as url, httpx.AsyncClient(timeout=30) as http:
        session = (await open_session(http, url)).headers["mcp-session-id"]
        headers = {**MCP_HEADERS, "mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
        message = {"jsonrpc": "2.0", "id": bad_id, "method": "tools/call", "params": ME}
        response = await http.post(f"{url}/mcp", headers=headers, json=message)
    assert response.status_code == 400
    assert response.json() == {
        "jsonrpc": "2.0",
        "id": None,
        "error": {"code": -32600, "message": "Invalid request: 'id' must be a string or an integer"},
    }
    assert sandbox_stats(fresh_sandbox)["proxyRequests"] == before


async def test_slow_headers_and_slow_bodies_are_cut_off(sandbox):
    settings = settings_for(sandbox, apps=["vtiger"], header_timeout=0.5, body_timeout=0.5)
    async with http_server(settings) as url:
        port = int(url.rsplit(":", 1)[1])

        def slow_headers() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                return sock.recv(1024)  # returns b"" once the server closes the connection

        def slow_body() -> bytes:
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                head = "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                sock.sendall(
                    (
                        head + "Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{"
                    ).encode()
                )
                received = b""
                while b"timed out" not in received and (chunk := sock.recv(4096)):
                    received += chunk
                return received

        closed = await anyio.to_thread.run_sync(slow_headers)
        answered = await anyio.to_thread.run_sync(slow_body)
    assert closed == b""
    assert answered.startswith(b"HTTP/1.1 408")
    assert b"Request body timed out" in answered


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("127.0.0.1.example.com", False),
        ("127.evil.example", False),
        ("0.0.0.0", False),
        ("10.0.0.1", False),
        ("::ffff:8.8.8.8", False),
        ("", False),
    ],
)
def test_loopback_is_judged_by_parsing_the_address(host, expected):
    assert is_loopback(host) is expected
