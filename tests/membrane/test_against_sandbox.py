"""The client against the local sandbox over real HTTP (loopback)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from membrane_mcp.membrane import (
    Action,
    Connection,
    MembraneClient,
    MembraneConfig,
    NotFound,
    StaticToken,
    WorkspaceCredentials,
)
from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import seeded_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.5, profile="classic")) as running:
        yield running


def _client(sandbox: Any) -> MembraneClient:
    return MembraneClient(MembraneConfig(sandbox.url), StaticToken(sandbox.token))


async def _vtiger(client: MembraneClient) -> Connection:
    connections = await client.list_connections()
    return next(
        c
        for c in connections
        if "vtiger" in (c.integration.key if c.integration else "") and c.state == "READY"
    )


def _string_property(action: Action) -> str:
    schema = action.input_schema or {}
    required = schema.get("required") or list(schema.get("properties", {}))
    return next(name for name in required if schema["properties"][name].get("type") == "string")


@pytest.mark.anyio
async def test_list_connections(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        connections = await client.list_connections()
    assert connections and all(c.id for c in connections)
    assert any("vtiger" in (c.integration.key if c.integration else "") for c in connections)


@pytest.mark.anyio
@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")  # the sandbox's secret is short
async def test_workspace_credentials_are_accepted(sandbox: Any) -> None:
    config = sandbox.config
    creds = WorkspaceCredentials(config.workspace_key, config.workspace_secret, "sandbox-tenant")
    async with MembraneClient(MembraneConfig(sandbox.url), creds) as client:
        assert await client.list_connections()


@pytest.mark.anyio
async def test_list_actions_all_pages_and_with_intent(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger(client)
        everything = await client.list_actions(connection_id=vtiger.id)
        ranked = await client.list_actions(connection_id=vtiger.id, intent="query records with SQL", limit=5)
    assert len(everything) >= len(ranked) > 0
    assert len(ranked) <= 5
    assert any(a.key == "query-records" for a in everything)
    assert "query-records" in [a.key for a in ranked]


@pytest.mark.anyio
async def test_search_connectors(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        results = await client.search("vtiger")
    assert results and results[0].element_type == "connector"
    assert any(r.element.get("key") == "vtiger" for r in results)


@pytest.mark.anyio
async def test_run_vtiger_query_records(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger(client)
        action = next(
            a for a in await client.list_actions(connection_id=vtiger.id) if a.key == "query-records"
        )
        field = _string_property(action)
        with anyio.fail_after(30):
            result = await client.run_action(action.id, vtiger.id, {field: "SELECT * FROM Contacts LIMIT 2;"})
        assert len(result.output["records"]) == 2
        if result.action_run_id:
            log = await client.get_action_run_log(result.action_run_id)
            assert log.get("id") == result.action_run_id


@pytest.mark.anyio
async def test_proxy_get_me(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger(client)
        response = await client.proxy(vtiger.id, "GET", "/me")
        missing = await client.proxy(vtiger.id, "GET", "/no-such-endpoint-here")
        with pytest.raises(NotFound):
            await client.proxy("no-such-connection", "GET", "/me")
    assert response.status == 200, response.text
    assert response.body
    assert missing.status >= 400  # the app's own error comes back verbatim, not raised


@pytest.mark.anyio
async def test_create_action_and_wait(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger(client)
        created = await client.create_action("list the five newest leads", vtiger.id)
        assert created.id
        progress: list[float] = []
        with anyio.fail_after(30):
            ready = await client.wait_for_action(
                created.id, on_progress=lambda elapsed, _a: progress.append(elapsed)
            )
        assert ready.state not in (None, "BUILDING"), ready
        assert ready.id == created.id
        await client.archive_action(created.id)


@pytest.mark.anyio
async def test_answers_read_are_freed_without_a_cyclic_collection(sandbox: Any) -> None:
    """A catalog load pauses the cyclic collector (gc_tuning.py): an answer in a reference cycle, with
    its body, would stay alive until the load ends. None is left once the calls return."""
    gc.collect()
    before = [o for o in gc.get_objects() if isinstance(o, httpx.Response)]  # other tests' (kept alive)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        async with _client(sandbox) as client:
            connections = await client.list_connections()
            actions = await client.list_actions(connection_id=connections[0].id, schemas={})
            await client.get_action(actions[0].id)
            alive = [
                o
                for o in gc.get_objects()
                if isinstance(o, httpx.Response) and not any(o is old for old in before)
            ]
    finally:
        if was_enabled:
            gc.enable()
    assert actions and alive == []
