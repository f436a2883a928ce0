"""Running actions (every run is recorded) and reading run logs."""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..apps.base import ActionSpec, AppError
from .actions import action_view, connection_from_query, find_action
from .connections import connection_for_integration, connection_view, find_connection
from .context import authenticate, json_body, query_bool
from .db import dumps, now_iso
from .errors import ApiError, bad_request, not_found
from .state import SandboxState

log = logging.getLogger(__name__)


def _field(path: Any) -> str:
    return ".".join(str(part) for part in path) or "input"


def validate_input(spec: ActionSpec, input: Any) -> dict[str, Any]:
    """Check input against the action's inputSchema; return it without unknown top-level properties.

    Docs: "extra properties are silently ignored". Anything else is a 400 naming each bad field.
    """
    if input is None:
        input = {}
    if not isinstance(input, dict):
        raise bad_request("input must be a JSON object", {"fields": {"input": "must be an object"}})
    schema = spec.input_schema or {}
    properties = schema.get("properties")
    if (
        isinstance(properties, dict)
        and not schema.get("additionalProperties")
        and not schema.get("patternProperties")
    ):
        input = {k: v for k, v in input.items() if k in properties}
    validator_cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    problems: dict[str, str] = {}
    for error in validator_cls(schema).iter_errors(input):
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:  # type: ignore[union-attr]  # a list for "required"
                if name not in error.instance:
                    problems.setdefault(_field([*error.absolute_path, name]), "is required")
        elif error.validator == "additionalProperties" and not error.absolute_path:
            continue  # unreachable after stripping; kept for schemas that nest it oddly
        else:
            problems.setdefault(_field(error.absolute_path), error.message)
    if problems:
        summary = "; ".join(f"{field}: {message}" for field, message in problems.items())
        raise bad_request(f"Invalid input: {summary}", {"fields": problems})
    return input


def execute(state: SandboxState, tenant: sqlite3.Row, action: sqlite3.Row, raw_input: Any) -> tuple[Any, str]:
    """Validate and run one action on its connection; returns (output, actionRunId)."""
    if action["state"] != "READY":
        raise bad_request(f"Action {action['id']} is not ready to run (state {action['state']})")
    connection = find_connection(state, tenant, action["connection_id"])
    if connection["state"] != "READY":
        raise ApiError(
            400,
            f"Connection {connection['id']} is not connected (state {connection['state']}); "
            "the user must open its clientAction.uiUrl",
            type="connection",
        )
    spec = state.spec_of(action)
    app = state.apps.get(action["integration_key"])
    if spec is None or app is None:
        raise not_found(f"Action {action['id']} no longer exists in its integration")
    input = validate_input(spec, raw_input)
    run = _Run(tenant, action, connection, spec, input, action_view(state, tenant, action))
    try:
        with state.store.tx() as db:
            output = app.run(db, connection["id"], spec, input)
            run_id = state.store.next_id("action-run")
            run.record(db, run_id, 200, output=output)
        return output, run_id
    except AppError as exc:
        error = {"type": "action_run", "message": exc.message, "data": exc.data}
        with state.store.tx() as db:
            run_id = state.store.next_id("action-run")
            run.record(db, run_id, exc.status, error=error)
        data = {**exc.data, "actionRunId": run_id}
        # The docs say failed runs still carry actionRunId; the SDK's envelope puts extras in data.
        raise ApiError(
            exc.status, exc.message, type="action_run", data=data, extra={"actionRunId": run_id}
        ) from exc
    except ApiError:
        raise
    except Exception as exc:
        log.exception("action %s failed unexpectedly", action["id"])
        with state.store.tx() as db:
            run_id = state.store.next_id("action-run")
            run.record(db, run_id, 500, error={"type": "internal", "message": str(exc)})
        raise ApiError(
            500,
            f"Action run failed: {exc}",
            type="internal",
            data={"actionRunId": run_id},
            extra={"actionRunId": run_id},
        ) from exc


