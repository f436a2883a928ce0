"""Sandboxes of their own for tests, started from a copy of a database seeded once per session.

Seeding the demo records of the real apps costs 1-3 s of CPU per sandbox; copying a seeded database costs
milliseconds. The copy holds what a fresh sandbox would (same seed, so the same stable ids and records);
only the creation timestamps are those of the first sandbox of the session with that seed.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from membrane_sandbox.api import create_app
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread

_SHARED_MEMORY = Path("/dev/shm")
_folder: Path | None = None
_templates: dict[tuple[int, int, int], Path] = {}


def _work_folder() -> Path:
    global _folder
    if _folder is None:
        parent = _SHARED_MEMORY if _SHARED_MEMORY.is_dir() else None  # RAM-backed where there is one
        _folder = Path(tempfile.mkdtemp(prefix="membrane-test-sandboxes-", dir=parent))
        atexit.register(shutil.rmtree, _folder, True)
    return _folder


def _template(config: SandboxConfig) -> Path:
    """The database a sandbox with this seed and these synthetic apps starts with (built once)."""
    key = (config.seed, config.synthetic_connections, config.synthetic_actions)
    if key not in _templates:
        path = _work_folder() / f"template-{'-'.join(map(str, key))}.sqlite3"
        store = create_app(replace(config, db_path=str(path))).state.sandbox.store
        with store.lock:
            store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
        store.close()
        _templates[key] = path
    return _templates[key]


@contextmanager
def seeded_sandbox(config: SandboxConfig) -> Iterator[RunningSandbox]:
    """`start_in_thread(config)` with the real apps and an in-memory-like database of its own."""
    if config.db_path != ":memory:":
        raise ValueError("seeded_sandbox makes its own database; leave db_path at ':memory:'")
    handle, name = tempfile.mkstemp(suffix=".sqlite3", dir=_work_folder())
    os.close(handle)
    copy = Path(name)
    shutil.copyfile(_template(config), copy)
    try:
        with start_in_thread(replace(config, db_path=str(copy))) as running:
            yield running
    finally:
        for path in (copy, Path(f"{copy}-wal"), Path(f"{copy}-shm")):
            path.unlink(missing_ok=True)
