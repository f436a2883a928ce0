"""Async client for Membrane's REST API (contract: docs/membrane-api.md).

Configured by one `MembraneConfig` (base URL, timeouts, pool size, retry policy) plus credentials.

Deadlines: there is no deadline parameter. The client works to the caller's anyio deadline (the
cancel scopes it runs under, ``anyio.current_effective_deadline()``), stopping `DEADLINE_MARGIN`
seconds before it so that its own `DeadlineExceeded` (which says whether the request had been sent)
arrives before the caller's scope fires.

Errors: every failure is a `MembraneError` subclass with fields (kind, status, action_run_id,
outcome_unknown, retry_after, ...); nothing here is worded for an agent.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import parse_qsl, quote, urlencode

import anyio
import httpx
from pydantic import BaseModel, ValidationError

from membrane_mcp import __version__, json_codec
from membrane_mcp.membrane.auth import TokenProvider
from membrane_mcp.membrane.bodies import cut_json, cut_note, read_limited
from membrane_mcp.membrane.deferred_transport import default_transport_later
from membrane_mcp.membrane.errors import (
    AccessDenied,
    AuthenticationError,
    DeadlineExceeded,
    InvalidAnswer,
    error_from_response,
    parse_envelope,
    validation_problems,
)
from membrane_mcp.membrane.models import (
    Action,
    ActionRunResult,
    Connection,
    ConnectionRequest,
    IntegrationRef,
    Page,
    ProxyResponse,
    SearchResult,
)
from membrane_mcp.membrane.retry import RetryPolicy, call_with_retries, remaining
from membrane_mcp.observability.membrane import observe_attempt, observe_request

logger = logging.getLogger("membrane_mcp.membrane")
M = TypeVar("M", bound=BaseModel)

DEFAULT_BASE_URL = "https://api.getmembrane.com"
API_VERSION = "2025-10-21"  # the SDK's LATEST_API_VERSION, sent as `membrane-api-version`
FIND_ALL_PAGE_SIZE = 1000
MAX_PAGES = 10_000
MAX_WAIT_SECONDS = 60  # the server caps ?wait=true&timeout= at 60
DEFAULT_WAIT_SECONDS = 30
LONG_POLL_MARGIN = 5.0  # read timeout = wait timeout + margin
MIN_POLL_INTERVAL = 1.0  # if a long-poll returns at once while still BUILDING, don't spin
# The SDK's ConnectionProxy and the CLI's `request -X` support these only (docs/membrane-api.md 5.9).
PROXY_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Our own default headers: for Membrane, never for the app behind the proxy (docs/membrane-api.md 5.9:
# the proxy forwards them). The caller's own Accept passes when given.
_OWN_HEADERS = ("user-agent", "accept", "membrane-api-version")

# Drop idle pooled connections before common server idle timeouts (5 s and up) close them: a request
# sent on a connection the server is closing fails after it was sent, and a write cannot be retried.
KEEPALIVE_EXPIRY_SECONDS = 4.0
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
CUT_EXTENSION = "membrane_mcp.cut"  # on a response whose body was cut: the note saying so

# The client stops this long before the caller's deadline, so its own DeadlineExceeded comes first.
DEADLINE_MARGIN = 0.5

ProgressCallback = Callable[[float, Action], Awaitable[None] | None]


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing: Membrane's API is authenticated by bearer token, and httpx would
    otherwise parse every answer's headers for cookies to store and send back."""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None


def _no_cookies_to_extract(response: httpx.Response) -> None:
    """Stands in for the client's `Cookies.extract_cookies`: before asking the jar, httpx wraps every
    answer and its request in urllib objects (the URL parsed again, the headers copied), ~35 us each."""
    return None


# Request URLs parsed once each: a run or proxy call repeats the same URL (action and connection), and
# httpx's URL parsing was two thirds of building a request. httpx.URL is immutable, so one is shared.
_URL_CACHE_SIZE = 1024


