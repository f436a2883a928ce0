"""Traces: the OpenTelemetry SDK, configured by the standard ``OTEL_*`` variables, off unless one is set.

The mcp SDK already opens a server span per MCP request (its `OpenTelemetryMiddleware`,
continuing a ``traceparent`` from the request's ``_meta``). Here: the exporter setup, a
middleware that continues a ``traceparent`` sent as an HTTP header when ``_meta`` has none,
and the span helpers the Membrane client, the catalog and search use. Spans carry names,
ids, counts and sizes; never arguments, results or credentials.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import Span, SpanKind, StatusCode

from membrane_mcp import __version__

logger = logging.getLogger(__name__)

TRACEPARENT = "traceparent"
SUPPORTED_EXPORTERS = ("otlp", "console", "none")


def exporter_names(env: Mapping[str, str]) -> list[str]:
    """Which span exporters the environment asks for; empty when tracing is off."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return []
    listed = env.get("OTEL_TRACES_EXPORTER")
    if listed is not None:
        names = [name.strip().lower() for name in listed.split(",") if name.strip()]
        return [name for name in names if name != "none"]
    if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        return ["otlp"]
    return []


def tracing_problem(env: Mapping[str, str]) -> str | None:
    unknown = [name for name in exporter_names(env) if name not in SUPPORTED_EXPORTERS]
    if unknown:
        return (
            f"OTEL_TRACES_EXPORTER: unsupported exporter(s) {', '.join(unknown)}; "
            f"use {', '.join(SUPPORTED_EXPORTERS)} (OTLP is sent over HTTP/protobuf)"
        )
    return None


def service_resource() -> Any:
    """This service's OpenTelemetry resource: OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES, else membrane-mcp."""
    from opentelemetry.sdk.resources import Resource

    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "membrane-mcp"}))
    return resource


def setup_tracing(env: Mapping[str, str] | None = None) -> Callable[[], None] | None:
    """Install an SDK tracer provider when the environment asks for one; returns its shutdown."""
    env = os.environ if env is None else env
    names = exporter_names(env)
    if not names:
        return None
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    from membrane_mcp.observability.sampling import default_sampler

    # The sampler from OTEL_TRACES_SAMPLER / _ARG (the SDK's, unless it is the default).
    provider = TracerProvider(resource=service_resource(), sampler=default_sampler(env))
    for name in names:
        if name == "otlp":
            from membrane_mcp.observability.otlp import OtlpSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OtlpSpanExporter()))
        elif name == "console":
            # stderr (in stdio mode stdout carries the protocol only), one span per line.
            exporter = ConsoleSpanExporter(
                out=sys.stderr, formatter=lambda span: span.to_json(indent=None) + "\n"
            )
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    logger.info("tracing on: exporting spans to %s", ", ".join(names))
    return provider.shutdown


_tracer: trace.Tracer | None = None


def active_tracer() -> trace.Tracer | None:
    """This package's tracer from the installed SDK tracer provider, or None while there is none.

    The provider's own tracer, not the API's module-level proxy, which adds a forwarding layer to
    every span it starts (checked until a provider is installed).
    """
    global _tracer
    if _tracer is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
            _tracer = provider.get_tracer("membrane_mcp", __version__)
    return _tracer


def tracing_active() -> bool:
    """Whether an SDK tracer provider is installed, so spans are recorded."""
    return active_tracer() is not None


def start_client_span(name: str, attributes: dict[str, Any]) -> Span | None:
    """A CLIENT span for one request to Membrane, or None without a tracer provider. The caller ends it.

    It is not made current: nothing under it makes spans, and the `traceparent` sent with the request
    is written from it (`with_traceparent(headers, span)`), so the context attach and detach (a third
    of a span's cost) is not paid per request.
    """
    tracer = active_tracer()
    if tracer is None:
        return None
    return tracer.start_span(
        name,
        kind=SpanKind.CLIENT,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    )


@contextmanager
def internal_span(name: str, attributes: dict[str, Any] | None = None) -> Iterator[Span]:
    tracer = active_tracer()
    if tracer is None:
        yield trace.INVALID_SPAN
        return
    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=True
    ) as span:
        yield span


def record_finished_span(
    tracer: trace.Tracer, name: str, start_time: int, attributes: dict[str, Any], error: bool = False
) -> None:
    """A span for work that has already run (`start_time` from `time.time_ns()` before it), started and
    ended now with all its attributes: for work that has no child span and sends no trace context,
    so nothing needs the span while it runs (one attribute pass, no context attach and detach)."""
    span = tracer.start_span(name, start_time=start_time, attributes=attributes)
    if error:
        span.set_status(StatusCode.ERROR)
    span.end()


def with_traceparent(headers: Mapping[str, str] | None, span: Span | None = None) -> Mapping[str, str] | None:
    """The headers plus the W3C trace context of `span` (by default the current span); unchanged when
    there is none (without a tracer provider, an inbound `traceparent` is still passed on)."""
    context = (span if span is not None else trace.get_current_span()).get_span_context()
    if not context.is_valid:
        return headers
    # The W3C header written directly: what the default propagator writes, at a fraction of the cost.
    traceparent = f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    carrier = {**headers, TRACEPARENT: traceparent} if headers else {TRACEPARENT: traceparent}
    trace_state = context.trace_state
    if trace_state is not trace.DEFAULT_TRACE_STATE and trace_state:  # the default one is empty
        carrier["tracestate"] = trace_state.to_header()
    return carrier


def current_ids() -> tuple[str | None, str | None]:
    """(trace id, span id) of the current span in hex, or Nones when there is no valid one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def _meta_has_traceparent(meta: Any) -> bool:
    if meta is None:
        return False
    if isinstance(meta, Mapping):
        return TRACEPARENT in meta
    return TRACEPARENT in (getattr(meta, "model_extra", None) or {})


class HeaderTraceContext:
    """ServerMiddleware (outermost): continue a `traceparent` HTTP header when `_meta` carries none.

    It attaches the header's context as the ambient one, and the SDK's span (which only reads
    `_meta`) falls back to ambient parenting.
    """

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        headers = getattr(ctx.request, "headers", None)
        if headers is None or TRACEPARENT not in headers or _meta_has_traceparent(ctx.meta):
            return await call_next(ctx)
        extracted = propagate.extract({k: v for k, v in headers.items() if k in (TRACEPARENT, "tracestate")})
        if not trace.get_current_span(extracted).get_span_context().is_valid:
            return await call_next(ctx)
        token = otel_context.attach(extracted)
        try:
            return await call_next(ctx)
        finally:
            otel_context.detach(token)
