"""Typed errors built from Membrane's error envelope (`{type, key, message, data, causedByError?}`).

These errors carry facts, not advice: what failed (`kind`, `status`, Membrane's `type`/`key`), what the
other side said (`reason`, scrubbed of secrets), which run it was (`action_run_id`), whether the request
may have taken effect although it failed (`outcome_unknown`), and how long to wait (`retry_after`).
The words an agent reads are written from these fields in ``membrane_mcp.tools.errors``; ``str()``
of an error is for logs.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:
    from pydantic import ValidationError

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

ErrorKind = Literal[
    "membrane",
    "auth",
    "access_denied",
    "not_found",
    "rate_limited",
    "bad_request",
    "action_failed",
    "connection_problem",
    "unavailable",
    "deadline",
    "invalid_answer",
]


class MembraneError(Exception):
    """Any failure talking to Membrane.

    - `reason`: what Membrane (or the app, or the network library) said, secrets scrubbed; may be empty.
    - `status`: the HTTP status when there was an answer.
    - `type` / `key` / `data` / `caused_by`: from Membrane's error envelope when there was one.
    - `request_line`: e.g. ``POST /actions/x/run`` (no query, no host).
    - `sent`: False when the request certainly never left this machine (nothing can have happened).
    - `outcome_unknown`: the request was a write that may have reached Membrane before it failed;
      it was not repeated, and whether it took effect is not known.
    - `attempts`: how many times the request was sent (retries of safe requests).
    """

    kind: ClassVar[ErrorKind] = "membrane"

    def __init__(
        self,
        reason: str = "",
        *,
        status: int | None = None,
        type: str | None = None,
        key: str | None = None,
        data: Any = None,
        action_run_id: str | None = None,
        retry_after: float | None = None,
        caused_by: Mapping[str, Any] | None = None,
        request_line: str = "",
        sent: bool = True,
        outcome_unknown: bool = False,
        attempts: int = 1,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.type = type
        self.key = key
        self.data = data
        self.action_run_id = action_run_id
        self.retry_after = retry_after
        self.caused_by = dict(caused_by) if caused_by else None
        self.request_line = request_line
        self.sent = sent
        self.outcome_unknown = outcome_unknown
        self.attempts = attempts

    @property
    def message(self) -> str:
        """Alias of `reason` (what the other side said)."""
        return self.reason

    @property
    def caused_by_message(self) -> str | None:
        message = self.caused_by.get("message") if self.caused_by else None
        return str(message) if message else None

    def __str__(self) -> str:
        tags: list[str] = [self.kind]
        if self.status:
            tags.append(f"HTTP {self.status}")
        if self.type:
            tags.append(self.type + (f"/{self.key}" if self.key else ""))
        if self.request_line:
            tags.append(self.request_line)
        if self.action_run_id:
            tags.append(f"actionRunId={self.action_run_id}")
        if self.attempts > 1:
            tags.append(f"{self.attempts} attempts")
        if self.outcome_unknown:
            tags.append("outcome unknown")
        reason = self.reason or "no reason given"
        if self.caused_by_message:
            reason += f" (caused by: {self.caused_by_message})"
        return f"{reason} ({', '.join(tags)})"

    def __repr__(self) -> str:
        name = type(self).__name__
        return (
            f"{name}({self.reason!r}, status={self.status}, type={self.type!r}, key={self.key!r}, "
            f"outcome_unknown={self.outcome_unknown})"
        )


class AuthenticationError(MembraneError):
    """401 / not_authenticated: the token is missing, invalid or expired."""

    kind = "auth"


class AccessDenied(MembraneError):
    """403 / access_denied: e.g. a tenant token doing a manager-only call."""

    kind = "access_denied"


class NotFound(MembraneError):
    """404 / not_found."""

    kind = "not_found"


class RateLimited(MembraneError):
    """429: Membrane's own rate limit. `retry_after` is in seconds when the server sent one."""

    kind = "rate_limited"


class BadRequest(MembraneError):
    """400 / bad_request: invalid input, already_exists, ..."""

    kind = "bad_request"


class ActionRunError(MembraneError):
    """The action ran and failed (type action_run). `action_run_id` points at the run log."""

    kind = "action_failed"


class ConnectionProblem(MembraneError):
    """The connection to the external app is broken (type connection, e.g. connection_is_defunct)."""

    kind = "connection_problem"


class UpstreamUnavailable(MembraneError):
    """Membrane could not be reached, dropped the connection, or answered 5xx (after any safe retries).

    `status` is None for a network failure; `reason` then names the network error.
    """

    kind = "unavailable"


class DeadlineExceeded(MembraneError):
    """The caller's deadline ran out before an answer came back (`sent`: whether the request had left)."""

    kind = "deadline"


class InvalidAnswer(MembraneError):
    """Membrane answered 2xx with a body that is not JSON."""

    kind = "invalid_answer"


def validation_problems(error: ValidationError) -> list[str]:
    """A pydantic validation error's problems, one `where: what` line each (its own text spans many lines)."""
    return [f"{'.'.join(map(str, e['loc'])) or '(root)'}: {e['msg']}" for e in error.errors()]


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
    """Build the typed error for a non-2xx Membrane response. `secrets` are scrubbed from what it quotes."""
    secrets = list(secrets)
    retry_after = parse_retry_after(headers.get("retry-after"))
    envelope = parse_envelope(body)
    if envelope is None:
        excerpt = body[:_BODY_EXCERPT].decode("utf-8", "replace").strip()
        cls = _class_for(status, None, None)
        return cls(
            _scrub(excerpt, secrets), status=status, retry_after=retry_after, request_line=request_line
        )
    type_ = envelope.get("type")
    key = envelope.get("key") if isinstance(envelope.get("key"), str) else None
    data = envelope.get("data")
    run_id = envelope.get("actionRunId")
    if run_id is None and isinstance(data, dict):
        run_id = data.get("actionRunId")
    caused = envelope.get("causedByError")
    if isinstance(caused, dict):
        caused = {**caused, "message": _scrub(str(caused.get("message") or ""), secrets)}
    cls = _class_for(status, type_, key)
    return cls(
        _scrub(str(envelope.get("message") or ""), secrets),
        status=status,
        type=type_,
        key=key,
        data=data,
        action_run_id=str(run_id) if run_id is not None else None,
        retry_after=retry_after,
        caused_by=caused if isinstance(caused, dict) else None,
        request_line=request_line,
    )
