"""The HTTP transport under the Membrane client: httpx's API over aiohttp's connection pool.

A Membrane round trip's client CPU was mostly its transport: on httpcore2's pool, h11's pure-Python
parsing, anyio cancel scopes around every read and write, and the pool's scan of its idle connections
(each probed with a `getpeername()` and a `poll()`) on every request and response. aiohttp parses
HTTP in C (llhttp) on an asyncio protocol: 0.5-0.65x the client CPU per request through the Membrane
client, small GETs and 100 KB pages, 1 and 16 in flight (bench/upstream_client.py). Everything above
the transport (`httpx.AsyncClient`, timeouts, errors, respx's mocks, the size cap, gzip decoding)
stays httpx: aiohttp sends the request httpx built and hands back the body undecoded.

What aiohttp would do on its own and must not here:
- resend a PUT or DELETE whose kept-alive connection broke (it does so for methods RFC 9110 calls
  idempotent); to us a write is never sent twice, so for anything but GET and HEAD the failure is
  passed up as "sent" instead (`_never_resent`);
- add its own default headers (Accept, User-Agent, Content-Type), keep cookies, follow redirects or
  read proxies from the environment (with a proxy set the client uses httpx's own transport).
aiohttp has no write timeout: httpx's `write` is not applied (bodies sent are small JSON; the client's
deadline bounds every exchange).

aiohttp runs on asyncio only; its session is made at the first request, on the running loop.

The TLS context (httpx's: certifi's CA bundle, ~45 ms of CPU to load) is given per https request and made
only when one is sent (or up front, `tls=True`): a client of a plain-http URL (the sandbox) never loads it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpx
import yarl

# Methods aiohttp itself may send again on a broken kept-alive connection that are not reads to us.
_READS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
# aiohttp's own defaults, not sent: the request carries exactly the headers httpx gave it.
_NO_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")


class _SentWriteFailed(aiohttp.ClientError):
    """A write's connection failed after it was handed to the server; carries aiohttp's error as cause."""


async def _never_resent(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """aiohttp middleware for writes: a broken connection is reported, not retried by aiohttp."""
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # the connection was never made: nothing was sent, and aiohttp does not retry it
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as exc:
        raise _SentWriteFailed(str(exc)) from exc


def _httpx_error(exc: BaseException) -> httpx.TransportError | None:
    """The httpx error for an aiohttp one; the retry policy (retry.py) reads "not sent" from
    ConnectError/ConnectTimeout only, so everything after the connection was made maps to another."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, _SentWriteFailed) and exc.__cause__ is not None:
        exc = exc.__cause__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):  # making or waiting for a connection
        return httpx.ConnectTimeout(message)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return httpx.ProxyError(message)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(_connect_message(exc))
    if isinstance(exc, TimeoutError):  # aiohttp's SocketTimeoutError: the answer did not come in time
        return httpx.ReadTimeout(message)
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientPayloadError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.ClientResponseError):  # an answer that is not valid HTTP
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, aiohttp.NonHttpUrlClientError):
        return httpx.UnsupportedProtocol(message)
    if isinstance(exc, aiohttp.InvalidURL):
        return httpx.LocalProtocolError(message)
    if isinstance(exc, aiohttp.ClientConnectionError):  # reset, broken pipe: after it was sent
        return httpx.ReadError(message)
    if isinstance(exc, aiohttp.ClientError):
        return httpx.TransportError(message)
    return None


def _connect_message(exc: aiohttp.ClientConnectorError) -> str:
    """aiohttp's text without its `ssl:` part, which for a context passed per request is the
    context's repr (`ssl:<ssl.SSLContext object at 0x...>`), noise in a user's error line."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return str(exc)  # certificate and handshake errors: their own text names the TLS problem
    return f"Cannot connect to host {exc.host}:{exc.port} [{exc.strerror or exc.os_error}]"


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """aiohttp's exceptions raised as the httpx ones the client and its retry policy know."""
    try:
        yield
    except Exception as exc:
        mapped = _httpx_error(exc)
        if mapped is None:
            raise
        raise mapped from exc


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._response.content.iter_any():
                yield part

    async def aclose(self) -> None:
        # Back to the pool when the body was read to its end, closed otherwise (aiohttp decides).
        self._response.release()


def _headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    """The request's headers as httpx would write them (names in their own case, in order)."""
    encoding = headers.encoding
    return [(name.decode(encoding), value.decode(encoding)) for name, value in headers.raw]


def _timeout(timeouts: dict[str, float | None]) -> aiohttp.ClientTimeout:
    """httpx's per-phase timeouts in aiohttp's terms: `connect` there covers the wait for a pooled
    connection and the making of a new one."""
    pool, connect = timeouts.get("pool"), timeouts.get("connect")
    acquire = None if pool is None or connect is None else pool + connect
    return aiohttp.ClientTimeout(
        total=None, connect=acquire, sock_connect=connect, sock_read=timeouts.get("read")
    )


class PooledTransport(httpx.AsyncBaseTransport):
    """An httpx transport on aiohttp's connection pool (HTTP/1.1, TLS verified as httpx does).

    `tls`: make the TLS context now (as in a worker thread, before the first https request) rather than
    at the first https request."""

    def __init__(self, limits: httpx.Limits, *, tls: bool = True) -> None:
        self._limits = limits
        self._ssl_context: ssl.SSLContext | None = httpx.create_ssl_context() if tls else None
        self._session: aiohttp.ClientSession | None = None

    def _tls(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = httpx.create_ssl_context()
        return self._ssl_context

    def _made_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections or 0,  # 0: no limit
            limit_per_host=0,
            keepalive_timeout=self._limits.keepalive_expiry,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # httpx keeps the cookies
            skip_auto_headers=_NO_AUTO_HEADERS,
            auto_decompress=False,  # httpx decodes (gzip), after the transport
            trust_env=False,
            timeout=aiohttp.ClientTimeout(total=None),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session
        if session is None:
            session = self._session = self._made_session()
        try:
            body = request.content
        except httpx.RequestNotRead:  # a streamed body: read it (the client sends bytes)
            body = await request.aread()
        with _httpx_errors():
            response = await session.request(
                request.method,
                yarl.URL(str(request.url), encoded=True),  # httpx quoted it already: sent as is
                headers=_headers(request.headers),
                data=body or None,
                allow_redirects=False,
                timeout=_timeout(request.extensions.get("timeout", {})),
                middlewares=None if request.method in _READS else (_never_resent,),
                # Always ours for https (never aiohttp's defaults); unused for http, where True keeps
                # every plain connection under one pool key.
                ssl=self._tls() if request.url.scheme == "https" else True,
            )
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode("ascii", "replace")
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=_ResponseStream(response),
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
