"""Fixtures that drive membrane-mcp through a real MCP client against the sandbox."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from mcp import Client

from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.settings import Settings
from membrane_mcp.tools.gateway import Gateway
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.reliability.conftest import faulty_sandbox  # noqa: F401 - a fixture for the fault tests here
from tests.sandboxes import seeded_sandbox


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    """One sandbox shared by the read-mostly tests."""
    with seeded_sandbox(SandboxConfig(build_seconds=0.3)) as running:
        yield running


@pytest.fixture
def fresh_sandbox() -> Iterator[RunningSandbox]:
    """A sandbox of its own, for tests that write or count."""
    with seeded_sandbox(SandboxConfig(build_seconds=0.3)) as running:
        yield running


def settings_for(running: RunningSandbox, **overrides: Any) -> Settings:
    return Settings(api_url=running.url, token=running.token, **overrides)


@asynccontextmanager
async def connect(settings: Settings, mode: str = "auto", **client_kwargs: Any) -> AsyncIterator[Client]:
    async with (
        open_gateway(settings) as gateway,
        Client(build_server(gateway), mode=mode, **client_kwargs) as client,
    ):
        client.gateway = gateway  # type: ignore[attr-defined]
        yield client


@asynccontextmanager
async def gateway_for(settings: Settings) -> AsyncIterator[Gateway]:
    async with open_gateway(settings) as gateway:
        yield gateway


def sandbox_stats(running: RunningSandbox) -> dict[str, Any]:
    response = httpx.get(
        f"{running.url}/_sandbox/stats", headers={"Authorization": f"Bearer {running.token}"}
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    """Both protocol eras: 2026-07-28 (auto, in-process) and the 2025-11-25 handshake (legacy)."""
    return request.param


SettingsFactory = Callable[..., Settings]
