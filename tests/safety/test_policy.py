"""--read-only, --allow-actions, --deny-actions, --deny-destructive, --no-raw-request through the MCP surface."""

from __future__ import annotations

import fnmatch
import re

import pytest
from mcp import types

from membrane_mcp.tools.annotations import ActionKind
from membrane_mcp.tools.gateway import UNKNOWN_TOOL_NEXT_STEP
from membrane_mcp.tools.meta import META_TOOL_NAMES
from membrane_mcp.tools.policy import Policy
from tests.safety.conftest import call_error, error_text
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

READ_ONLY_META = {
    "list_connections",
    "search_actions",
    "describe_action",
    "run_action",
    "raw_request",
    "get_run_log",
}
SMALL = ["vtiger", "bigtincan"]  # 1CRM's large catalog takes a second to load; most tests do not need it


def action_tools(tools: list[types.Tool]) -> dict[str, types.Tool]:
    return {t.name: t for t in tools if t.name not in META_TOOL_NAMES}


async def test_read_only_lists_only_read_tools(sandbox, mode):
    async with connect(settings_for(sandbox, read_only=True, tool_mode="direct"), mode) as client:
        tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    assert "create_action" not in names and "connect_app" not in names
    assert READ_ONLY_META <= names
    actions = action_tools(tools)
    assert len(actions) > 50  # the reads of all three apps are still there
    for tool in tools:
        assert tool.annotations.read_only_hint is True, tool.name
        assert not tool.annotations.destructive_hint, tool.name
    raw = next(t for t in tools if t.name == "raw_request")
    assert raw.input_schema["properties"]["method"]["enum"] == ["GET"]


async def test_without_read_only_the_same_catalog_has_writes(sandbox):
    async with connect(settings_for(sandbox, tool_mode="direct", apps=SMALL)) as client:
        tools = (await client.list_tools()).tools
    assert any(not (t.annotations and t.annotations.read_only_hint) for t in action_tools(tools).values())
    assert "vtiger_delete_record" in {t.name for t in tools}


async def test_read_only_hidden_tool_answers_like_an_unknown_one(sandbox, mode):
    hidden = [
        "vtiger_delete_record",
        "vtiger_update_record",
        "vtiger_create_record",
        "create_action",
        "connect_app",
    ]
    args = {"id": "12x1"}
    async with connect(settings_for(sandbox, read_only=True, tool_mode="direct", apps=SMALL), mode) as client:
        refused = [await call_error(client, name, args) for name in hidden]
    # The same names on a server where they truly do not exist (Vtiger not loaded, create_action removed).
    async with connect(
        settings_for(sandbox, apps=["bigtincan"], tool_mode="direct", read_only=True), mode
    ) as client:
        unknown = [await call_error(client, name, args) for name in hidden]
    for name, got, expected in zip(hidden, refused, unknown, strict=True):
        assert got.error.code == expected.error.code == types.INVALID_PARAMS
        assert (
            got.error.message == expected.error.message == f"Unknown tool: {name}. {UNKNOWN_TOOL_NEXT_STEP}"
        )
        assert got.error.data == expected.error.data


async def test_read_only_run_action_refuses_a_write_like_an_unknown_action(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, read_only=True, apps=SMALL)
    before = sandbox_stats(fresh_sandbox)["actionRuns"]["total"]
    async with connect(settings, mode) as client:
        hidden = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "delete-record", "input": {"id": "12x1"}}
        )
        unknown = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "no-such-action", "input": {"id": "12x1"}}
        )
        read = await client.call_tool(
            "run_action",
            {
                "connection": "vtiger",
                "action": "query-records",
                "input": {"query": "SELECT * FROM Leads LIMIT 1;"},
            },
        )

    # The same answer, except for the suggestions, which depend on the key typed and name only allowed actions.
    def without_suggestions(result, key):
        return re.sub(r" Did you mean: [^?]*\?", "", error_text(result)).split("\n")[0].replace(key, "X")

    assert without_suggestions(hidden, "delete-record") == without_suggestions(unknown, "no-such-action")
    suggested = hidden.structured_content.get("details", {}).get("did_you_mean", [])
    assert "delete-record" not in suggested
    assert all(key.startswith(("query-", "retrieve-", "describe-", "list-", "get-")) for key in suggested)
    assert not read.is_error
    assert sandbox_stats(fresh_sandbox)["actionRuns"]["total"] == before + 1  # only the read ran


async def test_read_only_search_offers_reads_only(sandbox, mode):
    async with connect(settings_for(sandbox, read_only=True, apps=SMALL), mode) as client:
        result = await client.call_tool("search_actions", {"query": "delete a record in vtiger", "limit": 50})
    hits = result.structured_content["results"]
    assert hits and all(hit["kind"] == "read" for hit in hits)
    assert not any(hit["key"] == "delete-record" for hit in hits)


