"""create_action waits as long as --create-action-timeout says; search_actions survives Membrane going away.

Time is never waited for: deadlines are read from the cancel scope the call runs under, and the
catalog's TTL runs on an injected clock.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.retry import RetryPolicy
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import gateway_config, membrane_config, policy_from
from membrane_mcp.tools.catalog import Catalog
from membrane_mcp.tools.gateway import Gateway
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio

CREATE = {"connection": "vtiger", "description": "list vtiger campaigns with their expected revenue"}


class DeadlineSpy:
    """Wraps MembraneClient.wait_for_action and records how much time the call's cancel scope allows."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.allowed: list[float] = []
        original = MembraneClient.wait_for_action

        async def spy(client: MembraneClient, *args: Any, **kwargs: Any) -> Any:
            self.allowed.append(anyio.current_effective_deadline() - anyio.current_time())
            return await original(client, *args, **kwargs)

        monkeypatch.setattr(MembraneClient, "wait_for_action", spy)


async def create(settings: Any, arguments: dict[str, Any]) -> tuple[Any, list[float | None], dict[str, Any]]:
    totals: list[float | None] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        totals.append(total)

    async with connect(settings) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        result = await client.call_tool("create_action", arguments, progress_callback=on_progress)
    return result, totals, tools["create_action"].input_schema


async def test_create_action_timeout_600_is_the_default_wait(fresh_sandbox, monkeypatch):
    spy = DeadlineSpy(monkeypatch)
    settings = settings_for(fresh_sandbox, tool_mode="search", create_action_timeout=600)
    result, totals, schema = await create(settings, CREATE)
    assert not result.is_error, result.content
    assert schema["properties"]["timeout_s"]["default"] == 600
    assert set(totals) == {600}  # progress is reported against the whole 600 s
    [allowed] = spy.allowed
    assert 590 < allowed <= 600  # the wait runs under a 600 s deadline, not the old 120 s cap


async def test_a_shorter_timeout_s_narrows_the_wait(fresh_sandbox, monkeypatch):
    spy = DeadlineSpy(monkeypatch)
    settings = settings_for(fresh_sandbox, tool_mode="search", create_action_timeout=600)
    result, totals, _ = await create(settings, {**CREATE, "timeout_s": 30})
    assert not result.is_error, result.content
    assert set(totals) == {30}
    [allowed] = spy.allowed
    assert 20 < allowed <= 30


class Switchable(httpx.AsyncBaseTransport):
    """Real HTTP to the sandbox until `down` is set; then every request fails to connect."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.down = False
        self.refused = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            self.refused += 1
            raise httpx.ConnectError("connection refused", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_search_actions_answers_from_the_last_catalog_when_membrane_is_unreachable(sandbox):
    settings = settings_for(sandbox, tool_mode="search", catalog_ttl=60)
    transport, clock = Switchable(), Clock()

    async def no_wait(seconds: float) -> None:
        return None

    config = membrane_config(settings, RetryPolicy(sleep=no_wait))
    async with MembraneClient(config, StaticToken(sandbox.token), transport=transport) as membrane:
        catalog = Catalog(membrane, ttl=settings.catalog_ttl, clock=clock)
        gateway = Gateway(gateway_config(settings), membrane, policy_from(settings), catalog)
        async with Client(build_server(gateway)) as client:
            before = await client.call_tool("search_actions", {"query": "find contacts in vtiger"})
            transport.down = True
            clock.now += 61  # past the TTL: the next call tries to reload
            after = await client.call_tool("search_actions", {"query": "find contacts in vtiger"})
            listed = await client.call_tool("list_connections", {})
            tools = (await client.list_tools()).tools
    assert not before.is_error and before.structured_content["results"]
    assert transport.refused > 0  # the reload was attempted, and failed
    assert not after.is_error, after.content
    assert after.structured_content == before.structured_content
    assert not listed.is_error and len(listed.structured_content["connections"]) == 3
    assert {tool.name for tool in tools} >= {"search_actions", "run_action"}
