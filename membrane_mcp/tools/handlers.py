"""What each tool does: the meta tools' handlers, and an action listed as a tool (`run_entry`).

Every handler is ``async (deps: ToolDeps, args: <ArgumentModel>, call: CallContext) -> value``
(see tools/services.py); it raises `ToolError` for failures the agent can act on. Wording lives in
tools/errors.py.
"""

from __future__ import annotations

import json
import logging
import time
import weakref
from collections import Counter
from functools import partial
from typing import Any

import anyio

from membrane_mcp.membrane.errors import AccessDenied, MembraneError, NotFound
from membrane_mcp.membrane.models import Action, ActionRunResult
from membrane_mcp.tools import discovery, errors, shaping
from membrane_mcp.tools.arguments import (
    CreateActionArgs,
    DescribeActionArgs,
    ListConnectionsArgs,
    RawRequestArgs,
    RawWriteRequestArgs,
    RunActionArgs,
    RunWriteActionArgs,
    SearchActionsArgs,
)
from membrane_mcp.tools.catalog import CatalogSnapshot, ConnectionInfo, ToolEntry
from membrane_mcp.tools.coercion import coerce, converted_if_invalid
from membrane_mcp.tools.confirm import require_confirmation
from membrane_mcp.tools.output import EncodedParts, encoded
from membrane_mcp.tools.policy import SAFE_RAW_METHODS, Policy
from membrane_mcp.tools.raw import RawRequest, prepare_raw_request, summarize_response
from membrane_mcp.tools.services import CallContext, ToolDeps
from membrane_mcp.tools.suggest import did_you_mean, unknown_key_reloads
from membrane_mcp.tools.validation import validate_arguments

logger = logging.getLogger(__name__)
RUN_WRITE_TOOL = "run_write_action"
# Room left under --max-output-bytes for the run's envelope (actionRunId, list summary, continuation).
OUTPUT_MARGIN = 1024
RAW_WRITE_TOOL = "raw_write_request"
# How long a run or describe by the id of an action create_action left BUILDING waits for the build.
BUILD_WAIT_S = 15.0


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
        ready = [c for c in candidates if c.state == "READY"]
        if len(candidates) > 1 and len(ready) == 1:
            # A connection that is not READY (waiting for the user, broken) never makes a key ambiguous.
            logger.info(
                "'%s' resolves to the only READY connection of %d: %s", ref, len(candidates), ready[0].id
            )
            return ready[0]
        if len(candidates) > 1:
            raise errors.ambiguous_connection(ref, [(c.name, c.id) for c in candidates])
    raise errors.unknown_connection(ref, [(c.app_key, c.name, c.id) for c in snapshot.connections])


def resolution_note(snapshot: CatalogSnapshot, ref: str, info: ConnectionInfo) -> str | None:
    """Says so when an app key named several connections and the only READY one was used."""
    same = [c for c in snapshot.connections if c.app_key == info.app_key and info.id != ref]
    if len(same) < 2 or ref.strip().lower() != info.app_key.lower():
        return None
    others = ", ".join(f"'{c.name}' ({c.state})" for c in same if c.id != info.id)
    return f"'{ref}' has {len(same)} connections; used the only READY one, '{info.name}' (id {info.id}). Others: {others}."


def require_ready(info: ConnectionInfo, policy: Policy) -> None:
    if info.state != "READY":
        raise errors.connection_not_ready(
            info.name, info.app_key, info.state, info.error, info.connect_url, policy.allows_meta_writes()
        )


async def list_connections(deps: ToolDeps, args: ListConnectionsArgs, call: CallContext) -> Any:
    snapshot = await deps.catalog.snapshot()
    view = deps.catalog.view(snapshot, call.session)
    connections = []
    for info in snapshot.connections:
        entries = [e for e in view.allowed if e.connection_id == info.id]
        item: dict[str, Any] = {
            "id": info.id,
            "name": info.name,
            "app": info.app_key,
            "app_name": info.app_name,
            "state": info.state,
            "actions": len(entries),
        }
        tools = sum(1 for e in entries if view.listed_name(e) is not None)
        if tools:  # not "tools: 0" on every connection in search mode, where actions run through run_action
            item["tools"] = tools
        if info.connect_url:
            item["connect_url"] = info.connect_url
        if info.error:
            item["error"] = info.error
        if info.id in snapshot.load_errors:
            item["actions_error"] = snapshot.load_errors[info.id]
        connections.append(item)
    return {"connections": connections, "tool_mode": view.mode}