async def test_read_only_raw_request_allows_get_refuses_post(fresh_sandbox, mode):
    async with connect(settings_for(fresh_sandbox, read_only=True, apps=SMALL), mode) as client:
        get = await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        post = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "POST", "path": "/create", "body": {"elementType": "Leads"}},
        )
    assert get.structured_content["status"] == 200
    assert "refuses POST in read-only mode" in error_text(post)
    assert sandbox_stats(fresh_sandbox)["proxyRequests"] == before


ALLOW_DENY_CASES = [
    # (settings, pattern every listed action matches, pattern no listed action matches)
    ({"allow_actions": ["vtiger:*"]}, "vtiger:*", "bigtincan:*"),
    ({"allow_actions": ["vtiger:*"], "deny_actions": ["vtiger:delete-*"]}, "vtiger:*", "vtiger:delete-*"),
    (
        {"allow_actions": ["vtiger:delete-record"], "deny_actions": ["vtiger:delete-record"]},
        "-",
        "*",
    ),  # deny wins
    ({"deny_actions": ["*:delete-*", "bigtincan:*"]}, "*", "bigtincan:*"),
    ({"deny_actions": ["*:delete-*"]}, "*", "*:delete-*"),
    ({"allow_actions": ["vtiger:*"], "read_only": True}, "vtiger:*", "vtiger:update-*"),
    ({"allow_actions": ["vtiger:*"], "deny_destructive": True}, "vtiger:*", "vtiger:delete-*"),
]


@pytest.mark.parametrize(("overrides", "all_match", "none_match"), ALLOW_DENY_CASES)
async def test_allow_and_deny_lists(sandbox, overrides, all_match, none_match):
    mode = "auto"  # the policy is era-independent; both eras are covered by the other tests
    settings = settings_for(sandbox, tool_mode="direct", apps=SMALL, **overrides)
    async with connect(settings, mode) as client:
        tools = action_tools((await client.list_tools()).tools)
        gateway = client.gateway
        snapshot = await gateway.catalog.get()
        listed = {e.name: f"{e.app_key}:{e.action_key}" for e in snapshot.entries if e.name in tools}
        hidden = [e for e in snapshot.entries if e.name not in tools]
        assert len(listed) == len(tools)
        assert all(fnmatch.fnmatchcase(q, all_match) for q in listed.values())
        assert not any(fnmatch.fnmatchcase(q, none_match) for q in listed.values())
        if overrides.get("deny_destructive") or overrides.get("read_only"):
            allowed = {"read"} if overrides.get("read_only") else {"read", "create"}
            assert {e.kind for e in snapshot.entries if e.name in tools} <= allowed
        # Every hidden action is refused by name and through run_action, like an unknown one.
        sample = hidden[0]
        refused = await call_error(client, sample.name, {})
        assert refused.error.message == f"Unknown tool: {sample.name}. {UNKNOWN_TOOL_NEXT_STEP}"
        run = await client.call_tool(
            "run_action", {"connection": sample.connection_id, "action": sample.action_key}
        )
        assert error_text(run).startswith(f"No action '{sample.action_key}' on connection")


async def test_deny_wins_over_allow_in_run_action(fresh_sandbox, mode):
    settings = settings_for(
        fresh_sandbox, allow_actions=["vtiger:*"], deny_actions=["vtiger:delete-record"], apps=SMALL
    )
    before = sandbox_stats(fresh_sandbox)["actionRuns"]["total"]
    async with connect(settings, mode) as client:
        result = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "delete-record", "input": {"id": "12x1"}}
        )
        other_app = await client.call_tool("run_action", {"connection": "bigtincan", "action": "list-users"})
    assert error_text(result).startswith("No action 'delete-record'")
    assert error_text(other_app).startswith("No action 'list-users'")
    assert sandbox_stats(fresh_sandbox)["actionRuns"]["total"] == before


async def test_deny_destructive_keeps_creates_and_limits_raw(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, deny_destructive=True, tool_mode="direct", apps=["vtiger"])
    async with connect(settings, mode) as client:
        tools = (await client.list_tools()).tools
        before = sandbox_stats(fresh_sandbox)
        deleted = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": "DELETE", "path": "/delete"}
        )
        built = await call_error(
            client, "create_action", {"connection": "vtiger", "description": "delete every lead"}
        )
        after = sandbox_stats(fresh_sandbox)
    names = {t.name for t in tools}
    assert {"vtiger_create_record", "vtiger_query_records"} <= names
    assert not names & {"vtiger_delete_record", "vtiger_update_record", "create_action"}
    assert "refuses DELETE" in error_text(deleted)
    assert (
        built.error.message == f"Unknown tool: create_action. {UNKNOWN_TOOL_NEXT_STEP}"
    )  # hidden like an unknown tool
    assert after["proxyRequests"] == before["proxyRequests"] and after["builds"] == before["builds"]


