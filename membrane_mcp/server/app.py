"""The MCP server: one low-level `Server` that serves both protocol eras.

Thin by design: listing and calling are the `Gateway`'s job. This module wires the
handlers, advertises list changes in both eras (a subscription bus for 2026-07-28
clients, the legacy session channel for handshake-era ones) and turns the transport's
progress channel into the gateway's `report_progress`.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any

from mcp import types
from mcp.server import Server
from mcp.server.caching import CacheHint
from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from membrane_mcp import __version__
from membrane_mcp.observability import install as install_observability
from membrane_mcp.redaction import scrub_model
from membrane_mcp.tools.confirm import (
    ConfirmationSeal,
    ConfirmFn,
    InputRequired,
    LegacyConfirmer,
    MrtrConfirmer,
)
from membrane_mcp.tools.gateway import CallContext, Gateway

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Tools for the user's business apps (CRMs and more) connected through Membrane. "
    "list_connections shows the apps; search_actions finds the action for a task; run it with its tool "
    "or run_action; raw_request reaches the app's own API when no action fits; create_action has "
    "Membrane build a missing action."
)


class ToolListNotifier:
    """Sends notifications/tools/list_changed to every live client, in both eras."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._legacy: weakref.WeakSet[Connection] = weakref.WeakSet()

    def remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        # The low-level context exposes the session, whose connection owns the standalone channel.
        connection = getattr(ctx.session, "_connection", None)
        if connection is not None:
            self._legacy.add(connection)

    async def notify(self) -> None:
        await self.bus.publish(ToolsListChanged())
        for connection in list(self._legacy):
            await connection.notify("notifications/tools/list_changed", None)


def confirmer_for(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams, seal: ConfirmationSeal
) -> ConfirmFn:
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return MrtrConfirmer(seal, params, ctx.session.client_capabilities)
    return LegacyConfirmer(ctx.session, ctx.request_id)


def build_server(gateway: Gateway) -> Server[Any]:
    notifier = ToolListNotifier()
    seal = ConfirmationSeal()
    gateway.add_tools_changed_listener(notifier.notify)

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        notifier.remember(ctx)
        if params is not None and params.cursor is not None:
            # The list comes in one page, so no cursor was ever issued: any cursor is invalid.
            raise MCPError(types.INVALID_PARAMS, "Invalid cursor: tools/list is not paginated")
        return types.ListToolsResult(tools=await gateway.list_tools())

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        notifier.remember(ctx)
        call = CallContext(
            report_progress=ctx.session.report_progress, confirm=confirmer_for(ctx, params, seal)
        )
        try:
            result = await gateway.call_tool(params.name, params.arguments, call)
        except InputRequired as pending:
            return pending.result  # type: ignore[return-value]  # MRTR: the client retries with the answer
        scrubbed: types.CallToolResult = scrub_model(result)
        return scrubbed

    server: Server[Any] = Server(
        "membrane-mcp",
        version=__version__,
        title="Membrane MCP",
        instructions=INSTRUCTIONS,
        on_list_tools=on_list_tools,
        on_call_tool=on_call_tool,
        on_subscriptions_listen=ListenHandler(notifier.bus),
        get_tool_input_schema=gateway.input_schema,
        cache_hints={"tools/list": CacheHint(ttl_ms=0, scope="private")},
    )
    install_observability(server, gateway)
    return server
