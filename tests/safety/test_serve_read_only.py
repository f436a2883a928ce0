"""`membrane-mcp serve --sandbox --read-only`, as a host would start it (stdio subprocess)."""

from __future__ import annotations

import os
import sys

import pytest
from mcp import Client, StdioServerParameters

pytestmark = pytest.mark.anyio

READ_ONLY_META = {"list_connections", "search_actions", "run_action", "raw_request"}


async def test_serve_sandbox_read_only(tmp_path):
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "membrane_mcp", "serve", "--sandbox", "--read-only", "--tool-mode", "direct",
              "--sandbox-db", str(tmp_path / "sandbox.sqlite3")],
        env={"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)},
    )  # fmt: skip
    async with Client(params, mode="legacy") as client:
        tools = (await client.list_tools()).tools
        delete = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "delete-record", "input": {"id": "12x1"}}
        )
        post = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "POST", "path": "/create", "body": {"elementType": "Leads"}},
        )
    writable = [t.name for t in tools if not (t.annotations and t.annotations.read_only_hint)]
    assert writable == []
    assert READ_ONLY_META <= {t.name for t in tools} and len(tools) > 100
    assert delete.is_error and delete.content[0].text.startswith("No action 'delete-record' on connection")
    assert post.is_error and "refuses POST in read-only mode" in post.content[0].text
