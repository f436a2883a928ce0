"""One tool call, observed: span attributes, metrics, the audit record of a write, the log line.

`ToolCallObserver` is a `ServerMiddleware` placed inside the SDK's OpenTelemetry middleware,
so the current span is the SDK's `tools/call` span and every Membrane span of the call is
its child. It sees the call's raw name and arguments and its result before serialisation,
which is where the audit record is written: before the result returns.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from mcp import types
from mcp.shared.exceptions import MCPError
from opentelemetry import trace

from membrane_mcp.observability import metrics
from membrane_mcp.observability.audit import AuditLog, AuditWriteError
from membrane_mcp.observability.logs import call_logging, log_call
from membrane_mcp.observability.membrane import CURRENT_CALL, RUN_ROUTE, CallRecorder, MembraneExchange
from membrane_mcp.observability.tracing import current_ids
from membrane_mcp.tools.catalog import CatalogSnapshot, ConnectionInfo, ToolEntry
from membrane_mcp.tools.meta import META_TOOL_NAMES

if TYPE_CHECKING:
    from membrane_mcp.observability import ObservabilityConfig


class CatalogSource(Protocol):
    @property
    def cached(self) -> CatalogSnapshot | None: ...


logger = logging.getLogger(__name__)

Kind = Literal["read", "write", "meta"]
READ_METHODS = frozenset({"GET", "HEAD"})
RUN_TOOLS = frozenset({"run_action", "run_write_action"})
RAW_TOOLS = frozenset({"raw_request", "raw_write_request"})
WRITE_META_TOOLS = frozenset({"create_action", "connect_app"})
UNKNOWN_TOOL_LABEL = "_unknown"
# Call ids: a random per-process prefix and a counter (unique, and cheaper than a uuid per call).
_CALL_PREFIX = os.urandom(4).hex()
_call_numbers = itertools.count(1)


@dataclass
class Target:
    """What a call acts on, as far as it is known."""

    kind: Kind
    connection: str | None = None
    app: str | None = None
    action: str | None = None
    action_id: str | None = None


def _find_connection(snapshot: CatalogSnapshot | None, ref: Any) -> ConnectionInfo | None:
    if snapshot is None or not isinstance(ref, str):
        return None
    lowered = ref.strip().lower()
    for candidates in (
        [c for c in snapshot.connections if c.id == ref],
        [c for c in snapshot.connections if c.app_key.lower() == lowered],
        [c for c in snapshot.connections if c.name.lower() == lowered],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


def _entry_kind(entry: ToolEntry) -> Kind:
    return "read" if entry.kind == "read" else "write"


def _target_of_entry(entry: ToolEntry) -> Target:
    return Target(_entry_kind(entry), entry.connection_id, entry.app_key, entry.action_key, entry.action_id)


def classify(
    name: str,
    arguments: Mapping[str, Any],
    snapshot: CatalogSnapshot | None,
    exchanges: list[MembraneExchange],
) -> Target | None:
    """The call's kind and target; None when it cannot be told yet (no catalog loaded)."""
    if name in ("list_connections", "search_actions", "describe_action"):
        return Target("meta")
    info = _find_connection(snapshot, arguments.get("connection"))
    connection = info.id if info else _text(arguments.get("connection"))
    app = info.app_key if info else None
    if name in RAW_TOOLS:
        default = "GET" if name == "raw_request" else ""
        kind: Kind = "read" if str(arguments.get("method", default)).upper() in READ_METHODS else "write"
        return Target(kind, connection, app)
    if name == "connect_app":
        return Target("write", None, _text(arguments.get("app")))
    if name == "create_action":
        return Target("write", connection, app)
    if snapshot is None:
        return None
    if name in RUN_TOOLS:
        for exchange in exchanges:
            if exchange.route == RUN_ROUTE:
                for entry in snapshot.by_connection.get(exchange.connection_id or "", []):
                    if entry.action_id == exchange.target_id:
                        return _target_of_entry(entry)
        ref = arguments.get("action")
        for entry in snapshot.by_connection.get(info.id if info else "", []):
            if ref in (entry.action_key, entry.action_id, entry.name):
                return _target_of_entry(entry)
        return Target("meta", connection, app, _text(ref))
    listed = snapshot.by_name.get(name)
    return _target_of_entry(listed) if listed else Target("meta")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def audit_outcome(is_error: bool, exchanges: list[MembraneExchange]) -> str:
    writes = [e for e in exchanges if not e.safe]
    if any(e.outcome == "unknown" for e in writes):
        return "unknown"
    if is_error or any(e.outcome == "failed" for e in writes):
        return "failed"
    return "done"


