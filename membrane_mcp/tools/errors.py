"""Errors the model can act on, as opposed to bugs.

A `ToolError` becomes an `isError` tool result: it says what failed, why, and what to
do next, so the model can correct itself. Anything else that escapes a handler is a
bug and becomes a JSON-RPC internal error (logged with its traceback on stderr).
"""

from __future__ import annotations

from typing import Any

from membrane_mcp.membrane import errors as membrane_errors


class ToolError(Exception):
    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


# What the agent can do about each kind of Membrane failure; the first matching class wins.
ADVICE: tuple[tuple[type[membrane_errors.MembraneError], str], ...] = (
    (
        membrane_errors.AuthenticationError,
        "Membrane rejected this server's credentials; ask the user to check MEMBRANE_TOKEN (or the workspace key/secret).",
    ),
    (
        membrane_errors.AccessDenied,
        "The Membrane credentials lack permission for this; a workspace admin token may be needed.",
    ),
    (membrane_errors.NotFound, "Check the id or key: list_connections and search_actions show what exists."),
    (
        membrane_errors.ConnectionProblem,
        "The connection needs attention: ask the user to reconnect it (list_connections shows its state and reconnect URL).",
    ),
    (
        membrane_errors.ActionRunError,
        "The app refused the request; fix the input as the message says and try again.",
    ),
    (membrane_errors.BadRequest, "Fix the request as the message says and try again."),
    (membrane_errors.DeadlineExceeded, "The call ran out of time; try again, or narrow the request."),
    (membrane_errors.UpstreamUnavailable, "Membrane or the app is unavailable right now; try again shortly."),
)
FALLBACK_ADVICE = "See the details; try again if the cause looks temporary."


def from_membrane_error(exc: membrane_errors.MembraneError, *, doing: str) -> ToolError:
    """Explain a Membrane failure in terms of what the agent can do about it."""
    details: dict[str, Any] = {"status": exc.status, "type": exc.type, "key": exc.key}
    if exc.action_run_id:
        details["actionRunId"] = exc.action_run_id
    if exc.data:
        details["data"] = exc.data
    reason = exc.message or "no reason given"
    if isinstance(exc, membrane_errors.RateLimited):
        wait = f" after {exc.retry_after:g} s" if exc.retry_after else " later"
        advice = f"Membrane is rate-limiting requests; try again{wait}."
    else:
        advice = next((text for kind, text in ADVICE if isinstance(exc, kind)), FALLBACK_ADVICE)
    run = (
        f" (actionRunId {exc.action_run_id}; its log shows the app's raw exchange)"
        if exc.action_run_id
        else ""
    )
    return ToolError(f"{doing} failed: {reason}{run}. {advice}", details=details)
