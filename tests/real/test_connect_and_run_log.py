"""Issue 13, done-when 2 and 3, through the MCP surface on the sandbox: the connect flow the Membrane way
(connection request -> URL -> the user completes -> the same call waiting returns READY; a broken
connection is reconnected, not duplicated; no leftover makes an app key ambiguous), URL-mode elicitation,
and a failed run's isError leading to its run log in one call."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import types

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.sandboxes import seeded_sandbox
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox_of_mine() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.3, profile="classic")) as running:
        yield running


def structured(result: types.CallToolResult) -> dict[str, Any]:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return dict(result.structured_content)


def api(running: RunningSandbox) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=running.url, headers={"Authorization": f"Bearer {running.token}"})


async def open_link(url: str) -> None:
    """The user opens the sign-in link and completes it (the sandbox's connect page)."""
    async with httpx.AsyncClient() as http:
        (await http.get(url)).raise_for_status()


async def test_a_new_app_connects_through_a_request_and_the_waiting_call_returns_ready(
    sandbox_of_mine: RunningSandbox, mode: str
) -> None:
    async with api(sandbox_of_mine) as http:
        # No bigtincan connection yet: the flow starts from nothing.
        for item in (await http.get("/connections")).json()["items"]:
            if item.get("integration", {}).get("key") == "bigtincan":
                (await http.delete(f"/connections/{item['id']}")).raise_for_status()
    links: list[str] = []

    async def user_opens_the_link(progress: float, total: float | None, message: str | None) -> None:
        if links:  # the waiting call reported progress: the user, shown the link, signs in
            url = links.pop()
            await open_link(url)

    async with connect(settings_for(sandbox_of_mine), mode) as client:
        first = structured(await client.call_tool("connect_app", {"app": "bigtincan"}))
        assert first["state"] == "CLIENT_ACTION_REQUIRED" and first["status"] == "pending"
        assert first["connect_url"].startswith("http") and first["request_id"]
        listed = structured(await client.call_tool("list_connections", {}))["connections"]
        assert not any(c["app"] == "bigtincan" for c in listed)  # nothing half-made is left behind
        links.append(first["connect_url"])
        # The second call with wait_s waits on the pending request (never "already connected").
        waited = structured(
            await client.call_tool(
                "connect_app",
                {"app": "bigtincan", "wait_s": 20},
                progress_callback=user_opens_the_link,
            )
        )
        assert waited["state"] == "READY" and waited["request_id"] == first["request_id"], waited
        tools = {t.name for t in (await client.list_tools()).tools}
        ran = structured(
            await client.call_tool(
                "run_action", {"connection": "bigtincan", "action": "list-groups", "input": {}}
            )
        )
        again = structured(await client.call_tool("connect_app", {"app": "bigtincan"}))
    assert ran["output"] is not None
    assert again["already_connected"] is True
    assert any(name.startswith("bigtincan") for name in tools) or "search_actions" in tools


async def test_a_broken_connection_is_reconnected_not_duplicated(sandbox_of_mine: RunningSandbox) -> None:
    async with api(sandbox_of_mine) as http:
        vtiger = next(
            c for c in (await http.get("/connections")).json()["items"] if c["integration"]["key"] == "vtiger"
        )
        # The user's sign-in expired: Membrane wants the user again on this connection.
        (await http.post(f"/connections/{vtiger['id']}/reconnect")).raise_for_status()
    async with connect(settings_for(sandbox_of_mine)) as client:
        refused = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "get-current-user", "input": {}}
        )
        assert refused.is_error and "CLIENT_ACTION_REQUIRED" in refused.content[0].text
        pending = structured(await client.call_tool("connect_app", {"app": "vtiger"}))
        assert next(iter(pending)) == "agent_instructions"  # Membrane's own words come first
        assert pending["connection"] == vtiger["id"] and pending["reconnecting"] is True
        assert pending["state"] == "CLIENT_ACTION_REQUIRED"
        await open_link(pending["connect_url"])
        done = structured(await client.call_tool("connect_app", {"app": "vtiger", "wait_s": 10}))
        listed = structured(await client.call_tool("list_connections", {}))["connections"]
        ran = structured(
            await client.call_tool(
                "run_action", {"connection": "vtiger", "action": "get-current-user", "input": {}}
            )
        )
    assert done["state"] == "READY" and done["connection"] == vtiger["id"]
    assert [c["id"] for c in listed if c["app"] == "vtiger"] == [vtiger["id"]]
    assert ran["output"]


