"""Tenant backends: bounded LRU, idle close, per-tenant rate limit (in-process server, injected clock).

The multi-user app runs under uvicorn on loopback with static ``token=tenant`` pairs and the
embedded sandbox; the SDK client drives it over HTTP. Time is a fake clock the tests move.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from membrane_mcp.server.tenants import TenantRouter, TokenBucket, build_multi_user_app, open_workspace
from membrane_mcp.settings import Settings

pytestmark = pytest.mark.anyio

TOKENS = "tok-a=tenant-a,tok-b=tenant-b,tok-c=tenant-c"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def multi_user_server(
    tmp_path: Path, clock: FakeClock, **overrides: object
) -> AsyncIterator[tuple[str, TenantRouter]]:
    settings = Settings(
        transport="http",
        sandbox=True,
        sandbox_db=tmp_path / "sandbox.sqlite3",
        sandbox_build_seconds=0.1,
        auth_tokens=TOKENS,
        tool_mode="direct",
        apps=["vtiger"],
        **overrides,
    )
    # Listening before uvicorn starts: early connections wait in the backlog, so nothing polls for readiness.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    port = listener.getsockname()[1]
    async with open_workspace(settings) as workspace, httpx.AsyncClient() as http:
        router = TenantRouter(settings, workspace, clock=clock)
        app = build_multi_user_app(settings, router, http)
        server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
        async with anyio.create_task_group() as group:
            group.start_soon(partial(server.serve, sockets=[listener]))
            try:
                yield f"http://127.0.0.1:{port}/mcp", router
            finally:
                server.should_exit = True


@asynccontextmanager
async def client_for(url: str, token: str) -> AsyncIterator[Client]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        yield client


async def list_tool_names(url: str, token: str) -> set[str]:
    async with client_for(url, token) as client:
        return {tool.name for tool in (await client.list_tools()).tools}


async def test_least_recently_used_tenant_is_closed_at_the_bound(tmp_path: Path) -> None:
    clock = FakeClock()
    async with multi_user_server(tmp_path, clock, max_tenants=2) as (url, router):
        assert "vtiger_create_record" in await list_tool_names(url, "tok-a")
        clock.now += 1
        await list_tool_names(url, "tok-b")
        assert router.open_tenants == [("tenant-a", "write"), ("tenant-b", "write")]
        clock.now += 1
        await list_tool_names(url, "tok-c")
        assert router.open_tenants == [("tenant-b", "write"), ("tenant-c", "write")]
        clock.now += 1
        assert "vtiger_query_records" in await list_tool_names(url, "tok-a")  # reopened on demand
        assert router.open_tenants == [("tenant-c", "write"), ("tenant-a", "write")]


async def test_idle_tenants_are_closed(tmp_path: Path) -> None:
    clock = FakeClock()
    async with multi_user_server(tmp_path, clock, tenant_idle_seconds=60) as (url, router):
        await list_tool_names(url, "tok-a")
        await list_tool_names(url, "tok-b")
        assert len(router.open_tenants) == 2
        clock.now += 59
        await list_tool_names(url, "tok-b")
        assert router.open_tenants == [("tenant-a", "write"), ("tenant-b", "write")]
        clock.now += 30  # a: idle 89 s, b: 30 s
        await list_tool_names(url, "tok-c")
        assert router.open_tenants == [("tenant-b", "write"), ("tenant-c", "write")]


async def test_a_tenant_over_its_rate_gets_a_clear_error_and_others_do_not(tmp_path: Path) -> None:
    clock = FakeClock()
    async with multi_user_server(tmp_path, clock, tenant_rate=1.0, tenant_burst=8) as (url, _router):
        async with client_for(url, "tok-a") as client:
            with pytest.raises(MCPError) as limited:
                for _ in range(20):
                    await client.list_tools()
            assert "Rate limit" in str(limited.value) and "tenant-a" in str(limited.value)
            assert "wait 1 s" in str(limited.value)
            assert "vtiger_query_records" in await list_tool_names(
                url, "tok-b"
            )  # another tenant's own bucket
            clock.now += 5  # five requests' worth of refill
            await client.list_tools()


def test_token_bucket_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, burst=2, clock=clock)
    assert bucket.take() == 0 and bucket.take() == 0
    assert bucket.take() == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take() == 0
    assert not bucket.is_full()
    clock.now += 10
    assert bucket.is_full()
    assert TokenBucket(rate=0, burst=1, clock=clock).take() == 0  # rate 0: no limit
