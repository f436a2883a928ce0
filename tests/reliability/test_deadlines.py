"""Every call has a deadline, and a cancelled call stops its upstream work (long-polls closed)."""

from __future__ import annotations

import sys

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
    async with connect_fast(faulty_sandbox, mode, call_timeout=1, apps=["vtiger"]) as client:
        await client.list_tools()
        # Every request now takes 2 s in the sandbox (simulated latency): only the deadline ends a call
        # sooner, and a call that waited it out would succeed rather than fail.
        set_faults(faulty_sandbox, latency_ms=2000)
        read = await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
        sent_before_write = stats(faulty_sandbox)["requestsServed"]
        write = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": "rel-slow"}},
            },
        )
        sent_for_write = stats(faulty_sandbox)["requestsServed"] - sent_before_write
        no_faults(faulty_sandbox)
        after = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
        )
    assert read.is_error and not outcome_unknown(read) and "Nothing was changed" in text_of(read)
    assert write.is_error and outcome_unknown(write) and MAY_OR_MAY_NOT in text_of(write)
    assert not after.is_error  # the next call works
    # One request was sent for the write and none repeated it: it happened at most once. (The sandbox drops
    # this one when it finds the client gone after its latency, so it does not happen at all.)
    assert sent_for_write == 1
    assert vtiger_records_named(faulty_sandbox, "rel-slow").get("rel-slow", 0) <= 1


async def test_the_gateway_stops_a_call_stuck_outside_the_membrane_client(faulty_sandbox, caplog):
    mode = "legacy"
    """A catalog reload works to the call's deadline; when it cannot finish, the last catalog answers.

    (The gateway's own hard stop, for work outside the Membrane client, is tested in
    tests/server/test_registry.py.)"""
    async with connect_fast(faulty_sandbox, mode, call_timeout=1, catalog_ttl=0, apps=["vtiger"]) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, latency_ms=3000)  # simulated latency, past the call's deadline
        result = await client.call_tool("list_connections", {})
        no_faults(faulty_sandbox)
        after = await client.call_tool("list_connections", {})
    # The reload was cut at the deadline and the last catalog answered (had the call waited out the 3 s,
    # the reload would have succeeded and nothing would be logged).
    assert not result.is_error and result.structured_content["connections"]
    assert any(
        "serving the previous one" in r.getMessage() and "deadline" in r.getMessage().lower()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]
    assert not after.is_error


async def test_cancelling_create_action_closes_its_long_poll(faulty_sandbox):
    # Handshake era only: in-process 2026 dispatch runs the server in the caller's task, so the server
    # sees the client's deadline as its own and ends the wait by itself (no cancel to observe).
    mode = "legacy"
    set_faults(faulty_sandbox, build_seconds=30)
    cancel = anyio.CancelScope()

    async def create_action() -> None:
        with cancel:
            await client.call_tool("create_action", CREATE)

    async with connect_fast(faulty_sandbox, mode, apps=["vtiger"]) as client:
        await client.list_tools()
        async with anyio.create_task_group() as group:
            group.start_soon(create_action)
            waiting = await eventually(lambda: stats(faulty_sandbox)["openLongPolls"] == 1)
            cancel.cancel()  # the agent gives up while the build is being waited for
        closed = await eventually(lambda: stats(faulty_sandbox)["openLongPolls"] == 0)
        after = await client.call_tool("list_connections", {})
    assert waiting and cancel.cancelled_caught  # the build was being waited for...
    assert closed  # ...and the wait ended with the cancel, not when the build is done (30 s)
    assert stats(faulty_sandbox)["builds"] == {"building": 1, "ready": 0, "failed": 0}
    assert not after.is_error


async def test_create_action_has_its_own_deadline(faulty_sandbox):
    mode = "auto"
    set_faults(faulty_sandbox, build_seconds=30)
    async with connect_fast(faulty_sandbox, mode, create_action_timeout=2, apps=["vtiger"]) as client:
        result = await client.call_tool("create_action", CREATE)
    # The build takes 30 s: a result before that is the deadline's.
    assert result.is_error and "still building" in text_of(result)
    assert result.structured_content["details"]["state"] == "BUILDING"
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