def _segment(value: str) -> str:
    """One URL path segment (an id, key or selector), fully encoded."""
    if not value:
        raise ValueError("empty id or selector")
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _proxy_path(path: str) -> tuple[str, list[tuple[str, str]]]:
    """Encode an app path for `/connections/{id}/proxy/<path>`; a `?query` in it is split off.

    Dot segments are encoded, so `..` cannot climb out of the proxy into Membrane's own API.
    Existing %XX escapes are kept; a full URL (https://...) stays a full URL.
    """
    path, _, query = path.partition("?")
    path = path.partition("#")[0]
    pieces = _PCT.split(path)
    escapes = _PCT.findall(path)
    encoded = quote(pieces[0], safe=_PATH_SAFE)
    for escape, piece in zip(escapes, pieces[1:], strict=True):
        encoded += escape + quote(piece, safe=_PATH_SAFE)
    segments = [s.replace(".", "%2E") if s in (".", "..") else s for s in encoded.lstrip("/").split("/")]
    return "/".join(segments), parse_qsl(query, keep_blank_values=True)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _clean_params(params: Mapping[str, Any] | None) -> dict[str, str]:
    return {k: _query_value(v) for k, v in (params or {}).items() if v is not None}


_READ_STREAM = httpx.ByteStream(b"")


def _unbind_stream(response: httpx.Response) -> None:
    """Drop a read and closed response's stream. httpx binds a streamed response and its stream to each
    other (a reference cycle), so the response and its body would wait for a cyclic collection, which a
    catalog load pauses (gc_tuning.py): every page of a load (~20 MB for 10,000 actions) stayed alive
    until it ended, and the first load's were frozen for good. Unbound, they go when their reader is done;
    the body stays readable (`content`, `aiter_bytes`)."""
    response.stream = _READ_STREAM


def _declared_within(response: httpx.Response, limit: int) -> bool:
    """Whether the answer declares an unencoded body of at most `limit` bytes (one pass over its headers)."""
    lengths: list[bytes] = []
    encodings: list[bytes] = []
    for name, value in response.headers.raw:
        lowered = name.lower()
        if lowered == b"content-length":
            lengths.append(value)
        elif lowered == b"content-encoding":
            encodings.append(value.strip().lower())
    # A repeated header is not trusted: the body is then read with the limit.
    return (
        len(lengths) == 1
        and lengths[0].isdigit()
        and int(lengths[0]) <= limit
        and len(encodings) <= 1
        and encodings in ([], [b""], [b"identity"])
    )


def call_deadline() -> float | None:
    """The deadline this client works to (anyio's clock): `DEADLINE_MARGIN` before the caller's, if any."""
    effective = anyio.current_effective_deadline()
    return None if math.isinf(effective) else effective - DEADLINE_MARGIN


@dataclass(frozen=True)
class MembraneConfig:
    """What the Membrane client needs to know; built from `Settings` by the server's backend."""

    base_url: str = DEFAULT_BASE_URL
    timeout: float = 30.0
    """Read timeout of one HTTP exchange (long-polls get their own)."""
    max_connections: int = 20
    user_agent: str = f"membrane-mcp/{__version__}"
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    """Answers are read up to this many bytes; past that they are cut (JSON at a record boundary)."""


