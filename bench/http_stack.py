"""Client CPU per upstream request: httpx (ours) against httpx2 (the `mcp` SDK's stack), by pool size.

Not a numbered figure: the measurement behind the choice of HTTP stack and pool size for the Membrane
client. `concurrency` tasks each send GET /_sandbox/stats to the sandbox (its own process) in a loop; the figure is
this process's CPU time per request (`time.process_time`), so the sandbox's own CPU does not count.
Each variant is reported as a ratio to httpx with the pool the client used before (20 connections),
measured in the same run, interleaved.

    .venv/bin/python -m bench.http_stack [--requests 2000] [--concurrency 32] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import anyio

from bench.common import SANDBOX_TOKEN, log, sandbox_process

BASELINE = ("httpx", 20)


def _client(stack: str, pool: int, url: str) -> Any:
    module: Any
    if stack == "httpx":
        import httpx as module
    else:
        import httpx2 as module
    return module.AsyncClient(
        base_url=url,
        headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        limits=module.Limits(max_connections=pool, max_keepalive_connections=pool),
    )


async def cpu_per_request(stack: str, pool: int, url: str, requests: int, concurrency: int) -> float:
    async with _client(stack, pool, url) as client:
        for _ in range(concurrency):  # warm the pool
            (await client.get("/_sandbox/stats")).raise_for_status()
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                (await client.get("/_sandbox/stats")).raise_for_status()

        started = time.process_time()
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
        return (time.process_time() - started) / requests


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_stack", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    variants = [BASELINE, ("httpx", 8), ("httpx", 32), ("httpx", 64), ("httpx2", 20), ("httpx2", 32)]
    samples: dict[tuple[str, int], list[float]] = {v: [] for v in variants}
    with sandbox_process() as sandbox:
        for round_ in range(args.rounds):
            for stack, pool in variants if round_ % 2 == 0 else reversed(variants):
                samples[(stack, pool)].append(
                    anyio.run(cpu_per_request, stack, pool, sandbox.url, args.requests, args.concurrency)
                )
                log(f"round {round_}: {stack} pool {pool}: {samples[(stack, pool)][-1] * 1e3:.3f} ms CPU")
    floor = statistics.median(samples[BASELINE])
    print(
        f"client CPU per request, {args.concurrency} concurrent, median of {args.rounds} x {args.requests}:"
    )
    for stack, pool in variants:
        value = statistics.median(samples[(stack, pool)])
        print(f"  {stack:7} pool {pool:3}: {value * 1e3:.3f} ms  ({value / floor:.2f}x httpx pool 20)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
