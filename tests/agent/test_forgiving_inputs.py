"""Forgiving inputs through the MCP surface: unambiguous conversions are made with a note; anything
else is refused with every problem at once, quoting only the part of the schema concerned."""

from __future__ import annotations

import pytest

from membrane_mcp.tools.coercion import coerce
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio


async def test_a_date_for_a_date_time_and_a_numeric_string_are_converted_with_a_note(sandbox):
    args = {
        "connection": "bigtincan",
        "action": "list-stories",
        "input": {"limit": "3", "filters": {"publishedAt": "2025-01-01"}},
    }
    async with connect(settings_for(sandbox)) as client:
        result = await client.call_tool("run_action", args)
    assert not result.is_error, result.content
    notes = result.structured_content["converted"]
    assert any("filters.publishedAt" in n and "2025-01-01T00:00:00Z" in n for n in notes), notes
    assert any(n.startswith("limit:") and "integer 3" in n for n in notes), notes


async def test_what_cannot_be_converted_is_refused_at_once_quoting_only_the_fields_concerned(fresh_sandbox):
    args = {
        "connection": "1crm",
        "action": "create-case",
        "input": {"priority": "urgent", "status": 7},
    }
    async with connect(settings_for(fresh_sandbox)) as client:
        before = sandbox_stats(fresh_sandbox)["actionRuns"]
        result = await client.call_tool("run_write_action", args)
        after = sandbox_stats(fresh_sandbox)["actionRuns"]
    assert result.is_error and after == before
    text = result.content[0].text
    assert "`priority`" in text and "`status`" in text and "`name`" in text  # every problem at once
    quoted = result.structured_content["details"]["input_schema"]["properties"]
    assert set(quoted) == {"priority", "status", "name"}


def test_ambiguous_values_are_left_for_validation():
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "when": {"type": "string", "format": "date-time"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "ids": {"type": "array", "items": {"type": "integer"}},
        },
    }
    value, notes = coerce(schema, {"n": "3.5", "when": "March 1st", "tags": "vip", "ids": "7"})
    assert value == {"n": "3.5", "when": "March 1st", "tags": ["vip"], "ids": "7"}
    assert notes == ["tags: the single value was wrapped in a list"]
