"""Bounded memory and output: upstream bodies are read up to --max-response-bytes and cut at a record
boundary; every result, errors included, stays within --max-output-bytes; problem lists are capped.

Memory figures belong in bench/body_cap.py; here the cut and the sizes read and returned are asserted.
"""

from __future__ import annotations

import json

import pytest

from membrane_mcp.tools.validation import MAX_PROBLEMS, validate_arguments
from tests.safety.conftest import error_text
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio

DESCRIPTION_BYTES = 256 * 1024
RECORDS = 12
RESPONSE_LIMIT = 1024 * 1024  # about four of the twelve records
QUERY = "SELECT * FROM Leads WHERE lastname = 'Bulky';"


async def add_bulky_leads(client) -> None:
    for index in range(RECORDS):
        element = {
            "lastname": "Bulky",
            "company": f"Acme {index}",
            "description": f"{index}" * DESCRIPTION_BYTES,
        }
        created = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Leads", "element": element},
            },
        )
        assert not created.is_error, created.content[0].text[:300]


async def test_a_large_upstream_body_is_cut_at_a_record_boundary(fresh_sandbox, mode):
    settings = settings_for(
        fresh_sandbox, apps=["vtiger"], max_response_bytes=RESPONSE_LIMIT, max_output_bytes=4 * 1024 * 1024
    )
    async with connect(settings, mode) as client:
        await add_bulky_leads(client)
        run = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "query-records", "input": {"query": QUERY}}
        )
        raw = await client.call_tool(
            "raw_request",
            {"connection": "vtiger", "method": "GET", "path": "/query", "query": {"query": QUERY}},
        )
    assert not run.is_error, run.content[0].text[:300]
    output = run.structured_content["output"]
    cut = output["_truncated"]
    assert cut["bytes_read"] == RESPONSE_LIMIT
    assert 1 <= cut["records_kept"] == len(output["records"]) < RECORDS
    assert "--max-response-bytes" in cut["note"]
    assert all(len(r["description"]) == DESCRIPTION_BYTES for r in output["records"])  # whole records only
    assert len(run.content[0].text.encode()) < RESPONSE_LIMIT + 4096

    assert not raw.is_error
    assert raw.structured_content["status"] == 200
    assert "--max-response-bytes" in raw.structured_content["_truncated"]["note"]
    kept = raw.structured_content["body"]["result"]
    assert 1 <= len(kept) < RECORDS and all(len(r["description"]) == DESCRIPTION_BYTES for r in kept)


async def test_error_results_are_capped_too(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], max_output_bytes=1024)
    # Refused before anything is sent, with a long problem list (20 lines of about 250 characters).
    arguments = {"connection": "vtiger", "method": "GET", "path": "/me"}
    arguments |= {f"unexpected_{i:03d}_" + "x" * 230: i for i in range(100)}
    async with connect(settings, mode) as client:
        before = sandbox_stats(fresh_sandbox)["proxyRequests"]
        result = await client.call_tool("raw_request", arguments)
        after = sandbox_stats(fresh_sandbox)["proxyRequests"]
    text = error_text(result)
    assert text.startswith("Invalid arguments for raw_request")
    assert len(text.encode()) <= 1024 and "--max-output-bytes" in text
    compact = json.dumps(result.structured_content, separators=(",", ":"), ensure_ascii=False)
    assert len(compact.encode()) <= 1024
    assert result.structured_content["error"].startswith("Invalid arguments for raw_request")
    assert after == before


async def test_validation_lists_at_most_n_problems(fresh_sandbox, mode):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], max_output_bytes=65536)
    arguments = {"query": "leads", **{f"unexpected_{i:06d}": i for i in range(200_000)}}
    async with connect(settings, mode) as client:
        result = await client.call_tool("search_actions", arguments)
    text = error_text(result)
    problems = result.structured_content["details"]["problems"]
    assert len(problems) == MAX_PROBLEMS
    assert problems[0] == "unexpected field `unexpected_000000`"
    assert problems[-1] == f"{200_000 - MAX_PROBLEMS + 1} more unexpected field(s) not listed"
    assert len(text.encode()) <= 65536


def test_any_long_problem_list_is_cut_with_a_count():
    schema = {"type": "object", "properties": {f"f{i:02d}": {"type": "integer"} for i in range(50)}}
    problems = validate_arguments(schema, {f"f{i:02d}": "x" for i in range(50)})
    assert len(problems) == MAX_PROBLEMS + 1
    assert problems[0].startswith("`f00`:")
    assert problems[-1] == f"... and {50 - MAX_PROBLEMS} more problem(s) not listed"
