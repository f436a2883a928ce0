"""The meta tools: always present, whatever the catalog holds.

Their descriptions are short on purpose: in search mode they are the whole tool list,
paid for in tokens on every turn.
"""

from __future__ import annotations

from typing import Any

from mcp import types

LIST_CONNECTIONS = "list_connections"
SEARCH_ACTIONS = "search_actions"
RUN_ACTION = "run_action"
RAW_REQUEST = "raw_request"
CREATE_ACTION = "create_action"
CONNECT_APP = "connect_app"

META_TOOL_NAMES = (LIST_CONNECTIONS, SEARCH_ACTIONS, RUN_ACTION, RAW_REQUEST, CREATE_ACTION, CONNECT_APP)

_CONNECTION_ARG = {
    "type": "string",
    "minLength": 1,
    "description": "Connection id, or app key (e.g. 'vtiger') when the app has exactly one connection.",
}

# Single-type branches rather than a type array: more hosts map them faithfully.
_SCALAR = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}

_SCHEMAS: dict[str, dict[str, Any]] = {
    LIST_CONNECTIONS: {"type": "object", "properties": {}, "additionalProperties": False},
    SEARCH_ACTIONS: {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "What you want to do, in plain words (e.g. 'find contacts by email').",
            },
            "app": {"type": "string", "description": "Only this app (key, e.g. 'vtiger')."},
            "connection": {"type": "string", "description": "Only this connection (id)."},
            "limit": {"type": "integer", "minimum": 1, "maximum": 50, "default": 5},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    RUN_ACTION: {
        "type": "object",
        "properties": {
            "connection": _CONNECTION_ARG,
            "action": {
                "type": "string",
                "minLength": 1,
                "description": "Action key or id (from search_actions).",
            },
            "input": {
                "type": "object",
                "description": "Input matching the action's input_schema.",
                "default": {},
            },
        },
        "required": ["connection", "action"],
        "additionalProperties": False,
    },
    RAW_REQUEST: {
        "type": "object",
        "properties": {
            "connection": _CONNECTION_ARG,
            "method": {"type": "string", "enum": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]},
            "path": {
                "type": "string",
                "minLength": 1,
                "description": "Path relative to the app's API base, e.g. '/me'; may contain {name} placeholders.",
            },
            "query": {"type": "object", "additionalProperties": _SCALAR},
            "headers": {"type": "object", "additionalProperties": {"type": "string"}},
            "body": {
                "anyOf": [{"type": "object"}, {"type": "array"}, {"type": "string"}],
                "description": "JSON body (object or array), or a string sent as-is.",
            },
            "path_params": {
                "type": "object",
                "additionalProperties": {"anyOf": [{"type": "string"}, {"type": "number"}]},
                "description": "Values for {name} placeholders in path.",
            },
        },
        "required": ["connection", "method", "path"],
        "additionalProperties": False,
    },
    CREATE_ACTION: {
        "type": "object",
        "properties": {
            "connection": _CONNECTION_ARG,
            "description": {
                "type": "string",
                "minLength": 3,
                "maxLength": 200,
                "description": "What the new action should do, in plain words.",
            },
            "timeout_s": {"type": "number", "minimum": 1, "maximum": 600, "default": 120},
        },
        "required": ["connection", "description"],
        "additionalProperties": False,
    },
    CONNECT_APP: {
        "type": "object",
        "properties": {
            "app": {
                "type": "string",
                "minLength": 1,
                "description": "App to connect: key or name (e.g. 'vtiger').",
            },
            "name": {"type": "string", "description": "Name for the new connection."},
            "new": {
                "type": "boolean",
                "default": False,
                "description": "Add a connection even if one exists.",
            },
            "wait_s": {
                "type": "number",
                "minimum": 0,
                "maximum": 300,
                "default": 0,
                "description": "Wait this long for the user to finish signing in.",
            },
        },
        "required": ["app"],
        "additionalProperties": False,
    },
}

_DESCRIPTIONS = {
    LIST_CONNECTIONS: "List the user's Membrane app connections: id, name, app, state, reconnect URL if needed.",
    SEARCH_ACTIONS: (
        "Find actions by intent across all connections. Returns ranked actions with input_schema; "
        "run one with run_action (or its tool, when it has one)."
    ),
    RUN_ACTION: "Run a Membrane action by key or id on a connection.",
    RAW_REQUEST: (
        "Send an HTTP request to the app's own API through Membrane (auth added for you). "
        "Use only when no action fits."
    ),
    CREATE_ACTION: (
        "Have Membrane build a new action from a plain-language description and wait until it is ready; "
        "it then becomes a tool."
    ),
    CONNECT_APP: "Connect a new app through Membrane: returns a URL for the user to sign in, optionally waits.",
}

_TITLES = {
    LIST_CONNECTIONS: "List connections",
    SEARCH_ACTIONS: "Search actions",
    RUN_ACTION: "Run action",
    RAW_REQUEST: "Raw API request",
    CREATE_ACTION: "Create action",
    CONNECT_APP: "Connect app",
}

_ANNOTATIONS = {
    LIST_CONNECTIONS: types.ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True
    ),
    SEARCH_ACTIONS: types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True),
    RUN_ACTION: types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False),
    RAW_REQUEST: types.ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False),
    CREATE_ACTION: types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False),
    CONNECT_APP: types.ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False),
}


def meta_tool_schema(name: str) -> dict[str, Any]:
    return _SCHEMAS[name]


def meta_tool(name: str, *, read_only: bool = False) -> types.Tool:
    """The tool definition; under read-only mode raw_request and run_action say what is left of them."""
    schema = _SCHEMAS[name]
    description = _DESCRIPTIONS[name]
    annotations = _ANNOTATIONS[name]
    if read_only and name == RAW_REQUEST:
        schema = {
            **schema,
            "properties": {**schema["properties"], "method": {"type": "string", "enum": ["GET", "HEAD"]}},
        }
        description += " Read-only mode: GET and HEAD only."
        annotations = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
    if read_only and name == RUN_ACTION:
        description += " Read-only mode: read actions only."
        annotations = types.ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True)
    annotations = annotations.model_copy(
        update={"title": _TITLES[name], "open_world_hint": name != SEARCH_ACTIONS}
    )
    return types.Tool(
        name=name,
        title=_TITLES[name],
        description=description,
        input_schema=schema,
        annotations=annotations,
    )
