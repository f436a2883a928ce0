"""Many users over HTTP: each signed-in user served from their own Membrane tenant.

The caller's access token (checked by the SDK's bearer middleware, see `oauth.py`) names
a tenant (the ``MEMBRANE_MCP_TENANT_CLAIM`` claim, or the tenant of a static
``token=tenant``) and carries scopes: the write scope adds writes to the read-only view,
and the server's own flags bound both (a token narrows, never widens).

Each (tenant, view) gets a whole backend of its own, built by the same factory as the
single-user server (`backend.open_gateway` with that tenant's minted Membrane
credentials, `app.build_server`, `http.build_http_app`): its own Membrane client and
token, catalog cache, created actions, MCP sessions and list-change notifications. The
client's token never reaches Membrane. Backends are kept in an LRU bounded by
``--max-tenants`` and closed after ``--tenant-idle-seconds``; each tenant has a token
bucket (``--tenant-rate``, ``--tenant-burst``) and is told plainly (429) when it runs dry.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import uvicorn
from anyio.abc import TaskGroup
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.provider import AccessToken
from pydantic import AnyHttpUrl, SecretStr
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from membrane_mcp.server.oauth import OAuthConfig, build_verifier, protected_resource_routes, tenant_key_of
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

SLOT_WAIT_SECONDS = 30.0  # how long a new tenant waits for a busy one to finish when all slots are taken


def is_multi_user(settings: Settings) -> bool:
    """OAuth on, or static tokens that name tenants: HTTP then serves each tenant from its own backend."""
    return settings.transport == "http" and (
        bool(settings.oauth_issuer) or any(settings.token_tenants.values())
    )


def multi_user_problem(settings: Settings) -> str | None:
    """Why these multi-user settings cannot work, in one line; None if they can."""
    if not is_multi_user(settings):
        return None
    try:
        OAuthConfig.from_settings(settings)
    except ValueError as exc:
        return str(exc)
    if not settings.sandbox and not (settings.workspace_key and settings.workspace_secret):
        return (
            "serving many users needs MEMBRANE_WORKSPACE_KEY and MEMBRANE_WORKSPACE_SECRET, to mint each "
            "user's tenant token (a single MEMBRANE_TOKEN would let every user see one tenant); or --sandbox"
        )
    return None


@dataclass(frozen=True)
class Caller:
    tenant: str
    writes: bool

    @property
    def key(self) -> tuple[str, str]:
        return (self.tenant, "write" if self.writes else "read")


def caller_of(token: AccessToken, settings: Settings) -> Caller | None:
    tenant = tenant_key_of(token.claims or {}, settings.tenant_claim) or token.subject
    if not tenant:
        return None
    return Caller(tenant=tenant, writes=settings.oauth_write_scope in token.scopes)


class TokenBucket:
    """`rate` requests a second on average, `burst` at once; `take` says how long to wait if none is left."""

    def __init__(self, rate: float, burst: int, clock: Clock) -> None:
        self.rate, self.burst, self._clock = rate, float(burst), clock
        self._tokens = float(burst)
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def take(self) -> float:
        """0 when a request may go now (and counts it); else the seconds until one may."""
        if self.rate <= 0:
            return 0.0
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    def is_full(self) -> bool:
        self._refill()
        return self._tokens >= self.burst


@dataclass(frozen=True)
class MembraneWorkspace:
    """Where tenant tokens are minted for: Membrane's (or the sandbox's) URL and workspace key and secret."""

    api_url: str
    workspace_key: str
    workspace_secret: str = field(repr=False)

    def tenant_settings(self, base: Settings, caller: Caller) -> Settings:
        """The single-user settings of one tenant's backend: its own minted credentials, never wider than base."""
        return base.model_copy(
            update={
                "sandbox": False,
                "api_url": self.api_url,
                "token": None,
                "workspace_key": self.workspace_key,
                "workspace_secret": SecretStr(self.workspace_secret),
                "tenant_key": caller.tenant,
                "read_only": base.read_only or not caller.writes,
                "auth_tokens": None,
                "oauth_issuer": None,
            }
        )


class TenantRefused(Exception):
    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.retry_after = status, message, retry_after


@dataclass
class TenantBackend:
    caller: Caller
    last_used: float
    ready: anyio.Event = field(default_factory=anyio.Event)
    closing: anyio.Event = field(default_factory=anyio.Event)
    app: ASGIApp | None = None
    error: str | None = None
    in_flight: int = 0


