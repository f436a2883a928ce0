"""A loaded catalog is left out of later garbage collections (issue 17, warm tools/list).

Every warm list of a big catalog makes the SDK's serialiser allocate enough to trigger full collections;
they must not walk the catalog each time (bench figure 2 measures the effect; here only the mechanism).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.sandboxes import seeded_sandbox
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.3)) as running:
        yield running


async def test_the_catalog_a_list_loads_is_frozen_out_of_garbage_collection(sandbox):
    gc.unfreeze()  # whatever earlier tests froze
    async with connect(settings_for(sandbox, tool_mode="direct", apps=["vtiger"])) as client:
        tools = (await client.list_tools()).tools
        snapshot = client.gateway.catalog.cached  # type: ignore[attr-defined]
        collected = {id(obj) for obj in gc.get_objects()}  # what collections walk: frozen objects are not
    assert snapshot is not None and len(tools) > len(snapshot.entries) > 0
    assert gc.get_freeze_count() > 0
    for entry in snapshot.entries:
        assert id(entry.input_schema) not in collected, entry.name
        assert id(snapshot.by_name) not in collected
