"""JSON for the catalog load and Membrane's answers: msgspec, with the standard library as the fallback.

A page of 50 actions is ~100 KB of JSON; `json.loads` took 1.7 ms on it and keying each schema for
interning with `json.dumps` another 2 ms, together the largest CPU item of a cold catalog load. msgspec
does both 2-20x faster and, unlike orjson, keeps integers past 64 bits exact. It is stricter than the
standard library (no NaN/Infinity literals, no lone surrogates, no UTF-16), so a document it refuses is
read again with `json`, which accepts every shape it did before.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import msgspec


@cache
def _msgspec() -> tuple[msgspec.json.Decoder[Any], msgspec.json.Encoder, type[Exception]]:
    import msgspec  # at the first answer, not at start-up (~15 ms of imports)

    return msgspec.json.Decoder(), msgspec.json.Encoder(), msgspec.DecodeError


def loads(data: bytes | str) -> Any:
    """Decode like `json.loads` (raising its `ValueError` on invalid JSON), faster on the common case."""
    decoder, _, decode_error = _msgspec()
    try:
        return decoder.decode(data)
    except decode_error:
        return json.loads(data)


def identity_key(value: Any) -> bytes | None:
    """Compact JSON of a decoded document in its own key order, to tell equal ones apart; None if it
    holds something JSON cannot (not from a decoder: such a value is simply not shared)."""
    try:
        return _msgspec()[1].encode(value)
    except (TypeError, ValueError, OverflowError):
        return None
