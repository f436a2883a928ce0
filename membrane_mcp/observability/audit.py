"""The audit trail: one JSON line per write, to a file (append) or stderr (`--audit-log PATH|-`).

Each line is written with one `write` on a file opened in append mode for that record, so
lines from concurrent calls never interleave and an external log rotation is followed.
Secrets are masked (`redaction.scrub`) even in the argument values `--audit-values` adds.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from pathlib import Path
from typing import Any

from membrane_mcp.redaction import scrub

logger = logging.getLogger(__name__)

STDERR = "-"


class AuditWriteError(Exception):
    """The record could not be written (the message says where and why)."""


def audit_log_problem(target: str | None) -> str | None:
    """Why the audit log cannot be used, in one line; None if it can (or is off)."""
    if target is None or target == STDERR:
        return None
    folder = Path(target).expanduser().parent
    if not folder.is_dir():
        return f"--audit-log: the folder {folder} does not exist"
    try:
        _append(target, b"")
    except OSError as exc:
        return f"--audit-log: cannot write to {target}: {exc.strerror or exc}"
    return None


def _append(path: str, data: bytes) -> None:
    fd = os.open(os.path.expanduser(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        written = os.write(fd, data)
        if written != len(data):
            raise OSError(f"short write ({written} of {len(data)} bytes)")
    finally:
        os.close(fd)


class AuditLog:
    def __init__(self, target: str) -> None:
        self.target = target
        self._lock = threading.Lock()
        self.healthy = True
        """False after a failed write until one succeeds again: writes are refused meanwhile (fail closed)."""

    def write(self, record: dict[str, Any]) -> None:
        line = json.dumps(scrub(record), ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        try:
            with self._lock:
                if self.target == STDERR:
                    sys.stderr.write(line)
                    sys.stderr.flush()
                else:
                    _append(self.target, line.encode())
        except (OSError, ValueError) as exc:
            self.healthy = False
            raise AuditWriteError(f"could not write the audit record to {self.target}: {exc}") from exc
        self.healthy = True

    def usable(self) -> bool:
        """Whether a write may go ahead: healthy, or (after a failure) the target takes writes again."""
        if self.healthy or self.target == STDERR:
            return self.healthy
        self.healthy = audit_log_problem(self.target) is None
        return self.healthy
