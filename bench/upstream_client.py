"""Client CPU per Membrane request, by transport under the Membrane client (issue 17).

Not a numbered figure: the measurement behind the choice of transport in membrane/transport.py.
`concurrency` tasks each send one kind of request through `MembraneClient._request` (auth header,
retry policy, size cap, observability: everything but JSON decoding) to the sandbox in its own
process, in a loop; the figure is this process's CPU time per request (`time.process_time`), so the
sandbox's CPU does not count. Two requests: a small GET (one connection, ~600 B) and a page of 50
actions (~100 KB, the catalog load's request). Variants run interleaved, in alternating order, and each
is reported as a ratio to the first.

    .venv/bin/python -m bench.upstream_client [--rounds 5] [--variants httpcore2,aiohttp,httpx]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx

from bench.common import SANDBOX_TOKEN, log, sandbox_process
from membrane_mcp.membrane import MembraneClient, MembraneConfig, StaticToken

LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=20, keepalive_expiry=4.0)


class _Stream(httpx.AsyncByteStream):
    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._stream:
            yield part

    async def aclose(self) -> None:
        await self._stream.aclose()


class Httpcore2Transport(httpx.AsyncBaseTransport):
    """The transport before issue 17: httpx over httpcore2's connection pool (anyio network streams).

    Kept here as the baseline; error mapping left out (the measured requests do not fail)."""

    def __init__(self, limits: httpx.Limits) -> None:
        import httpcore2

        self._core = httpcore2
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        core_request = self._core.Request(
            method=request.method,
            url=self._core.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        response = await self._pool.handle_async_request(core_request)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_Stream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def _aiohttp() -> httpx.AsyncBaseTransport:
    from membrane_mcp.membrane.transport import PooledTransport

    return PooledTransport(LIMITS)


def _httpx_aiohttp() -> httpx.AsyncBaseTransport:
    """The `httpx-aiohttp` package's transport (not a dependency: pip install httpx-aiohttp to compare)."""
    from httpx_aiohttp import AiohttpTransport  # type: ignore[import-not-found,unused-ignore]

    transport: httpx.AsyncBaseTransport = AiohttpTransport(limits=LIMITS)
    return transport


VARIANTS: dict[str, Callable[[], httpx.AsyncBaseTransport]] = {
    "httpcore2": lambda: Httpcore2Transport(LIMITS),
    "aiohttp": _aiohttp,
    "httpx": lambda: httpx.AsyncHTTPTransport(limits=LIMITS),
    "httpx-aiohttp": _httpx_aiohttp,
}


async def cpu_per_request(
    make: Callable[[], httpx.AsyncBaseTransport],
    url: str,
    path: str,
    params: dict[str, str],
    requests: int,
    concurrency: int,
) -> float:
    config = MembraneConfig(url)
    async with MembraneClient(config, StaticToken(SANDBOX_TOKEN), transport=make()) as client:
        for _ in range(concurrency):  # warm the pool
            await client._request("GET", path, params=params)
        remaining = requests

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                await client._request("GET", path, params=params)

        started = time.process_time()
        async with anyio.create_task_group() as group:
            for _ in range(concurrency):
                group.start_soon(worker)
        return (time.process_time() - started) / requests


async def cpu_per_catalog_load(variant: str, url: str) -> tuple[float, int]:
    """Process CPU of one cold `Catalog.get()` (search mode, synthetic apps) on a new gateway whose
    Membrane client has `variant`'s transport, and the number of Membrane requests it made."""
    from membrane_mcp.membrane import transport
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    inner = VARIANTS[variant]()  # made before the patch below: the gateway's client gets this one
    counted = 0

    class Counted(httpx.AsyncBaseTransport):
        def __init__(self, limits: httpx.Limits) -> None:
            pass

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            nonlocal counted
            counted += 1
            return await inner.handle_async_request(request)

        async def aclose(self) -> None:
            await inner.aclose()

    real = transport.PooledTransport
    transport.PooledTransport = Counted  # type: ignore[misc,assignment]  # what deferred_transport makes
    try:
        settings = Settings(api_url=url, token=SANDBOX_TOKEN, apps=["synth-*"], tool_mode="search")
        async with open_gateway(settings) as gateway:
            started = time.process_time()
            await gateway.catalog.get()
            return time.process_time() - started, counted
    finally:
        transport.PooledTransport = real  # type: ignore[misc]


