"""One policy decides both what is listed and what may be called.

A tool the policy hides answers exactly like an unknown tool, so its existence does
not leak. Rules combine predictably: read-only wins over everything; a deny pattern
wins over an allow pattern; `deny_destructive` removes updates, deletes and unknown
writes but keeps reads and creates. `confirm_destructive` never widens anything: it
adds a user confirmation in front of what the other rules still allow.

The same rules cover the paths around the action lists: once allow/deny patterns or
`deny_destructive` are set, `raw_write_request` is off (a raw write is outside any action list)
unless `--raw-methods` names a write method, and `create_action` (which builds a new action
in Membrane) is off under `deny_destructive` and under allow/deny patterns unless
`--allow-create-action` is given.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from membrane_mcp.tools.annotations import ActionKind, is_destructive, is_read_only

# What Membrane's proxy supports (SDK ConnectionProxy, CLI `request -X`; docs/membrane-api.md 5.9): no HEAD.
ALL_RAW_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
SAFE_RAW_METHODS = frozenset({"GET"})


@dataclass(frozen=True)
class Policy:
    read_only: bool = False
    allow_actions: Sequence[str] = ()
    deny_actions: Sequence[str] = ()
    deny_destructive: bool = False
    raw_request_enabled: bool = True
    raw_methods: frozenset[str] = ALL_RAW_METHODS
    raw_methods_explicit: bool = False
    raw_allow_origins: frozenset[str] = frozenset()
    confirm_destructive: bool = False
    allow_create_action: bool = False

    @property
    def has_action_lists(self) -> bool:
        return bool(self.allow_actions or self.deny_actions)

    @property
    def restricts_writes(self) -> bool:
        """Rules that the paths outside the action lists (raw writes, building actions) must respect."""
        return self.has_action_lists or self.deny_destructive

    @property
    def allows_every_action(self) -> bool:
        """No rule removes any action: `allows_action` is True for all (a catalog view skips asking)."""
        return not (self.read_only or self.has_action_lists or self.deny_destructive)

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
        """raw_request (GET): on unless --no-raw-request or --raw-methods leaves it no method."""
        return self.raw_request_enabled and bool(self.allowed_raw_methods() & SAFE_RAW_METHODS)

    def raw_write_request_available(self) -> bool:
        """raw_write_request (POST, PUT, PATCH, DELETE): only where the policy leaves one of them."""
        return self.raw_request_enabled and bool(self.allowed_raw_methods() - SAFE_RAW_METHODS)

    def allows_action_writes(self) -> bool:
        """run_write_action is listed: off in read-only mode."""
        return not self.read_only

    def only_safe_raw_methods(self) -> bool:
        """True when raw_request can only read (GET)."""
        return self.allowed_raw_methods() <= SAFE_RAW_METHODS

    def allows_only_reads(self) -> bool:
        """True when no action but a read can run (so run_action is read-only)."""
        return self.read_only

    def allows_create_action(self) -> bool:
        if self.read_only or self.deny_destructive:
            return False
        return not self.has_action_lists or self.allow_create_action

    def allowed_raw_methods(self) -> frozenset[str]:
        methods = self.raw_methods & ALL_RAW_METHODS
        if self.read_only:
            methods &= SAFE_RAW_METHODS
        if self.restricts_writes and not self.raw_methods_explicit:
            # A raw write is an unknown write outside every action list: reads only unless asked for.
            methods &= SAFE_RAW_METHODS
        return methods

    def startup_warnings(self) -> list[str]:
        """What an operator should know about this combination of rules (logged at start-up)."""
        writes = sorted(self.allowed_raw_methods() - SAFE_RAW_METHODS)
        if self.restricts_writes and writes and self.raw_request_enabled:
            return [
                f"--raw-methods allows raw_request to send {', '.join(writes)}: these raw writes are outside "
                "--allow-actions/--deny-actions/--deny-destructive, which only govern actions"
            ]
        return []

    def action_needs_confirmation(self, kind: ActionKind) -> bool:
        return self.confirm_destructive and is_destructive(kind)

    def raw_needs_confirmation(self, method: str) -> bool:
        return self.confirm_destructive and method.upper() not in SAFE_RAW_METHODS


DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(scheme: str, host: str, port: int | None) -> str:
    """`scheme://host[:port]`, lower-case, without the scheme's default port."""
    scheme, host = scheme.lower(), host.lower().rstrip(".")
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    shown = "" if port is None or port == DEFAULT_PORTS.get(scheme) else f":{port}"
    return f"{scheme}://{host}{shown}"


def parse_origin(entry: str) -> str:
    """An --raw-allow-host entry (`host`, `host:port` or `http(s)://host[:port]`) as an origin; https by default."""
    text = entry.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "https", text
    scheme = scheme.lower()
    if scheme not in DEFAULT_PORTS or not rest or any(c in rest for c in "/?#@\\ "):
        raise ValueError(f"--raw-allow-host: {entry!r} is not host, host:port or http(s)://host[:port]")
    try:
        parts = urlsplit(f"{scheme}://{rest}")
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"--raw-allow-host: {entry!r} has a bad port ({exc})") from exc
    if not parts.hostname:
        raise ValueError(f"--raw-allow-host: {entry!r} names no host")
    return origin_of(scheme, parts.hostname, port)


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
    allow_create_action: bool = False,
) -> Policy:
    explicit = frozenset(m.strip().upper() for m in raw_methods if m.strip())
    methods = explicit or ALL_RAW_METHODS
    unknown = methods - ALL_RAW_METHODS
    if unknown:
        raise ValueError(
            f"--raw-methods: unknown method(s) {', '.join(sorted(unknown))}; Membrane's proxy supports "
            f"{', '.join(sorted(ALL_RAW_METHODS))}"
        )
    return Policy(
        read_only=read_only,
        allow_actions=tuple(allow_actions),
        deny_actions=tuple(deny_actions),
        deny_destructive=deny_destructive,
        raw_request_enabled=not no_raw_request,
        raw_methods=methods,
        raw_methods_explicit=bool(explicit),
        raw_allow_origins=frozenset(parse_origin(h) for h in raw_allow_host if h.strip()),
        confirm_destructive=confirm_destructive,
        allow_create_action=allow_create_action,
    )
