"""Helpers for tests that run membrane-mcp as a real subprocess (stdio or streamable HTTP)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx

from membrane_sandbox.serve import RunningSandbox


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(running: RunningSandbox, **extra: str) -> dict[str, str]:
    """A minimal environment (as hosts give) pointing the server at a running sandbox."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "MEMBRANE_API_URL": running.url,
        "MEMBRANE_TOKEN": running.token,
        **extra,
    }


def spawn_http(
    args: list[str], env: dict[str, str], probe_host: str = "127.0.0.1"
) -> tuple[subprocess.Popen[bytes], str]:
    """`membrane-mcp serve --transport http` on a free port; returns once /healthz answers."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "membrane_mcp", "serve", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://{probe_host}:{port}"
    deadline = time.monotonic() + 30  # bounds a start-up that would otherwise hang
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            stderr = process.stderr.read().decode() if process.stderr else ""
            raise RuntimeError(f"HTTP server did not start: {stderr}")
        time.sleep(0.1)  # poll interval while the server starts


def stop_process(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)
