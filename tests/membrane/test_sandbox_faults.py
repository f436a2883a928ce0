"""Retry policy end to end: the client against the sandbox's injected faults (fake apps, real HTTP)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from membrane_mcp.membrane import (
    MembraneClient,
    MembraneConfig,
    RetryPolicy,
    StaticToken,
    UpstreamUnavailable,
)
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import start_in_thread
from tests.sandbox.conftest import fake_apps


@pytest.fixture
def sandbox() -> Iterator[Any]:
    running = start_in_thread(SandboxConfig(build_seconds=0.2, retry_after_s=0.05, seed=7), apps=fake_apps())
    try:
        yield running
    finally:
        running.stop()


async def _faults(sandbox: Any, **settings: float) -> None:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    async with httpx.AsyncClient(base_url=sandbox.url, headers=headers, timeout=10) as http:
        (await http.post("/_sandbox/faults", json=settings)).raise_for_status()


def _client(sandbox: Any) -> MembraneClient:
    policy = RetryPolicy(max_attempts=8, initial_backoff=0.01, max_backoff=0.05, jitter=0.01)
    return MembraneClient(MembraneConfig(sandbox.url, retry_policy=policy), StaticToken(sandbox.token))


async def _vtiger_id(client: MembraneClient) -> str:
    return next(c.id for c in await client.list_connections() if c.integration_key == "vtiger")


async def _potentials(client: MembraneClient, connection_id: str) -> list[Any]:
    result = await client.run_action("list-potentials", connection_id, {})
    return result.output["records"]


@pytest.mark.anyio
async def test_reads_and_writes_survive_rate_limit_bursts_without_duplicates(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger_id(client)
        await _faults(sandbox, rate_limit_rate=0.3, rate_limit_burst=2)
        for _ in range(10):
            assert await client.list_connections()
        for i in range(8):
            await client.run_action("create-potential", vtiger, {"name": f"Deal {i}", "amount": i})
        await _faults(sandbox, rate_limit_rate=0)
        names = sorted(r["name"] for r in await _potentials(client, vtiger))
    assert names == [f"Deal {i}" for i in range(8)]  # each write exactly once


@pytest.mark.anyio
async def test_dropped_write_is_reported_not_repeated(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger_id(client)
        await _faults(sandbox, drop_rate=1)
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.run_action("create-potential", vtiger, {"name": "Once", "amount": 1})
        assert raised.value.outcome_unknown and raised.value.sent and raised.value.status is None
        await _faults(sandbox, drop_rate=0)
        assert [r["name"] for r in await _potentials(client, vtiger)] == ["Once"]


@pytest.mark.anyio
async def test_dropped_read_is_retried(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger_id(client)
        await _faults(sandbox, drop_rate=0.5)
        for _ in range(5):
            assert (await client.proxy(vtiger, "GET", "/contacts")).status == 200
        await _faults(sandbox, drop_rate=0)


@pytest.mark.anyio
async def test_injected_500_on_a_write_is_not_repeated(sandbox: Any) -> None:
    async with _client(sandbox) as client:
        vtiger = await _vtiger_id(client)
        await _faults(sandbox, fault_rate=1)
        with pytest.raises(UpstreamUnavailable) as raised:
            await client.run_action("create-potential", vtiger, {"name": "Never", "amount": 1})
        assert raised.value.outcome_unknown and raised.value.status == 500 and raised.value.attempts == 1
        await _faults(sandbox, fault_rate=0)
        assert await _potentials(client, vtiger) == []