RAW_WRITES = [
    ({"deny_actions": ["vtiger:delete-*"]}, "POST", "/delete", {"id": "12x1"}),
    ({"allow_actions": ["vtiger:query-*"]}, "POST", "/create", {"elementType": "Leads"}),
    ({"allow_actions": ["vtiger:*"], "deny_actions": ["vtiger:update-*"]}, "POST", "/update", {"id": "12x1"}),
]


@pytest.mark.parametrize(("overrides", "method", "path", "body"), RAW_WRITES)
async def test_action_lists_limit_raw_request_to_reads(fresh_sandbox, overrides, method, path, body):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], **overrides)
    async with connect(settings) as client:
        raw = next(t for t in (await client.list_tools()).tools if t.name == "raw_request")
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        write = await client.call_tool(
            "raw_request", {"connection": "vtiger", "method": method, "path": path, "body": body}
        )
        after = sandbox_stats(fresh_sandbox)["proxyRequests"]
        read = await client.call_tool("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"})
    assert raw.input_schema["properties"]["method"]["enum"] == ["GET"]
    assert f"refuses {method}; allowed methods: GET" in error_text(write)
    assert after == before
    assert read.structured_content["status"] == 200


async def test_raw_methods_widen_raw_writes_under_lists_with_a_warning(fresh_sandbox, caplog):
    settings = settings_for(
        fresh_sandbox, apps=["vtiger"], deny_actions=["vtiger:delete-*"], raw_methods=["GET", "POST"]
    )
    with caplog.at_level("WARNING"):
        async with connect(settings) as client:
            posted = await client.call_tool(
                "raw_write_request",
                {"connection": "vtiger", "method": "POST", "path": "/create",
                 "body": {"elementType": "Leads", "element": {"lastname": "Raw", "company": "Acme"}}},
            )  # fmt: skip
    assert posted.structured_content["status"] == 200, posted.content
    assert sandbox_stats(fresh_sandbox)["proxyRequests"].get("POST") == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("raw writes are outside" in w and "POST" in w for w in warnings), warnings


@pytest.mark.parametrize(
    ("overrides", "offered"),
    [
        ({}, True),
        ({"allow_actions": ["vtiger:*"]}, False),
        ({"deny_actions": ["*:delete-*"]}, False),
        ({"deny_actions": ["*:delete-*"], "allow_create_action": True}, True),
        ({"deny_destructive": True, "allow_create_action": True}, False),
        ({"read_only": True, "allow_create_action": True}, False),
    ],
)
async def test_create_action_follows_the_policy(fresh_sandbox, overrides, offered):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], **overrides)
    args = {"connection": "vtiger", "description": "list the leads created today", "timeout_s": 10}
    async with connect(settings) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        if offered:
            result = await client.call_tool("create_action", args)
            assert not result.is_error, result.content
        else:
            refused = await call_error(client, "create_action", args)
            assert refused.error.message == f"Unknown tool: create_action. {UNKNOWN_TOOL_NEXT_STEP}"
    assert ("create_action" in names) is offered
    builds = sandbox_stats(fresh_sandbox)["builds"]
    assert sum(builds.values()) == (1 if offered else 0)


async def test_no_raw_request_removes_the_tool(sandbox, mode):
    async with connect(settings_for(sandbox, no_raw_request=True, apps=SMALL), mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await call_error(
            client, "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
        )
    assert "raw_request" not in names
    assert refused.error.code == types.INVALID_PARAMS
    assert refused.error.message == f"Unknown tool: raw_request. {UNKNOWN_TOOL_NEXT_STEP}"


@pytest.mark.parametrize(
    "policy",
    [
        Policy(),
        Policy(read_only=True),
        Policy(allow_actions=("vtiger:*",)),
        Policy(deny_actions=("*:delete-*",)),
        Policy(deny_destructive=True),
        Policy(raw_request_enabled=False, confirm_destructive=True),  # rules that keep every action
    ],
)
def test_allows_every_action_exactly_when_no_rule_removes_one(policy: Policy) -> None:
    """Catalog views skip asking `allows_action` for each entry when the policy says none is removed."""
    kinds: tuple[ActionKind, ...] = ("read", "create", "update", "delete", "write")
    verdicts = [
        policy.allows_action(app, key, kind)
        for app in ("vtiger", "1crm")
        for key in ("query-records", "delete-record")
        for kind in kinds
    ]
    assert policy.allows_every_action == all(verdicts)
