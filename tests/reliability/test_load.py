"""Concurrent MCP sessions over streamable HTTP against one server process: no protocol errors, no
error results, every write exactly once in the sandbox database.

The full run (50 sessions x 200 calls) is `-m heavy`; a small one runs by default. Latency and memory
figures under load are measured by `python -m bench` (figure 4), not asserted here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest
import uvicorn
from mcp import Client

from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.http import build_http_app
from membrane_mcp.settings import Settings
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox
from tests.processes import free_port
from tests.reliability.conftest import (
    db_rows,
    eventually,
    start_http_server,
    stop_process,
    text_of,
    vtiger_records_named,
)
from tests.sandboxes import seeded_sandbox

pytestmark = pytest.mark.anyio


@dataclass
class Tally:
    calls: int = 0
    protocol_errors: list[str] = field(default_factory=list)
    tool_errors: list[str] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)


def _call_for(session: int, index: int, tally: Tally) -> tuple[str, dict[str, Any]]:
    kind = index % 7
    if kind == 0:
        return "list_connections", {}
    if kind == 1:
        return "search_actions", {"query": "find contacts by email", "limit": 3}
    if kind == 2:
        return "run_action", {
            "connection": "vtiger",
            "action": "query-records",
            "input": {"query": "SELECT * FROM Leads LIMIT 3;"},
        }
    if kind == 3:
        return "raw_request", {"connection": "vtiger", "method": "GET", "path": "/me"}
    if kind == 4:
        name = f"load-run-{session}-{index}"
        tally.records.append(name)
        return "run_write_action", {
            "connection": "vtiger",
            "action": "create-record",
            "input": {"elementType": "Accounts", "element": {"accountname": name}},
        }
    if kind == 5:
        name = f"load-raw-{session}-{index}"
        tally.records.append(name)
        return "raw_write_request", {
            "connection": "vtiger",
            "method": "POST",
            "path": "/create",
            "body": {"elementType": "Contacts", "element": {"lastname": name}},
        }
    if index == 6:  # one create_action per session: it reloads the catalog for everyone
        description = f"list load leads {session}"
        tally.actions.append(description)
        return "create_action", {"connection": "vtiger", "description": description}
    return "list_connections", {}


async def _session(url: str, session: int, calls: range, tally: Tally) -> None:
    mode = "legacy" if session % 2 else "auto"
    try:
        async with Client(url, mode=mode) as client:
            await client.list_tools()
            for index in calls:
                name, args = _call_for(session, index, tally)
                try:
                    result = await client.call_tool(name, args)
                except Exception as exc:  # a protocol or transport failure: what this test counts
                    tally.protocol_errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                tally.calls += 1
                if result.is_error:
                    tally.tool_errors.append(f"{name}: {text_of(result)[:200]}")
    except Exception as exc:
        tally.protocol_errors.append(f"session {session}: {type(exc).__name__}: {exc}")


@pytest.fixture
def load_sandbox() -> Iterator[RunningSandbox]:
    with seeded_sandbox(SandboxConfig(build_seconds=0.2, seed=1)) as running:
        yield running


@asynccontextmanager
async def http_server_in_process(running: RunningSandbox) -> AsyncIterator[str]:
    """What `serve --transport http --apps vtiger` runs (gateway, MCP server, HTTP app, uvicorn), in this
    process and event loop: no interpreter to start, and the same server code under the same load."""
    settings = Settings(api_url=running.url, token=running.token, apps=["vtiger"], port=free_port())
    async with open_gateway(settings) as gateway:
        app = build_http_app(build_server(gateway), settings)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="on")
        server = uvicorn.Server(config)
        async with anyio.create_task_group() as group:
            group.start_soon(server.serve)
            assert await eventually(lambda: server.started, within=30, interval=0.01)
            try:
                yield f"http://{settings.host}:{settings.port}"
            finally:
                server.should_exit = True


@asynccontextmanager
async def http_server_process(running: RunningSandbox) -> AsyncIterator[str]:
    """`membrane-mcp serve --transport http --apps vtiger` as a subprocess; it must still be alive at the end."""
    process, base = start_http_server(running, "--apps", "vtiger")
    try:
        yield base
        assert process.poll() is None
    finally:
        stop_process(process)


async def _run_load(running: RunningSandbox, sessions: int, calls: int, *, subprocess: bool) -> None:
    tally = Tally()
    serving = http_server_process(running) if subprocess else http_server_in_process(running)
    async with serving as base, anyio.create_task_group() as group:
        for session in range(sessions):
            group.start_soon(_session, f"{base}/mcp", session, range(calls), tally)
    assert tally.protocol_errors == [], tally.protocol_errors[:5]
    assert tally.tool_errors == [], tally.tool_errors[:5]
    assert tally.calls == sessions * calls
    present = vtiger_records_named(running, "load-")
    assert len(tally.records) == len(set(tally.records))
    assert {name: present.get(name, 0) for name in tally.records} == dict.fromkeys(tally.records, 1)
    assert set(present) == set(tally.records)  # and nothing else was written
    for description in tally.actions:
        assert db_rows(running, "SELECT COUNT(*) FROM sandbox_actions WHERE intent = ?", description) == [
            (1,)
        ]


async def test_small_load_over_http(load_sandbox):
    # Every kind of call, create_action included; in-process (the subprocess HTTP server has its own tests).
    await _run_load(load_sandbox, sessions=6, calls=10, subprocess=False)


@pytest.mark.heavy
@pytest.mark.timeout(1800)
async def test_heavy_load_over_http(load_sandbox):
    await _run_load(load_sandbox, sessions=50, calls=200, subprocess=True)
