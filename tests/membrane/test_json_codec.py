"""Membrane's answers decode as the standard library would, whatever orjson refuses."""

from __future__ import annotations

import json

import pytest

from membrane_mcp import json_codec


@pytest.mark.parametrize(
    "document",
    [
        b'{"items":[{"id":"a1","inputSchema":{"type":"object"}}],"cursor":"2"}',
        b'{"count": 123456789012345678901234567890}',  # past 64 bits: orjson refuses, json reads it
        b'{"score": NaN, "limit": Infinity}',  # not JSON, but the standard library reads it
        '{"name": "Zoë"}'.encode("utf-16"),  # a BOM-marked encoding json detects
        b"[]",
    ],
)
def test_loads_matches_the_standard_library(document: bytes) -> None:
    assert json.dumps(json_codec.loads(document)) == json.dumps(json.loads(document))


def test_invalid_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        json_codec.loads(b'{"items": [')


def test_identity_key_tells_equal_documents_apart_in_their_own_order() -> None:
    assert json_codec.identity_key({"a": 1, "b": [2]}) == json_codec.identity_key({"a": 1, "b": [2]})
    assert json_codec.identity_key({"a": 1, "b": 2}) != json_codec.identity_key({"b": 2, "a": 1})
    assert json_codec.identity_key({"a": object()}) is None  # not JSON: not interned
