"""Figure 12 counted in instructions: the server with observability off and on, each under callgrind.

On a shared, loaded machine CPU time per call moves by +-15 % between identical rounds, more than the
5 % being measured. Instructions executed do not move with the neighbours' load (the same run repeats
within 0.3 %). Two `serve --transport http` processes (off; on: ``--metrics`` and OTLP traces to a
loopback sink) run under ``valgrind --tool=callgrind``; an outside client drives figure 4's mix
through each, and ``callgrind_control --dump`` at each phase's end gives the instructions of that
phase. The batch span processor is set to export only full batches (512 spans), as it does at a
steady 100 calls/s, instead of every 5 s of valgrind's slowed-down clock.

    python -m bench.obs_callgrind [--calls 600] [--phases 1]

About 15 minutes for 600 calls. Instructions are not time (the SDK's Python code runs at a different
rate per instruction than the server's I/O), so this is a cross-check of figure 12, not a replacement.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import anyio
import httpx

from bench.common import base_env, free_port, sandbox_process, stop
from bench.obs_overhead import otlp_sink
from bench.throughput import OPERATIONS, call_operation

SIDES = ("off", "on")


async def drive(url: str, calls: int, clients: int = 4) -> None:
    from mcp import Client

    async def one(first: int) -> None:
        async with Client(url) as client:
            for index in range(first, calls, clients):
                _, tool, args = OPERATIONS[index % len(OPERATIONS)]
                await call_operation(client, tool, args)

    async with anyio.create_task_group() as group:
        for first in range(clients):
            group.start_soon(one, first)


def dump(pid: int, label: str) -> None:
    subprocess.run(["callgrind_control", f"--dump={label}", str(pid)], capture_output=True, check=False)


def wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server under valgrind did not start (exit {process.poll()})")
        time.sleep(2)  # polling a server that starts ~50x slower under valgrind


def instructions(folder: Path) -> dict[str, int]:
    found: dict[str, int] = {}
    for path in folder.glob("*.out.*"):
        text = path.read_text(errors="replace")
        label = re.search(r"^desc: Trigger: .*?(\S+)$", text, re.M)
        total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
        if label and total:
            found[f"{path.name.split('.')[0]}:{label.group(1)}"] = int(total.group(1))
    return found


def measure(calls: int, phases: int) -> dict[str, list[float]]:
    per_call: dict[str, list[float]] = {side: [] for side in SIDES}
    with TemporaryDirectory() as tmp, sandbox_process() as sandbox, otlp_sink() as sink:
        folder = Path(tmp)
        servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
        try:
            for side in SIDES:
                port = free_port()
                env = base_env(
                    MEMBRANE_API_URL=sandbox.url,
                    MEMBRANE_TOKEN=sandbox.token,
                    PYTHONHASHSEED="0",
                    MEMBRANE_MCP_CALL_TIMEOUT="900",  # the first search builds the index, ~50x slower here
                    # A catalog reload (every 5 minutes by default) would land in a random phase: not per call.
                    MEMBRANE_MCP_CATALOG_TTL="86400",
                )
                args = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder}/{side}.out"]
                args += ["--dump-instr=no", sys.executable, "-m", "membrane_mcp", "serve"]
                args += ["--transport", "http", "--port", str(port)]
                if side == "on":
                    args.append("--metrics")
                    env.update(
                        OTEL_TRACES_EXPORTER="otlp",
                        OTEL_EXPORTER_OTLP_ENDPOINT=sink,
                        OTEL_SERVICE_NAME="bench",
                        OTEL_BSP_SCHEDULE_DELAY="600000",  # full batches only, as at a steady 100 calls/s
                    )
                process = subprocess.Popen(
                    args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
                )
                servers[side] = (process, f"http://127.0.0.1:{port}")
            for process, url in servers.values():
                wait_healthy(url, process)
                anyio.run(drive, f"{url}/mcp", 80)  # catalog, search index, lazy imports
            for process, _ in servers.values():
                dump(process.pid, "warm")
            for phase in range(phases):
                for side, (_, url) in servers.items():
                    anyio.run(drive, f"{url}/mcp", calls)
                    if side == "on":
                        httpx.get(f"{url}/metrics", timeout=60)
                time.sleep(10)  # let both finish the phase's work before its counters are dumped
                for side, (process, _) in servers.items():
                    dump(process.pid, f"{side}{phase}")
                time.sleep(5)  # the dump is taken asynchronously
        finally:
            for process, _ in servers.values():
                stop(process)
        counts = instructions(folder)
        for side in SIDES:
            per_call[side] = [
                counts[f"{side}:{side}{phase}"] / calls
                for phase in range(phases)
                if f"{side}:{side}{phase}" in counts
            ]
    return per_call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.obs_callgrind", description=__doc__)
    parser.add_argument("--calls", type=int, default=600, help="calls per phase and side")
    parser.add_argument("--phases", type=int, default=1)
    args = parser.parse_args(argv)
    per_call = measure(args.calls, args.phases)
    off, on = statistics.median(per_call["off"]), statistics.median(per_call["on"])
    print(
        f"instructions per call: off {off / 1e3:.0f}k, on {on / 1e3:.0f}k (+{(on - off) / 1e3:.0f}k, {on / off:.4f}x)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
