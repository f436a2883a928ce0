"""What each tool does: the meta tools, and an action listed as a tool."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from membrane_mcp.membrane.errors import MembraneError, NotFound
from membrane_mcp.membrane.models import Action, ActionRunResult
from membrane_mcp.tools.catalog import CatalogSnapshot, ConnectionInfo, ToolEntry
from membrane_mcp.tools.confirm import require_confirmation
from membrane_mcp.tools.connect import connect_app
from membrane_mcp.tools.errors import ToolError
from membrane_mcp.tools.raw import RawRequest, prepare_raw_request, summarize_response
from membrane_mcp.tools.validation import validate_arguments

if TYPE_CHECKING:
    from membrane_mcp.tools.gateway import CallContext, Gateway

Handler = Callable[["Gateway", dict[str, Any], "CallContext"], Awaitable[Any]]


def resolve_connection(snapshot: CatalogSnapshot, ref: str) -> ConnectionInfo:
    """A connection by id, exact name, or app key when that app has exactly one connection.

    Never guesses: an ambiguous reference is an error that lists the candidates.
    """
    for info in snapshot.connections:
        if info.id == ref:
            return info
    lowered = ref.strip().lower()
    # An app key comes before names: "vtiger" must not silently pick the connection named "Vtiger"
    # when the user has two Vtiger connections.
    for candidates in (
        [c for c in snapshot.connections if c.app_key.lower() == lowered],
        [c for c in snapshot.connections if c.name.lower() == lowered],
    ):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            listed = ", ".join(f"'{c.name}' (id {c.id})" for c in candidates)
            raise ToolError(
                f"'{ref}' matches {len(candidates)} connections: {listed}. Pass the connection id."
            )
    known = ", ".join(f"{c.app_key} '{c.name}' (id {c.id})" for c in snapshot.connections) or "none"
    raise ToolError(f"No connection '{ref}'. Known connections: {known}.")


def require_ready(info: ConnectionInfo) -> None:
    if info.state == "READY":
        return
    how = f" Ask the user to open {info.reconnect_url} to reconnect it." if info.reconnect_url else ""
    reason = f" ({info.error})" if info.error else ""
    raise ToolError(f"Connection '{info.name}' ({info.app_key}) is {info.state}{reason}.{how}")


def _deadline(call: CallContext) -> float:
    assert call.deadline is not None
    return call.deadline


async def list_connections(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    snapshot = await gateway.catalog.get()
    listed = {e.action_id for e in gateway.direct_entries(snapshot)}
    allowed = gateway.allowed_entries(snapshot)
    connections = []
    for info in snapshot.connections:
        entries = [e for e in allowed if e.connection_id == info.id]
        item: dict[str, Any] = {
            "id": info.id,
            "name": info.name,
            "app": info.app_key,
            "app_name": info.app_name,
            "state": info.state,
            "actions": len(entries),
            "tools": sum(1 for e in entries if e.action_id in listed),
        }
        if info.reconnect_url:
            item["reconnect_url"] = info.reconnect_url
        if info.error:
            item["error"] = info.error
        if info.id in snapshot.load_errors:
            item["actions_error"] = snapshot.load_errors[info.id]
        connections.append(item)
    return {"connections": connections, "tool_mode": gateway.effective_mode(snapshot)}


async def search_actions(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    snapshot = await gateway.catalog.get()
    limit = int(args.get("limit", 5))
    app, connection = args.get("app"), args.get("connection")
    connection_id = resolve_connection(snapshot, connection).id if connection else None
    listed = {e.action_id: e.name for e in gateway.direct_entries(snapshot)}
    index = await gateway.search_indexes.get(snapshot)
    results = []
    for hit in index.search(args["query"], limit, app=app or None, connection_id=connection_id):
        entry = hit.entry
        results.append(
            {
                "app": entry.app_key,
                "connection": entry.connection_id,
                "connection_name": entry.connection_name,
                "key": entry.action_key,
                "id": entry.action_id,
                "name": entry.action_name,
                "description": entry.description,
                "kind": entry.kind,
                "tool": listed.get(entry.action_id),
                "input_schema": entry.input_schema,
            }
        )
    hint = (
        "Run a result with run_action {connection, action: key, input}, or call its tool when 'tool' is set."
        if results
        else "No matching action. Try other words, raw_request, or create_action to have one built."
    )
    return {"results": results, "hint": hint}


def find_action(snapshot: CatalogSnapshot, connection_id: str, ref: str) -> ToolEntry | None:
    for entry in snapshot.by_connection.get(connection_id, []):
        if ref in (entry.action_key, entry.action_id, entry.name):
            return entry
    return None


def find_allowed_action(
    gateway: Gateway, snapshot: CatalogSnapshot, connection_id: str, ref: str
) -> ToolEntry | None:
    entry = find_action(snapshot, connection_id, ref)
    if entry is None or not gateway.policy.allows_action(entry.app_key, entry.action_key, entry.kind):
        return None
    return entry


async def run_action(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    snapshot = await gateway.catalog.get()
    info = resolve_connection(snapshot, args["connection"])
    require_ready(info)
    ref = args["action"]
    entry = find_allowed_action(gateway, snapshot, info.id, ref)
    if entry is None:
        # It may have been created since the catalog was loaded. A hidden action takes this path
        # too, so it answers exactly like an unknown one.
        snapshot = await gateway.catalog.get(refresh=True)
        entry = find_allowed_action(gateway, snapshot, info.id, ref)
    if entry is None:
        raise ToolError(
            f"No action '{ref}' on connection '{info.name}' ({info.app_key}). "
            "Use search_actions to find the right key."
        )
    action_input = args.get("input") or {}
    problems = validate_arguments(entry.validation_schema, action_input)
    if problems:
        listed = "\n".join(f"- {p}" for p in problems)
        raise ToolError(
            f"Invalid input for {info.app_key} action '{entry.action_key}' ({len(problems)} problem(s)); "
            f"nothing was sent:\n{listed}",
            details={"problems": problems, "input_schema": entry.input_schema},
        )
    await confirm_if_destructive(gateway, entry, info.name, action_input, call)
    result = await _run(gateway, entry, action_input, call)
    return {"output": result.output, "actionRunId": result.action_run_id}


async def run_entry(gateway: Gateway, entry: ToolEntry, action_input: Any, call: CallContext) -> Any:
    await confirm_if_destructive(gateway, entry, entry.connection_name, action_input, call)
    return (await _run(gateway, entry, action_input, call)).output


async def confirm_if_destructive(
    gateway: Gateway, entry: ToolEntry, connection_name: str, action_input: Any, call: CallContext
) -> None:
    """With --confirm-destructive, the user must say yes (MCP elicitation) before an update, delete or write runs."""
    if gateway.policy.action_needs_confirmation(entry.kind):
        what = f"run {entry.app_name} action '{entry.action_key}' on '{connection_name}' with {_brief(action_input)}"
        await require_confirmation(call.confirm, what)


def _brief(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _run(gateway: Gateway, entry: ToolEntry, action_input: Any, call: CallContext) -> ActionRunResult:
    try:
        # Never retried once it may have reached the app, reads included: a run is only ever executed
        # once by us. (The client retries it only when nothing was sent or Membrane refused it with a 429.)
        return await gateway.client.run_action(
            entry.action_id, entry.connection_id, action_input, deadline=_deadline(call)
        )
    except NotFound as exc:
        # A listed action that Membrane no longer knows was archived or deleted upstream since the catalog loaded.
        if await gateway.action_vanished(entry):
            raise ToolError(
                f"The {entry.app_name} action '{entry.action_key}' (id {entry.action_id}) no longer exists in "
                "Membrane: it was removed after the tool list was loaded. Nothing was run. The tool list has "
                "been refreshed; use search_actions to find another action.",
                details={"status": exc.status, "actionId": entry.action_id, "vanished": True},
            ) from exc
        raise


async def raw_request(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    snapshot = await gateway.catalog.get()
    info = resolve_connection(snapshot, args["connection"])
    require_ready(info)
    request: RawRequest = prepare_raw_request(args, gateway.policy)
    if gateway.policy.raw_needs_confirmation(request.method):
        body = f" with a {len(request.body)}-byte body" if request.body else ""
        what = f"send {request.method} {request.path}{body} to {info.app_name} '{info.name}'"
        await require_confirmation(call.confirm, what)
    response = await gateway.client.proxy(
        info.id,
        request.method,
        request.path,
        query=request.query,
        headers=request.headers,
        body=request.body,
        deadline=_deadline(call),
    )
    return summarize_response(response)


async def create_action(gateway: Gateway, args: dict[str, Any], call: CallContext) -> Any:
    snapshot = await gateway.catalog.get()
    info = resolve_connection(snapshot, args["connection"])
    require_ready(info)
    timeout = min(float(args.get("timeout_s", 120)), gateway.settings.create_action_timeout)
    deadline = min(time.monotonic() + timeout, _deadline(call))
    started = time.monotonic()
    action = await gateway.client.create_action(args["description"], info.id, deadline=deadline)
    await call.report_progress(0, timeout, f"Membrane is building the action (id {action.id})")

    async def on_progress(elapsed: float, current: Action) -> None:
        await call.report_progress(
            min(elapsed, timeout), timeout, f"Still {current.state or 'BUILDING'} after {elapsed:.0f} s"
        )

    action = await gateway.client.wait_for_action(action.id, deadline=deadline, on_progress=on_progress)
    elapsed = time.monotonic() - started
    if action.state == "BUILDING":
        raise ToolError(
            f"The action (id {action.id}) is still building after {elapsed:.0f} s. "
            "Call search_actions or run_action with its id later; it becomes a tool once ready.",
            details={"id": action.id, "state": action.state},
        )
    if action.state != "READY":
        errors = [getattr(e, "message", None) or str(e) for e in (action.errors or [])]
        reasons = "; ".join(errors) or "Membrane gave no reason"
        raise ToolError(
            f"Membrane could not build the action ({action.state}): {reasons}. "
            "Rephrase the description (name the object and what to do with it), or use raw_request.",
            details={"id": action.id, "state": action.state, "errors": _plain(action.errors)},
        )
    gateway.pinned_action_ids.add(action.id)
    gateway.catalog.invalidate()
    try:
        snapshot = await gateway.catalog.get(refresh=True)
    except MembraneError:
        # The action exists: a failed catalog reload must not report the build as failed.
        snapshot = gateway.catalog.cached or CatalogSnapshot(connections=[], entries=[])
    entry = next((e for e in snapshot.entries if e.action_id == action.id), None)
    await gateway.tools_changed()
    await call.report_progress(timeout, timeout, "Ready")
    return {
        "state": action.state,
        "id": action.id,
        "key": action.key,
        "name": action.name,
        "connection": info.id,
        "tool": entry.name if entry and gateway.is_listed(snapshot, entry.name) else None,
        "input_schema": entry.input_schema if entry else action.input_schema,
        "seconds": round(elapsed, 1),
    }


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: getattr(o, "model_dump", lambda: str(o))()))


META_HANDLERS: dict[str, Handler] = {
    "list_connections": list_connections,
    "search_actions": search_actions,
    "run_action": run_action,
    "raw_request": raw_request,
    "create_action": create_action,
    "connect_app": connect_app,
}