class MembraneClient:
    def __init__(
        self,
        config: MembraneConfig,
        credentials: TokenProvider,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        workspace_credentials: TokenProvider | None = None,
    ) -> None:
        """`workspace_credentials`: a workspace-level (manager) token, used only when the client's own
        token is refused for creating actions (docs/membrane-api.md 5.7)."""
        self.config = config
        self.workspace_credentials = workspace_credentials
        self.base_url = config.base_url.rstrip("/")
        self.timeout = config.timeout
        self.retry_policy = config.retry_policy
        self.max_response_bytes = config.max_response_bytes
        self._credentials = credentials
        self._integrations: dict[str, IntegrationRef] = {}
        limits = httpx.Limits(
            max_connections=config.max_connections,
            max_keepalive_connections=config.max_connections,
            keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS,
        )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            # transport.py's default transport, made at the first request (deferred_transport.py).
            transport=transport or default_transport_later(limits),
            timeout=self._timeout(config.timeout),
            limits=limits,
            headers={
                "User-Agent": config.user_agent,
                "Accept": "application/json",
                "membrane-api-version": API_VERSION,
            },
            follow_redirects=False,
            cookies=_NoCookies(),
        )
        self._http.cookies.extract_cookies = _no_cookies_to_extract  # type: ignore[method-assign]
        self._urls: dict[str, httpx.URL] = {}
        encoding = self._http.headers.encoding
        self._default_headers = [(k.decode(encoding), v.decode(encoding)) for k, v in self._http.headers.raw]
        self._proxy_default_headers = [
            (name, value) for name, value in self._default_headers if name.lower() not in _OWN_HEADERS
        ]

    def __repr__(self) -> str:
        return f"MembraneClient(base_url={self.base_url!r}, credentials={self._credentials!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ---- transport -------------------------------------------------------------------------------

    @staticmethod
    def _timeout(read: float, left: float | None = None) -> httpx.Timeout:
        def cap(value: float) -> float:
            return value if left is None else max(0.001, min(value, left))

        return httpx.Timeout(connect=cap(10.0), read=cap(read), write=cap(30.0), pool=cap(10.0))

    @observe_request
    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        safe: bool | None = None,
        read_timeout: float | None = None,
        passthrough: bool = False,
        credentials: TokenProvider | None = None,
    ) -> httpx.Response:
        """One logical call: auth, the 401 re-mint, retries, typed errors.

        With `passthrough` (the proxy), a non-2xx answer is returned as is unless it carries
        Membrane's own error envelope, and our own default headers are not sent (they would reach the app).
        `credentials` replaces the client's own for this call (a workspace-level token for create_action).
        """
        credentials = credentials or self._credentials
        method = method.upper()
        safe = method in ("GET", "HEAD") if safe is None else safe
        request_line = f"{method} {path}"
        query = params if isinstance(params, list) else _clean_params(params)
        reauthenticated = False
        deadline = call_deadline()

        async def attempt() -> httpx.Response:
            nonlocal reauthenticated
            while True:
                token = await credentials.token()
                response = await self._send_once(
                    method,
                    path,
                    query,
                    json_body,
                    content,
                    headers,
                    token,
                    deadline,
                    read_timeout,
                    safe,
                    passthrough,
                )
                if response.is_success or (passthrough and not self._is_membrane_error(response)):
                    return response
                error = error_from_response(
                    response.status_code,
                    response.content,
                    response.headers,
                    request_line=request_line,
                    secrets=[token],
                )
                # Once per call, so an expired token mid-session recovers; safe for writes (it was refused).
                if isinstance(error, AuthenticationError) and not reauthenticated:
                    reauthenticated = True
                    credentials.invalidate()
                    if getattr(credentials, "renewable", True):
                        logger.info(
                            "%s: 401 from Membrane, retrying once with fresh credentials", request_line
                        )
                        continue
                raise error

        return await call_with_retries(
            attempt,
            safe=safe,
            deadline=deadline,
            policy=self.retry_policy,
            request_line=request_line,
        )

    @staticmethod
    def _is_membrane_error(response: httpx.Response) -> bool:
        return response.status_code >= 400 and parse_envelope(response.content) is not None

    @observe_attempt
    async def _send_once(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | list[tuple[str, str]],
        json_body: Any,
        content: bytes | None,
        extra_headers: Mapping[str, str] | None,
        token: str,
        deadline: float | None,
        read_timeout: float | None,
        safe: bool,
        passthrough: bool = False,
    ) -> httpx.Response:
        left = remaining(deadline)
        if left is not None and left <= 0:
            raise DeadlineExceeded(request_line=f"{method} {path}", sent=False)
        headers: dict[str, str] = {}
        for name, value in (extra_headers or {}).items():
            if name.lower() not in ("authorization", "membrane-api-version", "host", "content-length"):
                headers[name] = value
        headers["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            content = json.dumps(json_body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        # httpx timeouts are per phase (a slow trickle of bytes never trips `read`): bound the whole exchange.
        try:
            with anyio.fail_after(left) if left is not None else nullcontext():
                request = self._build_request(
                    method, path, query, content, headers, read_timeout or self.timeout, left, passthrough
                )
                response = await self._read_limited(await self._http.send(request, stream=True))
        except TimeoutError as exc:
            raise DeadlineExceeded(
                request_line=f"{method} {path}", sent=True, outcome_unknown=not safe
            ) from exc
        logger.debug("%s %s -> %d in %.3fs", method, path, response.status_code, time.monotonic() - started)
        return response

    def _build_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | list[tuple[str, str]],
        content: bytes | None,
        headers: dict[str, str],
        read_timeout: float,
        left: float | None,
        passthrough: bool,
    ) -> httpx.Request:
        """The request `httpx.AsyncClient.build_request` would build, for a fraction of its CPU.

        It parses the URL three times (the path, the path merged with the base URL, the query merged
        in) and merges the client's headers and cookies into new objects on every request: ~5 % of the
        HTTP server's CPU per call on figure 4's load. Here the whole URL is written out (base URL,
        path, the query as httpx encodes it: urllib's `urlencode`) and parsed once, then kept (`_urls`);
        the client's default headers are listed once (`_default_headers`), those of ours dropped for the proxy unless the
        caller gave them (they would reach the app). The client keeps no cookies (`_NoCookies`).
        """
        text = self.base_url + path
        if query:
            text += "?" + urlencode(query if isinstance(query, list) else list(query.items()))
        url = self._urls.get(text)
        if url is None:
            if len(self._urls) >= _URL_CACHE_SIZE:
                self._urls.clear()
            url = self._urls[text] = httpx.URL(text)
        given = {name.lower() for name in headers}
        defaults = self._proxy_default_headers if passthrough else self._default_headers
        merged = [(name, value) for name, value in defaults if name.lower() not in given]
        merged.extend(headers.items())
        return httpx.Request(
            method,
            url,
            content=content,
            headers=merged,
            extensions={"timeout": self._timeout(read_timeout, left).as_dict()},
        )

    async def _read_limited(self, streamed: httpx.Response) -> httpx.Response:
        """The response with its body read up to `max_response_bytes`; past that cut (JSON at a record
        boundary) and marked with the `CUT_EXTENSION` note. Memory stays bounded by the limit."""
        if _declared_within(streamed, self.max_response_bytes):
            # The usual answer: unencoded, its length declared and within the limit (h11 reads no more).
            try:
                await streamed.aread()
            finally:
                await streamed.aclose()
            _unbind_stream(streamed)
            return streamed
        try:
            limited = await read_limited(streamed.aiter_bytes(), self.max_response_bytes)
        finally:
            await streamed.aclose()
        body, note = limited.body, None
        if limited.cut:
            is_json = "json" in streamed.headers.get("content-type", "")
            cut = cut_json(body, self.max_response_bytes) if is_json else None
            body, note = (cut.body, cut.note) if cut else (body, cut_note(self.max_response_bytes, None))
            logger.warning(
                "%s %s: answer over %d bytes, cut (%s)",
                streamed.request.method,
                streamed.request.url.path,
                self.max_response_bytes,
                "at a record boundary" if cut else "as text",
            )
        # The body is decoded already: drop the headers that describe the encoded one.
        headers = [
            (k, v)
            for k, v in streamed.headers.multi_items()
            if k.lower() not in ("content-encoding", "content-length")
        ]
        extensions = {**streamed.extensions, **({CUT_EXTENSION: note} if note else {})}
        return httpx.Response(
            streamed.status_code,
            headers=headers,
            content=body,
            request=streamed.request,
            extensions=extensions,
        )

    async def _get_json(self, path: str, *, params: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        response = await self._request("GET", path, params=params, **kw)
        return self._json(response)

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if not response.content:
            return None
        try:
            return json_codec.loads(response.content)
        except ValueError as exc:
            if CUT_EXTENSION in response.extensions:
                raise InvalidAnswer(
                    "the answer was larger than --max-response-bytes and could not be cut at a record "
                    "boundary; ask for fewer records",
                    status=response.status_code,
                    request_line=f"{response.request.method} {response.request.url.path}",
                ) from exc
            excerpt = response.content[:300].decode("utf-8", "replace")
            raise InvalidAnswer(
                excerpt,
                status=response.status_code,
                request_line=f"{response.request.method} {response.request.url.path}",
            ) from exc

    async def _find_all(
        self,
        path: str,
        params: Mapping[str, Any],
        item: type[M],
        *,
        limit: int | None = None,
        schemas: json_codec.SchemaCache | None = None,
    ) -> list[M]:
        """Follow cursors like the SDK's findAll: cursor "0", limit 1000, loop while a cursor comes back.

        Each page is validated into `item` models in one pass over its decoded JSON (a page of 50 actions
        is ~100 KB; dicts first and a second validation per item took twice as long). With `schemas`, a
        page of actions is read for the fields an `Action` declares only, each distinct schema once
        (`_page_data`).
        """
        items: list[M] = []
        cursor: str | None = "0"
        seen: set[str] = set()
        page_type = Page[item]  # type: ignore[valid-type]  # a runtime type argument
        for _ in range(MAX_PAGES):
            response = await self._request(
                "GET", path, params={**params, "limit": FIND_ALL_PAGE_SIZE, "cursor": cursor}
            )
            data = self._page_data(response, schemas) if item is Action and schemas is not None else None
            try:
                page = page_type.model_validate(data if data is not None else self._json(response) or {})
            except ValidationError as exc:
                raise InvalidAnswer(
                    f"a page of {path.strip('/')} is not in the documented shape ({validation_problems(exc)[0]})",
                    status=response.status_code,
                    request_line=f"GET {path}",
                ) from exc
            items.extend(page.items)
            if limit is not None and len(items) >= limit:
                return items[:limit]
            if not page.cursor or page.cursor in seen:
                break
            seen.add(page.cursor)
            cursor = page.cursor
        return items

    @staticmethod
    def _page_data(response: httpx.Response, schemas: json_codec.SchemaCache) -> dict[str, Any] | None:
        """A page of actions the fast way (`json_codec.action_page`), or None to read it the general way
        (a cut answer, an empty body or an unexpected shape: the general way accepts or explains it)."""
        if not response.content or CUT_EXTENSION in response.extensions:
            return None
        return json_codec.action_page(response.content, schemas)

    def _long_poll(self, wait: bool, timeout: float | None) -> tuple[dict[str, Any], float | None]:
        """Query and read timeout for `?wait=true&timeout=`, never past the deadline (then a plain GET)."""
        if not wait:
            return {}, None
        seconds = min(DEFAULT_WAIT_SECONDS if timeout is None else timeout, MAX_WAIT_SECONDS)
        left = remaining(call_deadline())
        if left is not None:
            seconds = min(seconds, left - LONG_POLL_MARGIN)
        seconds = int(seconds)
        if seconds < 1:
            return {}, None
        return {"wait": True, "timeout": seconds}, seconds + LONG_POLL_MARGIN

    # ---- search / connections ------------------------------------------------------------------------

    async def search(self, q: str, element_type: str = "connector", limit: int = 10) -> list[SearchResult]:
        data = await self._get_json(
            "/search",
            params={"q": q, "elementType": element_type, "limit": max(1, min(limit, 100))},
        )
        return [SearchResult.model_validate(item) for item in (data or {}).get("items", [])]

    async def list_connections(self, **filters: Any) -> list[Connection]:
        """All connections. Filters are the API's query names or snake_case (`integration_key=...`)."""
        params = {_camel(k): v for k, v in filters.items()}
        return await self._find_all("/connections", params, Connection)

    async def get_connection(
        self,
        id: str,
        wait: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 -- the server-side ?timeout= of the long-poll
    ) -> Connection:
        params, read_timeout = self._long_poll(wait, timeout)
        data = await self._get_json(f"/connections/{_segment(id)}", params=params, read_timeout=read_timeout)
        return Connection.model_validate(data)

    async def create_connection(
        self,
        connector_key: str | None = None,
        connector_id: str | None = None,
        integration_key: str | None = None,
        name: str | None = None,
    ) -> Connection:
        if not (connector_key or connector_id or integration_key):
            raise ValueError("give connector_key, connector_id or integration_key")
        body = {
            "connectorKey": connector_key,
            "connectorId": connector_id,
            "integrationKey": integration_key,
            "name": name,
        }
        response = await self._request(
            "POST",
            "/connections",
            json_body={k: v for k, v in body.items() if v is not None},
        )
        return Connection.model_validate(self._json(response))

    async def reconnect_connection(self, id: str) -> Connection:
        """`POST /connections/{id}/reconnect` [SKILL CLI->API table]: the same connection asks the user to
        sign in again (its clientAction carries the link), rather than a second connection to the app."""
        response = await self._request("POST", f"/connections/{_segment(id)}/reconnect", json_body={})
        return Connection.model_validate(self._json(response))

    async def create_connection_request(
        self,
        *,
        connector_id: str | None = None,
        connection_id: str | None = None,
        name: str | None = None,
    ) -> ConnectionRequest:
        """`POST /connection-requests` (SDK `CreateConnectionRequestPayload`; TOOLS `requestConnection`,
        docs/membrane-api.md 5.4): a `url` for the user; `connectionId` reconnects that connection."""
        body = {"connectorId": connector_id, "connectionId": connection_id, "name": name}
        response = await self._request(
            "POST", "/connection-requests", json_body={k: v for k, v in body.items() if v is not None}
        )
        return ConnectionRequest.model_validate(self._json(response))

    async def get_connection_request(self, request_id: str) -> ConnectionRequest:
        """`GET /connection-requests/{id}` (TOOLS `checkConnectionResult`): pending, success, cancelled, error."""
        data = await self._get_json(f"/connection-requests/{_segment(request_id)}")
        return ConnectionRequest.model_validate(data)

    async def get_integration(self, id: str) -> IntegrationRef:
        """`GET /integrations/{id}`, cached for the client's life: how a connection without an embedded
        `integration` gets its app key (docs/membrane-api.md 4.2). An integration's key does not change."""
        cached = self._integrations.get(id)
        if cached is None:
            cached = IntegrationRef.model_validate(await self._get_json(f"/integrations/{_segment(id)}"))
            self._integrations[id] = cached
        return cached

    async def list_integrations(self) -> list[IntegrationRef]:
        """`GET /integrations` (SDK `IntegrationsAccessor.findAll`, docs/membrane-api.md 5.10), every page;
        each one found is cached as `get_integration` would have."""
        listed = await self._find_all("/integrations", {}, IntegrationRef)
        for ref in listed:
            if ref.id and ref.key:
                self._integrations.setdefault(ref.id, ref)
        return listed

    async def get_connector(self, id: str) -> IntegrationRef:
        """`GET /connectors/{id}` (SDK `ConnectorAccessor`): the last resort for naming a connection's app."""
        key = f"connector:{id}"
        cached = self._integrations.get(key)
        if cached is None:
            cached = IntegrationRef.model_validate(await self._get_json(f"/connectors/{_segment(id)}"))
            self._integrations[key] = cached
        return cached

    # ---- actions ---------------------------------------------------------------------------------------

    async def list_actions(
        self,
        connection_id: str | None = None,
        integration_key: str | None = None,
        intent: str | None = None,
        limit: int | None = None,
        *,
        integration_id: str | None = None,
        layer: str | None = None,
        schemas: json_codec.SchemaCache | None = None,
    ) -> list[Action]:
        """With `intent`: one ranked request (`limit` default 10; ranking needs a connection).

        Without: every page, `limit` capping the total. `layer` is the SDK `FindActionsQuery` filter
        (`universal`, `integration`, `connection`). `schemas` (a catalog load): decoded schemas by their
        text, shared between calls, so equal schemas are decoded once and are one object; the actions
        then keep only the fields `Action` declares (and `error`), not the others the answer carries.
        """
        params = {
            "connectionId": connection_id,
            "integrationKey": integration_key,
            "integrationId": integration_id,
            "layer": layer,
        }
        if intent is not None:
            data = await self._get_json(
                "/actions",
                params={**params, "intent": intent[:200], "limit": 10 if limit is None else limit},
            )
            return [Action.model_validate(item) for item in (data or {}).get("items", [])]
        return await self._find_all("/actions", params, Action, limit=limit, schemas=schemas)

    async def get_action(
        self,
        selector: str,
        wait: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 -- the server-side ?timeout= of the long-poll
    ) -> Action:
        params, read_timeout = self._long_poll(wait, timeout)
        data = await self._get_json(
            f"/actions/{_segment(selector)}", params=params, read_timeout=read_timeout
        )
        return Action.model_validate(data)

    async def wait_for_action(self, selector: str, on_progress: ProgressCallback | None = None) -> Action:
        """Long-poll until the action leaves BUILDING; at the deadline, return the last (BUILDING) action."""
        deadline = call_deadline()
        started = time.monotonic()
        while True:
            polled_at = time.monotonic()
            action = await self.get_action(selector, wait=True)
            left = remaining(deadline)
            if action.state != "BUILDING" or (left is not None and left <= 1.0):
                return action
            if on_progress is not None:
                result = on_progress(time.monotonic() - started, action)
                if inspect.isawaitable(result):
                    await result
            pause = MIN_POLL_INTERVAL - (time.monotonic() - polled_at)
            if pause > 0:
                left = remaining(deadline)
                await self.retry_policy.sleep(pause if left is None else min(pause, max(0.0, left - 1.0)))

    async def create_action(
        self,
        intent: str,
        connection_id: str,
        name: str | None = None,
        *,
        credentials: TokenProvider | None = None,
    ) -> Action:
        """`POST /actions {intent, connectionId}`. `credentials` (a workspace-level token) for when the
        client's own token may not create actions (docs/membrane-api.md 5.7: tenant tokens may get 403)."""
        body = {"intent": intent, "connectionId": connection_id}
        if name is not None:
            body["name"] = name
        try:
            response = await self._request("POST", "/actions", json_body=body, credentials=credentials)
        except AccessDenied:
            # Refused, so nothing was created: asking again with the workspace token cannot make two.
            fallback = self.workspace_credentials
            if credentials is not None or fallback is None or fallback is self._credentials:
                raise
            logger.info("POST /actions: 403 with the tenant token, creating with the workspace token")
            response = await self._request("POST", "/actions", json_body=body, credentials=fallback)
        return Action.model_validate(self._json(response))

    async def archive_action(self, id: str) -> None:
        await self._request("DELETE", f"/actions/{_segment(id)}")

    async def run_action(
        self,
        action_selector: str,
        connection_id: str,
        input: Any,
        *,
        safe: bool = False,
    ) -> ActionRunResult:
        """Run an action. A run is a write unless `safe` says the action only reads (then it is retried
        like a GET: on 5xx, read timeouts and dropped connections)."""
        response = await self._request(
            "POST",
            f"/actions/{_segment(action_selector)}/run",
            params={"connectionId": connection_id},
            json_body={"input": input if input is not None else {}},
            safe=safe,
        )
        return ActionRunResult.model_validate(self._json(response) or {})

    async def get_action_run_log(self, id: str, details: bool = False) -> dict[str, Any]:
        data = await self._get_json(
            f"/action-run-logs/{_segment(id)}",
            params={"details": True} if details else None,
        )
        return data if isinstance(data, dict) else {"value": data}

    # ---- proxy -------------------------------------------------------------------------------------------

    async def proxy(
        self,
        connection_id: str,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | list[tuple[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> ProxyResponse:
        """`<METHOD> /connections/{id}/proxy/<path>`: the app's status, headers and body, whatever the status.

        Only Membrane's own failures (its error envelope: unknown connection, our 401, ...) raise.
        The app's own 429/5xx are returned, not retried: they belong to the app, and the caller sees them.
        """
        if method.upper() not in PROXY_METHODS:
            raise ValueError(f"unsupported proxy method {method!r}; use one of {', '.join(PROXY_METHODS)}")
        app_path, inline_query = _proxy_path(path)
        # raw_request hands over ready (name, value) pairs; other callers a mapping.
        pairs = query if isinstance(query, list) else list(_clean_params(query).items())
        params = inline_query + pairs
        response = await self._request(
            method,
            f"/connections/{_segment(connection_id)}/proxy/{app_path}",
            params=params,
            content=body,
            headers=headers,
            passthrough=True,
        )
        return ProxyResponse(
            status=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            body=response.content,
            cut=response.extensions.get(CUT_EXTENSION),
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)