async def search_actions(deps: ToolDeps, args: SearchActionsArgs, call: CallContext) -> Any:
    snapshot = await deps.catalog.snapshot()
    connection_id = resolve_connection(snapshot, args.connection).id if args.connection else None
    view = deps.catalog.view(snapshot, call.session)
    index = await deps.catalog.search_indexes.get(snapshot)
    app = resolve_app(snapshot, args.app, deps.policy) if args.app else None
    hits = index.search(args.query, args.limit, app=app, connection_id=connection_id)
    cards = _cards_of(snapshot)
    single = cards.single_connection_apps(snapshot)
    results = [
        cards.card(
            hit.entry,
            view.listed_name(hit.entry),
            full_schema=args.schemas or rank == 0,
            name_connection=hit.entry.app_key not in single,
        )
        for rank, hit in enumerate(hits)
    ]
    out: dict[str, Any] = {"results": results}
    unmatched = index.unmatched(args.query, app=app, connection_id=connection_id)
    if unmatched:
        out["no_match"] = [
            f"No action matches '{word}'" + (f"; nearest objects: {', '.join(near)}" if near else "")
            for word, near in unmatched
        ]
    out["hint"] = search_hint(deps.policy, results)
    return out


def search_hint(policy: Policy, results: list[dict[str, Any]]) -> str:
    """What to do with the hits, naming only the tools this server lists."""
    if not results:
        tries = [
            "other words",
            *(["raw_request"] if policy.raw_request_available() else []),
            *(["create_action to have one built"] if policy.allows_meta_writes() else []),
        ]
        listed = (
            tries[0]
            if len(tries) == 1
            else f"{', '.join(tries[:-1])}{',' if len(tries) > 2 else ''} or {tries[-1]}"
        )
        return f"No matching action. Try {listed}."
    run = (
        f"run_action (reads) or {RUN_WRITE_TOOL} (writes)" if policy.allows_action_writes() else "run_action"
    )
    # "the hit's tool" only when a hit has one: in search mode no action is a tool of its own.
    tool = ", or the hit's tool" if any("tool" in r for r in results) else ""
    return f"Run: {run} with {{connection: app or connection, action: key, input}}{tool}. describe_action: full schema."


def resolve_app(snapshot: CatalogSnapshot, ref: str, policy: Policy) -> str:
    """An app key from its key or name in any case ('Vtiger', '1CRM'); an unknown app is an error naming the apps."""
    lowered = ref.strip().lower()
    for info in snapshot.connections:
        if lowered in (info.app_key.lower(), info.app_name.lower()):
            return info.app_key
    apps = sorted({c.app_key for c in snapshot.connections})
    raise errors.unknown_app(ref, apps, did_you_mean(ref, apps), policy.allows_meta_writes())


class SearchCards:
    """The search cards of one catalog snapshot, each built once: a hit renders the same card every time
    (the top hit's compact input schema costs the most), so a search only copies it."""

    MAX_CARDS = 4096

    def __init__(self) -> None:
        # Each card is held with its entry, which keeps the entry's id from being reused while it is here.
        self._cards: dict[tuple[int, str | None, bool, bool], tuple[ToolEntry, dict[str, Any]]] = {}
        self._single_connection_apps: frozenset[str] | None = None

    def single_connection_apps(self, snapshot: CatalogSnapshot) -> frozenset[str]:
        """The apps with exactly one connection in the snapshot: their cards need not name it."""
        if self._single_connection_apps is None:
            per_app = Counter(c.app_key for c in snapshot.connections)
            self._single_connection_apps = frozenset(app for app, count in per_app.items() if count == 1)
        return self._single_connection_apps

    def card(
        self, entry: ToolEntry, tool: str | None, *, full_schema: bool, name_connection: bool
    ) -> dict[str, Any]:
        key = (id(entry), tool, full_schema, name_connection)
        held = self._cards.get(key)
        if held is None or held[0] is not entry:
            if len(self._cards) >= self.MAX_CARDS:
                self._cards.clear()
            card = discovery.card(entry, tool, full_schema=full_schema, name_connection=name_connection)
            held = self._cards[key] = (entry, card)
        return dict(held[1])  # a copy of its own for each result


_search_cards: dict[int, SearchCards] = {}


def _cards_of(snapshot: CatalogSnapshot) -> SearchCards:
    """The cards of this snapshot, forgotten with it."""
    cards = _search_cards.get(id(snapshot))
    if cards is None:
        cards = _search_cards[id(snapshot)] = SearchCards()
        weakref.finalize(snapshot, _search_cards.pop, id(snapshot), None)
    return cards


