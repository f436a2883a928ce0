"""Figure 2: catalog load, cold and warm, over catalogs of 1 to 100 connections x 50 actions.

The sandbox runs in its own process with 20 ms latency per request. Cold: `Catalog.get()` on a new
gateway (empty cache), split into fetching (HTTP) and building entries (naming, schema sanitising).
Warm: `tools/list` through the in-memory MCP client, direct and search mode. At the 1,000-tool point the
warm direct-mode list is also compared with its floor: the echo server (bench/echo_server.py, the same SDK)
listing exactly the tools we list (`--tools-file`), through the same kind of client, interleaved; over
stdio (both servers in their own process: what a host sees, with each server's CPU per list) and in
memory. Also collects the data for figure 5 (context cost) and for listing.png.
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from bench import context, echo_server
from bench.common import (
    BenchConfig,
    Result,
    SandboxProcess,
    echo_stdio_params,
    log,
    median,
    sandbox_process,
    stdio_params,
    tools_file,
    upper_bound,
)

FIGURE = "2. Catalog load"
LATENCY_MS = 20.0
ACTIONS = 50
COLD_LIMIT_S = 0.5
DIRECT_LIMIT_MS = 20.0
SEARCH_LIMIT_MS = 5.0
ECHO_RATIO_LIMIT = (
    1.0  # issue 17: a warm list of 1,000 tools no slower than the echo server's of the same size
)


class BuildTimer:
    """Times the building of entries inside `Catalog._load` (the CPU part of a cold load): each
    connection's `unnamed_entries` (made as its actions arrive, between the other requests) plus the
    final `name_entries`. `total` is the sum since `reset`."""

    TIMED = ("unnamed_entries", "name_entries")

    def __init__(self) -> None:
        from membrane_mcp.tools import catalog

        self._module = catalog
        self._originals = {name: getattr(catalog, name) for name in self.TIMED}
        self.total = 0.0

    def reset(self) -> None:
        self.total = 0.0

    def __enter__(self) -> BuildTimer:
        def timed(original: Any) -> Any:
            def run(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.total += time.perf_counter() - started

            return run

        for name, original in self._originals.items():
            setattr(self._module, name, timed(original))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(self._module, name, original)


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
                timer.reset()
                started = time.perf_counter()
                snapshot = await gateway.catalog.get()
                cold.append(time.perf_counter() - started)
                build.append(timer.total)
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
            out["per_action_shown_bytes"] = context.per_action(
                first.tools, set(META_TOOL_NAMES), context.model_bytes
            )
    return out


def _server_process(needle: str) -> Any:
    """The child process (a stdio server the client spawned) whose command line contains `needle`."""
    import psutil

    for child in psutil.Process().children(recursive=True):
        try:
            if needle in " ".join(child.cmdline()):
                return child
        except psutil.Error:
            continue
    return None


def _cpu_s(process: Any) -> float:
    if process is None:
        return float("nan")
    times = process.cpu_times()
    return float(times.user + times.system)


async def _warm_up(client: Any) -> None:
    """What a session has done before its lists are warm: after the catalog load the server builds the
    search index and imports jsonschema in the background; a search and a validated call wait for both."""
    await client.call_tool("search_actions", {"query": "list records"})
    await client.call_tool("list_connections", {})


async def _interleaved(ours: Any, echo: Any, runs: int) -> tuple[list[float], list[float]]:
    ours_s: list[float] = []
    echo_s: list[float] = []
    for client in (ours, echo, ours, echo):  # two warm lists each
        await client.list_tools()
    for i in range(runs):
        pairs = ((ours, ours_s), (echo, echo_s))
        for client, times in pairs if i % 2 == 0 else pairs[::-1]:
            started = time.perf_counter()
            await client.list_tools()
            times.append(time.perf_counter() - started)
    return ours_s, echo_s


async def _versus_echo_stdio(sandbox: SandboxProcess, runs: int) -> dict[str, Any]:
    from mcp import Client

    ours_params = stdio_params(sandbox, "--apps", "synth-*", "--tool-mode", "direct")
    async with Client(ours_params) as ours:
        first = await ours.list_tools()
        await _warm_up(ours)
        with tools_file(first.tools) as path:
            echo_params = echo_stdio_params("--tools-file", str(path))
            async with Client(echo_params) as echo:
                echo_first = await echo.list_tools()
                ours_process, echo_process = _server_process("membrane_mcp serve"), _server_process(str(path))
                cpu_before = _cpu_s(ours_process), _cpu_s(echo_process)
                ours_s, echo_s = await _interleaved(ours, echo, runs)
                cpu_after = _cpu_s(ours_process), _cpu_s(echo_process)
                async with Client(echo_params) as control:
                    # The harness's own noise: one echo server against another, the same way.
                    control_s, control_echo_s = await _interleaved(control, echo, runs)
    return {
        **_compared(first, echo_first, ours_s, echo_s),
        # Each list timed above plus the 2 warm ones: server CPU per list, background work excluded.
        "ours_cpu_ms": (cpu_after[0] - cpu_before[0]) / (runs + 2) * 1000,
        "echo_cpu_ms": (cpu_after[1] - cpu_before[1]) / (runs + 2) * 1000,
        "control_ratio": median(control_s) / median(control_echo_s),
    }


async def _versus_echo_memory(url: str, token: str, runs: int) -> dict[str, Any]:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    settings = Settings(api_url=url, token=token, apps=["synth-*"], tool_mode="direct")
    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as ours:
        first = await ours.list_tools()
        await _warm_up(ours)
        with tools_file(first.tools) as path:
            async with Client(echo_server.build(0, path)) as echo:
                echo_first = await echo.list_tools()
                ours_s, echo_s = await _interleaved(ours, echo, runs)
    return _compared(first, echo_first, ours_s, echo_s)


def _compared(first: Any, echo_first: Any, ours_s: list[float], echo_s: list[float]) -> dict[str, Any]:
    """Sizes of both lists and each side's list times in ms."""
    return {
        "tools": len(first.tools),
        "ours_bytes": context.list_bytes(first),
        "echo_bytes": context.list_bytes(echo_first),
        "ours_ms": [t * 1000 for t in ours_s],
        "echo_ms": [t * 1000 for t in echo_s],
    }


