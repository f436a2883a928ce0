"""The meta tools, each declared once (see tools/registry.py for what a declaration holds).

They are always present, whatever the catalog holds. Their descriptions are short on purpose:
in search mode they are the whole tool list, paid for in tokens on every turn.

Adding a meta tool: an argument model in tools/arguments.py, a handler, one `MetaTool` here,
and its place in `META_TOOLS`.
"""

from __future__ import annotations

from typing import Any

from mcp import types

from membrane_mcp.tools import handlers
from membrane_mcp.tools.arguments import (
    RAW_WRITE_METHODS,
    ConnectAppArgs,
    CreateActionArgs,
    DescribeActionArgs,
    GetRunLogArgs,
    ListConnectionsArgs,
    RawRequestArgs,
    RawWriteRequestArgs,
    RunActionArgs,
    RunWriteActionArgs,
    SearchActionsArgs,
)
from membrane_mcp.tools.connect import connect_app
from membrane_mcp.tools.policy import ALL_RAW_METHODS, SAFE_RAW_METHODS, Policy
from membrane_mcp.tools.registry import READ_ONLY, MetaTool, Registry, Restriction
from membrane_mcp.tools.run_log import get_run_log
from membrane_mcp.tools.services import GatewayConfig

LIST_CONNECTIONS = "list_connections"
SEARCH_ACTIONS = "search_actions"
DESCRIBE_ACTION = "describe_action"
RUN_ACTION = "run_action"
RUN_WRITE_ACTION = "run_write_action"
RAW_REQUEST = "raw_request"
RAW_WRITE_REQUEST = "raw_write_request"
CREATE_ACTION = "create_action"
CONNECT_APP = "connect_app"
GET_RUN_LOG = "get_run_log"

# create_action's timeout_s may go up to this (or up to the setting, when that is larger).
CREATE_ACTION_MAX_TIMEOUT = 600.0


def _run_write_action_restriction(policy: Policy) -> Restriction | None:
    if policy.deny_destructive:
        return Restriction(" Creates only.", CREATE_ONLY)
    return None


def _raw_request_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """What raw_request lists: GET, no body (a write sent here is refused naming raw_write_request)."""
    properties = {key: value for key, value in schema["properties"].items() if key != "body"}
    methods = [m for m in schema["properties"]["method"]["enum"] if m in SAFE_RAW_METHODS]
    properties["method"] = {**schema["properties"]["method"], "enum": methods}
    return {**schema, "properties": properties}


def _raw_request_restriction(policy: Policy) -> Restriction:
    methods = policy.allowed_raw_methods() & SAFE_RAW_METHODS

    def listed(schema: dict[str, Any]) -> dict[str, Any]:
        shown = _raw_request_schema(schema)
        method = {**shown["properties"]["method"]}
        method["enum"] = [m for m in method["enum"] if m in methods]
        return {**shown, "properties": {**shown["properties"], "method": method}}

    note = " Read-only mode." if policy.read_only else ""
    return Restriction(note, READ_ONLY, listed)


def _raw_write_request_restriction(policy: Policy) -> Restriction | None:
    methods = policy.allowed_raw_methods() - SAFE_RAW_METHODS
    if methods >= ALL_RAW_METHODS - SAFE_RAW_METHODS:
        return None

    def only_allowed(schema: dict[str, Any]) -> dict[str, Any]:
        enum = [m for m in schema["properties"]["method"]["enum"] if m in methods]
        method = {**schema["properties"]["method"], "enum": enum}
        return {**schema, "properties": {**schema["properties"], "method": method}}

    listed = " and ".join(m for m in RAW_WRITE_METHODS if m in methods)
    return Restriction(f" This server allows {listed} only.", RAW_WRITE_ANNOTATIONS, only_allowed)


