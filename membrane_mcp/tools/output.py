"""Shape action outputs for models: an object for ``structuredContent`` plus one compact JSON text.

Guarantee: ``text`` is always valid JSON and the encoding of ``structured``, and
``len(text.encode("utf-8")) <= max_bytes`` for every ``max_bytes >= 2`` (below 64 bytes there is no room
for a note, so the result may be ``{}``). When the full JSON is too big we cut, in this order:

1. **Records**: the largest list (top level or one level down, e.g. ``records``/``items``/``data``) is cut
   to its longest prefix that fits, and ``structured["_truncated"] = {"shown", "total", "path", "note"}``.
2. **Long strings**: every string longer than some bound is shortened (used when no list exists or not
   even one record fits), with ``_truncated = {"strings_shortened", "max_chars", "note"}``.
   Failing that, strings are cut to 200 characters *and* the records cut as in 1.
3. **Summary**: the top-level keys and sizes only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp import types

__all__ = ["EncodedParts", "ShapedOutput", "cap_result", "encoded", "shape_output"]

TRUNCATION_KEY = "_truncated"
_ELLIPSIS = "…"
_RECORD_TEXT_LIMIT = 200


@dataclass(frozen=True)
class ShapedOutput:
    structured: dict[str, Any]
    text: str
    truncated: bool
    note: str | None


# One encoder for every call: `json.dumps` with options builds a new JSONEncoder each time (~4 us, more
# than encoding a small value).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _dumps(value: Any) -> str:
    return _ENCODER.encode(value)


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def encoded(value: Any) -> str | None:
    """`value` as the compact JSON `shape_output` writes, or None when it is not plain JSON."""
    try:
        return _dumps(value)
    except (TypeError, ValueError):
        return None


class EncodedParts(dict[str, Any]):
    """A result whose values under some keys were encoded already (`encoded`); `shape_output` writes those
    texts in place of encoding the values again. A run's output (often most of the result) is encoded
    once to measure it against the slice budget; without this it was encoded a second time here."""

    def __init__(self, value: dict[str, Any], texts: dict[str, str]) -> None:
        super().__init__(value)
        self.texts = texts


def _dumps_parts(value: EncodedParts) -> str:
    """What `_dumps(value)` returns, with the texts encoded already put in as they are."""
    texts = value.texts
    members = [
        f"{_dumps(key)}:{texts[key] if key in texts else _dumps(member)}" for key, member in value.items()
    ]
    return "{" + ",".join(members) + "}"


def _jsonable(value: Any) -> Any:
    """Coerce to plain JSON: string keys, lists for tuples, null for NaN/inf, str() for anything else."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _limit_label(max_bytes: int) -> str:
    return f"{max_bytes // 1024} KiB" if max_bytes % 1024 == 0 else f"{max_bytes} bytes"


def _hint(how_to_continue: str | None) -> str:
    if how_to_continue:
        return how_to_continue
    return (
        "Ask for fewer records or fields to see the rest; any page cursor here points past all records "
        "of this page, including those not shown."
    )


def _largest_list(structured: dict[str, Any]) -> tuple[str, ...] | None:
    best: tuple[int, tuple[str, ...]] | None = None
    for key, value in structured.items():
        candidates: list[tuple[tuple[str, ...], Any]] = [((key,), value)]
        if isinstance(value, dict):
            candidates += [((key, inner), v) for inner, v in value.items()]
        for path, candidate in candidates:
            if isinstance(candidate, list) and candidate:
                size = _size(_dumps(candidate))
                if best is None or size > best[0]:
                    best = (size, path)
    return best[1] if best else None


def _replace_at(structured: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    if len(path) == 1:
        return {**structured, path[0]: value}
    return {**structured, path[0]: {**structured[path[0]], path[1]: value}}


def _with_note(structured: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    # The note goes first so a model reading the text sees it before the data.
    return {TRUNCATION_KEY: info, **{k: v for k, v in structured.items() if k != TRUNCATION_KEY}}


def _cut_records(
    structured: dict[str, Any], max_bytes: int, hint: str
) -> tuple[dict[str, Any], str, str] | None:
    path = _largest_list(structured)
    if path is None:
        return None
    items: list[Any] = structured[path[0]] if len(path) == 1 else structured[path[0]][path[1]]
    total = len(items)

    def build(shown: int) -> tuple[dict[str, Any], str, str]:
        note = (
            f"Output truncated: showing {shown} of {total} records ({_limit_label(max_bytes)} limit). {hint}"
        )
        info = {"shown": shown, "total": total, "path": ".".join(path), "note": note}
        candidate = _with_note(_replace_at(structured, path, items[:shown]), info)
        return candidate, _dumps(candidate), note

    _, empty_text, _ = build(0)
    budget = max_bytes - _size(empty_text) - len(str(total))  # slack for the digits of `shown`
    shown, used = 0, 0
    for item in items:
        cost = _size(_dumps(item)) + (1 if shown else 0)
        if used + cost > budget:
            break
        used += cost
        shown += 1
    while shown > 0:
        candidate, text, note = build(shown)
        if _size(text) <= max_bytes:
            return candidate, text, note
        shown -= 1
    return None


def _shorten_strings(value: Any, limit: int, counter: list[int]) -> Any:
    if isinstance(value, str):
        if len(value) > limit:
            counter[0] += 1
            return value[:limit] + _ELLIPSIS
        return value
    if isinstance(value, dict):
        return {k: _shorten_strings(v, limit, counter) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten_strings(v, limit, counter) for v in value]
    return value


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_longest_string(v) for v in children), default=0)


