"""``/search`` and ``/connections``: listing, reading (with long-poll), creating, archiving."""

from __future__ import annotations

import secrets
import sqlite3
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import ranking
from .context import authenticate, json_object, query_bool, wait_timeout
from .db import now_iso
from .errors import ApiError, bad_request, not_found
from .paging import page, parse_limit
from .state import ClientGone, SandboxState


def public_base(state: SandboxState, request: Request) -> str:
    return (state.config.public_url or str(request.base_url)).rstrip("/")


def connection_view(
    state: SandboxState, tenant: sqlite3.Row, row: sqlite3.Row, request: Request
) -> dict[str, Any]:
    key = row["integration_key"]
    connected = row["state"] == "READY"
    view: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "userId": tenant["user_id"],
        "tenantId": tenant["id"],
        "isTest": False,
        "connected": connected,
        "disconnected": not connected,
        "isDefunct": False,
        "state": row["state"],
        "errors": [],
        "integrationId": state.integration_id(key),
        "integrationKey": key,
        "integration": state.integration_view(key) if key in state.apps else None,
        "connectorId": state.connector_id(key),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "lastActiveAt": row["last_active_at"],
        "canTest": True,
        "canRefreshCredentials": False,
        "isDeactivated": False,
    }
    if row["key"]:
        view["key"] = row["key"]
    if row["archived_at"]:
        view["archivedAt"] = row["archived_at"]
    config = state.config
    if config.has("no-integration-key"):
        del view["integrationKey"]
    if config.has("some-without-integration") and key in state.apps and list(state.apps).index(key) % 2:
        view.pop("integration", None)
    if config.has("disconnected-flag-only"):
        del view["state"], view["connected"]
    if row["state"] == "CLIENT_ACTION_REQUIRED":
        name = state.apps[key].name if key in state.apps else key
        ui_url = f"{public_base(state, request)}/_sandbox/connect/{row['id']}?code={row['connect_code']}"
        view["clientAction"] = {
            "type": "connect",
            "description": f"Open the link to authorize access to {name}.",
            "uiUrl": ui_url,
            "agentInstructions": (
                f"Ask the user to open {ui_url} in a browser and approve access to {name}. Then read "
                f"GET /connections/{row['id']} until its state is READY."
            ),
        }
    return {k: v for k, v in view.items() if v is not None}


def find_connection(
    state: SandboxState, tenant: sqlite3.Row, selector: str, *, include_archived: bool = False
) -> sqlite3.Row:
    """A connection by id, by key, or by integration key/id when that integration has exactly one."""
    archived = "" if include_archived else " AND archived_at IS NULL"
    with state.store.lock:
        db = state.store.db
        row = db.execute(
            f"SELECT * FROM sandbox_connections WHERE tenant_key = ? AND id = ?{archived}",
            (tenant["key"], selector),
        ).fetchone()
        if row is None:
            row = db.execute(
                f"SELECT * FROM sandbox_connections WHERE tenant_key = ? AND key = ?{archived}",
                (tenant["key"], selector),
            ).fetchone()
        if row is None:
            integration_key = selector if selector in state.apps else state.integration_by_id(selector)
            if integration_key is not None:
                rows = db.execute(
                    "SELECT * FROM sandbox_connections WHERE tenant_key = ? AND integration_key = ? "
                    "AND archived_at IS NULL",
                    (tenant["key"], integration_key),
                ).fetchall()
                if len(rows) == 1:
                    row = rows[0]
                elif len(rows) > 1:
                    raise bad_request(
                        f"Integration {selector!r} has {len(rows)} connections; address one by its id"
                    )
    if row is None:
        raise not_found(f"Connection {selector!r} not found")
    return row


def connection_for_integration(state: SandboxState, tenant: sqlite3.Row, integration_key: str) -> sqlite3.Row:
    """The tenant's connection to an integration (the oldest READY one when there are several)."""
    with state.store.lock:
        row = state.store.db.execute(
            "SELECT * FROM sandbox_connections WHERE tenant_key = ? AND integration_key = ? "
            "AND archived_at IS NULL ORDER BY state != 'READY', seq LIMIT 1",
            (tenant["key"], integration_key),
        ).fetchone()
    if row is None:
        raise not_found(f"No connection to integration {integration_key!r}")
    return row