async def describe_action(deps: ToolDeps, args: DescribeActionArgs, call: CallContext) -> Any:
    snapshot = await deps.catalog.snapshot()
    info = resolve_connection(snapshot, args.connection)
    entry = await _allowed_action_or_error(deps, snapshot, info, args.action)
    return discovery.describe(entry, deps.catalog.view(snapshot, call.session).listed_name(entry))


def find_action(snapshot: CatalogSnapshot, connection_id: str, ref: str) -> ToolEntry | None:
    for entry in snapshot.by_connection.get(connection_id, []):
        if ref in (entry.action_key, entry.action_id, entry.name):
            return entry
    return None


def find_allowed_action(
    deps: ToolDeps, snapshot: CatalogSnapshot, connection_id: str, ref: str
) -> ToolEntry | None:
    entry = find_action(snapshot, connection_id, ref)
    if entry is None or not deps.policy.allows_action(entry.app_key, entry.action_key, entry.kind):
        return None
    return entry


async def _allowed_action_or_error(
    deps: ToolDeps, snapshot: CatalogSnapshot, info: ConnectionInfo, ref: str
) -> ToolEntry:
    entry = find_allowed_action(deps, snapshot, info.id, ref)
    catalog = deps.catalog.catalog
    if entry is None and unknown_key_reloads.allow(catalog, catalog.ttl):
        # It may have been created since the catalog was loaded (reloaded at most once per TTL window).
        # A hidden action takes this path too, so it answers exactly like an unknown one.
        snapshot = await deps.catalog.refresh()
        entry = find_allowed_action(deps, snapshot, info.id, ref)
    if entry is None and deps.catalog.building.get(ref) == info.id:
        entry = await _built(deps, info, ref)
    if entry is None:
        entries = snapshot.by_connection.get(info.id, [])
        allowed = [
            e.action_key for e in entries if deps.policy.allows_action(e.app_key, e.action_key, e.kind)
        ]
        elsewhere = [
            e
            for e in snapshot.entries
            if ref in (e.action_key, e.name) and deps.policy.allows_action(e.app_key, e.action_key, e.kind)
        ]
        if elsewhere:
            # A key from another app (a search hit's app misread): name the connection that has it.
            raise errors.action_of_another_app(
                ref, info.name, elsewhere[0].app_name, connection_ref(snapshot, elsewhere[0])
            )
        close = did_you_mean(ref, allowed)
        raise errors.unknown_action(ref, info.name, info.app_key, close)
    return entry


async def _built(deps: ToolDeps, info: ConnectionInfo, action_id: str) -> ToolEntry | None:
    """An action create_action left BUILDING, asked for by its id: waits up to `BUILD_WAIT_S` for the build
    (Membrane's long-poll), then the action once READY; a failed build is said as create_action says it."""
    action: Action | None = None
    with anyio.CancelScope(deadline=anyio.current_time() + BUILD_WAIT_S):
        try:
            action = await deps.client.wait_for_action(action_id)
        except MembraneError as exc:
            raise errors.from_membrane_error(
                exc, doing="Checking the action's build", operation="read"
            ) from exc
    if action is None or action.state == "BUILDING":
        raise errors.action_still_building(action_id, None, "BUILDING", BUILD_WAIT_S)
    deps.catalog.building.pop(action_id, None)
    require_built(action)
    snapshot = await deps.catalog.refresh_and_notify()
    return find_allowed_action(deps, snapshot, info.id, action_id)


def require_built(action: Action) -> None:
    """A build that ended other than READY, as an error with Membrane's reasons."""
    if action.state != "READY":
        reasons = [getattr(e, "message", None) or str(e) for e in (action.errors or [])]
        raise errors.action_build_failed(action.id, str(action.state), reasons, _plain(action.errors))


def connection_ref(snapshot: CatalogSnapshot, entry: ToolEntry) -> str:
    """How to name an entry's connection: its app key when the app has one connection, else its id."""
    same_app = sum(1 for c in snapshot.connections if c.app_key == entry.app_key)
    return entry.app_key if same_app == 1 else entry.connection_id


async def run_action(deps: ToolDeps, args: RunActionArgs, call: CallContext) -> Any:
    """Reads only: a write is refused before anything is sent, naming run_write_action."""
    return await _run_checked(deps, args, call, reads=True)


