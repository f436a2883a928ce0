"""Actions added or removed upstream show up without a restart; a vanished tool says so."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from membrane_sandbox.serve import RunningSandbox
from tests.clock import FakeClock
from tests.reliability.conftest import connect_fast, runs_with_input, text_of

pytestmark = pytest.mark.anyio


def _api(running: RunningSandbox) -> httpx.Client:
    return httpx.Client(
        base_url=running.url, headers={"Authorization": f"Bearer {running.token}"}, timeout=15
    )


def add_action(running: RunningSandbox, key: str) -> dict[str, Any]:
    """`POST /actions` straight on the sandbox (another user of the workspace), then wait for the build."""
    with _api(running) as api:
        vtiger = next(
            c["id"] for c in api.get("/connections").json()["items"] if "vtiger" in c["name"].lower()
        )
        created = api.post(
            "/actions", json={"intent": "list vtiger leads", "connectionId": vtiger, "key": key}
        )
        created.raise_for_status()
        ready = api.get(f"/actions/{created.json()['id']}", params={"wait": "true", "timeout": 10}).json()
    assert ready["state"] == "READY", ready
    return ready


def remove_action(running: RunningSandbox, action_id: str) -> None:
    with _api(running) as api:
        api.delete(f"/actions/{action_id}").raise_for_status()


async def _tool_names(client: Any) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}


async def test_an_added_action_appears_after_the_ttl_and_a_removed_one_disappears(faulty_sandbox):
    mode = "auto"  # the catalog is below the protocol
    clock = FakeClock()
    async with connect_fast(
        faulty_sandbox, mode, apps=["vtiger"], catalog_ttl=60, catalog_clock=clock
    ) as client:
        before = await _tool_names(client)
        action = add_action(faulty_sandbox, "rel-added")
        clock.advance(59)
        still_cached = await _tool_names(client)
        clock.advance(1)
        after_ttl = await _tool_names(client)
        remove_action(faulty_sandbox, action["id"])
        clock.advance(60)
        after_removal = await _tool_names(client)
    added = after_ttl - before
    assert still_cached == before  # within the TTL the cached list is served
    assert len(added) == 1 and next(iter(added)).endswith("rel_added")
    assert after_removal == before


async def test_an_explicit_refresh_finds_a_new_action_without_waiting_for_the_ttl(faulty_sandbox):
    mode = "legacy"
    async with connect_fast(faulty_sandbox, mode, apps=["vtiger"], catalog_ttl=300) as client:
        before = await _tool_names(client)
        add_action(faulty_sandbox, "rel-fresh")
        # run_action on a key the cached catalog does not know reloads it once before giving up.
        result = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "rel-fresh", "input": {}}
        )
        after = await _tool_names(client)
    assert not result.is_error, text_of(result)
    assert {name for name in after - before if name.endswith("rel_fresh")}


async def test_calling_a_tool_whose_action_vanished_says_so_and_refreshes_the_list(faulty_sandbox, mode):
    async with connect_fast(faulty_sandbox, mode, apps=["vtiger"], catalog_ttl=300) as client:
        action = add_action(faulty_sandbox, "rel-vanishing")
        client.gateway.catalog.invalidate()
        tool = next(name for name in await _tool_names(client) if name.endswith("rel_vanishing"))
        remove_action(faulty_sandbox, action["id"])
        result = await client.call_tool(tool, {})
        listed = await _tool_names(client)
        via_meta = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": action["id"], "input": {}}
        )
    assert result.is_error
    assert "no longer exists" in text_of(result) and "Nothing was run" in text_of(result)
    assert result.structured_content["details"]["vanished"] is True
    assert tool not in listed  # the list was refreshed at once, not after the TTL
    assert via_meta.is_error and "No action" in text_of(via_meta)
    assert runs_with_input(faulty_sandbox, "") == 0  # nothing ran
