"""Secrets never leave: logs (DEBUG), tool results, errors, CLI output, HTTP responses, upstream requests."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from membrane_sandbox.api import create_app
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread
from tests.safety.conftest import base_env, free_port, start_http
from tests.server.conftest import connect

pytestmark = pytest.mark.anyio

MEMBRANE_TOKEN = "pat-SECRET-membrane-4f9c2a7e"
WORKSPACE_SECRET = "ws-SECRET-workspace-8d31b6"
MCP_TOKENS = ("mcp-SECRET-bearer-one-51c0", "mcp-SECRET-bearer-two-9e2d")
WRONG_TOKEN = "pat-SECRET-wrong-token-77aa"
SECRETS = (MEMBRANE_TOKEN, WORKSPACE_SECRET, *MCP_TOKENS, WRONG_TOKEN)


def assert_clean(text: str, where: str) -> None:
    leaked = [s for s in SECRETS if s in text]
    assert not leaked, f"{where} leaks {leaked}"
    assert "eyJ" not in text, f"{where} leaks a JWT"


class Recorder:
    """ASGI wrapper around the sandbox that keeps every request's headers and body."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = " ".join(f"{k.decode()}={v.decode(errors='replace')}" for k, v in scope["headers"])
        self.seen.append(f"{scope['method']} {scope['path']}?{scope['query_string'].decode()} {headers}")

        async def recording_receive() -> Any:
            message = await receive()
            self.seen.append(message.get("body", b"").decode(errors="replace"))
            return message

        await self.app(scope, recording_receive, send)


@pytest.fixture(scope="module")
def secret_sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(
        SandboxConfig(token=MEMBRANE_TOKEN, workspace_secret=WORKSPACE_SECRET, build_seconds=0.3)
    ) as running:
        yield running


@pytest.fixture(scope="module")
def recorded() -> Iterator[tuple[str, Recorder]]:
    config = SandboxConfig(token=MEMBRANE_TOKEN, workspace_secret=WORKSPACE_SECRET, build_seconds=0.3)
    recorder = Recorder(create_app(config))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(recorder, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)  # poll interval while uvicorn starts
    yield f"http://127.0.0.1:{port}", recorder
    server.should_exit = True
    thread.join(10)


CALLS: list[tuple[str, dict[str, Any]]] = [
    ("list_connections", {}),
    (
        "run_action",
        {
            "connection": "vtiger",
            "action": "query-records",
            "input": {"query": "SELECT * FROM Leads LIMIT 2;"},
        },
    ),
    ("raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}),
    (
        "raw_request",
        {
            "connection": "vtiger",
            "method": "GET",
            "path": "/me",
            "headers": {"Authorization": f"Bearer {MEMBRANE_TOKEN}"},
        },
    ),
    ("raw_request", {"connection": "vtiger", "method": "GET", "path": "https://evil.example/x"}),
    ("run_action", {"connection": "nope", "action": "x"}),
    ("run_write_action", {"connection": "vtiger", "action": "delete-record", "input": {"id": "bad"}}),
    ("no_such_tool", {}),
]


async def run_calls(client: Client) -> str:
    out = [json.dumps((await client.list_tools()).model_dump(mode="json"))]
    for name, args in CALLS:
        try:
            out.append(json.dumps((await client.call_tool(name, args)).model_dump(mode="json")))
        except Exception as exc:  # the JSON-RPC error for the unknown tool
            out.append(repr(exc))
    return "\n".join(out)


def run_all(
    jobs: list[tuple[list[str], dict[str, str], str | None]],
) -> list[subprocess.CompletedProcess[str]]:
    """Run `python -m membrane_mcp <args>` jobs side by side (each start-up costs seconds)."""
    processes = [
        (subprocess.Popen(
            [sys.executable, "-m", "membrane_mcp", *args], env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ), args, stdin)
        for args, env, stdin in jobs
    ]  # fmt: skip
    done = []
    for process, args, stdin in processes:
        out, err = process.communicate(stdin, timeout=60)
        done.append(subprocess.CompletedProcess(args, process.returncode, out, err))
    return done


def stdio_env(url: str, **extra: str) -> dict[str, str]:
    running = RunningSandbox.__new__(RunningSandbox)
    running.url, running.token = url, MEMBRANE_TOKEN
    return base_env(
        running, MEMBRANE_MCP_AUTH_TOKENS=",".join(MCP_TOKENS), MEMBRANE_MCP_APPS="vtiger", **extra
    )


async def test_stdio_results_are_clean(secret_sandbox):
    mode = "legacy"  # the real handshake; the in-memory test covers both eras
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "membrane_mcp", "serve", "--log-level", "DEBUG"],
        env=stdio_env(secret_sandbox.url),
    )
    async with Client(params, mode=mode) as client:
        results = await run_calls(client)
    assert "vtiger" in results and '"status": 200' in results.replace('"status":200', '"status": 200')
    assert_clean(results, "tool results")


