"""What the agent sees and what happens when it calls: the tool list and the calls.

The MCP server (``membrane_mcp.server``) is a thin shell around a `Gateway`. One
`Policy` filters the list and every call, so a hidden tool and an unknown one answer
alike. Errors the agent can act on become ``isError`` results; unknown tools are
JSON-RPC errors (-32602); anything else is a bug and propagates.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from mcp import types
from mcp.shared.exceptions import MCPError

from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.settings import Settings, ToolMode
from membrane_mcp.tools import handlers
from membrane_mcp.tools.catalog import Catalog, CatalogSnapshot, ToolEntry
from membrane_mcp.tools.confirm import ConfirmFn, cannot_confirm
from membrane_mcp.tools.errors import ToolError, from_membrane_error
from membrane_mcp.tools.meta import (
    CREATE_ACTION,
    LIST_CONNECTIONS,
    META_TOOL_NAMES,
    RAW_REQUEST,
    SEARCH_ACTIONS,
    meta_tool,
    meta_tool_schema,
)
from membrane_mcp.tools.output import shape_output
from membrane_mcp.tools.policy import ALL_RAW_METHODS, Policy
from membrane_mcp.tools.search import SearchIndex
from membrane_mcp.tools.search_cache import SearchIndexCache
from membrane_mcp.tools.validation import preload_in_background, validate_arguments

logger = logging.getLogger(__name__)

ProgressFn = Callable[[float, float | None, str | None], Awaitable[None]]

# The gateway's hard stop comes this long after the call's deadline, so the Membrane client (which
# works to the same deadline) normally reports first, with its more precise message.
DEADLINE_GRACE = 0.5


async def _no_progress(progress: float, total: float | None, message: str | None) -> None:
    return None


@dataclass
class CallContext:
    """Per-call facilities the transport provides."""

    report_progress: ProgressFn = _no_progress
    deadline: float | None = None
    confirm: ConfirmFn = cannot_confirm
    """Asks the user (MCP elicitation) before a destructive call; see tools/confirm.py."""


@dataclass
class CatalogView:
    snapshot: CatalogSnapshot
    pinned: frozenset[str]
    allowed: list[ToolEntry]
    mode: ToolMode
    direct: list[ToolEntry]
    tools: list[types.Tool] | None = None
    direct_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.direct_names = frozenset(entry.name for entry in self.direct)


def unknown_tool(name: str) -> MCPError:
    return MCPError(types.INVALID_PARAMS, f"Unknown tool: {name}")


class Gateway:
    def __init__(self, client: MembraneClient, settings: Settings, policy: Policy, catalog: Catalog) -> None:
        self.client = client
        self.settings = settings
        self.policy = policy
        self.catalog = catalog
        self.pinned_action_ids: set[str] = set()
        self._tools_changed_listeners: list[Callable[[], Awaitable[None]]] = []
        self._view_cache: CatalogView | None = None
        self.search_indexes = SearchIndexCache(self.allowed_entries)
        catalog.on_load.append(self.search_indexes.prepare)  # built in the background after each load
        catalog.on_load.append(lambda _: preload_in_background())  # jsonschema, before the first call

    # -- listing ---------------------------------------------------------------------------------

    def view(self, snapshot: CatalogSnapshot) -> CatalogView:
        """What the policy and the tool mode make of one snapshot; computed once per snapshot."""
        pinned = frozenset(self.pinned_action_ids)
        cached = self._view_cache
        if cached is not None and cached.snapshot is snapshot and cached.pinned == pinned:
            return cached
        allowed = [e for e in snapshot.entries if self.policy.allows_action(e.app_key, e.action_key, e.kind)]
        mode = self.settings.tool_mode
        if mode == "auto":
            mode = "direct" if len(allowed) <= self.settings.direct_tool_limit else "search"
        direct = allowed if mode == "direct" else [e for e in allowed if e.action_id in pinned]
        self._view_cache = CatalogView(snapshot, pinned, allowed, mode, direct)
        return self._view_cache

    def allowed_entries(self, snapshot: CatalogSnapshot) -> list[ToolEntry]:
        return self.view(snapshot).allowed

    def effective_mode(self, snapshot: CatalogSnapshot) -> ToolMode:
        return self.view(snapshot).mode

    def direct_entries(self, snapshot: CatalogSnapshot) -> list[ToolEntry]:
        """Entries listed as tools: all allowed ones in direct mode, else only the pinned ones."""
        return self.view(snapshot).direct

    def is_listed(self, snapshot: CatalogSnapshot, name: str) -> bool:
        return name in self.view(snapshot).direct_names

    async def list_tools(self) -> list[types.Tool]:
        try:
            snapshot = await self._snapshot()
        except MembraneError as exc:
            # Nothing loaded yet and Membrane fails: list the meta tools, whose calls explain the failure.
            logger.error("could not load the catalog: %s", exc)
            return [self._meta_tool(name) for name in self.visible_meta_tools()]
        view = self.view(snapshot)
        if view.tools is None:
            view.tools = [self._meta_tool(name) for name in self.visible_meta_tools()]
            view.tools.extend(_entry_tool(entry) for entry in view.direct)
        return view.tools

    def _meta_tool(self, name: str) -> types.Tool:
        tool = meta_tool(name, read_only=self.policy.read_only)
        methods = self.policy.allowed_raw_methods()
        if name == "raw_request" and not self.policy.read_only and methods != ALL_RAW_METHODS:
            schema = tool.input_schema
            method = {
                "type": "string",
                "enum": [m for m in schema["properties"]["method"]["enum"] if m in methods],
            }
            tool = tool.model_copy(
                update={"input_schema": {**schema, "properties": {**schema["properties"], "method": method}}}
            )
        return tool

    def visible_meta_tools(self) -> list[str]:
        return [name for name in META_TOOL_NAMES if self.policy.allows_meta_tool(name)]

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The advertised input schema of a listed tool, from the cached catalog only."""
        if name in META_TOOL_NAMES:
            return meta_tool_schema(name)
        snapshot = self.catalog.cached
        entry = snapshot.by_name.get(name) if snapshot else None
        return entry.input_schema if entry else None

    def search_index(self, snapshot: CatalogSnapshot) -> SearchIndex:
        """The index of `snapshot` for synchronous callers; `search_indexes.get` waits without blocking."""
        return self.search_indexes.get_blocking(snapshot)

    # -- change notifications --------------------------------------------------------------------

    def add_tools_changed_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        self._tools_changed_listeners.append(listener)

    async def tools_changed(self) -> None:
        for listener in self._tools_changed_listeners:
            try:
                await listener()
            except Exception:  # a dead session must not fail the call that changed the list
                logger.debug("tools/list_changed listener failed", exc_info=True)

    # -- calling ---------------------------------------------------------------------------------

    async def _snapshot(self) -> CatalogSnapshot:
        """The catalog; when Membrane fails to reload it, the last one loaded (if any) rather than an error."""
        try:
            return await self.catalog.get()
        except MembraneError as exc:
            if self.catalog.cached is None:
                raise
            logger.warning("catalog reload failed, serving the previous one: %s", exc)
            return self.catalog.cached

    async def call_tool(
        self, name: str, arguments: dict[str, Any] | None, call: CallContext
    ) -> types.CallToolResult:
        """One call, bounded by its deadline (`call_timeout`; `create_action_timeout` for create_action)."""
        arguments = arguments or {}
        started = time.monotonic()
        if call.deadline is None:
            budget = self.settings.call_timeout
            if name == CREATE_ACTION:
                budget = self.settings.create_action_timeout
            call.deadline = started + budget
        with anyio.move_on_after(max(0.0, call.deadline - started) + DEADLINE_GRACE):
            return await self._call(name, arguments, call)
        return timed_out(name, time.monotonic() - started, self._may_write(name, arguments))

    def _may_write(self, name: str, arguments: dict[str, Any]) -> bool:
        if name in (LIST_CONNECTIONS, SEARCH_ACTIONS):
            return False
        if name == RAW_REQUEST:
            return str(arguments.get("method", "")).upper() not in ("GET", "HEAD")
        snapshot = self.catalog.cached
        entry = snapshot.by_name.get(name) if snapshot else None
        return entry is None or entry.kind != "read"

    async def action_vanished(self, entry: ToolEntry) -> bool:
        """After a NotFound for a listed action: reload the catalog; True if the action is gone from it."""
        self.catalog.invalidate()
        snapshot = await self.catalog.get(refresh=True)
        if any(e.action_id == entry.action_id for e in snapshot.entries):
            return False
        await self.tools_changed()
        return True

    async def _call(self, name: str, arguments: dict[str, Any], call: CallContext) -> types.CallToolResult:
        if name in META_TOOL_NAMES:
            if not self.policy.allows_meta_tool(name):
                raise unknown_tool(name)
            problems = validate_arguments(meta_tool_schema(name), arguments)
            if problems:
                return invalid_arguments(name, problems)
            return await self._guarded(name, handlers.META_HANDLERS[name](self, arguments, call), None)

        try:
            snapshot = await self._snapshot()
        except MembraneError as exc:
            failure = from_membrane_error(exc, doing="Loading the tool catalog")
            return error_result(failure.message, failure.details)
        entry = snapshot.by_name.get(name)
        if entry is None or not self.is_listed(snapshot, name):
            raise unknown_tool(name)
        problems = validate_arguments(entry.validation_schema, _unwrap(entry, arguments))
        if problems:
            return invalid_arguments(name, problems)
        work = handlers.run_entry(self, entry, _unwrap(entry, arguments), call)
        return await self._guarded(f"{entry.app_name} action '{entry.action_key}'", work, entry)

    async def _guarded(
        self, doing: str, work: Awaitable[Any], entry: ToolEntry | None
    ) -> types.CallToolResult:
        try:
            value = await work
        except ToolError as exc:
            return error_result(exc.message, exc.details)
        except MembraneError as exc:
            failure = from_membrane_error(exc, doing=f"Running {doing}")
            return error_result(failure.message, failure.details)
        return self.result(value, entry)

    def result(self, value: Any, entry: ToolEntry | None) -> types.CallToolResult:
        shaped = shape_output(value, self.settings.max_output_bytes)
        structured = dict(shaped.structured)
        meta = None
        if shaped.truncated and entry is not None and entry.output_schema is not None:
            # The declared outputSchema may forbid extra keys: keep the note out of structuredContent.
            meta = {"membrane-mcp/truncated": structured.pop("_truncated", None)}
        if entry is not None and entry.output_schema is not None and not isinstance(value, dict):
            structured_content: dict[str, Any] | None = None
        else:
            structured_content = structured
        return types.CallToolResult(
            content=[types.TextContent(type="text", text=shaped.text)],
            structured_content=structured_content,
            meta=meta,
        )


