"""Two connections of one app share integration-level action ids; each connection's tool stays its own."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


async def _second_vtiger_connection(url: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient() as http:
        created = await http.post(
            f"{url}/connections", json={"connectorKey": "vtiger", "name": "Vtiger EU"}, headers=headers
        )
        created.raise_for_status()
        connection: dict[str, Any] = created.json()
        (await http.get(connection["clientAction"]["uiUrl"])).raise_for_status()
    return connection


async def test_each_connection_names_its_own_tool_for_a_shared_action(fresh_sandbox):
    second = await _second_vtiger_connection(fresh_sandbox.url, fresh_sandbox.token)
    settings = settings_for(fresh_sandbox, apps=["vtiger"], tool_mode="direct")
    async with connect(settings) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        listed = (await client.call_tool("list_connections", {})).structured_content["connections"]
        ids = [c["id"] for c in listed if c["app"] == "vtiger"]
        described = {
            cid: (
                await client.call_tool("describe_action", {"connection": cid, "action": "get-current-user"})
            ).structured_content
            for cid in ids
        }
    assert second["id"] in ids and len(ids) == 2
    names = {cid: d["tool"] for cid, d in described.items()}
    assert len(set(names.values())) == 2, names  # one tool per connection, not the other's
    for cid, name in names.items():
        assert name in tools
        connection_name = next(c["name"] for c in listed if c["id"] == cid)
        assert f"connection '{connection_name}'" in (tools[name].description or "")
    counts = {c["id"]: c["tools"] for c in listed if c["app"] == "vtiger"}
    assert counts[ids[0]] == counts[ids[1]] > 0