def _create_action_schema(schema: dict[str, Any], config: GatewayConfig) -> dict[str, Any]:
    timeout = {
        **schema["properties"]["timeout_s"],
        "default": _number(config.create_action_timeout),
        "maximum": _number(max(CREATE_ACTION_MAX_TIMEOUT, config.create_action_timeout)),
    }
    return {**schema, "properties": {**schema["properties"], "timeout_s": timeout}}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


RAW_WRITE_ANNOTATIONS = types.ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False
)
CREATE_ONLY = types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False)

META_TOOLS = Registry(
    (
        MetaTool(
            name=LIST_CONNECTIONS,
            title="List connections",
            description="List the user's Membrane app connections: id, name, app, state, connect_url if needed.",
            arguments=ListConnectionsArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=handlers.list_connections,
            operation="read",
        ),
        MetaTool(
            name=SEARCH_ACTIONS,
            title="Search actions",
            description=(
                "Find actions by intent across all connections: key, kind, required inputs; "
                "the full input_schema for the top hit."
            ),
            arguments=SearchActionsArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=handlers.search_actions,
            operation="read",
            open_world=False,
        ),
        MetaTool(
            name=DESCRIBE_ACTION,
            title="Describe action",
            description="One action's full description and input schema.",
            arguments=DescribeActionArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=handlers.describe_action,
            operation="read",
            open_world=False,
        ),
        MetaTool(
            name=RUN_ACTION,
            title="Run read action",
            description="Run a read action (list, get, search, count).",
            arguments=RunActionArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=handlers.run_action,
            operation="read",
        ),
        MetaTool(
            name=RUN_WRITE_ACTION,
            title="Run write action",
            description="Run an action that changes data (create, update, delete, send).",
            arguments=RunWriteActionArgs,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=True, idempotent_hint=False
            ),
            policy_class="write",
            handler=handlers.run_write_action,
            operation="run",
            available=Policy.allows_action_writes,
            restrict=_run_write_action_restriction,
        ),
        MetaTool(
            name=RAW_REQUEST,
            title="Raw API read",
            description=(
                "GET from the app's own API through Membrane (auth added for you). "
                "Use only when no action fits."
            ),
            arguments=RawRequestArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=handlers.raw_request,
            operation="read",
            available=Policy.raw_request_available,
            restrict=_raw_request_restriction,
        ),
        MetaTool(
            name=RAW_WRITE_REQUEST,
            title="Raw API write",
            description=(
                "Write to the app's own API through Membrane (auth added for you). Use only when no action fits."
            ),
            arguments=RawWriteRequestArgs,
            annotations=RAW_WRITE_ANNOTATIONS,
            policy_class="write",
            handler=handlers.raw_write_request,
            operation="proxy",
            available=Policy.raw_write_request_available,
            restrict=_raw_write_request_restriction,
        ),
        MetaTool(
            name=CREATE_ACTION,
            title="Create action",
            description=(
                "Have Membrane build a new action from a plain-language description and wait until it is ready; "
                "it then becomes a tool."
            ),
            arguments=CreateActionArgs,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False
            ),
            policy_class="meta-write",
            available=Policy.allows_create_action,
            handler=handlers.create_action,
            operation="create",
            schema_defaults=_create_action_schema,
            budget=lambda config: config.create_action_timeout,
        ),
        MetaTool(
            name=CONNECT_APP,
            title="Connect app",
            description=(
                "Connect an app (or reconnect a broken connection) through Membrane: the user signs in at a link; "
                "follow agent_instructions first."
            ),
            arguments=ConnectAppArgs,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False
            ),
            policy_class="meta-write",
            handler=connect_app,
            operation="create",
        ),
        MetaTool(
            name=GET_RUN_LOG,
            title="Get run log",
            description=(
                "Why did a run fail? Membrane's log of one action run: status, input, output, error."
            ),
            arguments=GetRunLogArgs,
            annotations=READ_ONLY,
            policy_class="read",
            handler=get_run_log,
            operation="read",
        ),
    )
)

META_TOOL_NAMES = META_TOOLS.names
