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


ACTION_PAGES = [
    # Every field an Action has, in the shapes the contract allows, plus fields it does not keep.
    b'{"items":[{"id":"a1","key":"list","name":"List","description":"d","type":"list-data-records",'
    b'"inputSchema":{"type":"object","properties":{"n":{"type":"integer","maximum":1e400}}},'
    b'"outputSchema":null,"integrationId":"i1","integrationKey":"k","connectionId":"c1","state":"READY",'
    b'"errors":[{"type":"internal","message":"m"}],"error":{"message":"old"},"agentSessionId":"s",'
    b'"revision":7,"createdAt":"t","updatedAt":"u","config":{},"layer":"connection","integration":{"id":"i1"}},'
    b'{"id":"a2","key":"","inputSchema":{"type":"object","properties":{"n":{"type":"integer","maximum":1e400}}}}],'
    b'"cursor":12}',
    b'{"items":[]}',
    b"{}",
    b'{"items":[{"id":"a3","name":"Zo\\u00eb","inputSchema":true}],"cursor":""}',
]


@pytest.mark.parametrize("document", ACTION_PAGES)
def test_an_action_page_reads_as_the_general_way_reads_it(document: bytes) -> None:
    from membrane_mcp.membrane.models import Action, Page

    schemas: json_codec.SchemaCache = {}
    fast = Page[Action].model_validate(json_codec.action_page(document, schemas))
    general = Page[Action].model_validate(json_codec.loads(document))
    fields = list(Action.model_fields)
    assert [a.model_dump(include=set(fields)) for a in fast.items] == [
        a.model_dump(include=set(fields)) for a in general.items
    ]
    assert fast.cursor == general.cursor
    assert [a.error_message for a in fast.items] == [a.error_message for a in general.items]


def test_equal_schemas_of_an_action_page_are_decoded_once_into_one_object() -> None:
    schemas: json_codec.SchemaCache = {}
    first = json_codec.action_page(ACTION_PAGES[0], schemas)
    again = json_codec.action_page(ACTION_PAGES[0], schemas)
    assert first is not None and again is not None
    assert first["items"][0]["inputSchema"] is first["items"][1]["inputSchema"]
    assert again["items"][0]["inputSchema"] is first["items"][0]["inputSchema"]
    assert first["items"][0]["inputSchema"]["properties"]["n"]["maximum"] == float("inf")


@pytest.mark.parametrize(
    "document",
    [b"[]", b'{"items":{"id":"a"}}', b'{"items":[{"key":"no id"}]}', b'{"items":["a"]}', b'{"items": ['],
)
def test_an_action_page_of_another_shape_is_left_to_the_general_way(document: bytes) -> None:
    assert json_codec.action_page(document, {}) is None
