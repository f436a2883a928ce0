"""The Membrane client's transport, made at the first request instead of when the client is built.

Making it loads the CA certificates into an SSL context and imports the connection pool (transport.py,
aiohttp): 100-200 ms of CPU that a stdio server would otherwise spend before answering `initialize`,
whose answer needs no Membrane request. This module imports neither.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import anyio
import anyio.to_thread
import httpx


class DeferredTransport(httpx.AsyncBaseTransport):
    """Wraps the transport `make` returns, calling `make` (in a worker thread) on the first request."""

    def __init__(self, make: Callable[[], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._inner: httpx.AsyncBaseTransport | None = None
        self._making = anyio.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._inner or await self._made()
        return await inner.handle_async_request(request)

    async def _made(self) -> httpx.AsyncBaseTransport:
        async with self._making:
            if self._inner is None:
                self._inner = await anyio.to_thread.run_sync(self._make)
            return self._inner

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def proxy_in_environment() -> bool:
    """Whether the environment names an HTTP(S) proxy (httpx's own transport handles those)."""
    return bool({"http", "https", "all"} & set(urllib.request.getproxies()))


def pooled_transport_later(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """transport.py's `PooledTransport(limits)`, made at the first request."""

    def make() -> httpx.AsyncBaseTransport:
        from membrane_mcp.membrane.transport import PooledTransport

        return PooledTransport(limits)

    return DeferredTransport(make)


def default_transport_later(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """transport.py's `default_transport(limits)`, the pool made at the first request."""
    return None if proxy_in_environment() else pooled_transport_later(limits)
