"""What search_actions and describe_action tell a model about an action, in as few bytes as will do.

A search hit is a card: key, name, one-line description, kind, required inputs with their types, the
names of the optional ones, and the tool name where there is one. The full input schema comes with the
top hit only (or from describe_action), and every schema sent drops what repeats: a description that
only lists the enum next to it again.
"""

from __future__ import annotations

import re
from typing import Any

from membrane_mcp.tools.catalog import ToolEntry
from membrane_mcp.tools.schema import compact_schema

DESCRIPTION_CHARS = 110
ENUM_SHOWN = 8
# A full stop ends a sentence, but not the one of "e.g." or "i.e." (a card cut at "(e.g." reads as broken).
_SENTENCE_END = re.compile(r"(?<![ (]e\.g\.)(?<![ (]i\.e\.)(?<=[.!?])\s")


def one_line(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    """The first sentence (or line) of a description, cut at a word boundary."""
    first = _SENTENCE_END.split(text.strip().splitlines()[0] if text.strip() else "", maxsplit=1)[0]
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def type_of(schema: Any) -> str:
    """A property's type in a few characters: 'string', 'integer', 'string (email)', 'one of: a|b|c'."""
    if not isinstance(schema, dict):
        return "any"
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        shown = "|".join(str(v) for v in enum[:ENUM_SHOWN])
        more = f"|… ({len(enum)} values)" if len(enum) > ENUM_SHOWN else ""
        return f"one of: {shown}{more}"
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = "|".join(str(k) for k in kind)
    if kind is None and isinstance(schema.get("anyOf"), list):
        kind = "|".join(type_of(branch) for branch in schema["anyOf"])
    text = str(kind or "any")
    if kind == "array":
        text = f"array of {type_of(schema.get('items'))}"
    if isinstance(schema.get("format"), str):
        text += f" ({schema['format']})"
    return text


def inputs(schema: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Required inputs with their types, and the names of the optional ones."""
    properties = schema.get("properties") or {}
    required = [name for name in schema.get("required") or [] if name in properties]
    optional = [name for name in properties if name not in required]
    return {name: type_of(properties[name]) for name in required}, optional


def card(
    entry: ToolEntry, tool: str | None, *, full_schema: bool, name_connection: bool = True
) -> dict[str, Any]:
    """A search hit; `name_connection` False leaves the connection id out (the app key names it)."""
    required, optional = inputs(entry.input_schema)
    out: dict[str, Any] = {"app": entry.app_key}
    if name_connection:
        out["connection"] = entry.connection_id
    out |= {
        "key": entry.action_key,
        "name": entry.action_name,
        "description": one_line(entry.description),
        "kind": "read" if entry.kind == "read" else "write",
        "required": required,
    }
    if optional:
        out["optional"] = optional
    if tool:
        out["tool"] = tool
    if full_schema:
        out["input_schema"] = compact_schema(entry.input_schema)
    return out


def describe(entry: ToolEntry, tool: str | None) -> dict[str, Any]:
    """One action in full: its whole description and input schema (and output schema when known)."""
    out: dict[str, Any] = {
        "app": entry.app_key,
        "connection": entry.connection_id,
        "key": entry.action_key,
        "name": entry.action_name,
        "description": entry.description,
        "kind": "read" if entry.kind == "read" else "write",
        "input_schema": compact_schema(entry.input_schema),
    }
    if entry.output_schema:
        out["output_schema"] = compact_schema(entry.output_schema)
    if tool:
        out["tool"] = tool
    return out
