"""Figure 1: time from spawning `membrane-mcp serve` (stdio) to the initialize response.

Compared with the floor, the echo server on the same SDK (bench/echo_server.py) spawned and initialised
the same way, measured interleaved so load on the machine hits both alike (`python -c "import mcp.server"`
is kept as information). Variants: `serve --sandbox` with a fresh database (the headline)
and `serve` pointed at an already running sandbox through the environment.

Wall-clock is the headline; on a loaded machine it swings with what else runs, so two steadier ratios
sit beside it, from the same spawns: the child's CPU time (user+sys, all its threads) from spawn to the
initialize response, and, from separate `python -X importtime` spawns, the import time it logged before
answering (the sum of its top-level imports' cumulative microseconds). The child is stopped (SIGSTOP)
as soon as its answer is read, so little of what it does after answering is counted. Linux only.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
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


@dataclass
class Spawn:
    """One spawn to the initialize response."""

    wall_s: float
    cpu_s: float | None  # the child's user+sys when its answer was read (None without /proc)
    imports: dict[str, tuple[int, int]] = field(default_factory=dict)  # module: (self, cumulative) us
    import_us: int = 0  # sum of the top-level imports' cumulative time (with -X importtime only)


def _child_cpu_s(pid: int) -> float | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, all threads


def parse_importtime(stderr: str) -> tuple[dict[str, tuple[int, int]], int]:
    """`-X importtime` lines: {module: (self us, cumulative us)} and the top-level cumulative sum."""
    imports: dict[str, tuple[int, int]] = {}
    top_level = 0
    for line in stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2][1:]
        imports[name.strip()] = (int(parts[0]), int(parts[1]))
        if not name.startswith(" "):
            top_level += int(parts[1])
    return imports, top_level


def spawn_to_initialize(args: list[str], env: dict[str, str], *, importtime: bool = False) -> Spawn:
    if importtime:
        args = [args[0], "-X", "importtime", *args[1:]]
    started = time.perf_counter()
    process = subprocess.Popen(
        args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert process.stdin is not None and process.stdout is not None and process.stderr is not None
    out, err = bytearray(), bytearray()
    try:
        process.stdin.write(INITIALIZE)
        process.stdin.flush()
        with selectors.DefaultSelector() as selector:
            for stream in (process.stdout, process.stderr):
                os.set_blocking(stream.fileno(), False)
                selector.register(stream, selectors.EVENT_READ, out if stream is process.stdout else err)
            while b"\n" not in out:
                ready = selector.select(60)
                if not ready:
                    raise TimeoutError(f"no initialize response from {args} in 60 s")
                for key, _ in ready:
                    chunk = os.read(key.fileobj.fileno(), 1 << 16)  # type: ignore[union-attr]
                    if not chunk and process.poll() is not None:
                        raise RuntimeError(f"{args} exited: {bytes(err[-2000:]).decode(errors='replace')}")
                    key.data.extend(chunk)
        elapsed = time.perf_counter() - started
        os.kill(process.pid, signal.SIGSTOP)  # what it does after answering is not start-up
        cpu = _child_cpu_s(process.pid)
        try:
            while chunk := os.read(process.stderr.fileno(), 1 << 16):
                err.extend(chunk)
        except BlockingIOError:
            pass
        os.kill(process.pid, signal.SIGCONT)
        line = bytes(out).split(b"\n", 1)[0]
        if b'"id":1' not in line.replace(b" ", b""):
            raise RuntimeError(f"unexpected first line from {args}: {line[:200]!r}")
        imports, import_us = parse_importtime(err.decode(errors="replace")) if importtime else ({}, 0)
        return Spawn(elapsed, cpu, imports, import_us)
    finally:
        process.stdin.close()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        process.stdout.close()
        process.stderr.close()


def time_to_initialize(args: list[str], env: dict[str, str]) -> float:
    return spawn_to_initialize(args, env).wall_s


def time_floor(env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import mcp.server"], check=True, env=env)
    return time.perf_counter() - started


def extra_imports(ours: Spawn, echo: Spawn, limit: int = 12) -> list[dict[str, Any]]:
    """What `serve` imported before answering that the echo server did not, by self time."""
    extra = [(name, times) for name, times in ours.imports.items() if name not in echo.imports]
    extra.sort(key=lambda item: -item[1][0])
    return [
        {"module": name, "self_ms": round(own / 1000, 1), "cumulative_ms": round(cumulative / 1000, 1)}
        for name, (own, cumulative) in extra[:limit]
    ]


@dataclass
class Series:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    import_us: list[float] = field(default_factory=list)
    last_importtime: Spawn | None = None

    def add(self, timed: Spawn, imported: Spawn) -> None:
        self.wall.append(timed.wall_s)
        if timed.cpu_s is not None:
            self.cpu.append(timed.cpu_s)
        self.import_us.append(imported.import_us)
        self.last_importtime = imported


def _ratio(ours: list[float], floor: list[float]) -> float | None:
    if not ours or not floor or not median(floor):
        return None
    return round(median(ours) / median(floor), 3)


def run(cfg: BenchConfig) -> list[Result]:
    runs = cfg.pick(10, 1)
    env = base_env()
    serve = [sys.executable, "-m", "membrane_mcp", "serve"]
    floor: list[float] = []
    echo, embedded, external = Series(), Series(), Series()
    with sandbox_process() as sandbox, tempfile.TemporaryDirectory() as tmp:
        external_env = base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token)

        def with_fresh_db(name: str) -> list[str]:
            return [*serve, "--sandbox", "--sandbox-db", str(Path(tmp) / f"{name}.db")]

        if not cfg.smoke:  # warm the page cache and the bytecode caches once
            time_floor(env)
            time_to_initialize(with_fresh_db("warm"), env)
        for i in range(runs):
            floor.append(time_floor(env))
            for series, make_args, run_env in (
                (echo, lambda _: echo_command(), env),
                (embedded, with_fresh_db, env),
                (external, lambda _: serve, external_env),
            ):
                timed = spawn_to_initialize(make_args(f"fresh-{i}"), run_env)
                imported = spawn_to_initialize(make_args(f"imports-{i}"), run_env, importtime=True)
                series.add(timed, imported)
            log(
                f"start-up {i + 1}/{runs}: import {floor[-1]:.3f}s, echo {echo.wall[-1]:.3f}s, "
                f"--sandbox {embedded.wall[-1]:.3f}s, env {external.wall[-1]:.3f}s"
            )
    floor_s, echo_s = median(floor), median(echo.wall)
    common = {"runs": runs, "echo_median_s": round(echo_s, 4)}
    results: list[Result] = []
    for label, series in (
        ("serve --sandbox", embedded),
        ("serve (sandbox already running, via env)", external),
    ):
        extra = (
            extra_imports(series.last_importtime, echo.last_importtime)
            if series.last_importtime and echo.last_importtime
            else []
        )
        headline = "spawn to initialize response / echo server on the same SDK"
        if series is external:
            headline = "spawn to initialize response / echo server"
        results.append(
            upper_bound(
                f"{label}: {headline}", round(median(series.wall) / echo_s, 3), TARGET_RATIO, "x", FIGURE,
                median_s=round(median(series.wall), 4), samples_s=[round(x, 4) for x in series.wall],
                imports_not_in_echo=extra, **common,
            )
        )  # fmt: skip
        steadier = (
            ("child CPU (user+sys) to the initialize response / echo's", series.cpu, echo.cpu, 1.0, "s"),
            ("import time logged before answering (-X importtime) / echo's", series.import_us, echo.import_us, 1e-6, "s"),
        )  # fmt: skip
        for what, ours, theirs, scale, unit in steadier:
            ratio = _ratio(ours, theirs)
            if ratio is None:
                results.append(Result(FIGURE, f"{label}: {what}", None, "x", verdict="skip"))
                continue
            results.append(
                upper_bound(
                    f"{label}: {what}", ratio, TARGET_RATIO, "x", FIGURE,
                    median=round(median(ours) * scale, 4), echo_median=round(median(theirs) * scale, 4),
                    median_unit=unit, samples=[round(x * scale, 4) for x in ours],
                    echo_samples=[round(x * scale, 4) for x in theirs],
                )
            )  # fmt: skip
    results += [
        Result(FIGURE, "floor: echo server (same SDK), spawn to initialize response", round(echo_s * 1000, 1),
               "ms", details={"samples_s": [round(x, 4) for x in echo.wall]}),
        Result(FIGURE, "info: python -c 'import mcp.server'", round(floor_s * 1000, 1), "ms",
               details={"samples_s": [round(x, 4) for x in floor]}),
    ]  # fmt: skip
    return results
