"""run_action with an unknown key: suggestions from the allowed catalog, at most one reload per TTL window."""

from __future__ import annotations

import pytest

from tests.safety.conftest import error_text
from tests.server.conftest import connect, sandbox_stats, settings_for

pytestmark = pytest.mark.anyio


async def test_a_mistyped_key_gets_did_you_mean_and_nothing_runs(fresh_sandbox, mode):
    async with connect(settings_for(fresh_sandbox, apps=["vtiger"]), mode) as client:
        result = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "query-record", "input": {"query": "x"}}
        )
    assert "Did you mean: query-records" in error_text(result)
    assert result.structured_content["details"]["did_you_mean"][0] == "query-records"
    assert sandbox_stats(fresh_sandbox)["actionRuns"]["total"] == 0


async def test_suggestions_never_name_a_hidden_action(fresh_sandbox):
    settings = settings_for(fresh_sandbox, apps=["vtiger"], deny_actions=["vtiger:delete-*"])
    async with connect(settings) as client:
        result = await client.call_tool("run_action", {"connection": "vtiger", "action": "delete-recrd"})
    assert "delete-record" not in error_text(result)
    assert sandbox_stats(fresh_sandbox)["actionRuns"]["total"] == 0


async def test_unknown_keys_reload_the_catalog_at_most_once_per_ttl_window(fresh_sandbox):
    async with connect(settings_for(fresh_sandbox, apps=["vtiger"], catalog_ttl=300)) as client:
        await client.list_tools()  # the catalog is loaded
        served = [sandbox_stats(fresh_sandbox)["requestsServed"]]
        for key in ("no-such-action", "another-guess", "third-guess"):
            result = await client.call_tool("run_action", {"connection": "vtiger", "action": key})
            assert error_text(result).startswith(f"No action '{key}'")
            served.append(sandbox_stats(fresh_sandbox)["requestsServed"])
    # The first guess reloads the catalog (requests to Membrane); the next ones, within the TTL, send none.
    assert served[1] > served[0]
    assert served[3] == served[2] == served[1]
