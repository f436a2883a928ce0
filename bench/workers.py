"""Figure 9: throughput against `serve --transport http --workers N` (N = 1, 2), in one run.

The same load as figure 4 (bench/throughput.py: 32 stateless MCP clients, mixed tools/list,
search_actions, run_action and raw_request calls) against one server per N, each pointed at
the same sandbox process. The load generator shares the machine's cores with the workers and
the sandbox, so the figure that matters is the ratio of calls/s at N workers to 1 worker.
"""

from __future__ import annotations

import time

import anyio
import httpx

from bench.common import BenchConfig, Result, http_server, log, percentile, sandbox_process
from bench.throughput import OPERATIONS, _load

FIGURE = "9. Throughput vs workers"
WORKER_COUNTS = (1, 2)
WORKER_HEADER = "membrane-mcp-worker"


def wait_for_every_worker(mcp_url: str, workers: int, timeout: float = 120.0) -> None:
    """/healthz on fresh connections until each worker has answered (the first one up answers alone)."""
    if workers == 1:
        return
    healthz = mcp_url.removesuffix("/mcp") + "/healthz"
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only workers {sorted(seen)} of {workers} answered within {timeout:.0f} s")
        try:
            seen.add(httpx.get(healthz, timeout=5).headers[WORKER_HEADER])
        except httpx.TransportError:
            time.sleep(0.1)


def run(cfg: BenchConfig) -> list[Result]:
    clients, duration = cfg.pick((32, 20.0), (2, 2.0))
    rates: dict[int, float] = {}
    results: list[Result] = []
    with sandbox_process() as sandbox:
        for workers in WORKER_COUNTS:
            with http_server(sandbox, "--workers", str(workers)) as server:
                wait_for_every_worker(server.url, workers)
                measured = anyio.run(_load, server.url, clients, duration, OPERATIONS)
            latencies = [x for values in measured["latencies"].values() for x in values]
            errors = sum(measured["errors"].values())
            rates[workers] = len(latencies) / measured["elapsed"]
            p99 = percentile(latencies, 99) * 1000
            log(f"workers {workers}: {rates[workers]:.1f} calls/s, p99 {p99:.0f} ms, errors {errors}")
            results.append(
                Result(
                    FIGURE,
                    f"{clients} clients, --workers {workers}: calls/s",
                    round(rates[workers], 1),
                    "calls/s",
                    details={"p99_ms": round(p99, 1), "errors": errors, "samples": measured["samples"]},
                )
            )
    top = max(WORKER_COUNTS)
    ratio = rates[top] / rates[1]
    results.append(
        Result(
            FIGURE,
            f"calls/s with --workers {top} / --workers 1",
            round(ratio, 2),
            "x",
            "> 1 x",
            "pass" if ratio > 1 else "MISS",
        )
    )
    return results
