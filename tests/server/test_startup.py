"""Start-up of `serve` over stdio: what it loads before it can answer `initialize` (none of the heavy
modules a stdio session does not need before its first call: HTTP, OAuth/JWT, retries, schema checks,
the sandbox's apps; checked in a fresh interpreter's `sys.modules`), and the catalog loaded only after
the first answer. No timing is asserted (figure 1 of the bench measures it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.messages import initialize_request

pytestmark = pytest.mark.anyio

# Each is imported later (at the first Membrane request, the first schema check, with --transport http,
# by another command) or never in a stdio session; none is imported by the SDK's own stdio server.
DEFERRED = (
    "jwt",  # workspace credentials mint tokens at the first request; OAuth is HTTP only
    "tenacity",  # retries: the first Membrane request
    "jsonschema_rs",  # the first schema check
    "jsonschema",
    "referencing",
    "httpcore",  # the Membrane client's transport (membrane/transport.py): made at the first request
    "httpcore2",
    "aiohttp",
    "membrane_mcp.membrane.transport",
    "h11",
    "yaml",
    "prometheus_client",  # --metrics is served over HTTP
    "sqlite3",  # the sandbox's database: it starts at its first request
    "membrane_sandbox.api",
    "membrane_sandbox.apps",
    "membrane_mcp.server.http",
    "membrane_mcp.server.tenants",
    "membrane_mcp.server.oauth",
    "membrane_mcp.server.workers",
    "membrane_mcp.server.limits",
    "membrane_mcp.doctor",
    "membrane_mcp.hosts",
)

# Over stdio the gateway opens once the first answer is out (server/pending_gateway.py): before it, none
# of what it is made of (the Membrane client and httpx, the catalog and the tools layer, the sandbox).
DEFERRED_TO_THE_GATEWAY = (
    "httpx",
    "pygments",  # with rich: httpx's command line, imported with httpx when installed
    "rich",
    "membrane_sandbox",
    "membrane_mcp.membrane",
    "membrane_mcp.tools.gateway",
    "membrane_mcp.tools.catalog",
    "membrane_mcp.tools.services",
    "membrane_mcp.tools.registry",
    "membrane_mcp.tools.handlers",
    "membrane_mcp.tools.search",
    "membrane_mcp.tools.confirm",
    "membrane_mcp.tools.errors",
    "membrane_mcp.server.backend",
    "membrane_mcp.server.banner",
    "membrane_mcp.observability.calls",
    "membrane_mcp.observability.membrane",
)

# `membrane-mcp serve` answering `initialize` and reading the end of stdin before anything asked for the
# gateway (its idle fallback kept away), then writing the modules it loaded to the file named first.
SERVE_ONE_HANDSHAKE = """
import json, sys
from membrane_mcp import cli
from membrane_mcp.server import stdio

stdio.IDLE_LOAD_SECONDS = stdio.SETTLE_SECONDS = 3600
code = cli.main(sys.argv[2:])
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""

INITIALIZE = json.dumps(initialize_request())


def loaded_by_serve(*argv: str, env: dict[str, str], tmp_path: Path) -> set[str]:
    """What `serve` had imported by its answer to `initialize` (which it must give, alone on stdout)."""
    modules = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", SERVE_ONE_HANDSHAKE, str(modules), "serve", *argv],
        input=INITIALIZE + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "membrane-mcp"
    return set(json.loads(modules.read_text()))


def heavy(modules: set[str], deferred: tuple[str, ...] = DEFERRED + DEFERRED_TO_THE_GATEWAY) -> list[str]:
    return sorted(m for m in modules if any(m == d or m.startswith(d + ".") for d in deferred))


@pytest.fixture
def base_env(tmp_path) -> dict[str, str]:
    import os

    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "MEMBRANE_MCP_LOG_LEVEL": "WARNING"}


