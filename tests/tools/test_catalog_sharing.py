"""What a loaded catalog shares between its entries instead of holding a copy per action (memory per
tenant), driven through the MCP client against the sandbox's synthetic apps, whose objects repeat
across apps. Structural properties only: no memory figure is asserted."""

from __future__ import annotations

import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient, MembraneConfig
from membrane_mcp.membrane.models import Action
from membrane_mcp.tools import catalog
from membrane_mcp.tools.annotations import tool_annotations
from membrane_mcp.tools.catalog import Catalog, ToolEntry
from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import RunningSandbox, seeded_sandbox
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.3, synthetic_connections=3)) as running:
        yield running


async def _entries(sandbox: RunningSandbox) -> list[ToolEntry]:
    async with connect(settings_for(sandbox, apps=["synth-*"], tool_mode="search")) as client:
        assert (await client.list_tools()).tools
        snapshot = await client.gateway.catalog.snapshot()  # type: ignore[attr-defined]
    return snapshot.entries


async def test_equal_keys_names_and_schemas_are_one_object_across_connections(sandbox) -> None:
    entries = await _entries(sandbox)
    by_key: dict[str, list[ToolEntry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.action_key].append(entry)
    repeated = [same for same in by_key.values() if len({e.connection_id for e in same}) > 1]
    assert repeated, "the synthetic apps share objects, so some action keys repeat across connections"
    for same in repeated:
        first = same[0]
        for other in same[1:]:
            assert other.action_key is first.action_key
            if other.action_name == first.action_name:
                assert other.action_name is first.action_name
            if other.input_schema == first.input_schema:
                assert other.input_schema is first.input_schema


async def test_annotations_are_made_from_the_entry_not_kept(sandbox) -> None:
    entries = await _entries(sandbox)
    for entry in entries:
        assert "annotations" not in vars(entry)
        assert entry.annotations == tool_annotations(entry.kind, f"{entry.app_name}: {entry.action_name}")


def _membrane(
    connections: list[dict[str, Any]], requests: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    """A Membrane with these connections; integration `i<n>` has two actions, connections none of their own."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        if request.url.path == "/connections":
            return httpx.Response(200, json={"items": connections})
        integration = request.url.params.get("integrationId")
        if integration:
            items = [{"id": f"{integration}-{key}", "key": key} for key in ("list-leads", "create-lead")]
            return httpx.Response(200, json={"items": items})
        if request.url.path.startswith(("/integrations/", "/connectors/")):
            found = request.url.path.rsplit("/", 1)[1]
            return httpx.Response(200, json={"id": found, "key": f"app-{found}", "name": "App"})
        return httpx.Response(200, json={"items": []})

    return answer


def _connection(index: int, integration: str, *, embedded: bool = True) -> dict[str, Any]:
    named = {"integration": {"id": integration, "key": f"app-{integration}", "name": "App"}}
    return {"id": f"c{index}", "name": f"C{index}", "state": "READY", **(named if embedded else {})} | (
        {} if embedded else {"integrationId": integration}
    )


async def _actions_alive_when_naming(
    connections: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, int]:
    """How many of the actions a load made entries of are still alive when it names them (all are in)."""
    made: list[weakref.ref[Action]] = []
    alive: list[int] = []
    unnamed_entries, name_entries = catalog.unnamed_entries, catalog.name_entries

    def recording(info: Any, actions: Any, schemas: Any) -> list[ToolEntry]:
        actions = list(actions)
        made.extend(weakref.ref(action) for action in actions)
        return unnamed_entries(info, actions, schemas)

    def counting(unnamed: Any) -> list[ToolEntry]:
        alive.append(sum(ref() is not None for ref in made))
        return name_entries(unnamed)

    monkeypatch.setattr(catalog, "unnamed_entries", recording)
    monkeypatch.setattr(catalog, "name_entries", counting)
    requests: list[httpx.Request] = []
    transport = httpx.MockTransport(_membrane(connections, requests))
    async with MembraneClient(
        MembraneConfig("https://membrane.test"), StaticToken("t"), transport=transport
    ) as client:
        snapshot = await Catalog(client).get()
    assert len(snapshot.entries) == len(made) == 2 * len(connections)
    listed = [r.url.params["integrationId"] for r in requests if "integrationId" in r.url.params]
    assert len(listed) == len(set(listed))  # each integration's list fetched once, as before
    return alive[0], len(made)


async def test_an_integrations_actions_go_once_every_connection_of_it_made_its_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    connections = [_connection(0, "i1"), _connection(1, "i1"), _connection(2, "i2", embedded=False)]
    alive, _ = await _actions_alive_when_naming(connections, monkeypatch)
    assert alive == 0


async def test_a_connection_named_by_a_lookup_keeps_the_lists_to_the_end_of_the_load(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unnamed = {"id": "c9", "name": "C9", "state": "READY", "connectorId": "i3"}  # app from its connector
    alive, made = await _actions_alive_when_naming([_connection(0, "i1"), unnamed], monkeypatch)
    assert alive == made
