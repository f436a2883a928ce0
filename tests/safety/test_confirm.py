"""--confirm-destructive: the user confirms through MCP elicitation; nothing the model sends counts."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import types

from tests.safety.conftest import error_text
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

INPUT_KEY = "membrane-mcp/confirm"


class User:
    """An elicitation callback that answers like a user would, and remembers what it was asked."""

    def __init__(self, action: str = "accept", confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.asked: list[str] = []

    async def __call__(self, ctx: Any, params: types.ElicitRequestParams) -> types.ElicitResult:
        self.asked.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return types.ElicitResult(action=self.action, content=content)


def settings(running: Any, **overrides: Any) -> Any:
    return settings_for(running, apps=["vtiger"], confirm_destructive=True, tool_mode="direct", **overrides)


async def a_lead_id(client: Any) -> str:
    result = await client.call_tool(
        "run_action",
        {
            "connection": "vtiger",
            "action": "query-records",
            "input": {"query": "SELECT * FROM Leads LIMIT 1;"},
        },
    )
    return result.structured_content["output"]["records"][0]["id"]


def runs(running: Any) -> int:
    return sandbox_stats(running)["actionRuns"]["total"]


async def test_accepting_user_lets_the_delete_run(fresh_sandbox, mode):
    user = User()
    async with connect(settings(fresh_sandbox), mode, elicitation_callback=user) as client:
        lead = await a_lead_id(client)
        assert user.asked == []  # a read is never confirmed
        before = runs(fresh_sandbox)
        by_meta = await client.call_tool(
            "run_write_action", {"connection": "vtiger", "action": "delete-record", "input": {"id": lead}}
        )
        lead2 = await a_lead_id(client)
        by_tool = await client.call_tool("vtiger_delete_record", {"id": lead2})
    assert not by_meta.is_error, by_meta.content
    assert not by_tool.is_error, by_tool.content
    assert len(user.asked) == 2
    assert "delete-record" in user.asked[0] and lead in user.asked[0]
    assert runs(fresh_sandbox) == before + 3  # two deletes and the read between them


async def test_declining_user_stops_the_call(fresh_sandbox, mode):
    for action, ticked in (("decline", False), ("cancel", False), ("accept", False)):
        answer = User(action, confirm=ticked)
        async with connect(settings(fresh_sandbox), mode, elicitation_callback=answer) as client:
            before = runs(fresh_sandbox)
            result = await client.call_tool("vtiger_delete_record", {"id": "12x1"})
        assert "did not confirm; nothing was sent" in error_text(result), action
        assert len(answer.asked) == 1
        assert runs(fresh_sandbox) == before


async def test_client_without_elicitation_is_refused_with_the_reason(fresh_sandbox, mode):
    async with connect(settings(fresh_sandbox), mode) as client:
        before = runs(fresh_sandbox)
        by_tool = await client.call_tool("vtiger_delete_record", {"id": "12x1", "confirm": True})
        by_meta = await client.call_tool(
            "run_write_action",
            {"connection": "vtiger", "action": "delete-record", "input": {"id": "12x1", "confirm": True}},
        )
        read = await client.call_tool("vtiger_get_current_user", {})
    assert "Invalid arguments" in error_text(by_tool)  # a model-made 'confirm' is not even a valid argument
    assert "Invalid input" in error_text(by_meta)
    async with connect(settings(fresh_sandbox), mode) as client:
        plain = await client.call_tool("vtiger_delete_record", {"id": "12x1"})
    assert "does not support elicitation" in error_text(plain)
    assert "Nothing was sent" in error_text(plain)
    assert not read.is_error
    assert runs(fresh_sandbox) == before + 1  # the read only


async def test_raw_writes_are_confirmed_reads_are_not(fresh_sandbox, mode):
    user = User("decline")
    async with connect(settings(fresh_sandbox), mode, elicitation_callback=user) as client:
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        get = await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
        post = await client.call_tool(
            "raw_write_request",
            {"connection": "vtiger", "method": "POST", "path": "/create", "body": {"elementType": "Leads"}},
        )
    assert get.structured_content["status"] == 200
    assert "did not confirm" in error_text(post)
    assert len(user.asked) == 1 and "POST /create" in user.asked[0]
    after = sandbox_stats(fresh_sandbox)["proxyRequests"]
    assert after.get("GET", 0) == before.get("GET", 0) + 1
    assert after.get("POST", 0) == before.get("POST", 0)


async def test_mrtr_answers_need_the_state_the_server_sealed_for_this_call(fresh_sandbox):
    """2026-07-28: an answer the client makes up (no state, forged, replayed, other call) is not a confirmation."""
    yes = {INPUT_KEY: types.ElicitResult(action="accept", content={"confirm": True})}
    user = User()
    async with connect(settings(fresh_sandbox), "auto", elicitation_callback=user) as client:
        session = client.session
        before = runs(fresh_sandbox)

        async def raw_call(args: dict[str, Any], **kw: Any) -> Any:
            return await session.call_tool("vtiger_delete_record", args, allow_input_required=True, **kw)

        seeded = await raw_call({"id": "12x1"}, input_responses=yes)
        forged = await raw_call({"id": "12x1"}, input_responses=yes, request_state="e30.00")
        assert isinstance(seeded, types.InputRequiredResult) and isinstance(forged, types.InputRequiredResult)
        # A real state for one record does not confirm a delete of another.
        other = await raw_call({"id": "12x2"}, input_responses=yes, request_state=seeded.request_state)
        assert isinstance(other, types.InputRequiredResult)
        assert runs(fresh_sandbox) == before
        # The genuine round trip runs once; replaying it asks again.
        done = await raw_call({"id": "12x1"}, input_responses=yes, request_state=seeded.request_state)
        replay = await raw_call({"id": "12x1"}, input_responses=yes, request_state=seeded.request_state)
    assert isinstance(done, types.CallToolResult), done
    assert isinstance(replay, types.InputRequiredResult)
    assert runs(fresh_sandbox) == before + 1
