"""The Membrane client's transport, made at the first request instead of when the client is built.

Making it imports the connection pool (transport.py, aiohttp) and, when the first request is https, loads
the CA certificates into an SSL context: 100-200 ms of CPU that a stdio server would otherwise spend
before answering `initialize`, whose answer needs no Membrane request. This module imports neither.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Callable

import anyio
import anyio.to_thread
import httpx


class DeferredTransport(httpx.AsyncBaseTransport):
    """Wraps the transport `make` returns, calling `make` (in a worker thread) with the first request."""

    def __init__(self, make: Callable[[httpx.Request], httpx.AsyncBaseTransport]) -> None:
        self._make = make
        self._inner: httpx.AsyncBaseTransport | None = None
        self._making = anyio.Lock()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        inner = self._inner or await self._made(request)
        return await inner.handle_async_request(request)

    async def _made(self, first: httpx.Request) -> httpx.AsyncBaseTransport:
        async with self._making:
            if self._inner is None:
                self._inner = await anyio.to_thread.run_sync(self._make, first)
            return self._inner

    async def aclose(self) -> None:
        if self._inner is not None:
            await self._inner.aclose()


def proxy_in_environment() -> bool:
    """Whether the environment names an HTTP(S) proxy (httpx's own transport handles those)."""
    return bool({"http", "https", "all"} & set(urllib.request.getproxies()))


def pooled_transport_later(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
    """transport.py's `PooledTransport(limits)`, made at the first request; its TLS context with it when
    that request is https (Membrane's API), else at the first https request, if any (the sandbox is http)."""

    def make(first: httpx.Request) -> httpx.AsyncBaseTransport:
        from membrane_mcp.membrane.transport import PooledTransport

        return PooledTransport(limits, tls=first.url.scheme == "https")

    return DeferredTransport(make)


def default_transport_later(limits: httpx.Limits) -> httpx.AsyncBaseTransport | None:
    """transport.py's `default_transport(limits)`, the pool made at the first request."""
    return None if proxy_in_environment() else pooled_transport_later(limits)
