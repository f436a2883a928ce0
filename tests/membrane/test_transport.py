"""The Membrane client's own transport (httpx over httpcore2's pool) against a real socket."""

from __future__ import annotations

import socket

import httpx
import pytest

from membrane_mcp.membrane import MembraneClient, MembraneConfig, RetryPolicy, StaticToken
from membrane_mcp.membrane.deferred_transport import DeferredTransport, default_transport_later
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.membrane.transport import PooledTransport
from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import seeded_sandbox

from .helpers import RecordingSleep

LIMITS = httpx.Limits(max_connections=4, max_keepalive_connections=4)


def test_default_is_pooled_without_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(default_transport_later(LIMITS), DeferredTransport)  # the pool, made at first use


def test_a_proxy_in_the_environment_keeps_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert default_transport_later(LIMITS) is None


@pytest.mark.anyio
async def test_requests_go_through_the_pool_and_keep_their_connection() -> None:
    with seeded_sandbox(SandboxConfig()) as sandbox:
        transport = PooledTransport(LIMITS)
        async with httpx.AsyncClient(base_url=sandbox.url, transport=transport) as http:
            headers = {"Authorization": f"Bearer {sandbox.token}"}
            first = await http.get("/connections", headers=headers)
            second = await http.get("/connections", headers=headers)
        assert first.status_code == second.status_code == 200
        assert first.json()["items"] == second.json()["items"]
        assert first.extensions["network_stream"] is second.extensions["network_stream"]


@pytest.mark.anyio
async def test_a_refused_connection_is_httpx_connect_error_and_retried_as_not_sent() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(transport=PooledTransport(LIMITS)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"http://127.0.0.1:{port}/")
    sleep = RecordingSleep()
    config = MembraneConfig(f"http://127.0.0.1:{port}", retry_policy=RetryPolicy(sleep=sleep, jitter=0.0))
    async with MembraneClient(config, StaticToken("pat-x")) as client:
        with pytest.raises(MembraneError) as caught:
            await client.create_action("list leads", "conn-1")  # a write: retried only because never sent
    assert caught.value.attempts > 1
    assert not caught.value.outcome_unknown
