"""A tool name create_action returns is callable from every later session of the same user."""

from __future__ import annotations

import subprocess

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from membrane_sandbox.serve import RunningSandbox
from tests.processes import server_env, spawn_http, stop_process

pytestmark = pytest.mark.anyio

INTENT = "list all vtiger campaigns with their expected revenue"


def _spawn(sandbox: RunningSandbox, mode: str) -> tuple[subprocess.Popen[bytes], str]:
    process, url = spawn_http([], server_env(sandbox, MEMBRANE_MCP_TOOL_MODE=mode))
    return process, f"{url}/mcp"


@pytest.mark.parametrize("mode", ["direct", "search"])
async def test_created_tool_name_runs_in_new_sessions_and_other_processes(fresh_sandbox, mode):
    builder_process, builder_url = _spawn(fresh_sandbox, mode)
    # Another server process already running, its catalog loaded before the action exists.
    other_process, other_url = _spawn(fresh_sandbox, mode)
    try:
        async with Client(other_url, mode="legacy") as early:
            await early.list_tools()
            await early.call_tool("list_connections", {})
        async with Client(builder_url, mode="legacy") as builder:
            created = await builder.call_tool(
                "create_action", {"connection": "vtiger", "description": INTENT}
            )
        assert not created.is_error, created.content
        tool = created.structured_content["tool"]
        assert tool
        async with Client(builder_url, mode="legacy") as later:
            await _assert_callable(later, tool, mode)
        async with Client(other_url, mode="legacy") as later:
            await _assert_callable(later, tool, mode)
    finally:
        stop_process(builder_process)
        stop_process(other_process)
    fresh_process, fresh_url = _spawn(fresh_sandbox, mode)  # a fresh process on the same sandbox database
    try:
        async with Client(fresh_url, mode="legacy") as later:
            await _assert_callable(later, tool, mode)
            with pytest.raises(MCPError, match="Unknown tool"):
                await later.call_tool("vtiger_no_such_tool", {})
    finally:
        stop_process(fresh_process)


async def _assert_callable(client: Client, tool: str, mode: str) -> None:
    await client.call_tool("list_connections", {})  # the process has a catalog loaded
    # By name first: a process whose catalog predates the action reloads it rather than "Unknown tool".
    by_name = await client.call_tool(tool, {})
    assert not by_name.is_error, by_name.content
    assert "expectedrevenue" in by_name.content[0].text
    names = {t.name for t in (await client.list_tools()).tools}
    assert (tool in names) == (mode == "direct")  # search mode keeps other sessions' lists small
    ran = await client.call_tool("run_action", {"connection": "vtiger", "action": tool})
    assert not ran.is_error, ran.content
    assert "expectedrevenue" in ran.content[0].text
