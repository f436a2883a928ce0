"""Overhead of metrics and traces: bench throughput (32 clients, streamable HTTP) with them off and on.

"On" is `--metrics` (scraped every 5 s) plus traces exported over OTLP/HTTP to a local sink that
accepts and drops them, so span creation, batching, protobuf encoding and export are all paid.
Rounds alternate off/on so drift on a shared machine hits both alike. Reuses bench/throughput.py's
load generator and bench/common.py's processes (bench/ is not modified).

    python scripts/obs_overhead.py [--clients 32] [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import base_env, free_port, median, sandbox_process, stop, wait_http
from bench.throughput import _load


class Sink(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that counts what it receives and answers 200."""

    received = 0

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        Sink.received += length
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@contextmanager
def otlp_sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


@contextmanager
def server(sandbox: Any, observed: bool, sink: str) -> Iterator[tuple[str, int]]:
    port = free_port()
    args = [sys.executable, "-m", "membrane_mcp", "serve", "--transport", "http", "--port", str(port)]
    env = base_env(MEMBRANE_API_URL=sandbox.url, MEMBRANE_TOKEN=sandbox.token)
    if observed:
        args.append("--metrics")
        env.update(OTEL_TRACES_EXPORTER="otlp", OTEL_EXPORTER_OTLP_ENDPOINT=sink, OTEL_SERVICE_NAME="bench")
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, process=process)
        yield f"http://127.0.0.1:{port}", process.pid
    finally:
        stop(process)


def scrape_every(url: str, seconds: float, stop_event: threading.Event) -> None:
    while not stop_event.wait(seconds):
        httpx.get(f"{url}/metrics", timeout=5)


def one_round(sandbox: Any, observed: bool, sink: str, clients: int, seconds: float) -> dict[str, float]:
    import psutil

    with server(sandbox, observed, sink) as (url, pid):
        stop_event = threading.Event()
        scraper = threading.Thread(target=scrape_every, args=(url, 5.0, stop_event), daemon=True)
        if observed:
            scraper.start()
        before = psutil.Process(pid).cpu_times()
        measured = anyio.run(_load, f"{url}/mcp", clients, seconds)
        after = psutil.Process(pid).cpu_times()
        stop_event.set()
    latencies = [x for values in measured["latencies"].values() for x in values]
    # Calls/s on a shared machine swings with the neighbours' load; the server's CPU time per call does not.
    cpu = (after.user + after.system) - (before.user + before.system)
    return {
        "cpu_ms_per_call": cpu / len(latencies) * 1000,
        "calls_per_s": len(latencies) / measured["elapsed"],
        "p50_ms": median(latencies) * 1000,
        "errors": float(sum(measured["errors"].values())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    results: dict[bool, list[dict[str, float]]] = {False: [], True: []}
    with sandbox_process() as sandbox, otlp_sink() as sink:
        for index in range(options.rounds):
            for observed in (False, True) if index % 2 == 0 else (True, False):
                figures = one_round(sandbox, observed, sink, options.clients, options.seconds)
                results[observed].append(figures)
                label = "on " if observed else "off"
                print(
                    f"round {index + 1} {label}: {figures['calls_per_s']:.1f} calls/s, "
                    f"server CPU {figures['cpu_ms_per_call']:.2f} ms/call, "
                    f"p50 {figures['p50_ms']:.1f} ms, errors {figures['errors']:.0f}",
                    flush=True,
                )
    off = statistics.median(r["calls_per_s"] for r in results[False])
    on = statistics.median(r["calls_per_s"] for r in results[True])
    off_p50 = statistics.median(r["p50_ms"] for r in results[False])
    on_p50 = statistics.median(r["p50_ms"] for r in results[True])
    off_cpu = statistics.median(r["cpu_ms_per_call"] for r in results[False])
    on_cpu = statistics.median(r["cpu_ms_per_call"] for r in results[True])
    print(f"off: {off:.1f} calls/s, p50 {off_p50:.1f} ms, server CPU {off_cpu:.2f} ms/call")
    print(
        f"on:  {on:.1f} calls/s, p50 {on_p50:.1f} ms, server CPU {on_cpu:.2f} ms/call "
        f"(OTLP sink received {Sink.received:,} bytes)"
    )
    print(f"throughput overhead: {(off - on) / off * 100:+.1f} %")
    print(f"server CPU overhead per call: {(on_cpu - off_cpu) / off_cpu * 100:+.1f} %")
    return 0


if __name__ == "__main__":
    sys.exit(main())
