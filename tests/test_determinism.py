"""The test suite stays deterministic: no test measures time or memory, and no test sleeps unexplained.

Durations, latencies and memory figures belong in `bench/`; TTLs run on an injected clock (`tests/clock.py`),
deadlines are shown by their outcome or a cancel scope, and waits poll for a condition (`tests/waiting.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS = Path(__file__).resolve().parent

MEASURING = re.compile(r"perf_counter|memory_info|psutil|tracemalloc")
# A clock read minus a name is a measured duration; minus a number it is a deadline in the past.
DURATION = re.compile(r"(monotonic|perf_counter)\(\)\s*-\s*[A-Za-z_(]")
CLOCK_IN_ASSERT = re.compile(r"^\s*assert\b.*\b(monotonic|perf_counter|time)\(\)")
SLEEP = re.compile(r"\b(time|anyio|asyncio)\.sleep\(")


def _lines() -> list[tuple[str, int, str, list[str]]]:
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.resolve() == Path(__file__).resolve():
            continue
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines, 1):
            found.append(
                (str(path.relative_to(TESTS.parent)), number, line, lines[max(0, number - 3) : number])
            )
    return found


def test_no_test_measures_time_or_memory() -> None:
    offending = [
        f"{path}:{number}: {line.strip()}"
        for path, number, line, _ in _lines()
        if MEASURING.search(line) or DURATION.search(line) or CLOCK_IN_ASSERT.search(line)
    ]
    assert offending == [], "figures go in bench/, tests assert outcomes:\n" + "\n".join(offending)


def test_every_sleep_in_a_test_says_why() -> None:
    # A poll interval while waiting for a condition, or latency simulated inside a fake: said in a comment
    # on the line or just above it. A sleep to let time pass is neither: inject a clock instead.
    unexplained = [
        f"{path}:{number}: {line.strip()}"
        for path, number, line, context in _lines()
        if SLEEP.search(line) and not any("#" in nearby for nearby in context)
    ]
    assert unexplained == [], "\n".join(unexplained)
