"""get_run_log: Membrane's troubleshooting loop, from an `actionRunId` to what happened.

`GET /action-run-logs/{id}` (`?details=true` adds the raw exchange with the app); docs/membrane-api.md
5.8. The record's `action.*` fields are read before the deprecated top-level `actionId`, `input` and
`connectionId`. Input and output are summarised here; the gateway caps the whole result like every output.
"""

from __future__ import annotations

import json
from typing import Any

from membrane_mcp.membrane.errors import MembraneError
from membrane_mcp.tools import errors
from membrane_mcp.tools.arguments import GetRunLogArgs
from membrane_mcp.tools.services import CallContext, ToolDeps

NO_SUCH_RUN = "Pass the actionRunId that a run_action or run_write_action result (or its error) gave."
SUMMARY_CHARS = 2000
"""Input and output longer than this (as JSON) are cut in the summary; `details` has the exchange."""


async def get_run_log(deps: ToolDeps, args: GetRunLogArgs, call: CallContext) -> Any:
    try:
        record = await deps.client.get_action_run_log(args.run_id, details=args.details)
    except MembraneError as exc:
        raise errors.from_membrane_error(
            exc, doing=f"Reading run log {args.run_id}", operation="read", not_found=NO_SUCH_RUN
        ) from exc
    action = _object(record.get("action"))
    integration = _object(record.get("integration"))
    result: dict[str, Any] = {
        "run_id": record.get("id", args.run_id),
        "status": record.get("status"),
        "action": {
            "key": action.get("key"),
            "name": action.get("name") or record.get("name"),
            "id": action.get("id") or record.get("actionId"),
        },
        "app": integration.get("key"),
        "connection": action.get("connectionId") or record.get("connectionId"),
        "input": _summary(action["input"] if "input" in action else record.get("input")),
    }
    if "output" in record:
        result["output"] = _summary(record["output"])
    if record.get("error") is not None:
        result["error"] = record["error"]
    for field, name in (
        ("createdAt", "started_at"),
        ("completedAt", "completed_at"),
        ("duration", "duration_ms"),
    ):
        if record.get(field) is not None:
            result[name] = record[field]
    if args.details:
        result["details"] = record.get("details")
        if result["details"] is None:
            result["details_note"] = "Membrane returned no details for this run."
    else:
        result["next_step"] = "details: true adds the raw request and response exchanged with the app."
    return result


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _summary(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False, default=str)
    if len(text) <= SUMMARY_CHARS:
        return value
    return {"summary": text[: SUMMARY_CHARS - 1] + "…", "chars": len(text)}