def test_serve_with_a_token_loads_no_heavy_module_before_the_handshake(base_env, tmp_path):
    env = {**base_env, "MEMBRANE_API_URL": "http://127.0.0.1:9", "MEMBRANE_TOKEN": "pat-test"}
    modules = loaded_by_serve(env=env, tmp_path=tmp_path)
    assert "membrane_mcp.server.stdio" in modules and "membrane_mcp.server.pending_gateway" in modules
    assert heavy(modules) == []


def test_serve_with_workspace_credentials_loads_no_jwt_before_the_handshake(base_env, tmp_path):
    env = {
        **base_env,
        "MEMBRANE_API_URL": "http://127.0.0.1:9",
        "MEMBRANE_WORKSPACE_KEY": "key",
        "MEMBRANE_WORKSPACE_SECRET": "secret",
        "MEMBRANE_TENANT_KEY": "tenant",
    }
    assert heavy(loaded_by_serve(env=env, tmp_path=tmp_path)) == []


def test_serve_sandbox_loads_no_sandbox_app_before_the_handshake(base_env, tmp_path):
    db = tmp_path / "s.db"
    modules = loaded_by_serve("--sandbox", "--sandbox-db", str(db), env=base_env, tmp_path=tmp_path)
    assert heavy(modules) == []
    assert not db.exists()  # nothing asked the sandbox anything: not started


def test_the_guard_sees_the_modules_it_defers_when_they_are_loaded(base_env):
    """The check can fail: the HTTP transport's and the gateway's modules are among those it looks for."""
    code = (
        "import json, sys\n"
        "import membrane_mcp.server.backend, membrane_mcp.server.http\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=base_env, timeout=120
    )
    loaded = set(heavy(set(json.loads(done.stdout))))
    assert {"httpx", "membrane_mcp.tools.gateway", "membrane_mcp.tools.catalog"} <= loaded
    assert {"membrane_mcp.server.http", "membrane_mcp.server.backend"} <= loaded


@pytest.mark.parametrize(
    "argv",
    [
        ["serve", "--sandbox", "--tool-mode", "search", "--apps", "vtiger,1crm", "--debug"],
        ["sandbox", "--db", ":memory:", "--reset"],
        ["tools", "--json", "--read-only"],
        ["call", "search_actions", "--arg", "query=leads", "--sandbox"],
        ["doctor", "--log-level", "DEBUG"],
        ["config", "claude-code", "--sandbox"],
    ],
)
def test_each_command_parses_alike_when_only_its_own_arguments_are_built(argv):
    from membrane_mcp.cli import COMMANDS, _command_in, build_parser

    assert _command_in(argv) == argv[0] and argv[0] in COMMANDS
    whole, own = build_parser().parse_args(argv), build_parser(_command_in(argv)).parse_args(argv)
    assert vars(own) == vars(whole)

    def command_help(parser) -> str:
        commands = next(a for a in parser._actions if a.dest == "command")
        return commands.choices[argv[0]].format_help()

    assert command_help(build_parser(argv[0])) == command_help(build_parser())  # its --help and errors too


def test_every_command_of_the_parser_is_known_to_the_cli():
    from membrane_mcp.cli import COMMANDS, build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    assert set(commands.choices) == set(COMMANDS)


class FakeGateway:
    """What `_open_when_wanted` and the server use of a gateway; its catalog cannot be loaded."""

    def __init__(self, loads: list[str]) -> None:
        from types import SimpleNamespace

        from membrane_mcp.membrane.errors import MembraneError

        async def snapshot() -> None:
            loads.append("load")
            raise MembraneError("unreachable in this test")  # the banner logs it and stops

        self.catalog = SimpleNamespace(snapshot=snapshot, cached=None)
        self.client = SimpleNamespace(base_url="x")
        self.listeners: list[object] = []

    def add_tools_changed_listener(self, listener: object) -> None:
        self.listeners.append(listener)

    async def list_tools(self, session: str | None = None) -> list[str]:
        return ["a tool"]


