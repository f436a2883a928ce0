"""The product, driven through an MCP client (both protocol eras) against the sandbox."""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from mcp import types
from mcp.shared.exceptions import MCPError
from pydantic import SecretStr

from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

META = {
    "list_connections",
    "search_actions",
    "describe_action",
    "run_action",
    "run_write_action",
    "raw_request",
    "raw_write_request",
    "create_action",
    "connect_app",
    "get_run_log",
}


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result.content
    return result.structured_content


async def test_auto_mode_lists_only_meta_tools_for_a_large_catalog(sandbox, mode):
    async with connect(settings_for(sandbox), mode) as client:
        tools = (await client.list_tools()).tools
    assert {tool.name for tool in tools} == META
    assert [tool.name for tool in tools] == [
        "list_connections",
        "search_actions",
        "describe_action",
        "run_action",
        "run_write_action",
        "raw_request",
        "raw_write_request",
        "create_action",
        "connect_app",
        "get_run_log",
    ]
    # A title only where it says more than the name (listed once, at the top level).
    titled = {tool.name: tool.title for tool in tools if tool.title}
    assert titled == {"run_action": "Run read action", "raw_request": "Raw API read",
                      "raw_write_request": "Raw API write"}  # fmt: skip
    for tool in tools:
        assert tool.input_schema["type"] == "object"


async def test_list_connections_shows_the_three_apps(sandbox, mode):
    async with connect(settings_for(sandbox), mode) as client:
        result = await client.call_tool("list_connections", {})
    connections = structured(result)["connections"]
    assert sorted(c["app"] for c in connections) == ["1crm", "bigtincan", "vtiger"]
    assert all(c["state"] == "READY" and c["actions"] >= 8 for c in connections)


async def test_search_actions_ranks_a_vtiger_query_first(sandbox, mode):
    async with connect(settings_for(sandbox), mode) as client:
        result = await client.call_tool("search_actions", {"query": "find contacts by email in vtiger"})
    hits = structured(result)["results"]
    top3 = [(hit["app"], hit["key"]) for hit in hits[:3]]
    assert any(app == "vtiger" and key in ("query-records", "retrieve-record") for app, key in top3), top3
    first = hits[0]
    assert set(first) >= {"app", "key", "name", "description", "kind", "required", "input_schema"}


async def test_run_action_vtiger_query_returns_three_contacts(sandbox, mode):
    args = {
        "connection": "vtiger",
        "action": "query-records",
        "input": {"query": "SELECT * FROM Contacts LIMIT 3;"},
    }
    async with connect(settings_for(sandbox), mode) as client:
        result = await client.call_tool("run_action", args)
    assert not result.is_error, result.content
    payload = structured(result)
    records = payload["output"]["records"]
    assert len(records) == 3
    assert all(record["id"].startswith(records[0]["id"].split("x")[0] + "x") for record in records)
    assert all("lastname" in record for record in records)
    assert payload["actionRunId"]


async def test_raw_request_get_me_returns_the_apps_json(sandbox, mode):
    async with connect(settings_for(sandbox), mode) as client:
        result = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
        )
    payload = structured(result)
    assert payload["status"] == 200
    assert payload["body"]["success"] is True
    assert "user_name" in payload["body"]["result"]


async def test_unknown_tool_is_a_jsonrpc_invalid_params_error(sandbox, mode):
    async with connect(settings_for(sandbox), mode) as client:
        with pytest.raises(MCPError) as caught:
            await client.call_tool("vtiger_no_such_action", {})
    assert caught.value.error.code == types.INVALID_PARAMS
    assert caught.value.error.message == (
        "Unknown tool: vtiger_no_such_action. "
        "search_actions finds an action by intent; list_connections shows the apps."
    )


async def test_direct_mode_lists_vtiger_actions_with_schemas_and_annotations(sandbox, mode):
    settings = settings_for(sandbox, tool_mode="direct", apps=["vtiger"])
    async with connect(settings, mode) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == META | {
        "vtiger_query_records",
        "vtiger_retrieve_record",
        "vtiger_create_record",
        "vtiger_update_record",
        "vtiger_delete_record",
        "vtiger_describe_module",
        "vtiger_list_modules",
        "vtiger_get_current_user",
    }
    query = tools["vtiger_query_records"]
    assert query.annotations.read_only_hint is True
    assert "description" in query.input_schema["properties"]["query"]
    assert query.output_schema is None  # not listed in direct mode (bytes); describe_action gives it
    create = tools["vtiger_create_record"]
    assert create.annotations.read_only_hint is None and create.annotations.destructive_hint is False
    assert "Contacts" in create.input_schema["properties"]["elementType"]["enum"]
    delete = tools["vtiger_delete_record"]
    # destructiveHint true is the spec's default, so it is not sent
    assert delete.annotations.destructive_hint is None and delete.annotations.idempotent_hint is True
    update = tools["vtiger_update_record"]
    assert update.annotations.destructive_hint is None and update.annotations.read_only_hint is None


async def test_direct_tool_runs_and_output_matches_its_schema(sandbox, mode):
    settings = settings_for(sandbox, tool_mode="direct", apps=["vtiger"])
    async with connect(settings, mode) as client:
        await client.list_tools()
        result = await client.call_tool("vtiger_query_records", {"query": "SELECT * FROM Accounts LIMIT 2;"})
    assert not result.is_error, result.content
    assert len(structured(result)["records"]) == 2


