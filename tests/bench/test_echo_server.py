"""The echo server (the bench's floor) lists a given set of tools, so a listing of the same size is compared."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from bench import echo_server

pytestmark = pytest.mark.anyio

TOOLS = [
    {
        "name": "synth_000_get_asset",
        "title": "Synthetic 0: Get Asset",
        "description": "Gets one Synthetic Asset by its id.",
        "inputSchema": {
            "type": "object",
            "properties": {"id": {"type": "string", "description": "Id of the Assets record to get."}},
            "required": ["id"],
            "additionalProperties": False,
        },
        "annotations": {"readOnlyHint": True},
    },
    {
        "name": "vtiger_list_modules",
        "description": "Lists all Vtiger modules.",
        "inputSchema": {"type": "object", "properties": {}},
    },
]


async def test_echo_server_lists_exactly_the_tools_of_a_tools_file(tmp_path):
    path = tmp_path / "tools.json"
    path.write_text(json.dumps(TOOLS))
    async with Client(echo_server.build(0, path)) as client:
        listed = (await client.list_tools()).tools
        echoed = await client.call_tool("vtiger_list_modules", {"a": 1})
    assert [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in listed] == TOOLS
    assert echoed.structured_content == {"echo": {"a": 1}}


async def test_echo_server_without_a_file_lists_numbered_echo_tools():
    async with Client(echo_server.build(3)) as client:
        names = [tool.name for tool in (await client.list_tools()).tools]
    assert names == ["echo_0", "echo_1", "echo_2"]
