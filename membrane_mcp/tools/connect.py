"""connect_app: Membrane's agent flows for connecting an app (docs/membrane-api.md 5.4).

- A new app: `POST /connection-requests {connectorId}` gives a `url` for the user; `GET
  /connection-requests/{id}` tells when the user finished (`success` + `resultConnectionId`). No
  connection exists until then, so an abandoned attempt leaves nothing behind.
- An app whose connection needs the user again: that connection is reconnected (`POST
  /connections/{id}/reconnect`), never a second one made; its `clientAction` carries the link and
  Membrane's `agentInstructions` (shown first, to follow verbatim) or asks for input (`provide-input`).

The link is `connect_url` in every tool's result. Where the client supports MCP URL-mode elicitation it
goes to the user through it instead, out of the model's context. A pending request is remembered per
app, so a second call with `wait_s` waits on it (or pass its `request_id`).
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import anyio

from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.membrane.models import Connection, ConnectionRequest
from membrane_mcp.tools import errors
from membrane_mcp.tools.arguments import ConnectAppArgs
from membrane_mcp.tools.catalog import ConnectionInfo, app_of, connection_info
from membrane_mcp.tools.services import CallContext, ToolDeps

POLL_SECONDS = 1.0
NEEDS_USER = ("CLIENT_ACTION_REQUIRED", "DISCONNECTED")
NO_SUCH_REQUEST = "Call connect_app without request_id to start a new one."


class PendingRequests:
    """Connection requests started by connect_app and not finished yet, by app key (one client's)."""

    def __init__(self) -> None:
        self._by_app: dict[str, ConnectionRequest] = {}

    def get(self, app: str) -> ConnectionRequest | None:
        return self._by_app.get(app.lower())

    def remember(self, app: str, request: ConnectionRequest) -> None:
        self._by_app[app.lower()] = request

    def forget(self, request_id: str) -> None:
        for app, request in list(self._by_app.items()):
            if request.request_id == request_id:
                del self._by_app[app]


_pending: weakref.WeakKeyDictionary[MembraneClient, PendingRequests] = weakref.WeakKeyDictionary()


def pending_requests(client: MembraneClient) -> PendingRequests:
    """The pending requests of this client (the client is per credential, so per user)."""
    return _pending.setdefault(client, PendingRequests())


async def connect_app(deps: ToolDeps, args: ConnectAppArgs, call: CallContext) -> Any:
    wanted = args.app.strip()
    pending = pending_requests(deps.client)
    remembered = pending.get(wanted)
    # A pending request is followed even with `new` (a repeated call must not start a second one).
    if args.request_id or remembered is not None:
        request_id = args.request_id or (remembered.request_id if remembered else "")
        return await _follow_request(deps, call, request_id, wanted, args.wait_s)
    snapshot = await deps.catalog.snapshot()
    existing = [c for c in snapshot.connections if c.app_key.lower() == wanted.lower()]
    ready = [c for c in existing if c.state == "READY"]
    if ready and not args.new:
        return {
            "already_connected": True,
            "connections": [_listed(c) for c in existing],
            "next_step": "search_actions finds what this app can do. Pass new: true to add another connection.",
        }
    broken = [c for c in existing if c.state != "READY"]
    if broken and not args.new:
        # A connection that needs the user again is reconnected, not duplicated (docs/membrane-api.md 5.4).
        return await _reconnect(deps, call, broken[0], args.wait_s)
    connector = await _find_connector(deps, wanted)
    try:
        request = await deps.client.create_connection_request(connector_id=connector["id"], name=args.name)
    except MembraneError as exc:
        raise errors.from_membrane_error(exc, doing="Requesting the connection", operation="create") from exc
    app = str(connector.get("key") or wanted)
    pending.remember(app, request)
    if wanted.lower() != app.lower():
        pending.remember(wanted, request)
    return await _follow_request(deps, call, request.request_id, app, args.wait_s, request)


async def _follow_request(
    deps: ToolDeps,
    call: CallContext,
    request_id: str,
    app: str,
    wait_s: float,
    request: ConnectionRequest | None = None,
) -> dict[str, Any]:
    """Show the request's link (once, through elicitation when the client can), wait up to `wait_s`."""
    try:
        if request is None:
            request = await deps.client.get_connection_request(request_id)
        shown = await _show_link(call, request.url, f"Sign in to {app} to connect it.", request_id)
        if request.status == "pending" and wait_s > 0:
            request = await _wait(deps, call, request, wait_s)
    except MembraneError as exc:
        raise errors.from_membrane_error(
            exc, doing="Checking the connection request", operation="read", not_found=NO_SUCH_REQUEST
        ) from exc
    if request.status != "pending":
        pending_requests(deps.client).forget(request.request_id)
    if request.status == "success" and request.result_connection_id:
        return await _connected(deps, request.result_connection_id, request.request_id)
    result: dict[str, Any] = {"app": app, "request_id": request.request_id, "status": request.status}
    if request.status == "pending":
        result["state"] = "CLIENT_ACTION_REQUIRED"
        _add_link(result, request.url, shown)
        result["next_step"] = (
            "The user signs in at connect_url (or in the window the client opened). Then call connect_app "
            f"again with wait_s (or request_id '{request.request_id}') to wait for it to finish."
        )
        return result
    reason = request.result_error.message if request.result_error else None
    raise errors.connect_failed(app, request.request_id, str(request.status), reason)


async def _reconnect(
    deps: ToolDeps, call: CallContext, info: ConnectionInfo, wait_s: float
) -> dict[str, Any]:
    try:
        if info.state == "CLIENT_ACTION_REQUIRED" and info.connect_url:
            # Already waiting for the user: the same link (a reconnect would replace the one they may have open).
            connection = await deps.client.get_connection(info.id)
        else:
            connection = await deps.client.reconnect_connection(info.id)
        action = connection.client_action
        url = action.ui_url if action else None
        message = (action.description if action else None) or f"Sign in to {info.app_name} again."
        shown = await _show_link(call, url, message, f"reconnect-{connection.id}")
        if connection.effective_state in NEEDS_USER and wait_s > 0:
            connection = await _wait_connection(deps, call, connection, wait_s)
    except MembraneError as exc:
        raise errors.from_membrane_error(
            exc, doing="Reconnecting the connection", operation="create"
        ) from exc
    if connection.effective_state == "READY":
        return await _connected(deps, connection.id, None, connection)
    described = connection_info(connection, await app_of(deps.client, connection))
    result = _needs_user(described, shown)
    result["reconnecting"] = True
    return result


def _needs_user(info: ConnectionInfo, shown: bool) -> dict[str, Any]:
    """A connection waiting for the user: Membrane's agentInstructions first, then what to do."""
    result: dict[str, Any] = {}
    if info.agent_instructions:
        result["agent_instructions"] = info.agent_instructions
    result.update({"connection": info.id, "app": info.app_key, "state": info.state})
    _add_link(result, info.connect_url, shown)
    if info.client_action_type == "provide-input":
        result["next_step"] = (
            "Membrane needs input from the user for this connection: follow agent_instructions; the user "
            "enters it at connect_url. Then call connect_app again with wait_s."
        )
    else:
        result["next_step"] = (
            "Follow agent_instructions if given; the user signs in at connect_url. Then call connect_app "
            "again with wait_s to wait until the connection is READY."
        )
    if info.error:
        result["error"] = info.error
    return result


def _add_link(result: dict[str, Any], url: str | None, shown: bool) -> None:
    if shown:
        result["connect_url_shown_to_user"] = True
    elif url:
        result["connect_url"] = url


async def _show_link(call: CallContext, url: str | None, message: str, elicitation_id: str) -> bool:
    """URL-mode elicitation: the client shows the link to the user, the model never sees it."""
    if not url:
        return False
    return await call.open_url(message, url, elicitation_id)


async def _connected(
    deps: ToolDeps, connection_id: str, request_id: str | None, connection: Connection | None = None
) -> dict[str, Any]:
    if connection is None:
        try:
            connection = await deps.client.get_connection(connection_id)
        except MembraneError as exc:
            raise errors.from_membrane_error(exc, doing="Reading the connection", operation="read") from exc
    await deps.catalog.refresh_and_notify()
    info = connection_info(connection, await app_of(deps.client, connection))
    result: dict[str, Any] = {
        "connection": info.id,
        "name": info.name,
        "app": info.app_key,
        "state": info.state,
    }
    if request_id:
        result["request_id"] = request_id
    result["next_step"] = (
        "Connected. search_actions finds what this app can do."
        if info.state == "READY"
        else f"The connection is {info.state}; list_connections shows why."
    )
    return result


def _listed(info: ConnectionInfo) -> dict[str, Any]:
    item: dict[str, Any] = {"id": info.id, "name": info.name, "state": info.state}
    if info.connect_url and info.state != "READY":
        item["connect_url"] = info.connect_url
    return item


async def _find_connector(deps: ToolDeps, wanted: str) -> dict[str, Any]:
    try:
        results = await deps.client.search(wanted, element_type="connector", limit=10)
    except MembraneError as exc:
        raise errors.from_membrane_error(exc, doing="Searching connectors", operation="read") from exc
    connectors = [r.element for r in results if isinstance(r.element, dict) and r.element.get("id")]
    lowered = wanted.lower()
    exact = [
        c for c in connectors if lowered in (str(c.get("key", "")).lower(), str(c.get("name", "")).lower())
    ]
    if len(exact) == 1:
        return exact[0]
    if len(connectors) == 1:
        return connectors[0]
    if not connectors:
        raise errors.no_connector(wanted)
    raise errors.several_connectors(wanted, [(str(c.get("name")), str(c.get("key"))) for c in connectors])


def _deadline(wait_s: float) -> float:
    deadline = anyio.current_time() + wait_s
    effective = anyio.current_effective_deadline()
    return deadline if math.isinf(effective) else min(deadline, effective - 1)


async def _wait(
    deps: ToolDeps, call: CallContext, request: ConnectionRequest, wait_s: float
) -> ConnectionRequest:
    started = anyio.current_time()
    deadline = _deadline(wait_s)
    with anyio.CancelScope(deadline=deadline + 1):
        while request.status == "pending" and anyio.current_time() < deadline:
            elapsed = anyio.current_time() - started
            await call.report_progress(elapsed, wait_s, "Waiting for the user to finish signing in")
            await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - anyio.current_time())))
            request = await deps.client.get_connection_request(request.request_id)
    return request


async def _wait_connection(
    deps: ToolDeps, call: CallContext, connection: Connection, wait_s: float
) -> Connection:
    started = anyio.current_time()
    deadline = _deadline(wait_s)
    with anyio.CancelScope(deadline=deadline + 1):
        while connection.effective_state in NEEDS_USER and anyio.current_time() < deadline:
            elapsed = anyio.current_time() - started
            await call.report_progress(elapsed, wait_s, "Waiting for the user to finish signing in")
            await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - anyio.current_time())))
            connection = await deps.client.get_connection(connection.id)
    return connection