class TenantRouter:
    """The /mcp endpoint of a multi-user server: sends each request to its caller's tenant backend."""

    def __init__(
        self,
        settings: Settings,
        workspace: MembraneWorkspace,
        clock: Clock = time.monotonic,
        slot_wait: float = SLOT_WAIT_SECONDS,
    ) -> None:
        self.settings = settings
        self.workspace = workspace
        self._clock = clock
        self._slot_wait = slot_wait
        self._backends: OrderedDict[tuple[str, str], TenantBackend] = OrderedDict()
        self._buckets: dict[str, TokenBucket] = {}
        self._group: TaskGroup | None = None
        self._released = anyio.Event()  # set (and replaced) whenever a backend stops being busy

    @property
    def open_tenants(self) -> list[tuple[str, str]]:
        return list(self._backends)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                for backend in self._backends.values():
                    backend.closing.set()
                self._backends.clear()
                self._group = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            caller = self._caller(scope)
            if scope.get("method") == "POST":
                self._spend(caller.tenant)
            backend = await self._backend(caller)
        except TenantRefused as refused:
            logger.warning("refused a request (%s): %s", refused.status, refused.message)
            await _refuse(refused, scope, receive, send)
            return
        assert backend.app is not None
        if scope.get("method") != "POST":
            self._release(backend)  # a GET stream may stay open for hours: it does not keep the tenant busy
            await backend.app(scope, receive, send)
            return
        try:
            await backend.app(scope, receive, send)
        finally:
            self._release(backend)

    def _release(self, backend: TenantBackend) -> None:
        backend.in_flight -= 1
        backend.last_used = self._clock()
        if backend.in_flight == 0:
            self._released.set()
            self._released = anyio.Event()

    def _caller(self, scope: Scope) -> Caller:
        user = scope.get("user")
        caller = caller_of(user.access_token, self.settings) if isinstance(user, AuthenticatedUser) else None
        if caller is None:
            raise TenantRefused(
                401, f"The access token names no tenant (claim {self.settings.tenant_claim!r})."
            )
        return caller

    def _spend(self, tenant: str) -> None:
        bucket = self._buckets.get(tenant)
        if bucket is None:
            bucket = self._buckets[tenant] = TokenBucket(
                self.settings.tenant_rate, self.settings.tenant_burst, self._clock
            )
        wait = bucket.take()
        if wait > 0:
            raise TenantRefused(
                429,
                f"Rate limit: tenant {tenant!r} may send {self.settings.tenant_rate:g} requests a second "
                f"(bursts of {self.settings.tenant_burst}); wait {math.ceil(wait)} s and try again.",
                retry_after=wait,
            )

    async def _backend(self, caller: Caller) -> TenantBackend:
        """The caller's backend, opened if needed, counted busy (in_flight) until `_release`."""
        self._close_idle()
        backend = self._backends.get(caller.key)
        if backend is None:
            await self._make_room()
            backend = self._backends.get(caller.key) or self._open(
                caller
            )  # another request may have opened it
        self._backends.move_to_end(caller.key)
        backend.last_used = self._clock()
        backend.in_flight += 1  # before any wait: a backend being opened for a request is not idle
        await backend.ready.wait()
        if backend.error is not None:
            self._release(backend)
            if self._backends.get(caller.key) is backend:
                del self._backends[caller.key]
            raise TenantRefused(502, f"Could not open tenant {caller.tenant!r}: {backend.error}")
        return backend

    async def _make_room(self) -> None:
        """Below --max-tenants, closing the least recently used idle backend; waits a while if all are busy."""
        with anyio.move_on_after(self._slot_wait):
            while len(self._backends) >= self.settings.max_tenants:
                # The dict is in recency order: the first idle one is the least recently used.
                idle = next((key for key, b in self._backends.items() if b.in_flight == 0), None)
                if idle is not None:
                    self._close(idle)
                    return
                await self._released.wait()
            return
        raise TenantRefused(
            503,
            f"The server is serving its maximum of {self.settings.max_tenants} tenants, all busy; "
            "try again in a few seconds.",
            retry_after=5,
        )

    def _open(self, caller: Caller) -> TenantBackend:
        if self._group is None:
            raise RuntimeError("TenantRouter is not running (enter TenantRouter.running() first)")
        backend = TenantBackend(caller, last_used=self._clock())
        self._backends[caller.key] = backend
        self._group.start_soon(self._serve, backend)
        return backend

    def _close(self, key: tuple[str, str]) -> None:
        backend = self._backends.pop(key, None)
        if backend is not None:
            logger.info("closing tenant %r (%s view)", *key)
            backend.closing.set()

    def _close_idle(self) -> None:
        now = self._clock()
        for key, backend in list(self._backends.items()):
            if (
                backend.in_flight == 0
                and backend.ready.is_set()
                and now - backend.last_used >= self.settings.tenant_idle_seconds
            ):
                self._close(key)
        for tenant, bucket in list(self._buckets.items()):
            if bucket.is_full():  # a full bucket is what a new one would be: forget it
                del self._buckets[tenant]

    async def _serve(self, backend: TenantBackend) -> None:
        from membrane_mcp.observability import observe_server
        from membrane_mcp.server.app import build_server
        from membrane_mcp.server.backend import open_gateway
        from membrane_mcp.server.http import build_http_app

        settings = self.workspace.tenant_settings(self.settings, backend.caller)
        try:
            async with open_gateway(settings) as gateway:
                server = observe_server(build_server(gateway), gateway, settings)
                backend.app = build_http_app(server, settings)
                async with server.session_manager.run():
                    logger.info("opened tenant %r (%s view)", *backend.caller.key)
                    backend.ready.set()
                    await backend.closing.wait()
        except Exception as exc:
            logger.exception("tenant %r failed", backend.caller.tenant)
            backend.error = str(exc)
        finally:
            backend.ready.set()