async def search(request: Request) -> Response:
    state, _ = authenticate(request)
    q = request.query_params.get("q", "")
    if not 1 <= len(q) <= 200:
        raise bad_request("q must be 1 to 200 characters", {"fields": {"q": "must be 1 to 200 characters"}})
    # The SDK's WorkspaceElementSearchQuery allows limit 1-100; the TOOLS client documents a default of 10.
    limit = parse_limit(request.query_params, default=10, maximum=100)
    element_type = request.query_params.get("elementType")
    items: list[dict[str, Any]] = []
    for key, app in state.apps.items():
        relevance = ranking.score(q, name=app.name, key=key, description=app.description)
        if relevance <= 0 and q.lower() not in app.name.lower():
            continue
        if element_type in (None, "", "connector"):
            element = {"id": state.connector_id(key), "key": key, "name": app.name, "logoUri": app.logo_uri}
            items.append({"elementType": "connector", "element": element, "_score": relevance})
        if element_type in (None, "", "integration"):
            items.append(
                {"elementType": "integration", "element": state.integration_view(key), "_score": relevance}
            )
    items.sort(key=lambda item: -item["_score"])
    for item in items:
        del item["_score"]
    return JSONResponse({"items": items[:limit]})


async def list_connections(request: Request) -> Response:
    state, tenant = authenticate(request)
    query = request.query_params
    clauses, params = ["tenant_key = ?"], [tenant["key"]]
    if not query_bool(query, "includeArchived"):
        clauses.append("archived_at IS NULL")
    integration_key = query.get("integrationKey")
    if query.get("integrationId"):
        integration_key = state.integration_by_id(query["integrationId"]) or "\0"
    if query.get("connectorId"):
        integration_key = state.integration_by_connector_id(query["connectorId"]) or "\0"
    if integration_key:
        clauses.append("integration_key = ?")
        params.append(integration_key)
    connected = query_bool(query, "connected")
    disconnected = query_bool(query, "disconnected")  # deprecated filter, still honoured
    if disconnected is not None and connected is None:
        connected = not disconnected
    if connected is not None:
        clauses.append("state = 'READY'" if connected else "state != 'READY'")
    if query.get("search"):
        clauses.append("(name LIKE ? OR integration_key LIKE ?)")
        params += [f"%{query['search']}%"] * 2
    with state.store.lock:
        rows = state.store.db.execute(
            f"SELECT * FROM sandbox_connections WHERE {' AND '.join(clauses)} ORDER BY seq", params
        ).fetchall()
    return JSONResponse(page([connection_view(state, tenant, row, request) for row in rows], query))


async def get_connection(request: Request) -> Response:
    state, tenant = authenticate(request)
    selector = request.path_params["connection"]
    row = find_connection(state, tenant, selector, include_archived=True)
    timeout = wait_timeout(request.query_params)
    if timeout is not None:
        # The SDK and the TOOLS client say wait=true long-polls "until no longer BUILDING". Sandbox
        # connections are never BUILDING, so this returns at once even in CLIENT_ACTION_REQUIRED;
        # a client waiting for READY polls again (we follow the SDK rather than the CLI's blocking).
        connection_id = row["id"]

        def settled() -> bool:
            with state.store.lock:
                current = state.store.db.execute(
                    "SELECT state FROM sandbox_connections WHERE id = ?", (connection_id,)
                ).fetchone()
            return current is None or current["state"] != "BUILDING"

        try:
            await state.wait_until(request, settled, timeout)
        except ClientGone:
            return Response(status_code=499)
        row = find_connection(state, tenant, connection_id, include_archived=True)
    return JSONResponse(connection_view(state, tenant, row, request))


async def create_connection(request: Request) -> Response:
    state, tenant = authenticate(request)
    body = await json_object(request)
    problems: dict[str, str] = {}
    for field in ("name", "key", "connectorKey", "connectorId", "integrationKey", "integrationId", "intent"):
        if field in body and body[field] is not None and not isinstance(body[field], str):
            problems[field] = "must be a string"
    if problems:
        raise bad_request("Invalid connection: " + ", ".join(problems), {"fields": problems})
    integration_key: str | None = None
    if body.get("connectorKey") or body.get("integrationKey"):
        integration_key = body.get("connectorKey") or body.get("integrationKey")
        if integration_key not in state.apps:
            raise not_found(f"Connector {integration_key!r} not found")
    elif body.get("connectorId"):
        integration_key = state.integration_by_connector_id(body["connectorId"])
        if integration_key is None:
            raise not_found(f"Connector {body['connectorId']!r} not found")
    elif body.get("integrationId"):
        integration_key = state.integration_by_id(body["integrationId"])
        if integration_key is None:
            raise not_found(f"Integration {body['integrationId']!r} not found")
    elif body.get("intent"):
        ranked = sorted(
            (
                (ranking.score(body["intent"], name=app.name, key=key, description=app.description), key)
                for key, app in state.apps.items()
            ),
            reverse=True,
        )
        if not ranked or ranked[0][0] <= 0:
            raise not_found(f"No connector matches {body['intent']!r}")
        integration_key = ranked[0][1]
    else:
        raise bad_request(
            "One of connectorKey, connectorId, integrationKey, integrationId or intent is required",
            {
                "fields": {
                    "connectorKey": "one of connectorKey, connectorId, integrationKey, integrationId, intent"
                }
            },
        )
    app = state.apps[integration_key]
    connection_id = state.create_connection(
        tenant["key"], integration_key, body.get("name") or app.name, body.get("key"), secrets.token_hex(16)
    )
    row = find_connection(state, tenant, connection_id)
    return JSONResponse(connection_view(state, tenant, row, request))


