"""Figure 4: concurrent MCP clients over streamable HTTP, mixed calls, for a fixed duration.

Each client loops over tools/list, search_actions, run_action (Vtiger query-records) and raw_request
(GET /me). The load generator runs in this process, on the same two cores as the server and the
sandbox, so calls/s is a floor for what the server alone would do. Peak RSS of the server process is
sampled every 100 ms. The floor: the echo server on the same SDK (bench/echo_server.py) under the same
load: the very same requests, since it lists exactly the tools we list (`--tools-file`, as figure 2
does) and echoes the arguments of each call to them. Rounds alternate with ours so the machine's other
load falls on both alike; the figure is ours / echo. The echo server listing its own 6 small tools and
answering calls to one of them (the floor used before) runs in the same rotation, as an info row.
Server CPU per call (psutil, user + system) is reported beside it, as is the load generator's own CPU
per call and its CPU over the clock in cores (near 1.0: the load generator, not the server, bounds
calls/s). Info rows give the same mix from bench/lean_load.py (the SDK client's exact requests over
aiohttp, a fraction of its CPU per call), in rounds alternating the same way.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import anyio
import httpx

from bench.common import (
    BenchConfig,
    LoadClock,
    Result,
    echo_http_server,
    http_server,
    load_summary,
    log,
    median,
    note_error,
    percentile,
    rss_mb,
    sandbox_process,
    tools_file,
    upper_bound,
)
from bench.lean_load import run_load

FIGURE = "4. Throughput"
RSS_LIMIT_MB = 200.0
TARGET_RATIO = 0.8  # calls/s at least 0.8x the echo server's
P99_LIMIT_MS = 300.0

OPERATIONS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("list", None, {}),
    ("search", "search_actions", {"query": "find contacts by email", "limit": 5}),
    ("run", "run_action", {"connection": "vtiger", "action": "query-records",
                           "input": {"query": "SELECT * FROM Contacts LIMIT 3;"}}),
    ("raw", "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}),
]  # fmt: skip
UPSTREAM_TOOLS = frozenset({"run_action", "raw_request"})  # one Membrane round trip each
ECHO_OPERATIONS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("list", None, {}),
    *((f"echo{i}", "echo_0", {"query": "find contacts by email", "limit": 5}) for i in range(3)),
]


class PeakRss:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except Exception:
                return
            self._stop.wait(0.1)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)


async def call_operation(client: Any, tool: str | None, args: dict[str, Any]) -> None:
    """One operation of the mix: tools/list when `tool` is None, else a call that must not be an error."""
    if tool is None:
        await client.list_tools()
        return
    result = await client.call_tool(tool, args)
    if result.is_error:
        raise RuntimeError(str(result.content)[:200])


async def _load(
    url: str, clients: int, duration: float, operations: list[tuple[str, str | None, dict[str, Any]]]
) -> dict[str, Any]:
    from mcp import Client

    latencies: dict[str, list[float]] = {op: [] for op, _, _ in operations}
    errors: dict[str, int] = {op: 0 for op, _, _ in operations}
    samples: list[str] = []
    clock = LoadClock(clients, duration)

    async def one_client(index: int) -> None:
        async with Client(url) as client:
            await client.list_tools()
            await clock.arrive()
            step = index
            while clock.running():
                op, tool, args = operations[step % len(operations)]
                step += 1
                started = time.perf_counter()
                try:
                    await call_operation(client, tool, args)
                except Exception as exc:
                    note_error(errors, samples, op, f"{type(exc).__name__}: {exc}")
                    continue
                latencies[op].append(time.perf_counter() - started)

    async with anyio.create_task_group() as group:
        for i in range(clients):
            group.start_soon(one_client, i)
    return load_summary(latencies, errors, samples, clock)


async def _listed_tools(url: str) -> list[Any]:
    """The tools our server lists (search mode: its meta tools), for the echo server to list the same."""
    from mcp import Client

    async with Client(url) as client:
        return list((await client.list_tools()).tools)


def _cpu_seconds(pid: int | None) -> float:
    """CPU time (user + system) of a process; of this one (the load generator) when `pid` is None."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def _round(
    url: str, pid: int, clients: int, seconds: float, operations: list[Any], load: Any = _load
) -> dict[str, Any]:
    """One timed run of `load` (the SDK clients, or bench/lean_load.py's `run_load`) with CPU per call."""
    server_before, client_before = _cpu_seconds(pid), _cpu_seconds(None)
    measured = anyio.run(load, url, clients, seconds, operations)
    calls = sum(len(v) for v in measured["latencies"].values())
    measured["server_cpu_ms_per_call"] = (_cpu_seconds(pid) - server_before) / max(calls, 1) * 1000
    measured["client_cpu_ms_per_call"] = (_cpu_seconds(None) - client_before) / max(calls, 1) * 1000
    return measured


