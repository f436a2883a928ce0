"""Metrics in Prometheus text format, served at /metrics on the HTTP transport (`--metrics`), and the
same instruments through OpenTelemetry when ``OTEL_METRICS_EXPORTER`` asks (otel_metrics.py).

Off by default: recording sites call the `record_*` functions, which loop over the enabled
recorders (none until `enable()` or `add_recorder()`). Labels are bounded sets (tool names come
from the catalog, routes are templates, outcomes are fixed words; the tenant only when one
process serves many tenants); no argument, result or id ever becomes a label.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from bisect import bisect_left
from collections.abc import Callable
from typing import Any, Protocol

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The SDK's default session idle timeout (mcp.server.streamable_http_manager): a session idle longer is closed.
SESSION_IDLE_SECONDS = 30 * 60
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)


class Recorder(Protocol):
    """What a metrics backend records (Prometheus here, OpenTelemetry in otel_metrics.py)."""

    def tool_call(self, tool: str, kind: str, outcome: str, seconds: float, tenant: str | None) -> None: ...

    def membrane_request(
        self, method: str, route: str, status: str, seconds: float, retries: int, rate_limit_waits: int
    ) -> None: ...

    def catalog_loaded(self, seconds: float, tools: int, connections: int) -> None: ...

    def audit_failure(self) -> None: ...

    def session_seen(self, session_id: str) -> None: ...


class _Counts:
    """Per label tuple: a counter, or a histogram's bucket counts and sum (the hot path of every call)."""

    __slots__ = ("created", "sum", "values")

    def __init__(self, size: int) -> None:
        self.created = time.time()
        self.values = [0] * size
        self.sum = 0.0


