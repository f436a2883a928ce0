"""The same instruments through OpenTelemetry (OTEL_METRICS_EXPORTER), and the tenant label (multi-user)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from membrane_mcp.observability import metrics, otel_metrics, startup_problem
from membrane_mcp.settings import Settings
from tests.observability.conftest import observed_client
from tests.observability.test_metrics import QUERY, samples, value

pytestmark = pytest.mark.anyio


@pytest.fixture
def reader() -> Iterator[InMemoryMetricReader]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    recorder = otel_metrics.install(provider)
    yield reader
    metrics.remove_recorder(recorder)
    provider.shutdown()


@contextmanager
def configured_reader(env: dict[str, str]) -> Iterator[InMemoryMetricReader]:
    """A reader on the meter provider `setup_otel_metrics` makes for `env`."""
    reader = InMemoryMetricReader()
    provider = otel_metrics.meter_provider([reader], env)
    recorder = otel_metrics.install(provider)
    try:
        yield reader
    finally:
        metrics.remove_recorder(recorder)
        provider.shutdown()


@pytest.fixture
def tenant_label() -> Iterator[None]:
    metrics.label_tenants(True)
    yield
    metrics.label_tenants(False)


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def total(found: list[Any], **attributes: str) -> float:
    matching = [p for p in found if all(p.attributes.get(k) == v for k, v in attributes.items())]
    return sum(getattr(p, "value", None) if hasattr(p, "value") else p.count for p in matching)


async def test_a_tool_call_is_counted_and_timed_through_opentelemetry(sandbox, reader):
    async with observed_client(sandbox) as client:
        assert not (await client.call_tool("list_connections", {})).is_error
        assert not (await client.call_tool("run_action", QUERY)).is_error
        assert (await client.call_tool("run_action", {**QUERY, "action": "no-such-action"})).is_error
    calls = points(reader, "membrane_mcp.tool.calls")
    assert total(calls, tool="list_connections", kind="meta", outcome="ok") == 1
    assert total(calls, tool="run_action", kind="read", outcome="ok") == 1
    assert total(calls, tool="run_action", kind="meta", outcome="error") == 1
    assert all("tenant" not in p.attributes for p in calls)  # single-user: no tenant label
    durations = points(reader, "membrane_mcp.tool.call.duration")
    assert total(durations, tool="run_action", kind="read") == 1
    assert list(durations[0].explicit_bounds) == list(metrics.DURATION_BUCKETS)
    requests = points(reader, "membrane_mcp.membrane.requests")
    assert total(requests, method="POST", route="/actions/{id}/run", status="200") == 1
    assert total(points(reader, "membrane_mcp.catalog.connections")) == 3
    label_values = {str(v) for p in calls + requests for v in p.attributes.values()}
    assert not any("no-such-action" in v or "SELECT" in v for v in label_values)


async def test_traced_calls_leave_no_exemplars_unless_the_exemplar_filter_is_set(sandbox, spans):
    for env, expected in (({}, False), ({"OTEL_METRICS_EXEMPLAR_FILTER": "trace_based"}, True)):
        with configured_reader(env) as reader:
            async with observed_client(sandbox) as client:
                assert not (await client.call_tool("run_action", QUERY)).is_error
            (call,) = [
                p for p in points(reader, "membrane_mcp.tool.calls") if p.attributes["tool"] == "run_action"
            ]
            assert call.value == 1
            assert bool(call.exemplars) is expected, env
            if expected:
                trace_ids = {s.context.trace_id for s in spans.get_finished_spans()}
                assert {e.trace_id for e in call.exemplars} <= trace_ids
        spans.clear()


async def test_tool_calls_carry_the_tenant_when_one_process_serves_many(sandbox, tenant_label, reader):
    prometheus = metrics.reset(tenant_label=True)
    try:
        async with observed_client(sandbox, metrics=True, tenant_key="acme-corp") as client:
            assert not (await client.call_tool("run_action", QUERY)).is_error
        found = samples(prometheus.render().decode())
    finally:
        metrics.reset(tenant_label=False)
    assert value(found, "membrane_mcp_tool_calls_total", tool="run_action", tenant="acme-corp") == 1
    assert value(found, "membrane_mcp_tool_call_duration_seconds_count", tenant="acme-corp") == 1
    otel_calls = points(reader, "membrane_mcp.tool.calls")
    assert total(otel_calls, tool="run_action", kind="read", outcome="ok", tenant="acme-corp") == 1


async def test_single_user_prometheus_metrics_have_no_tenant_label(sandbox):
    prometheus = metrics.reset(tenant_label=False)
    async with observed_client(sandbox, metrics=True, tenant_key="acme-corp") as client:
        assert not (await client.call_tool("run_action", QUERY)).is_error
    found = samples(prometheus.render().decode())
    assert value(found, "membrane_mcp_tool_calls_total", tool="run_action") == 1
    assert all("tenant" not in labels for _, labels, _ in found)


def test_otel_metrics_are_off_unless_the_exporter_is_named():
    assert otel_metrics.exporter_names({}) == []
    assert otel_metrics.exporter_names({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}) == []
    assert otel_metrics.exporter_names({"OTEL_METRICS_EXPORTER": "none"}) == []
    assert otel_metrics.exporter_names({"OTEL_METRICS_EXPORTER": "otlp,console"}) == ["otlp", "console"]
    assert otel_metrics.setup_otel_metrics({}) is None


def test_an_unsupported_metrics_exporter_is_a_startup_problem(monkeypatch):
    monkeypatch.setenv("OTEL_METRICS_EXPORTER", "prometheus")
    problem = startup_problem(Settings())
    assert problem is not None and "OTEL_METRICS_EXPORTER" in problem and "otlp" in problem
