"""Fixtures for the safety tests: the MCP-surface helpers of tests/server, plus subprocess helpers."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.processes import free_port, server_env, spawn_http  # noqa: F401 - re-exported to the tests
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


base_env = server_env


class HttpServer:
    def __init__(self, process: subprocess.Popen[bytes], url: str) -> None:
        self.process = process
        self.url = url
        self.stderr = ""


def start_http(args: list[str], env: dict[str, str], probe_host: str = "127.0.0.1") -> Iterator[HttpServer]:
    """Run `membrane-mcp serve --transport http` on a free port until the generator is closed."""
    process, url = spawn_http(args, env, probe_host)
    server = HttpServer(process, url)
    try:
        yield server
    finally:
        process.terminate()
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        server.stderr = err.decode(errors="replace")
