"""A meta tool's plainly valid arguments are checked without jsonschema (its import is most of a first
search_actions' CPU after the catalog loads); invalid ones get jsonschema's messages as before. Driven
through `membrane-mcp call` (an MCP client) in a fresh interpreter, whose `sys.modules` says what loaded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from membrane_sandbox.config import SandboxConfig
from tests.sandboxes import seeded_sandbox

# `membrane-mcp call` with the arguments given, then the modules it loaded written to the file named
# first. The background jsonschema import (once the catalog is in) is kept away.
CALL = """
import json, sys
from membrane_mcp import cli
from membrane_mcp.tools import services

services.JSONSCHEMA_PRELOAD_DELAY_S = 3600
code = cli.main(["call", *sys.argv[2:]])
with open(sys.argv[1], "w") as out:
    json.dump(sorted(sys.modules), out)
sys.exit(code)
"""


def _call(
    url: str, token: str, tmp_path: Path, *argv: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    modules = tmp_path / "modules.json"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "MEMBRANE_API_URL": url,
        "MEMBRANE_TOKEN": token,
        "MEMBRANE_MCP_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-c", CALL, str(modules), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    return done, set(json.loads(modules.read_text()))


def test_valid_search_arguments_need_no_jsonschema_and_invalid_ones_are_explained_as_before(tmp_path):
    with seeded_sandbox(SandboxConfig()) as sandbox:
        found, loaded = _call(
            sandbox.url, sandbox.token, tmp_path, "search_actions", "--arg", "query=list leads"
        )
        assert found.returncode == 0, found.stderr[-3000:]
        assert json.loads(found.stdout)["results"]
        assert "jsonschema" not in loaded

        arguments = json.dumps({"query": "list leads", "limit": 0, "extra": 1})
        refused, loaded = _call(
            sandbox.url, sandbox.token, tmp_path, "search_actions", "--json-args", arguments
        )
    assert refused.returncode == 1
    assert "jsonschema" in loaded  # the full run, for its messages
    text = refused.stdout + refused.stderr
    assert "`limit`: 0 is less than the minimum of 1" in text and "unexpected field `extra`" in text
