"""The real transports: a stdio subprocess and streamable HTTP on loopback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
from mcp import Client, StdioServerParameters

from tests.processes import server_env, spawn_http, stop_process

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_subprocess_lists_and_calls(sandbox, mode):
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "membrane_mcp", "serve"], env=server_env(sandbox)
    )
    async with Client(params, mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": "SELECT * FROM Leads LIMIT 2;"},
            },
        )
    assert "search_actions" in names
    assert not result.is_error, result.content
    assert len(result.structured_content["output"]["records"]) == 2


def test_stdio_stdout_carries_protocol_only(sandbox):
    """Everything on stdout parses as JSON-RPC; the banner and logs go to stderr."""
    init = (
        '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
        '"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}\n'
        '{"jsonrpc":"2.0","method":"notifications/initialized"}\n'
        '{"jsonrpc":"2.0","id":2,"method":"tools/list"}\n'
    )
    process = subprocess.run(
        [sys.executable, "-m", "membrane_mcp", "serve", "--log-level", "DEBUG"],
        input=init,
        capture_output=True,
        text=True,
        env=server_env(sandbox),
        timeout=60,
    )
    import json

    lines = [line for line in process.stdout.splitlines() if line.strip()]
    assert len(lines) == 2
    assert [json.loads(line)["id"] for line in lines] == [1, 2]
    assert "membrane-mcp" in process.stderr


@pytest.fixture(scope="module")  # one server for the read-only HTTP tests: each spawn costs seconds
def http_server(sandbox) -> Iterator[str]:
    process, url = spawn_http([], server_env(sandbox))
    try:
        yield url
    finally:
        stop_process(process)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_http_lists_and_calls(http_server, mode):
    async with Client(f"{http_server}/mcp", mode=mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
        )
    assert "raw_request" in names
    assert result.structured_content["status"] == 200


def test_http_healthz_and_foreign_origin(http_server):
    assert httpx.get(f"{http_server}/healthz").json()["status"] == "ok"
    response = httpx.post(
        f"{http_server}/mcp",
        headers={
            "Origin": "http://evil.example",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        },
        content='{"jsonrpc":"2.0","id":1,"method":"ping"}',
    )
    assert response.status_code == 403


def test_serve_refuses_a_sandbox_db_in_a_missing_folder(tmp_path):
    process = subprocess.run(
        [
            sys.executable,
            "-m",
            "membrane_mcp",
            "serve",
            "--sandbox",
            "--sandbox-db",
            str(tmp_path / "no" / "x.db"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert process.returncode == 2
    assert "does not exist" in process.stderr and process.stdout == ""
