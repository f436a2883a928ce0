"""Figure 7: RSS of the server process once a 10,000-action catalog is loaded.

`membrane-mcp serve --transport http` (auto mode, so search mode at this size) against a sandbox
process with 200 synthetic connections x 50 actions. RSS is read with psutil after the first
tools/list (which loads the catalog) and after a search_actions (which builds the search index).
"""

from __future__ import annotations

import time
from typing import Any

import anyio

from bench.common import BenchConfig, Result, http_server, log, rss_mb, sandbox_process, upper_bound

FIGURE = "7. Memory"
RSS_LIMIT_MB = 150.0


async def _load(url: str, pid: int) -> dict[str, Any]:
    from mcp import Client

    async with Client(url) as client:
        started = time.perf_counter()
        listed = await client.list_tools()
        loaded = time.perf_counter() - started
        after_load = rss_mb(pid)
        result = await client.call_tool("search_actions", {"query": "create an invoice", "limit": 3})
        return {"tools": len(listed.tools), "load_s": loaded, "search_ok": not result.is_error,
                "rss_after_load_mb": after_load}  # fmt: skip


def run(cfg: BenchConfig) -> list[Result]:
    connections, actions = cfg.pick((200, 50), (4, 50))
    with sandbox_process(synthetic_connections=connections, synthetic_actions=actions) as sandbox:
        with http_server(sandbox, "--apps", "synth-*") as server:
            pid = server.process.pid
            idle = rss_mb(pid)
            measured = anyio.run(_load, server.url, pid)
            after_search = rss_mb(pid)
    loaded = measured.pop("rss_after_load_mb")
    log(
        f"memory: {connections * actions} actions -> RSS {loaded:.1f} MB, {after_search:.1f} MB after a search"
    )
    return [
        upper_bound(
            f"server RSS with a {connections * actions:,}-action catalog loaded ({connections} x {actions})",
            round(loaded, 1), RSS_LIMIT_MB, "MB", FIGURE,
            rss_at_healthz_mb=round(idle, 1), catalog_load_s=round(measured["load_s"], 3), **measured,
        ),
        Result(FIGURE, "server RSS after the first search_actions (search index built)",
               round(after_search, 1), "MB"),
    ]  # fmt: skip
