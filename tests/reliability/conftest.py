"""Helpers for the reliability tests: sandboxes with faults, counting in the sandbox's database."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client, types

from membrane_mcp.membrane.auth import StaticToken, TokenProvider
from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.retry import RetryPolicy
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import build_gateway, membrane_config
from membrane_mcp.settings import Settings
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.processes import server_env, spawn_http, stop_process  # noqa: F401 - re-exported to the tests
from tests.sandboxes import seeded_sandbox
from tests.waiting import eventually  # noqa: F401 - re-exported to the tests

MAY_OR_MAY_NOT = "may or may not have happened"


def outcome_unknown(result: types.CallToolResult) -> bool:
    """Whether a failed call may have written something (the result's details say so, not just its text)."""
    details = (result.structured_content or {}).get("details") or {}
    return bool(details.get("outcomeUnknown"))


@pytest.fixture
def faulty_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of its own (faults are switched on per test with `set_faults`)."""
    with seeded_sandbox(SandboxConfig(build_seconds=0.3, seed=11, retry_after_s=0.2)) as running:
        yield running


def set_faults(running: RunningSandbox, **faults: float) -> dict[str, Any]:
    response = httpx.post(
        f"{running.url}/_sandbox/faults", json=faults, headers={"Authorization": f"Bearer {running.token}"}
    )
    response.raise_for_status()
    return response.json()


def no_faults(running: RunningSandbox) -> None:
    set_faults(running, fault_rate=0, rate_limit_rate=0, drop_rate=0, spike_rate=0, latency_ms=0)


def stats(running: RunningSandbox) -> dict[str, Any]:
    response = httpx.get(
        f"{running.url}/_sandbox/stats", headers={"Authorization": f"Bearer {running.token}"}
    )
    response.raise_for_status()
    return response.json()


def db_rows(running: RunningSandbox, sql: str, *params: Any) -> list[Any]:
    """Rows straight from the sandbox's SQLite database (the ground truth for 'executed once')."""
    store = running.app.state.sandbox.store
    with store.lock:
        return [tuple(row) for row in store.db.execute(sql, params)]


def vtiger_records_named(running: RunningSandbox, prefix: str) -> dict[str, int]:
    """How many Vtiger records carry each name starting with `prefix` (accountname or lastname)."""
    counts: dict[str, int] = {}
    for (data,) in db_rows(running, "SELECT data FROM app_records WHERE app = 'vtiger'"):
        record = json.loads(data)
        for field in ("accountname", "lastname"):
            value = record.get(field)
            if isinstance(value, str) and value.startswith(prefix):
                counts[value] = counts.get(value, 0) + 1
    return counts


def runs_with_input(running: RunningSandbox, marker: str) -> int:
    rows = db_rows(running, "SELECT COUNT(*) FROM sandbox_action_runs WHERE input LIKE ?", f"%{marker}%")
    return rows[0][0]


def text_of(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


def start_http_server(running: RunningSandbox, *args: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    """`membrane-mcp serve --transport http` in a subprocess, ready when /healthz answers."""
    return spawn_http(list(args), server_env(running, **env))


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026-07-28 (auto) and the 2025-11-25 handshake (legacy)."""
    return request.param


# The product's retry rules with back-off pauses of 10-50 ms, so the fault tests stay quick (Retry-After is
# still honoured in full). The pauses are real: the same sleep paces create_action's polls, which must not spin.
FAST_RETRIES = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0.01)


@asynccontextmanager
async def connect_fast(
    running: RunningSandbox,
    mode: str = "auto",
    *,
    credentials: TokenProvider | None = None,
    catalog_clock: Callable[[], float] = time.monotonic,
    **overrides: Any,
) -> AsyncIterator[Client]:
    """An in-memory MCP client on a gateway wired like `open_gateway`'s, with `FAST_RETRIES`; the catalog's
    TTL runs on `catalog_clock` (a `tests.clock.FakeClock` to expire it without waiting)."""
    settings = Settings(api_url=running.url, **overrides)
    credentials = credentials or StaticToken(running.token)
    async with MembraneClient(membrane_config(settings, FAST_RETRIES), credentials) as membrane:
        gateway = build_gateway(settings, membrane, catalog_clock=catalog_clock)
        async with Client(build_server(gateway), mode=mode) as client:
            client.gateway = gateway  # type: ignore[attr-defined]
            yield client
