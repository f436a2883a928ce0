"""Figure 5: context cost of the tool list, in bytes and estimated tokens (bytes / 4).

Search mode lists only the meta tools, so its size must not depend on the catalog. Direct mode pays
per action: reported as the mean and max bytes of one action tool, on the synthetic apps (issue 17's
target: <= 500 B) and on the sandbox's real apps (Vtiger, 1CRM, Bigtincan), whose schemas are richer.
Beside each mean, the bytes of what a model is shown of a tool (name, description, inputSchema: no
title, no annotations), i.e. the floor of anything that keeps every description, enum, format, default
and required field.
"""

from __future__ import annotations

import json
from typing import Any

import anyio

from bench.common import BenchConfig, Result, log, sandbox_process, upper_bound

FIGURE = "5. Context cost"
SEARCH_LIMIT_BYTES = 6 * 1024
SYNTHETIC_LIMIT_BYTES = 500  # issue 17: direct-mode bytes per tool on the synthetic catalog


def tool_bytes(tool: Any) -> int:
    return len(
        json.dumps(tool.model_dump(mode="json", by_alias=True, exclude_none=True), separators=(",", ":"))
    )


def list_bytes(result: Any) -> int:
    dumped = result.model_dump(mode="json", by_alias=True, exclude_none=True)
    return len(json.dumps(dumped, separators=(",", ":")))


def model_bytes(tool: Any) -> int:
    """What a model is shown of a tool: its name, description and inputSchema (compact JSON)."""
    shown = {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
    return len(json.dumps(shown, separators=(",", ":")))


def per_action(tools: list[Any], meta_names: set[str], measure: Any = tool_bytes) -> list[int]:
    return [measure(t) for t in tools if t.name not in meta_names]


async def _real_apps(url: str, token: str) -> dict[str, Any]:
    from mcp import Client

    from membrane_mcp.server.app import build_server
    from membrane_mcp.server.backend import open_gateway
    from membrane_mcp.settings import Settings
    from membrane_mcp.tools.meta import META_TOOL_NAMES

    settings = Settings(api_url=url, token=token, tool_mode="direct")
    async with open_gateway(settings) as gateway, Client(build_server(gateway)) as client:
        result = await client.list_tools()
    sizes = per_action(result.tools, set(META_TOOL_NAMES))
    shown = per_action(result.tools, set(META_TOOL_NAMES), model_bytes)
    return {
        "actions": len(sizes),
        "mean": sum(sizes) / len(sizes),
        "max": max(sizes),
        "list_bytes": list_bytes(result),
        "model_shown_mean": round(sum(shown) / len(shown), 1),
    }


def results(
    search_sizes: dict[int, int],
    synthetic_sizes: list[int],
    real: dict[str, Any] | None,
    synthetic_shown: list[int] | None = None,
) -> list[Result]:
    """Rows from the sizes the catalog figure collected (search list bytes per catalog size)."""
    out = []
    biggest = max(search_sizes.values())
    constant = len(set(search_sizes.values())) == 1
    ok = biggest < SEARCH_LIMIT_BYTES and constant
    out.append(
        Result(
            FIGURE,
            "search mode: tools/list bytes (~tokens = bytes/4), whatever the catalog size",
            biggest,
            "B",
            f"constant, < {SEARCH_LIMIT_BYTES} B",
            "pass" if ok else "MISS",
            ""
            if ok
            else ("varies with catalog size" if not constant else f"{biggest - SEARCH_LIMIT_BYTES} B over"),
            {"bytes_by_tools": search_sizes, "tokens_est": biggest // 4, "constant": constant},
        )
    )
    if synthetic_sizes:
        mean = sum(synthetic_sizes) / len(synthetic_sizes)
        details = {"max": max(synthetic_sizes), "tokens_mean": round(mean / 4),
                   "tokens_max": max(synthetic_sizes) // 4, "tools": len(synthetic_sizes)}  # fmt: skip
        if synthetic_shown:
            details["model_shown_mean"] = round(sum(synthetic_shown) / len(synthetic_shown), 1)
        out.append(
            upper_bound("direct mode: bytes per action tool, synthetic apps (mean; max in details)",
                        round(mean), SYNTHETIC_LIMIT_BYTES, "B", FIGURE, **details)
        )  # fmt: skip
    if real:
        out.append(
            Result(FIGURE, "direct mode: bytes per action tool, real apps (vtiger, 1crm, bigtincan) (mean)",
                   round(real["mean"]), "B", details={**real, "tokens_mean": round(real["mean"] / 4),
                                                      "tokens_max": real["max"] // 4})
        )  # fmt: skip
    return out


def real_apps(cfg: BenchConfig) -> dict[str, Any] | None:
    with sandbox_process() as sandbox:
        real = anyio.run(_real_apps, sandbox.url, sandbox.token)
    log(f"context: real apps {real}")
    return real
