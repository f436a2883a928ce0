"""The meta tools, each declared once (see tools/registry.py for what a declaration holds).

They are always present, whatever the catalog holds. Their descriptions are short on purpose:
in search mode they are the whole tool list, paid for in tokens on every turn.

Adding a meta tool: an argument model in tools/arguments.py, a handler, one `MetaTool` here,
and its place in `META_TOOLS`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mcp import types

from membrane_mcp.tools import handlers
from membrane_mcp.tools.arguments import (
    ConnectAppArgs,
    CreateActionArgs,
    DescribeActionArgs,
    ListConnectionsArgs,
    RawRequestArgs,
    RunActionArgs,
    SearchActionsArgs,
)
from membrane_mcp.tools.connect import connect_app
from membrane_mcp.tools.policy import ALL_RAW_METHODS, SAFE_RAW_METHODS, Policy
from membrane_mcp.tools.registry import READ_ONLY, MetaTool, Registry, Restriction
from membrane_mcp.tools.services import GatewayConfig

LIST_CONNECTIONS = "list_connections"
SEARCH_ACTIONS = "search_actions"
DESCRIBE_ACTION = "describe_action"
RUN_ACTION = "run_action"
RAW_REQUEST = "raw_request"
CREATE_ACTION = "create_action"
CONNECT_APP = "connect_app"

# create_action's timeout_s may go up to this (or up to the setting, when that is larger).
CREATE_ACTION_MAX_TIMEOUT = 600.0


def _run_action_restriction(policy: Policy) -> Restriction | None:
    if policy.allows_only_reads():
        return Restriction(" Read-only mode: read actions only.", READ_ONLY)
    if policy.deny_destructive:
        return Restriction(
            " Reads and creates only.",
            types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False),
        )
    return None


def _raw_request_restriction(policy: Policy) -> Restriction | None:
    methods = policy.allowed_raw_methods()
    if methods >= ALL_RAW_METHODS:
        return None

    def only_allowed(schema: dict[str, Any]) -> dict[str, Any]:
        enum = [m for m in schema["properties"]["method"]["enum"] if m in methods]
        method = {"type": "string", "enum": enum}
        return {**schema, "properties": {**schema["properties"], "method": method}}

    if policy.read_only:
        return Restriction(" Read-only mode: GET and HEAD only.", READ_ONLY, only_allowed)
    if policy.only_safe_raw_methods():
        listed = " and ".join(m for m in ("GET", "HEAD") if m in methods)
        return Restriction(f" This server allows {listed} only.", READ_ONLY, only_allowed)
    return Restriction("", RAW_REQUEST_ANNOTATIONS, only_allowed)


def _raw_may_write(arguments: Mapping[str, Any]) -> bool:
    return str(arguments.get("method", "")).upper() not in SAFE_RAW_METHODS


def _create_action_schema(schema: dict[str, Any], config: GatewayConfig) -> dict[str, Any]:
    timeout = {
        **schema["properties"]["timeout_s"],
        "default": _number(config.create_action_timeout),
        "maximum": _number(max(CREATE_ACTION_MAX_TIMEOUT, config.create_action_timeout)),
    }
    return {**schema, "properties": {**schema["properties"], "timeout_s": timeout}}


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


RAW_REQUEST_ANNOTATIONS = types.ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=False
)

META_TOOLS = Registry(
    (
        MetaTool(
            name=LIST_CONNECTIONS,
            title="List connections",
            description="List the user's Membrane app connections: id, name, app, state, reconnect URL if needed.",
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
            title="Run action",
            description="Run a Membrane action by key or id on a connection.",
            arguments=RunActionArgs,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=True, idempotent_hint=False
            ),
            policy_class="write",
            handler=handlers.run_action,
            operation="run",
            restrict=_run_action_restriction,
        ),
        MetaTool(
            name=RAW_REQUEST,
            title="Raw API request",
            description=(
                "Send an HTTP request to the app's own API through Membrane (auth added for you). "
                "Use only when no action fits."
            ),
            arguments=RawRequestArgs,
            annotations=RAW_REQUEST_ANNOTATIONS,
            policy_class="write",
            handler=handlers.raw_request,
            operation="proxy",
            available=Policy.raw_request_available,
            restrict=_raw_request_restriction,
            may_write=_raw_may_write,
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
                "Connect a new app through Membrane: returns a URL for the user to sign in, optionally waits."
            ),
            arguments=ConnectAppArgs,
            annotations=types.ToolAnnotations(
                read_only_hint=False, destructive_hint=False, idempotent_hint=False
            ),
            policy_class="meta-write",
            handler=connect_app,
            operation="create",
        ),
    )
)

META_TOOL_NAMES = META_TOOLS.names
