"""Fixtures for the safety tests: the MCP-surface helpers of tests/server, plus subprocess helpers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp.shared.exceptions import MCPError

from membrane_mcp.sandbox.serve import RunningSandbox
from tests.server.conftest import fresh_sandbox, mode, sandbox  # noqa: F401 - fixtures re-exported

META = ("list_connections", "search_actions", "run_action", "raw_request", "create_action")


async def call_error(client: Any, name: str, arguments: dict[str, Any]) -> MCPError:
    """The JSON-RPC error a call ends with (fails the test if it succeeds)."""
    with pytest.raises(MCPError) as caught:
        await client.call_tool(name, arguments)
    return caught.value


def error_text(result: Any) -> str:
    assert result.is_error, result.content
    return result.content[0].text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(running: RunningSandbox, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "MEMBRANE_API_URL": running.url,
        "MEMBRANE_TOKEN": running.token,
        **extra,
    }


class HttpServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url
        self.stderr = ""


def start_http(args: list[str], env: dict[str, str], probe_host: str = "127.0.0.1") -> Iterator[HttpServer]:
    """Run `membrane-mcp serve --transport http` on a free port until the generator is closed."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "membrane_mcp", "serve", "--transport", "http", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    server = HttpServer(process, f"http://{probe_host}:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                err = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"HTTP server did not start: {err}")
            time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        server.stderr = err.decode(errors="replace")
