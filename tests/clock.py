"""A clock the test moves by hand, for TTLs and timers: time passes when the test says so, not by sleeping."""

from __future__ import annotations


class FakeClock:
    """Stands in for `time.monotonic` wherever the product takes a `clock` parameter."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
