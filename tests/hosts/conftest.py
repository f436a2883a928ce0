"""Fixtures for tests that run membrane-mcp as hosts and users do: printed entries, the CLI, a bundle."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[RunningSandbox]:
    with start_in_thread(SandboxConfig(build_seconds=0.3)) as running:
        yield running


@pytest.fixture
def clean_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A host's bare environment: a fresh HOME (so a sandbox database starts fresh), system PATH only.

    The MCP SDK's stdio client passes HOME, PATH, USER... from os.environ to the server it starts,
    like hosts do, so these are set here. PATH has no virtual environment in it.
    """
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    for name in ("XDG_DATA_HOME", "VIRTUAL_ENV", "PYTHONPATH"):
        monkeypatch.delenv(name, raising=False)
    return home


def run_cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`membrane-mcp <args>` in a subprocess, with the environment given (default: a copy of ours)."""
    return subprocess.run(
        [sys.executable, "-m", "membrane_mcp", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
        timeout=90,
    )


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`membrane-mcp <args>` in this process (quicker than a subprocess on a busy machine); exit status and output."""
    from membrane_mcp.cli import main

    def run(*args: str) -> Ran:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return run
