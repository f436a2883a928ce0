"""Compact discovery through the MCP surface: search hits are cards, the top hit has its schema,
describe_action gives one action in full, reads and writes rank by the question's shape, and a word the
catalog doesn't have is named with the nearest objects."""

from __future__ import annotations

import json

import pytest

from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


def _text_bytes(result) -> int:
    return sum(len(block.text.encode("utf-8")) for block in result.content if block.type == "text")


async def _search(client, query: str, **extra):
    result = await client.call_tool("search_actions", {"query": query, **extra})
    assert not result.is_error, result.content
    return result, result.structured_content


@pytest.mark.parametrize(
    "query",
    ["list cases of an account", "count the stories in a bigtincan space", "how many contacts are in vtiger"],
)
async def test_a_read_question_with_limit_5_returns_under_3_kb(sandbox, query):
    async with connect(settings_for(sandbox)) as client:
        result, payload = await _search(client, query, limit=5)
    assert len(payload["results"]) == 5
    assert _text_bytes(result) < 3 * 1024, _text_bytes(result)


async def test_hits_are_cards_and_only_the_top_hit_carries_its_schema(sandbox):
    async with connect(settings_for(sandbox)) as client:
        _, payload = await _search(client, "update an account in 1crm", limit=4)
        _, every = await _search(client, "update an account in 1crm", limit=4, schemas=True)
    top, *rest = payload["results"]
    assert top["key"] == "update-account" and top["kind"] == "write"
    assert top["required"] == {"id": "string"}
    assert "phone_office" in top["optional"]
    assert "phone_office" in top["input_schema"]["properties"]
    assert rest and all("input_schema" not in hit for hit in rest)
    assert all("input_schema" in hit for hit in every["results"])
    assert all(len(hit["description"]) <= 110 for hit in payload["results"])


async def test_describe_action_returns_one_actions_full_schema_without_repeats(sandbox):
    async with connect(settings_for(sandbox)) as client:
        result = await client.call_tool(
            "describe_action", {"connection": "vtiger", "action": "create-record"}
        )
        unknown = await client.call_tool(
            "describe_action", {"connection": "vtiger", "action": "create-recrod"}
        )
    payload = result.structured_content
    element_type = payload["input_schema"]["properties"]["elementType"]
    assert "Contacts" in element_type["enum"]
    # The module list is the enum; the prose no longer names every module again.
    assert "Leads (Leads)" not in element_type.get("description", "")
    assert payload["kind"] == "write" and payload["key"] == "create-record"
    assert unknown.is_error and "create-record" in unknown.content[0].text


async def test_reads_rank_above_writes_for_a_question_and_writes_above_reads_for_a_request(sandbox):
    async with connect(settings_for(sandbox)) as client:
        _, read = await _search(client, "show cases in 1crm", limit=6)
        _, write = await _search(client, "change a case in 1crm", limit=6)
    read_kinds = [hit["kind"] for hit in read["results"] if "case" in hit["key"]]
    write_kinds = [hit["kind"] for hit in write["results"] if "case" in hit["key"]]
    assert read_kinds[: read_kinds.count("read")] == ["read"] * read_kinds.count("read"), read_kinds
    assert write_kinds[0] == "write" and write["results"][0]["key"] == "update-case", write_kinds
    assert write_kinds.index("read") > write_kinds.index("write")


async def test_a_word_no_action_has_is_named_with_the_nearest_objects(sandbox):
    async with connect(settings_for(sandbox)) as client:
        _, payload = await _search(client, "list channels in bigtincan", limit=3)
        _, known = await _search(client, "list spaces in bigtincan", limit=3)
    notes = payload["no_match"]
    assert len(notes) == 1 and "'channels'" in notes[0] and "spaces" in notes[0], notes
    assert "no_match" not in known
    assert json.dumps(payload).count("channels") == 1  # said once, not echoed per hit
