"""The Dockerfile (CI has no Docker engine to build it): what it copies exists, its base is pinned,
its health check asks for readiness, and .dockerignore keeps local state out of the build context."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_base_image_is_pinned_to_an_exact_version():
    base = re.search(r"^FROM (\S+)", DOCKERFILE, re.M)
    assert base is not None
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1)), base.group(1)


def test_everything_copied_exists():
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M):
        *sources, _target = line.split()
        for source in sources:
            assert (ROOT / source).exists(), source


def test_healthcheck_waits_for_readiness_after_a_start_period():
    check = DOCKERFILE[DOCKERFILE.index("HEALTHCHECK") :]
    assert "/readyz" in check.splitlines()[1] or "/readyz" in check.splitlines()[0]
    assert re.search(r"--start-period=\d+s", check)


def test_dockerignore_keeps_local_state_out():
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    ignored = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    for name in (".git", ".venv", ".tools", "tests"):
        assert name in ignored
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, re.M):
        assert not set(line.split()[:-1]) & set(ignored)
