"""The conditions an intent states: comparisons, "contains", "between", sort and limit words.

`parse_conditions` finds them next to a field the object has; a condition word it cannot tie to a field
and a value is reported, so the builder refuses the intent instead of building an action that ignores
it. `matches` and `ordering` apply what was parsed to stored records.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from membrane_sandbox.apps.catalog import FieldDef, ObjectDef

Condition = tuple[str, str, Any]  # (field name, operator, value)

# Longer phrases first: "no less than" before "less than".
COMPARATORS: tuple[tuple[str, str], ...] = (
    ("no less than", "ge"),
    ("no more than", "le"),
    ("greater than or equal to", "ge"),
    ("less than or equal to", "le"),
    ("at least", "ge"),
    ("at most", "le"),
    ("less than", "lt"),
    ("lower than", "lt"),
    ("cheaper than", "lt"),
    ("smaller than", "lt"),
    ("more than", "gt"),
    ("greater than", "gt"),
    ("higher than", "gt"),
    ("bigger than", "gt"),
    ("below", "lt"),
    ("under", "lt"),
    ("above", "gt"),
    ("over", "gt"),
    ("exceeding", "gt"),
    ("equal to", "eq"),
    ("equals", "eq"),
    ("containing", "contains"),
    ("contains", "contains"),
    ("contain", "contains"),
    ("including", "contains"),
    ("between", "between"),
)
NEWEST = ("newest", "latest", "most recent", "recent")
OLDEST = ("oldest", "earliest")
# What states a condition; an intent holding one the parser could not use is refused.
_NUMBER = r"-?\d+(?:\.\d+)?"
CONDITION_SIGNS: tuple[str, ...] = (
    *(
        rf"\b{re.escape(p)}\s+(?:\S+\s+){{0,2}}?{_NUMBER}\b"
        for p, op in COMPARATORS
        if op not in ("contains", "eq")
    ),
    r"\b(?:contains|containing|contain)\b",
    r"\b(?:equal to|equals)\b",
    r"\b(?:sorted|sort|ordered|order)\s+by\b",
    r"\b(?:first|top)\s+\d+\b",
    *(rf"\b{w}\b" for w in (*NEWEST[:3], *OLDEST)),
    r"\b(?:where|whose)\b",  # last: only a sign when no condition was found
)
_VALUE = rf"(?:'(?P<q1>[^']*)'|\"(?P<q2>[^\"]*)\"|(?P<num>{_NUMBER})|(?P<word>[\w@.-]+))"
_LIMIT = re.compile(
    r"\b(?:first|top|limit(?: to)?|only)\s+(\d+)\b|\b(\d+)\s+(?:newest|latest|oldest|first)\b"
)
_NUMERIC_TYPES = frozenset({"number", "integer", "currency", "percent", "double", "decimal"})


@dataclass
class ParsedConditions:
    conditions: list[Condition] = field(default_factory=list)
    sort: tuple[str, bool] | None = None  # (field, descending)
    limit: int | None = None
    unexpressed: list[str] = field(default_factory=list)


def _field_pattern(f: FieldDef) -> str:
    names = {f.label.lower(), f.name.lower().replace("_", " "), f.name.lower()}
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True) if n)


def _value(match: re.Match[str], f: FieldDef) -> Any:
    raw = match.group("q1") or match.group("q2") or match.group("num") or match.group("word")
    if f.type in _NUMERIC_TYPES:
        return float(raw)
    return raw


def parse_conditions(obj: ObjectDef, text: str, created_field: str) -> ParsedConditions:
    lowered = " ".join(text.lower().split())
    out = ParsedConditions()
    used: list[tuple[int, int]] = []
    for f in obj.fields:
        names = _field_pattern(f)
        if not names:
            continue
        between = re.compile(
            rf"\b(?:{names})\b(?:\s+(?:is|are|of))?\s+between\s+(?P<lo>{_NUMBER})\s+and\s+(?P<hi>{_NUMBER})"
        )
        for m in between.finditer(lowered):
            out.conditions.append((f.name, "ge", _number(m.group("lo"), f)))
            out.conditions.append((f.name, "le", _number(m.group("hi"), f)))
            used.append(m.span())
        for phrase, op in COMPARATORS:
            if op == "between":
                continue
            pattern = re.compile(
                rf"\b(?:{names})\b(?:\s+(?:is|are|of|that|which))?\s+{re.escape(phrase)}\s+{_VALUE}"
            )
            for m in pattern.finditer(lowered):
                if any(a <= m.start() < b for a, b in used):
                    continue
                if op in ("lt", "le", "gt", "ge") and not m.group("num"):
                    continue
                out.conditions.append((f.name, op, _value(m, f)))
                used.append(m.span())
        sort = re.search(
            rf"\b(?:sorted|sort|ordered|order)\s+by\s+(?:{names})\b(?P<dir>\s+(?:desc|descending|asc|ascending))?",
            lowered,
        )
        if sort:
            out.sort = (f.name, bool(sort.group("dir")) and "desc" in sort.group("dir"))
            used.append(sort.span())
        top = re.search(rf"\btop\s+\d+\b(?:\s+\w+){{0,3}}?\s+by\s+(?:{names})\b", lowered)
        if top and out.sort is None:
            out.sort = (f.name, True)  # "top 5 products by price": the highest first
    if out.sort is None and obj.field(created_field) is not None:
        for words, descending in ((NEWEST, True), (OLDEST, False)):
            hit = next((w for w in words if re.search(rf"\b{w}\b", lowered)), None)
            if hit:
                out.sort = (created_field, descending)
                used.extend(m.span() for m in re.finditer(rf"\b{hit}\b", lowered))
                break
    limit = _LIMIT.search(lowered)
    if limit:
        out.limit = int(limit.group(1) or limit.group(2))
        used.append(limit.span())
    signs = CONDITION_SIGNS if not out.conditions else CONDITION_SIGNS[:-1]
    for sign in signs:
        for m in re.finditer(sign, lowered):
            if not any(a <= m.start() < b for a, b in used):
                out.unexpressed.append(lowered[m.start() : m.end()].strip())
    return out


def _number(raw: str, f: FieldDef) -> Any:
    return float(raw) if f.type in _NUMERIC_TYPES else raw


def describe(parsed: ParsedConditions) -> str:
    """The conditions in words, for the built action's description."""
    words = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "contains": "contains"}
    parts = [f"{name} {words[op]} {value!r}" for name, op, value in parsed.conditions]
    if parsed.sort:
        parts.append(f"sorted by {parsed.sort[0]} {'descending' if parsed.sort[1] else 'ascending'}")
    if parsed.limit is not None:
        parts.append(f"at most {parsed.limit} records")
    return "; ".join(parts)


def matches(record: dict[str, Any], conditions: list[Any]) -> bool:
    return all(_holds(record.get(name), op, value) for name, op, value in conditions)


def _holds(actual: Any, op: str, value: Any) -> bool:
    if actual in (None, ""):
        return False
    if op == "contains":
        return str(value).casefold() in str(actual).casefold()
    if isinstance(value, float):
        try:
            left: Any = float(actual)
        except (TypeError, ValueError):
            return False
    else:
        left, value = str(actual).casefold(), str(value).casefold()
    return {
        "lt": left < value,
        "le": left <= value,
        "gt": left > value,
        "ge": left >= value,
        "eq": left == value,
    }[op]