_FIRST_USE = """
import sys, time
import anyio, httpx, membrane_mcp.membrane  # loaded before the first Membrane request anyway
import bench.upstream_client as harness
started = time.process_time()
harness.VARIANTS[sys.argv[1]]()
print(time.process_time() - started)
"""


def first_use_cpu(variant: str) -> float:
    """CPU of importing and making `variant`'s transport in a new interpreter (paid once per process,
    at the first Membrane request)."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_USE, variant], capture_output=True, text=True, check=True
    )
    return float(done.stdout)


def _first_connection(url: str) -> tuple[str, str]:
    """The id of one synthetic connection and its integration's id."""
    answer = httpx.get(f"{url}/connections", headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})
    item = next(c for c in answer.raise_for_status().json()["items"] if c["name"].startswith("Synthetic"))
    return item["id"], item["integrationId"]


def _cells(rows: dict[str, list[float]], names: list[str], unit: str, scale: float) -> list[str]:
    """Each variant's median, and its ratio to the first variant's: the median of the per-round ratios
    (rounds are paired, so load on the machine that moves a whole round cancels out)."""
    cells = []
    for name in names:
        ratios = [v / f for v, f in zip(rows[name], rows[names[0]], strict=True)]
        value = statistics.median(rows[name]) * scale
        cells.append(f"{name} {value:.3f} {unit} ({statistics.median(ratios):.2f}x)")
    return cells


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream_client", description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--small-requests", type=int, default=1500)
    parser.add_argument("--page-requests", type=int, default=300)
    parser.add_argument("--variants", default="httpcore2,aiohttp")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--connections", type=int, default=100, help="synthetic connections (catalog size)")
    args = parser.parse_args(argv)
    names = args.variants.split(",")
    levels = [int(c) for c in args.concurrency.split(",")]
    with sandbox_process(synthetic_connections=args.connections) as sandbox:
        connection_id, integration_id = _first_connection(sandbox.url)
        loads = {
            "small GET /connections/{id}": (f"/connections/{connection_id}", {}, args.small_requests),
            "100 KB GET /actions page": (
                "/actions",
                {"integrationId": integration_id, "limit": "1000", "cursor": "0"},
                args.page_requests,
            ),
        }
        samples: dict[tuple[str, int, str], list[float]] = {}
        loads_of_catalog: dict[str, list[float]] = {name: [] for name in names}
        first_use: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # imports and first-use costs out of the rounds
            anyio.run(cpu_per_catalog_load, name, sandbox.url)
        for round_ in range(args.rounds):
            for name in names if round_ % 2 == 0 else reversed(names):
                first_use[name].append(first_use_cpu(name))
                cpu, requests = anyio.run(cpu_per_catalog_load, name, sandbox.url)
                loads_of_catalog[name].append(cpu)
                log(f"round {round_}: cold catalog load ({requests} requests) {name}: {cpu:.3f} s CPU")
            for load, (path, params, requests) in loads.items():
                for concurrency in levels:
                    for name in names if round_ % 2 == 0 else reversed(names):
                        value = anyio.run(
                            cpu_per_request, VARIANTS[name], sandbox.url, path, params, requests, concurrency
                        )
                        samples.setdefault((load, concurrency, name), []).append(value)
                        log(f"round {round_}: {load} x{concurrency} {name}: {value * 1e3:.3f} ms CPU")
    print(f"CPU to import and make the transport in a new process (once), median of {args.rounds}:")
    print("  " + "  ".join(f"{n} {statistics.median(v) * 1e3:.0f} ms" for n, v in first_use.items()))
    print(f"CPU per cold catalog load ({args.connections} connections), median of {args.rounds} rounds:")
    print("  " + "  ".join(_cells(loads_of_catalog, names, "s", 1)))
    print(f"client CPU per request, median of {args.rounds} rounds:")
    for load in loads:
        for concurrency in levels:
            row = {name: samples[(load, concurrency, name)] for name in names}
            print(f"  {load:28} {concurrency:3} in flight: " + "  ".join(_cells(row, names, "ms", 1e3)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
