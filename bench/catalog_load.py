"""Figure 2: catalog load, cold and warm, over catalogs of 1 to 100 connections x 50 actions.

The sandbox runs in its own process with 20 ms latency per request. Cold: `Catalog.get()` on a new
gateway (empty cache), split into fetching (HTTP) and building entries (naming, schema sanitising).
Warm: `tools/list` through the in-memory MCP client, direct and search mode. Also collects the data
for figure 5 (context cost) and for listing.png.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from bench import context
from bench.common import BenchConfig, Result, log, median, sandbox_process, upper_bound

FIGURE = "2. Catalog load"
LATENCY_MS = 20.0
ACTIONS = 50
COLD_LIMIT_S = 0.5
DIRECT_LIMIT_MS = 20.0
SEARCH_LIMIT_MS = 5.0


class BuildTimer:
    """Times `build_entries` inside `Catalog._load` (the CPU part of a cold load)."""

    def __init__(self) -> None:
        from membrane_mcp.tools import catalog

        self._module = catalog
        self._original = catalog.build_entries
        self.last = 0.0

    def __enter__(self) -> BuildTimer:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return self._original(*args, **kwargs)
            finally:
                self.last = time.perf_counter() - started

        self._module.build_entries = timed
        return self

    def __exit__(self, *exc: object) -> None:
        self._module.build_entries = self._original


async def _measure(url: str, token: str, cold_runs: int, warm_runs: int) -> dict[str, Any]:
    from mcp import Client, types

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings
    from membrane_mcp.tools.meta import META_TOOL_NAMES

    cold: list[float] = []
    build: list[float] = []
    with BuildTimer() as timer:
        for _ in range(cold_runs):
            settings = Settings(api_url=url, token=token, apps=["synth-*"], tool_mode="direct")
            async with open_gateway(settings) as gateway:
                started = time.perf_counter()
                snapshot = await gateway.catalog.get()
                cold.append(time.perf_counter() - started)
                build.append(timer.last)
    out: dict[str, Any] = {"actions": len(snapshot.entries), "connections": len(snapshot.connections)}
    out["cold_s"], out["build_s"] = cold, build
    for mode in ("direct", "search"):
        settings = Settings(api_url=url, token=token, apps=["synth-*"], tool_mode=mode)
        async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
            first = await client.list_tools()  # loads the catalog and fills the list cache
            runs = warm_runs if len(first.tools) <= 1100 else max(3, warm_runs // 6)
            times, ours, dumps = [], [], []
            for _ in range(runs):
                started = time.perf_counter()
                await client.list_tools()
                times.append(time.perf_counter() - started)
                # The breakdown: our part (the gateway's cached list) and one JSON dump of the result,
                # about what the SDK's server does per call; the rest is SDK dispatch and client validation.
                started = time.perf_counter()
                tools = await gateway.list_tools()
                ours.append(time.perf_counter() - started)
                started = time.perf_counter()
                context.list_bytes(types.ListToolsResult(tools=tools))
                dumps.append(time.perf_counter() - started)
        out[f"{mode}_ms"] = [t * 1000 for t in times]
        out[f"{mode}_gateway_ms"] = median(ours) * 1000
        out[f"{mode}_dump_ms"] = median(dumps) * 1000
        out[f"{mode}_tools"] = len(first.tools)
        out[f"{mode}_bytes"] = context.list_bytes(first)
        if mode == "direct":
            out["per_action_bytes"] = context.per_action(first.tools, set(META_TOOL_NAMES))
    return out


def run(cfg: BenchConfig) -> list[Result]:
    sizes = cfg.pick([1, 10, 20, 100], [1, 2])
    rows: dict[int, dict[str, Any]] = {}
    for n in sizes:
        cold_runs = cfg.pick(3 if n >= 100 else 5, 1)
        warm_runs = cfg.pick(30, 3)
        with sandbox_process(
            latency_ms=LATENCY_MS, synthetic_connections=n, synthetic_actions=ACTIONS
        ) as sandbox:
            rows[n] = anyio.run(_measure, sandbox.url, sandbox.token, cold_runs, warm_runs)
        r = rows[n]
        log(
            f"catalog {n}x{ACTIONS}: cold {median(r['cold_s']):.3f}s (build {median(r['build_s']):.3f}s), "
            f"warm direct {median(r['direct_ms']):.2f}ms ({r['direct_tools']} tools), search {median(r['search_ms']):.2f}ms"
        )
    cfg.series["listing"] = {
        "connections": sizes,
        "tools": [rows[n]["direct_tools"] for n in sizes],
        "direct_ms": [median(rows[n]["direct_ms"]) for n in sizes],
        "search_ms": [median(rows[n]["search_ms"]) for n in sizes],
        "cold_s": [median(rows[n]["cold_s"]) for n in sizes],
        "build_s": [median(rows[n]["build_s"]) for n in sizes],
    }
    results: list[Result] = []
    for n in sizes:
        r = rows[n]
        cold, build = median(r["cold_s"]), median(r["build_s"])
        details = {
            "runs_s": [round(x, 4) for x in r["cold_s"]],
            "build_entries_s": round(build, 4),
            "fetch_s": round(cold - build, 4),
            "actions": r["actions"],
            "latency_ms": LATENCY_MS,
        }
        name = f"cold load, {n} connection(s) x {ACTIONS} actions (Catalog.get on a new gateway)"
        if n == max(sizes):
            results.append(upper_bound(name, round(cold, 4), COLD_LIMIT_S, "s", FIGURE, **details))
        else:
            results.append(Result(FIGURE, name, round(cold, 4), "s", details=details))
    # Warm listing: the 1,000-tool point is 20 connections x 50 actions; others are informational.
    target_n = 20 if 20 in rows else max(sizes)
    for n in sizes:
        r = rows[n]
        d = {"tools": r["direct_tools"], "runs": len(r["direct_ms"]),
             "gateway_list_tools_ms": round(r["direct_gateway_ms"], 4),
             "one_json_dump_of_result_ms": round(r["direct_dump_ms"], 3)}  # fmt: skip
        name = f"warm tools/list, direct mode, {r['direct_tools']} tools (in-memory client)"
        value = round(median(r["direct_ms"]), 3)
        if n == target_n:
            results.append(upper_bound(name, value, DIRECT_LIMIT_MS, "ms", FIGURE, **d))
        else:
            results.append(Result(FIGURE, name, value, "ms", details=d))
    largest = max(sizes)
    r = rows[largest]
    results.append(
        upper_bound(f"warm tools/list, search mode, catalog of {r['actions']} actions ({r['search_tools']} tools listed)",
                    round(median(r["search_ms"]), 3), SEARCH_LIMIT_MS, "ms", FIGURE,
                    by_catalog={rows[n]["actions"]: round(median(rows[n]["search_ms"]), 3) for n in sizes},
                    gateway_list_tools_ms=round(r["search_gateway_ms"], 4))
    )  # fmt: skip
    # Figure 5 from the same lists.
    search_sizes = {rows[n]["actions"]: rows[n]["search_bytes"] for n in sizes}
    real = context.real_apps(cfg)
    results += context.results(search_sizes, rows[largest]["per_action_bytes"], real)
    return results
