"""Reading Membrane's answers with a byte limit, and cutting JSON at a record boundary.

A body is streamed and read up to ``limit`` bytes; past that the rest is dropped unread. A JSON body
cut this way is made valid again: it ends after the last complete element of the outermost list the
cut falls in (the records of a page), every open list and object is closed, and the innermost open
object gets a ``_truncated`` note saying how many records were kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

TRUNCATION_KEY = "_truncated"

_STRUCTURE = re.compile(r'["{}\[\],]')


@dataclass(frozen=True)
class LimitedBody:
    body: bytes
    cut: bool
    read: int


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> LimitedBody:
    """The first `limit` bytes of a stream; `cut` when more followed (they are not read)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        if size + len(chunk) > limit:
            parts.append(chunk[: limit - size])
            return LimitedBody(b"".join(parts), True, limit)
        parts.append(chunk)
        size += len(chunk)
    return LimitedBody(b"".join(parts), False, size)


@dataclass
class _Open:
    kind: str  # "{" or "["
    boundary: int  # cut here to keep exactly the complete members/elements so far
    complete: int = 0
    counted: bool = False  # the element just closed was counted already (a ',' follows it)


@dataclass
class CutJson:
    body: bytes
    records_kept: int | None
    note: str
    info: dict[str, Any] = field(default_factory=dict)


def cut_note(limit: int, kept: int | None) -> str:
    kept_text = f"the first {kept} record(s) of the list were kept" if kept is not None else "it was cut"
    return (
        f"Membrane's answer was larger than {limit} bytes (--max-response-bytes), so {kept_text}. "
        "Ask for fewer records (a smaller page, fewer fields or a narrower filter) to see the rest."
    )


def cut_json(prefix: bytes, limit: int) -> CutJson | None:
    """A valid JSON document from the first bytes of one; None when no element or member is complete."""
    text = prefix.decode("utf-8", errors="ignore")
    stack: list[_Open] = []
    position = 0
    while True:
        match = _STRUCTURE.search(text, position)
        if match is None:
            break
        char, index = match.group(), match.start()
        if char == '"':
            position = _string_end(text, index + 1)
            if position < 0:
                break  # cut inside a string
            continue
        position = index + 1
        if char in "{[":
            stack.append(_Open(char, index + 1))
        elif char == ",":
            if stack:
                top = stack[-1]
                if not top.counted:
                    top.complete += 1
                top.counted = False
                top.boundary = index
        else:
            if stack:
                stack.pop()
            if stack:
                parent = stack[-1]
                parent.complete += 1
                parent.counted = True
                parent.boundary = index + 1
    return _close(text, stack, limit)


def _string_end(text: str, start: int) -> int:
    """The index after the quote that closes the string starting at `start`; -1 if it is not closed.

    str.find, not a regular expression: a pattern repeated per character needs memory per character.
    """
    position = start
    while True:
        quote = text.find('"', position)
        if quote < 0:
            return -1
        backslashes = 0
        while quote - backslashes - 1 >= start and text[quote - backslashes - 1] == "\\":
            backslashes += 1
        if backslashes % 2 == 0:
            return quote + 1
        position = quote + 1


def _close(text: str, stack: list[_Open], limit: int) -> CutJson | None:
    depth = next((i for i, o in enumerate(stack) if o.kind == "[" and o.complete > 0), None)
    if depth is None:
        depth = next((i for i in range(len(stack) - 1, -1, -1) if stack[i].complete > 0), None)
    if depth is None:
        return None
    chosen = stack[depth]
    kept = chosen.complete if chosen.kind == "[" else None
    note = cut_note(limit, kept)
    info = {"note": note, "bytes_read": limit, **({"records_kept": kept} if kept is not None else {})}
    encoded_note = json.dumps(info, ensure_ascii=False)
    innermost_object = next((i for i in range(depth, -1, -1) if stack[i].kind == "{"), None)
    closing = []
    for i in range(depth, -1, -1):
        if stack[i].kind == "[":
            closing.append("]")
        else:
            # Every object above the cut has a complete member or the one holding the cut list.
            note_member = f',"{TRUNCATION_KEY}":{encoded_note}' if i == innermost_object else ""
            if i == depth and stack[i].complete == 0:
                note_member = note_member.lstrip(",")
            closing.append(note_member + "}")
    body = (text[: chosen.boundary] + "".join(closing)).encode("utf-8")
    return CutJson(body, kept, note, info)
