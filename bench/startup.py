"""Figure 1: time from spawning `membrane-mcp serve` (stdio) to the initialize response.

Compared with the floor, the echo server on the same SDK (bench/echo_server.py) spawned and initialised
the same way, measured interleaved so load on the machine hits both alike (`python -c "import mcp.server"`
is kept as information). Variants: `serve --sandbox` with a fresh database (the headline)
and `serve` pointed at an already running sandbox through the environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import (
    BenchConfig,
    Result,
    base_env,
    echo_command,
    log,
    median,
    sandbox_process,
    upper_bound,
)

FIGURE = "1. Start-up"
TARGET_RATIO = 1.15
INITIALIZE = (
    json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "bench", "version": "0"},
            },
        }
    )
    + "\n"
).encode()


def time_to_initialize(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(INITIALIZE)
        process.stdin.flush()
        line = process.stdout.readline()
        elapsed = time.perf_counter() - started
        if b'"id":1' not in line.replace(b" ", b""):
            raise RuntimeError(f"unexpected first line from {args}: {line[:200]!r}")
        return elapsed
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def time_floor(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server"], check=True, env=env)
    return time.perf_counter() - started


def import_profile(limit: int = 8) -> list[dict[str, Any]]:
    """`python -X importtime` of what `serve` imports before answering, top cumulative entries."""
    code = "import membrane_mcp.cli, membrane_mcp.server.stdio, membrane_mcp.server.backend"
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, env=base_env()
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        depth = (len(parts[2]) - len(parts[2].lstrip())) // 2
        rows.append({"module": parts[2].strip(), "cumulative_ms": int(parts[1]) / 1000, "depth": depth})
    shallow = [r for r in rows if r["depth"] <= 2]
    shallow.sort(key=lambda r: -r["cumulative_ms"])
    return shallow[:limit]


def run(cfg: BenchConfig) -> list[Result]:
    runs = cfg.pick(10, 1)
    env = base_env()
    serve = [sys.executable, "-m", "membrane_mcp", "serve"]
    floor: list[float] = []
    echo: list[float] = []
    embedded: list[float] = []
    external: list[float] = []
    with sandbox_process() as sandbox, tempfile.TemporaryDirectory() as tmp:
        external_env = base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token)
        if not cfg.smoke:  # warm the page cache and the bytecode caches once
            time_floor(env)
            time_to_initialize([*serve, "--sandbox", "--sandbox-db", str(Path(tmp) / "warm.db")], env)
        for i in range(runs):
            floor.append(time_floor(env))
            echo.append(time_to_initialize(echo_command(), env))
            db = Path(tmp) / f"fresh-{i}.db"
            embedded.append(time_to_initialize([*serve, "--sandbox", "--sandbox-db", str(db)], env))
            external.append(time_to_initialize(serve, external_env))
            log(
                f"start-up {i + 1}/{runs}: import {floor[-1]:.3f}s, echo {echo[-1]:.3f}s, --sandbox {embedded[-1]:.3f}s, env {external[-1]:.3f}s"
            )
    floor_s, echo_s = median(floor), median(echo)
    embedded_s, external_s = median(embedded), median(external)
    profile = import_profile()
    common = {"runs": runs, "echo_median_s": round(echo_s, 4), "import_profile": profile}
    return [
        upper_bound(
            "serve --sandbox: spawn to initialize response / echo server on the same SDK",
            round(embedded_s / echo_s, 3), TARGET_RATIO, "x", FIGURE,
            median_s=round(embedded_s, 4), samples_s=[round(x, 4) for x in embedded], **common,
        ),
        upper_bound(
            "serve (sandbox already running, via env): spawn to initialize response / echo server",
            round(external_s / echo_s, 3), TARGET_RATIO, "x", FIGURE,
            median_s=round(external_s, 4), samples_s=[round(x, 4) for x in external], **common,
        ),
        Result(FIGURE, "floor: echo server (same SDK), spawn to initialize response", round(echo_s * 1000, 1),
               "ms", details={"samples_s": [round(x, 4) for x in echo]}),
        Result(FIGURE, "info: python -c 'import mcp.server'", round(floor_s * 1000, 1), "ms",
               details={"samples_s": [round(x, 4) for x in floor]}),
    ]  # fmt: skip