class _Run:
    """One run being recorded: when it started, and what the log will hold."""

    def __init__(
        self,
        tenant: sqlite3.Row,
        action: sqlite3.Row,
        connection: sqlite3.Row,
        spec: ActionSpec,
        input: Any,
        view: dict[str, Any],
    ) -> None:
        self.tenant, self.action, self.connection = tenant, action, connection
        self.spec, self.input, self.view = spec, input, view
        self.created_at = now_iso()
        self.started = time.perf_counter()

    def record(
        self,
        db: sqlite3.Connection,
        run_id: str,
        status: int,
        *,
        output: Any = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        # The log's `action`: the action as it ran (the SDK's ActionRunLogRecordApiResponse types it as
        # an Action) with the dispatch's connectionId and input, which the docs read from action.*.
        snapshot = {**self.view, "connectionId": self.connection["id"], "input": self.input}
        # Membrane's details hold the raw HTTP exchange with the app. The sandbox's apps run in-process,
        # so the exchange recorded is the app-level call: the operation, its input, and the app's answer.
        details = {
            "request": {"operation": self.spec.impl.get("op", self.spec.key), "body": self.input},
            "response": {"status": status, "body": error if error else output},
        }
        db.execute(
            "INSERT INTO sandbox_action_runs (id, tenant_key, action_id, connection_id, integration_key, action, "
            "input, output, error, status, created_at, completed_at, duration_ms, details) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                self.tenant["key"],
                self.action["id"],
                self.connection["id"],
                self.action["integration_key"],
                dumps(snapshot),
                dumps(self.input),
                None if error else dumps(output),
                dumps(error) if error else None,
                "error" if error else "success",
                self.created_at,
                now_iso(),
                round((time.perf_counter() - self.started) * 1000, 3),
                dumps(details),
            ),
        )


async def _input_object(request: Request) -> Any:
    return await json_body(request, required=False)


async def run_action(request: Request) -> Response:
    """``POST /actions/{selector}/run?connectionId=`` with body ``{input}``."""
    state, tenant = authenticate(request)
    query = request.query_params
    connection = connection_from_query(state, tenant, query)
    if connection is None and query.get("integrationKey"):
        connection = connection_for_integration(state, tenant, query["integrationKey"])
    body = await _input_object(request)
    if body is not None and not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object {input}")
    action = find_action(
        state,
        tenant,
        request.path_params["action"],
        connection=connection,
        integration_key=query.get("integrationKey"),
        for_run=True,
    )
    if action["connection_id"] is None:
        connection = connection_for_integration(state, tenant, action["integration_key"])
        action = find_action(state, tenant, action["id"], connection=connection, for_run=True)
    output, run_id = execute(state, tenant, action, (body or {}).get("input"))
    return JSONResponse({"output": output, "actionRunId": run_id})


async def run_connection_action(request: Request) -> Response:
    """``POST /connections/{conn}/actions/{action}/run``: the body is the raw input (SDK)."""
    state, tenant = authenticate(request)
    connection = find_connection(state, tenant, request.path_params["connection"])
    action = find_action(state, tenant, request.path_params["action"], connection=connection, for_run=True)
    output, run_id = execute(state, tenant, action, await _input_object(request))
    return JSONResponse({"output": output, "actionRunId": run_id})


async def run_legacy_instance(request: Request) -> Response:
    """``POST /action-instance/run?autoCreate=true&integrationKey=&parentKey=``.

    The old ``@integration-app/sdk`` path that Membrane's own MCP server uses; the body is the raw input.
    """
    state, tenant = authenticate(request)
    query = request.query_params
    connection = connection_from_query(state, tenant, query)
    if connection is None:
        if not query.get("integrationKey"):
            raise bad_request("integrationKey is required", {"fields": {"integrationKey": "is required"}})
        connection = connection_for_integration(state, tenant, query["integrationKey"])
    parent_key = query.get("parentKey") or query.get("key")
    if not parent_key:
        raise bad_request("parentKey is required", {"fields": {"parentKey": "is required"}})
    action = find_action(state, tenant, parent_key, connection=connection, for_run=True)
    output, run_id = execute(state, tenant, action, await _input_object(request))
    return JSONResponse({"output": output, "actionRunId": run_id})


