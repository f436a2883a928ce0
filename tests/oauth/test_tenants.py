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
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
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


def post_scope(tenant: str) -> dict[str, object]:
    token = AccessToken(token=f"tok-{tenant}", client_id="t", scopes=["membrane:read"], subject=tenant)
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/mcp",
        "raw_path": b"/mcp",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1:8000"),
            (b"content-type", b"application/json"),
            (b"accept", b"application/json, text/event-stream"),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
        "user": AuthenticatedUser(token),
    }


class HeldRequest:
    """One ASGI POST whose body arrives only when `release` is called: a request kept in flight."""

    def __init__(self) -> None:
        self.released = anyio.Event()
        self.status: int | None = None
        self.body = b""

    def release(self) -> None:
        self.released.set()

    async def receive(self) -> dict[str, object]:
        await self.released.wait()
        return {"type": "http.request", "body": INITIALIZE, "more_body": False}

    async def send(self, message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])  # type: ignore[call-overload]
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")  # type: ignore[operator]


INITIALIZE = (
    b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25",'
    b'"capabilities":{},"clientInfo":{"name":"t","version":"0"}}}'
)


@asynccontextmanager
async def router_only(tmp_path: Path, slot_wait: float) -> AsyncIterator[TenantRouter]:
    settings = Settings(
        transport="http", sandbox=True, sandbox_db=tmp_path / "s.sqlite3", max_tenants=1, tool_mode="search"
    )
    async with open_workspace(settings) as workspace:
        router = TenantRouter(settings, workspace, clock=FakeClock(), slot_wait=slot_wait)
        async with router.running():
            yield router


async def test_when_every_tenant_is_busy_a_new_one_is_told_to_retry(tmp_path: Path) -> None:
    async with router_only(tmp_path, slot_wait=0) as router, anyio.create_task_group() as group:
        held, other = HeldRequest(), HeldRequest()
        group.start_soon(router, post_scope("a"), held.receive, held.send)
        await anyio.wait_all_tasks_blocked()
        other.release()
        await router(post_scope("b"), other.receive, other.send)
        assert other.status == 503
        assert b"maximum of 1 tenants, all busy" in other.body
        held.release()
    assert held.status == 200


async def test_a_new_tenant_waits_for_a_busy_one_to_finish(tmp_path: Path) -> None:
    async with router_only(tmp_path, slot_wait=30) as router, anyio.create_task_group() as group:
        held, waiting = HeldRequest(), HeldRequest()
        waiting.release()
        group.start_soon(router, post_scope("a"), held.receive, held.send)
        await anyio.wait_all_tasks_blocked()
        group.start_soon(router, post_scope("b"), waiting.receive, waiting.send)
        await anyio.wait_all_tasks_blocked()
        assert waiting.status is None and router.open_tenants == [("a", "read")]
        held.release()
    assert held.status == 200 and waiting.status == 200
    assert router.open_tenants == []  # closed with the router
