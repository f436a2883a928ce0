"""Figure 9: throughput against `serve --transport http --workers N` (N = 1, 2), in one run.

Figure 4's mix (bench/throughput.py: 32 stateless MCP clients, tools/list, search_actions, run_action
and raw_request) against one server per N, each pointed at the same sandbox process. The load is sent
two ways. The target row uses bench/lean_load.py: the SDK client's exact requests over aiohttp, which
needs a fraction of the SDK client's CPU per call, so a second worker has CPU left to use on two cores.
Info rows use the SDK clients themselves (figure 4's load generator): it needs about a core of its own,
so with the sandbox on the same two cores a second worker has nothing to run on and calls/s cannot
rise (the rows give the load generator's CPU over the clock, in cores, to show it). The ratio of calls/s
at N workers to 1 worker is the figure.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx

from bench.common import BenchConfig, Result, http_server, log, percentile, sandbox_process
from bench.lean_load import run_load
from bench.throughput import OPERATIONS, _load

FIGURE = "9. Throughput vs workers"
WORKER_COUNTS = (1, 2)
WORKER_HEADER = "membrane-mcp-worker"
LoadFunction = Callable[[str, int, float, list[Any]], Awaitable[dict[str, Any]]]
LOADS: tuple[tuple[str, str, LoadFunction], ...] = (
    ("lean", "lean load (SDK requests over aiohttp)", run_load),
    ("sdk", "SDK clients", _load),
)


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


def _server_cpu_seconds(pid: int) -> float:
    """CPU of the server: the process and its workers."""
    import psutil

    process = psutil.Process(pid)
    total = 0.0
    for one in (process, *process.children(recursive=True)):
        try:
            times = one.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def run(cfg: BenchConfig) -> list[Result]:
    clients, duration = cfg.pick((32, 20.0), (2, 2.0))
    rates: dict[tuple[str, int], float] = {}
    results: list[Result] = []
    with sandbox_process() as sandbox:
        for workers in WORKER_COUNTS:
            with http_server(sandbox, "--workers", str(workers)) as server:
                wait_for_every_worker(server.url, workers)
                for key, label, load in LOADS:
                    before = _server_cpu_seconds(server.process.pid)
                    measured = anyio.run(load, server.url, clients, duration, OPERATIONS)
                    server_cpu = _server_cpu_seconds(server.process.pid) - before
                    latencies = [x for values in measured["latencies"].values() for x in values]
                    errors = sum(measured["errors"].values())
                    rate = rates[key, workers] = len(latencies) / measured["elapsed"]
                    p99 = percentile(latencies, 99) * 1000
                    cores = measured["load_generator_core_share"]
                    log(f"{label}, workers {workers}: {rate:.1f} calls/s, p99 {p99:.0f} ms, errors {errors}")
                    name = f"{clients} clients, --workers {workers}: calls/s"
                    results.append(
                        Result(
                            FIGURE,
                            name if key == "lean" else f"info: {label}: {name}",
                            round(rate, 1),
                            "calls/s",
                            details={
                                "load": label,
                                "p99_ms": round(p99, 1),
                                "errors": errors,
                                "samples": measured["samples"],
                                "load_generator_cores": round(cores, 2),
                                "server_cpu_ms_per_call": round(
                                    server_cpu / max(len(latencies), 1) * 1000, 3
                                ),
                            },
                        )
                    )
    top = max(WORKER_COUNTS)
    for key, label, _ in LOADS:
        ratio = rates[key, top] / rates[key, 1]
        name = f"calls/s with --workers {top} / --workers 1"
        if key == "lean":
            results.append(Result(FIGURE, f"{name} ({label})", round(ratio, 2), "x", "> 1 x",
                                  "pass" if ratio > 1 else "MISS"))  # fmt: skip
        else:
            results.append(Result(FIGURE, f"info: {name} ({label})", round(ratio, 2), "x"))
    return results
