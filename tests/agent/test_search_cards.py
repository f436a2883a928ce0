"""Search cards are built once per catalog snapshot: repeated searches answer the same bytes, each result
gets its own card objects, and a reloaded catalog gets cards of its own."""

from __future__ import annotations

import gc

import pytest

from membrane_mcp.tools import discovery, handlers
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


async def test_repeated_searches_answer_the_same_cards_through_mcp(sandbox):
    async with connect(settings_for(sandbox)) as client:
        first = await client.call_tool("search_actions", {"query": "find contacts by email", "limit": 5})
        again = await client.call_tool("search_actions", {"query": "find contacts by email", "limit": 5})
        every = await client.call_tool(
            "search_actions", {"query": "find contacts by email", "limit": 5, "schemas": True}
        )
        snapshot = await client.gateway.catalog.snapshot()  # type: ignore[attr-defined]
        view = client.gateway.catalog.view(snapshot, None)  # type: ignore[attr-defined]
        entries = {(e.connection_id, e.action_key): e for e in snapshot.entries}
    assert not first.is_error and first.content[0].text == again.content[0].text
    results = first.structured_content["results"]
    assert "input_schema" in results[0] and all("input_schema" not in hit for hit in results[1:])
    assert all("input_schema" in hit for hit in every.structured_content["results"])
    top = results[0]
    entry = entries[(top.get("connection") or _only_connection(snapshot, top["app"]), top["key"])]
    assert top == discovery.card(
        entry, view.listed_name(entry), full_schema=True, name_connection="connection" in top
    )


def _only_connection(snapshot, app_key: str) -> str:
    [connection] = [c.id for c in snapshot.connections if c.app_key == app_key]
    return connection


async def test_cards_are_copies_and_belong_to_their_snapshot(sandbox):
    async with connect(settings_for(sandbox)) as client:
        snapshot = await client.gateway.catalog.snapshot()  # type: ignore[attr-defined]
        entry = snapshot.entries[0]
        cards = handlers._cards_of(snapshot)
        one = cards.card(entry, None, full_schema=True, name_connection=True)
        one["key"] = "changed by a caller"
        two = cards.card(entry, None, full_schema=True, name_connection=True)
        assert two == discovery.card(entry, None, full_schema=True, name_connection=True)
        assert handlers._cards_of(snapshot) is cards
        fresh = await client.gateway.catalog.refresh()  # type: ignore[attr-defined]
        assert fresh is not snapshot and handlers._cards_of(fresh) is not cards


def test_cards_are_forgotten_with_their_snapshot() -> None:
    class Snapshot:
        pass

    snapshot = Snapshot()
    handlers._cards_of(snapshot)  # type: ignore[arg-type]
    key = id(snapshot)
    assert key in handlers._search_cards
    del snapshot
    gc.collect()
    assert key not in handlers._search_cards