def _entry_tool(entry: ToolEntry) -> types.Tool:
    return types.Tool(
        name=entry.name,
        title=entry.annotations.get("title"),
        description=entry.description,
        input_schema=entry.input_schema,
        output_schema=entry.output_schema,
        annotations=types.ToolAnnotations.model_validate(entry.annotations),
    )


def _unwrap(entry: ToolEntry, arguments: dict[str, Any]) -> Any:
    if entry.wrapped_key is not None:
        return arguments.get(entry.wrapped_key)
    return arguments


def invalid_arguments(name: str, problems: list[str]) -> types.CallToolResult:
    lines = "\n".join(f"- {problem}" for problem in problems)
    message = f"Invalid arguments for {name} ({len(problems)} problem(s)); nothing was sent:\n{lines}"
    return error_result(message, {"problems": problems})


def timed_out(name: str, elapsed: float, may_write: bool) -> types.CallToolResult:
    message = f"{name} timed out after {elapsed:.0f} s and was stopped."
    if may_write:
        message += (
            " If it was a write, it may or may not have happened: check (read the records back) before "
            "running it again."
        )
    else:
        message += " Nothing was changed; try again, or narrow the request."
    return error_result(message, {"timedOut": True, "seconds": round(elapsed, 1)})


def error_result(message: str, details: dict[str, Any] | None = None) -> types.CallToolResult:
    text = message if not details else f"{message}\n{json.dumps(details, ensure_ascii=False, default=str)}"
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)],
        structured_content={"error": message, **({"details": details} if details else {})},
        is_error=True,
    )
