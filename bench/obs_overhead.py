"""Figure 12: the overhead of metrics and traces (issue 16: under 5 %).

The same HTTP server with observability off, then on: ``--metrics`` (``/metrics`` scraped every 5 s) plus
traces exported over OTLP/HTTP to a loopback sink that reads and drops them, so span creation, batching,
protobuf encoding and export are all paid. Figure 4's clients and mix (list/search/run/raw) drive it.
Rounds ALTERNATE off/on, on/off, ... in one run so the neighbours' load hits both alike. The primary
figure is the server process's CPU time per call (user + system, from psutil on its pid): it moves
much less with the machine's load than calls/s, which is reported beside it.

``python -m bench --only 12`` (``python scripts/obs_overhead.py`` runs it alone).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx

from bench.common import (
    BenchConfig,
    HttpServer,
    Result,
    SandboxProcess,
    base_env,
    free_port,
    log,
    sandbox_process,
    stop,
    wait_http,
)
from bench.throughput import OPERATIONS, _load

FIGURE = "12. Observability overhead"
TARGET_RATIO = 1.05  # on/off: at most 5 % more server CPU per call
SCRAPE_SECONDS = 5.0


# The sink runs in its own process: in this one it would take the GIL from the load generator.
SINK_CODE = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self):
        Sink.received += len(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def do_GET(self):  # the byte count so far
        body = str(Sink.received).encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
"""


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint on loopback that reads what it receives, counts the bytes and answers 200."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-c", SINK_CODE, str(port)], env=base_env())
    try:
        url = f"http://127.0.0.1:{port}"
        wait_http(url, timeout=30, process=process)
        yield url
    finally:
        stop(process)


def sink_bytes(url: str) -> int:
    return int(httpx.get(url, timeout=5).text)


@contextmanager
def observed_server(sandbox: SandboxProcess, observed: bool, sink: str) -> Iterator[HttpServer]:
    """`serve --transport http`; with `observed`, `--metrics` and OTLP traces to `sink`."""
    port = free_port()
    args = [sys.executable, "-m", "membrane_mcp", "serve", "--transport", "http", "--port", str(port)]
    env = base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token)
    if observed:
        args.append("--metrics")
        env.update(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=sink, OTEL_SERVICE_NAME="bench")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        yield HttpServer(f"http://127.0.0.1:{port}/mcp", process)
    finally:
        stop(process)


def _scrape_every(url: str, stop_event: threading.Event) -> None:
    while not stop_event.wait(SCRAPE_SECONDS):
        httpx.get(url, timeout=5)


def _cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def one_round(
    sandbox: SandboxProcess, observed: bool, sink: str, clients: int, seconds: float, warm_up: float
) -> dict[str, float]:
    with observed_server(sandbox, observed, sink) as server:
        # Catalog load, search index and lazy imports (the exporter's) are paid before the CPU is read.
        anyio.run(_load, server.url, clients, warm_up, OPERATIONS)
        stop_event = threading.Event()
        metrics_url = server.url.removesuffix("/mcp") + "/metrics"
        scraper = threading.Thread(target=_scrape_every, args=(metrics_url, stop_event), daemon=True)
        if observed:
            scraper.start()
        before = _cpu_seconds(server.process.pid)
        measured = anyio.run(_load, server.url, clients, seconds, OPERATIONS)
        after = _cpu_seconds(server.process.pid)
        stop_event.set()
    calls = sum(len(values) for values in measured["latencies"].values())
    return {
        "cpu_ms_per_call": (after - before) / max(calls, 1) * 1000,
        "calls_per_s": calls / measured["elapsed"],
        "calls": float(calls),
        "errors": float(sum(measured["errors"].values())),
    }


def measure(clients: int, seconds: float, rounds: int, warm_up: float = 1.0) -> dict[str, Any]:
    """`rounds` pairs, alternating which side goes first: off/on, on/off, ..."""
    results: dict[str, Any] = {"off": [], "on": []}
    with sandbox_process() as sandbox, otlp_sink() as sink:
        for index in range(rounds):
            for observed in (False, True) if index % 2 == 0 else (True, False):
                figures = one_round(sandbox, observed, sink, clients, seconds, warm_up)
                side = "on" if observed else "off"
                results[side].append(figures)
                log(
                    f"   round {index + 1} {side:>3}: {figures['calls_per_s']:.1f} calls/s, "
                    f"server CPU {figures['cpu_ms_per_call']:.2f} ms/call, errors {figures['errors']:.0f}"
                )
        results["otlp_bytes"] = sink_bytes(sink)
    return results


def _median(rows: list[dict[str, float]], key: str) -> float:
    return statistics.median(row[key] for row in rows)


def run(cfg: BenchConfig) -> list[Result]:
    clients, seconds, rounds, warm_up = cfg.pick((32, 15.0, 4, 2.0), (2, 1.0, 1, 0.3))
    results = measure(clients, seconds, rounds, warm_up)
    off_cpu, on_cpu = _median(results["off"], "cpu_ms_per_call"), _median(results["on"], "cpu_ms_per_call")
    off_rate, on_rate = _median(results["off"], "calls_per_s"), _median(results["on"], "calls_per_s")
    cpu_ratio = on_cpu / off_cpu
    rate_ratio = on_rate / off_rate
    errors = sum(row["errors"] for row in results["off"] + results["on"])
    ok = cpu_ratio <= TARGET_RATIO
    common = {
        "clients": clients,
        "seconds_per_round": seconds,
        "rounds": rounds,
        "warm_up_seconds": warm_up,
        "order": "alternating off/on, on/off",
        "otlp_bytes_exported": results["otlp_bytes"],
        "rounds_off": results["off"],
        "rounds_on": results["on"],
    }
    cfg.series["obs_overhead"] = {"off": results["off"], "on": results["on"]}
    return [
        Result(
            FIGURE,
            f"server CPU per call, metrics+traces on / off ({clients} clients, HTTP, OTLP to a loopback sink)",
            round(cpu_ratio, 3),
            "x",
            f"<= {TARGET_RATIO:g} x",
            "pass" if ok else "MISS",
            "" if ok else f"+{(cpu_ratio - 1) * 100:.1f} % CPU per call (target +5 %)",
            {**common, "off_cpu_ms_per_call": round(off_cpu, 3), "on_cpu_ms_per_call": round(on_cpu, 3)},
        ),
        Result(
            FIGURE,
            "calls/s, on / off (wall clock: noisy on a shared machine)",
            round(rate_ratio, 3),
            "x",
            details={"off_calls_per_s": round(off_rate, 1), "on_calls_per_s": round(on_rate, 1)},
        ),
        Result(
            FIGURE,
            "errors (both sides)",
            errors,
            "",
            "0",
            "pass" if errors == 0 else "MISS",
            "" if errors == 0 else f"{errors:.0f} errors",
        ),
    ]
