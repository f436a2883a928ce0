"""For an unknown action key: the allowed keys it most resembles, and how often the catalog may reload.

An agent that guesses keys must not make every guess reload the catalog (one upstream request per
connection each time): a forced reload happens at most once per `window` seconds per catalog. The
suggestions come from actions the policy allows, so a hidden action is never named.
"""

from __future__ import annotations

import difflib
import time
import weakref
from collections.abc import Callable, Iterable

MAX_SUGGESTIONS = 5


def did_you_mean(ref: str, keys: Iterable[str], limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to `limit` keys close to `ref`: close spellings first, then keys containing it (or its words)."""
    candidates = sorted(set(keys))
    lowered = ref.strip().lower()
    close = difflib.get_close_matches(lowered, candidates, n=limit, cutoff=0.6)
    words = [w for w in lowered.replace("_", "-").split("-") if len(w) > 2]
    related = [k for k in candidates if lowered and lowered in k] + [
        k for k in candidates if words and all(w in k for w in words)
    ]
    return list(dict.fromkeys([*close, *related]))[:limit]


class ReloadGate:
    """Allows a forced catalog reload at most once per `window` seconds for each catalog object."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._last: weakref.WeakKeyDictionary[object, float] = weakref.WeakKeyDictionary()

    def allow(self, catalog: object, window: float) -> bool:
        now = self.clock()
        last = self._last.get(catalog)
        if last is not None and now - last < window:
            return False
        self._last[catalog] = now
        return True


unknown_key_reloads = ReloadGate()
