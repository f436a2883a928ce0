"""Shared test helpers for the Membrane client tests."""

from __future__ import annotations

from membrane_mcp.membrane import MembraneClient, MembraneConfig, RetryPolicy, StaticToken
from membrane_mcp.membrane.auth import TokenProvider

BASE = "https://membrane.test"
TOKEN = "pat-test-token-0123456789"


class RecordingSleep:
    """A sleep that returns at once and remembers how long it was asked to wait."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def make_client(
    credentials: TokenProvider | None = None, sleep: RecordingSleep | None = None, **policy: float
) -> MembraneClient:
    retry = RetryPolicy(
        initial_backoff=policy.pop("initial_backoff", 0.01),
        max_backoff=policy.pop("max_backoff", 0.05),
        jitter=policy.pop("jitter", 0.0),
        sleep=sleep or RecordingSleep(),
        **policy,  # type: ignore[arg-type]
    )
    return MembraneClient(MembraneConfig(BASE, retry_policy=retry), credentials or StaticToken(TOKEN))


def envelope(type_: str, key: str | None, message: str, **extra: object) -> dict[str, object]:
    body: dict[str, object] = {"type": type_, "message": message, **extra}
    if key:
        body["key"] = key
    return body
