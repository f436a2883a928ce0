"""``/connection-requests``: Membrane's agent flow for connecting an app (or reconnecting one).

``POST /connection-requests`` gives a ``url`` for the user; ``GET /connection-requests/{id}`` tells
whether the user finished (``status: success`` with ``resultConnectionId``). The SDK's
``CreateConnectionRequestPayload`` and ``ConnectionRequest`` (docs/membrane-api.md, section 5.4).
In the sandbox the url is a page under ``/_sandbox/`` that completes the request when opened.
"""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .connections import find_connection, public_base
from .context import authenticate, json_object
from .db import now_iso
from .errors import bad_request, not_found
from .state import SandboxState

_STRING_FIELDS = (
    "connectorId",
    "connectorKey",
    "integrationId",
    "integrationKey",
    "connectionId",
    "connectionKey",
    "name",
    "redirectUri",
    "prompt",
)


def request_view(
    state: SandboxState, tenant: sqlite3.Row, row: sqlite3.Row, request: Request
) -> dict[str, Any]:
    key = row["integration_key"]
    view: dict[str, Any] = {
        "requestId": row["id"],
        "tenantId": tenant["id"],
        "integrationId": state.integration_id(key),
        "connectorId": state.connector_id(key),
        "status": row["status"],
        "createdAt": row["created_at"],
        "url": f"{public_base(state, request)}/_sandbox/connection-requests/{row['id']}?code={row['code']}",
    }
    if row["connection_id"]:
        view["connectionId"] = row["connection_id"]
    if row["name"]:
        view["name"] = row["name"]
    if row["result_connection_id"]:
        view["resultConnectionId"] = row["result_connection_id"]
    if row["result_error"]:
        view["resultError"] = {"type": "connection", "message": row["result_error"]}
    return view


def _integration_of(state: SandboxState, tenant: sqlite3.Row, body: dict[str, Any]) -> tuple[str, str | None]:
    """(integration key, connection id to reconnect or None) from the request body."""
    if body.get("connectionId") or body.get("connectionKey"):
        connection = find_connection(state, tenant, body.get("connectionId") or body["connectionKey"])
        return connection["integration_key"], connection["id"]
    key: str | None = None
    if body.get("connectorKey") or body.get("integrationKey"):
        key = body.get("connectorKey") or body.get("integrationKey")
        key = key if key in state.apps else None
    elif body.get("connectorId"):
        key = state.integration_by_connector_id(body["connectorId"])
    elif body.get("integrationId"):
        key = state.integration_by_id(body["integrationId"])
    else:
        raise bad_request(
            "One of connectorId, connectorKey, integrationId, integrationKey or connectionId is required",
            {"fields": {"connectorId": "one of connectorId, connectorKey, integrationId, integrationKey"}},
        )
    if key is None:
        raise not_found("No connector or integration matches the request")
    return key, None


def find_request(state: SandboxState, tenant: sqlite3.Row, request_id: str) -> sqlite3.Row:
    with state.store.lock:
        row = state.store.db.execute(
            "SELECT * FROM sandbox_connection_requests WHERE id = ? AND tenant_key = ?",
            (request_id, tenant["key"]),
        ).fetchone()
    if row is None:
        raise not_found(f"Connection request {request_id!r} not found")
    return row


async def create_request(request: Request) -> Response:
    state, tenant = authenticate(request)
    body = await json_object(request)
    problems = {
        field: "must be a string"
        for field in _STRING_FIELDS
        if body.get(field) is not None and not isinstance(body[field], str)
    }
    if problems:
        raise bad_request("Invalid connection request: " + ", ".join(problems), {"fields": problems})
    integration_key, reconnect_id = _integration_of(state, tenant, body)
    now = now_iso()
    with state.store.tx() as db:
        request_id = state.store.next_id("connection-request")
        db.execute(
            "INSERT INTO sandbox_connection_requests (id, tenant_key, integration_key, connection_id, name, "
            "code, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)",
            (
                request_id,
                tenant["key"],
                integration_key,
                reconnect_id,
                body.get("name"),
                secrets.token_hex(16),
                now,
                now,
            ),
        )
    return JSONResponse(request_view(state, tenant, find_request(state, tenant, request_id), request))


async def get_request(request: Request) -> Response:
    state, tenant = authenticate(request)
    row = find_request(state, tenant, request.path_params["request"])
    return JSONResponse(request_view(state, tenant, row, request))


routes = [
    Route("/connection-requests", create_request, methods=["POST"]),
    Route("/connection-requests/{request}", get_request, methods=["GET"]),
]
