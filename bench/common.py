"""Shared pieces: the result row, run configuration, statistics, and sandbox/server subprocesses."""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx

SANDBOX_TOKEN = "pat-sandbox"
Verdict = str  # "pass" | "MISS" | "info" | "skip" | "error"


@dataclass
class Result:
    figure: str  # e.g. "1. Start-up"
    name: str  # what was measured
    value: float | None
    unit: str
    target: str = ""  # human-readable target, "" when informational
    verdict: Verdict = "info"
    gap: str = ""  # how far from the target, when missed
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchConfig:
    smoke: bool
    out_dir: Path
    series: dict[str, Any] = field(default_factory=dict)  # data for plots, filled by figures

    def pick(self, full: Any, smoke: Any) -> Any:
        return smoke if self.smoke else full


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def upper_bound(name: str, value: float, limit: float, unit: str, figure: str, **details: Any) -> Result:
    """A result whose target is `value < limit` (or <= for ratios); the gap says by how much it misses."""
    ok = value <= limit
    gap = "" if ok else f"{value / limit:.1f}x the target (+{value - limit:.3g} {unit})"
    return Result(
        figure, name, value, unit, f"< {limit:g} {unit}".strip(), "pass" if ok else "MISS", gap, details
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(**extra: str) -> dict[str, str]:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "PYTHONUNBUFFERED": "1",
        "MEMBRANE_MCP_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def wait_http(url: str, timeout: float = 60.0, process: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} during start-up")
        try:
            httpx.get(url, headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"}, timeout=2.0)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not come up in {timeout:.0f} s") from None
            time.sleep(0.05)


def stop(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


@dataclass
class SandboxProcess:
    url: str
    token: str
    process: subprocess.Popen[Any]


@contextmanager
def sandbox_process(
    *, latency_ms: float = 0.0, synthetic_connections: int = 0, synthetic_actions: int = 50
) -> Iterator[SandboxProcess]:
    """The sandbox in its own process (as Membrane would be), in-memory database, on loopback."""
    port = free_port()
    args = [
        sys.executable, "-m", "membrane_mcp", "sandbox", "--port", str(port), "--db", ":memory:",
        "--latency-ms", str(latency_ms), "--build-seconds", "0.3",
        "--synthetic-connections", str(synthetic_connections), "--synthetic-actions", str(synthetic_actions),
    ]  # fmt: skip
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env())
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(f"{url}/_sandbox/stats", timeout=120, process=process)
        yield SandboxProcess(url, SANDBOX_TOKEN, process)
    finally:
        stop(process)


@dataclass
class HttpServer:
    url: str  # .../mcp
    process: subprocess.Popen[Any]


@contextmanager
def http_server(sandbox: SandboxProcess, *extra_args: str, **extra_env: str) -> Iterator[HttpServer]:
    """`membrane-mcp serve --transport http` in its own process, pointed at `sandbox` (`extra_env` added)."""
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "membrane_mcp",
        "serve",
        "--transport",
        "http",
        "--port",
        str(port),
        *extra_args,
    ]
    env = base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token, **extra_env)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", process)
    finally:
        stop(process)


ECHO_SERVER = Path(__file__).resolve().with_name("echo_server.py")


def echo_command(*extra_args: str) -> list[str]:
    """The floor server (bench/echo_server.py): the same SDK, no work of ours."""
    return [sys.executable, str(ECHO_SERVER), *extra_args]


def echo_stdio_params(*extra_args: str) -> Any:
    from mcp import StdioServerParameters

    command = echo_command(*extra_args)
    return StdioServerParameters(command=command[0], args=command[1:], env=base_env())


@contextmanager
def echo_http_server(*extra_args: str) -> Iterator[HttpServer]:
    port = free_port()
    args = echo_command("--transport", "http", "--port", str(port), *extra_args)
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=base_env())
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", process)
    finally:
        stop(process)


@contextmanager
def tools_file(tools: Sequence[Any]) -> Iterator[Path]:
    """A temporary `--tools-file` for the echo server: exactly these tools (SDK `Tool` models), as listed."""
    with tempfile.TemporaryDirectory(prefix="bench-tools-") as folder:
        path = Path(folder) / "tools.json"
        dumped = [tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools]
        path.write_text(json.dumps(dumped), "utf-8")
        yield path


def stdio_params(sandbox: SandboxProcess, *extra_args: str) -> Any:
    from mcp import StdioServerParameters

    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "membrane_mcp", "serve", *extra_args],
        env=base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token),
    )


def structured(result: Any) -> Any:
    """The structured payload of a CallToolResult (or its text parsed as JSON)."""
    if result.structured_content is not None:
        return result.structured_content
    for block in result.content:
        if getattr(block, "type", "") == "text":
            try:
                return json.loads(block.text)
            except ValueError:
                return block.text
    return None


def rss_mb(pid: int) -> float:
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def note_error(errors: dict[str, int], samples: list[str], operation: str, problem: str) -> None:
    """Count a failed call of `operation` and keep the first few problems as samples."""
    errors[operation] += 1
    if len(samples) < 5:
        samples.append(f"{operation}: {problem}"[:300])


class LoadClock:
    """The timed window of a load run: it starts once every client has connected (`arrive`)."""

    def __init__(self, clients: int, duration: float) -> None:
        self.clients = clients
        self.duration = duration
        self.connected = 0
        self.started = 0.0
        self.cpu_started = 0.0
        self.deadline = 0.0
        self._ready = anyio.Event()

    async def arrive(self) -> None:
        """One client is connected; wait until all are and the clock has started."""
        self.connected += 1
        if self.connected == self.clients:
            self.started = time.monotonic()
            self.cpu_started = time.process_time()
            self.deadline = self.started + self.duration
            self._ready.set()
        await self._ready.wait()

    def running(self) -> bool:
        return time.monotonic() < self.deadline


def load_summary(
    latencies: dict[str, list[float]], errors: dict[str, int], samples: list[str], clock: LoadClock
) -> dict[str, Any]:
    """What a load run measured over `clock`'s window."""
    elapsed = time.monotonic() - clock.started
    return {
        "latencies": latencies,
        "errors": errors,
        "samples": samples,
        "elapsed": elapsed,
        # CPU of this process over the clock, in cores: near 1.0, the load generator is the bottleneck
        "load_generator_core_share": (time.process_time() - clock.cpu_started) / elapsed,
    }
