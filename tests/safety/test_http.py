"""The HTTP transport: loopback by default, bearer tokens, Origin/Host checks, body limit (real subprocesses)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from tests.safety.conftest import HttpServer, base_env, start_http

pytestmark = pytest.mark.anyio

TOKENS = "s3cret,second-token-42"
PING = '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
MCP_HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream"}


def test_non_loopback_bind_without_tokens_refuses_to_start(sandbox):
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "membrane_mcp",
            "serve",
            "--transport",
            "http",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
        ],
        env=base_env(sandbox),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode != 0
    lines = process.stderr.strip().splitlines()
    assert len(lines) == 1, process.stderr
    assert "MEMBRANE_MCP_AUTH_TOKENS" in lines[0] and "0.0.0.0" in lines[0]


def test_auth_tokens_are_env_only():
    process = subprocess.run(
        [sys.executable, "-m", "membrane_mcp", "serve", "--auth-tokens", "x"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert process.returncode == 2 and "unrecognized arguments" in process.stderr


@pytest.fixture(scope="module")
def guarded(sandbox) -> Iterator[HttpServer]:
    env = base_env(sandbox, MEMBRANE_MCP_AUTH_TOKENS=TOKENS)
    yield from start_http(
        [
            "--host",
            "0.0.0.0",
            "--allowed-hosts",
            "mcp.example.com",
            "--max-request-bytes",
            "4096",
            "--apps",
            "vtiger",
        ],
        env,
    )


def post(server: HttpServer, headers: dict[str, str], body: str = PING) -> httpx.Response:
    return httpx.post(f"{server.url}/mcp", headers={**MCP_HEADERS, **headers}, content=body, timeout=10)


def test_requests_need_a_bearer_token(guarded):
    assert httpx.get(f"{guarded.url}/healthz").status_code == 200  # stays open
    for headers in (
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Basic czNjcmV0"},
        {"Authorization": "s3cret"},
    ):
        response = post(guarded, headers)
        assert response.status_code == 401, headers
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "s3cret" not in response.text
    assert httpx.get(f"{guarded.url}/mcp", timeout=10).status_code == 401


def test_origin_and_host_are_checked(guarded):
    bearer = {"Authorization": "Bearer s3cret"}
    assert post(guarded, {**bearer, "Origin": "http://evil.example"}).status_code == 403
    assert post(guarded, {**bearer, "Host": "evil.example"}).status_code == 421
    assert post(guarded, {**bearer, "Host": "mcp.example.com"}).status_code == 200
    assert post(guarded, {**bearer, "Origin": "http://localhost:3000"}).status_code == 200
    assert post(guarded, {"Authorization": "Bearer second-token-42"}).status_code == 200


def test_request_bodies_are_limited(guarded):
    big = PING[:-1] + ',"pad":"' + "x" * 8000 + '"}'
    assert post(guarded, {"Authorization": "Bearer s3cret"}, big).status_code == 413


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_with_the_token_lists_and_calls(guarded, mode):
    async with create_mcp_http_client(headers={"Authorization": "Bearer s3cret"}) as http:
        async with Client(
            streamable_http_client(f"{guarded.url}/mcp", http_client=http), mode=mode
        ) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool(
                "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
            )
    assert "raw_request" in names
    assert result.structured_content["status"] == 200
