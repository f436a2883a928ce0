"""What an agent trips on when it plays the seed workflows (search, connect, run, create, raw) through the
MCP surface, and what it reads instead: each test is a wrong step a model makes, and the one-line answer
that names the problem and the next step."""

from __future__ import annotations

import pytest
from mcp.shared.exceptions import MCPError

from membrane_sandbox.config import SandboxConfig
from tests.reliability.conftest import connect_fast, no_faults, set_faults
from tests.sandboxes import seeded_sandbox
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio


def _text(result) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


async def test_search_takes_the_app_by_name_in_any_case_and_names_the_apps_for_an_unknown_one(sandbox):
    async with connect(settings_for(sandbox)) as client:
        by_name = await client.call_tool("search_actions", {"query": "list contacts", "app": "1CRM"})
        by_key = await client.call_tool("search_actions", {"query": "list contacts", "app": "1crm"})
        misspelt = await client.call_tool("search_actions", {"query": "list contacts", "app": "vtigr"})
    keys = [hit["key"] for hit in by_name.structured_content["results"]]
    assert keys and keys == [hit["key"] for hit in by_key.structured_content["results"]]
    assert {hit["app"] for hit in by_name.structured_content["results"]} == {"1crm"}
    # Not an empty result that reads as "no such action": the filter itself is named.
    assert misspelt.is_error
    assert _text(misspelt).startswith(
        "No connected app 'vtigr'. Did you mean: vtiger? Apps: 1crm, bigtincan, vtiger"
    )


async def test_the_search_hint_names_a_hit_tool_only_when_hits_have_one(sandbox):
    query = {"query": "get current user", "app": "vtiger"}
    async with connect(settings_for(sandbox, tool_mode="search")) as client:
        searched = (await client.call_tool("search_actions", query)).structured_content
    async with connect(settings_for(sandbox, tool_mode="direct", apps=["vtiger"])) as client:
        direct = (await client.call_tool("search_actions", query)).structured_content
    assert not any("tool" in hit for hit in searched["results"])
    assert "tool" not in searched["hint"] and "run_action" in searched["hint"]
    assert all("tool" in hit for hit in direct["results"])
    assert "the hit's tool" in direct["hint"]


async def test_an_action_tool_name_in_search_mode_says_how_to_run_it(fresh_sandbox):
    async with connect(settings_for(fresh_sandbox, tool_mode="search")) as client:
        before = sandbox_stats(fresh_sandbox)["actionRuns"]["total"]
        guessed = await client.call_tool("vtiger_get_current_user", {})
        write = await client.call_tool("vtiger_delete_record", {"id": "12x1"})
        after = sandbox_stats(fresh_sandbox)["actionRuns"]["total"]
        told = guessed.structured_content["details"]["use"]
        ran = await client.call_tool(told, {"connection": "vtiger", "action": "get-current-user"})
        with pytest.raises(MCPError, match="Unknown tool: vtiger_no_such_action"):
            await client.call_tool("vtiger_no_such_action", {})
    assert guessed.is_error and write.is_error and after == before  # nothing ran
    assert _text(guessed).startswith(
        "vtiger_get_current_user is not a listed tool; nothing was sent. Run it with run_action "
        "{connection: 'vtiger', action: 'get-current-user', input}."
    )
    assert "run_write_action {connection: 'vtiger', action: 'delete-record'" in _text(write)
    assert not ran.is_error and ran.structured_content["output"]["user_name"] == "admin"


async def test_a_bogus_run_id_or_request_id_points_at_where_real_ones_come_from(sandbox):
    async with connect(settings_for(sandbox)) as client:
        log = await client.call_tool("get_run_log", {"run_id": "bogus"})
        request = await client.call_tool("connect_app", {"app": "vtiger", "request_id": "bogus"})
    assert log.is_error and request.is_error
    assert "actionRunId" in _text(log) and "list_connections" not in _text(log)
    assert "connect_app without request_id" in _text(request) and "search_actions" not in _text(request)


async def test_fields_that_match_nothing_are_named_not_silently_dropped(sandbox):
    one = {"connection": "vtiger", "action": "get-current-user", "fields": ["user_name", "usrname"]}
    page = {
        "connection": "1crm",
        "action": "list-contacts",
        "input": {"limit": 2},
        "fields": ["first_name", "address.nope"],
    }
    async with connect(settings_for(sandbox)) as client:
        record = (await client.call_tool("run_action", one)).structured_content
        listed = (await client.call_tool("run_action", page)).structured_content
        every = await client.call_tool("run_action", {**one, "fields": ["user_name"]})
    assert record["output"] == {"user_name": "admin"} and record["fields_not_found"] == ["usrname"]
    assert listed["fields_not_found"] == ["address.nope"]
    assert "fields_not_found" not in every.structured_content


