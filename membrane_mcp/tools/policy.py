"""One policy decides both what is listed and what may be called.

A tool the policy hides answers exactly like an unknown tool, so its existence does
not leak. Rules combine predictably: read-only wins over everything; a deny pattern
wins over an allow pattern; `deny_destructive` removes updates, deletes and unknown
writes but keeps reads and creates.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from membrane_mcp.tools.annotations import ActionKind, is_destructive, is_read_only

READ_ONLY_META_TOOLS = frozenset({"list_connections", "search_actions", "raw_request", "run_action"})
"""Meta tools still offered under --read-only (raw_request is limited to GET/HEAD, run_action to reads)."""


@dataclass(frozen=True)
class Policy:
    read_only: bool = False
    allow_actions: Sequence[str] = ()
    deny_actions: Sequence[str] = ()
    deny_destructive: bool = False
    raw_request_enabled: bool = True

    def allows_action(self, app_key: str, action_key: str, kind: ActionKind) -> bool:
        if self.read_only and not is_read_only(kind):
            return False
        qualified = f"{app_key}:{action_key}"
        if any(fnmatch.fnmatchcase(qualified, pattern) for pattern in self.deny_actions):
            return False
        if self.allow_actions and not any(fnmatch.fnmatchcase(qualified, p) for p in self.allow_actions):
            return False
        return not (self.deny_destructive and is_destructive(kind))

    def allows_meta_tool(self, name: str) -> bool:
        if name == "raw_request" and not self.raw_request_enabled:
            return False
        if name == "create_action" and self.read_only:
            return False
        return True

    def allowed_raw_methods(self) -> frozenset[str]:
        if self.read_only:
            return frozenset({"GET", "HEAD"})
        return frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
