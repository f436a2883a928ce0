"""From settings to a ready `Gateway`: credentials, Membrane client, catalog, policy.

The one place that reads `Settings` for the layers below: each gets its own small config
(`gateway_config`, `membrane_config`, `policy_from`, `catalog_from`), so none of them sees the
transport, the bind address or the secrets it does not use.

With ``--sandbox`` an embedded Membrane sandbox starts on a free loopback port and
the client points at it, with no other setting needed.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx

from membrane_mcp import __version__
from membrane_mcp.membrane.auth import StaticToken, TokenProvider, WorkspaceCredentials
from membrane_mcp.membrane.client import MembraneClient, MembraneConfig
from membrane_mcp.membrane.deferred_transport import pooled_transport_later
from membrane_mcp.membrane.retry import RetryPolicy
from membrane_mcp.redaction import protect, secret_values
from membrane_mcp.server.errors import ConfigurationError
from membrane_mcp.settings import Settings
from membrane_mcp.tools.catalog import Catalog, CatalogFilter
from membrane_mcp.tools.gateway import Gateway
from membrane_mcp.tools.policy import Policy, policy_from_settings
from membrane_mcp.tools.services import GatewayConfig

logger = logging.getLogger(__name__)


def credentials_from(settings: Settings) -> TokenProvider:
    if settings.token is not None:
        return StaticToken(settings.token.get_secret_value())
    if settings.workspace_key and settings.workspace_secret is not None:
        return WorkspaceCredentials(
            workspace_key=settings.workspace_key,
            workspace_secret=settings.workspace_secret.get_secret_value(),
            # No tenant key, no tenant claim: the SDK's mintToken leaves it out (docs/membrane-api.md 2.1).
            tenant_key=settings.tenant_key or None,
        )
    raise ConfigurationError(
        "No Membrane credentials: set MEMBRANE_TOKEN, or MEMBRANE_WORKSPACE_KEY + MEMBRANE_WORKSPACE_SECRET "
        "(+ MEMBRANE_TENANT_KEY); or run with --sandbox to try it on the local sandbox."
    )


def workspace_credentials_from(settings: Settings) -> TokenProvider | None:
    """A workspace-level (manager) token: key + secret, no tenant claim. create_action uses it when the
    tenant's token gets 403 (docs/membrane-api.md 2.2 and 5.7)."""
    if settings.workspace_key and settings.workspace_secret is not None:
        return WorkspaceCredentials(
            workspace_key=settings.workspace_key,
            workspace_secret=settings.workspace_secret.get_secret_value(),
            tenant_key=None,
        )
    return None


def policy_from(settings: Settings) -> Policy:
    try:
        policy = policy_from_settings(
            read_only=settings.read_only,
            allow_actions=settings.allow_actions,
            deny_actions=settings.deny_actions,
            deny_destructive=settings.deny_destructive,
            no_raw_request=settings.no_raw_request,
            raw_methods=settings.raw_methods,
            raw_allow_host=settings.raw_allow_host,
            confirm_destructive=settings.confirm_destructive,
            allow_create_action=settings.allow_create_action,
        )
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from exc
    for warning in policy.startup_warnings():
        logger.warning("%s", warning)
    return policy


def gateway_config(settings: Settings) -> GatewayConfig:
    return GatewayConfig(
        tool_mode=settings.tool_mode,
        direct_tool_limit=settings.direct_tool_limit,
        direct_max_bytes=settings.direct_max_bytes,
        max_output_bytes=settings.max_output_bytes,
        call_timeout=settings.call_timeout,
        create_action_timeout=settings.create_action_timeout,
    )


def membrane_config(settings: Settings, retry_policy: RetryPolicy | None = None) -> MembraneConfig:
    return MembraneConfig(
        base_url=settings.api_url,
        user_agent=f"membrane-mcp/{__version__}",
        retry_policy=retry_policy or RetryPolicy(),
        max_response_bytes=settings.max_response_bytes,
    )


