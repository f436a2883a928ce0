"""The gateway of a stdio server that answers before the gateway is open.

`serve` over stdio answers `initialize` first and opens the gateway (the Membrane client, the catalog,
the tools layer, and with --sandbox the sandbox) right after: importing those is most of what start-up
would add to the SDK's own server, and the handshake needs none of it. Until it is open, `PendingGateway`
stands in for it: the server's handlers wait for it here (asking for it opens it at once, so a client
whose first request is not `initialize` is not kept waiting), then go through to the real one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from mcp import types
    from mcp.server.context import ServerMiddleware

    from membrane_mcp.tools.catalog import CatalogSnapshot
    from membrane_mcp.tools.gateway import Gateway
    from membrane_mcp.tools.services import CallContext


class GatewayNotOpened(Exception):
    """The gateway could not be opened; the server stops with this error's cause."""


class PendingGateway:
    """A `Gateway` to be: `wanted` is set by the first request that needs it (or by the runner once the
    first answer is out); `open(gateway)` (or `failed`) releases everyone waiting."""

    def __init__(self) -> None:
        self.wanted = anyio.Event()
        self._opened = anyio.Event()
        self._gateway: Gateway | None = None
        self._error: BaseException | None = None
        self._listeners: list[Callable[[], Awaitable[None]]] = []
        self.catalog = _PendingCatalog(self)

    @property
    def current(self) -> Gateway | None:
        return self._gateway

    def open(self, gateway: Gateway) -> None:
        for listener in self._listeners:
            gateway.add_tools_changed_listener(listener)
        self._listeners.clear()
        self._gateway = gateway
        self.wanted.set()
        self._opened.set()

    def failed(self, error: BaseException) -> None:
        self._error = error
        self.wanted.set()
        self._opened.set()

    def raise_if_failed(self) -> None:
        """Raise why the gateway could not be opened, if it could not."""
        if self._error is not None:
            raise self._error

    async def get(self) -> Gateway:
        if self._gateway is None:
            self.wanted.set()
            await self._opened.wait()
            if self._gateway is None:
                raise GatewayNotOpened("the gateway could not be opened") from self._error
        return self._gateway

    # -- what the server asks of a gateway (server.app.ToolsBackend) -----------------------------

    def add_tools_changed_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        if self._gateway is not None:
            self._gateway.add_tools_changed_listener(listener)
        else:
            self._listeners.append(listener)

    async def list_tools(self, session: str | None = None) -> list[types.Tool]:
        return await (await self.get()).list_tools(session)

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None, call: CallContext
    ) -> types.CallToolResult:
        return await (await self.get()).call_tool(name, arguments, call)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        return self._gateway.input_schema(name) if self._gateway is not None else None

    def call_observer(self, make: Callable[[], ServerMiddleware[Any]]) -> ServerMiddleware[Any]:
        """The tool-call observer, made by `make` (over `self.catalog`) at the first tool call or once the
        gateway is open, whichever comes first: the tools layer it imports is not loaded before."""
        return _ObserverWhenNeeded(self, make)


class _PendingCatalog:
    """The catalog's `cached` snapshot for the tool-call observer: none until the gateway is open."""

    def __init__(self, pending: PendingGateway) -> None:
        self._pending = pending

    @property
    def cached(self) -> CatalogSnapshot | None:
        gateway = self._pending.current
        return gateway.catalog.cached if gateway is not None else None


class _ObserverWhenNeeded:
    """Middleware: the tool-call observer `make` makes, made at the first tool call (which it observes
    from the start, waiting for the gateway included) or once the gateway is open; before, other messages
    go straight on (over stdio the observer only counts HTTP sessions for those, and stdio has none)."""

    def __init__(self, pending: PendingGateway, make: Callable[[], ServerMiddleware[Any]]) -> None:
        self._pending = pending
        self._make = make
        self._inner: ServerMiddleware[Any] | None = None

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if self._inner is None:
            if ctx.method != "tools/call" and self._pending.current is None:
                return await call_next(ctx)
            self._inner = self._make()
        return await self._inner(ctx, call_next)
