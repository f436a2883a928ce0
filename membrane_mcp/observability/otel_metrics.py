"""The metrics of metrics.py through OpenTelemetry, when ``OTEL_METRICS_EXPORTER`` names otlp or console.

Off unless that variable is set (the OTLP endpoint alone turns traces on, not metrics). The meter
provider is the process's own, not the global one, so an embedder's provider is left alone.
Instruments and attributes mirror the Prometheus ones (same bounded label sets).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from membrane_mcp import __version__
from membrane_mcp.observability import metrics

logger = logging.getLogger(__name__)

SUPPORTED_EXPORTERS = ("otlp", "console", "none")


def exporter_names(env: Mapping[str, str]) -> list[str]:
    """Which metric exporters the environment asks for; empty when OTel metrics are off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    listed = env.get("OTEL_METRICS_EXPORTER", "")
    names = [name.strip().lower() for name in listed.split(",") if name.strip()]
    return [name for name in names if name != "none"]


def metrics_problem(env: Mapping[str, str]) -> str | None:
    unknown = [name for name in exporter_names(env) if name not in SUPPORTED_EXPORTERS]
    if unknown:
        return (
            f"OTEL_METRICS_EXPORTER: unsupported exporter(s) {', '.join(unknown)}; "
            f"use {', '.join(SUPPORTED_EXPORTERS)} (OTLP is sent over HTTP/protobuf)"
        )
    return None


class OtelMetrics:
    """A `metrics.Recorder` on an OpenTelemetry meter."""

    def __init__(
        self, meter: Any, *, tenant_label: bool = False, clock: Callable[[], float] = time.monotonic
    ) -> None:
        from opentelemetry.metrics import CallbackOptions, Observation

        self.tenant_label = tenant_label
        buckets = list(metrics.DURATION_BUCKETS)
        self.tool_calls = meter.create_counter("membrane_mcp.tool.calls", "{call}", "MCP tool calls")
        self.tool_call_seconds = meter.create_histogram(
            "membrane_mcp.tool.call.duration",
            "s",
            "Duration of MCP tool calls",
            explicit_bucket_boundaries_advisory=buckets,
        )
        self.membrane_requests = meter.create_counter(
            "membrane_mcp.membrane.requests", "{request}", "Requests to Membrane's API, retries included"
        )
        self.membrane_request_seconds = meter.create_histogram(
            "membrane_mcp.membrane.request.duration",
            "s",
            "Duration of requests to Membrane's API, retries included",
            explicit_bucket_boundaries_advisory=buckets,
        )
        self.membrane_retries = meter.create_counter(
            "membrane_mcp.membrane.retries", "{attempt}", "Repeated attempts of Membrane requests"
        )
        self.rate_limit_waits = meter.create_counter(
            "membrane_mcp.membrane.rate_limit_waits", "{wait}", "Waits after a 429 from Membrane"
        )
        self.catalog_tools = meter.create_gauge(
            "membrane_mcp.catalog.tools", "{tool}", "Actions in the catalog"
        )
        self.catalog_connections = meter.create_gauge(
            "membrane_mcp.catalog.connections", "{connection}", "Connections in the catalog"
        )
        self.catalog_load_seconds = meter.create_histogram(
            "membrane_mcp.catalog.load.duration",
            "s",
            "Duration of catalog loads",
            explicit_bucket_boundaries_advisory=buckets,
        )
        self.audit_failures = meter.create_counter(
            "membrane_mcp.audit.write_failures", "{record}", "Audit records that could not be written"
        )
        self._clock = clock
        self._sessions: dict[str, float] = {}
        # The attribute dicts per label tuple, built once (bounded like the labels; never mutated).
        self._tool_call_attributes: dict[tuple[str, str, str, str | None], tuple[dict[str, str], ...]] = {}
        self._request_attributes: dict[tuple[str, str, str], tuple[dict[str, str], ...]] = {}

        def open_sessions(options: CallbackOptions) -> Iterable[Observation]:
            cutoff = self._clock() - metrics.SESSION_IDLE_SECONDS
            for session_id in [s for s, seen in self._sessions.items() if seen < cutoff]:
                del self._sessions[session_id]
            return [Observation(len(self._sessions))]

        meter.create_observable_gauge(
            "membrane_mcp.sessions.open",
            [open_sessions],
            "{session}",
            "MCP sessions (handshake era, HTTP) with a request within the SDK's idle timeout",
        )

    def tool_call(self, tool: str, kind: str, outcome: str, seconds: float, tenant: str | None) -> None:
        key = (tool, kind, outcome, tenant)
        found = self._tool_call_attributes.get(key)
        if found is None:
            duration: dict[str, str] = {"tool": tool, "kind": kind}
            if self.tenant_label:
                duration["tenant"] = tenant or ""
            found = self._tool_call_attributes[key] = (duration, {**duration, "outcome": outcome})
        self.tool_call_seconds.record(seconds, found[0])
        self.tool_calls.add(1, found[1])

    def membrane_request(
        self, method: str, route: str, status: str, seconds: float, retries: int, rate_limit_waits: int
    ) -> None:
        key = (method, route, status)
        found = self._request_attributes.get(key)
        if found is None:
            found = self._request_attributes[key] = (
                {"method": method, "route": route, "status": status},
                {"method": method, "route": route},
                {"route": route},
            )
        self.membrane_requests.add(1, found[0])
        self.membrane_request_seconds.record(seconds, found[1])
        if retries:
            self.membrane_retries.add(retries, found[2])
        if rate_limit_waits:
            self.rate_limit_waits.add(rate_limit_waits, found[2])

    def catalog_loaded(self, seconds: float, tools: int, connections: int) -> None:
        self.catalog_load_seconds.record(seconds)
        self.catalog_tools.set(tools)
        self.catalog_connections.set(connections)

    def audit_failure(self) -> None:
        self.audit_failures.add(1)

    def session_seen(self, session_id: str) -> None:
        self._sessions[session_id] = self._clock()


