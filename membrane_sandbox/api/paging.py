"""Cursor paging: ``limit`` 1..max and an opaque ``cursor``; ``cursor=0`` is the first page."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import QueryParams

from .errors import bad_request

_PREFIX = "sbx1:"


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"{_PREFIX}{offset}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int:
    # The SDK's findAll starts with cursor "0"; an empty cursor also means "from the start".
    if cursor is None or cursor in ("", "0"):
        return 0
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        if not text.startswith(_PREFIX):
            raise ValueError(text)
        offset = int(text[len(_PREFIX) :])
        if offset < 0:
            raise ValueError(offset)
    except ValueError as exc:
        raise bad_request("Invalid cursor", {"fields": {"cursor": "not a cursor this API returned"}}) from exc
    return offset


def parse_limit(query: QueryParams, *, default: int, maximum: int) -> int:
    raw = query.get("limit")
    if raw is None or raw == "":
        return default
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= maximum:
        raise bad_request(
            f"limit must be an integer from 1 to {maximum}",
            {"fields": {"limit": f"must be an integer from 1 to {maximum}"}},
        )
    return limit


def page(
    items: Sequence[Any], query: QueryParams, *, default_limit: int = 100, max_limit: int = 1000
) -> dict:
    limit = parse_limit(query, default=default_limit, maximum=max_limit)
    offset = decode_cursor(query.get("cursor"))
    chunk = list(items[offset : offset + limit])
    body: dict[str, Any] = {"items": chunk}
    if offset + limit < len(items):
        body["cursor"] = encode_cursor(offset + limit)
    return body