def fake_open_gateway(monkeypatch, gateway: object, opened: list[str]) -> None:
    from contextlib import asynccontextmanager

    from membrane_mcp.server import backend

    @asynccontextmanager
    async def open_gateway(settings):
        opened.append("open")
        yield gateway
        opened.append("closed")

    monkeypatch.setattr(backend, "open_gateway", open_gateway)


async def test_the_gateway_opens_and_the_catalog_loads_only_once_the_first_answer_is_sent(monkeypatch):
    import anyio

    from membrane_mcp.server import stdio
    from membrane_mcp.server.pending_gateway import PendingGateway

    monkeypatch.setattr(stdio, "IDLE_LOAD_SECONDS", 3600)  # the idle fallback stays out of the way
    monkeypatch.setattr(stdio, "SETTLE_SECONDS", 0)
    loads: list[str] = []
    opened: list[str] = []
    gateway = FakeGateway(loads)
    fake_open_gateway(monkeypatch, gateway, opened)
    pending = PendingGateway()

    async def listener() -> None: ...

    pending.add_tools_changed_listener(listener)
    sink_writer, sink = anyio.create_memory_object_stream[object](1)
    answers = stdio.FirstSendSignal(sink_writer)
    async with anyio.create_task_group() as group, sink:
        group.start_soon(stdio._want_after_first_answer, answers.sent, pending)
        group.start_soon(stdio._open_when_wanted, None, pending, group.cancel_scope)
        await anyio.wait_all_tasks_blocked()
        assert opened == [] and loads == []  # no answer yet: nothing opened, nothing loaded
        assert pending.catalog.cached is None and pending.input_schema("a tool") is None
        async with answers:
            await answers.send("the initialize answer")
            assert answers.sent.is_set() and await sink.receive() == "the initialize answer"
        with anyio.fail_after(10):
            while not loads:
                await anyio.wait_all_tasks_blocked()
        assert pending.current is gateway and gateway.listeners == [listener]
        group.cancel_scope.cancel()
    assert loads == ["load"] and opened == ["open", "closed"]  # closed when the server stops


async def test_a_request_before_the_first_answer_opens_the_gateway_at_once(monkeypatch):
    import anyio

    from membrane_mcp.server import stdio
    from membrane_mcp.server.pending_gateway import PendingGateway

    monkeypatch.setattr(stdio, "IDLE_LOAD_SECONDS", 3600)
    opened: list[str] = []
    fake_open_gateway(monkeypatch, FakeGateway([]), opened)
    pending = PendingGateway()
    async with anyio.create_task_group() as group:
        group.start_soon(stdio._want_after_first_answer, anyio.Event(), pending)  # never answered
        group.start_soon(stdio._open_when_wanted, None, pending, group.cancel_scope)
        with anyio.fail_after(10):
            assert await pending.list_tools() == ["a tool"]
        group.cancel_scope.cancel()
    assert opened == ["open", "closed"]


async def test_a_gateway_that_cannot_open_stops_the_server_with_its_error(monkeypatch):
    from contextlib import asynccontextmanager

    import anyio

    from membrane_mcp.server import backend, stdio
    from membrane_mcp.server.errors import ConfigurationError
    from membrane_mcp.server.pending_gateway import GatewayNotOpened, PendingGateway

    @asynccontextmanager
    async def open_gateway(settings):
        raise ConfigurationError("no way")
        yield

    monkeypatch.setattr(backend, "open_gateway", open_gateway)
    pending = PendingGateway()
    served: list[str] = []
    async with anyio.create_task_group() as group:
        group.start_soon(stdio._open_when_wanted, None, pending, group.cancel_scope)

        async def serve() -> None:
            with pytest.raises(GatewayNotOpened):
                await pending.list_tools()
            served.append("refused")
            await anyio.sleep_forever()  # the server: stopped by the gateway's failure

        group.start_soon(serve)
    assert served == ["refused"]
    with pytest.raises(ConfigurationError, match="no way"):
        pending.raise_if_failed()
