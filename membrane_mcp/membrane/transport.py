"""An httpx transport made at the first request instead of when the client is built."""

from __future__ import annotations

from collections.abc import Callable

import anyio
import anyio.to_thread
import httpx


class DeferredTransport(httpx.AsyncBaseTransport):
    """Wraps the transport `make` returns, calling `make` (in a worker thread) on the first request.

    httpx's default transport loads the CA certificates into an SSL context when it is made: tens of
    milliseconds of CPU (and its httpcore/h11 imports) that a stdio server would otherwise spend before
    answering `initialize`, whose answer needs no Membrane request.
    """

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
