"""`serve --transport http --workers 2`: stateless clients spread over both workers; the legacy
handshake refused with a line naming --workers 1; Ctrl-C stops every worker; a dead worker reported."""

from __future__ import annotations

import os
import signal

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from membrane_mcp.cli import main
from membrane_mcp.cli_errors import first_of
from tests.workers.conftest import WORKER_HEADER, WorkerServer, pid_exists, start_workers

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]

CLIENTS = 16  # each on its own connection: all on one worker would be a 1-in-2**15 event


async def test_stateless_calls_are_served_by_both_workers(two_workers: WorkerServer) -> None:
    served_by: list[str] = []
    results = []

    async def record(response: httpx2.Response) -> None:
        served_by.append(response.headers[WORKER_HEADER])

    async def one_client() -> None:
        async with httpx2.AsyncClient(event_hooks={"response": [record]}) as http:
            async with Client(streamable_http_client(f"{two_workers.url}/mcp", http_client=http)) as client:
                assert client.session.discover_result is not None  # the stateless era, not the handshake
                tools = await client.list_tools()
                assert "search_actions" in {tool.name for tool in tools.tools}
                results.append(await client.call_tool("search_actions", {"query": "list contacts"}))

    async with anyio.create_task_group() as group:
        for _ in range(CLIENTS):
            group.start_soon(one_client)

    assert len(results) == CLIENTS
    assert not any(result.is_error for result in results)
    assert all(result.structured_content for result in results)
    assert set(served_by) == {"1", "2"}


async def test_legacy_handshake_is_refused_naming_workers_1(two_workers: WorkerServer) -> None:
    with pytest.raises(BaseException) as raised:  # the SDK client wraps it in an exception group
        async with Client(f"{two_workers.url}/mcp", mode="legacy"):
            pass
    refused = first_of(raised.value, MCPError)
    assert isinstance(refused, MCPError)
    assert "--workers 1" in str(refused)
    assert "2025-11-25" in str(refused)


def test_sigint_stops_every_worker(two_workers: WorkerServer) -> None:
    two_workers.process.send_signal(signal.SIGINT)
    assert two_workers.process.wait(60) == 0
    assert not any(pid_exists(pid) for pid in two_workers.pids)


def test_a_worker_that_dies_is_reported_and_the_others_stopped(tmp_path) -> None:
    server = start_workers(tmp_path / "sandbox.sqlite3")
    first, second = server.pids
    try:
        os.kill(first, signal.SIGKILL)
        assert server.process.wait(60) == 1
        assert server.process.stderr is not None
        stderr = server.process.stderr.read().decode()
    finally:
        if server.process.poll() is None:
            server.process.kill()
    assert f"worker 1 (pid {first}) exited with code -9" in stderr
    assert not pid_exists(second)


@pytest.mark.parametrize(
    ("args", "auth_tokens", "line"),
    [
        (["--workers", "2"], None, "--workers applies to --transport http only"),
        (
            ["--transport", "http", "--workers", "2"],
            "t=acme",
            "many-user mode (OAuth, or token=tenant) needs --workers 1",
        ),
    ],
)
def test_workers_where_they_cannot_apply_is_refused(args, auth_tokens, line, capsys, monkeypatch, tmp_path):
    if auth_tokens:
        monkeypatch.setenv("MEMBRANE_MCP_AUTH_TOKENS", auth_tokens)
    assert main(["serve", "--sandbox", "--sandbox-db", str(tmp_path / "s.sqlite3"), *args]) == 2
    assert line in capsys.readouterr().err
