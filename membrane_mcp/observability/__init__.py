"""Traces, metrics, the audit trail of writes and structured call logs (README, "Operate it").

The whole surface the rest of the code uses:

- `startup_problem(settings)` / `start(settings)`: the CLI checks the settings and the ``OTEL_*``
  variables, then sets up tracing and the log format (returns the shutdown to call at exit);
- `observe_server(server, gateway, settings)`: the transports (server/http.py, server/stdio.py) add the
  MCP middleware to the server `server.app.build_server` made;
- `observe_request` / `observe_attempt`: decorators on `MembraneClient._request` / `_send_once`;
- `observe_catalog_load` / `observe_search`: decorators on `Catalog._load` / `SearchIndex.search`;
- `metrics_routes(settings)`: the `/metrics` route for the HTTP app (none unless `--metrics`).
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from membrane_mcp.observability import metrics
from membrane_mcp.observability.audit import AuditLog, audit_log_problem
from membrane_mcp.observability.logs import use_json_format
from membrane_mcp.observability.membrane import observe_attempt, observe_request
from membrane_mcp.observability.otel_metrics import metrics_problem, setup_otel_metrics
from membrane_mcp.observability.tracing import (
    HeaderTraceContext,
    internal_span,
    setup_tracing,
    tracing_problem,
)

if TYPE_CHECKING:
    from mcp.server import Server

    from membrane_mcp.settings import Settings
    from membrane_mcp.tools.gateway import Gateway

__all__ = [
    "ObservabilityConfig",
    "metrics_routes",
    "observe_attempt",
    "observe_catalog_load",
    "observe_request",
    "observe_search",
    "observe_server",
    "start",
    "startup_problem",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
AF = TypeVar("AF", bound=Callable[..., Awaitable[Any]])


def startup_problem(settings: Settings) -> str | None:
    return tracing_problem(os.environ) or metrics_problem(os.environ) or audit_log_problem(settings.audit_log)


def start(settings: Settings) -> Callable[[], None]:
    """Process-wide setup (tracing and OTel metrics from ``OTEL_*``, log format, Prometheus metrics);
    returns the shutdown."""
    if settings.log_format == "json":
        use_json_format()
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
    shutdowns = [stop for stop in (setup_tracing(), setup_otel_metrics()) if stop is not None]

    def shutdown() -> None:
        for stop in shutdowns:
            stop()

    return shutdown


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
    from membrane_mcp.observability.calls import ToolCallObserver

    config = observability_config(settings)
    if config.metrics:
        metrics.enable()
    audit = AuditLog(config.audit_log) if config.audit_log else None
    server.middleware.insert(0, HeaderTraceContext())
    server.middleware.append(ToolCallObserver(gateway.catalog, config, audit))
    return server


def metrics_routes(settings: Settings) -> Sequence[Route]:
    if not settings.metrics:
        return []
    recorded = metrics.enable()

    async def serve_metrics(request: Request) -> Response:
        return Response(recorded.render(), media_type=metrics.CONTENT_TYPE)

    return [Route("/metrics", serve_metrics, methods=["GET"])]


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
        with internal_span("membrane_mcp search", {"membrane_mcp.search.query_length": len(query)}) as span:
            hits = search(index, query, *args, **kwargs)
            if span.is_recording():
                span.set_attribute("membrane_mcp.search.hits", len(hits))
            return hits

    return cast(F, observed)
