"""Observing requests to Membrane: a CLIENT span, metrics, and what a tool call's audit needs.

Two decorators on `MembraneClient`: `observe_request` wraps one logical request (`_request`:
retries and the 401 re-mint included) and `observe_attempt` each HTTP exchange inside it
(`_send_once`), which is how retries, rate-limit waits and "was a write sent?" are known
without touching the retry code.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast
from urllib.parse import unquote

import httpx
from opentelemetry.trace import Span, StatusCode

from membrane_mcp.observability import metrics
from membrane_mcp.observability.tracing import start_client_span, with_traceparent

if TYPE_CHECKING:
    from membrane_mcp.membrane import errors as membrane_errors
else:
    membrane_errors = None  # imported on first use: membrane.client imports this module

Outcome = Literal["done", "failed", "unknown"]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

RUN_ROUTE = "/actions/{id}/run"
PROXY_ROUTE = "/connections/{id}/proxy/{path}"
_ROUTES = (
    (re.compile(r"^/connections/([^/]+)/proxy(?:/.*)?$"), PROXY_ROUTE),
    (re.compile(r"^/actions/([^/]+)/run$"), RUN_ROUTE),
    (re.compile(r"^/action-run-logs/([^/]+)$"), "/action-run-logs/{id}"),
    (re.compile(r"^/connections/([^/]+)$"), "/connections/{id}"),
    (re.compile(r"^/actions/([^/]+)$"), "/actions/{id}"),
)
_COLLECTIONS = frozenset({"/connections", "/actions", "/search", "/act"})
_RUN_ID_KEY = b'"actionRunId"'
_RUN_ID = re.compile(rb'"actionRunId"\s*:\s*"([^"\\]{1,200})"')
# Nothing left the machine when these are raised (the same split the retry rules use).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


_span_names: dict[tuple[str, str], str] = {}


def _span_name(method: str, route: str) -> str:
    """`membrane <METHOD> <route template>` (a bounded set: methods times templates)."""
    name = _span_names.get((method, route))
    if name is None:
        name = f"membrane {method} {route}"
        if len(_span_names) < 256:
            _span_names[(method, route)] = name
    return name


def route_template(path: str) -> tuple[str, str | None]:
    """(template, the id in it) for a Membrane API path: labels and span names never carry ids or app paths."""
    for pattern, template in _ROUTES:
        match = pattern.match(path)
        if match:
            return template, unquote(match.group(1))
    if path in _COLLECTIONS:
        return path, None
    return "/" + path.strip("/").split("/", 1)[0] + "/…", None


@dataclass
class MembraneExchange:
    """One logical request to Membrane, as a tool call's audit record sees it."""

    method: str
    route: str
    safe: bool
    status: int | None
    outcome: Outcome
    target_id: str | None
    connection_id: str | None
    action_run_id: str | None


@dataclass
class _Attempts:
    count: int = 0
    rate_limit_waits: int = 0
    last_status: int | None = None
    maybe_sent_without_answer: bool = False


class CallRecorder:
    """Collects the Membrane exchanges of one tool call (set in a context variable by the call's observer)."""

    def __init__(self) -> None:
        self.exchanges: list[MembraneExchange] = []


CURRENT_CALL: ContextVar[CallRecorder | None] = ContextVar("membrane_mcp_call", default=None)
_ATTEMPTS: ContextVar[_Attempts | None] = ContextVar("membrane_mcp_attempts", default=None)


def _errors() -> Any:
    global membrane_errors
    if membrane_errors is None:
        from membrane_mcp.membrane import errors

        membrane_errors = errors
    return membrane_errors


