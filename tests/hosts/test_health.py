"""/healthz is liveness, /readyz readiness; capabilities say list changes are sent, on every transport and era."""

from __future__ import annotations

import sys
import time
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters, types

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.processes import free_port, server_env, spawn_http, stop_process

pytestmark = pytest.mark.anyio


def wait_for_readyz(url: str, status: str, seconds: float = 60) -> dict[str, Any]:
    """Probe /readyz as an orchestrator would until it reports `status` (bounded)."""
    deadline = time.monotonic() + seconds
    while True:
        body = httpx.get(f"{url}/readyz", timeout=15).json()
        if body["status"] == status or time.monotonic() > deadline:
            return body
        time.sleep(0.2)  # poll interval while waiting for a condition, not time passing


def test_readyz_turns_ready_once_the_catalog_is_loaded(sandbox: RunningSandbox):
    process, url = spawn_http([], server_env(sandbox, MEMBRANE_MCP_AUTH_TOKENS="probe-token"))
    try:
        assert httpx.get(f"{url}/healthz").json()["status"] == "ok"
        body = wait_for_readyz(url, "ready")
        assert body["status"] == "ready"
        # Probes need no token; the MCP endpoint still does.
        assert httpx.get(f"{url}/readyz").status_code == 200
        assert httpx.post(f"{url}/mcp", json={}).status_code == 401
    finally:
        stop_process(process)


def test_readyz_reports_why_the_catalog_could_not_load(sandbox: RunningSandbox):
    process, url = spawn_http([], server_env(sandbox, MEMBRANE_TOKEN="pat-wrong"))
    try:
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive, though not ready
        first = httpx.get(f"{url}/readyz", timeout=15)
        assert first.status_code == 503 and first.json()["status"] in ("starting", "unavailable")
        body = wait_for_readyz(url, "unavailable")
        assert body["status"] == "unavailable" and "Membrane" in body["reason"]
        assert "pat-wrong" not in str(body)
    finally:
        stop_process(process)


@pytest.mark.slow  # the client's retries of an unreachable Membrane take about 20 s
def test_readyz_turns_ready_when_an_unreachable_membrane_comes_up():
    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MEMBRANE_TOKEN": SandboxConfig.token}
    env["MEMBRANE_API_URL"] = f"http://127.0.0.1:{port}"
    process, url = spawn_http([], env)
    try:
        assert httpx.get(f"{url}/readyz", timeout=15).status_code == 503
        assert wait_for_readyz(url, "unavailable")["status"] == "unavailable"
        with start_in_thread(SandboxConfig(), port=port):
            assert wait_for_readyz(url, "ready")["status"] == "ready"
    finally:
        stop_process(process)


async def _capabilities(target: Any, mode: str) -> types.ServerCapabilities:
    async with Client(target, mode=mode) as client:
        return client.server_capabilities


async def test_tools_list_changed_is_advertised_on_stdio_and_http_in_both_eras(sandbox: RunningSandbox):
    stdio = StdioServerParameters(
        command=sys.executable, args=["-m", "membrane_mcp", "serve"], env=server_env(sandbox)
    )
    process, url = spawn_http([], server_env(sandbox))
    try:
        for target in (stdio, f"{url}/mcp"):
            for mode in ("legacy", "auto"):  # the 2025-11-25 handshake; 2026-07-28 server/discover
                capabilities = await _capabilities(target, mode)
                assert capabilities.tools is not None and capabilities.tools.list_changed is True, (
                    target,
                    mode,
                )
    finally:
        stop_process(process)


async def test_list_changes_reach_a_handshake_era_http_client():
    with start_in_thread(SandboxConfig(build_seconds=0.1)) as fresh:
        changed = anyio.Event()

        async def on_message(message: Any) -> None:
            if isinstance(getattr(message, "root", message), types.ToolListChangedNotification):
                changed.set()

        process, url = spawn_http([], server_env(fresh))
        try:
            async with Client(f"{url}/mcp", mode="legacy", message_handler=on_message) as client:
                assert client.server_capabilities.tools.list_changed is True
                result = await client.call_tool(
                    "create_action", {"connection": "vtiger", "description": "list the campaigns of vtiger"}
                )
                assert not result.is_error, result.content
                with anyio.fail_after(10):
                    await changed.wait()
        finally:
            stop_process(process)


def test_readyz_answers_ready_when_serving_many_users(tmp_path):
    # The Docker image's health check probes /readyz, with or without tenants behind the tokens.
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MEMBRANE_MCP_AUTH_TOKENS": "probe=acme"}
    process, url = spawn_http(["--sandbox", "--sandbox-db", ":memory:"], env)
    try:
        ready = httpx.get(f"{url}/readyz", timeout=15)
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert httpx.post(f"{url}/mcp", json={}).status_code == 401
    finally:
        stop_process(process)
