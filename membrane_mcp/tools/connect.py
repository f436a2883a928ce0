"""connect_app: the seeds' "search connector, then connect" workflow as one tool.

Membrane creates the connection; the user completes authentication in a browser (the
connection waits in CLIENT_ACTION_REQUIRED with a URL to open). The tool returns that URL
for the agent to show, and can wait for the user to finish, with progress.
"""

from __future__ import annotations

import math
from typing import Any

import anyio

from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.membrane.models import Connection
from membrane_mcp.tools import errors
from membrane_mcp.tools.arguments import ConnectAppArgs
from membrane_mcp.tools.catalog import connection_info
from membrane_mcp.tools.services import CallContext, ToolDeps

POLL_SECONDS = 1.0


async def connect_app(deps: ToolDeps, args: ConnectAppArgs, call: CallContext) -> Any:
    wanted = args.app.strip()
    snapshot = await deps.catalog.snapshot()
    existing = [c for c in snapshot.connections if c.app_key.lower() == wanted.lower()]
    if existing and not args.new:
        return {
            "already_connected": True,
            "connections": [{"id": c.id, "name": c.name, "state": c.state} for c in existing],
            "hint": "Pass new: true to add another connection to this app.",
        }
    connector = await _find_connector(deps, wanted)
    try:
        connection = await deps.client.create_connection(connector_id=connector["id"], name=args.name)
    except MembraneError as exc:
        raise errors.from_membrane_error(exc, doing="Creating the connection", operation="create") from exc
    if connection.state == "CLIENT_ACTION_REQUIRED" and args.wait_s > 0:
        connection = await _wait_for_user(deps, connection, args.wait_s, call)
    if connection.state == "READY":
        await deps.catalog.refresh_and_notify()
    return _describe(connection, connector)


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


async def _wait_for_user(
    deps: ToolDeps, connection: Connection, wait_s: float, call: CallContext
) -> Connection:
    started = anyio.current_time()
    deadline = started + wait_s
    effective = anyio.current_effective_deadline()
    if not math.isinf(effective):
        deadline = min(deadline, effective - 1)
    url = connection.client_action.ui_url if connection.client_action else None
    with anyio.CancelScope(deadline=deadline + 1):
        while connection.state == "CLIENT_ACTION_REQUIRED" and anyio.current_time() < deadline:
            elapsed = anyio.current_time() - started
            await call.report_progress(elapsed, wait_s, f"Waiting for the user to open {url}")
            await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - anyio.current_time())))
            try:
                connection = await deps.client.get_connection(connection.id)
            except MembraneError as exc:
                raise errors.from_membrane_error(
                    exc, doing="Checking the new connection", operation="read"
                ) from exc
    return connection


def _describe(connection: Connection, connector: dict[str, Any]) -> dict[str, Any]:
    info = connection_info(connection)
    result: dict[str, Any] = {
        "id": connection.id,
        "name": info.name,
        "app": info.app_key if info.app_key != "app" else connector.get("key"),
        "state": info.state,
    }
    if info.state == "CLIENT_ACTION_REQUIRED" and info.reconnect_url:
        result["connect_url"] = info.reconnect_url
        result["next_step"] = (
            "Ask the user to open connect_url in a browser and sign in to the app; "
            "then call list_connections (or connect_app again with wait_s) to see it READY."
        )
    elif info.state == "READY":
        result["next_step"] = "Connected. search_actions finds what this app can do."
    elif info.error:
        result["error"] = info.error
    return result