def versus_echo_results(stdio: dict[str, Any], memory: dict[str, Any]) -> list[Result]:
    out = []
    for transport, r in (("stdio", stdio), ("in-memory client", memory)):
        ours, echo = median(r["ours_ms"]), median(r["echo_ms"])
        details: dict[str, Any] = {
            "ours_ms": round(ours, 2),
            "echo_ms": round(echo, 2),
            "runs": len(r["ours_ms"]),
            "list_bytes": r["ours_bytes"],
            "echo_list_bytes": r["echo_bytes"],
        }
        if "control_ratio" in r:
            details["echo_vs_echo_ratio"] = round(r["control_ratio"], 3)  # the harness's noise
        if "ours_cpu_ms" in r:
            details["server_cpu_per_list_ms"] = {
                "ours": round(r["ours_cpu_ms"], 2),
                "echo": round(r["echo_cpu_ms"], 2),
            }
            details["server_cpu_ratio"] = round(r["ours_cpu_ms"] / r["echo_cpu_ms"], 3)
        name = (
            f"warm tools/list, direct mode, {r['tools']} tools / echo server listing the same tools, {transport} "
            "(median ratio, interleaved)"
        )
        out.append(upper_bound(name, round(ours / echo, 3), ECHO_RATIO_LIMIT, "x", FIGURE, **details))
    return out


def run(cfg: BenchConfig) -> list[Result]:
    sizes = cfg.pick([1, 10, 20, 100], [1, 2])
    rows: dict[int, dict[str, Any]] = {}
    # Warm listing: the 1,000-tool point is 20 connections x 50 actions; others are informational.
    target_n = 20 if 20 in sizes else max(sizes)
    versus: tuple[dict[str, Any], dict[str, Any]] | None = None
    for n in sizes:
        cold_runs = cfg.pick(3 if n >= 100 else 5, 1)
        warm_runs = cfg.pick(30, 3)
        with sandbox_process(
            latency_ms=LATENCY_MS, synthetic_connections=n, synthetic_actions=ACTIONS
        ) as sandbox:
            rows[n] = anyio.run(_measure, sandbox.url, sandbox.token, cold_runs, warm_runs)
            if n == target_n:
                versus = (
                    anyio.run(_versus_echo_stdio, sandbox, warm_runs),
                    anyio.run(_versus_echo_memory, sandbox.url, sandbox.token, warm_runs),
                )
                for transport, v in zip(("stdio", "memory"), versus, strict=True):
                    log(f"catalog {n}x{ACTIONS} vs echo ({transport}): ours {median(v['ours_ms']):.2f}ms, "
                        f"echo {median(v['echo_ms']):.2f}ms ({v['tools']} tools)")  # fmt: skip
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
            # Entries are built as each connection's actions arrive, between requests: part of this
            # overlaps the fetching, so cold - build is not the fetch time.
            "build_entries_s": round(build, 4),
            "cold_minus_build_s": round(cold - build, 4),
            "actions": r["actions"],
            "latency_ms": LATENCY_MS,
        }
        name = f"cold load, {n} connection(s) x {ACTIONS} actions (Catalog.get on a new gateway)"
        if n == max(sizes):
            results.append(upper_bound(name, round(cold, 4), COLD_LIMIT_S, "s", FIGURE, **details))
        else:
            results.append(Result(FIGURE, name, round(cold, 4), "s", details=details))
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
    if versus is not None:
        results += versus_echo_results(*versus)
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
    results += context.results(
        search_sizes, rows[largest]["per_action_bytes"], real, rows[largest]["per_action_shown_bytes"]
    )
    return results
