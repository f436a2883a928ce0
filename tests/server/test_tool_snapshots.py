"""Snapshots of every tool's contract (name, title, description, schemas, annotations).

A change to any tool shows up in review as a diff of tests/server/snapshots/*.json.
After an intended change, regenerate with: UPDATE_SNAPSHOTS=1 python -m pytest tests/server/test_tool_snapshots.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio

SNAPSHOTS = Path(__file__).parent / "snapshots"


def contract(tools: list[Any]) -> list[dict[str, Any]]:
    return [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"meta"})
        for tool in sorted(tools, key=lambda t: t.name)
    ]


def check_snapshot(name: str, value: Any) -> None:
    path = SNAPSHOTS / f"{name}.json"
    text = json.dumps(value, indent=1, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        if os.environ.get("UPDATE_SNAPSHOTS") != "1":
            pytest.fail(f"snapshot {path.name} was missing and has been written; review and commit it")
        return
    assert json.loads(path.read_text(encoding="utf-8")) == value, (
        f"tool contract drift in {path.name}; if intended, rerun with UPDATE_SNAPSHOTS=1 and review the diff"
    )


async def test_meta_tools_snapshot(sandbox):
    async with connect(settings_for(sandbox, tool_mode="search")) as client:
        check_snapshot("meta_tools", contract((await client.list_tools()).tools))


@pytest.mark.parametrize("app", ["vtiger", "1crm", "bigtincan"])
async def test_direct_mode_snapshot(sandbox, app):
    async with connect(settings_for(sandbox, tool_mode="direct", apps=[app])) as client:
        tools = (await client.list_tools()).tools
    check_snapshot(f"direct_{app}", contract(tools))
