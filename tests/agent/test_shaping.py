"""Result shaping for any action through the MCP surface: fields, count_only, the list summary, and
continuation of a result over the cap without running the action again (Vtiger, 1CRM, Bigtincan)."""

from __future__ import annotations

import pytest

from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio


async def _run(client, connection: str, action: str, action_input: dict, **shaping):
    result = await client.call_tool(
        "run_action", {"connection": connection, "action": action, "input": action_input, **shaping}
    )
    assert not result.is_error, result.content
    return result.structured_content


@pytest.mark.parametrize(
    ("connection", "action", "action_input", "fields"),
    [
        ("vtiger", "query-records", {"query": "SELECT * FROM Contacts LIMIT 4;"}, ["id", "lastname"]),
        ("1crm", "list-cases", {"limit": 4}, ["id", "name", "status"]),
        ("bigtincan", "list-stories", {"limit": 4}, ["id", "title"]),
    ],
)
async def test_fields_and_count_only_on_a_list_action_of_each_app(
    sandbox, connection, action, action_input, fields
):
    async with connect(settings_for(sandbox)) as client:
        full = await _run(client, connection, action, action_input)
        projected = await _run(client, connection, action, action_input, fields=fields)
        counted = await _run(client, connection, action, action_input, count_only=True)
    records = full["output"]["records"]
    assert len(records) == 4 and len(records[0]) > len(fields)
    assert projected["output"]["records"] == [{f: r[f] for f in fields if f in r} for r in records]
    assert counted["output"]["count"] == 4
    assert counted["output"]["ids"] == [r["id"] for r in records]
    assert full["list"]["records"] == 4 and counted["list"]["records"] == 4
    # 1CRM and Bigtincan page with Membrane's cursor: more records exist; a Vtiger query says nothing of more.
    assert full["list"]["more"] is (connection != "vtiger")
    if connection != "vtiger":
        assert full["list"]["cursor"] == full["output"]["cursor"]
        assert "counts one page" in counted["output"]["note"]


async def test_a_result_over_the_cap_continues_without_running_the_action_again(fresh_sandbox):
    settings = settings_for(fresh_sandbox, max_output_bytes=4096)
    async with connect(settings) as client:
        whole = []
        first = await _run(client, "bigtincan", "list-stories", {"limit": 30})
        runs = sandbox_stats(fresh_sandbox)["actionRuns"]["total"]
        whole += first["output"]["records"]
        note = first["continuation"]
        assert first["list"] == {"records": 30, "more": True, "cursor": first["output"]["cursor"]}
        assert 0 < len(whole) < 30 and note["total"] == 30
        while "handle" in note:
            following = await _run(client, "bigtincan", "list-stories", {}, continuation=note["handle"])
            whole += following["output"]["records"]
            note = following["continuation"]
        used = await client.call_tool(
            "run_action",
            {
                "connection": "bigtincan",
                "action": "list-stories",
                "continuation": first["continuation"]["handle"],
            },
        )
        stories = await _run(client, "bigtincan", "list-stories", {"limit": 30}, fields=["id"])
    assert sandbox_stats(fresh_sandbox)["actionRuns"]["total"] == runs + 1  # the continuations ran nothing
    assert [r["id"] for r in whole] == [r["id"] for r in stories["output"]["records"]]
    assert used.is_error and "unknown or used up" in used.content[0].text