def catalog_from(
    settings: Settings, client: MembraneClient, clock: Callable[[], float] = time.monotonic
) -> Catalog:
    return Catalog(
        client,
        ttl=settings.catalog_ttl,
        concurrency=settings.catalog_concurrency,
        catalog_filter=CatalogFilter(settings.apps, settings.connections, settings.actions),
        clock=clock,
    )


def build_gateway(
    settings: Settings, client: MembraneClient, *, catalog_clock: Callable[[], float] = time.monotonic
) -> Gateway:
    """A gateway over `client`, configured from `settings` (the tests' and the server's one recipe; tests
    pass a fake `catalog_clock` to expire the catalog's TTL without waiting)."""
    catalog = catalog_from(settings, client, catalog_clock)
    return Gateway(gateway_config(settings), client, policy_from(settings), catalog)


@dataclass(frozen=True)
class SandboxOptions:
    """What the embedded sandbox is started with (``--sandbox-db``, ``--sandbox-build-seconds``)."""

    db_path: str | None = None
    build_seconds: float = 2.0


def sandbox_options(settings: Settings) -> SandboxOptions:
    db_path = str(settings.sandbox_db) if settings.sandbox_db else None
    return SandboxOptions(db_path=db_path, build_seconds=settings.sandbox_build_seconds)


def start_sandbox(options: SandboxOptions, port: int = 0) -> Any:
    """The product's one call into the sandbox package."""
    from membrane_sandbox import SandboxConfig, default_db_path, start_in_thread

    config = SandboxConfig(
        db_path=options.db_path or str(default_db_path()), build_seconds=options.build_seconds
    )
    return start_in_thread(config, port=port)


class BackgroundSandbox(httpx.AsyncBaseTransport):
    """The embedded sandbox, started on a thread at the first request to it.

    Starting it (imports, SQLite schema, seeding) takes longer than the whole MCP handshake, which needs
    none of it; started before, it would compete with the handshake for the interpreter. The port is
    reserved up front so the client's base URL is known; requests wait here until the sandbox accepts
    connections (or re-raise why it could not start).
    """

    def __init__(self, options: SandboxOptions) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.running: Any = None
        self._error: BaseException | None = None
        self._ready = threading.Event()
        self._inner = pooled_transport_later(httpx.Limits(max_connections=20, max_keepalive_connections=20))
        self._thread = threading.Thread(
            target=self._start, args=(options,), name="sandbox-start", daemon=True
        )

    def _start(self, options: SandboxOptions) -> None:
        try:
            self.running = start_sandbox(options, port=self.port)
            logger.info(
                "sandbox: Membrane stand-in at %s (database %s)", self.url, self.running.config.db_path
            )
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not self._ready.is_set():
            if self._thread.ident is None:  # the first request: start it (the event loop's thread only)
                self._thread.start()
            await anyio.to_thread.run_sync(self._ready.wait)
        if self._error is not None:
            raise httpx.ConnectError(f"the embedded sandbox did not start: {self._error}", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def stop(self) -> None:
        if self._thread.ident is None:
            return  # never started: nothing asked it anything
        self._ready.wait(30)
        if self.running is not None:
            self.running.stop()


@asynccontextmanager
async def open_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    protect(secret_values(settings))
    sandbox = None
    if settings.sandbox:
        from membrane_sandbox import SandboxConfig

        sandbox = BackgroundSandbox(sandbox_options(settings))
        settings = settings.model_copy(update={"api_url": sandbox.url})
        credentials: TokenProvider = StaticToken(SandboxConfig.token)
    else:
        credentials = credentials_from(settings)
    workspace = workspace_credentials_from(settings)
    try:
        async with MembraneClient(
            membrane_config(settings), credentials, transport=sandbox, workspace_credentials=workspace
        ) as client:
            yield build_gateway(settings, client)
    finally:
        if sandbox is not None:
            sandbox.stop()
