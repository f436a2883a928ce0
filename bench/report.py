"""Writing results.md, results.json and listing.png."""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import Any

from bench.common import Result, log


def _value(result: Result) -> str:
    if result.value is None:
        return "-"
    value = result.value
    text = f"{value:,.3f}".rstrip("0").rstrip(".") if isinstance(value, float) else f"{value:,}"
    return f"{text} {result.unit}".strip()


def _verdict(result: Result) -> str:
    if result.verdict == "MISS":
        return f"**MISS** ({result.gap})" if result.gap else "**MISS**"
    return result.verdict


def markdown(results: list[Result], meta: dict[str, Any]) -> str:
    lines = [
        "# membrane-mcp benchmark results",
        "",
        f"Run {meta['started']} on {meta['machine']} (Python {meta['python']}), {meta['duration_s']:.0f} s,"
        f" {'smoke' if meta['smoke'] else 'full'} run. Command: `python -m bench{' --smoke' if meta['smoke'] else ''}`.",
        "All figures on the local sandbox over loopback; medians and ratios from this one run.",
        "",
        "| figure | measured | value | target | verdict |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        name = r.name.replace("|", "/")
        lines.append(f"| {r.figure} | {name} | {_value(r)} | {r.target or '-'} | {_verdict(r)} |")
    lines += ["", "Details (samples, breakdowns, profiles) are in `results.json`.", ""]
    return "\n".join(lines)


def plot(series: dict[str, Any], path: Path) -> str | None:
    listing = series.get("listing")
    if not listing:
        return "no listing data"
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed (pip install -e '.[bench]')"
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    tools = listing["tools"]
    left.plot(tools, listing["direct_ms"], "o-", label="direct mode (every action a tool)")
    left.plot(tools, listing["search_ms"], "s-", label="search mode (meta tools only)")
    left.axhline(20, color="tab:blue", linestyle=":", linewidth=1, label="direct target, 1,000 tools (20 ms)")
    left.axhline(5, color="tab:orange", linestyle=":", linewidth=1, label="search target (5 ms)")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("actions in the catalog")
    left.set_ylabel("warm tools/list, median (ms)")
    left.set_title("Warm listing (in-memory MCP client)")
    left.legend(fontsize=8)
    right.plot(tools, listing["cold_s"], "o-", label="cold load (Catalog.get, new gateway)")
    right.plot(tools, listing["build_s"], "s--", label="of which: building entries (CPU)")
    right.axhline(0.5, color="grey", linestyle=":", linewidth=1, label="target at 100 connections (0.5 s)")
    right.set_xscale("log")
    right.set_xlabel("actions in the catalog (50 per connection)")
    right.set_ylabel("seconds, median")
    right.set_title("Cold catalog load (sandbox latency 20 ms)")
    right.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


def write(results: list[Result], meta: dict[str, Any], series: dict[str, Any], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    problem = plot(series, out_dir / "listing.png")
    if problem:
        log(f"listing.png not written: {problem}")
    meta = {**meta, "plot": None if problem else "listing.png"}
    payload = {"meta": meta, "results": [r.as_dict() for r in results], "series": series}
    (out_dir / "results.json").write_text(json.dumps(payload, indent=2, default=str) + "\n")
    (out_dir / "results.md").write_text(markdown(results, meta))
    log(f"wrote {out_dir / 'results.md'} and results.json")


def machine() -> str:
    import os

    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores"


def python() -> str:
    return sys.version.split()[0]