def observe_request(request: F) -> F:
    """Decorates `MembraneClient._request(self, method, path, *, params, headers, safe, ...)`."""

    @functools.wraps(request)
    async def observed(client: Any, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        method = method.upper()
        safe = kwargs.get("safe")
        safe = method in ("GET", "HEAD") if safe is None else bool(safe)
        route, target_id = route_template(path)
        attempts = _Attempts()
        token = _ATTEMPTS.set(attempts)
        started = time.perf_counter()
        span: Span | None = None
        response: httpx.Response | None = None
        error: BaseException | None = None
        try:
            span = start_client_span(
                _span_name(method, route), {"http.request.method": method, "url.template": route}
            )
            kwargs["headers"] = with_traceparent(kwargs.get("headers"), span)
            response = await request(client, method, path, *args, **kwargs)
            return response
        except BaseException as exc:
            error = exc
            raise
        finally:
            _ATTEMPTS.reset(token)
            params = kwargs.get("params")
            connection_id = params.get("connectionId") if isinstance(params, dict) else None
            if route == PROXY_ROUTE:
                connection_id = target_id
            _finish(
                span,
                method,
                route,
                safe,
                target_id,
                connection_id,
                attempts,
                response,
                error,
                time.perf_counter() - started,
            )

    return cast(F, observed)


def observe_attempt(send: F) -> F:
    """Decorates `MembraneClient._send_once`: one HTTP exchange."""

    @functools.wraps(send)
    async def observed(*args: Any, **kwargs: Any) -> Any:
        attempts = _ATTEMPTS.get()
        if attempts is None:
            return await send(*args, **kwargs)
        if attempts.last_status == 429:
            attempts.rate_limit_waits += 1
        attempts.count += 1
        try:
            response: httpx.Response = await send(*args, **kwargs)
        except _NOT_SENT:
            raise
        except BaseException as exc:
            if isinstance(exc, _errors().DeadlineExceeded):
                # Raised before sending (no cause), or while waiting for the answer (caused by the timeout).
                attempts.maybe_sent_without_answer |= exc.__cause__ is not None
            else:  # read errors, dropped connections, cancellation: it may have arrived
                attempts.maybe_sent_without_answer = True
            raise
        attempts.last_status = response.status_code
        return response

    return cast(F, observed)


def _write_outcome(
    response: httpx.Response | None, error: BaseException | None, attempts: _Attempts
) -> Outcome:
    if response is not None:  # an answer, or the app's own status through the proxy
        if response.status_code < 400:
            return "done"
        return "unknown" if response.status_code >= 500 else "failed"
    if isinstance(error, _errors().MembraneError):  # the client's own verdict, as the agent is told it
        return "unknown" if error.outcome_unknown else "failed"
    return "unknown" if attempts.maybe_sent_without_answer else "failed"  # e.g. cancelled in flight


def _action_run_id(route: str, response: httpx.Response | None, error: BaseException | None) -> str | None:
    if route != RUN_ROUTE:
        return None
    if isinstance(error, _errors().MembraneError):
        return str(error.action_run_id) if error.action_run_id else None
    if response is None:
        return None
    # `{"output": ..., "actionRunId": "..."}`: when the key occurs once, read it without parsing a large
    # output a second time (the client parses it); when the output holds the key too, parse to be sure.
    content = response.content
    at = content.find(_RUN_ID_KEY)
    if at < 0:
        return None
    if content.rfind(_RUN_ID_KEY) == at:
        match = _RUN_ID.match(content, at)
        return match.group(1).decode("utf-8", "replace") if match else None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    run_id = body.get("actionRunId") if isinstance(body, dict) else None
    return str(run_id) if run_id is not None else None


def _status_label(response: httpx.Response | None, error: BaseException | None) -> tuple[int | None, str]:
    if response is not None:
        return response.status_code, str(response.status_code)
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status, str(status)
    if isinstance(error, _errors().DeadlineExceeded):
        return None, "deadline"
    if isinstance(error, Exception):
        return None, "error"
    return None, "cancelled"


def _finish(
    span: Span | None,
    method: str,
    route: str,
    safe: bool,
    target_id: str | None,
    connection_id: str | None,
    attempts: _Attempts,
    response: httpx.Response | None,
    error: BaseException | None,
    seconds: float,
) -> None:
    status, label = _status_label(response, error)
    retries = max(0, attempts.count - 1)
    run_id = _action_run_id(route, response, error)
    if span is not None:
        if span.is_recording():  # not when sampled out
            attributes: dict[str, Any] = {"membrane.retry_count": retries}
            if status is not None:
                attributes["http.response.status_code"] = status
            if run_id:
                attributes["membrane.action_run_id"] = run_id
            failed = error is not None or (status is not None and status >= 400)
            if failed:
                attributes["error.type"] = type(error).__name__ if error is not None else str(status)
            span.set_attributes(attributes)
            if failed:
                span.set_status(StatusCode.ERROR)
        span.end()
    metrics.record_membrane_request(method, route, label, seconds, retries, attempts.rate_limit_waits)
    call = CURRENT_CALL.get()
    if call is not None:
        outcome: Outcome = (
            ("done" if error is None else "failed") if safe else _write_outcome(response, error, attempts)
        )
        call.exchanges.append(
            MembraneExchange(method, route, safe, status, outcome, target_id, connection_id, run_id)
        )
