"""Settings of the local Membrane sandbox (kept import-light: the CLI imports it)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DEFAULT_TENANT_KEY = "sandbox-tenant"

# Shapes of a real Membrane workspace that the sandbox can reproduce (docs/membrane-api.md, the
# corrections): each is something the SDK's types allow and a client must cope with.
QUIRKS = {
    # Connections carry no integrationKey (not a field of the SDK's ConnectionApiResponse).
    "no-integration-key": "connections have no integrationKey field",
    # ...and the embedded `integration` is optional: every second app's connections lack it.
    "some-without-integration": "some connections have no embedded integration (only integrationId)",
    # state and connected are optional; the docs promise a `disconnected` flag.
    "disconnected-flag-only": "connections carry only the disconnected flag (no state, no connected)",
    # Connection-level instances may not exist until an action first runs on the connection.
    "lazy-connection-actions": "actions are listed at integration level until first run on a connection",
    # No source shows Retry-After on a 429.
    "no-retry-after": "429 responses have no Retry-After header",
    # One skill: "manager token required; tenant tokens get 403" for creating actions.
    "tenant-cannot-create-actions": "a tenant token gets 403 on POST /actions (a workspace token may)",
}
PROFILES: dict[str, tuple[str, ...]] = {
    "classic": (),  # the sandbox before profiles: every convenience field, instances made up front
    **{quirk: (quirk,) for quirk in QUIRKS},
    # The default: every shape the SDK's types allow at once. The permission quirk stays out: sources
    # disagree on it (docs/membrane-api.md), and the product handles it (tests run it on `strict`).
    "shapes": tuple(quirk for quirk in QUIRKS if quirk != "tenant-cannot-create-actions"),
    "strict": tuple(QUIRKS),  # the strictest shapes the SDK types allow, all at once
}


@dataclass
class SandboxConfig:
    db_path: str = ":memory:"
    token: str = "pat-sandbox"
    workspace_key: str = "sandbox-workspace"
    # PyJWT warns on HS256 keys under 32 bytes.
    workspace_secret: str = "sandbox-workspace-secret-0123456789abcdef"
    seed: int = 0
    # Faults (never applied to /_sandbox/*). Drawn from random.Random(seed), so reproducible.
    latency_ms: float = 0.0
    spike_rate: float = 0.0  # share of requests delayed by a latency spike
    spike_ms: float = 2000.0  # a spike lasts a uniform draw from spike_ms / 10 to spike_ms
    fault_rate: float = 0.0  # share of requests answered 500 before they are handled
    rate_limit_rate: float = 0.0  # share of requests that start a burst of 429s
    rate_limit_burst: int = 3  # 429s per burst, the starting request included
    retry_after_s: float = 1.0
    drop_rate: float = 0.0  # share of requests handled, then cut before the response completes
    build_seconds: float = 2.0
    synthetic_connections: int = 0
    synthetic_actions: int = 50
    public_url: str | None = None  # base of clientAction.uiUrl; defaults to the request's base URL
    profile: str = "shapes"  # a key of PROFILES

    FAULT_FIELDS = (
        "latency_ms",
        "spike_rate",
        "spike_ms",
        "fault_rate",
        "rate_limit_rate",
        "rate_limit_burst",
        "retry_after_s",
        "drop_rate",
        "build_seconds",
    )

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ValueError(
                f"unknown sandbox profile {self.profile!r}; choose one of: {', '.join(PROFILES)}"
            )

    def has(self, quirk: str) -> bool:
        """Whether the profile reproduces this shape of a real workspace (a key of QUIRKS)."""
        assert quirk in QUIRKS, quirk
        return quirk in PROFILES[self.profile]

    def faults(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FAULT_FIELDS}

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def default_db_path() -> str:
    """The CLI's default database file, under the user's data directory."""
    from pathlib import Path

    import platformdirs

    directory = Path(platformdirs.user_data_dir("membrane-mcp"))
    directory.mkdir(parents=True, exist_ok=True)
    return str(directory / "sandbox.sqlite3")