async def test_a_leftover_connection_never_makes_the_app_key_ambiguous(
    sandbox_of_mine: RunningSandbox,
) -> None:
    async with api(sandbox_of_mine) as http:
        # A half-made second connection (from an older client, or another tool), never completed.
        leftover = (
            await http.post("/connections", json={"connectorKey": "vtiger", "name": "Vtiger 2"})
        ).json()
    assert leftover["state"] == "CLIENT_ACTION_REQUIRED"
    async with connect(settings_for(sandbox_of_mine)) as client:
        listed = structured(await client.call_tool("list_connections", {}))["connections"]
        ran = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "get-current-user", "input": {}}
        )
    shown = next(c for c in listed if c["id"] == leftover["id"])
    assert shown["state"] == "CLIENT_ACTION_REQUIRED" and shown["connect_url"].startswith("http")
    note = structured(ran)["note"]
    assert "only READY one" in note and "'Vtiger 2' (CLIENT_ACTION_REQUIRED)" in note


async def test_the_link_goes_to_the_user_by_url_elicitation_when_the_client_supports_it(
    sandbox_of_mine: RunningSandbox,
) -> None:
    asked: list[types.ElicitRequestURLParams] = []

    async def on_elicit(context: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestURLParams)
        asked.append(params)
        await open_link(params.url)  # the user follows the link the client showed
        return types.ElicitResult(action="accept")

    async with api(sandbox_of_mine) as http:
        for item in (await http.get("/connections")).json()["items"]:
            if item["integration"]["key"] == "1crm":
                (await http.delete(f"/connections/{item['id']}")).raise_for_status()
    async with connect(settings_for(sandbox_of_mine), "legacy", elicitation_callback=on_elicit) as client:
        result = structured(await client.call_tool("connect_app", {"app": "1crm", "wait_s": 20}))
    assert len(asked) == 1 and "/_sandbox/connection-requests/" in asked[0].url
    assert result["state"] == "READY"
    assert "connect_url" not in result  # the link stayed out of the model's context


async def test_a_failed_run_leads_to_its_run_log_in_one_call(
    sandbox_of_mine: RunningSandbox, mode: str
) -> None:
    args = {"connection": "vtiger", "action": "retrieve-record", "input": {"id": "99x424242"}}
    async with connect(settings_for(sandbox_of_mine), mode) as client:
        failed = await client.call_tool("run_action", args)
        assert failed.is_error
        text = failed.content[0].text
        match = re.search(r"get_run_log \{run_id: '([^']+)', details: true\}", text)
        assert match, text
        log = structured(await client.call_tool("get_run_log", {"run_id": match.group(1), "details": True}))
        brief = structured(await client.call_tool("get_run_log", {"run_id": match.group(1)}))
        unknown = await client.call_tool("get_run_log", {"run_id": "no-such-run"})
    assert log["status"] == "error" and log["error"] and log["action"]["key"] == "retrieve-record"
    assert log["input"] == {"id": "99x424242"}
    assert log["details"]["request"] and log["details"]["response"]
    assert "details" not in brief and "details: true" in brief["next_step"]
    assert unknown.is_error


async def test_tools_list_has_get_run_log_as_a_read_only_tool(sandbox_of_mine: RunningSandbox) -> None:
    async with connect(settings_for(sandbox_of_mine)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["get_run_log"].annotations is not None and tools["get_run_log"].annotations.read_only_hint


async def test_waiting_on_a_request_is_bounded_by_wait_s(sandbox_of_mine: RunningSandbox) -> None:
    """A user who never signs in: the waiting call returns the pending request (no hang, no error)."""
    async with api(sandbox_of_mine) as http:
        for item in (await http.get("/connections")).json()["items"]:
            if item["integration"]["key"] == "1crm":
                (await http.delete(f"/connections/{item['id']}")).raise_for_status()
    async with connect(settings_for(sandbox_of_mine)) as client:
        first = structured(await client.call_tool("connect_app", {"app": "1crm"}))
        again = structured(
            await client.call_tool(
                "connect_app", {"request_id": first["request_id"], "app": "1crm", "wait_s": 1}
            )
        )
    assert again["status"] == "pending" and again["request_id"] == first["request_id"]
    assert again["connect_url"] == first["connect_url"]