def test_stdio_subprocess_stderr_at_debug_is_clean(secret_sandbox):
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        *({"jsonrpc": "2.0", "id": i + 2, "method": "tools/call", "params": {"name": n, "arguments": a}} for i, (n, a) in enumerate(CALLS)),
    ]  # fmt: skip
    envs = [
        stdio_env(secret_sandbox.url),
        stdio_env(secret_sandbox.url, MEMBRANE_TOKEN=WRONG_TOKEN),
        {**stdio_env(secret_sandbox.url), "MEMBRANE_WORKSPACE_KEY": "sandbox-workspace",
         "MEMBRANE_WORKSPACE_SECRET": WORKSPACE_SECRET, "MEMBRANE_TENANT_KEY": "sandbox-tenant"},
    ]  # fmt: skip
    del envs[2]["MEMBRANE_TOKEN"]
    stdin = "".join(json.dumps(m) + "\n" for m in messages)
    for process in run_all([(["serve", "--log-level", "DEBUG"], env, stdin) for env in envs]):
        # The server stops at end of input, possibly before every call is answered; what it wrote must be clean.
        assert process.stdout.count('"id"') >= 2, process.stderr
        assert_clean(process.stdout, "stdio protocol output")
        assert_clean(process.stderr, "stdio stderr (DEBUG)")


def test_wrong_token_error_paths_and_cli_output_are_clean(secret_sandbox):
    env = stdio_env(secret_sandbox.url, MEMBRANE_TOKEN=WRONG_TOKEN)
    commands = [
        ["call", "list_connections", "--log-level", "DEBUG"],
        ["tools", "--log-level", "DEBUG"],
        ["config", "claude-desktop"],
    ]
    good_env = stdio_env(secret_sandbox.url)
    *outputs, good = run_all(
        [(c, env, None) for c in commands] + [(["tools", "--json", "--log-level", "DEBUG"], good_env, None)]
    )
    for command, process in zip(commands, outputs, strict=True):
        assert_clean(process.stdout + process.stderr, " ".join(command))
    assert outputs[0].returncode != 0
    assert "credentials" in outputs[0].stdout + outputs[0].stderr
    assert good.returncode == 0 and "vtiger_query_records" in good.stdout
    assert_clean(good.stdout + good.stderr, "tools --json")


async def test_http_responses_logs_and_upstream_requests_are_clean(recorded):
    url, recorder = recorded
    env = stdio_env(url)
    for server in start_http(["--log-level", "DEBUG", "--host", "0.0.0.0"], env):
        async with httpx.AsyncClient() as plain:
            texts = [
                (
                    await plain.post(
                        f"{server.url}/mcp", content="{}", headers={"Authorization": "Bearer nope"}
                    )
                ).text
            ]
        for token in MCP_TOKENS:
            async with create_mcp_http_client(headers={"Authorization": f"Bearer {token}"}) as http:
                async with Client(streamable_http_client(f"{server.url}/mcp", http_client=http)) as client:
                    texts.append(await run_calls(client))
    for text in texts:
        assert_clean(text, "HTTP responses")
    assert_clean(server.stderr, "HTTP server stderr (DEBUG)")
    upstream = "\n".join(recorder.seen)
    assert "/connections" in upstream
    for token in MCP_TOKENS:
        assert token not in upstream, "the MCP bearer token reached Membrane"
    assert f"Bearer {MEMBRANE_TOKEN}" in upstream  # the server's own credential is what Membrane sees


async def test_in_memory_logs_and_results_are_scrubbed(secret_sandbox, caplog, mode):
    from tests.server.conftest import settings_for

    caplog.set_level(logging.DEBUG)
    settings = settings_for(secret_sandbox, apps=["vtiger"], auth_tokens=",".join(MCP_TOKENS))
    async with connect(settings, mode) as client:
        results = await run_calls(client)
        # An app record holding a secret comes back masked (the last line of defence for results).
        created = await client.call_tool(
            "run_write_action",
            {"connection": "vtiger", "action": "create-record",
             "input": {"elementType": "Leads", "element": {"lastname": MCP_TOKENS[0], "company": "Acme"}}},
        )  # fmt: skip
        # And a log line that carries one by mistake is masked too.
        logging.getLogger("membrane_mcp.test").warning(
            "oops %s / Bearer %s", MEMBRANE_TOKEN, "abcdefghijklmnop"
        )
        try:
            raise RuntimeError(f"failed with {MCP_TOKENS[1]}")
        except RuntimeError:
            logging.getLogger("membrane_mcp.test").exception("trace")
    assert not created.is_error, created.content
    assert "***" in created.content[0].text
    assert_clean(results + json.dumps(created.model_dump(mode="json")), "in-memory results")
    assert_clean(caplog.text, "in-memory logs")
    assert "oops *** / Bearer ***" in caplog.text
    assert "failed with ***" in caplog.text