async def test_a_direct_tool_converts_a_numeric_string_like_run_action_and_says_so(sandbox):
    async with connect(settings_for(sandbox, tool_mode="direct", apps=["bigtincan"])) as client:
        result = await client.call_tool("bigtincan_list_stories", {"limit": "2"})
    assert not result.is_error, _text(result)
    assert len(result.structured_content["records"]) == 2
    assert [block.text for block in result.content[1:]] == [
        "converted: limit: the string '2' was read as the integer 2"
    ]


async def test_a_write_whose_outcome_is_unknown_names_tools_not_rest_endpoints(faulty_sandbox):
    args = {
        "connection": "vtiger",
        "action": "create-record",
        "input": {"elementType": "Accounts", "element": {"accountname": "walkthrough"}},
    }
    async with connect_fast(faulty_sandbox, apps=["vtiger"]) as client:
        await client.call_tool("list_connections", {})
        set_faults(faulty_sandbox, fault_rate=1)
        write = await client.call_tool("run_write_action", args)
        no_faults(faulty_sandbox)
    assert write.structured_content["details"]["outcomeUnknown"] is True
    assert "GET /" not in _text(write) and "Read the records back" in _text(write)


async def test_a_build_failure_reads_as_one_sentence(sandbox):
    async with connect(settings_for(sandbox)) as client:
        failed = await client.call_tool("create_action", {"connection": "vtiger", "description": "do stuff"})
    assert failed.is_error and failed.structured_content["details"]["state"] == "CONFIGURATION_ERROR"
    assert "....." not in failed.structured_content["error"]
    assert failed.structured_content["error"].endswith(
        "Rephrase the description (name the object and what to do with it), or use raw_request."
    )


async def test_an_action_key_of_another_app_names_the_connection_that_has_it(sandbox):
    async with connect(settings_for(sandbox)) as client:
        run = await client.call_tool("run_action", {"connection": "1crm", "action": "list-stories"})
        described = await client.call_tool(
            "describe_action", {"connection": "vtiger", "action": "search-contacts"}
        )
        told = run.structured_content["details"]["connection"]
        again = await client.call_tool("run_action", {"connection": told, "action": "list-stories"})
    assert _text(run).startswith(
        "No action 'list-stories' on connection '1CRM': it is a Bigtincan action. Pass connection: 'bigtincan'."
    )
    assert "Pass connection: '1crm'" in _text(described)
    assert not again.is_error


async def test_the_continuation_note_is_a_call_that_works_as_written(sandbox):
    args = {"connection": "vtiger", "action": "query-records", "input": {"query": "SELECT * FROM Contacts;"}}
    async with connect(settings_for(sandbox, max_output_bytes=8192)) as client:
        first = (await client.call_tool("run_action", args)).structured_content
        note = first["continuation"]
        following = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "query-records", "continuation": note["handle"]}
        )
    # run_write_action takes no continuation, so the note names run_action whichever tool was cut.
    assert note["how"].startswith("Call run_action {connection, action, continuation: <handle>}")
    assert not following.is_error and following.structured_content["output"]["records"]


async def test_a_card_description_is_not_cut_at_an_abbreviation_and_near_objects_come_once(sandbox):
    async with connect(settings_for(sandbox)) as client:
        cards = await client.call_tool("search_actions", {"query": "retrieve a record", "app": "vtiger"})
        nonsense = await client.call_tool("search_actions", {"query": "list flubbers", "app": "1crm"})
    card = next(c for c in cards.structured_content["results"] if c["key"] == "retrieve-record")
    assert not card["description"].endswith("(e.g.") and "e.g. " in card["description"]
    (note,) = nonsense.structured_content["no_match"]
    near = note.split("nearest objects: ")[1].split(", ")
    assert near and len({n.rstrip("s") for n in near}) == len(near), near  # not "account, accounts, ..."


async def test_a_tool_s_own_arguments_get_the_forgiving_conversions_with_a_note(sandbox):
    args = {
        "connection": "bigtincan",
        "action": "list-stories",
        "input": '{"limit": 2}',  # an object sent as JSON text, as some clients do
        "fields": "title",
        "count_only": "false",
        "continuation": None,
    }
    async with connect(settings_for(sandbox)) as client:
        ran = await client.call_tool("run_action", args)
        searched = await client.call_tool("search_actions", {"query": "list stories", "limit": "2"})
        unclear = await client.call_tool("run_action", {**args, "input": "limit=2"})
    assert not ran.is_error, _text(ran)
    assert ran.structured_content["output"]["records"] == [
        {"title": "Partner meeting follow-up"},
        {"title": "Partner newsletter demo"},
    ]
    assert ran.content[1].text == (
        "converted: continuation: null was read as not given; input: the JSON text was read as an object; "
        "fields: the single value was wrapped in a list; count_only: the string 'false' was read as the boolean false"
    )
    assert not searched.is_error and len(searched.structured_content["results"]) == 2
    assert unclear.is_error and "`input`: 'limit=2' is not of type 'object'" in _text(unclear)


