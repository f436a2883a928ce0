"""Forgiving inputs where the meaning is unambiguous, converted before validation with a note:

- a date (``2025-03-01``) for a ``date-time`` becomes the start of that day in UTC;
- a numeric string for a ``number``/``integer`` becomes that number;
- a single value for an ``array`` becomes a one-item array (when the value fits the items' type);
- ``"true"``/``"false"`` for a ``boolean`` becomes that boolean;
- an integer for a ``string`` (no format) becomes its digits, in an action's input;
- a string holding a JSON object for an ``object`` becomes that object (some clients send objects as text).

`coerce_arguments` also reads a null for an optional argument that takes no null as not given.

Anything else is left as given, for validation to refuse with every problem at once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SCALAR_TYPES = {"string": str, "boolean": bool}


def coerce(schema: Any, value: Any, path: str = "", *, digits: bool = True) -> tuple[Any, list[str]]:
    """The value with unambiguous conversions made, and one note per conversion.

    `digits`: an integer for a string becomes its digits (for an action's input, where ids and codes come
    as numbers; not for a tool's own arguments, where a number for `query` is a mistake to say)."""
    if not isinstance(schema, dict):
        return value, []
    kind = schema.get("type")
    where = path or "input"
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        notes: list[str] = []
        if isinstance(value, str) and kind == "object":
            decoded = _json_object(value)
            if decoded is not None:
                value, notes = decoded, [f"{where}: the JSON text was read as an object"]
        if not isinstance(value, dict):
            return value, []
        properties = schema.get("properties") or {}
        out = dict(value)
        for name, child in properties.items():
            if name in out:
                out[name], child_notes = coerce(
                    child, out[name], f"{path}.{name}" if path else name, digits=digits
                )
                notes += child_notes
        return out, notes
    if kind == "array":
        items = schema.get("items")
        if isinstance(value, list):
            converted = [coerce(items, item, f"{where}[{i}]", digits=digits) for i, item in enumerate(value)]
            return [v for v, _ in converted], [n for _, ns in converted for n in ns]
        if value is not None and not isinstance(value, dict) and _fits(items, value):
            item, notes = coerce(items, value, f"{where}[0]", digits=digits)
            return [item], [f"{where}: the single value was wrapped in a list", *notes]
        return value, []
    if kind in ("number", "integer") and isinstance(value, str):
        text = value.strip()
        if kind == "integer" and _INTEGER.match(text):
            return int(text), [f"{where}: the string {value!r} was read as the integer {int(text)}"]
        if kind == "number" and _NUMBER.match(text):
            number = float(text)
            result: int | float = int(number) if _INTEGER.match(text) else number
            return result, [f"{where}: the string {value!r} was read as the number {result}"]
        return value, []
    if (
        digits
        and kind == "string"
        and isinstance(value, int)
        and not isinstance(value, bool)
        and "format" not in schema
    ):
        return str(value), [f"{where}: the integer {value} was read as the string '{value}'"]
    if kind == "boolean" and isinstance(value, str) and value.strip() in ("true", "false"):
        return value.strip() == "true", [
            f"{where}: the string {value!r} was read as the boolean {value.strip()}"
        ]
    if kind == "string" and schema.get("format") == "date-time" and isinstance(value, str):
        if _DATE.match(value.strip()):
            converted_value = f"{value.strip()}T00:00:00Z"
            return converted_value, [
                f"{where}: the date {value!r} was read as {converted_value} (start of day, UTC)"
            ]
    return value, []


def converted_if_invalid(
    value: Any, problems_of: Callable[[Any], list[str]], convert: Callable[[Any], tuple[Any, list[str]]]
) -> tuple[Any, list[str], list[str]]:
    """(value, conversion notes, problems): the conversions are tried only when the value as given has
    problems, so a well-formed call pays for one validation and nothing else."""
    problems = problems_of(value)
    if not problems:
        return value, [], []
    converted, notes = convert(value)
    if not notes:
        return value, [], problems
    return converted, notes, problems_of(converted)


def coerce_arguments(schema: dict[str, Any], arguments: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A tool's own arguments with `coerce`'s conversions, and a null for an optional argument that takes
    no null dropped (a model's way of leaving it out)."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    notes: list[str] = []
    kept: dict[str, Any] = {}
    for name, value in arguments.items():
        child = properties.get(name)
        if value is None and isinstance(child, dict) and name not in required and not _takes_null(child):
            notes.append(f"{name}: null was read as not given")
            continue
        kept[name] = value
    value, converted = coerce(schema, kept, digits=False)
    return value, notes + converted


def _takes_null(schema: dict[str, Any]) -> bool:
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(
        isinstance(b, dict) and _takes_null(b) for b in schema.get("anyOf") or schema.get("oneOf") or []
    )


def _json_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):  # nested deeper than the parser goes: left for validation to refuse
        return None
    return decoded if isinstance(decoded, dict) else None


def _fits(items: Any, value: Any) -> bool:
    """Whether a single value plainly is one item of this array (no guessing across types)."""
    if not isinstance(items, dict):
        return False
    kind = items.get("type")
    if "enum" in items:
        return value in items["enum"]
    if kind in _SCALAR_TYPES:
        return isinstance(value, _SCALAR_TYPES[kind])
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False
