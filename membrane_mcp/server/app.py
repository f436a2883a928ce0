"""The MCP server: one low-level `Server` that serves both protocol eras.

Thin by design: listing and calling are the `Gateway`'s job. This module wires the
handlers, advertises list changes in both eras (a subscription bus for 2026-07-28
clients, each handshake-era session's own channel for the others), tells the gateway
which session is calling (`session_key`: per-session state such as pinned actions), and
turns the transport's progress channel into the gateway's `report_progress`.

Only public SDK APIs: sessions are told about list changes with
``ServerSession.send_tool_list_changed()`` (the connection's standalone channel).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from mcp import types
from mcp.server import Server
from mcp.server.caching import CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.session import ServerSession
from mcp.server.subscriptions import InMemorySubscriptionBus, ListenHandler, ToolsListChanged
from mcp.shared.exceptions import MCPError, NoBackChannelError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from membrane_mcp import __version__
from membrane_mcp.server.capabilities import ToolsChangedServer

if TYPE_CHECKING:
    from membrane_mcp.tools.confirm import ConfirmationSeal, ConfirmFn
    from membrane_mcp.tools.services import CallContext, OpenUrlFn

# The tools layer (membrane_mcp.tools: the Membrane client, httpx, the catalog) is imported at the first
# request that needs it, not with this module: over stdio the server answers `initialize` before the
# gateway behind it is opened (server/stdio.py), and importing it is most of what start-up would add.

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "Tools for the user's business apps (CRMs and more) connected through Membrane. "
    "list_connections shows the apps; search_actions finds the action for a task; run it with its tool, "
    "run_action (reads) or run_write_action (writes); raw_request (GET) and raw_write_request reach the "
    "app's own API when no action fits; create_action has Membrane build a missing action."
)


class ToolsBackend(Protocol):
    """What the server asks of the gateway (`tools.gateway.Gateway`, or one still opening:
    `server.pending_gateway.PendingGateway`)."""

    def add_tools_changed_listener(self, listener: Callable[[], Awaitable[None]]) -> None: ...

    async def list_tools(self, session: str | None = None) -> list[types.Tool]: ...

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None, call: CallContext
    ) -> types.CallToolResult: ...

    def input_schema(self, name: str) -> dict[str, Any] | None: ...


# Handshake-era sessions remembered for list-change notifications (the oldest are forgotten first).
MAX_REMEMBERED_SESSIONS = 1000


def session_key(ctx: ServerRequestContext[Any, Any]) -> str | None:
    """Which client session is calling.

    Over HTTP, the ``Mcp-Session-Id`` the SDK issued at initialize (None for the stateless 2026-07-28
    era, which has no sessions); without an HTTP request (stdio, in-memory), the process's one client.
    """
    request = ctx.request
    if request is None:
        from membrane_mcp.tools.services import LOCAL_SESSION

        return LOCAL_SESSION
    headers = getattr(request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return str(session_id) if session_id else None


class ToolListNotifier:
    """Sends notifications/tools/list_changed to every live client, in both eras."""

    def __init__(self) -> None:
        self.bus = InMemorySubscriptionBus()
        self._legacy: OrderedDict[str | None, ServerSession] = OrderedDict()

    def remember(self, ctx: ServerRequestContext[Any, Any]) -> None:
        if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        key = session_key(ctx)
        self._legacy[key] = ctx.session
        self._legacy.move_to_end(key)
        while len(self._legacy) > MAX_REMEMBERED_SESSIONS:
            self._legacy.popitem(last=False)

    async def notify(self) -> None:
        await self.bus.publish(ToolsListChanged())
        for key, session in list(self._legacy.items()):
            try:
                await session.send_tool_list_changed()
            except Exception:  # the client went away: forget it
                logger.debug("could not notify session %s of a tool list change", key, exc_info=True)
                self._legacy.pop(key, None)


def confirmer_for(
    ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams, seal: ConfirmationSeal
) -> ConfirmFn:
    from membrane_mcp.tools.confirm import LegacyConfirmer, MrtrConfirmer

    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        capabilities = ctx.session.client_capabilities

        async def confirm(message: str) -> bool | None:
            # Built when a call asks, not for every call: it digests the call's arguments.
            return await MrtrConfirmer(seal, params, capabilities)(message)

        return confirm
    return LegacyConfirmer(ctx.session, ctx.request_id)


def url_opener_for(ctx: ServerRequestContext[Any, Any]) -> OpenUrlFn:
    """URL-mode elicitation over the session's back-channel (2025-11-25 era) when the client declares
    `elicitation.url`; otherwise the link stays in the tool result."""
    from membrane_mcp.tools.services import cannot_open_url

    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return cannot_open_url
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or elicitation.url is None:
        return cannot_open_url

    async def open_url(message: str, url: str, elicitation_id: str) -> bool:
        try:
            result = await ctx.session.elicit_url(
                message, url, elicitation_id, related_request_id=ctx.request_id
            )
        except NoBackChannelError:
            return False
        return isinstance(result, types.ElicitResult) and result.action == "accept"

    return open_url


class LazySeal:
    """The process's `ConfirmationSeal`, made at the first tool call (tools.confirm is not imported before)."""

    def __init__(self) -> None:
        self._seal: ConfirmationSeal | None = None

    def get(self) -> ConfirmationSeal:
        if self._seal is None:
            from membrane_mcp.tools.confirm import ConfirmationSeal

            self._seal = ConfirmationSeal()
        return self._seal


def build_server(gateway: ToolsBackend) -> Server[Any]:
    notifier = ToolListNotifier()
    seal = LazySeal()
    gateway.add_tools_changed_listener(notifier.notify)

    async def on_list_tools(
        ctx: ServerRequestContext[Any, Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        notifier.remember(ctx)
        if params is not None and params.cursor is not None:
            # The list comes in one page, so no cursor was ever issued: any cursor is invalid.
            raise MCPError(types.INVALID_PARAMS, "Invalid cursor: tools/list is not paginated")
        return types.ListToolsResult(tools=await gateway.list_tools(session_key(ctx)))

    async def on_call_tool(
        ctx: ServerRequestContext[Any, Any], params: types.CallToolRequestParams
    ) -> types.CallToolResult:
        from membrane_mcp.tools.confirm import InputRequired
        from membrane_mcp.tools.services import CallContext

        notifier.remember(ctx)
        call = CallContext(
            report_progress=ctx.session.report_progress,
            confirm=confirmer_for(ctx, params, seal.get()),
            open_url=url_opener_for(ctx),
            session=session_key(ctx),
        )
        try:
            return await gateway.call_tool(params.name, params.arguments, call)  # scrubbed by the gateway
        except InputRequired as pending:
            return pending.result  # type: ignore[return-value]  # MRTR: the client retries with the answer

    server: Server[Any] = ToolsChangedServer(
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
    return server
