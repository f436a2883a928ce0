"""Waiting for a condition in tests, never for time to pass."""

from __future__ import annotations

from collections.abc import Callable

import anyio


async def eventually(predicate: Callable[[], object], within: float = 10.0, interval: float = 0.05) -> bool:
    """Poll `predicate` until it holds, without blocking the event loop (the client may still have a cancel
    notification to send); `within` only bounds a wait that would otherwise hang."""
    with anyio.move_on_after(within):
        while True:
            if predicate():
                return True
            await anyio.sleep(interval)  # the poll interval while the condition does not hold yet
    return bool(predicate())
