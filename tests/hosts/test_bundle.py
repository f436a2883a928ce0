"""The MCP Bundle: `scripts/build-mcpb` builds it (validated by the pinned MCPB CLI), and the unpacked
bundle starts exactly as its manifest says (command, args, env with `${__dirname}` and `user_config`
filled in as a host does), lists tools and runs one."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

pytestmark = [pytest.mark.slow, pytest.mark.anyio]

ROOT = Path(__file__).resolve().parents[2]
MCPB = ROOT / ".tools" / "mcpb" / "node_modules" / ".bin" / "mcpb"
UV = Path(sys.executable).parent / "uv"
NETWORK_ENV = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "NO_PROXY",
    "https_proxy",
    "http_proxy",
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not MCPB.exists() and not os.environ.get("CI") and not shutil.which("npm"):
        pytest.skip("the MCPB CLI is not installed here and npm is missing (CI installs it)")
    out = tmp_path_factory.mktemp("bundle") / "membrane-mcp.mcpb"
    built = subprocess.run(
        ["bash", str(ROOT / "scripts" / "build-mcpb"), str(out)], capture_output=True, text=True, timeout=300
    )
    assert built.returncode == 0, built.stderr
    assert "Manifest schema validation passes" in built.stderr
    return out


def fill(value: str, dirname: Path, user_config: dict[str, str]) -> str:
    value = value.replace("${__dirname}", str(dirname))
    return re.sub(r"\$\{user_config\.(\w+)\}", lambda m: user_config[m.group(1)], value)


def test_manifest_is_v0_4_uv_with_a_sensitive_token(bundle: Path):
    with zipfile.ZipFile(bundle) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        names = set(archive.namelist())
    assert manifest["manifest_version"] == "0.4"
    assert manifest["server"]["type"] == "uv" and manifest["server"]["entry_point"] in names
    assert {"pyproject.toml", "LICENSE", "membrane_mcp/cli.py"} <= names
    assert not any(name.startswith((".venv/", "tests/")) or "__pycache__" in name for name in names)
    config = manifest["user_config"]
    assert config["membrane_token"]["sensitive"] is True
    assert {"api_url", "read_only", "tool_mode"} <= set(config)


async def test_unpacked_bundle_starts_as_the_manifest_says(bundle: Path, tmp_path: Path, monkeypatch):
    unpacked = tmp_path / "installed bundle"  # a space, as in real install paths
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    # What a user who turned the sandbox on, and left the rest alone, gets.
    user_config = {
        key: str(option.get("default", "")).lower() for key, option in manifest["user_config"].items()
    }
    user_config["sandbox"] = "true"
    server = manifest["server"]["mcp_config"]
    # The host provides uv (Claude Desktop ships it); here it is the dev dependency's binary, alone on PATH.
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "uv").symlink_to(UV)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", f"{tools}:/usr/bin:/bin")
    env = {name: fill(value, unpacked, user_config) for name, value in server["env"].items()}
    env["UV_PYTHON_DOWNLOADS"] = "never"  # use this machine's Python (no downloads here)
    env["UV_CACHE_DIR"] = str(ROOT / ".tools" / "uv-cache")
    # This machine's way to the package index (its CA bundle, a proxy), as the user's own machine has one.
    env.update({name: value for name, value in os.environ.items() if name in NETWORK_ENV})
    params = StdioServerParameters(
        command=server["command"],
        args=[fill(arg, unpacked, user_config) for arg in server["args"]],
        env=env,
        cwd=tmp_path,
    )
    async with Client(params) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"list_connections", "search_actions", "run_action"} <= names
        result = await client.call_tool("list_connections", {})
    assert not result.is_error, result.content
    vtiger = next(c for c in result.structured_content["connections"] if c["app"] == "vtiger")
    assert vtiger["actions"] == 8
