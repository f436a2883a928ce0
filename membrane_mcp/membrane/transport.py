"""The HTTP transport under the Membrane client: httpx's API over httpcore2's connection pool.

httpx's own transport sits on httpcore, whose pool re-scans every connection and queued request on
each request and response (`_assign_requests_to_connections`); with the 16-32 exchanges in flight a
busy server has, that scan was the largest single cost of a Membrane round trip (bench/http_stack.py:
2.7-3.4 ms of CPU per request at 16 in flight, 1.1-1.4 ms on httpcore2's pool). httpcore2 comes with
the `mcp` SDK (through httpx2) and keeps httpcore's request/response model, so this adapter is what
httpx's `AsyncHTTPTransport` does, on the other pool. Everything above it (`httpx.AsyncClient`,
timeouts, errors, tests' `MockTransport`) stays httpx.

With an HTTP(S) proxy in the environment httpx's own transport is used, so its proxy handling holds.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Iterator

import httpcore2
import httpx

# Most specific first: a ReadTimeout is a TimeoutException too.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore2's exceptions raised as the httpx ones the client and its retry policy know."""
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            with _httpx_errors():
                await close()


class PooledTransport(httpx.AsyncBaseTransport):
    """An httpx transport on httpcore2's `AsyncConnectionPool` (HTTP/1.1, TLS verified as httpx does)."""

    def __init__(self, limits: httpx.Limits) -> None:
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()
