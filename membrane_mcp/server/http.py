"""Serving streamable HTTP at /mcp, with /healthz."""

from __future__ import annotations

import logging
from typing import Any

import anyio
import uvicorn
from mcp.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from membrane_mcp import __version__
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.banner import log_banner_when_loaded
from membrane_mcp.settings import LOOPBACK_HOSTS, Settings

logger = logging.getLogger(__name__)


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: Host and Origin must be ours (403 for a foreign Origin, 421 for a Host)."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    origins = ["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*"]
    if settings.host not in LOOPBACK_HOSTS and settings.host not in ("0.0.0.0", "::"):
        hosts.append(f"{settings.host}:*")
    hosts.extend(getattr(settings, "allowed_hosts", []) or [])
    origins.extend(getattr(settings, "allowed_origins", []) or [])
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "version": __version__})


def build_http_app(server: Server[Any], settings: Settings) -> Starlette:
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        host=settings.host,
        transport_security=transport_security(settings),
        custom_starlette_routes=[Route("/healthz", healthz, methods=["GET"])],
    )


async def run_http(settings: Settings) -> None:
    async with open_gateway(settings) as gateway:
        app = build_http_app(build_server(gateway), settings)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="on")
        async with anyio.create_task_group() as group:
            group.start_soon(log_banner_when_loaded, gateway, f"http://{settings.host}:{settings.port}/mcp")
            await uvicorn.Server(config).serve()
            group.cancel_scope.cancel()