async def _refuse(refused: TenantRefused, scope: Scope, receive: Receive, send: Send) -> None:
    """A JSON-RPC error body: the SDK client surfaces its message to the caller as is."""
    body = json.dumps({"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": refused.message}})
    headers = [(b"content-type", b"application/json")]
    if refused.retry_after is not None:
        headers.append((b"retry-after", str(math.ceil(refused.retry_after)).encode()))
    await send({"type": "http.response.start", "status": refused.status, "headers": headers})
    await send({"type": "http.response.body", "body": body.encode()})


def build_multi_user_app(settings: Settings, router: TenantRouter, http: httpx.AsyncClient) -> Starlette:
    """/mcp behind the SDK's bearer middleware, the RFC 9728 metadata, /healthz and /readyz; with `--metrics`,
    /metrics for tokens with the metrics scope only (its tenant labels name every signed-in customer)."""
    from membrane_mcp import __version__
    from membrane_mcp.observability import metrics_app

    async def healthz(request: Request) -> JSONResponse:
        tenants = {"open": len(router.open_tenants), "max": settings.max_tenants}
        return JSONResponse({"status": "ok", "version": __version__, "tenants": tenants})

    async def readyz(request: Request) -> JSONResponse:
        # Nothing loads at start (each tenant's catalog loads on its first request): ready once it answers.
        return JSONResponse({"status": "ready", "version": __version__})

    config = OAuthConfig.from_settings(settings)
    verifier = build_verifier(settings, config, http)
    metadata_url = AnyHttpUrl(config.resource_metadata_url) if config else None
    routes = [
        Route("/mcp", endpoint=RequireAuthMiddleware(router, [settings.oauth_read_scope], metadata_url)),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),  # the Docker image's health check
    ]
    if config is not None:
        routes += protected_resource_routes(config)
    if (serve_metrics := metrics_app(settings)) is not None:
        routes.append(
            Route(
                "/metrics", RequireAuthMiddleware(serve_metrics, [settings.oauth_metrics_scope], metadata_url)
            )
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with router.running():
            yield

    return Starlette(
        routes=routes,
        middleware=[
            Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(verifier)),
            Middleware(AuthContextMiddleware),
        ],
        lifespan=lifespan,
    )


@asynccontextmanager
async def open_workspace(settings: Settings) -> AsyncIterator[MembraneWorkspace]:
    """Membrane's workspace, or the embedded sandbox's (started here, stopped on exit)."""
    if not settings.sandbox:
        assert settings.workspace_key and settings.workspace_secret  # multi_user_problem checked
        yield MembraneWorkspace(
            settings.api_url, settings.workspace_key, settings.workspace_secret.get_secret_value()
        )
        return
    from membrane_mcp.server.backend import sandbox_options, start_sandbox

    running: Any = await anyio.to_thread.run_sync(start_sandbox, sandbox_options(settings))
    logger.info("sandbox: Membrane stand-in at %s, one tenant per user", running.url)
    try:
        yield MembraneWorkspace(running.url, running.config.workspace_key, running.config.workspace_secret)
    finally:
        await anyio.to_thread.run_sync(running.stop)


async def run_multi_user_http(settings: Settings) -> None:
    from membrane_mcp.server.limits import header_timeout_protocol

    async with open_workspace(settings) as workspace, httpx.AsyncClient() as http:
        router = TenantRouter(settings, workspace)
        app = build_multi_user_app(settings, router, http)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            lifespan="on",
            http=header_timeout_protocol(settings.header_timeout),
        )
        logger.info(
            "membrane-mcp: serving many users at http://%s:%s/mcp (up to %d tenants open)",
            settings.host,
            settings.port,
            settings.max_tenants,
        )
        await uvicorn.Server(config).serve()
