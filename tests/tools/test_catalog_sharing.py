"""What a loaded catalog shares between its entries instead of holding a copy per action (memory per
tenant), driven through the MCP client against the sandbox's synthetic apps, whose objects repeat
across apps. Structural properties only: no memory figure is asserted."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest

from membrane_mcp.tools.annotations import tool_annotations
from membrane_mcp.tools.catalog import ToolEntry
from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import RunningSandbox, seeded_sandbox
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.3, synthetic_connections=3)) as running:
        yield running


async def _entries(sandbox: RunningSandbox) -> list[ToolEntry]:
    async with connect(settings_for(sandbox, apps=["synth-*"], tool_mode="search")) as client:
        assert (await client.list_tools()).tools
        snapshot = await client.gateway.catalog.snapshot()  # type: ignore[attr-defined]
    return snapshot.entries


async def test_equal_keys_names_and_schemas_are_one_object_across_connections(sandbox) -> None:
    entries = await _entries(sandbox)
    by_key: dict[str, list[ToolEntry]] = defaultdict(list)
    for entry in entries:
        by_key[entry.action_key].append(entry)
    repeated = [same for same in by_key.values() if len({e.connection_id for e in same}) > 1]
    assert repeated, "the synthetic apps share objects, so some action keys repeat across connections"
    for same in repeated:
        first = same[0]
        for other in same[1:]:
            assert other.action_key is first.action_key
            if other.action_name == first.action_name:
                assert other.action_name is first.action_name
            if other.input_schema == first.input_schema:
                assert other.input_schema is first.input_schema


async def test_annotations_are_made_from_the_entry_not_kept(sandbox) -> None:
    entries = await _entries(sandbox)
    for entry in entries:
        assert "annotations" not in vars(entry)
        assert entry.annotations == tool_annotations(entry.kind, f"{entry.app_name}: {entry.action_name}")
