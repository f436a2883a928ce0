"""Figure 9: throughput against `serve --transport http --workers N` (N = 1, 2), in one run.

Figure 4's mix (bench/throughput.py: 32 stateless MCP clients, tools/list, search_actions, run_action
and raw_request) against one server per N, each pointed at the same sandbox process. The load is sent
two ways. The target row uses bench/lean_load.py: the SDK client's exact requests over aiohttp, which
needs a fraction of the SDK client's CPU per call, so a second worker has CPU left to use on two cores.
Info rows use the SDK clients themselves (figure 4's load generator): it needs about a core of its own,
so with the sandbox on the same two cores a second worker has nothing to run on and calls/s cannot
rise (the rows give the load generator's CPU over the clock, in cores, to show it). The ratio of calls/s
at N workers to 1 worker is the figure. Both servers stay up; rounds alternate between them.
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
    clients, seconds, rounds = cfg.pick((32, 10.0, 2), (2, 1.0, 1))
    # (load, workers) -> per-round measurements; both servers stay up and rounds alternate N=1, N=2,
    # then N=2, N=1, so the machine's other load (2 shared cores) falls on both alike.
    measured: dict[tuple[str, int], list[dict[str, Any]]] = {}
    with (
        sandbox_process() as sandbox,
        http_server(sandbox, "--workers", "1") as one,
        http_server(sandbox, "--workers", "2") as two,
    ):
        servers = {1: one, 2: two}
        for workers, server in servers.items():
            wait_for_every_worker(server.url, workers)
            anyio.run(run_load, server.url, clients, min(seconds, 2.0), OPERATIONS)  # warm up
        for index in range(rounds):
            for key, _, load in LOADS:
                order = WORKER_COUNTS if index % 2 == 0 else WORKER_COUNTS[::-1]
                for workers in order:
                    server = servers[workers]
                    before = _server_cpu_seconds(server.process.pid)
                    one_round = anyio.run(load, server.url, clients, seconds, OPERATIONS)
                    one_round["server_cpu"] = _server_cpu_seconds(server.process.pid) - before
                    measured.setdefault((key, workers), []).append(one_round)
    results: list[Result] = []
    rates: dict[tuple[str, int], float] = {}
    for key, label, _ in LOADS:
        for workers in WORKER_COUNTS:
            rounds_of = measured[key, workers]
            latencies = [x for one in rounds_of for values in one["latencies"].values() for x in values]
            elapsed = sum(one["elapsed"] for one in rounds_of)
            errors = sum(sum(one["errors"].values()) for one in rounds_of)
            rate = rates[key, workers] = len(latencies) / elapsed
            p99 = percentile(latencies, 99) * 1000
            cores = sum(one["load_generator_core_share"] * one["elapsed"] for one in rounds_of) / elapsed
            server_ms = sum(one["server_cpu"] for one in rounds_of) / max(len(latencies), 1) * 1000
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
                        "rounds": rounds,
                        "seconds_per_round": seconds,
                        "p99_ms": round(p99, 1),
                        "errors": errors,
                        "samples": [s for one in rounds_of for s in one["samples"]][:5],
                        "load_generator_cores": round(cores, 2),
                        "server_cpu_ms_per_call": round(server_ms, 3),
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
