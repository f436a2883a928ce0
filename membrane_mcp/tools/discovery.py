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

DESCRIPTION_CHARS = 110
ENUM_SHOWN = 8
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


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


def compact_schema(schema: Any) -> Any:
    """The schema without descriptions that only repeat the enum beside them (recursively)."""
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: compact_schema(value) for key, value in schema.items() if key != "description"}
    if isinstance(out.get("properties"), dict):
        out["properties"] = {
            name: _without_name_repeat(name, prop) for name, prop in out["properties"].items()
        }
    description = schema.get("description")
    if isinstance(description, str):
        enum = schema.get("enum")
        out["description"] = _without_enum_list(description, enum) if isinstance(enum, list) else description
        if not out["description"]:
            del out["description"]
    return out


_FILTER_LABEL = re.compile(r"^Only records whose (.+) equals this value\.$")


def _without_name_repeat(name: str, prop: Any) -> Any:
    """A property's description that says no more than its name goes; a filter's keeps only its label."""
    if not isinstance(prop, dict) or not isinstance(prop.get("description"), str):
        return prop
    description = prop["description"]
    label = _FILTER_LABEL.match(description)
    if label:
        description = label.group(1)
    if _plain_words(description) == _plain_words(name):
        return {key: value for key, value in prop.items() if key != "description"}
    return {**prop, "description": description}


def _plain_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()))


def _without_enum_list(description: str, enum: list[Any]) -> str:
    """'Vtiger module name. One of: Contacts (Contacts), Leads (Leads), …' -> 'Vtiger module name.' when
    the part after 'One of' names the enum's values again."""
    match = re.search(r"\s*\b(one of|values?|allowed|possible)\b[^:]*:", description, re.IGNORECASE)
    if match is None:
        return description
    tail = description[match.end() :]
    values = [str(v) for v in enum]
    if values and sum(1 for v in values if v in tail) >= max(1, len(values) // 2):
        return description[: match.start()].rstrip()
    return description


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
