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


def from_membrane_error(exc: membrane_errors.MembraneError, *, doing: str) -> ToolError:
    """Explain a Membrane failure in terms of what the agent can do about it."""
    details: dict[str, Any] = {"status": exc.status, "type": exc.type, "key": exc.key}
    if exc.action_run_id:
        details["actionRunId"] = exc.action_run_id
    if exc.data:
        details["data"] = exc.data
    reason = exc.message or "no reason given"
    if isinstance(exc, membrane_errors.AuthenticationError):
        advice = "Membrane rejected this server's credentials; ask the user to check MEMBRANE_TOKEN (or the workspace key/secret)."
    elif isinstance(exc, membrane_errors.AccessDenied):
        advice = "The Membrane credentials lack permission for this; a workspace admin token may be needed."
    elif isinstance(exc, membrane_errors.NotFound):
        advice = "Check the id or key: list_connections and search_actions show what exists."
    elif isinstance(exc, membrane_errors.RateLimited):
        wait = f" after {exc.retry_after:g} s" if exc.retry_after else " later"
        advice = f"Membrane is rate-limiting requests; try again{wait}."
    elif isinstance(exc, membrane_errors.ConnectionProblem):
        advice = "The connection needs attention: ask the user to reconnect it (list_connections shows its state and reconnect URL)."
    elif isinstance(exc, membrane_errors.ActionRunError):
        advice = "The app refused the request; fix the input as the message says and try again."
    elif isinstance(exc, membrane_errors.BadRequest):
        advice = "Fix the request as the message says and try again."
    elif isinstance(exc, membrane_errors.DeadlineExceeded):
        advice = "The call ran out of time; try again, or narrow the request."
    elif isinstance(exc, membrane_errors.UpstreamUnavailable):
        advice = "Membrane or the app is unavailable right now; try again shortly."
    else:
        advice = "See the details; try again if the cause looks temporary."
    run = f" (actionRunId {exc.action_run_id}; its log shows the app's raw exchange)" if exc.action_run_id else ""
    return ToolError(f"{doing} failed: {reason}{run}. {advice}", details=details)
