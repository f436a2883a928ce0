"""Logs: `--log-format json` turns every stderr line into one JSON object; one line per tool call.

The per-call line (logger ``membrane_mcp.calls``, INFO) carries the same ids as the call's
span and audit record (`call_id`, `trace_id`, `span_id`, `actionRunId`), so the three join.
Records are scrubbed of secrets when created (see redaction.py), whatever the format.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from membrane_mcp.redaction import scrub

CALL_LOGGER = logging.getLogger("membrane_mcp.calls")
FIELDS_ATTRIBUTE = "membrane_fields"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, FIELDS_ATTRIBUTE, None)
        if isinstance(fields, dict):
            line.update(scrub(fields))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)


def use_json_format(root: logging.Logger | None = None) -> None:
    """Switch the handlers of the root logger (set up by the CLI) to one JSON object per line."""
    for handler in (root or logging.getLogger()).handlers:
        handler.setFormatter(JsonFormatter())


def call_logging() -> bool:
    """Whether the per-call line is written (the logger's level and handlers allow INFO)."""
    return CALL_LOGGER.isEnabledFor(logging.INFO)


def log_call(fields: dict[str, Any]) -> None:
    if not call_logging():
        return
    summary = " ".join(
        f"{key}={fields[key]}"
        for key in ("tool", "kind", "outcome", "duration_ms", "actionRunId", "call_id", "trace_id")
        if fields.get(key) is not None
    )
    CALL_LOGGER.info("tool call %s", summary, extra={FIELDS_ATTRIBUTE: fields})
