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


SchemaCache = dict[bytes, Any]
"""Decoded schemas by their JSON text: equal schemas of different actions become one shared object."""


@cache
def _action_page_decoder() -> msgspec.json.Decoder[Any]:
    import msgspec

    # The fields `Action` reads, schemas left undecoded (Raw); other fields (config, integration,
    # layer...) are skipped unread. `error` is kept for `Action.error_message`. Any: `Action` checks types.
    listed_action = msgspec.defstruct(
        "ListedAction",
        [
            ("id", Any),
            *((field, Any, None) for field, _ in _ACTION_FIELDS[1:]),
            ("input_schema", msgspec.Raw, msgspec.Raw()),
            ("output_schema", msgspec.Raw, msgspec.Raw()),
        ],
        rename="camel",
    )
    page = msgspec.defstruct("ActionPage", [("items", list[listed_action], []), ("cursor", Any, None)])  # type: ignore[valid-type]
    return msgspec.json.Decoder(page)


_ACTION_FIELDS = (
    ("id", "id"),
    ("key", "key"),
    ("name", "name"),
    ("description", "description"),
    ("type", "type"),
    ("integration_id", "integrationId"),
    ("integration_key", "integrationKey"),
    ("connection_id", "connectionId"),
    ("state", "state"),
    ("errors", "errors"),
    ("error", "error"),
    ("agent_session_id", "agentSessionId"),
    ("revision", "revision"),
    ("created_at", "createdAt"),
    ("updated_at", "updatedAt"),
)


def action_page(data: bytes, schemas: SchemaCache) -> dict[str, Any] | None:
    """A page of actions (`{items, cursor}`) decoded into the dicts `Page[Action]` validates, reading only
    the fields an `Action` has and decoding each distinct schema text once (`schemas` keeps them).

    None when the page has another shape (not an object, items not objects, no `id`...): the caller then
    reads it the general way, which accepts or rejects it as before.
    """
    import msgspec

    try:
        page = _action_page_decoder().decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    items = []
    for action in page.items:
        item = {
            alias: value for field, alias in _ACTION_FIELDS if (value := getattr(action, field)) is not None
        }
        for field, alias in (("input_schema", "inputSchema"), ("output_schema", "outputSchema")):
            raw = getattr(action, field)
            if raw:
                text = bytes(raw)
                if text not in schemas:
                    schemas[text] = loads(text)
                item[alias] = schemas[text]
        items.append(item)
    decoded: dict[str, Any] = {"items": items}
    if page.cursor is not None:
        decoded["cursor"] = page.cursor
    return decoded
