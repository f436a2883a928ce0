"""Figure 3: what the MCP layer adds to one action run, over stdio and over streamable HTTP.

The same action (Vtiger query-records, 2 rows) is run through `tools/call` (the direct tool
`vtiger_query_records`) and straight at the sandbox's REST endpoint with httpx, interleaved, so both
see the same machine state. Added latency = median(MCP) - median(direct); the median of the per-pair
differences is in the details.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from bench.common import (
    BenchConfig,
    Result,
    http_server,
    log,
    median,
    sandbox_process,
    stdio_params,
    upper_bound,
)

FIGURE = "3. Call overhead"
LIMITS_MS = {"stdio": 2.0, "http": 5.0}
QUERY = {"query": "SELECT * FROM Leads LIMIT 2;"}
TOOL = "vtiger_query_records"


def vtiger_connection(url: str, token: str) -> str:
    items = httpx.get(f"{url}/connections", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    return next(c["id"] for c in items if c.get("integrationKey") == "vtiger")


async def _pairs(client: Any, url: str, token: str, calls: int) -> tuple[list[float], list[float]]:
    connection = vtiger_connection(url, token)
    mcp_times: list[float] = []
    direct_times: list[float] = []
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

        for _ in range(min(20, calls)):  # warm-up: connections, caches, the catalog
            await direct()
            await through_mcp()
        for i in range(calls):
            order = (direct, through_mcp) if i % 2 == 0 else (through_mcp, direct)
            for fn in order:
                started = time.perf_counter()
                await fn()
                (direct_times if fn is direct else mcp_times).append(time.perf_counter() - started)
    return mcp_times, direct_times


async def _stdio(sandbox: Any, calls: int) -> tuple[list[float], list[float]]:
    from mcp import Client

    async with Client(stdio_params(sandbox, "--tool-mode", "direct", "--apps", "vtiger")) as client:
        return await _pairs(client, sandbox.url, sandbox.token, calls)


async def _http(url: str, sandbox: Any, calls: int) -> tuple[list[float], list[float]]:
    from mcp import Client

    async with Client(url) as client:
        return await _pairs(client, sandbox.url, sandbox.token, calls)


def run(cfg: BenchConfig) -> list[Result]:
    calls = cfg.pick(500, 10)
    measured: dict[str, tuple[list[float], list[float]]] = {}
    with sandbox_process() as sandbox:
        measured["stdio"] = anyio.run(_stdio, sandbox, calls)
        with http_server(sandbox, "--tool-mode", "direct", "--apps", "vtiger") as server:
            measured["http"] = anyio.run(_http, server.url, sandbox, calls)
    results = []
    for transport, (mcp_times, direct_times) in measured.items():
        added = (median(mcp_times) - median(direct_times)) * 1000
        paired = median([(m - d) * 1000 for m, d in zip(mcp_times, direct_times, strict=True)])
        log(
            f"overhead {transport}: mcp {median(mcp_times) * 1000:.2f}ms, direct {median(direct_times) * 1000:.2f}ms"
        )
        results.append(
            upper_bound(
                f"added latency of tools/call over {transport} (median MCP - median direct httpx)",
                round(added, 3), LIMITS_MS[transport], "ms", FIGURE,
                calls=calls, mcp_median_ms=round(median(mcp_times) * 1000, 3),
                direct_median_ms=round(median(direct_times) * 1000, 3), paired_median_ms=round(paired, 3),
            )
        )  # fmt: skip
    return results
