"""Start-up of `serve` over stdio: what it loads before it can answer `initialize` (none of the heavy
modules a stdio session does not need before its first call: HTTP, OAuth/JWT, retries, schema checks,
the sandbox's apps; checked in a fresh interpreter's `sys.modules`), and the catalog loaded only after
the first answer. No timing is asserted (figure 1 of the bench measures it)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

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

# The steps of `membrane-mcp serve` up to serving (cli.main, cmd_serve, run_stdio), minus reading stdin.
SERVE_UP_TO_THE_HANDSHAKE = """
import json, sys
import anyio
from membrane_mcp import cli, observability
from membrane_mcp.server.app import build_server
from membrane_mcp.server.backend import open_gateway
from membrane_mcp.server.stdio import run_stdio

argv = sys.argv[1:]
args = cli.build_parser(cli._command_in(argv)).parse_args(argv)
settings = cli.settings_from(args)
cli.configure_logging(settings.log_level)
assert cli.startup_problem(settings) is None and observability.startup_problem(settings) is None
stop = observability.start(settings)

async def handshake_ready():
    async with open_gateway(settings) as gateway:
        server = observability.observe_server(build_server(gateway), gateway, settings)
        server.create_initialization_options()

anyio.run(handshake_ready)
stop()
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by_serve(*argv: str, env: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", SERVE_UP_TO_THE_HANDSHAKE, "serve", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(json.loads(done.stdout))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == d or m.startswith(d + ".") for d in DEFERRED))


@pytest.fixture
def base_env(tmp_path) -> dict[str, str]:
    import os

    return {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "MEMBRANE_MCP_LOG_LEVEL": "WARNING"}


def test_serve_with_a_token_loads_no_heavy_module_before_the_handshake(base_env):
    env = {**base_env, "MEMBRANE_API_URL": "http://127.0.0.1:9", "MEMBRANE_TOKEN": "pat-test"}
    modules = loaded_by_serve(env=env)
    assert "membrane_mcp.server.stdio" in modules and "membrane_mcp.tools.gateway" in modules
    assert heavy(modules) == []


def test_serve_with_workspace_credentials_loads_no_jwt_before_the_handshake(base_env):
    env = {
        **base_env,
        "MEMBRANE_API_URL": "http://127.0.0.1:9",
        "MEMBRANE_WORKSPACE_KEY": "key",
        "MEMBRANE_WORKSPACE_SECRET": "secret",
        "MEMBRANE_TENANT_KEY": "tenant",
    }
    assert heavy(loaded_by_serve(env=env)) == []


def test_serve_sandbox_loads_no_sandbox_app_before_the_handshake(base_env, tmp_path):
    modules = loaded_by_serve("--sandbox", "--sandbox-db", str(tmp_path / "s.db"), env=base_env)
    assert heavy(modules) == []
    assert not (tmp_path / "s.db").exists()  # nothing asked the sandbox anything: not started


def test_the_guard_sees_a_deferred_module_when_it_is_loaded(base_env):
    """The check can fail: the HTTP transport's modules are among those it looks for."""
    env = {**base_env, "MEMBRANE_API_URL": "http://127.0.0.1:9", "MEMBRANE_TOKEN": "pat-test"}
    modules = loaded_by_serve("--transport", "http", "--port", "0", env=env)
    assert "membrane_mcp.server.limits" in heavy(modules) or "membrane_mcp.server.tenants" in heavy(modules)


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


def test_every_command_of_the_parser_is_known_to_the_cli():
    from membrane_mcp.cli import COMMANDS, build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command")
    assert set(commands.choices) == set(COMMANDS)


async def test_the_catalog_loads_only_once_the_first_answer_is_sent(monkeypatch):
    from types import SimpleNamespace

    import anyio

    from membrane_mcp.membrane.errors import MembraneError
    from membrane_mcp.server import stdio

    monkeypatch.setattr(stdio, "IDLE_LOAD_SECONDS", 3600)  # the idle fallback stays out of the way
    monkeypatch.setattr(stdio, "SETTLE_SECONDS", 0)
    loads: list[str] = []

    async def snapshot() -> None:
        loads.append("load")
        raise MembraneError("unreachable in this test")  # the banner logs it and stops

    gateway = SimpleNamespace(
        catalog=SimpleNamespace(snapshot=snapshot), client=SimpleNamespace(base_url="x")
    )
    sink_writer, sink = anyio.create_memory_object_stream[object](1)
    answers = stdio.FirstSendSignal(sink_writer)
    async with anyio.create_task_group() as group, sink:
        group.start_soon(stdio._load_after_first_answer, answers.sent, gateway)
        await anyio.wait_all_tasks_blocked()
        assert loads == []  # no answer yet: nothing loaded
        async with answers:
            await answers.send("the initialize answer")
            assert answers.sent.is_set() and await sink.receive() == "the initialize answer"
        with anyio.fail_after(10):
            while not loads:
                await anyio.wait_all_tasks_blocked()
    assert loads == ["load"]