async def test_bad_arguments_name_every_field_and_send_nothing(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, tool_mode="direct", apps=["vtiger"])
    async with connect(settings, mode) as client:
        await client.list_tools()
        before = sandbox_stats(fresh_sandbox)
        result = await client.call_tool("vtiger_create_record", {"elementType": "Spaceships", "element": "x"})
        run = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "retrieve-record", "input": {"id": 12}}
        )
        after = sandbox_stats(fresh_sandbox)
    assert result.is_error
    text = result.content[0].text
    assert "elementType" in text and "element" in text and "nothing was sent" in text
    assert run.is_error and "`id`" in run.content[0].text
    assert after["actionRuns"] == before["actionRuns"]
    # Only the stats request itself reached the sandbox in between.
    assert after["requestsServed"] - before["requestsServed"] <= 1


async def test_long_output_is_cut_at_a_record_boundary(sandbox):
    settings = settings_for(sandbox, max_output_bytes=4096)
    args = {
        "connection": "vtiger",
        "action": "query-records",
        "input": {"query": "SELECT * FROM Contacts LIMIT 100;"},
    }
    async with connect(settings) as client:
        result = await client.call_tool("run_action", args)
    assert not result.is_error
    assert len(result.content[0].text.encode()) <= 4096
    payload = structured(result)
    # run_action slices at a record boundary and keeps the rest behind a continuation handle.
    shown = len(payload["output"]["records"])
    assert 0 < shown < payload["continuation"]["total"] and payload["continuation"]["handle"]


async def test_create_action_reaches_ready_changes_the_list_and_runs(fresh_sandbox, mode):
    description = "list all vtiger campaigns with their expected revenue"
    progress: list[tuple[float, float | None, str | None]] = []
    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, types.ServerNotification) or hasattr(message, "root"):
            inner = getattr(message, "root", message)
            if isinstance(inner, types.ToolListChangedNotification):
                changed.set()
        if isinstance(message, types.ToolListChangedNotification):
            changed.set()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    async with connect(settings_for(fresh_sandbox), mode, message_handler=on_message) as client:
        before = {tool.name for tool in (await client.list_tools()).tools}
        if mode == "auto":
            async with client.listen(tools_list_changed=True) as subscription:
                result = await client.call_tool(
                    "create_action",
                    {"connection": "vtiger", "description": description},
                    progress_callback=on_progress,
                )
                with anyio.fail_after(5):
                    async for _event in subscription:
                        changed.set()
                        break
        else:
            result = await client.call_tool(
                "create_action",
                {"connection": "vtiger", "description": description},
                progress_callback=on_progress,
            )
            with anyio.fail_after(5):
                await changed.wait()
        assert not result.is_error, result.content
        created = structured(result)
        assert created["state"] == "READY" and created["tool"]
        after = {tool.name for tool in (await client.list_tools()).tools}
        assert after - before == {created["tool"]}
        ran = await client.call_tool(created["tool"], {})
    assert changed.is_set()
    assert progress, "create_action sent no progress notifications"
    assert not ran.is_error, ran.content
    text = ran.content[0].text
    assert "expectedrevenue" in text


async def test_create_action_that_cannot_be_built_explains_why(fresh_sandbox):
    async with connect(settings_for(fresh_sandbox)) as client:
        result = await client.call_tool(
            "create_action", {"connection": "vtiger", "description": "launch the spaceships to mars"}
        )
    assert result.is_error
    assert "CONFIGURATION_ERROR" in result.content[0].text


async def test_ambiguous_app_key_is_refused_and_names_stay_distinct(fresh_sandbox):
    headers = {"Authorization": f"Bearer {fresh_sandbox.token}"}
    async with httpx.AsyncClient() as http:
        created = await http.post(
            f"{fresh_sandbox.url}/connections",
            json={"connectorKey": "vtiger", "name": "Vtiger EU"},
            headers=headers,
        )
    created.raise_for_status()
    connection = created.json()
    assert connection.get("state") == "CLIENT_ACTION_REQUIRED" or connection.get("disconnected") is True
    pending_settings = settings_for(fresh_sandbox, apps=["vtiger"], tool_mode="direct")
    async with connect(pending_settings) as client:
        listed = structured(await client.call_tool("list_connections", {}))["connections"]
        pending = next(c for c in listed if c["id"] == connection["id"])
        assert pending["connect_url"] == connection["clientAction"]["uiUrl"]
        refused = await client.call_tool(
            "run_action", {"connection": connection["id"], "action": "get-current-user", "input": {}}
        )
        assert refused.is_error and connection["clientAction"]["uiUrl"] in refused.content[0].text

    async with httpx.AsyncClient() as http:
        (await http.get(connection["clientAction"]["uiUrl"])).raise_for_status()
    async with connect(pending_settings) as client:
        names = [tool.name for tool in (await client.list_tools()).tools if tool.name.startswith("vtiger")]
        ambiguous = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "get-current-user", "input": {}}
        )
    assert len(names) == 16 and len(set(names)) == 16
    assert ambiguous.is_error and "Pass the connection id" in ambiguous.content[0].text


# connect_app's flow (connection request, URL, waiting, reconnecting) is driven in tests/real.


async def test_rejected_credentials_still_list_meta_tools_and_explain(sandbox, mode):
    settings = settings_for(sandbox).model_copy(update={"token": SecretStr("pat-wrong")})
    async with connect(settings, mode) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        result = await client.call_tool("list_connections", {})
    assert names == META
    assert result.is_error
    assert "credentials" in result.content[0].text and "pat-wrong" not in result.content[0].text