async def run_write_action(deps: ToolDeps, args: RunWriteActionArgs, call: CallContext) -> Any:
    """Everything but reads (creates, updates, deletes, sends); a read is pointed at run_action."""
    shaped = RunActionArgs(connection=args.connection, action=args.action, input=args.input)
    return await _run_checked(deps, shaped, call, reads=False)


async def _run_checked(deps: ToolDeps, args: RunActionArgs, call: CallContext, *, reads: bool) -> Any:
    budget = deps.config.max_output_bytes - OUTPUT_MARGIN
    if args.continuation:
        following = shaping.next_slice(args.continuation, budget, call.session)
        if following is None:
            raise errors.unknown_continuation()
        output, note = following
        return {"output": output, **({"continuation": note} if note else {})}
    snapshot = await deps.catalog.snapshot()
    info = resolve_connection(snapshot, args.connection)
    require_ready(info, deps.policy)
    entry = await _allowed_action_or_error(deps, snapshot, info, args.action)
    if (entry.kind == "read") != reads:
        raise errors.wrong_run_tool(
            entry.app_key, entry.action_key, entry.kind, "run_action" if not reads else RUN_WRITE_TOOL
        )
    schema = entry.validation_schema
    action_input, converted, problems = converted_if_invalid(
        args.input, partial(validate_arguments, schema), partial(coerce, schema)
    )
    if problems:
        relevant = schema_for_problems(entry.input_schema, problems)
        raise errors.invalid_action_input(info.app_key, entry.action_key, problems, relevant)
    await confirm_if_destructive(deps, entry, info.name, action_input, call)
    result = await _run(deps, entry, action_input)
    output, summary = shaping.shape(result.output, fields=args.fields, count_only=args.count_only)
    output_text = encoded(output)
    if output_text is not None and len(output_text.encode("utf-8")) <= budget:
        note = None  # within the budget, as `sliced` would find: encoded once, written as is
    else:
        output_text = None
        output, note = shaping.sliced(output, budget, call.session)
    out: dict[str, Any] = {"output": output, "actionRunId": result.action_run_id}
    if summary is not None:
        out["list"] = summary
    if note is not None:
        out["continuation"] = note
    if converted:
        out["converted"] = converted
    missing = (
        shaping.fields_not_found(result.output, args.fields) if args.fields and not args.count_only else []
    )
    if missing:
        out["fields_not_found"] = missing
    note_on_resolution = resolution_note(snapshot, args.connection, info)
    if note_on_resolution:
        out["note"] = note_on_resolution
    return out if output_text is None else EncodedParts(out, {"output": output_text})


def schema_for_problems(schema: dict[str, Any], problems: list[str]) -> dict[str, Any]:
    """The part of an input schema that the problems are about: the top-level fields they name."""
    properties = schema.get("properties") or {}
    named = {
        name
        for name in properties
        for problem in problems
        if problem.startswith((f"`{name}`", f"`{name}.", f"`{name}[", f"missing required field `{name}`"))
        or f"field `{name}`" in problem
    }
    if not named:
        return {"required": schema.get("required") or [], "fields": list(properties)}
    return {"properties": {name: properties[name] for name in properties if name in named}}


async def run_entry(deps: ToolDeps, entry: ToolEntry, action_input: Any, call: CallContext) -> Any:
    await confirm_if_destructive(deps, entry, entry.connection_name, action_input, call)
    return (await _run(deps, entry, action_input)).output


async def confirm_if_destructive(
    deps: ToolDeps, entry: ToolEntry, connection_name: str, action_input: Any, call: CallContext
) -> None:
    """With --confirm-destructive, the user must say yes (MCP elicitation) before an update, delete or write runs."""
    if deps.policy.action_needs_confirmation(entry.kind):
        what = f"run {entry.app_name} action '{entry.action_key}' on '{connection_name}' with {_brief(action_input)}"
        await require_confirmation(call.confirm, what)


