"""Snapshots of tool contracts (name, title, description, schemas, annotations).

Every meta tool, and per app the names of every tool it lists plus the full contract of a representative
set (`REPRESENTATIVE`): each kind of action and each shape of schema the app has, rather than all 209 1CRM
tools (their schemas are derived by one function from the app's data file, see membrane_sandbox/catalogs/).
A change shows up in review as a diff of tests/server/snapshots/*.json.
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

REPRESENTATIVE = {
    # Vtiger's eight actions take the module as a parameter: all of them.
    "vtiger": [
        "vtiger_query_records",
        "vtiger_retrieve_record",
        "vtiger_create_record",
        "vtiger_update_record",
        "vtiger_delete_record",
        "vtiger_describe_module",
        "vtiger_list_modules",
        "vtiger_get_current_user",
    ],
    # Record actions of one object (string ids), a settings singleton (no id), metadata objects, and
    # every app-specific operation but unlink (the same shape as link).
    "1crm": [
        "1crm_list_contacts",
        "1crm_get_contact",
        "1crm_create_contact",
        "1crm_update_contact",
        "1crm_delete_contact",
        "1crm_search_contacts",
        "1crm_get_system_settings",
        "1crm_update_system_settings",
        "1crm_list_layouts",
        "1crm_update_picklist",
        "1crm_global_search",
        "1crm_import_records",
        "1crm_export_records",
        "1crm_mass_update_records",
        "1crm_list_related_records",
        "1crm_link_records",
    ],
    # Record actions of one object (integer ids), an object with required references, the operation.
    "bigtincan": [
        "bigtincan_list_stories",
        "bigtincan_get_story",
        "bigtincan_create_story",
        "bigtincan_update_story",
        "bigtincan_delete_story",
        "bigtincan_search_stories",
        "bigtincan_create_story_content",
        "bigtincan_list_story_contents",
        "bigtincan_search_content",
    ],
}


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


def kind(tool: Any) -> tuple[Any, ...]:
    hints = tool.annotations
    return (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint)


@pytest.mark.parametrize("app", sorted(REPRESENTATIVE))
async def test_direct_mode_snapshot(sandbox, app):
    async with connect(settings_for(sandbox, tool_mode="direct", apps=[app])) as client:
        tools = (await client.list_tools()).tools
    app_tools = [tool for tool in tools if tool.name.startswith(f"{app}_")]
    chosen = [tool for tool in app_tools if tool.name in REPRESENTATIVE[app]]
    assert sorted(tool.name for tool in chosen) == sorted(REPRESENTATIVE[app]), (
        "a representative tool is gone"
    )
    # The representative set shows every kind of tool (by annotations) that the app lists.
    assert {kind(tool) for tool in chosen} == {kind(tool) for tool in app_tools}
    meta = [tool for tool in tools if not tool.name.startswith(f"{app}_")]
    check_snapshot(
        f"direct_{app}",
        {"listed": sorted(tool.name for tool in tools), "contracts": contract(meta + chosen)},
    )
