"""What the agent sees and what happens when it calls: the tool list and the calls.

The MCP server (``membrane_mcp.server``) is a thin shell around a `Gateway`, which takes its own
`GatewayConfig` (never the CLI's Settings), the Membrane client, the policy and the catalog.
One `Policy` filters the list and every call, so a hidden tool and an unknown one answer alike.
Meta tools come from the registry (tools/meta.py); actions become tools through the catalog.

Each call runs under one anyio cancel scope: its deadline (`call_timeout`, or the tool's own
budget such as `create_action_timeout`) is what handlers and the Membrane client work to.
Errors the agent can act on become ``isError`` results (each logged once at INFO with the tool
and the error kind); unknown tools are JSON-RPC errors (-32602); anything else is a bug and
propagates.

Hooks: `call_tool` is the one entry for a call and `_failed` the one exit every ``isError``
result passes (logging, output caps, audit belong there); `result` shapes every success within the
same cap. Both exits scrub secrets (redaction.py), so every result the gateway returns is clean.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
from mcp import types
from mcp.shared.exceptions import MCPError
from pydantic import ValidationError

from membrane_mcp.membrane.client import MembraneClient
from membrane_mcp.membrane.errors import MembraneError, validation_problems
from membrane_mcp.redaction import contains_secret, scrub_model
from membrane_mcp.tools import errors, handlers
from membrane_mcp.tools.catalog import Catalog, CatalogSnapshot, ToolEntry, render_tools
from membrane_mcp.tools.coercion import coerce, coerce_arguments, converted_if_invalid
from membrane_mcp.tools.errors import ToolError
from membrane_mcp.tools.meta import META_TOOLS
from membrane_mcp.tools.output import cap_result, shape_output
from membrane_mcp.tools.policy import Policy
from membrane_mcp.tools.registry import MetaTool, Registry
from membrane_mcp.tools.search import SearchIndex
from membrane_mcp.tools.services import CallContext, CatalogService, GatewayConfig, ToolDeps
from membrane_mcp.tools.suggest import unknown_key_reloads
from membrane_mcp.tools.validation import validate_arguments

logger = logging.getLogger(__name__)


def unknown_tool(name: str) -> MCPError:
    """The same words for a name that never existed and for one the policy hides (hidden means unknown);
    the next step names tools every server lists."""
    return MCPError(types.INVALID_PARAMS, f"Unknown tool: {name}. {UNKNOWN_TOOL_NEXT_STEP}")


UNKNOWN_TOOL_NEXT_STEP = "search_actions finds an action by intent; list_connections shows the apps."


class Gateway:
    def __init__(
        self,
        config: GatewayConfig,
        client: MembraneClient,
        policy: Policy,
        catalog: Catalog,
        registry: Registry = META_TOOLS,
    ) -> None:
        self.config = config
        self.client = client
        self.policy = policy
        self.catalog = CatalogService(catalog, policy, config)
        self.registry = registry
        self.deps = ToolDeps(catalog=self.catalog, client=client, policy=policy, config=config)

    # Rendered at first use, not when the server starts: the handshake needs neither.
    @functools.cached_property
    def _meta_tools(self) -> list[types.Tool]:
        return self.registry.definitions(self.policy, self.config, self._schemas)

    @functools.cached_property
    def _schemas(self) -> dict[str, dict[str, Any]]:
        return {tool.name: tool.input_schema(self.config) for tool in self.registry}

    # -- listing ---------------------------------------------------------------------------------

    async def list_tools(self, session: str | None = None) -> list[types.Tool]:
        try:
            snapshot = await self.catalog.snapshot()
        except MembraneError as exc:
            # Nothing loaded yet and Membrane fails: list the meta tools, whose calls explain the failure.
            logger.error("could not load the catalog: %s", exc)
            return list(self._meta_tools)
        view = self.catalog.view(snapshot, session)
        if view.tools is None:
            view.tools = self._meta_tools + (view.direct_tools or render_tools(view.direct))
        return view.tools

    def search_index(self, snapshot: CatalogSnapshot) -> SearchIndex:
        return self.catalog.search_index(snapshot)

    def input_schema(self, name: str) -> dict[str, Any] | None:
        """The declared input schema of a tool, from the registry or the cached catalog only."""
        if name in self._schemas:
            return self._schemas[name]
        snapshot = self.catalog.cached
        entry = snapshot.by_name.get(name) if snapshot else None
        return entry.input_schema if entry else None

    def add_tools_changed_listener(self, listener: Callable[[], Awaitable[None]]) -> None:
        self.catalog.add_listener(listener)

    # -- calling ---------------------------------------------------------------------------------

    async def call_tool(
        self, name: str, arguments: Mapping[str, Any] | None, call: CallContext
    ) -> types.CallToolResult:
        """One call, bounded by its deadline (`call_timeout`; a meta tool may declare its own budget)."""
        arguments = dict(arguments or {})
        tool = self.registry.get(name)
        budget = tool.call_budget(self.config) if tool is not None else self.config.call_timeout
        result: types.CallToolResult | None = None
        with anyio.move_on_after(budget):
            result = await self._call(name, tool, arguments, call)
        if result is None:
            result = self._failed(
                name, errors.timed_out(name, budget, self._may_write(name, tool, arguments))
            )
        return result

    def _may_write(self, name: str, tool: MetaTool[Any] | None, arguments: Mapping[str, Any]) -> bool:
        if tool is not None:
            return tool.writes(arguments)
        snapshot = self.catalog.cached
        entry = snapshot.by_name.get(name) if snapshot else None
        return entry is None or entry.kind != "read"

    async def _call(
        self, name: str, tool: MetaTool[Any] | None, arguments: dict[str, Any], call: CallContext
    ) -> types.CallToolResult:
        if tool is not None:
            return await self._call_meta(tool, arguments, call)
        try:
            snapshot = await self.catalog.snapshot()
        except MembraneError as exc:
            return self._failed(name, errors.catalog_failure(exc))
        entry = self.catalog.view(snapshot, call.session).callable_entry(name)
        catalog = self.catalog.catalog
        if entry is None and unknown_key_reloads.allow(catalog, catalog.ttl):
            # Created since this process loaded the catalog (another session, process or worker built it).
            try:
                snapshot = await self.catalog.refresh()
            except MembraneError as exc:
                return self._failed(name, errors.catalog_failure(exc))
            entry = self.catalog.view(snapshot, call.session).callable_entry(name)
        if entry is None:
            view = self.catalog.view(snapshot, call.session)
            known = snapshot.by_name.get(name)
            if known is not None and name in view.allowed_names:
                # An action the policy allows but this tool list does not name (search mode): say how to run it.
                return self._failed(
                    name,
                    errors.not_a_listed_tool(
                        name, handlers.connection_ref(snapshot, known), known.action_key, known.kind
                    ),
                )
            raise unknown_tool(name)
        # The conversions run_action makes (a numeric string for a number, ...), said in a text block of
        # their own: the action's output stays as its outputSchema declares it.
        arguments, unwrapped = _run_action_shaped(entry, arguments)
        schema = entry.validation_schema
        action_input, converted, problems = converted_if_invalid(
            _unwrap(entry, arguments),
            functools.partial(validate_arguments, schema),
            functools.partial(coerce, schema),
        )
        converted = unwrapped + converted
        if problems:
            return self._failed(name, errors.invalid_arguments(name, problems))
        try:
            value = await handlers.run_entry(self.deps, entry, action_input, call)
        except ToolError as exc:
            return self._failed(name, exc)
        return self.result(value, entry, converted)

    async def _call_meta(
        self, tool: MetaTool[Any], arguments: dict[str, Any], call: CallContext
    ) -> types.CallToolResult:
        if not tool.visible(self.policy):
            raise unknown_tool(tool.name)
        # The forgiving conversions action inputs get ('2' for an integer, an object sent as JSON text, ...).
        schema = self._schemas[tool.name]
        arguments, converted, problems = converted_if_invalid(
            arguments,
            functools.partial(validate_arguments, schema, own=True),
            functools.partial(coerce_arguments, schema),
        )
        if problems:
            return self._failed(tool.name, errors.invalid_arguments(tool.name, problems))
        try:
            args = tool.parse(arguments)
        except ValidationError as exc:
            problems = validation_problems(exc)
            return self._failed(tool.name, errors.invalid_arguments(tool.name, problems))
        try:
            value = await tool.handler(self.deps, args, call)
        except ToolError as exc:
            return self._failed(tool.name, exc)
        except MembraneError as exc:
            failure = errors.from_membrane_error(exc, doing=f"Running {tool.name}", operation=tool.operation)
            return self._failed(tool.name, failure)
        return self.result(value, None, converted)

    def _failed(self, name: str, error: ToolError) -> types.CallToolResult:
        """Every isError result passes here: logged once (tool and kind only: no arguments, no secrets)."""
        logger.info("tool %s failed: %s", name, error.kind)
        # Within --max-output-bytes like every success (`result` shapes those): an error may echo a large input.
        capped: types.CallToolResult = scrub_model(
            cap_result(errors.error_result(error), self.config.max_output_bytes)
        )
        return capped

    def result(
        self, value: Any, entry: ToolEntry | None, converted: list[str] | None = None
    ) -> types.CallToolResult:
        shaped = shape_output(value, self.config.max_output_bytes)
        structured = dict(shaped.structured)
        meta = None
        if shaped.truncated and entry is not None and entry.output_schema is not None:
            # The declared outputSchema may forbid extra keys: keep the note out of structuredContent.
            meta = {"membrane-mcp/truncated": structured.pop("_truncated", None)}
        if entry is not None and entry.output_schema is not None and not isinstance(value, dict):
            structured_content: dict[str, Any] | None = None
        else:
            structured_content = structured
        content = [types.TextContent(type="text", text=shaped.text)]
        if converted:
            content.append(types.TextContent(type="text", text=f"converted: {'; '.join(converted)}"))
        result = types.CallToolResult(content=content, structured_content=structured_content, meta=meta)
        # The text encodes all the result carries (the structured content, and the truncation note moved to
        # meta): one search of it clears the result, without encoding the structured content again.
        if not contains_secret(shaped.text) and not any(contains_secret(note) for note in converted or ()):
            return result
        scrubbed: types.CallToolResult = scrub_model(result)
        return scrubbed


def _run_action_shaped(entry: ToolEntry, arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Arguments given as run_action takes them ({input: {...}}) to an action tool without an `input`
    field: the object inside, with a note."""
    inner = arguments.get("input")
    properties = entry.validation_schema.get("properties") or {}
    if (
        entry.wrapped_key is None
        and len(arguments) == 1
        and isinstance(inner, dict)
        and "input" not in properties
    ):
        return inner, ["input: the arguments were read from inside `input` (this tool takes them directly)"]
    return arguments, []


def _unwrap(entry: ToolEntry, arguments: dict[str, Any]) -> Any:
    if entry.wrapped_key is not None:
        return arguments.get(entry.wrapped_key)
    return arguments