def _merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    latencies: dict[str, list[float]] = {}
    errors: dict[str, int] = {}
    for one in rounds:
        for op, values in one["latencies"].items():
            latencies.setdefault(op, []).extend(values)
        for op, count in one["errors"].items():
            errors[op] = errors.get(op, 0) + count
    return {
        "latencies": latencies,
        "errors": errors,
        "samples": [s for one in rounds for s in one["samples"]][:5],
        "elapsed": sum(one["elapsed"] for one in rounds),
        "server_cpu_ms_per_call": median([one["server_cpu_ms_per_call"] for one in rounds]),
        "client_cpu_ms_per_call": median([one["client_cpu_ms_per_call"] for one in rounds]),
        "load_generator_core_share": median([one["load_generator_core_share"] for one in rounds]),
    }


async def _upstream_floor(url: str, token: str, requests: int, in_flight: int = 16) -> float:
    """The load generator's CPU ms per Membrane round trip made straight with httpx on the server's own
    transport (membrane/transport.py): the run and the proxy request of the mix, `in_flight` at once."""
    from bench.overhead import vtiger_connection
    from membrane_mcp.membrane.transport import PooledTransport

    connection = vtiger_connection(url, token)
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, transport=PooledTransport(limits)) as http:

        async def one(index: int) -> None:
            if index % 2:
                response = await http.get(f"/connections/{connection}/proxy/me")
            else:
                response = await http.post(
                    "/actions/query-records/run",
                    params={"connectionId": connection},
                    json={"input": {"query": "SELECT * FROM Contacts LIMIT 3;"}},
                )
            response.raise_for_status()
            response.json()

        async def worker(start: int) -> None:
            for index in range(start, requests, in_flight):
                await one(index)

        for index in range(in_flight):  # connections opened before the clock starts
            await one(index)
        before = _cpu_seconds(None)
        async with anyio.create_task_group() as group:
            for start in range(in_flight):
                group.start_soon(worker, start)
        return (_cpu_seconds(None) - before) / requests * 1000


def lean_rows(ours: list[dict[str, Any]], echoes: list[dict[str, Any]], clients: int) -> list[Result]:
    """Info rows: the same mix sent by bench/lean_load.py (the SDK client's requests over aiohttp)."""
    measured, floor = _merge(ours), _merge(echoes)

    def summary(one: dict[str, Any]) -> dict[str, Any]:
        values = [x for v in one["latencies"].values() for x in v]
        return {
            "calls_per_s": round(len(values) / one["elapsed"], 1),
            "p99_ms": round(percentile(values, 99) * 1000, 2),
            "errors": sum(one["errors"].values()),
            "server_cpu_ms_per_call": round(one["server_cpu_ms_per_call"], 3),
            "load_generator_cpu_ms_per_call": round(one["client_cpu_ms_per_call"], 3),
            "load_generator_cores": round(one["load_generator_core_share"], 2),
        }

    mine, echo = summary(measured), summary(floor)
    ratio = mine["calls_per_s"] / echo["calls_per_s"]
    return [
        Result(FIGURE, f"info: lean load ({clients} clients, the SDK client's requests over aiohttp, "
               "bench/lean_load.py): calls/s ours / echo", round(ratio, 3), "x",
               details={"ours": mine, "echo": echo, "samples": measured["samples"]}),
        Result(FIGURE, "info: lean load, calls/s (ours)", mine["calls_per_s"], "calls/s",
               details={"p99_ms": mine["p99_ms"], "errors": mine["errors"]}),
    ]  # fmt: skip


