"""Typed errors built from Membrane's error envelope (`{type, key, message, data, causedByError?}`)."""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

# The SDK's ErrorType enum; tells Membrane's own envelope from an app body passed through the proxy.
MEMBRANE_ERROR_TYPES = frozenset(
    {
        "bad_request",
        "connection",
        "configuration",
        "dependency_error",
        "flow_run",
        "flow_instance_setup",
        "concurrency",
        "internal",
        "action_run",
        "action_instance_setup",
        "unit_run",
        "custom_code",
        "insufficient_credit",
        "openrouter_not_configured",
    }
)

_BODY_EXCERPT = 300


class MembraneError(Exception):
    """Any failure talking to Membrane. `type`/`key` come from the envelope when there was one."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,
        key: str | None = None,
        data: Any = None,
        action_run_id: str | None = None,
        retry_after: float | None = None,
        caused_by: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.key = key
        self.data = data
        self.action_run_id = action_run_id
        self.retry_after = retry_after
        self.caused_by = dict(caused_by) if caused_by else None

    def __str__(self) -> str:
        tags = [f"HTTP {self.status}"] if self.status else []
        if self.type:
            tags.append(self.type + (f"/{self.key}" if self.key else ""))
        if self.action_run_id:
            tags.append(f"actionRunId={self.action_run_id}")
        return f"{self.message} ({', '.join(tags)})" if tags else self.message

    def __repr__(self) -> str:
        name = type(self).__name__
        return f"{name}({self.message!r}, status={self.status}, type={self.type!r}, key={self.key!r})"


class AuthenticationError(MembraneError):
    """401 / not_authenticated: the token is missing, invalid or expired."""


class AccessDenied(MembraneError):
    """403 / access_denied: e.g. a tenant token doing a manager-only call."""


class NotFound(MembraneError):
    """404 / not_found."""


class RateLimited(MembraneError):
    """429: Membrane's own rate limit. `retry_after` is in seconds when the server sent one."""


class BadRequest(MembraneError):
    """400 / bad_request: invalid input, already_exists, ..."""


class ActionRunError(MembraneError):
    """The action ran and failed (type action_run). `action_run_id` points at the run log."""


class ConnectionProblem(MembraneError):
    """The connection to the external app is broken (type connection, e.g. connection_is_defunct)."""


class UpstreamUnavailable(MembraneError):
    """Membrane could not be reached or answered 5xx (after any retries that were safe)."""


class DeadlineExceeded(MembraneError):
    """The caller's deadline ran out before an answer came back."""


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date); None if absent/invalid."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def parse_envelope(body: bytes) -> dict[str, Any] | None:
    """The body as Membrane's error envelope, or None if it is not one (not JSON, or no known `type`)."""
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("type") not in MEMBRANE_ERROR_TYPES or not isinstance(doc.get("message", ""), str):
        return None
    return doc


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _class_for(status: int, type_: str | None, key: str | None) -> type[MembraneError]:
    # Meaning (type/key) wins over the status code: the SDK docs say never to branch on status alone.
    if type_ == "action_run":
        return ActionRunError
    if type_ == "connection":
        return ConnectionProblem
    by_key: dict[str | None, type[MembraneError]] = {
        "not_authenticated": AuthenticationError,
        "access_denied": AccessDenied,
        "not_found": NotFound,
        "rate_limit_exceeded": RateLimited,
    }
    if key in by_key:
        return by_key[key]
    by_status: dict[int, type[MembraneError]] = {
        401: AuthenticationError,
        403: AccessDenied,
        404: NotFound,
        429: RateLimited,
    }
    if status in by_status:
        return by_status[status]
    if status >= 500:
        return UpstreamUnavailable
    if type_ == "bad_request" or status == 400:
        return BadRequest
    return MembraneError


def error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    *,
    request_line: str = "",
    secrets: Iterable[str] = (),
) -> MembraneError:
    """Build the typed error for a non-2xx Membrane response. `secrets` are scrubbed from the message."""
    secrets = list(secrets)
    retry_after = parse_retry_after(headers.get("retry-after"))
    envelope = parse_envelope(body)
    where = f" ({request_line})" if request_line else ""
    if envelope is None:
        excerpt = body[:_BODY_EXCERPT].decode("utf-8", "replace").strip() or "<empty body>"
        cls = _class_for(status, None, None)
        message = _scrub(f"Membrane answered HTTP {status}{where}: {excerpt}", secrets)
        return cls(message, status=status, retry_after=retry_after)
    type_ = envelope.get("type")
    key = envelope.get("key") if isinstance(envelope.get("key"), str) else None
    data = envelope.get("data")
    run_id = envelope.get("actionRunId")
    if run_id is None and isinstance(data, dict):
        run_id = data.get("actionRunId")
    message = str(envelope.get("message") or f"Membrane error {type_}")
    caused = envelope.get("causedByError")
    if isinstance(caused, dict) and caused.get("message"):
        message += f" (caused by: {caused['message']})"
    cls = _class_for(status, type_, key)
    return cls(
        _scrub(message, secrets),
        status=status,
        type=type_,
        key=key,
        data=data,
        action_run_id=str(run_id) if run_id is not None else None,
        retry_after=retry_after,
        caused_by=caused if isinstance(caused, dict) else None,
    )
