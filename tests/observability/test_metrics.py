"""Metrics: /metrics in Prometheus text format after a few calls, with the right labels."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mcp import Client
from prometheus_client.parser import text_string_to_metric_families

from membrane_mcp.observability import metrics, metrics_routes
from membrane_mcp.settings import Settings
from tests.observability.conftest import observed_client
from tests.processes import server_env, spawn_http, stop_process
from tests.reliability.conftest import no_faults, set_faults

pytestmark = pytest.mark.anyio

QUERY = {
    "connection": "vtiger",
    "action": "query-records",
    "input": {"query": "SELECT * FROM Leads LIMIT 1;"},
}


def samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    return [
        (sample.name, dict(sample.labels), sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    ]


def value(found: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, got, v in found if n == name and all(got.get(k) == w for k, w in labels.items()))


async def test_metrics_after_a_few_calls_over_http(sandbox, mode):
    process, url = spawn_http(["--metrics"], server_env(sandbox))
    try:
        async with Client(f"{url}/mcp", mode=mode) as client:
            await client.list_tools()
            assert not (await client.call_tool("list_connections", {})).is_error
            assert not (await client.call_tool("run_action", QUERY)).is_error
            assert not (await client.call_tool("run_action", QUERY)).is_error
            missing = await client.call_tool("run_action", {**QUERY, "action": "no-such-action"})
            assert missing.is_error
            async with httpx.AsyncClient() as http:
                scraped = await http.get(f"{url}/metrics")
    finally:
        stop_process(process)
    assert scraped.status_code == 200 and scraped.headers["content-type"].startswith("text/plain")
    found = samples(scraped.text)
    calls = "membrane_mcp_tool_calls_total"
    assert value(found, calls, tool="list_connections", kind="meta", outcome="ok") == 1
    assert value(found, calls, tool="run_action", kind="read", outcome="ok") == 2
    assert value(found, calls, tool="run_action", kind="meta", outcome="error") == 1
    duration = "membrane_mcp_tool_call_duration_seconds"
    assert value(found, f"{duration}_count", tool="run_action", kind="read") == 2
    assert value(found, f"{duration}_bucket", tool="run_action", kind="read", le="+Inf") == 2
    requests = "membrane_mcp_membrane_requests_total"
    assert value(found, requests, method="POST", route="/actions/{id}/run", status="200") == 2
    assert value(found, requests, method="GET", route="/connections", status="200") >= 1
    assert value(found, "membrane_mcp_catalog_tools") > 0
    assert value(found, "membrane_mcp_catalog_connections") == 3
    assert value(found, "membrane_mcp_catalog_load_duration_seconds_count") >= 1
    if mode == "legacy":
        assert value(found, "membrane_mcp_open_sessions") >= 1
    # No id, path or argument ever becomes a label value.
    label_values = {v for _, labels, _ in found for v in labels.values()}
    assert not any("no-such-action" in v or "SELECT" in v for v in label_values)


def test_no_metrics_route_unless_asked():
    assert metrics_routes(Settings()) == []
    assert [route.path for route in metrics_routes(Settings(metrics=True))] == ["/metrics"]


async def test_retries_and_rate_limit_waits_are_counted(faulty_sandbox):
    recorded = metrics.reset()
    async with observed_client(faulty_sandbox, metrics=True) as client:
        await client.list_tools()
        set_faults(faulty_sandbox, seed=3, rate_limit_rate=0.5)
        for _ in range(6):
            await client.call_tool("run_action", QUERY)
        no_faults(faulty_sandbox)
    found: list[Any] = samples(recorded.render().decode())
    route = "/actions/{id}/run"
    assert value(found, "membrane_mcp_membrane_rate_limit_waits_total", route=route) > 0
    assert value(found, "membrane_mcp_membrane_retries_total", route=route) > 0
    assert value(found, "membrane_mcp_membrane_requests_total", route=route) == 6


def test_metrics_need_the_bearer_token_when_one_is_set(sandbox):
    token = "metrics-bearer-token-3b7f"
    process, url = spawn_http(["--metrics"], server_env(sandbox, MEMBRANE_MCP_AUTH_TOKENS=token))
    try:
        anonymous = httpx.get(f"{url}/metrics")
        scraped = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {token}"})
    finally:
        stop_process(process)
    assert anonymous.status_code == 401
    assert scraped.status_code == 200 and "membrane_mcp_catalog_tools" in scraped.text


def test_open_sessions_count_those_active_within_the_sdk_idle_timeout():
    now = [1000.0]
    recorded = metrics.Metrics(clock=lambda: now[0])
    recorded.session_seen("session-a")
    recorded.session_seen("session-b")
    assert value(samples(recorded.render().decode()), "membrane_mcp_open_sessions") == 2
    now[0] += metrics.SESSION_IDLE_SECONDS + 1
    recorded.session_seen("session-b")
    assert value(samples(recorded.render().decode()), "membrane_mcp_open_sessions") == 1


def test_durations_fall_in_cumulative_buckets_with_the_bound_inclusive() -> None:
    recorded = metrics.Metrics()
    for seconds in (0.005, 0.0051, 200.0):  # on the first bound, just above it, above the last bound
        recorded.tool_call("run_action", "read", "ok", seconds, None)
    recorded.membrane_request("POST", "/actions/{id}/run", "502", 0.2, 2, 1)
    found = samples(recorded.render().decode())
    duration = "membrane_mcp_tool_call_duration_seconds"
    labels = {"tool": "run_action", "kind": "read"}
    assert value(found, f"{duration}_bucket", le="0.005", **labels) == 1
    assert value(found, f"{duration}_bucket", le="0.01", **labels) == 2
    assert value(found, f"{duration}_bucket", le="180.0", **labels) == 2
    assert value(found, f"{duration}_bucket", le="+Inf", **labels) == 3
    assert value(found, f"{duration}_count", **labels) == 3
    assert value(found, f"{duration}_sum", **labels) == pytest.approx(200.0101)
    assert value(found, "membrane_mcp_tool_calls_total", outcome="ok", **labels) == 3
    assert value(found, "membrane_mcp_tool_calls_created", outcome="ok", **labels) > 0
    assert value(found, f"{duration}_created", **labels) > 0
    route = {"route": "/actions/{id}/run"}
    assert value(found, "membrane_mcp_membrane_requests_total", method="POST", status="502", **route) == 1
    assert value(found, "membrane_mcp_membrane_request_duration_seconds_bucket", le="0.25", **route) == 1
    assert value(found, "membrane_mcp_membrane_retries_total", **route) == 2
    assert value(found, "membrane_mcp_membrane_rate_limit_waits_total", **route) == 1
