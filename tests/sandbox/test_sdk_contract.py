"""Membrane's own SDK (@membranehq/sdk, pinned in sdk_contract/package-lock.json) drives the sandbox on each
profile that changes a shape: connections, integrations, actions at both levels, runs, run logs, connection
requests, reconnect and ensure, each answer parsed with the SDK's own zod schemas (sdk_contract/check.js).

Needs Node and the SDK: ``npm ci --prefix tests/sandbox/sdk_contract`` (the registry's lock, about 35 MB)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from membrane_sandbox import SandboxConfig, start_in_thread

CONTRACT = Path(__file__).parent / "sdk_contract"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (CONTRACT / "node_modules" / "@membranehq" / "sdk").is_dir(),
    reason="Membrane's SDK is not installed: npm ci --prefix tests/sandbox/sdk_contract",
)


@pytest.mark.parametrize(
    "profile",
    [
        "classic",
        "strict",
        "no-integration-key",
        "some-without-integration",
        "disconnected-flag-only",
        "lazy-connection-actions",
    ],
)
def test_the_sdk_reads_every_answer(profile: str) -> None:
    with start_in_thread(SandboxConfig(profile=profile)) as sandbox:
        result = subprocess.run(
            ["node", "check.js", sandbox.url, sandbox.token],
            cwd=CONTRACT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith(", 0 failures")
