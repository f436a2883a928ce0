"""connect_app: the seeds' "search connector, then connect" workflow as one tool.

Membrane creates the connection; the user completes authentication in a browser (the
connection waits in CLIENT_ACTION_REQUIRED with a URL to open). The tool returns that URL
for the agent to show, and can wait for the user to finish, with progress.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anyio

from membrane_mcp.membrane.models import Connection
from membrane_mcp.tools.catalog import connection_info
from membrane_mcp.tools.errors import ToolError

if TYPE_CHECKING:
    from membrane_mcp.tools.gateway import CallContext, Gateway

POLL_SECONDS = 1.0


async def connect_app(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    wanted = str(args["app"]).strip()
    snapshot = await gateway.catalog.get()
    existing = [c for c in snapshot.connections if c.app_key.lower() == wanted.lower()]
    if existing and not args.get("new", False):
        return {
            "already_connected": True,
            "connections": [{"id": c.id, "name": c.name, "state": c.state} for c in existing],
            "hint": "Pass new: true to add another connection to this app.",
        }
    connector = await _find_connector(gateway, wanted, call)
    connection = await gateway.client.create_connection(
        connector_id=connector["id"], name=args.get("name"), deadline=call.deadline
    )
    wait_s = float(args.get("wait_s", 0))
    if connection.state == "CLIENT_ACTION_REQUIRED" and wait_s > 0:
        connection = await _wait_for_user(gateway, connection, wait_s, call)
    if connection.state == "READY":
        gateway.catalog.invalidate()
        await gateway.catalog.get(refresh=True)
        await gateway.tools_changed()
    return _describe(connection, connector)


async def _find_connector(gateway: Gateway, wanted: str, call: CallContext) -> dict[str, Any]:
    results = await gateway.client.search(wanted, element_type="connector", limit=10, deadline=call.deadline)
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
        raise ToolError(f"Membrane has no connector matching '{wanted}'. Try the app's name or domain.")
    listed = ", ".join(f"'{c.get('name')}' (key {c.get('key')})" for c in connectors[:10])
    raise ToolError(f"'{wanted}' matches several connectors: {listed}. Pass the exact key.")


async def _wait_for_user(
    gateway: Gateway, connection: Connection, wait_s: float, call: CallContext
) -> Connection:
    started = time.monotonic()
    deadline = started + wait_s
    if call.deadline is not None:
        deadline = min(deadline, call.deadline - 1)
    url = connection.client_action.ui_url if connection.client_action else None
    while connection.state == "CLIENT_ACTION_REQUIRED" and time.monotonic() < deadline:
        elapsed = time.monotonic() - started
        await call.report_progress(elapsed, wait_s, f"Waiting for the user to open {url}")
        await anyio.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
        connection = await gateway.client.get_connection(connection.id, deadline=deadline + 1)
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
