"""A `serve --transport http --sandbox --workers 2` subprocess, up once both workers accept."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.processes import spawn_http

WORKER_HEADER = "membrane-mcp-worker"
STARTING_LINE = re.compile(r"starting (\d+) workers \(pids ([\d, ]+)\)")


@dataclass
class WorkerServer:
    process: subprocess.Popen[bytes]
    url: str
    pids: list[int]


def worker_env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp")}


def start_workers(db: Path, workers: int = 2) -> WorkerServer:
    process, url = spawn_http(
        ["--sandbox", "--sandbox-db", str(db), "--workers", str(workers), "--log-level", "INFO"], worker_env()
    )
    assert process.stderr is not None
    while not (match := STARTING_LINE.search(process.stderr.readline().decode())):
        pass  # the parent logs the workers' pids before /healthz can answer, so this line is in the pipe
    pids = [int(pid) for pid in match.group(2).split(", ")]
    assert len(pids) == workers
    wait_until_every_worker_answers(url, workers)
    return WorkerServer(process, url, pids)


def wait_until_every_worker_answers(url: str, workers: int) -> None:
    """/healthz on fresh connections until each worker has answered once (the port spreads them)."""
    seen: set[str] = set()
    while len(seen) < workers:  # bounded by the test's timeout
        try:
            seen.add(httpx.get(f"{url}/healthz", timeout=5).headers[WORKER_HEADER])
        except httpx.TransportError:
            continue


def pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="module")
def two_workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerServer]:
    server = start_workers(tmp_path_factory.mktemp("workers") / "sandbox.sqlite3")
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)
        for pid in server.pids:
            if pid_exists(pid):
                os.kill(pid, 9)