def _cut_strings(
    structured: dict[str, Any], max_bytes: int, hint: str
) -> tuple[dict[str, Any], str, str] | None:
    longest = _longest_string(structured)

    def build(limit: int) -> tuple[dict[str, Any], str, str]:
        counter = [0]
        shortened = _shorten_strings(structured, limit, counter)
        note = (
            f"Output truncated: {counter[0]} long text value(s) cut to {limit} characters "
            f"({_limit_label(max_bytes)} limit). {hint}"
        )
        info = {"strings_shortened": counter[0], "max_chars": limit, "note": note}
        candidate = _with_note(shortened, info)
        return candidate, _dumps(candidate), note

    return _search_largest(0, longest - 1, build, max_bytes)


def _search_largest(
    low: int, high: int, build: Callable[[int], tuple[dict[str, Any], str, str]], max_bytes: int
) -> tuple[dict[str, Any], str, str] | None:
    """Binary search for the largest bound in [low, high] whose rendering fits; size grows with it."""
    best = None
    while low <= high:
        middle = (low + high) // 2
        attempt = build(middle)
        if _size(attempt[1]) <= max_bytes:
            best, low = attempt, middle + 1
        else:
            high = middle - 1
    return best


def _summary(
    structured: dict[str, Any], full_size: int, max_bytes: int, hint: str
) -> tuple[dict[str, Any], str, str]:
    limit = _limit_label(max_bytes)
    note = f"Output too large ({full_size} bytes, {limit} limit); showing only its shape. {hint}"
    shape = {
        key: (f"list of {len(v)}" if isinstance(v, list) else f"object with {len(v)} keys")
        if isinstance(v, list | dict)
        else type(v).__name__
        for key, v in structured.items()
        if key != TRUNCATION_KEY
    }
    keys = list(shape)

    def build(count: int) -> tuple[dict[str, Any], str, str]:
        info = {"note": note, "bytes": full_size}
        candidate = {TRUNCATION_KEY: info, "summary": {k: shape[k] for k in keys[:count]}}
        return candidate, _dumps(candidate), note

    fitted = _search_largest(0, len(keys), build, max_bytes)
    if fitted:
        return fitted
    minimal = {TRUNCATION_KEY: {"note": "Output too large."}}
    text = _dumps(minimal)
    if _size(text) <= max_bytes:
        return minimal, text, note
    return {}, "{}", note


def shape_output(value: Any, max_bytes: int = 65536, *, how_to_continue: str | None = None) -> ShapedOutput:
    """Render ``value`` as structured content plus compact JSON text no larger than ``max_bytes``."""
    if max_bytes < 2:
        raise ValueError("max_bytes must be at least 2 (the size of '{}')")
    structured = value if isinstance(value, dict) else {"result": value}
    try:
        text = _dumps_parts(structured) if isinstance(structured, EncodedParts) else _dumps(structured)
    except (TypeError, ValueError):
        structured = _jsonable(structured)
        text = _dumps(structured)
    full_size = _size(text)
    if full_size <= max_bytes:
        return ShapedOutput(structured, text, False, None)

    hint = _hint(how_to_continue)
    fitted = _cut_records(structured, max_bytes, hint)
    by_strings = None if fitted else _cut_strings(structured, max_bytes, hint)
    if fitted is None and (
        by_strings is None or by_strings[0][TRUNCATION_KEY]["max_chars"] < _RECORD_TEXT_LIMIT
    ):
        # Not even one record fits whole, and shortening alone leaves text too short to be useful: do both.
        shortened = _shorten_strings(structured, _RECORD_TEXT_LIMIT, [0])
        prefix = f"Long text values were cut to {_RECORD_TEXT_LIMIT} characters. "
        fitted = _cut_records(shortened, max_bytes, prefix + hint)
    fitted = fitted or by_strings
    shaped, text, note = fitted or _summary(structured, full_size, max_bytes, hint)
    return ShapedOutput(shaped, text, True, note)


def _clip_text(text: str, max_bytes: int) -> str:
    if _size(text) <= max_bytes:
        return text
    note = f"{_ELLIPSIS} [cut at {_limit_label(max_bytes)}, --max-output-bytes]"
    room = max(0, max_bytes - _size(note))
    return text.encode("utf-8")[:room].decode("utf-8", errors="ignore") + note


def cap_result(result: types.CallToolResult, max_bytes: int) -> types.CallToolResult:
    """Any result, error or not, within ``max_bytes``: its text blocks and its structured content.

    Successful results are shaped already (records cut, with a note); this catches the rest: errors that
    echo a large input, long problem lists, anything a path produced without going through the shaper.
    """
    texts = [block.text for block in result.content if isinstance(block, types.TextContent)]
    structured = result.structured_content
    structured_size = _size(_dumps(_jsonable(structured))) if structured is not None else 0
    if sum(_size(t) for t in texts) <= max_bytes and structured_size <= max_bytes:
        return result
    budget = max(64, max_bytes // max(1, len(texts)))
    content = [
        block.model_copy(update={"text": _clip_text(block.text, budget)})
        if isinstance(block, types.TextContent)
        else block
        for block in result.content
    ]
    if structured is not None and structured_size > max_bytes:
        hint = "The full text was too large to return; narrow the request or the input."
        structured = shape_output(structured, max_bytes, how_to_continue=hint).structured
    return result.model_copy(update={"content": content, "structured_content": structured})