class _Family:
    """The samples of one counter or histogram, kept in plain Python and exposed by `CallMetrics`.

    prometheus_client's own instruments validate, look up and lock per recording (about ten Python
    calls for a tool call's counter and histogram); this is one dictionary lookup and a few additions
    under one lock, rendered in the same form at scrape time.
    """

    def __init__(
        self, name: str, documentation: str, labels: list[str], buckets: tuple[float, ...] = ()
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labels = labels
        self.buckets = buckets
        self.children: dict[tuple[str, ...], _Counts] = {}

    def child(self, labels: tuple[str, ...]) -> _Counts:
        found = self.children.get(labels)
        if found is None:
            found = self.children[labels] = _Counts(len(self.buckets) + 1 if self.buckets else 1)
        return found


class CallMetrics:
    """A prometheus_client collector for the per-call counters and histograms (`Collector` protocol)."""

    def __init__(self, *families: _Family) -> None:
        self.families = families
        self.lock = threading.Lock()

    def describe(self) -> list[Any]:
        return [self._empty(family) for family in self.families]

    def collect(self) -> list[Any]:
        from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily
        from prometheus_client.utils import floatToGoString

        created = os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() != "true"
        collected: list[Any] = []
        for family in self.families:
            with self.lock:
                children = [
                    (labels, counts.created, counts.sum, list(counts.values))
                    for labels, counts in family.children.items()
                ]
            metric = self._empty(family)
            bounds = [floatToGoString(bound) for bound in family.buckets] + ["+Inf"]  # type: ignore[no-untyped-call]
            for labels, since, total, values in children:
                if isinstance(metric, CounterMetricFamily):
                    metric.add_metric(labels, values[0], since if created else None)
                    continue
                assert isinstance(metric, HistogramMetricFamily)
                cumulative = list(itertools.accumulate(values))
                metric.add_metric(labels, list(zip(bounds, cumulative, strict=True)), total)
                if created:
                    metric.add_sample(
                        f"{family.name}_created", dict(zip(family.labels, labels, strict=True)), since
                    )
            collected.append(metric)
        return collected

    @staticmethod
    def _empty(family: _Family) -> Any:
        from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily

        if family.buckets:
            return HistogramMetricFamily(family.name, family.documentation, labels=family.labels)
        return CounterMetricFamily(family.name, family.documentation, labels=family.labels)


class Metrics:
    """The Prometheus instruments, on a registry of their own (so tests and embedders get a clean one).

    `tenant_label`: tool-call metrics also carry the tenant (multi-user mode only, where the
    tenants are the bounded set of signed-in customers).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, tenant_label: bool = False) -> None:
        # Imported here: a server without --metrics never loads prometheus_client (startup time).
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.tenant_label = tenant_label
        tenant = ["tenant"] if tenant_label else []
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tool_calls = _Family(
            "membrane_mcp_tool_calls", "MCP tool calls", ["tool", "kind", "outcome", *tenant]
        )
        self.tool_call_seconds = _Family(
            "membrane_mcp_tool_call_duration_seconds",
            "Duration of MCP tool calls",
            ["tool", "kind", *tenant],
            DURATION_BUCKETS,
        )
        self.membrane_requests = _Family(
            "membrane_mcp_membrane_requests",
            "Requests to Membrane's API (one per logical call, retries included)",
            ["method", "route", "status"],
        )
        self.membrane_request_seconds = _Family(
            "membrane_mcp_membrane_request_duration_seconds",
            "Duration of requests to Membrane's API, retries included",
            ["method", "route"],
            DURATION_BUCKETS,
        )
        self.membrane_retries = _Family(
            "membrane_mcp_membrane_retries", "Repeated attempts of Membrane requests", ["route"]
        )
        self.rate_limit_waits = _Family(
            "membrane_mcp_membrane_rate_limit_waits",
            "Waits after a 429 from Membrane before trying again",
            ["route"],
        )
        self.calls = CallMetrics(
            self.tool_calls,
            self.tool_call_seconds,
            self.membrane_requests,
            self.membrane_request_seconds,
            self.membrane_retries,
            self.rate_limit_waits,
        )
        r.register(self.calls)
        self.catalog_tools = Gauge("membrane_mcp_catalog_tools", "Actions in the loaded catalog", registry=r)
        self.catalog_connections = Gauge(
            "membrane_mcp_catalog_connections", "Connections in the loaded catalog", registry=r
        )
        self.catalog_load_seconds = Histogram(
            "membrane_mcp_catalog_load_duration_seconds",
            "Duration of catalog loads",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.audit_failures = Counter(
            "membrane_mcp_audit_write_failures", "Audit records that could not be written", registry=r
        )
        # Per label tuple, the counts its recording adds to (bounded like the labels: tools of the
        # catalog, fixed kinds and outcomes, route templates).
        self._tool_call_sites: dict[tuple[str, str, str, str | None], tuple[_Counts, _Counts]] = {}
        self._request_sites: dict[tuple[str, str, str], tuple[_Counts, _Counts]] = {}
        self._clock = clock
        self._sessions: dict[str, float] = {}  # Mcp-Session-Id -> last request
        self.open_sessions = Gauge(
            "membrane_mcp_open_sessions",
            "MCP sessions (handshake era, HTTP) with a request within the SDK's idle timeout",
            registry=r,
        )
        self.open_sessions.set_function(self._open_sessions)

    def session_seen(self, session_id: str) -> None:
        self._sessions[session_id] = self._clock()

    def tool_call(self, tool: str, kind: str, outcome: str, seconds: float, tenant: str | None) -> None:
        key = (tool, kind, outcome, tenant)
        found = self._tool_call_sites.get(key)
        if found is None:
            extra = (tenant or "",) if self.tenant_label else ()
            with self.calls.lock:
                found = (
                    self.tool_calls.child((tool, kind, outcome, *extra)),
                    self.tool_call_seconds.child((tool, kind, *extra)),
                )
            self._tool_call_sites[key] = found
        count, duration = found
        bucket = bisect_left(DURATION_BUCKETS, seconds)  # le: the first bound at or above
        with self.calls.lock:
            count.values[0] += 1
            duration.values[bucket] += 1
            duration.sum += seconds

    def membrane_request(
        self, method: str, route: str, status: str, seconds: float, retries: int, rate_limit_waits: int
    ) -> None:
        key = (method, route, status)
        found = self._request_sites.get(key)
        if found is None:
            with self.calls.lock:
                found = (
                    self.membrane_requests.child((method, route, status)),
                    self.membrane_request_seconds.child((method, route)),
                )
            self._request_sites[key] = found
        count, duration = found
        bucket = bisect_left(DURATION_BUCKETS, seconds)
        with self.calls.lock:
            count.values[0] += 1
            duration.values[bucket] += 1
            duration.sum += seconds
            if retries:
                self.membrane_retries.child((route,)).values[0] += retries
            if rate_limit_waits:
                self.rate_limit_waits.child((route,)).values[0] += rate_limit_waits

    def catalog_loaded(self, seconds: float, tools: int, connections: int) -> None:
        self.catalog_load_seconds.observe(seconds)
        self.catalog_tools.set(tools)
        self.catalog_connections.set(connections)

    def audit_failure(self) -> None:
        self.audit_failures.inc()

    def _open_sessions(self) -> float:
        cutoff = self._clock() - SESSION_IDLE_SECONDS
        for session_id in [s for s, seen in self._sessions.items() if seen < cutoff]:
            del self._sessions[session_id]
        return float(len(self._sessions))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


_current: Metrics | None = None
_recorders: list[Recorder] = []
_tenant_label = False


def label_tenants(on: bool) -> None:
    """Whether tool-call metrics made from now on carry a tenant label (set at start-up, multi-user)."""
    global _tenant_label
    _tenant_label = on


def tenant_labelled() -> bool:
    return _tenant_label


def enable() -> Metrics:
    """Start recording in Prometheus form (idempotent); returns the process's instruments."""
    global _current
    if _current is None:
        _current = Metrics(tenant_label=_tenant_label)
        _recorders.append(_current)
    return _current


def reset(*, tenant_label: bool | None = None) -> Metrics:
    """Fresh Prometheus instruments in place of the current ones (tests)."""
    global _current
    if _current is not None:
        _recorders.remove(_current)
    _current = Metrics(tenant_label=_tenant_label if tenant_label is None else tenant_label)
    _recorders.append(_current)
    return _current


def current() -> Metrics | None:
    return _current


def add_recorder(recorder: Recorder) -> None:
    _recorders.append(recorder)


def remove_recorder(recorder: Recorder) -> None:
    if recorder in _recorders:
        _recorders.remove(recorder)


def recording() -> bool:
    return bool(_recorders)


def record_tool_call(tool: str, kind: str, outcome: str, seconds: float, tenant: str | None) -> None:
    for recorder in _recorders:
        recorder.tool_call(tool, kind, outcome, seconds, tenant)


def record_membrane_request(
    method: str, route: str, status: str, seconds: float, retries: int, rate_limit_waits: int
) -> None:
    for recorder in _recorders:
        recorder.membrane_request(method, route, status, seconds, retries, rate_limit_waits)


def record_catalog_load(seconds: float, tools: int, connections: int) -> None:
    for recorder in _recorders:
        recorder.catalog_loaded(seconds, tools, connections)


def record_audit_failure() -> None:
    for recorder in _recorders:
        recorder.audit_failure()


def record_session(session_id: str) -> None:
    for recorder in _recorders:
        recorder.session_seen(session_id)
