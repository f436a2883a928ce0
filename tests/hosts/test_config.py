"""`membrane-mcp config HOST`: each printed entry starts the server as that host would start it.

The entry's command, arguments and environment are used as given, from another working directory,
with a bare environment (tests/hosts/conftest.py `clean_home`), through the MCP SDK's stdio client.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from typing import Any

import pytest
from mcp import Client, StdioServerParameters

from membrane_mcp.hosts import HOSTS, SECRET_PLACEHOLDER, TOKEN_PLACEHOLDER
from membrane_sandbox.serve import RunningSandbox

pytestmark = pytest.mark.anyio

RUNNING_PYTHON = os.path.abspath(sys.executable)


def printed_entry(cli: Any, host: str, *flags: str) -> tuple[StdioServerParameters, dict[str, Any] | str]:
    """Run `config HOST FLAGS`, and read command, args and env back out of what it printed."""
    done = cli("config", host, *flags)
    assert done.returncode == 0, done.stderr
    if host == "claude-code":
        words = shlex.split(done.stdout)
        assert words[:3] == ["claude", "mcp", "add"]
        split = words.index("--")
        env = dict(words[i + 1].split("=", 1) for i in range(split) if words[i] == "--env")
        assert words[split - 1] == "membrane"
        return StdioServerParameters(command=words[split + 1], args=words[split + 2 :], env=env), done.stdout
    document = json.loads(done.stdout)
    if host == "vscode":
        server = document["servers"]["membrane"]
        assert server["type"] == "stdio"
    else:
        server = document["mcpServers"]["membrane"]
    return StdioServerParameters(
        command=server["command"], args=server["args"], env=server.get("env", {})
    ), document


async def list_and_call(params: StdioServerParameters) -> None:
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_connections", "search_actions", "run_action"} <= names
        result = await client.call_tool("list_connections", {})
        assert not result.is_error, result.content
        apps = {c["app"] for c in result.structured_content["connections"]}
        assert "vtiger" in apps


@pytest.mark.parametrize("host", HOSTS)
async def test_printed_sandbox_entry_starts_from_elsewhere_with_a_bare_environment(
    cli, host, clean_home, tmp_path
):
    params, _ = printed_entry(cli, host, "--sandbox")
    assert params.args[-1] == "--sandbox"
    assert "--host" not in params.args and host not in params.args
    # The virtual environment's own interpreter, not the base one it links to.
    assert params.command == RUNNING_PYTHON
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    params.cwd = elsewhere
    await list_and_call(params)


@pytest.mark.parametrize("host", HOSTS)
async def test_printed_entry_with_credentials_starts_once_the_placeholder_is_filled(
    cli, host, clean_home, tmp_path, sandbox: RunningSandbox
):
    params, printed = printed_entry(cli, host, "--api-url", sandbox.url, "--tool-mode", "search")
    assert "--sandbox" not in params.args
    assert params.args[-4:] == ["--api-url", sandbox.url, "--tool-mode", "search"]
    env = dict(params.env or {})
    assert list(env) == ["MEMBRANE_TOKEN"]
    placeholder = {
        "claude-code": "$MEMBRANE_TOKEN",  # the shell fills it in when the user runs the line
        "vscode": "${input:membrane-token}",  # VS Code prompts for it
    }.get(host, TOKEN_PLACEHOLDER)
    assert env["MEMBRANE_TOKEN"] == placeholder
    if host == "vscode":
        assert printed["inputs"][0]["password"] is True  # type: ignore[index]
    params.env = {"MEMBRANE_TOKEN": sandbox.token}
    params.cwd = tmp_path
    await list_and_call(params)


def test_workspace_credentials_ask_for_the_secret_in_the_environment(cli):
    done = cli("config", "claude-desktop", "--workspace-key", "wk-1", "--tenant-key", "acme")
    server = json.loads(done.stdout)["mcpServers"]["membrane"]
    assert server["env"] == {"MEMBRANE_WORKSPACE_SECRET": SECRET_PLACEHOLDER}
    assert server["args"][-4:] == ["--workspace-key", "wk-1", "--tenant-key", "acme"]


def test_unknown_host_is_one_line_with_the_choices(cli):
    done = cli("config", "emacs")
    assert done.returncode == 2
    assert "claude-desktop" in done.stderr and "vscode" in done.stderr
