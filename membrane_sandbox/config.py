"""Settings of the local Membrane sandbox (kept import-light: the CLI imports it)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

DEFAULT_TENANT_KEY = "sandbox-tenant"


@dataclass
class SandboxConfig:
    db_path: str = ":memory:"
    token: str = "pat-sandbox"
    workspace_key: str = "sandbox-workspace"
    workspace_secret: str = "sandbox-secret"
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