def run(cfg: BenchConfig) -> list[Result]:
    clients, seconds, rounds, lean_rounds = cfg.pick((32, 10.0, 3, 2), (2, 1.0, 1, 1))
    ours: list[dict[str, Any]] = []
    echoes: list[dict[str, Any]] = []
    # Both servers stay up; rounds alternate ours/echo, echo/ours, ... so the machine's other load
    # (2 shared cores) falls on both sides alike. Each side is warmed up (catalog, index) first.
    small_echoes: list[dict[str, Any]] = []
    with (
        sandbox_process() as sandbox,
        http_server(sandbox) as server,
        tools_file(anyio.run(_listed_tools, server.url)) as listed,
        echo_http_server("--tools-file", str(listed)) as echo,
        echo_http_server() as small_echo,
        PeakRss(server.process.pid) as rss,
    ):
        idle_rss = rss_mb(server.process.pid)
        sides = [
            (ours, server.url, server.process.pid, OPERATIONS),
            (echoes, echo.url, echo.process.pid, OPERATIONS),  # the very same requests, echoed
            (small_echoes, small_echo.url, small_echo.process.pid, ECHO_OPERATIONS),
        ]
        for _, url, _, operations in sides:
            anyio.run(_load, url, clients, min(seconds, 2.0), operations)
        for index in range(rounds):  # each side takes each place in the order once in 3 rounds
            for into, url, pid, operations in sides[index % 3 :] + sides[: index % 3]:
                into.append(_round(url, pid, clients, seconds, operations))
        # The same mix from the lean load generator (info only: the target row is the SDK clients').
        lean_sides = [([], *side[1:]) for side in sides[:2]]
        for index in range(lean_rounds):
            for into, url, pid, operations in lean_sides if index % 2 == 0 else lean_sides[::-1]:
                into.append(_round(url, pid, clients, seconds, operations, load=run_load))
        upstream_ms = anyio.run(_upstream_floor, sandbox.url, sandbox.token, cfg.pick(2000, 40))
    measured, floor, small_floor = _merge(ours), _merge(echoes), _merge(small_echoes)
    upstream_per_call = sum(1 for _, tool, _ in OPERATIONS if tool in UPSTREAM_TOOLS) / len(OPERATIONS)
    floor_calls = sum(len(v) for v in floor["latencies"].values())
    floor_rate = floor_calls / floor["elapsed"]
    floor_all = [x for values in floor["latencies"].values() for x in values]
    all_latencies = [x for values in measured["latencies"].values() for x in values]
    total_calls = len(all_latencies)
    total_errors = sum(measured["errors"].values())
    rate = total_calls / measured["elapsed"]
    log(
        f"throughput: {rate:.1f} calls/s (echo {floor_rate:.1f}), errors {total_errors}, peak RSS {rss.peak:.1f} MB"
    )
    per_op = {
        op: {
            "calls": len(v),
            "p50_ms": round(median(v) * 1000, 2),
            "p99_ms": round(percentile(v, 99) * 1000, 2),
        }
        for op, v in measured["latencies"].items()
    }
    common = {
        "clients": clients,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "order": "rotating: ours, echo listing our tools, echo listing its own (each takes each place once in 3 rounds)",
        "per_operation": per_op,
    }
    ratio = rate / floor_rate
    small_rate = sum(len(v) for v in small_floor["latencies"].values()) / small_floor["elapsed"]
    cpu_ratio = measured["server_cpu_ms_per_call"] / floor["server_cpu_ms_per_call"]
    floor_p99 = percentile(floor_all, 99) * 1000
    return [
        Result(FIGURE, f"{clients} clients over streamable HTTP: calls/s (mixed list/search/run/raw) / echo server "
               "listing the same tools", round(ratio, 3), "x", f">= {TARGET_RATIO:g} x",
               "pass" if ratio >= TARGET_RATIO else "MISS",
               "" if ratio >= TARGET_RATIO else f"{ratio / TARGET_RATIO:.2f}x the target",
               {**common, "calls": total_calls, "calls_per_s": round(rate, 1)}),
        Result(FIGURE, "info: calls/s / echo server listing its own 6 small tools (the floor used before)",
               round(rate / small_rate, 3), "x",
               details={"echo_calls_per_s": round(small_rate, 1),
                        "echo_server_cpu_ms_per_call": round(small_floor["server_cpu_ms_per_call"], 3),
                        "echo_load_generator_cpu_ms_per_call": round(small_floor["client_cpu_ms_per_call"], 3)}),
        Result(FIGURE, "calls/s (ours)", round(rate, 1), "calls/s"),
        Result(FIGURE, "load generator (SDK clients) CPU over the clock, cores (ours; echo in details)",
               round(measured["load_generator_core_share"], 2), "cores",
               details={"echo_cores": round(floor["load_generator_core_share"], 2),
                        "note": "near 1.0: the load generator, not the server, bounds calls/s"}),
        *lean_rows(lean_sides[0][0], lean_sides[1][0], clients),
        Result(FIGURE, "floor: echo server listing the same tools, calls/s (same clients, same requests)", round(floor_rate, 1),
               "calls/s", details={"p50_ms": round(median(floor_all) * 1000, 2), "p99_ms": round(floor_p99, 2),
                                   "errors": sum(floor["errors"].values())}),
        Result(FIGURE, "server CPU per call / echo server's (the server's own cost, steadier than calls/s)",
               round(cpu_ratio, 3), "x",
               details={"ours_ms": round(measured["server_cpu_ms_per_call"], 3),
                        "echo_ms": round(floor["server_cpu_ms_per_call"], 3)}),
        Result(FIGURE, "server CPU per call less its Membrane round trips at the direct-httpx floor / echo's",
               round((measured["server_cpu_ms_per_call"] - upstream_per_call * upstream_ms)
                     / floor["server_cpu_ms_per_call"], 3), "x",
               details={"upstream_floor_ms_per_request": round(upstream_ms, 3),
                        "upstream_requests_per_call": upstream_per_call}),
        Result(FIGURE, "load generator CPU per call, ours / echo (bigger results cost the clients too)",
               round(measured["client_cpu_ms_per_call"] / floor["client_cpu_ms_per_call"], 3), "x",
               details={"ours_ms": round(measured["client_cpu_ms_per_call"], 3),
                        "echo_ms": round(floor["client_cpu_ms_per_call"], 3)}),
        Result(FIGURE, "latency p50 (all calls)", round(median(all_latencies) * 1000, 2), "ms",
               details={"p99_ms": round(percentile(all_latencies, 99) * 1000, 2)}),
        upper_bound("latency p99 (all calls)", round(percentile(all_latencies, 99) * 1000, 2), P99_LIMIT_MS,
                    "ms", FIGURE, echo_p99_ms=round(floor_p99, 2)),
        Result(FIGURE, "floor: echo server's latency p99 (same clients)", round(floor_p99, 2), "ms"),
        Result(FIGURE, "errors", total_errors, "", "0", "pass" if total_errors == 0 else "MISS",
               "" if total_errors == 0 else f"{total_errors} errors",
               {"by_operation": measured["errors"], "samples": measured["samples"]}),
        upper_bound("peak RSS of the server process", round(rss.peak, 1), RSS_LIMIT_MB, "MB", FIGURE,
                    idle_rss_mb=round(idle_rss, 1)),
    ]  # fmt: skip
