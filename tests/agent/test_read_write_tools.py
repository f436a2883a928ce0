"""Read and write tools a host can approve by kind, through the MCP surface: run_action and raw_request
are read-only and refuse writes before anything is sent, naming the write tool; run_write_action and
raw_write_request are destructive; the policies hide the write tools as they hide writes."""

from __future__ import annotations

import pytest

from tests.hints import hint, may_destroy
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

CREATE = {
    "connection": "vtiger",
    "action": "create-record",
    "input": {"elementType": "Contacts", "element": {"lastname": "Kind-Split"}},
}


def _tools(tools):
    return {tool.name: tool for tool in tools}


async def test_a_read_run_needs_no_destructive_annotated_tool(sandbox):
    async with connect(settings_for(sandbox)) as client:
        tools = _tools((await client.list_tools()).tools)
        read = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": "SELECT id FROM Contacts LIMIT 1;"},
            },
        )
        raw = await client.call_tool("raw_request", {"connection": "vtiger", "path": "/me"})
    for name in ("list_connections", "search_actions", "describe_action", "run_action", "raw_request"):
        assert hint(tools[name], "readOnlyHint") is True and not may_destroy(tools[name]), name
    for name in ("run_write_action", "raw_write_request"):
        assert may_destroy(tools[name]), name
    assert tools["raw_request"].input_schema["properties"]["method"]["enum"] == ["GET"]
    assert "body" not in tools["raw_request"].input_schema["properties"]
    assert tools["raw_write_request"].input_schema["properties"]["method"]["enum"] == [
        "POST",
        "PUT",
        "PATCH",
        "DELETE",
    ]
    assert not read.is_error and read.structured_content["output"]["records"]
    assert not raw.is_error and raw.structured_content["status"] == 200


async def test_a_write_sent_to_a_read_tool_is_refused_before_anything_is_sent(fresh_sandbox):
    async with connect(settings_for(fresh_sandbox)) as client:
        before = sandbox_stats(fresh_sandbox)
        refused = await client.call_tool("run_action", CREATE)
        raw_refused = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "POST", "path": "/create", "body": {"x": 1}}
        )
        after_refusals = sandbox_stats(fresh_sandbox)
        created = await client.call_tool("run_write_action", CREATE)
        read_to_write_tool = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": "SELECT id FROM Contacts;"},
            },
        )
    assert refused.is_error and "run_write_action" in refused.content[0].text
    assert raw_refused.is_error and "raw_write_request" in raw_refused.content[0].text
    assert after_refusals["actionRuns"] == before["actionRuns"]
    assert after_refusals["proxyRequests"] == before["proxyRequests"]
    assert not created.is_error, created.content
    assert created.structured_content["output"]["id"]
    assert read_to_write_tool.is_error and "run_action" in read_to_write_tool.content[0].text


async def test_read_only_mode_lists_no_write_tool_and_deny_destructive_keeps_creates(sandbox):
    async with connect(settings_for(sandbox, read_only=True)) as client:
        read_only = _tools((await client.list_tools()).tools)
    async with connect(settings_for(sandbox, deny_destructive=True)) as client:
        no_destructive = _tools((await client.list_tools()).tools)
    assert "run_write_action" not in read_only and "raw_write_request" not in read_only
    assert {"run_action", "raw_request"} <= set(read_only)
    assert not any(may_destroy(tool) for tool in read_only.values())
    # --deny-destructive: writes are creates only; raw writes are outside the action lists, so off.
    assert not may_destroy(no_destructive["run_write_action"])
    assert "raw_write_request" not in no_destructive