def result_outcome(result: Any) -> str:
    """ok / error / input_required (MRTR: the client calls again with the user's answer).

    The result is the model, or already its wire dict (the HTTP transport serialises earlier).
    """
    if isinstance(result, types.CallToolResult):
        return "error" if result.is_error else "ok"
    if isinstance(result, Mapping):
        if result.get("resultType") == "input_required" or "inputRequests" in result:
            return "input_required"
        return "error" if result.get("isError") is True else "ok"
    return "input_required"


def _error_result(message: str, details: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=message)],
        structured_content={"error": message, "details": details},
        is_error=True,
    )


def _session_id(ctx: Any) -> str | None:
    """The HTTP transport's `Mcp-Session-Id` (handshake era); None on stdio and in the stateless era."""
    headers = getattr(ctx.request, "headers", None)
    session_id = headers.get("mcp-session-id") if headers is not None else None
    return str(session_id) if session_id else None


def _user() -> str | None:
    try:
        from mcp.server.auth.middleware.auth_context import get_access_token
    except ImportError:  # pragma: no cover - the SDK ships it
        return None
    token = get_access_token()
    return (token.subject or token.client_id) if token is not None else None


class ToolCallObserver:
    """ServerMiddleware for `tools/call` (and the open-session count)."""

    def __init__(self, catalog: CatalogSource, config: ObservabilityConfig, audit: AuditLog | None) -> None:
        self.catalog = catalog
        self.config = config
        self.audit = audit

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        is_call = ctx.method == "tools/call" and isinstance(ctx.params, Mapping)
        recording = metrics.recording()
        session_id = _session_id(ctx) if is_call or recording else None  # read once per request
        if session_id and recording:
            metrics.record_session(session_id)
        if not is_call:
            return await call_next(ctx)
        return await self._observe(ctx, call_next, session_id)

    def _refuses_writes(self, name: str, arguments: Mapping[str, Any]) -> bool:
        """Whether this call may write while the audit log cannot take its record (then it is refused)."""
        if self.audit is None or self.config.audit_fail_open:
            return False  # classified only when it matters: once per call is enough in `_finish`
        before = classify(name, arguments, self.catalog.cached, [])
        may_write = before is None or before.kind == "write" or (before.kind == "meta" and name in RUN_TOOLS)
        return may_write and not self.audit.usable()

    async def _observe(self, ctx: Any, call_next: Any, session_id: str | None) -> Any:
        name = str(ctx.params.get("name", ""))
        raw_arguments = ctx.params.get("arguments")
        arguments: Mapping[str, Any] = raw_arguments if isinstance(raw_arguments, Mapping) else {}
        call_id = f"{_CALL_PREFIX}{next(_call_numbers):08x}"
        span = trace.get_current_span()  # its attributes are set once, in _finish (one lock, one pass)

        if self._refuses_writes(name, arguments):
            assert self.audit is not None
            message = (
                f"{name} was refused and nothing was sent: the audit log ({self.audit.target}) cannot be written, "
                "and writes are not run unrecorded. Fix the audit log (or set MEMBRANE_MCP_AUDIT_FAIL_OPEN=true)."
            )
            result: Any = _error_result(message, {"auditLog": "unavailable"})
            self._finish(name, arguments, call_id, session_id, span, result, "refused", CallRecorder(), 0.0)
            return result

        recorder = CallRecorder()
        token = CURRENT_CALL.set(recorder)
        started = time.perf_counter()
        result = None
        outcome = "exception"
        try:
            result = await call_next(ctx)
            outcome = result_outcome(result)
        except MCPError:
            outcome = "rejected"
            raise
        except Exception:
            outcome = "exception"
            raise
        except BaseException:
            outcome = "cancelled"
            raise
        finally:
            CURRENT_CALL.reset(token)
            result = self._finish(
                name,
                arguments,
                call_id,
                session_id,
                span,
                result,
                outcome,
                recorder,
                time.perf_counter() - started,
            )
        return result

    def _finish(
        self,
        name: str,
        arguments: Mapping[str, Any],
        call_id: str,
        session_id: str | None,
        span: Any,
        result: Any,
        outcome: str,
        recorder: CallRecorder,
        seconds: float,
    ) -> Any:
        snapshot = self.catalog.cached
        target = classify(name, arguments, snapshot, recorder.exchanges) or Target("meta")
        known = name in META_TOOL_NAMES or (snapshot is not None and name in snapshot.by_name)
        tool_label = name if known else UNKNOWN_TOOL_LABEL
        run_ids = [e.action_run_id for e in recorder.exchanges if e.action_run_id]
        run_id = run_ids[-1] if run_ids else None
        if span.is_recording():
            attributes: dict[str, Any] = {
                "membrane_mcp.call.id": call_id,
                "membrane_mcp.arguments.count": len(arguments),
                "membrane_mcp.tool.kind": target.kind,
                "membrane_mcp.call.outcome": outcome,
            }
            if session_id:
                attributes["mcp.session.id"] = session_id
            if run_id:
                attributes["membrane.action_run_id"] = run_id
            span.set_attributes(attributes)
        metrics.record_tool_call(tool_label, target.kind, outcome, seconds, self.config.tenant)
        audited = target.kind == "write" and outcome not in ("input_required", "rejected")
        if not audited and not call_logging():
            return result  # nothing else to record: no log line is written and no audit record is due
        trace_id, span_id = current_ids()
        fields: dict[str, Any] = {
            "event": "tool_call",
            "call_id": call_id,
            "trace_id": trace_id,
            "span_id": span_id,
            "session_id": session_id,
            "tool": tool_label,
            "kind": target.kind,
            "outcome": outcome,
            "connection": target.connection,
            "action": target.action,
            "actionRunId": run_id,
            "duration_ms": round(seconds * 1000, 1),
        }
        audit_fields = None
        if audited:
            audit_fields = self._audit_record(fields, name, arguments, target, result, outcome, recorder)
            fields["audit"] = audit_fields["outcome"]
        log_call({k: v for k, v in fields.items() if v is not None})
        if audit_fields is not None and self.audit is not None:
            return self._write_audit(audit_fields, result)
        return result

    def _audit_record(
        self,
        fields: dict[str, Any],
        name: str,
        arguments: Mapping[str, Any],
        target: Target,
        result: Any,
        outcome: str,
        recorder: CallRecorder,
    ) -> dict[str, Any]:
        is_error = outcome != "ok"
        writes = [e for e in recorder.exchanges if not e.safe]
        record: dict[str, Any] = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": "write",
            "call_id": fields["call_id"],
            "trace_id": fields["trace_id"],
            "span_id": fields["span_id"],
            "session_id": fields["session_id"],
            "tenant": self.config.tenant,
            "user": _user(),
            "tool": name,
            "connection": target.connection,
            "app": target.app,
            "action": target.action,
            "action_id": target.action_id,
            "outcome": "unknown" if outcome == "cancelled" and writes else audit_outcome(is_error, writes),
            "actionRunId": fields["actionRunId"],
            "membrane_status": writes[-1].status if writes else None,
            "membrane_writes": len(writes),
            "argument_keys": sorted(str(key) for key in arguments),
            "duration_ms": fields["duration_ms"],
        }
        if outcome == "refused":
            record["outcome"] = "failed"
            record["refused"] = "audit log unavailable"
        if name in RAW_TOOLS:
            record["method"] = str(arguments.get("method", "GET" if name == "raw_request" else "")).upper()
            record["path"] = str(arguments.get("path", "")).split("?", 1)[0]
        action_input = arguments.get("input") if name in RUN_TOOLS else arguments
        if name in RUN_TOOLS and isinstance(action_input, Mapping):
            record["input_keys"] = sorted(str(key) for key in action_input)
        if self.config.audit_values:
            record["arguments"] = dict(arguments)
        return {k: v for k, v in record.items() if v is not None}

    def _write_audit(self, record: dict[str, Any], result: Any) -> Any:
        assert self.audit is not None
        try:
            self.audit.write(record)
        except AuditWriteError as exc:
            metrics.record_audit_failure()
            logger.error("%s (call %s, outcome %s)", exc, record.get("call_id"), record.get("outcome"))
            if self.config.audit_fail_open or record.get("refused"):
                return result
            message = (
                f"{record['tool']} finished (outcome: {record['outcome']}) but its audit record could not be "
                "written, so the result is withheld and further writes are refused until the audit log works. "
                "Do not repeat the call: read the records back to see its effect."
            )
            details: dict[str, Any] = {
                k: record[k] for k in ("outcome", "actionRunId", "call_id") if k in record
            }
            return _error_result(message, {**details, "auditLog": "unavailable"})
        return result
