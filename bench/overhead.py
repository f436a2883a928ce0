"""Figure 3: what the MCP layer adds to one action run, over stdio and over streamable HTTP.

The same action (Vtiger query-records, 2 rows) is run through `tools/call` (the direct tool
`vtiger_query_records`) and straight at the sandbox's REST endpoint with httpx (the floor for the
Membrane round trip), interleaved with a `tools/call` of the echo server (bench/echo_server.py, the same
SDK over the same transport: the floor for an MCP round trip), so all three see the same machine state.
Added latency = median(MCP) - median(direct); the figure is added latency / median(echo call).
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from bench.common import (
    BenchConfig,
    Result,
    echo_http_server,
    echo_stdio_params,
    http_server,
    log,
    median,
    sandbox_process,
    stdio_params,
    upper_bound,
)

FIGURE = "3. Call overhead"
TARGET_RATIO = 1.2  # added latency at most 1.2x an echo round trip on the same SDK and transport
QUERY = {"query": "SELECT * FROM Leads LIMIT 2;"}
TOOL = "vtiger_query_records"


def vtiger_connection(url: str, token: str) -> str:
    items = httpx.get(f"{url}/connections", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    # Connections may carry no integrationKey (the sandbox's default profile, like Membrane): match the name.
    return next(c["id"] for c in items if "vtiger" in (c.get("name") or "").lower())


async def _triples(
    client: Any, echo: Any, url: str, token: str, calls: int, echo2: Any = None
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Times of our call, the direct httpx call and the echo call, interleaved; with `echo2` (the echo
    server on our own stdio transport) its call too, in the same rounds."""
    connection = vtiger_connection(url, token)
    mcp_times: list[float] = []
    direct_times: list[float] = []
    echo_times: list[float] = []
    echo2_times: list[float] = []
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:

        async def direct() -> None:
            response = await http.post(
                "/actions/query-records/run", params={"connectionId": connection}, json={"input": QUERY}
            )
            response.raise_for_status()

        async def through_mcp() -> None:
            result = await client.call_tool(TOOL, QUERY)
            if result.is_error:
                raise RuntimeError(f"{TOOL} failed: {result.content}")

        async def through_echo() -> None:
            result = await echo.call_tool("echo_0", QUERY)
            if result.is_error:
                raise RuntimeError(f"echo failed: {result.content}")

        async def through_echo2() -> None:
            result = await echo2.call_tool("echo_0", QUERY)
            if result.is_error:
                raise RuntimeError(f"echo (our stdio) failed: {result.content}")

        timings = {direct: direct_times, through_mcp: mcp_times, through_echo: echo_times}
        orders = [(direct, through_mcp, through_echo), (through_echo, through_mcp, direct)]
        if echo2 is not None:
            timings[through_echo2] = echo2_times
            orders = [(*order, through_echo2) for order in orders]
        for _ in range(min(20, calls)):  # warm-up: connections, caches, the catalog
            for fn in timings:
                await fn()
        for i in range(calls):
            for fn in orders[i % 2]:
                started = time.perf_counter()
                await fn()
                timings[fn].append(time.perf_counter() - started)
    return mcp_times, direct_times, echo_times, echo2_times


async def _stdio(sandbox: Any, calls: int) -> tuple[list[float], list[float], list[float], list[float]]:
    from mcp import Client

    ours = stdio_params(sandbox, "--tool-mode", "direct", "--apps", "vtiger")
    async with (
        Client(ours) as client,
        Client(echo_stdio_params()) as echo,
        Client(echo_stdio_params("--our-stdio")) as echo2,
    ):
        return await _triples(client, echo, sandbox.url, sandbox.token, calls, echo2)


async def _http(
    url: str, echo_url: str, sandbox: Any, calls: int
) -> tuple[list[float], list[float], list[float], list[float]]:
    from mcp import Client

    async with Client(url) as client, Client(echo_url) as echo:
        return await _triples(client, echo, sandbox.url, sandbox.token, calls)


def run(cfg: BenchConfig) -> list[Result]:
    calls = cfg.pick(500, 10)
    measured: dict[str, tuple[list[float], list[float], list[float], list[float]]] = {}
    with sandbox_process() as sandbox:
        measured["stdio"] = anyio.run(_stdio, sandbox, calls)
        with (
            http_server(sandbox, "--tool-mode", "direct", "--apps", "vtiger") as server,
            echo_http_server() as echo,
        ):
            measured["http"] = anyio.run(_http, server.url, echo.url, sandbox, calls)
    results = []
    for transport, (mcp_times, direct_times, echo_times, echo2_times) in measured.items():
        added = (median(mcp_times) - median(direct_times)) * 1000
        echo_ms = median(echo_times) * 1000
        paired = median([(m - d) * 1000 for m, d in zip(mcp_times, direct_times, strict=True)])
        log(
            f"overhead {transport}: mcp {median(mcp_times) * 1000:.2f}ms, direct {median(direct_times) * 1000:.2f}ms, "
            f"echo {echo_ms:.2f}ms"
        )
        results.append(
            upper_bound(
                f"added latency of tools/call over {transport} (median MCP - median direct httpx) / echo round trip",
                round(added / echo_ms, 3), TARGET_RATIO, "x", FIGURE,
                calls=calls, added_ms=round(added, 3), echo_median_ms=round(echo_ms, 3),
                mcp_median_ms=round(median(mcp_times) * 1000, 3),
                direct_median_ms=round(median(direct_times) * 1000, 3), paired_median_ms=round(paired, 3),
            )
        )  # fmt: skip
        if echo2_times:
            echo2_ms = median(echo2_times) * 1000
            results.append(
                Result(FIGURE, f"added latency over {transport} / echo round trip on our own stdio transport "
                       "(stdio_wire; the SDK's is the floor above)", round(added / echo2_ms, 3), "x",
                       details={"echo_median_ms": round(echo2_ms, 3)})
            )  # fmt: skip
    return results
