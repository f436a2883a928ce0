"""Result shaping for any action run through run_action/run_write_action, whatever the app.

- Every list-shaped output says how many records it holds and whether the app said there are more
  (Membrane's `cursor`, or the app's own paging fields).
- `fields`: dot paths that project each record (`["id", "address.city"]`).
- `count_only`: the number of records and the first few ids instead of the records.
- An output over the cap is sliced: the first slice comes back with a continuation handle, and
  `continuation` returns the next slice of the same result without running the action again.
"""

from __future__ import annotations

import json
import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

RECORD_KEYS = ("records", "items", "data", "results", "rows", "entries", "list")
MORE_FLAGS = ("hasMore", "has_more", "more", "moreRecords", "more_records")
CURSOR_KEYS = ("cursor", "nextCursor", "next_cursor", "nextPageToken", "next_page_token", "next", "nextPage")
IDS_SHOWN = 5
HANDLES_KEPT = 64


@dataclass(frozen=True)
class RecordList:
    key: str | None  # None: the output itself is the list
    records: list[Any]


def record_list(output: Any) -> RecordList | None:
    if isinstance(output, list):
        return RecordList(None, output)
    if isinstance(output, dict):
        for key in RECORD_KEYS:
            if isinstance(output.get(key), list):
                return RecordList(key, output[key])
    return None


def app_says_more(output: Any) -> tuple[bool, Any]:
    """Whether the app (or Membrane) said there are more records, and the cursor to get them."""
    if not isinstance(output, dict):
        return False, None
    for key in MORE_FLAGS:
        if isinstance(output.get(key), bool):
            return output[key], _cursor(output)
    cursor = _cursor(output)
    return cursor not in (None, "", False), cursor


def _cursor(output: dict[str, Any]) -> Any:
    for key in CURSOR_KEYS:
        if output.get(key) not in (None, ""):
            return output[key]
    paging = output.get("pagination") or output.get("paging") or output.get("meta")
    if isinstance(paging, dict):
        for key in CURSOR_KEYS:
            if paging.get(key) not in (None, ""):
                return paging[key]
    return None


_MISSING = object()


def _at_path(record: Any, parts: list[str]) -> Any:
    """The value at these keys of nested dicts, or `_MISSING`."""
    value = record
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def project(record: Any, fields: list[str]) -> Any:
    """The record with only these dot paths (missing paths are left out)."""
    if not isinstance(record, dict):
        return record
    out: dict[str, Any] = {}
    for path in fields:
        parts = path.split(".")
        value = _at_path(record, parts)
        if value is not _MISSING:
            target = out
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
    return out


def fields_not_found(output: Any, fields: list[str]) -> list[str]:
    """The `fields` paths that no record of the output has (a misspelling would otherwise read as no data)."""
    found = record_list(output)
    records = [r for r in (found.records if found is not None else [output]) if isinstance(r, dict)]
    if not records:
        return []
    return [path for path in fields if all(_at_path(r, path.split(".")) is _MISSING for r in records)]


def _record_id(record: Any) -> Any:
    if isinstance(record, dict):
        for key in ("id", "Id", "ID", "uuid", "key"):
            if key in record:
                return record[key]
    return record if isinstance(record, str | int) else None


def shape(output: Any, *, fields: list[str] | None, count_only: bool) -> tuple[Any, dict[str, Any] | None]:
    """The shaped output and, for a list-shaped one, its summary (records, more, cursor)."""
    found = record_list(output)
    if found is None:
        if fields and isinstance(output, dict):
            return project(output, fields), None
        return output, None
    more, cursor = app_says_more(output)
    summary: dict[str, Any] = {"records": len(found.records), "more": more}
    if cursor is not None:
        summary["cursor"] = cursor
    if count_only:
        counted: dict[str, Any] = {
            "count": len(found.records),
            "ids": [_record_id(r) for r in found.records[:IDS_SHOWN]],
        }
        if more:
            counted["note"] = "The app has more records: this counts one page. Pass the cursor for the next."
        return counted, summary
    records = [project(r, fields) for r in found.records] if fields else found.records
    if found.key is None:
        return records, summary
    return {**output, found.key: records}, summary


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8"))


def fitting_prefix(records: list[Any], wrap: Any, budget: int) -> int:
    """How many records from the start fit in `budget` bytes once wrapped (at least one when any)."""
    low, high = 1, len(records)
    while low < high:
        middle = (low + high + 1) // 2
        if _size(wrap(records[:middle])) <= budget:
            low = middle
        else:
            high = middle - 1
    return min(low, len(records))


@dataclass
class Held:
    session: str | None
    records: list[Any]
    position: int
    envelope: dict[str, Any]
    key: str | None


class Continuations:
    """The rest of over-the-cap results, by handle (bounded: the oldest go first)."""

    def __init__(self, kept: int = HANDLES_KEPT) -> None:
        self._held: OrderedDict[str, Held] = OrderedDict()
        self._kept = kept

    def hold(self, held: Held) -> str:
        handle = secrets.token_urlsafe(12)
        self._held[handle] = held
        while len(self._held) > self._kept:
            self._held.popitem(last=False)
        return handle

    def take(self, handle: str, session: str | None) -> Held | None:
        held = self._held.get(handle)
        if held is None or held.session != session:
            return None
        return held

    def drop(self, handle: str) -> None:
        self._held.pop(handle, None)


CONTINUATIONS = Continuations()


def sliced(
    output: Any, budget: int, session: str | None, store: Continuations = CONTINUATIONS
) -> tuple[Any, dict[str, Any] | None]:
    """The output cut to `budget` bytes at a record boundary, and the continuation when it was cut."""
    if _size(output) <= budget:
        return output, None
    found = record_list(output)
    if found is None or len(found.records) < 2:
        return output, None  # nothing to slice: the gateway's cap shortens it with a note
    envelope = output if isinstance(output, dict) else {}
    return _next_slice(Held(session, found.records, 0, envelope, found.key), budget, store)


def next_slice(
    handle: str, budget: int, session: str | None, store: Continuations = CONTINUATIONS
) -> tuple[Any, dict[str, Any] | None] | None:
    """The next slice held under `handle` (None when unknown, expired, or another session's)."""
    held = store.take(handle, session)
    if held is None:
        return None
    store.drop(handle)
    return _next_slice(held, budget, store)


def _wrap(held: Held, records: list[Any]) -> Any:
    return records if held.key is None else {**held.envelope, held.key: records}


def _next_slice(held: Held, budget: int, store: Continuations) -> tuple[Any, dict[str, Any] | None]:
    rest = held.records[held.position :]
    margin = 200  # room for the continuation note beside the output
    count = fitting_prefix(rest, lambda part: _wrap(held, part), budget - margin)
    start = held.position
    held.position += count
    note: dict[str, Any] = {"shown": f"{start + 1}-{start + count}", "total": len(held.records)}
    if held.position < len(held.records):
        note["handle"] = store.hold(held)
        # run_action even for a write's result: run_write_action takes no continuation (and re-runs nothing here).
        note["how"] = (
            "Call run_action {connection, action, continuation: <handle>} for the next slice (nothing is re-run)."
        )
    return _wrap(held, rest[:count]), note