async def test_json_text_nested_too_deep_to_read_is_refused_as_not_an_object(sandbox):
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    async with connect(settings_for(sandbox)) as client:
        result = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "query-records", "input": deep}
        )
    assert result.is_error and "is not of type 'object'" in _text(result), _text(result)[:300]


async def test_list_connections_counts_tools_only_where_there_are_some(sandbox):
    async with connect(settings_for(sandbox, tool_mode="search")) as client:
        searched = (await client.call_tool("list_connections", {})).structured_content
    async with connect(settings_for(sandbox, tool_mode="direct", apps=["vtiger"])) as client:
        direct = (await client.call_tool("list_connections", {})).structured_content
    assert searched["tool_mode"] == "search" and all("tools" not in c for c in searched["connections"])
    assert [(c["actions"], c["tools"]) for c in direct["connections"]] == [(8, 8)]


@pytest.mark.parametrize(
    ("overrides", "run", "no_hit"),
    [
        (
            {},
            "Run: run_action (reads) or run_write_action (writes) with",
            "No matching action. Try other words, raw_request, or create_action to have one built.",
        ),
        ({"read_only": True}, "Run: run_action with", "No matching action. Try other words or raw_request."),
        (
            {"no_raw_request": True},
            "Run: run_action (reads) or run_write_action (writes) with",
            "No matching action. Try other words or create_action to have one built.",
        ),
    ],
)
async def test_search_hints_name_only_the_tools_this_server_lists(sandbox, overrides, run, no_hit):
    async with connect(settings_for(sandbox, tool_mode="search", **overrides)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        hit = (await client.call_tool("search_actions", {"query": "list modules"})).structured_content
        missed = (
            await client.call_tool(
                "search_actions", {"query": "list modules", "app": "vtiger", "connection": "1crm"}
            )
        ).structured_content
    assert hit["hint"].startswith(run) and missed["results"] == [] and missed["hint"] == no_hit
    named = {
        t for t in ("run_write_action", "raw_request", "create_action") if t in hit["hint"] + missed["hint"]
    }
    assert named <= listed


async def test_a_read_only_server_does_not_point_at_connect_app(sandbox):
    async with connect(settings_for(sandbox, read_only=True)) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        unknown = await client.call_tool("search_actions", {"query": "list contacts", "app": "salesforce"})
    assert "connect_app" not in listed
    assert unknown.is_error and _text(unknown).startswith(
        "No connected app 'salesforce'. Apps: 1crm, bigtincan, vtiger."
    )


async def test_an_integer_for_a_string_input_is_read_as_its_digits(sandbox):
    args = {
        "connection": "1crm",
        "action": "list-contacts",
        "input": {"limit": 1, "filters": {"first_name": 5}},
    }
    async with connect(settings_for(sandbox)) as client:
        result = await client.call_tool("run_action", args)
    assert not result.is_error, _text(result)
    assert result.structured_content["converted"] == [
        "filters.first_name: the integer 5 was read as the string '5'"
    ]


async def test_a_direct_tool_called_with_run_action_s_input_shape_runs_with_a_note(sandbox):
    query = {"query": "SELECT firstname FROM Contacts LIMIT 2;"}
    async with connect(settings_for(sandbox, tool_mode="direct", apps=["vtiger"])) as client:
        wrapped = await client.call_tool("vtiger_query_records", {"input": query})
        mixed = await client.call_tool("vtiger_query_records", {"input": query, "query": "x"})
    assert not wrapped.is_error, _text(wrapped)
    assert len(wrapped.structured_content["records"]) == 2
    assert wrapped.content[1].text.startswith("converted: input: the arguments were read from inside `input`")
    assert mixed.is_error and "unexpected field `input`" in _text(mixed)  # not a guess when both are given


async def test_an_action_left_building_is_run_by_its_id_once_built():
    """create_action gives up before the build ends; the id it names is what the agent polls with, as the
    CLI's `action get <id> --wait` does: each call waits for the build within its deadline."""
    with seeded_sandbox(SandboxConfig(build_seconds=3)) as running:
        async with connect(settings_for(running, call_timeout=2.5)) as client:
            created = await client.call_tool(
                "create_action", {"connection": "1crm", "description": "List all tax rates", "timeout_s": 1}
            )
            action_id = created.structured_content["details"]["id"]
            answers = [await client.call_tool("run_action", {"connection": "1crm", "action": action_id})]
            while answers[-1].is_error and len(answers) < 10:
                answers.append(
                    await client.call_tool("run_action", {"connection": "1crm", "action": action_id})
                )
            runs = sandbox_stats(running)["actionRuns"]["total"]
    assert created.is_error and f"action: '{action_id}' waits for it" in _text(created)
    assert answers[0].is_error and _text(answers[0]).startswith(
        f"The action (id {action_id}) is still building;"
    )
    assert not answers[-1].is_error and answers[-1].structured_content["output"]["records"]
    assert runs == 1  # the answers that said "still building" ran nothing
