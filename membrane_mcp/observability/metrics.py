"""Metrics in Prometheus text format, served at /metrics on the HTTP transport (`--metrics`).

Off by default: until `enable()` runs, `current()` is None and every recording site is one
`if`. Labels are bounded sets (tool names come from the catalog, routes are templates,
outcomes are fixed words); no argument, result or id ever becomes a label.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# The SDK's default session idle timeout (mcp.server.streamable_http_manager): a session idle longer is closed.
SESSION_IDLE_SECONDS = 30 * 60
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 180.0)


class Metrics:
    """The instruments, on a registry of their own (so tests and embedders get a clean one)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        # Imported here: a server without --metrics never loads prometheus_client (startup time).
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.tool_calls = Counter(
            "membrane_mcp_tool_calls", "MCP tool calls", ["tool", "kind", "outcome"], registry=r
        )
        self.tool_call_seconds = Histogram(
            "membrane_mcp_tool_call_duration_seconds",
            "Duration of MCP tool calls",
            ["tool", "kind"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.membrane_requests = Counter(
            "membrane_mcp_membrane_requests",
            "Requests to Membrane's API (one per logical call, retries included)",
            ["method", "route", "status"],
            registry=r,
        )
        self.membrane_request_seconds = Histogram(
            "membrane_mcp_membrane_request_duration_seconds",
            "Duration of requests to Membrane's API, retries included",
            ["method", "route"],
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.membrane_retries = Counter(
            "membrane_mcp_membrane_retries", "Repeated attempts of Membrane requests", ["route"], registry=r
        )
        self.rate_limit_waits = Counter(
            "membrane_mcp_membrane_rate_limit_waits",
            "Waits after a 429 from Membrane before trying again",
            ["route"],
            registry=r,
        )
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
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self._clock = clock
        self._sessions: dict[str, float] = {}  # Mcp-Session-Id -> last request
        self.open_sessions = Gauge(
            "membrane_mcp_open_sessions",
            "MCP sessions (handshake era, HTTP) with a request within the SDK's idle timeout",
            registry=r,
        )
        self.open_sessions.set_function(self._open_sessions)

    def child(self, metric: Any, *labels: str) -> Any:
        """`metric.labels(*labels)`, memoised: prometheus_client validates and locks on every lookup."""
        key = (id(metric), labels)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*labels)
        return found

    def session_seen(self, session_id: str) -> None:
        self._sessions[session_id] = self._clock()

    def _open_sessions(self) -> float:
        cutoff = self._clock() - SESSION_IDLE_SECONDS
        for session_id in [s for s, seen in self._sessions.items() if seen < cutoff]:
            del self._sessions[session_id]
        return float(len(self._sessions))

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


_current: Metrics | None = None


def enable() -> Metrics:
    """Start recording (idempotent); returns the process's instruments."""
    global _current
    if _current is None:
        _current = Metrics()
    return _current


def reset() -> Metrics:
    """Fresh instruments (tests)."""
    global _current
    _current = Metrics()
    return _current


def current() -> Metrics | None:
    return _current
