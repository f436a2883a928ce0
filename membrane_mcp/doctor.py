"""`membrane-mcp doctor`: is this set-up going to work for an agent, and if not, what to do.

It checks, in order: the credentials (which kind, tenant, token expiry), that Membrane answers,
each connection (state, action count, the URL where the user must act), the tool mode the
catalog produces, and host limits the tool count would hit. Every line is a finding; a problem
makes the exit status 1. Secrets are never printed: the credentials are described by kind,
claims and expiry only, and every line goes through the redaction filter as a last defence.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import jwt

from membrane_mcp.membrane.errors import AccessDenied, AuthenticationError, MembraneError, UpstreamUnavailable
from membrane_mcp.redaction import redact
from membrane_mcp.settings import Settings

Level = Literal["ok", "warn", "FAIL"]

# Tool counts at which hosts stop coping (their documentation and forums): Cursor warns and drops
# tools beyond about 40; VS Code refuses more than 128 tools in one request.
HOST_TOOL_LIMITS = (("Cursor", 40), ("VS Code", 128))
REACH_SECONDS = 20.0
EXPIRY_WARNING_SECONDS = 15 * 60


@dataclass
class Report:
    findings: list[tuple[Level, str]] = field(default_factory=list)

    def add(self, level: Level, text: str) -> None:
        self.findings.append((level, redact(text)))

    @property
    def problems(self) -> int:
        return sum(1 for level, _ in self.findings if level == "FAIL")

    def render(self) -> str:
        lines = [f"{level:<5} {text}" for level, text in self.findings]
        warnings = sum(1 for level, _ in self.findings if level == "warn")
        if self.problems:
            lines.append(f"\n{self.problems} problem(s), {warnings} warning(s): fix the FAIL lines above.")
        else:
            lines.append(f"\nNo problems ({warnings} warning(s)): an agent can use this set-up.")
        return "\n".join(lines)


def describe_credentials(settings: Settings, report: Report, *, now: float | None = None) -> None:
    if settings.sandbox:
        report.add(
            "ok", "credentials: the embedded sandbox's own token (--sandbox; no Membrane account used)"
        )
        return
    if settings.token is not None:
        describe_token(settings.token.get_secret_value(), report, now=time.time() if now is None else now)
        return
    if settings.workspace_key and settings.workspace_secret is not None:
        tenant = settings.tenant_key or "none (workspace-level tokens)"
        report.add(
            "ok",
            f"credentials: workspace key {settings.workspace_key} with its secret (MEMBRANE_WORKSPACE_SECRET); "
            f"tokens are minted for 1 hour and renewed; tenant {tenant}",
        )
        return
    if settings.workspace_key:
        report.add("FAIL", "credentials: MEMBRANE_WORKSPACE_KEY is set but MEMBRANE_WORKSPACE_SECRET is not")
        return
    report.add(
        "FAIL",
        "credentials: none. Set MEMBRANE_TOKEN, or MEMBRANE_WORKSPACE_KEY + MEMBRANE_WORKSPACE_SECRET "
        "(+ MEMBRANE_TENANT_KEY); see the README, 'Use your real Membrane account'",
    )


def describe_token(token: str, report: Report, *, now: float) -> None:
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        report.add(
            "ok",
            "credentials: MEMBRANE_TOKEN, an opaque API token (not a JWT: its tenant and expiry are known to "
            "Membrane only)",
        )
        return
    tenant = claims.get("tenantKey") or claims.get("id") or "none (a workspace-level token)"
    workspace = claims.get("workspaceKey") or claims.get("iss") or "not stated"
    kind = "admin token" if claims.get("isAdmin") else "tenant token" if tenant else "token"
    text = f"credentials: MEMBRANE_TOKEN, a JWT {kind}; workspace {workspace}, tenant {tenant}"
    expires = claims.get("exp")
    if not isinstance(expires, int | float):
        report.add("ok", text + ", no expiry")
        return
    when = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%d %H:%M UTC")
    left = expires - now
    if left <= 0:
        report.add(
            "FAIL",
            f"{text}; EXPIRED at {when}: get a new token, or use the workspace key and secret so tokens renew",
        )
    elif left < EXPIRY_WARNING_SECONDS:
        report.add("warn", f"{text}; expires at {when}, in {left / 60:.0f} min: it cannot be renewed")
    else:
        report.add("ok", f"{text}; expires at {when} (in {left / 3600:.1f} h)")


def reach_problem(exc: MembraneError, api_url: str) -> str:
    if isinstance(exc, AuthenticationError):
        return f"Membrane at {api_url} refused the credentials: {exc}. Check MEMBRANE_TOKEN (or the workspace key/secret)"
    if isinstance(exc, AccessDenied):
        return f"Membrane at {api_url} denied access: {exc}. The token lacks the rights to list connections"
    if isinstance(exc, UpstreamUnavailable):
        return f"cannot reach Membrane at {api_url}: {exc}. Check MEMBRANE_API_URL and the network"
    return f"Membrane at {api_url} answered with an error: {exc}"


async def diagnose(settings: Settings) -> Report:
    """Every finding about `settings`; never raises for a Membrane failure (that is a finding)."""
    from membrane_mcp.server.backend import open_gateway

    report = Report()
    describe_credentials(settings, report)
    if report.problems:
        return report
    shown_url = "the embedded sandbox" if settings.sandbox else settings.api_url
    async with open_gateway(settings) as gateway:
        try:
            connections = await gateway.client.list_connections(deadline=time.monotonic() + REACH_SECONDS)
        except MembraneError as exc:
            report.add("FAIL", reach_problem(exc, shown_url))
            return report
        report.add("ok", f"Membrane at {shown_url} answers: {len(connections)} connection(s)")
        try:
            snapshot = await gateway.catalog.get()
        except MembraneError as exc:
            report.add("FAIL", f"could not load the actions of the connections: {exc}")
            return report
        if not snapshot.connections:
            report.add("warn", "no connections: the agent can connect an app with the connect_app tool")
        view = gateway.catalog.view(snapshot, None)
        allowed = {entry.name for entry in view.allowed}
        for info in snapshot.connections:
            actions = [e for e in snapshot.by_connection.get(info.id, []) if e.name in allowed]
            label = f"connection {info.name} ({info.app_key}, id {info.id}): {info.state}, {len(actions)} action(s)"
            if info.id in snapshot.load_errors:
                report.add(
                    "FAIL", f"{label}; its actions could not be listed: {snapshot.load_errors[info.id]}"
                )
            elif info.state != "READY":
                where = f" at {info.connect_url}" if info.connect_url else " in Membrane's console"
                why = f" ({info.error})" if info.error else ""
                report.add("FAIL", f"{label}{why}; needs the user: reconnect it{where}")
            else:
                report.add("ok", label)
        mode = view.mode
        tools = await gateway.list_tools()
        because = {
            "auto": "",
            "direct": "every action is a tool",
            "search": "action tools are hidden; agents use search_actions and run_action",
        }[mode]
        if settings.tool_mode == "auto":
            rule = "at most" if mode == "direct" else "over"
            because = (
                f"auto: {len(allowed)} action(s), {rule} --direct-tool-limit {settings.direct_tool_limit}"
            )
            if mode == "search" and len(allowed) <= settings.direct_tool_limit:
                because = f"auto: {len(allowed)} action(s) whose tools take over --direct-max-bytes "
                because += str(settings.direct_max_bytes)
        report.add("ok", f"tool mode {mode} ({because}): {len(tools)} tools listed")
        for host, limit in HOST_TOOL_LIMITS:
            if len(tools) > limit:
                report.add(
                    "warn",
                    f"{len(tools)} tools is over {host}'s limit of about {limit}: use --tool-mode search "
                    "(or auto), or narrow with --apps/--connections/--actions",
                )
    return report
