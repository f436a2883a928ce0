"""Every call has a deadline, and a cancelled call stops its upstream work (long-polls closed)."""

from __future__ import annotations

import sys
import time

import anyio
import pytest
from mcp import Client, StdioServerParameters

from tests.reliability.conftest import (
    MAY_OR_MAY_NOT,
    connect_fast,
    eventually,
    no_faults,
    outcome_unknown,
    server_env,
    set_faults,
    stats,
    text_of,
    vtiger_records_named,
)

pytestmark = pytest.mark.anyio

CREATE = {"connection": "vtiger", "description": "list vtiger leads created today"}


async def test_a_slow_upstream_call_ends_at_the_call_timeout(faulty_sandbox):
    mode = "auto"  # the deadline is the gateway's, the same in both eras
    async with connect_fast(faulty_sandbox, mode, call_timeout=1.5, apps=["vtiger"]) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, latency_ms=3000)
        started = time.monotonic()
        read = await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
        read_seconds = time.monotonic() - started
        started = time.monotonic()
        write = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": "rel-slow"}},
            },
        )
        write_seconds = time.monotonic() - started
        no_faults(faulty_sandbox)
        after = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
        )
    assert read.is_error and not outcome_unknown(read) and "Nothing was changed" in text_of(read)
    assert write.is_error and outcome_unknown(write) and MAY_OR_MAY_NOT in text_of(write)
    assert read_seconds < 2.5 and write_seconds < 2.5
    assert not after.is_error  # the next call works
    await anyio.sleep(2)  # the sandbox finishes the abandoned request: the write happened at most once
    assert vtiger_records_named(faulty_sandbox, "rel-slow").get("rel-slow", 0) <= 1


async def test_the_gateway_stops_a_call_stuck_outside_the_membrane_client(faulty_sandbox):
    mode = "legacy"
    """A catalog reload works to the call's deadline; when it cannot finish, the last catalog answers.

    (The gateway's own hard stop, for work outside the Membrane client, is tested in
    tests/server/test_registry.py.)"""
    async with connect_fast(faulty_sandbox, mode, call_timeout=1, catalog_ttl=0, apps=["vtiger"]) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, latency_ms=5000)
        started = time.monotonic()
        result = await client.call_tool("list_connections", {})
        seconds = time.monotonic() - started
        no_faults(faulty_sandbox)
        after = await client.call_tool("list_connections", {})
    assert not result.is_error and result.structured_content["connections"]
    assert seconds < 2.5
    assert not after.is_error


async def _open_long_polls_seen(sandbox, seen: list[int], stop: anyio.Event) -> None:
    while not stop.is_set():
        seen.append(stats(sandbox)["openLongPolls"])
        await anyio.sleep(0.1)


async def test_cancelling_create_action_closes_its_long_poll(faulty_sandbox):
    # Handshake era only: in-process 2026 dispatch runs the server in the caller's task, so the server
    # sees the client's deadline as its own and ends the wait by itself (no cancel to observe).
    mode = "legacy"
    set_faults(faulty_sandbox, build_seconds=30)
    seen: list[int] = []
    async with connect_fast(faulty_sandbox, mode, apps=["vtiger"]) as client:
        await client.list_tools()
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            group.start_soon(_open_long_polls_seen, faulty_sandbox, seen, stop)
            with anyio.move_on_after(1.5) as scope:
                await client.call_tool("create_action", CREATE)
            stop.set()
        assert scope.cancelled_caught
        closed = await eventually(lambda: stats(faulty_sandbox)["openLongPolls"] == 0, within=5)
        after = await client.call_tool("list_connections", {})
    assert max(seen) == 1  # the build was being waited for...
    assert closed  # ...and the wait ended with the cancel, not 30 s later
    assert not after.is_error


async def test_create_action_has_its_own_deadline(faulty_sandbox):
    mode = "auto"
    set_faults(faulty_sandbox, build_seconds=30)
    async with connect_fast(faulty_sandbox, mode, create_action_timeout=2.5, apps=["vtiger"]) as client:
        started = time.monotonic()
        result = await client.call_tool("create_action", CREATE)
        seconds = time.monotonic() - started
    assert result.is_error and "still building" in text_of(result)
    assert result.structured_content["details"]["state"] == "BUILDING"
    assert seconds < 4
    assert await eventually(lambda: stats(faulty_sandbox)["openLongPolls"] == 0, within=3)


async def test_a_client_timeout_over_stdio_cancels_the_server_side_wait(faulty_sandbox):
    """Legacy era over a real stdio subprocess: the client's read timeout sends notifications/cancelled."""
    set_faults(faulty_sandbox, build_seconds=30)
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "membrane_mcp", "serve", "--apps", "vtiger"],
        env=server_env(faulty_sandbox),
    )
    async with Client(params, mode="legacy") as client:
        await client.list_tools()
        with pytest.raises(Exception) as raised:
            await client.call_tool("create_action", CREATE, read_timeout_seconds=2)
        closed = await eventually(lambda: stats(faulty_sandbox)["openLongPolls"] == 0, within=5)
        after = await client.call_tool("list_connections", {})
    assert "timed out" in str(raised.value).lower() or isinstance(raised.value, TimeoutError)
    assert closed
    assert not after.is_error
