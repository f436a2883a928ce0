"""Search index build + first query, this tree against another git revision's `tools/search.py`, interleaved.

Not a numbered figure: the A/B behind the issue 17 search changes. The synthetic catalog (N connections x
50 actions) is loaded once from the sandbox; then, `--rounds` times, each side builds `SearchIndex(entries)`
(token caches cleared) and runs one query twice (first, warm). CPU time of this process (`process_time`).

    .venv/bin/python -m bench.search_build [--connections 100] [--ref main] [--rounds 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from bench.common import log, sandbox_process

QUERIES = ("create an invoice", "list open tickets", "delete a widget", "find orders by status")
CACHES = ("_segment_tokens", "_counts", "_expand_raw", "_term", "_key_object")


async def _entries(url: str, token: str) -> list[Any]:
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    settings = Settings(api_url=url, token=token, apps=["synth-*"], tool_mode="search")
    async with open_gateway(settings) as gateway:
        return list((await gateway.catalog.get()).entries)


def _module_at(ref: str) -> Any:
    source = subprocess.run(
        ["git", "show", f"{ref}:membrane_mcp/tools/search.py"], capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "search_ref.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("search_ref", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["search_ref"] = module
    spec.loader.exec_module(module)
    return module


def _measure(module: Any, entries: list[Any], query: str) -> tuple[float, float, float]:
    for name in CACHES:
        cached = getattr(module, name, None)
        if hasattr(cached, "cache_clear"):
            cached.cache_clear()
    started = time.process_time()
    index = module.SearchIndex(entries)
    built = time.process_time()
    index.search(query, 5)
    first = time.process_time()
    index.search(query, 5)
    return built - started, first - built, time.process_time() - first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search_build", description=__doc__)
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--ref", default="main")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from membrane_mcp.tools import search as ours

    theirs = _module_at(args.ref)
    with sandbox_process(synthetic_connections=args.connections) as sandbox:
        entries = anyio.run(_entries, sandbox.url, sandbox.token)
    samples: dict[str, list[tuple[float, float, float]]] = {args.ref: [], "this tree": []}
    for round_ in range(args.rounds):
        query = QUERIES[round_ % len(QUERIES)]
        for label, module in ((args.ref, theirs), ("this tree", ours)):
            samples[label].append(_measure(module, entries, query))
            log(f"round {round_}: {label}: build {samples[label][-1][0]:.3f}s")
    print(f"{len(entries)} actions, CPU, median of {args.rounds} interleaved rounds:")
    totals = {}
    for label, rows in samples.items():
        build, first, warm = (statistics.median(row[k] for row in rows) for k in range(3))
        totals[label] = build + first
        print(f"  {label:10} build {build:.3f} s, first query {first * 1e3:.1f} ms, warm {warm * 1e3:.1f} ms")
    print(f"  build + first query: this tree / {args.ref} = {totals['this tree'] / totals[args.ref]:.3f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
