"""Traces, metrics, the audit trail of writes and structured call logs (README, "Operate it").

The whole surface the rest of the code uses:

- `startup_problem(settings)` / `start(settings)`: the CLI checks the settings and the ``OTEL_*``
  variables, then sets up tracing and the log format (returns the shutdown to call at exit);
- `observe_server(server, gateway, settings)`: the transports (server/http.py, server/stdio.py) add the
  MCP middleware to the server `server.app.build_server` made;
- `observe_request` / `observe_attempt`: decorators on `MembraneClient._request` / `_send_once`;
- `observe_catalog_load` / `observe_search`: decorators on `Catalog._load` / `SearchIndex.search`;
- `metrics_routes(settings)`: the `/metrics` route for the HTTP app (none unless `--metrics`);
  `metrics_app(settings)`: the same as an ASGI app, for the multi-user app to put behind its auth.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from membrane_mcp.observability import metrics
from membrane_mcp.observability.audit import AuditLog, audit_log_problem
from membrane_mcp.observability.logs import use_json_format
from membrane_mcp.observability.otel_metrics import metrics_problem, setup_otel_metrics
from membrane_mcp.observability.tracing import (
    HeaderTraceContext,
    active_tracer,
    internal_span,
    record_finished_span,
    setup_tracing,
    tracing_problem,
)

if TYPE_CHECKING:
    from mcp.server import Server
    from mcp.server.context import ServerMiddleware

    from membrane_mcp.observability.calls import CatalogSource
    from membrane_mcp.observability.membrane import observe_attempt, observe_request
    from membrane_mcp.settings import Settings
    from membrane_mcp.tools.gateway import Gateway

__all__ = [
    "ObservabilityConfig",
    "call_observer",
    "metrics_app",
    "metrics_routes",
    "observe_attempt",
    "observe_catalog_load",
    "observe_request",
    "observe_search",
    "observe_server",
    "observe_server_calls",
    "start",
    "startup_problem",
]

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    # observability.membrane imports httpx: loaded with the Membrane client that uses it, not with this
    # package (which `serve` imports before its first answer).
    if name in ("observe_attempt", "observe_request"):
        from membrane_mcp.observability import membrane

        return getattr(membrane, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


F = TypeVar("F", bound=Callable[..., Any])
SEARCH_SPAN = "membrane_mcp search"
AF = TypeVar("AF", bound=Callable[..., Awaitable[Any]])


def startup_problem(settings: Settings) -> str | None:
    return tracing_problem(os.environ) or metrics_problem(os.environ) or audit_log_problem(settings.audit_log)


def start(settings: Settings) -> Callable[[], None]:
    """Process-wide setup (tracing and OTel metrics from ``OTEL_*``, log format, Prometheus metrics);
    returns the shutdown."""
    if settings.log_format == "json":
        use_json_format()
    # The tracer provider first: a module that gets its tracer at import (the mcp SDK's) and is imported
    # after this gets the provider's own tracer instead of the API's proxy (a forwarding layer per span).
    stop_tracing = setup_tracing()
    # Tenants as a label only when one process serves many (bounded by the signed-in customers); only HTTP
    # can, and stdio does not load the HTTP tenants module (and its JWT stack) to find that out.
    multi_user = False
    if settings.transport == "http":
        from membrane_mcp.server.tenants import is_multi_user

        multi_user = is_multi_user(settings)
    metrics.label_tenants(multi_user)
    if settings.metrics:
        metrics.enable()
        if settings.transport != "http":
            logger.warning("--metrics: /metrics is served on the HTTP transport only (--transport http)")
    shutdowns = [stop for stop in (stop_tracing, setup_otel_metrics()) if stop is not None]

    def shutdown() -> None:
        while shutdowns:
            shutdowns.pop(0)()

    if shutdowns:
        flush_on_sigterm(shutdown)
    return shutdown


def flush_on_sigterm(shutdown: Callable[[], None]) -> None:
    """Run `shutdown` (export what is buffered) when SIGTERM ends the process, then end it as SIGTERM does.

    uvicorn handles SIGTERM while it serves, then restores the previous handler and raises the signal
    again: with the default one the process dies there, before the CLI's `finally`, and the spans and
    metrics still buffered are lost. Installed only over the default handler, from the main thread.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def on_sigterm(signum: int, frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            shutdown()
        finally:
            signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)


