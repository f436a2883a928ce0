"""``/actions``: integration-level actions, connection-level instances, intent search, builds."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import ranking
from .auth import bearer_token, is_workspace_token
from .connections import find_connection
from .context import authenticate, json_object, query_bool, wait_timeout
from .db import now_iso, unix_now
from .errors import access_denied, already_exists, bad_request, not_found
from .paging import page
from .state import ClientGone, SandboxState

MAX_INTENT = 200


def action_view(state: SandboxState, tenant: sqlite3.Row, row: sqlite3.Row) -> dict[str, Any]:
    spec = state.spec_of(row) if row["state"] == "READY" else None
    key = row["integration_key"]
    view: dict[str, Any] = {
        "id": row["id"],
        "key": row["key"],
        "name": row["name"],
        "description": spec.description if spec else (row["intent"] or ""),
        "type": spec.type if spec else None,
        # impl is the app's private business; Membrane's config has no counterpart here.
        "config": {},
        "inputSchema": spec.input_schema if spec else None,
        "outputSchema": spec.output_schema if spec else None,
        "integrationId": state.integration_id(key),
        "integrationKey": key,
        "integration": state.integration_view(key) if key in state.apps else None,
        "layer": "connection" if row["connection_id"] else "integration",
        "state": row["state"],
        "errors": json.loads(row["errors"]),
        "revision": str(row["revision"]),
        "createdAt": row["created_at"],
        "updatedAt": row["updated_at"],
        "isDeactivated": False,
        "isCustomized": row["agent_session_id"] is not None,
    }
    if row["connection_id"]:
        view["connectionId"] = row["connection_id"]
        view["userId"] = tenant["user_id"]
        view["tenantId"] = tenant["id"]
    if row["parent_id"]:
        view["parentId"] = row["parent_id"]
    if row["agent_session_id"]:
        view["agentSessionId"] = row["agent_session_id"]
    if row["archived_at"]:
        view["archivedAt"] = row["archived_at"]
    # The SDK's response schemas mark these optional (absent, not null) until the build has finished.
    return {k: v for k, v in view.items() if v is not None}


def cached_view(state: SandboxState, tenant: sqlite3.Row, row: sqlite3.Row) -> tuple[dict[str, Any], str]:
    """`action_view` and its JSON, remade only when the row or the tenant differ from last time.

    A list of 50 actions is ~100 KB of JSON; encoding it on every request made the sandbox, not the
    client, the bottleneck of a catalog load. Views are not changed after they are made.
    """
    signature = tuple(row)
    known = state.action_views.get(row["id"])
    if known is not None and known[0] == signature and known[1] == tenant["id"]:
        return known[2], known[3]
    view = action_view(state, tenant, row)
    text = json.dumps(view, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    state.action_views[row["id"]] = (signature, tenant["id"], view, text)
    return view, text


def _visible(row: sqlite3.Row | None, tenant: sqlite3.Row, include_archived: bool) -> sqlite3.Row | None:
    if row is None:
        return None
    if row["tenant_key"] is not None and row["tenant_key"] != tenant["key"]:
        return None
    if row["archived_at"] and not include_archived:
        return None
    return row


def connection_from_query(state: SandboxState, tenant: sqlite3.Row, query: Any) -> sqlite3.Row | None:
    """The connection named by ``connectionId`` / ``connectionKey`` (or None)."""
    if query.get("connectionId"):
        return find_connection(state, tenant, query["connectionId"])
    if query.get("connectionKey"):
        return find_connection(state, tenant, query["connectionKey"])
    return None


def find_action(
    state: SandboxState,
    tenant: sqlite3.Row,
    selector: str,
    *,
    connection: sqlite3.Row | None = None,
    integration_key: str | None = None,
    include_archived: bool = False,
    for_run: bool = False,
) -> sqlite3.Row:
    """Resolve an action selector: an id, ``integrationKey.actionKey``, or a key (scoped by
    connection or integration when given). With a connection, an integration-level match is
    mapped to that connection's instance; ``for_run`` creates a missing built-in instance
    (under lazy-connection-actions, instances exist only once an action ran on the connection)."""
    if for_run and connection is not None and state.config.has("lazy-connection-actions"):
        _ensure_instance(state, selector, connection)
    db = state.store.db
    with state.store.lock:
        row = _visible(
            db.execute("SELECT * FROM sandbox_actions WHERE id = ?", (selector,)).fetchone(),
            tenant,
            include_archived,
        )
        if row is None:
            key = selector
            prefix, dot, rest = selector.partition(".")
            if dot and prefix in state.apps:
                integration_key, key = prefix, rest
            archived = "" if include_archived else " AND archived_at IS NULL"
            if connection is not None:
                row = db.execute(
                    f"SELECT * FROM sandbox_actions WHERE connection_id = ? AND key = ?{archived} "
                    "ORDER BY seq DESC LIMIT 1",
                    (connection["id"], key),
                ).fetchone()
            else:
                rows = db.execute(
                    f"SELECT * FROM sandbox_actions WHERE connection_id IS NULL AND key = ?{archived}"
                    + (" AND integration_key = ?" if integration_key else ""),
                    (key, integration_key) if integration_key else (key,),
                ).fetchall()
                if len(rows) > 1:
                    raise bad_request(f"Action key {key!r} is ambiguous; use integrationKey.{key} or an id")
                row = rows[0] if rows else None
        elif connection is not None and row["connection_id"] is None:
            row = db.execute(
                "SELECT * FROM sandbox_actions WHERE connection_id = ? AND parent_id = ? "
                "AND archived_at IS NULL",
                (connection["id"], row["id"]),
            ).fetchone()
    if row is None:
        raise not_found(f"Action {selector!r} not found")
    return row


def _ensure_instance(state: SandboxState, selector: str, connection: sqlite3.Row) -> None:
    prefix, dot, rest = selector.partition(".")
    key = rest if dot and prefix in state.apps else selector
    with state.store.lock:
        parent = state.store.db.execute(
            "SELECT * FROM sandbox_actions WHERE connection_id IS NULL AND archived_at IS NULL "
            "AND integration_key = ? AND (id = ? OR key = ?)",
            (connection["integration_key"], selector, key),
        ).fetchone()
    if parent is not None and parent["key"] in state.builtin_specs(parent["integration_key"]):
        state.create_instance(connection, parent)


async def list_actions(request: Request) -> Response:
    state, tenant = authenticate(request)
    query = request.query_params
    intent = query.get("intent")
    if intent is not None and len(intent) > MAX_INTENT:
        raise bad_request(
            f"intent must be at most {MAX_INTENT} characters",
            {"fields": {"intent": f"must be at most {MAX_INTENT} characters"}},
        )
    state.finish_due_builds()
    connection = connection_from_query(state, tenant, query)
    integration_key = query.get("integrationKey")
    if query.get("integrationId"):
        integration_key = state.integration_by_id(query["integrationId"]) or "\0"
    clauses: list[str] = []
    params: list[Any] = []
    # The SDK's FindActionsQuery `layer` filter; the sandbox has no universal actions.
    layer = query.get("layer")
    if layer == "universal":
        clauses.append("0")
    elif connection is not None and layer != "integration":
        clauses.append("connection_id = ?")
        params.append(connection["id"])
    elif layer == "connection":  # every connection-level instance of this tenant's connections
        clauses.append("connection_id IS NOT NULL AND tenant_key = ?")
        params.append(tenant["key"])
    else:
        clauses.append("connection_id IS NULL")
    if integration_key:
        clauses.append("integration_key = ?")
        params.append(integration_key)
    if not query_bool(query, "includeArchived"):
        clauses.append("archived_at IS NULL")
    with state.store.lock:
        rows = state.store.db.execute(
            f"SELECT * FROM sandbox_actions WHERE {' AND '.join(clauses)} ORDER BY seq", params
        ).fetchall()
    listed = [cached_view(state, tenant, row) for row in rows]
    # Built-ins whose catalog entry disappeared have no spec; don't list them.
    listed = [(v, text) for v, text in listed if v["state"] != "READY" or v["inputSchema"] is not None]
    search = (query.get("search") or "").lower()
    if not search and not intent:  # the plain list: its JSON is assembled from each action's, kept
        body = page(listed, query)
        items = ",".join(text for _, text in body["items"])
        cursor = f',"cursor":{json.dumps(body["cursor"])}' if "cursor" in body else ""
        return Response(f'{{"items":[{items}]{cursor}}}', media_type="application/json")
    views = [v for v, _ in listed]
    if search:
        views = [v for v in views if search in f"{v['name']} {v['key']} {v['description']}".lower()]
    # "Without a connection, intent is ignored" (docs): ranking applies to connection-level lists only.
    if intent and connection is not None:
        views = ranking.rank(intent, views, lambda v: (v["name"], v["key"], v["description"]))
    # The TOOLS client documents "default 10" for intent search; plain lists default to 100 [INFERRED].
    default_limit = 10 if intent and connection is not None else 100
    return JSONResponse(page(views, query, default_limit=default_limit))


async def get_action(request: Request) -> Response:
    state, tenant = authenticate(request)
    state.finish_due_builds()
    query = request.query_params
    connection = connection_from_query(state, tenant, query)
    row = find_action(
        state,
        tenant,
        request.path_params["action"],
        connection=connection,
        integration_key=query.get("integrationKey"),
        include_archived=True,
    )
    timeout = wait_timeout(query)
    if timeout is not None:
        action_id = row["id"]

        def built() -> bool:
            with state.store.lock:
                current = state.store.db.execute(
                    "SELECT state FROM sandbox_actions WHERE id = ?", (action_id,)
                ).fetchone()
            return current is None or current["state"] != "BUILDING"

        try:
            await state.wait_until(request, built, timeout)
        except ClientGone:
            return Response(status_code=499)
        with state.store.lock:
            row = state.store.db.execute(
                "SELECT * FROM sandbox_actions WHERE id = ?", (action_id,)
            ).fetchone()
    return JSONResponse(action_view(state, tenant, row))


async def create_action(request: Request) -> Response:
    state, tenant = authenticate(request)
    body = await json_object(request)
    problems: dict[str, str] = {}
    intent = body.get("intent")
    if not isinstance(intent, str) or not intent.strip():
        problems["intent"] = "is required: a plain-language description of the action"
    for field in ("name", "key", "connectionId", "connectionKey"):
        if (
            field in body
            and body[field] is not None
            and (not isinstance(body[field], str) or not body[field])
        ):
            problems[field] = "must be a non-empty string"
    has_connection = bool(body.get("connectionId") or body.get("connectionKey"))
    if not has_connection and not (body.get("integrationKey") or body.get("integrationId")):
        problems["connectionId"] = "is required"
    if problems:
        raise bad_request(
            "Invalid action: " + "; ".join(f"{k} {v}" for k, v in problems.items()), {"fields": problems}
        )
    if state.config.has("tenant-cannot-create-actions") and not is_workspace_token(
        bearer_token(request), state.config
    ):
        raise access_denied(
            "Creating actions needs a workspace (manager) token: a JWT signed with the workspace secret "
            "without a tenant claim; tenant tokens get 403"
        )
    if not has_connection:
        # Integration-level actions need a workspace (manager) token; the sandbox only issues tenant ones.
        raise access_denied(
            "Creating integration-level actions needs a workspace admin token; pass connectionId"
        )
    connection = find_connection(state, tenant, body.get("connectionId") or body["connectionKey"])
    if body.get("key"):
        with state.store.lock:
            taken = state.store.db.execute(
                "SELECT 1 FROM sandbox_actions WHERE connection_id = ? AND key = ? AND archived_at IS NULL",
                (connection["id"], body["key"]),
            ).fetchone()
        if taken:
            raise already_exists(f"An action with key {body['key']!r} already exists on this connection")
    intent = str(intent).strip()
    now = now_iso()
    ready_at = unix_now() + state.config.build_seconds
    with state.store.tx() as db:
        action_id = state.store.next_id("action")
        session_id = state.store.next_id("agent-session")
        name = body.get("name") or intent[:80]
        db.execute(
            "INSERT INTO sandbox_actions (id, tenant_key, connection_id, integration_key, key, name, state, "
            "intent, agent_session_id, ready_at, requested_name, requested_key, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'BUILDING', ?, ?, ?, ?, ?, ?, ?)",
            (
                action_id,
                tenant["key"],
                connection["id"],
                connection["integration_key"],
                body.get("key"),
                name,
                intent,
                session_id,
                ready_at,
                body.get("name"),
                body.get("key"),
                now,
                now,
            ),
        )
    state.schedule_build(action_id, ready_at)
    with state.store.lock:
        row = state.store.db.execute("SELECT * FROM sandbox_actions WHERE id = ?", (action_id,)).fetchone()
    return JSONResponse(action_view(state, tenant, row))


async def delete_action(request: Request) -> Response:
    state, tenant = authenticate(request)
    row = find_action(
        state,
        tenant,
        request.path_params["action"],
        connection=connection_from_query(state, tenant, request.query_params),
    )
    if row["connection_id"] is None:
        raise access_denied("Archiving an integration-level action needs a workspace admin token")
    now = now_iso()
    with state.store.tx() as db:
        db.execute(
            "UPDATE sandbox_actions SET archived_at = ?, updated_at = ? WHERE id = ?", (now, now, row["id"])
        )
        row = db.execute("SELECT * FROM sandbox_actions WHERE id = ?", (row["id"],)).fetchone()
    state.notify()
    return JSONResponse(action_view(state, tenant, row))


async def list_connection_actions(request: Request) -> Response:
    """``GET /connections/{conn}/actions``: the SDK's ConnectionLevelActionsAccessor."""
    state, tenant = authenticate(request)
    connection = find_connection(state, tenant, request.path_params["connection"])
    params = [
        (k, v) for k, v in request.query_params.multi_items() if k not in ("connectionId", "connectionKey")
    ]
    params.append(("connectionId", connection["id"]))
    request.scope["query_string"] = "&".join(f"{k}={_quote(v)}" for k, v in params).encode()
    return await list_actions(Request(request.scope, request.receive))


def _quote(value: str) -> str:
    return quote(value, safe="")


routes = [
    Route("/actions", list_actions, methods=["GET"]),
    Route("/actions", create_action, methods=["POST"]),
    Route("/actions/{action}", get_action, methods=["GET"]),
    Route("/actions/{action}", delete_action, methods=["DELETE"]),
    Route("/connections/{connection}/actions", list_connection_actions, methods=["GET"]),
]