def _brief(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def _run(deps: ToolDeps, entry: ToolEntry, action_input: Any) -> ActionRunResult:
    """One run. A read action is retried like any read (5xx, dropped connections, within the deadline);
    any other run is never repeated once it may have reached the app."""
    is_read = entry.kind == "read"
    try:
        return await deps.client.run_action(entry.action_id, entry.connection_id, action_input, safe=is_read)
    except NotFound as exc:
        # A listed action that Membrane no longer knows was archived or deleted upstream since the catalog loaded.
        if await deps.catalog.action_vanished(entry):
            raise errors.action_vanished(
                entry.app_name, entry.action_key, entry.action_id, exc.status
            ) from exc
        raise _run_failed(entry, exc) from exc
    except MembraneError as exc:
        raise _run_failed(entry, exc) from exc


def _run_failed(entry: ToolEntry, exc: MembraneError) -> errors.ToolError:
    return errors.from_membrane_error(
        exc,
        doing=f"Running {entry.app_name} action '{entry.action_key}'",
        operation="read" if entry.kind == "read" else "run",
    )


async def raw_request(deps: ToolDeps, args: RawRequestArgs, call: CallContext) -> Any:
    """GET only: any other method is refused before anything is sent, naming raw_write_request."""
    allowed_writes = deps.policy.allowed_raw_methods() - SAFE_RAW_METHODS
    if args.method in allowed_writes and deps.policy.raw_write_request_available():
        raise errors.wrong_raw_tool(args.method, RAW_WRITE_TOOL)
    # A method the policy refuses anyway gets the policy's refusal (from prepare_raw_request).
    return await _raw(deps, args, call)


async def raw_write_request(deps: ToolDeps, args: RawWriteRequestArgs, call: CallContext) -> Any:
    return await _raw(deps, args, call)


async def _raw(deps: ToolDeps, args: RawRequestArgs, call: CallContext) -> Any:
    snapshot = await deps.catalog.snapshot()
    info = resolve_connection(snapshot, args.connection)
    require_ready(info, deps.policy)
    request: RawRequest = prepare_raw_request(args.model_dump(exclude_none=True), deps.policy)
    if deps.policy.raw_needs_confirmation(request.method):
        body = f" with a {len(request.body)}-byte body" if request.body else ""
        what = f"send {request.method} {request.path}{body} to {info.app_name} '{info.name}'"
        await require_confirmation(call.confirm, what)
    try:
        response = await deps.client.proxy(
            info.id,
            request.method,
            request.path,
            query=request.query,
            headers=request.headers,
            body=request.body,
        )
    except MembraneError as exc:
        operation: errors.Operation = "read" if request.method == "GET" else "proxy"
        raise errors.from_membrane_error(exc, doing="Running raw_request", operation=operation) from exc
    return summarize_response(response)


async def create_action(deps: ToolDeps, args: CreateActionArgs, call: CallContext) -> Any:
    snapshot = await deps.catalog.snapshot()
    info = resolve_connection(snapshot, args.connection)
    require_ready(info, deps.policy)
    setting = deps.config.create_action_timeout
    timeout = setting if args.timeout_s is None else min(args.timeout_s, setting)
    started = time.monotonic()
    action: Action | None = None
    # The gateway's scope holds the setting; a shorter timeout_s narrows it. The client returns the
    # still-BUILDING action just before the deadline, so this scope only fires if Membrane hangs.
    with anyio.CancelScope(deadline=anyio.current_time() + timeout):
        try:
            action = await deps.client.create_action(args.description, info.id)
        except AccessDenied as exc:
            raise errors.create_action_forbidden(deps.client.workspace_credentials is not None) from exc
        await call.report_progress(0, timeout, f"Membrane is building the action (id {action.id})")

        async def on_progress(elapsed: float, current: Action) -> None:
            await call.report_progress(
                min(elapsed, timeout), timeout, f"Still {current.state or 'BUILDING'} after {elapsed:.0f} s"
            )

        action = await deps.client.wait_for_action(action.id, on_progress=on_progress)
    if action is None:  # cancelled before Membrane answered the create
        raise errors.timed_out("create_action", timeout, may_write=True)
    elapsed = time.monotonic() - started
    if action.state == "BUILDING":
        deps.catalog.pin(call.session, info.id, action.id)  # listed for this session once it is ready
        deps.catalog.still_building(action.id, info.id)
        raise errors.action_still_building(action.id, elapsed, action.state, BUILD_WAIT_S)
    require_built(action)
    deps.catalog.pin(call.session, info.id, action.id)
    snapshot = await deps.catalog.refresh_and_notify()
    entry = next(
        (e for e in snapshot.entries if e.action_id == action.id and e.connection_id == info.id), None
    )
    await call.report_progress(timeout, timeout, "Ready")
    listed = entry is not None and deps.catalog.view(snapshot, call.session).is_listed(entry.name)
    return {
        "state": action.state,
        "id": action.id,
        "key": action.key,
        "name": action.name,
        "connection": info.id,
        "tool": entry.name if entry is not None and listed else None,
        "input_schema": entry.input_schema if entry else action.input_schema,
        "seconds": round(elapsed, 1),
    }


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=lambda o: getattr(o, "model_dump", lambda: str(o))()))