async def act(request: Request) -> Response:
    """``POST /act`` with ``id`` or ``key`` (inline ``api``/``code`` are not supported by the sandbox)."""
    state, tenant = authenticate(request)
    body = await json_body(request)
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object")
    given = [name for name in ("id", "key", "api", "code") if body.get(name) is not None]
    if len(given) != 1:
        raise bad_request(
            "Exactly one of id, key, api, code is required",
            {"fields": {"id": "exactly one of id, key, api, code"}},
        )
    if given[0] in ("api", "code"):
        raise bad_request(f"The sandbox does not run inline {given[0]}; use the proxy or a catalog action")
    connection = None
    if body.get("connectionId") or body.get("connectionKey"):
        connection = find_connection(state, tenant, body.get("connectionId") or body["connectionKey"])
    elif body.get("integrationKey") or body.get("integrationId"):
        integration_key = body.get("integrationKey") or state.integration_by_id(body["integrationId"])
        if integration_key is None:
            raise not_found(f"Integration {body.get('integrationId')!r} not found")
        connection = connection_for_integration(state, tenant, integration_key)
    action = find_action(
        state,
        tenant,
        str(body[given[0]]),
        connection=connection,
        integration_key=body.get("integrationKey"),
        for_run=True,
    )
    if action["connection_id"] is None:
        connection = connection_for_integration(state, tenant, action["integration_key"])
        action = find_action(state, tenant, action["id"], connection=connection, for_run=True)
    output, run_id = execute(state, tenant, action, body.get("input"))
    return JSONResponse({"output": output, "actionRunId": run_id})


async def get_run_log(request: Request) -> Response:
    """``GET /action-run-logs/{id}`` (``?details=true``, or ``/details``, adds the exchange with the app)."""
    state, tenant = authenticate(request)
    run_id = request.path_params["run"]
    with state.store.lock:
        row = state.store.db.execute(
            "SELECT * FROM sandbox_action_runs WHERE id = ? AND tenant_key = ?",
            (run_id, tenant["key"]),
        ).fetchone()
    if row is None:
        raise not_found(f"Action run {run_id!r} not found")
    key = row["integration_key"]
    action = json.loads(row["action"])
    # The SDK's ActionRunLogRecordApiResponse: userId, name, integrationActionId, integrationId and
    # connectionId are required; error and output are absent (not null) when there are none.
    body: dict[str, Any] = {
        "id": row["id"],
        "userId": tenant["user_id"],
        "tenantId": tenant["id"],
        "name": action.get("name", ""),
        "integrationActionId": action.get("parentId") or row["action_id"],
        "actionId": row["action_id"],
        "integrationId": state.integration_id(key),
        "connectionId": row["connection_id"],  # the docs prefer action.connectionId
        "status": row["status"],
        "input": json.loads(row["input"]),  # the docs prefer action.input
        "createdAt": row["created_at"],
        "action": action,
        "connection": connection_view(
            state,
            tenant,
            find_connection(state, tenant, row["connection_id"], include_archived=True),
            request,
        ),
        "integration": state.integration_view(key) if key in state.apps else {"key": key},
    }
    if action.get("parentId"):
        body["connectionActionId"] = row["action_id"]
    if row["output"] is not None:
        body["output"] = json.loads(row["output"])
    if row["error"]:
        body["error"] = json.loads(row["error"])
    if row["completed_at"]:
        body["completedAt"] = row["completed_at"]
        body["duration"] = row["duration_ms"]
    details = request.url.path.endswith("/details") or query_bool(request.query_params, "details")
    if details and row["details"]:
        body["details"] = json.loads(row["details"])
    return JSONResponse(body)


routes = [
    Route("/actions/{action}/run", run_action, methods=["POST"]),
    Route("/connections/{connection}/actions/{action}/run", run_connection_action, methods=["POST"]),
    Route("/action-instance/run", run_legacy_instance, methods=["POST"]),
    Route("/act", act, methods=["POST"]),
    Route("/action-run-logs/{run}", get_run_log, methods=["GET"]),
    Route("/action-run-logs/{run}/details", get_run_log, methods=["GET"]),
]
