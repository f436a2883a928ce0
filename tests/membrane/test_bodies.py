"""Cutting a JSON prefix at a record boundary (membrane/bodies.py)."""

from __future__ import annotations

import json

import pytest

from membrane_mcp.membrane.bodies import cut_json, read_limited

pytestmark = pytest.mark.anyio

PAGE = {
    "output": {
        "records": [{"id": i, "text": 'quote \\" and \\\\ ' * 3, "tags": ["a", "b"]} for i in range(10)],
        "cursor": "100",
    },
    "actionRunId": "run-1",
}
RAW = json.dumps(PAGE).encode()


@pytest.mark.parametrize("size", range(RAW.index(b'"id": 1'), RAW.index(b'}], "cursor"'), 37))
def test_every_prefix_becomes_valid_json_with_whole_records(size):
    cut = cut_json(RAW[:size], size)
    assert cut is not None
    output = json.loads(cut.body)["output"]
    assert output["records"] == PAGE["output"]["records"][: cut.records_kept]
    assert output["_truncated"]["records_kept"] == cut.records_kept
    assert output["_truncated"]["bytes_read"] == size


def test_a_top_level_list_and_unusable_prefixes():
    rows = json.dumps([{"a": "é" * 5}, {"a": 2}, {"a": 3}]).encode()
    cut = cut_json(rows[:-5], len(rows) - 5)
    assert cut is not None and json.loads(cut.body) == [{"a": "é" * 5}, {"a": 2}]
    assert cut_json(b'{"output": {"records": [{"id": "12', 40) is None
    assert cut_json(b'"just a long string', 20) is None


async def test_read_limited_stops_at_the_limit():
    async def chunks():
        for _ in range(100):
            yield b"x" * 1000

    limited = await read_limited(chunks(), 2500)
    assert limited.cut and limited.body == b"x" * 2500 and limited.read == 2500