def integration_for_app_url(state: SandboxState, app_url: str) -> str | None:
    """The integration whose app lives at a URL or bare domain ("https://vtiger.com", "1crm.com")."""
    host = urlsplit(app_url if "//" in app_url else f"//{app_url}").hostname or ""
    labels = host.lower().removeprefix("www.").split(".")
    name = labels[-2] if len(labels) >= 2 else labels[0]
    for key, app in state.apps.items():
        app_host = urlsplit(app.base_url).hostname or ""
        if name and (name == key.lower() or app_host == host or name in app_host.split(".")):
            return key
    return None


async def ensure_connection(request: Request) -> Response:
    """``POST /connections/ensure {appUrl, name?}``: the tenant's connection to the app at that URL,
    or a new one waiting for the user (SDK ``EnsureConnectionRequest``)."""
    state, tenant = authenticate(request)
    body = await json_object(request)
    app_url = body.get("appUrl")
    if not isinstance(app_url, str) or not app_url.strip():
        raise bad_request(
            "appUrl is required: the app's URL or domain", {"fields": {"appUrl": "is required"}}
        )
    integration_key = integration_for_app_url(state, app_url.strip())
    if integration_key is None:
        raise not_found(f"No connector matches the app at {app_url!r}")
    try:
        row = connection_for_integration(state, tenant, integration_key)
    except ApiError:
        name = body.get("name") if isinstance(body.get("name"), str) else None
        connection_id = state.create_connection(
            tenant["key"],
            integration_key,
            name or state.apps[integration_key].name,
            None,
            secrets.token_hex(16),
        )
        row = find_connection(state, tenant, connection_id)
    return JSONResponse(connection_view(state, tenant, row, request))


async def reconnect_connection(request: Request) -> Response:
    """``POST /connections/{id}/reconnect``: the same connection asks the user to sign in again
    (rather than a second connection to the same app); its clientAction.uiUrl is the new link."""
    state, tenant = authenticate(request)
    row = find_connection(state, tenant, request.path_params["connection"])
    state.start_reconnect(row["id"], secrets.token_hex(16))
    return JSONResponse(connection_view(state, tenant, find_connection(state, tenant, row["id"]), request))


async def delete_connection(request: Request) -> Response:
    state, tenant = authenticate(request)
    row = find_connection(state, tenant, request.path_params["connection"])
    now = now_iso()
    with state.store.tx() as db:
        db.execute(
            "UPDATE sandbox_connections SET archived_at = ?, updated_at = ? WHERE id = ?",
            (now, now, row["id"]),
        )
    state.notify()
    row = find_connection(state, tenant, row["id"], include_archived=True)
    return JSONResponse(connection_view(state, tenant, row, request))


async def list_integrations(request: Request) -> Response:
    state, _ = authenticate(request)
    return JSONResponse(page([state.integration_view(key) for key in state.apps], request.query_params))


async def get_integration(request: Request) -> Response:
    """An integration by id or key: how a client names the app of a connection without `integration`."""
    state, _ = authenticate(request)
    selector = request.path_params["integration"]
    key = selector if selector in state.apps else state.integration_by_id(selector)
    if key is None:
        raise not_found(f"Integration {selector!r} not found")
    return JSONResponse(state.integration_view(key))


routes = [
    Route("/search", search, methods=["GET"]),
    Route("/integrations", list_integrations, methods=["GET"]),
    Route("/integrations/{integration}", get_integration, methods=["GET"]),
    Route("/connections", list_connections, methods=["GET"]),
    Route("/connections", create_connection, methods=["POST"]),
    Route("/connections/ensure", ensure_connection, methods=["POST"]),
    Route("/connections/{connection}", get_connection, methods=["GET"]),
    Route("/connections/{connection}", delete_connection, methods=["DELETE"]),
    Route("/connections/{connection}/reconnect", reconnect_connection, methods=["POST"]),
]
