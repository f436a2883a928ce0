"""Fixtures for the observability tests: an in-memory span exporter, gateways with observability settings."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client, types
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from membrane_mcp.membrane.auth import StaticToken
from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.observability import observe_server
from membrane_mcp.redaction import protect, secret_values
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import build_gateway, membrane_config
from membrane_mcp.settings import Settings
from membrane_sandbox.serve import RunningSandbox
from tests.reliability.conftest import FAST_RETRIES, faulty_sandbox, mode  # noqa: F401 - fixtures
from tests.server.conftest import fresh_sandbox, sandbox  # noqa: F401 - fixtures

_EXPORTER = InMemorySpanExporter()


def _sdk_provider() -> TracerProvider:
    """The process's SDK tracer provider (the global one can be set once per process)."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    installed = trace.get_tracer_provider()
    assert isinstance(installed, TracerProvider), "another tracer provider was installed first"
    return installed


_sdk_provider().add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def span_named(spans: list[ReadableSpan], prefix: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name.startswith(prefix)]


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real HTTP transport, keeping each request's method, path and headers."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await super().handle_async_request(request)


@asynccontextmanager
async def observed_client(
    running: RunningSandbox,
    protocol: str = "auto",
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    **overrides: Any,
) -> AsyncIterator[Client]:
    """An in-memory MCP client on a server wired like the transports' (`build_server` + `observe_server`),
    with fast retries and an optional HTTP transport to Membrane."""
    settings = Settings(api_url=running.url, token=running.token, **overrides)
    protect(secret_values(settings))
    config = membrane_config(settings, FAST_RETRIES)
    async with MembraneClient(config, StaticToken(running.token), transport=transport) as membrane:
        gateway = build_gateway(settings, membrane)
        server = observe_server(build_server(gateway), gateway, settings)
        async with Client(server, mode=protocol) as client:
            client.gateway = gateway  # type: ignore[attr-defined]
            yield client


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def structured(result: types.CallToolResult) -> Any:
    return result.structured_content
