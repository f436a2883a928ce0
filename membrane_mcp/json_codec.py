"""JSON for the catalog load and Membrane's answers: orjson, with the standard library as the fallback.

A page of 50 actions is ~100 KB of JSON; `json.loads` took 1.7 ms on it and keying each schema for
interning with `json.dumps` another 2 ms, together the largest CPU item of a cold catalog load. orjson
does both 2-20x faster. It is stricter than the standard library (no NaN/Infinity literals, integers up to
64 bits), so a document it refuses is read again with `json`, which accepts every shape it did before.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def loads(data: bytes | str) -> Any:
    """Decode like `json.loads` (raising its `ValueError` on invalid JSON), faster on the common case."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def identity_key(value: Any) -> bytes | None:
    """Compact JSON of `value` in its own key order, to tell equal documents apart; None if not JSON."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError is a TypeError: a non-JSON value, a cycle, a huge integer
        return None
