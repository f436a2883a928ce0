"""Figure 6: how often search_actions ranks the expected action first / in the top 3.

Task set: tests/search/tasks.json, a list of {"query", "app", "expected": [action keys]}. Each query
runs through the in-memory MCP client against the sandbox's real apps, with the task's app as the
`app` filter (as an agent that knows which CRM is meant would call it) and, in the details, without it.
A result matches when its key, or "app:key", is in `expected`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio

from bench.common import BenchConfig, Result, log, median, sandbox_process, structured

FIGURE = "6. Search quality"
TASKS = Path(__file__).resolve().parent.parent / "tests" / "search" / "tasks.json"


def load_tasks(path: Path = TASKS) -> list[dict[str, Any]] | None:
    if not path.exists():
        return None
    tasks = json.loads(path.read_text())
    if isinstance(tasks, dict):
        tasks = tasks.get("tasks", [])
    return [t for t in tasks if isinstance(t, dict) and t.get("query") and t.get("expected")]


def rank_of(results: list[dict[str, Any]], expected: list[str]) -> int | None:
    wanted = set(expected)
    for position, item in enumerate(results):
        if item.get("key") in wanted or f"{item.get('app')}:{item.get('key')}" in wanted:
            return position
    return None


async def _evaluate(url: str, token: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings

    settings = Settings(api_url=url, token=token, tool_mode="search")
    ranks: dict[str, list[int | None]] = {"app": [], "all": []}
    latencies: list[float] = []
    misses: list[dict[str, Any]] = []
    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
        await client.list_tools()
        for task in tasks:
            for scope in ("app", "all"):
                args: dict[str, Any] = {"query": task["query"], "limit": 5}
                if scope == "app" and task.get("app"):
                    args["app"] = task["app"]
                started = time.perf_counter()
                result = await client.call_tool("search_actions", args)
                latencies.append(time.perf_counter() - started)
                payload = structured(result) or {}
                found = payload.get("results", []) if isinstance(payload, dict) else []
                rank = rank_of(found, list(task["expected"]))
                ranks[scope].append(rank)
                if scope == "app" and (rank is None or rank > 0) and len(misses) < 15:
                    misses.append({"query": task["query"], "app": task.get("app"), "expected": task["expected"],
                                   "got": [r.get("key") for r in found[:3]]})  # fmt: skip
    return {"ranks": ranks, "latencies": latencies, "misses": misses}


def run(cfg: BenchConfig) -> list[Result]:
    tasks = load_tasks()
    if tasks is None:
        return [Result(FIGURE, f"task set missing ({TASKS.relative_to(TASKS.parent.parent.parent)})", None, "",
                       "top-1 / top-3 accuracy", "skip")]  # fmt: skip
    if cfg.smoke:
        tasks = tasks[:5]
    with sandbox_process() as sandbox:
        measured = anyio.run(_evaluate, sandbox.url, sandbox.token, tasks)
    n = len(tasks)

    def accuracy(scope: str, k: int) -> float:
        return sum(1 for r in measured["ranks"][scope] if r is not None and r < k) / n

    log(f"search: top-1 {accuracy('app', 1):.2%}, top-3 {accuracy('app', 3):.2%} over {n} tasks")
    details = {"tasks": n, "without_app_filter": {"top1": round(accuracy("all", 1), 3),
                                                  "top3": round(accuracy("all", 3), 3)}}  # fmt: skip
    return [
        Result(FIGURE, "top-1 accuracy (app filter from the task)", round(accuracy("app", 1), 3), "",
               details={**details, "misses": measured["misses"]}),
        Result(FIGURE, "top-3 accuracy (app filter from the task)", round(accuracy("app", 3), 3), "", details=details),
        Result(FIGURE, "median search_actions latency (in-memory client)",
               round(median(measured["latencies"]) * 1000, 3), "ms", details={"calls": len(measured["latencies"])}),
    ]  # fmt: skip
