"""``python -m bench [--smoke] [--only N,...] [--out DIR]``: run the figures, write the report.

Exit status: 0 when every figure ran (missed targets included), 1 when a figure raised.
"""

from __future__ import annotations

import argparse
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import (
    agent_cost,
    catalog_load,
    first_search,
    memory,
    obs_overhead,
    overhead,
    reads_under_faults,
    report,
    search_quality,
    startup,
    throughput,
    workers,
)
from bench.common import BenchConfig, Result, log

HERE = Path(__file__).resolve().parent

# Figures 2 and 5 come from one module (the context cost is measured on the catalog lists).
FIGURES: dict[str, tuple[str, Callable[[BenchConfig], list[Result]]]] = {
    "1": ("1. Start-up", startup.run),
    "2": ("2. Catalog load + 5. Context cost", catalog_load.run),
    "3": ("3. Call overhead", overhead.run),
    "4": ("4. Throughput", throughput.run),
    "6": ("6. Search quality", search_quality.run),
    "7": ("7. Memory", memory.run),
    "8": ("8. First search", first_search.run),
    "9": ("9. Throughput vs workers", workers.run),
    "10": ("10. Agent cost", agent_cost.run),
    "11": ("11. Reads under faults", reads_under_faults.run),
    "12": (obs_overhead.FIGURE, obs_overhead.run),
}


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny version of every figure, in seconds")
    parser.add_argument("--only", default="", help="comma-separated figure numbers (2 also gives 5)")
    parser.add_argument(
        "--out", type=Path, default=None, help="output directory (default bench/, smoke: bench/out/)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    out_dir = args.out or (HERE / "out" if args.smoke else HERE)
    cfg = BenchConfig(smoke=args.smoke, out_dir=out_dir)
    chosen = [k for k in FIGURES if not args.only or k in {x.strip() for x in args.only.split(",")}]
    results: list[Result] = []
    failed = 0
    started = time.time()
    for key in chosen:
        title, fn = FIGURES[key]
        log(f"== {title}")
        figure_started = time.perf_counter()
        try:
            results += fn(cfg)
        except Exception as exc:
            failed += 1
            traceback.print_exc()
            results.append(
                Result(title, f"figure failed: {type(exc).__name__}: {exc}"[:300], None, "", "", "error")
            )
        log(f"   {title} took {time.perf_counter() - figure_started:.1f} s")
    meta = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)),
        "duration_s": time.time() - started,
        "smoke": args.smoke,
        "figures": chosen,
        "machine": report.machine(),
        "python": report.python(),
    }
    report.write(results, meta, cfg.series, out_dir)
    print(report.markdown(results, meta), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
