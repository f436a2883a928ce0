"""Classify Membrane actions as read / create / update / delete / write and derive MCP tool annotations.

Membrane's ``ActionType`` wins when it is one of the data-record types; otherwise the leading verb of the
action key (or, failing that, of its name) decides. Anything unrecognised is ``write``: destructive and
not idempotent, the conservative class, so hosts ask before running it.
"""

from __future__ import annotations

import re
from typing import Literal

ActionKind = Literal["read", "create", "update", "delete", "write"]

_ACTION_TYPE_KINDS: dict[str, ActionKind] = {
    "list-data-records": "read",
    "find-data-record-by-id": "read",
    "match-data-record": "read",
    "search-data-record": "read",
    "create-data-record": "create",
    "find-or-create-data-record": "create",
    "update-data-record": "update",
    "delete-data-record": "delete",
}

_VERB_KINDS: dict[str, ActionKind] = {
    **dict.fromkeys(
        (
            "list", "get", "search", "query", "find", "describe", "retrieve", "export", "count",
            "fetch", "read", "lookup", "check", "download", "global_search",
        ),
        "read",
    ),
    **dict.fromkeys(("create", "add", "import", "send", "post", "upload", "new"), "create"),
    **dict.fromkeys(
        (
            "update", "edit", "set", "patch", "mass_update", "upsert", "merge", "move", "assign",
            "rename", "link",
        ),
        "update",
    ),
    **dict.fromkeys(("delete", "remove", "archive", "destroy", "purge", "unlink", "cancel"), "delete"),
}  # fmt: skip

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def _words(text: str) -> list[str]:
    spaced = _CAMEL_BOUNDARY.sub("_", text).lower()
    return [word for word in _SEPARATORS.split(spaced) if word]


def _verb_kind(text: str) -> ActionKind | None:
    words = _words(text)
    if len(words) >= 2 and (kind := _VERB_KINDS.get(f"{words[0]}_{words[1]}")):
        return kind
    return _VERB_KINDS.get(words[0]) if words else None


def classify_action(key: str, action_type: str | None, name: str = "") -> ActionKind:
    """Return the action's kind from its Membrane type, else its key's leading verb, else its name's."""
    if action_type and (kind := _ACTION_TYPE_KINDS.get(action_type)):
        return kind
    return _verb_kind(key) or _verb_kind(name) or "write"


def is_read_only(kind: ActionKind) -> bool:
    return kind == "read"


def is_destructive(kind: ActionKind) -> bool:
    return kind in ("update", "delete", "write")


def tool_annotations(kind: ActionKind, title: str) -> dict[str, str | bool]:
    """MCP ``ToolAnnotations`` fields (camelCase) for an action of this kind."""
    return {
        "title": title,
        "readOnlyHint": is_read_only(kind),
        "destructiveHint": is_destructive(kind),
        "idempotentHint": kind in ("read", "update", "delete"),
        "openWorldHint": True,
    }


# The MCP spec's defaults for ToolAnnotations hints: a hint equal to its default says nothing when listed.
SPEC_HINT_DEFAULTS: dict[str, bool] = {
    "readOnlyHint": False,
    "destructiveHint": True,
    "idempotentHint": False,
    "openWorldHint": True,
}


# The spec: destructiveHint and idempotentHint are "meaningful only when readOnlyHint == false".
_WRITE_ONLY_HINTS = frozenset({"destructiveHint", "idempotentHint"})


def listed_hints(annotations: dict[str, str | bool]) -> dict[str, bool]:
    """The hints a tool listing needs to send: those that differ from the spec's defaults (no title),
    and for a read-only tool none of the hints the spec gives meaning only to tools that write."""
    read_only = annotations.get("readOnlyHint") is True
    return {
        key: value
        for key, value in annotations.items()
        if key in SPEC_HINT_DEFAULTS
        and isinstance(value, bool)
        and value != SPEC_HINT_DEFAULTS[key]
        and not (read_only and key in _WRITE_ONLY_HINTS)
    }
