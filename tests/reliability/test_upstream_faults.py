"""Upstream faults through the MCP surface: 5xx, 429 bursts with Retry-After, latency spikes,
dropped connections and an expired token. Reads succeed through retries; writes run at most once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from membrane_mcp.membrane.auth import WorkspaceCredentials
from membrane_sandbox.config import DEFAULT_TENANT_KEY, SandboxConfig
from tests.reliability.conftest import (
    MAY_OR_MAY_NOT,
    connect_fast,
    no_faults,
    outcome_unknown,
    runs_with_input,
    set_faults,
    stats,
    text_of,
    vtiger_records_named,
)

# The sandbox's workspace secret is short on purpose.
pytestmark = [pytest.mark.anyio, pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")]

# The faults of the brief: 10% 5xx, 429 bursts with Retry-After, latency spikes, dropped connections. The
# spikes are 30-300 ms rather than 0.2-2 s: no spike comes near a timeout either way, so only the wait changes.
ALL_FAULTS: dict[str, float] = {
    "fault_rate": 0.10,
    "rate_limit_rate": 0.05,
    "rate_limit_burst": 2,
    "retry_after_s": 0.2,
    "spike_rate": 0.05,
    "spike_ms": 300,
    "drop_rate": 0.05,
}

READS: list[tuple[str, dict[str, Any]]] = [
    ("list_connections", {}),
    ("search_actions", {"query": "find contacts by email"}),
    ("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}),
    (
        "raw_request",
        {
            "connection": "vtiger",
            "method": "GET",
            "path": "/query",
            "query": {"query": "SELECT * FROM Accounts LIMIT 1;"},
        },
    ),
]


async def test_reads_listings_and_waits_succeed_through_retries_within_the_deadline(faulty_sandbox, mode):
    # Only Vtiger: a small catalog (direct mode, its actions listed as tools) that reloads quickly.
    async with connect_fast(faulty_sandbox, mode, call_timeout=20, apps=["vtiger"]) as client:
        direct = {t.name for t in (await client.list_tools()).tools}
        query_tool = next(name for name in direct if name.endswith("query_records"))
        set_faults(faulty_sandbox, seed=3, **ALL_FAULTS)
        for round_ in range(3):
            listed = await client.list_tools()
            assert {t.name for t in listed.tools} >= {"list_connections", "run_action"}
            for name, args in READS:
                result = await client.call_tool(name, args)
                assert not result.is_error, (round_, name, text_of(result))
            # Runs of read actions are retried like any read: under faults they succeed.
            for name, args in (
                (
                    "run_action",
                    {
                        "connection": "vtiger",
                        "action": "query-records",
                        "input": {"query": "SELECT * FROM Leads LIMIT 2;"},
                    },
                ),
                (query_tool, {"query": "SELECT * FROM Contacts LIMIT 1;"}),
            ):
                result = await client.call_tool(name, args)
                assert not result.is_error, (round_, name, text_of(result))
            client.gateway.catalog.invalidate()  # the next call reloads the catalog, under faults too
        # A wait: create_action long-polls until the build is done; its POST is a write, so it may fail.
        built = 0
        for attempt in range(3):
            result = await client.call_tool(
                "create_action", {"connection": "vtiger", "description": f"list leads {attempt}"}
            )
            if not result.is_error:
                built += 1
                assert result.structured_content["state"] == "READY"
            else:
                assert outcome_unknown(result) and MAY_OR_MAY_NOT in text_of(result), text_of(result)
        no_faults(faulty_sandbox)
    counters = stats(faulty_sandbox)
    assert counters["faults"]["injected5xx"] > 0 and counters["faults"]["spikes"] > 0
    assert counters["faults"]["dropped"] > 0
    assert built >= 1
    assert built <= counters["builds"]["ready"] <= 3


def _outcome(result: Any) -> str:
    if not result.is_error:
        return "ok"
    return "uncertain" if outcome_unknown(result) else "failed"


async def test_writes_under_faults_are_executed_at_most_once(faulty_sandbox):
    """N create calls under faults: exactly the ones that reported success exist, plus at most the
    'may or may not have happened' ones, each at most once; definite failures wrote nothing."""
    n = 20
    outcomes: dict[str, str] = {}
    texts: dict[str, str] = {}
    async with connect_fast(faulty_sandbox, "legacy", call_timeout=20) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, seed=5, **{**ALL_FAULTS, "drop_rate": 0.10, "spike_rate": 0.02})
        for i in range(n):
            name = f"rel-run-{i}"
            result = await client.call_tool(
                "run_write_action",
                {
                    "connection": "vtiger",
                    "action": "create-record",
                    "input": {"elementType": "Accounts", "element": {"accountname": name}},
                },
            )
            outcomes[name], texts[name] = _outcome(result), text_of(result)
            name = f"rel-raw-{i}"
            result = await client.call_tool(
                "raw_write_request",
                {
                    "connection": "vtiger",
                    "method": "POST",
                    "path": "/create",
                    "body": {"elementType": "Contacts", "element": {"lastname": name}},
                },
            )
            outcomes[name], texts[name] = _outcome(result), text_of(result)
        no_faults(faulty_sandbox)
        after = await client.call_tool("list_connections", {})
    assert not after.is_error  # the server kept serving

    present = vtiger_records_named(faulty_sandbox, "rel-")
    for name, outcome in outcomes.items():
        count = present.get(name, 0)
        if outcome == "ok":
            assert count == 1, (name, count)
        elif outcome == "uncertain":
            assert count <= 1, (name, count, texts[name])
        else:
            assert count == 0, (name, count, texts[name])
        if name.startswith("rel-run-"):
            assert runs_with_input(faulty_sandbox, f'"{name}"') == count  # one run per record, never two
    counters = stats(faulty_sandbox)
    assert counters["actionRuns"]["total"] == sum(present.get(f"rel-run-{i}", 0) for i in range(n))
    assert counters["proxyRequests"].get("POST", 0) == sum(present.get(f"rel-raw-{i}", 0) for i in range(n))
    kinds = list(outcomes.values())
    assert kinds.count("ok") >= n  # most writes go through (429s are retried: Membrane refused them)
    assert kinds.count("uncertain") >= 1  # and the faults did hit writes
    uncertain = [texts[k] for k, v in outcomes.items() if v == "uncertain"]
    assert all("Injected sandbox fault" in t or "connection failed" in t.lower() for t in uncertain), (
        uncertain
    )


async def test_a_failing_run_is_an_error_result_with_its_cause_and_the_next_call_works(faulty_sandbox, mode):
    async with connect_fast(faulty_sandbox, mode, call_timeout=5, catalog_ttl=0, apps=["vtiger"]) as client:
        failed = await client.call_tool(
            "run_action", {"connection": "vtiger", "action": "retrieve-record", "input": {"id": "99x999999"}}
        )
        set_faults(faulty_sandbox, fault_rate=1)  # Membrane is down
        listed = await client.call_tool(
            "list_connections", {}
        )  # the catalog can't reload: the last one answers
        down = await client.call_tool("run_action", {"connection": "vtiger", "action": "list-modules"})
        tools = await client.list_tools()  # the catalog can't reload: the last one is served
        no_faults(faulty_sandbox)
        up = await client.call_tool("run_action", {"connection": "vtiger", "action": "list-modules"})
    assert failed.is_error
    assert "actionRunId" in text_of(failed) and "Id specified is incorrect" in text_of(failed)
    assert not listed.is_error
    assert down.is_error and "unavailable" in text_of(down).lower() and "500" in text_of(down)
    assert down.structured_content["details"]["kind"] == "unavailable"
    assert "Nothing was changed" in text_of(down)  # a read: retried, then reported as harmless
    assert "run_action" in {t.name for t in tools.tools}
    assert not up.is_error, text_of(up)


class ExpiringCredentials:
    """Workspace credentials whose cached token the test expires on demand: `expire()` caches a token
    that Membrane sees as expired a minute ago while the credentials' own clock says it has an hour
    left, so the server learns of the expiry only from Membrane's 401. Renewal mints on the true clock."""

    renewable = True

    def __init__(self) -> None:
        self.behind = 0.0  # how far the minting clock lags the wall clock Membrane checks `exp` against
        self.inner = WorkspaceCredentials(
            "sandbox-workspace",
            SandboxConfig().workspace_secret,
            DEFAULT_TENANT_KEY,
            ttl=3600,
            clock=lambda: time.time() - self.behind,
        )
        self.invalidations = 0

    def expire(self) -> None:
        """The next token is minted an hour and a minute behind: expired for Membrane, fresh for us."""
        self.behind = 3600 + 60
        self.inner.invalidate()

    async def token(self) -> str:
        return await self.inner.token()

    def invalidate(self) -> None:
        self.invalidations += 1
        self.behind = 0.0
        self.inner.invalidate()


async def test_an_expired_token_mid_session_is_renewed_and_the_write_runs_once(faulty_sandbox):
    mode = "legacy"  # token renewal is below the protocol: one era is enough
    credentials = ExpiringCredentials()
    async with connect_fast(
        faulty_sandbox, mode, credentials=credentials, catalog_ttl=0, apps=["vtiger"]
    ) as client:
        first = await client.call_tool("run_action", {"connection": "vtiger", "action": "get-current-user"})
        credentials.expire()
        listed = await client.call_tool("list_connections", {})
        credentials.expire()
        write = await client.call_tool(
            "run_write_action",
            {
                "connection": "vtiger",
                "action": "create-record",
                "input": {"elementType": "Accounts", "element": {"accountname": "rel-token"}},
            },
        )
    assert not first.is_error and not listed.is_error, text_of(listed)
    assert not write.is_error, text_of(write)
    assert credentials.invalidations == 2  # two 401s, each followed by one re-mint and one retry
    assert vtiger_records_named(faulty_sandbox, "rel-token") == {"rel-token": 1}
    assert runs_with_input(faulty_sandbox, "rel-token") == 1