def install(meter_provider: Any) -> OtelMetrics:
    """Record into `meter_provider` from now on (alongside Prometheus, if on); returns the instruments."""
    recorder = OtelMetrics(
        meter_provider.get_meter("membrane_mcp", __version__), tenant_label=metrics.tenant_labelled()
    )
    metrics.add_recorder(recorder)
    return recorder


EXEMPLAR_FILTER_VARIABLE = "OTEL_METRICS_EXEMPLAR_FILTER"


def meter_provider(readers: list[Any], env: Mapping[str, str], resource: Any = None) -> Any:
    """The SDK's meter provider over `readers`, with exemplars off unless ``OTEL_METRICS_EXEMPLAR_FILTER``
    asks for them.

    The SDK's default (``trace_based``) keeps, for every measurement made inside a sampled span, an
    exemplar (value, time, attributes, trace and span id) in each data point's reservoir: with every
    request traced that is ~40 us more CPU per tool call (95 us against 55 us for one tool call and its
    Membrane request, in-process), for a link from metrics to traces that issue 16 does not ask for.
    """
    from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider

    options: dict[str, Any] = {"metric_readers": readers}
    if resource is not None:
        options["resource"] = resource
    if not env.get(EXEMPLAR_FILTER_VARIABLE, "").strip():
        options["exemplar_filter"] = AlwaysOffExemplarFilter()
    return MeterProvider(**options)


def setup_otel_metrics(env: Mapping[str, str] | None = None) -> Callable[[], None] | None:
    """A meter provider exporting every ``OTEL_METRIC_EXPORT_INTERVAL`` ms (SDK default 60 s) when
    ``OTEL_METRICS_EXPORTER`` asks; returns its shutdown (which exports once more)."""
    env = os.environ if env is None else env
    names = exporter_names(env)
    if not names:
        return None
    from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader

    from membrane_mcp.observability.tracing import service_resource

    resource = service_resource()
    readers = []
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

            readers.append(PeriodicExportingMetricReader(OTLPMetricExporter()))
        elif name == "console":
            # stderr (in stdio mode stdout carries the protocol only), one export per line.
            exporter = ConsoleMetricExporter(
                out=sys.stderr, formatter=lambda data: data.to_json(indent=None) + "\n"
            )
            readers.append(PeriodicExportingMetricReader(exporter))
    provider = meter_provider(readers, env, resource)
    recorder = install(provider)
    logger.info("OpenTelemetry metrics on: exporting to %s", ", ".join(names))

    def shutdown() -> None:
        metrics.remove_recorder(recorder)
        provider.shutdown()

    return shutdown
