"""Serving streamable HTTP at /mcp, with /healthz and /readyz (readiness.py).

Safe by default: binds 127.0.0.1; a non-loopback bind needs ``MEMBRANE_MCP_AUTH_TOKENS``
(``cli.startup_problem`` refuses to start otherwise); with tokens, every request except
/healthz needs one (401). Host and Origin are checked against DNS rebinding (421 / 403),
request bodies are capped (413), and sessions, idle sessions and slow clients are limited
(``limits.py``).
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

import anyio
import uvicorn
from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.types import ASGIApp

from membrane_mcp.observability import metrics_routes, observe_server
from membrane_mcp.server.app import build_server
from membrane_mcp.server.auth import BearerAuthMiddleware
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.banner import log_banner_when_loaded
from membrane_mcp.server.limits import SessionLimits, header_timeout_protocol
from membrane_mcp.server.readiness import Readiness, health_routes
from membrane_mcp.server.tenants import is_multi_user, multi_user_problem, run_multi_user_http
from membrane_mcp.settings import Settings

logger = logging.getLogger(__name__)

WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


def is_loopback(host: str) -> bool:
    """An address judged by parsing it; of names, only `localhost` is resolved (to loopback addresses only)."""
    if host.lower().rstrip(".") == "localhost":
        try:
            infos = socket.getaddrinfo("localhost", None)
        except OSError:
            return False
        return bool(infos) and all(is_loopback(str(info[4][0])) for info in infos)
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_startup_problem(settings: Settings) -> str | None:
    """Why an HTTP server with these settings must not start, in one line; None if it may."""
    if problem := multi_user_problem(settings):
        return problem
    if settings.transport != "http" or is_loopback(settings.host) or settings.bearer_tokens:
        return None
    if settings.oauth_issuer:
        return None
    return (
        f"refusing to serve HTTP on {settings.host or 'all interfaces'} without authentication: "
        "set MEMBRANE_MCP_AUTH_TOKENS (one or more bearer tokens, comma-separated) or MEMBRANE_MCP_OAUTH_ISSUER, "
        "or bind 127.0.0.1"
    )


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: Host and Origin must be ours (403 for a foreign Origin, 421 for a Host)."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*", "127.0.0.1", "localhost", "[::1]"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if not is_loopback(settings.host) and settings.host not in WILDCARD_BINDS:
        hosts += [f"{settings.host}:*", settings.host]
    hosts.extend(settings.allowed_hosts)
    origins.extend(settings.allowed_origins)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def build_http_app(
    server: Server[Any],
    settings: Settings,
    *,
    readiness: Readiness | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> ASGIApp:
    app: Starlette = server.streamable_http_app(
        streamable_http_path="/mcp",
        host=settings.host,
        transport_security=transport_security(settings),
        max_request_body_size=settings.max_request_bytes,
        session_idle_timeout=settings.session_idle_timeout,
        max_sessions=settings.max_sessions,
        custom_starlette_routes=[*health_routes(readiness), *metrics_routes(settings)],
    )
    app.add_middleware(
        SessionLimits,
        max_sessions=settings.max_sessions,
        max_sessions_per_caller=settings.max_sessions_per_caller,
        idle_timeout=settings.session_idle_timeout,
        fresh_idle_timeout=settings.fresh_session_idle_timeout,
        body_timeout=settings.body_timeout,
        max_body_bytes=settings.max_request_bytes,
        clock=clock,
    )
    tokens = settings.bearer_tokens
    if not tokens:
        return app
    # Outermost, so an unauthenticated request learns nothing else (not even whether its Origin is allowed).
    app.add_middleware(BearerAuthMiddleware, tokens=tokens)
    return app


async def run_http(
    settings: Settings, sockets: list[socket.socket] | None = None, worker: int | None = None
) -> None:
    """The HTTP server; with ``--workers`` above 1, the parent of that many (workers.py). A worker is
    given its listening socket and its number."""
    from membrane_mcp.server.workers import StatelessOnly, serve_workers, worker_count

    workers = worker_count(settings)
    if worker is None and workers > 1:
        await serve_workers(settings)
        return
    if is_multi_user(settings):  # one backend per signed-in user's tenant (tenants.py)
        await run_multi_user_http(settings)
        return
    async with open_gateway(settings) as gateway:
        readiness = Readiness(gateway)
        app = build_http_app(
            observe_server(build_server(gateway), gateway, settings), settings, readiness=readiness
        )
        if worker is not None:
            app = StatelessOnly(app, worker=worker, workers=workers)
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            lifespan="on",
            http=header_timeout_protocol(settings.header_timeout),
        )
        async with anyio.create_task_group() as group:
            url = f"http://{settings.host}:{settings.port}/mcp"
            group.start_soon(log_banner_when_loaded, gateway, url, readiness)
            await uvicorn.Server(config).serve(sockets=sockets)
            group.cancel_scope.cancel()
