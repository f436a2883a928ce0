"""A catalog of many connections lists every connection-level action at once (`GET /actions?layer=connection`)
and names the apps of connections without an embedded integration with one `GET /integrations`; what the
tools show is what one list per connection shows, on every shape of the sandbox, and a server that
refuses or ignores the filter gets one list per connection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient, MembraneConfig
from membrane_mcp.settings import Settings
from membrane_mcp.tools import catalog
from membrane_mcp.tools.catalog import Catalog
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.server.conftest import connect

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["classic", "shapes"])
def many_connections(request: pytest.FixtureRequest) -> Iterator[RunningSandbox]:
    """12 connections (9 synthetic, 3 apps): instances made up front (classic) or at first run (shapes)."""
    config = SandboxConfig(
        profile=request.param, synthetic_connections=9, synthetic_actions=6, build_seconds=0.3
    )
    with start_in_thread(config) as running:
        yield running


async def _listed(running: RunningSandbox) -> list[tuple[str, str | None, str | None]]:
    settings = Settings(api_url=running.url, token=running.token, tool_mode="direct")
    async with connect(settings) as client:
        tools = (await client.list_tools()).tools
    return sorted((t.name, t.title, t.description) for t in tools)


def _many_connections(
    requests: list[httpx.Request], layer_list: Callable[[], httpx.Response]
) -> Callable[[httpx.Request], httpx.Response]:
    """A Membrane with BULK_OWN_MIN connections of one integration (i1, one action); each connection
    lists one action of its own; `layer_list` answers `GET /actions?layer=connection`. Requests are kept."""

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        query = request.url.params
        if request.url.path == "/connections":
            return httpx.Response(200, json={"items": _connections(catalog.BULK_OWN_MIN)})
        if query.get("layer") == "connection":
            return layer_list()
        if query.get("connectionId"):
            own = query["connectionId"]
            return httpx.Response(
                200, json={"items": [{"id": f"own-{own}", "key": "custom", "connectionId": own}]}
            )
        if query.get("integrationId") == "i1":
            return httpx.Response(200, json={"items": [{"id": "i-list", "key": "list-modules"}]})
        return httpx.Response(200, json={"items": []})

    return answer


async def _loaded(answer: Callable[[httpx.Request], httpx.Response]) -> catalog.CatalogSnapshot:
    """A catalog loaded from a Membrane that answers each request with `answer`."""
    transport = httpx.MockTransport(answer)
    async with MembraneClient(
        MembraneConfig(base_url="https://membrane.test"), StaticToken("t"), transport=transport
    ) as client:
        return await Catalog(client).get()


async def test_one_list_for_all_connections_shows_what_one_list_each_shows(
    many_connections: RunningSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    at_once = await _listed(many_connections)
    monkeypatch.setattr(catalog, "BULK_OWN_MIN", 10_000)
    monkeypatch.setattr(catalog, "BULK_NAMING_MIN", 10_000)
    one_each = await _listed(many_connections)
    assert at_once == one_each
    assert len([name for name, _, _ in at_once if name.startswith("synth")]) == 9 * 6


async def test_an_action_run_on_a_connection_is_listed_once_as_that_connections(
    many_connections: RunningSandbox,
) -> None:
    """Under `shapes` the run makes the connection-level instance; it must replace, not add to, the
    integration-level action in the tools."""
    settings = Settings(api_url=many_connections.url, token=many_connections.token, tool_mode="direct")
    async with connect(settings) as client:
        before = sorted(t.name for t in (await client.list_tools()).tools)
        name = next(n for n in before if n.startswith("synth") and "list" in n)
        result = await client.call_tool(name, {})
        assert not result.is_error, result.content
        client.gateway.catalog.invalidate()  # type: ignore[attr-defined]
        after = sorted(t.name for t in (await client.list_tools()).tools)
    assert after == before


def _connections(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"c{i}",
            "name": f"C{i}",
            "state": "READY",
            "integration": {"id": "i1", "key": "vtiger", "name": "V"},
        }
        for i in range(count)
    ]


@pytest.mark.parametrize("bulk_answer", ["refused", "unfiltered", "malformed"])
async def test_a_server_that_refuses_ignores_or_garbles_the_layer_filter_gets_one_list_per_connection(
    bulk_answer: str,
) -> None:
    def layer_list() -> httpx.Response:
        if bulk_answer == "refused":
            return httpx.Response(400, json={"type": "bad_request", "message": "unknown filter layer"})
        if bulk_answer == "malformed":
            return httpx.Response(200, json={"items": "not a list"})
        # The filter not applied: an integration-level action (no connectionId) among instances.
        return httpx.Response(
            200, json={"items": [{"id": "x", "key": "x", "connectionId": "c0"}, {"id": "y"}]}
        )

    requests: list[httpx.Request] = []
    snapshot = await _loaded(_many_connections(requests, layer_list))
    own_lists = [r for r in requests if r.url.params.get("connectionId")]
    assert len(own_lists) == catalog.BULK_OWN_MIN
    assert sorted(e.action_id for e in snapshot.entries if e.action_key == "custom") == sorted(
        f"own-c{i}" for i in range(catalog.BULK_OWN_MIN)
    )
    assert not snapshot.load_errors


async def test_many_connections_list_their_own_actions_with_one_request() -> None:
    def layer_list() -> httpx.Response:
        return httpx.Response(200, json={"items": [{"id": "own-c3", "key": "custom", "connectionId": "c3"}]})

    requests: list[httpx.Request] = []
    snapshot = await _loaded(_many_connections(requests, layer_list))
    assert not [r for r in requests if r.url.params.get("connectionId")]
    by_connection = {c: sorted(e.action_id for e in entries) for c, entries in snapshot.by_connection.items()}
    assert by_connection["c3"] == ["i-list", "own-c3"]
    assert by_connection["c0"] == ["i-list"]