@dataclass(frozen=True)
class ObservabilityConfig:
    """What the tool-call observer needs from `Settings`."""

    metrics: bool = False
    audit_log: str | None = None
    audit_values: bool = False
    audit_fail_open: bool = False
    tenant: str | None = None


def observability_config(settings: Settings) -> ObservabilityConfig:
    return ObservabilityConfig(
        metrics=settings.metrics,
        audit_log=settings.audit_log,
        audit_values=settings.audit_values,
        audit_fail_open=settings.audit_fail_open,
        tenant=settings.tenant_key,
    )


def observe_server(server: Server[Any], gateway: Gateway, settings: Settings) -> Server[Any]:
    """The server with the MCP middleware added: a `traceparent` header continued (outermost), and each
    tool call observed (span attributes, metrics, audit record, log line). Returns the same server."""
    return observe_server_calls(server, call_observer(gateway.catalog, settings))


def observe_server_calls(server: Server[Any], calls: ServerMiddleware[Any]) -> Server[Any]:
    """`observe_server` with the tool-call observer given: `call_observer`'s, or one that makes it once
    the gateway is open (server/pending_gateway.py)."""
    server.middleware.insert(0, HeaderTraceContext())
    server.middleware.append(calls)
    return server


def call_observer(catalog: CatalogSource, settings: Settings) -> ServerMiddleware[Any]:
    """The middleware that observes each tool call (span attributes, metrics, audit record, log line)."""
    from membrane_mcp.observability.calls import ToolCallObserver

    config = observability_config(settings)
    if config.metrics:
        metrics.enable()
    audit = AuditLog(config.audit_log) if config.audit_log else None
    return ToolCallObserver(catalog, config, audit)


class MetricsEndpoint:
    """ASGI app: GET answers the Prometheus text of `recorded` (a class: Starlette routes call a plain
    function with a Request, and an instance as an ASGI app, which the multi-user app's auth wraps)."""

    def __init__(self, recorded: metrics.Metrics) -> None:
        self.recorded = recorded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("method") in ("GET", "HEAD"):
            response: Response = Response(self.recorded.render(), media_type=metrics.CONTENT_TYPE)
        else:
            response = PlainTextResponse("Method Not Allowed", status_code=405, headers={"Allow": "GET"})
        await response(scope, receive, send)


def metrics_app(settings: Settings) -> ASGIApp | None:
    """The `/metrics` endpoint as an ASGI app (None unless `--metrics`)."""
    return MetricsEndpoint(metrics.enable()) if settings.metrics else None


def metrics_routes(settings: Settings) -> Sequence[Route]:
    app = metrics_app(settings)
    return [] if app is None else [Route("/metrics", app)]


def observe_catalog_load(load: AF) -> AF:
    """Decorates `Catalog._load`: a span, the load time and the catalog's size."""

    @functools.wraps(load)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        with internal_span("membrane_mcp catalog.load") as span:
            snapshot = await load(*args, **kwargs)
            connections, tools = len(snapshot.connections), len(snapshot.entries)
            if span.is_recording():
                span.set_attribute("membrane_mcp.catalog.connections", connections)
                span.set_attribute("membrane_mcp.catalog.tools", tools)
                span.set_attribute("membrane_mcp.catalog.load_errors", len(snapshot.load_errors))
        metrics.record_catalog_load(time.perf_counter() - started, tools, connections)
        return snapshot

    return cast(AF, observed)


def observe_search(search: F) -> F:
    """Decorates `SearchIndex.search(query, limit)`: a span with the query's length and the hit count."""

    @functools.wraps(search)
    def observed(index: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        tracer = active_tracer()
        if tracer is None:
            return search(index, query, *args, **kwargs)
        started = time.time_ns()  # pure computation: the span is recorded once it is done
        try:
            hits = search(index, query, *args, **kwargs)
        except BaseException as exc:
            attributes = {"membrane_mcp.search.query_length": len(query), "error.type": type(exc).__name__}
            record_finished_span(tracer, SEARCH_SPAN, started, attributes, error=True)
            raise
        attributes = {"membrane_mcp.search.query_length": len(query), "membrane_mcp.search.hits": len(hits)}
        record_finished_span(tracer, SEARCH_SPAN, started, attributes)
        return hits

    return cast(F, observed)
