"""The README's one-line installs, from a clean environment, with this checkout as the package source:
`uvx --from <path> membrane-mcp serve --sandbox` and `pipx install <path>` (the README gives the same
lines with a git URL). Each installed server is started as a host would and runs a tool."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# This machine's way to the package index (its CA bundle, a proxy, pip's configuration).
NETWORK_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
)


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A fresh HOME and a PATH without this virtual environment; uv and pipx by absolute path."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    for name in ("VIRTUAL_ENV", "PYTHONPATH", "XDG_DATA_HOME"):
        monkeypatch.delenv(name, raising=False)
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin"}
    env.update(
        {name: value for name, value in os.environ.items() if name in NETWORK_ENV or name.startswith("PIP_")}
    )
    env["UV_PYTHON_DOWNLOADS"] = "never"  # this machine's Python (no downloads here)
    env["UV_CACHE_DIR"] = str(ROOT / ".tools" / "uv-cache")
    return env


async def runs_a_tool(params: StdioServerParameters) -> None:
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_connections", "search_actions", "run_action"} <= names
        result = await client.call_tool("list_connections", {})
    assert not result.is_error, result.content
    vtiger = next(c for c in result.structured_content["connections"] if c["app"] == "vtiger")
    assert vtiger["actions"] == 8


async def test_uvx_from_a_path_serves_the_sandbox(clean_env, tmp_path):
    params = StdioServerParameters(
        command=str(BIN / "uvx"),
        args=["--from", str(ROOT), "membrane-mcp", "serve", "--sandbox"],
        env=clean_env,
        cwd=tmp_path,
    )
    await runs_a_tool(params)


@pytest.fixture
def pipx_installed(clean_env, tmp_path) -> tuple[Path, dict[str, str]]:
    """`pipx install <this checkout>` into a folder of its own; the installed command and its environment."""
    env = {**clean_env, "PIPX_HOME": str(tmp_path / "pipx"), "PIPX_BIN_DIR": str(tmp_path / "bin")}
    installed = subprocess.run(
        [str(BIN / "pipx"), "install", str(ROOT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return tmp_path / "bin" / "membrane-mcp", env


async def test_pipx_install_from_a_path_gives_a_working_command(pipx_installed, tmp_path):
    command, env = pipx_installed
    await runs_a_tool(
        StdioServerParameters(command=str(command), args=["serve", "--sandbox"], env=env, cwd=tmp_path)
    )
