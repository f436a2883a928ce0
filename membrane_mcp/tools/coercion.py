"""Forgiving inputs where the meaning is unambiguous, converted before validation with a note:

- a date (``2025-03-01``) for a ``date-time`` becomes the start of that day in UTC;
- a numeric string for a ``number``/``integer`` becomes that number;
- a single value for an ``array`` becomes a one-item array (when the value fits the items' type).

Anything else is left as given, for validation to refuse with every problem at once.
"""

from __future__ import annotations

import re
from typing import Any

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_SCALAR_TYPES = {"string": str, "boolean": bool}


def coerce(schema: Any, value: Any, path: str = "") -> tuple[Any, list[str]]:
    """The value with unambiguous conversions made, and one note per conversion."""
    if not isinstance(schema, dict):
        return value, []
    kind = schema.get("type")
    where = path or "input"
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), dict)):
        if not isinstance(value, dict):
            return value, []
        properties = schema.get("properties") or {}
        notes: list[str] = []
        out = dict(value)
        for name, child in properties.items():
            if name in out:
                out[name], child_notes = coerce(child, out[name], f"{path}.{name}" if path else name)
                notes += child_notes
        return out, notes
    if kind == "array":
        items = schema.get("items")
        if isinstance(value, list):
            converted = [coerce(items, item, f"{where}[{i}]") for i, item in enumerate(value)]
            return [v for v, _ in converted], [n for _, ns in converted for n in ns]
        if value is not None and not isinstance(value, dict) and _fits(items, value):
            item, notes = coerce(items, value, f"{where}[0]")
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
    if kind == "string" and schema.get("format") == "date-time" and isinstance(value, str):
        if _DATE.match(value.strip()):
            converted_value = f"{value.strip()}T00:00:00Z"
            return converted_value, [
                f"{where}: the date {value!r} was read as {converted_value} (start of day, UTC)"
            ]
    return value, []


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
