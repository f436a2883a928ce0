"""One policy decides both what is listed and what may be called.

A tool the policy hides answers exactly like an unknown tool, so its existence does
not leak. Rules combine predictably: read-only wins over everything; a deny pattern
wins over an allow pattern; `deny_destructive` removes updates, deletes and unknown
writes but keeps reads and creates. `confirm_destructive` never widens anything: it
adds a user confirmation in front of what the other rules still allow.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from membrane_mcp.tools.annotations import ActionKind, is_destructive, is_read_only

ALL_RAW_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
SAFE_RAW_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Policy:
    read_only: bool = False
    allow_actions: Sequence[str] = ()
    deny_actions: Sequence[str] = ()
    deny_destructive: bool = False
    raw_request_enabled: bool = True
    raw_methods: frozenset[str] = ALL_RAW_METHODS
    raw_allow_hosts: frozenset[str] = frozenset()
    confirm_destructive: bool = False

    def allows_action(self, app_key: str, action_key: str, kind: ActionKind) -> bool:
        if self.read_only and not is_read_only(kind):
            return False
        qualified = f"{app_key}:{action_key}"
        if any(fnmatch.fnmatchcase(qualified, pattern) for pattern in self.deny_actions):
            return False
        if self.allow_actions and not any(fnmatch.fnmatchcase(qualified, p) for p in self.allow_actions):
            return False
        return not (self.deny_destructive and is_destructive(kind))

    def allows_meta_writes(self) -> bool:
        """create_action and connect_app (policy class ``meta-write``, see tools/registry.py)."""
        return not self.read_only

    def raw_request_available(self) -> bool:
        return self.raw_request_enabled and bool(self.allowed_raw_methods())

    def only_safe_raw_methods(self) -> bool:
        """True when raw_request can only read (GET/HEAD)."""
        return self.allowed_raw_methods() <= SAFE_RAW_METHODS

    def allows_only_reads(self) -> bool:
        """True when no action but a read can run (so run_action is read-only)."""
        return self.read_only

    def allowed_raw_methods(self) -> frozenset[str]:
        methods = self.raw_methods & ALL_RAW_METHODS
        if self.read_only:
            methods &= SAFE_RAW_METHODS
        if self.deny_destructive:
            # A raw write is an unknown write: as destructive as one can be.
            methods &= SAFE_RAW_METHODS
        return methods

    def action_needs_confirmation(self, kind: ActionKind) -> bool:
        return self.confirm_destructive and is_destructive(kind)

    def raw_needs_confirmation(self, method: str) -> bool:
        return self.confirm_destructive and method.upper() not in SAFE_RAW_METHODS

    def allows_raw_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.raw_allow_hosts


def policy_from_settings(
    *,
    read_only: bool = False,
    allow_actions: Sequence[str] = (),
    deny_actions: Sequence[str] = (),
    deny_destructive: bool = False,
    no_raw_request: bool = False,
    raw_methods: Sequence[str] = (),
    raw_allow_host: Sequence[str] = (),
    confirm_destructive: bool = False,
) -> Policy:
    methods = frozenset(m.strip().upper() for m in raw_methods if m.strip()) or ALL_RAW_METHODS
    unknown = methods - ALL_RAW_METHODS
    if unknown:
        raise ValueError(f"--raw-methods: unknown method(s) {', '.join(sorted(unknown))}")
    return Policy(
        read_only=read_only,
        allow_actions=tuple(allow_actions),
        deny_actions=tuple(deny_actions),
        deny_destructive=deny_destructive,
        raw_request_enabled=not no_raw_request,
        raw_methods=methods,
        raw_allow_hosts=frozenset(h.strip().lower().rstrip(".") for h in raw_allow_host if h.strip()),
        confirm_destructive=confirm_destructive,
    )
