"""The collector is paused while a catalog loads, and a serving process's first load is frozen."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest

from membrane_mcp import gc_tuning
from membrane_mcp.membrane.client import MembraneClient
from tests.server.conftest import connect, settings_for

pytestmark = pytest.mark.anyio


@pytest.fixture
def collector_restored() -> Iterator[None]:
    threshold, enabled = gc.get_threshold(), gc.isenabled()
    yield
    gc.set_threshold(*threshold)
    gc.unfreeze()
    gc.enable() if enabled else gc.disable()
    gc_tuning._freeze_after_load = False


def test_overlapping_pauses_resume_collection_after_the_last(collector_restored: None) -> None:
    gc.enable()
    first, second = gc_tuning.collection_paused(), gc_tuning.collection_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # loads of two tenants need not end in the order they began
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_collector_disabled_before_stays_disabled(collector_restored: None) -> None:
    gc.disable()
    with gc_tuning.collection_paused():
        pass
    assert not gc.isenabled()


def test_a_failed_load_resumes_collection(collector_restored: None) -> None:
    gc.enable()
    with pytest.raises(RuntimeError), gc_tuning.collection_paused():
        raise RuntimeError("Membrane unreachable")
    assert gc.isenabled()


async def test_tools_list_loads_the_catalog_with_collection_paused_then_freezes_it_once(
    sandbox: Any, monkeypatch: pytest.MonkeyPatch, collector_restored: None
) -> None:
    gc.enable()
    gc.unfreeze()
    gc_tuning.tune_for_serving()
    collector_on_during_listing: list[bool] = []
    list_actions = MembraneClient.list_actions

    async def observed(self: MembraneClient, *args: Any, **kwargs: Any) -> Any:
        collector_on_during_listing.append(gc.isenabled())
        return await list_actions(self, *args, **kwargs)

    monkeypatch.setattr(MembraneClient, "list_actions", observed)
    async with connect(settings_for(sandbox, tool_mode="direct")) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) > 10
        assert collector_on_during_listing and not any(collector_on_during_listing)
        assert gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen > 0  # the first load's heap, out of the collector's sight
        await client.gateway.catalog.get(refresh=True)  # type: ignore[attr-defined]
        assert gc.isenabled()
        assert gc.get_freeze_count() <= frozen  # a reload is not frozen (the first one is freed as it goes)
