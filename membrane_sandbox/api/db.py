"""The sandbox's own SQLite tables (the apps keep their records in tables of their own)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS sandbox_counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sandbox_tenants (
    key TEXT PRIMARY KEY,
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sandbox_connections (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_key TEXT NOT NULL,
    key TEXT,
    name TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    state TEXT NOT NULL,
    connect_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    last_active_at TEXT,
    archived_at TEXT
);
CREATE INDEX IF NOT EXISTS sandbox_connections_tenant ON sandbox_connections (tenant_key, seq);
CREATE TABLE IF NOT EXISTS sandbox_actions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_key TEXT,              -- NULL for integration-level actions (workspace elements)
    connection_id TEXT,           -- NULL for integration-level actions
    integration_key TEXT NOT NULL,
    key TEXT,
    name TEXT NOT NULL,
    parent_id TEXT,               -- the integration-level action a built-in instance comes from
    spec TEXT,                    -- ActionSpec JSON of built actions; built-ins read the app's catalog
    state TEXT NOT NULL,
    errors TEXT NOT NULL DEFAULT '[]',
    intent TEXT,
    agent_session_id TEXT,
    ready_at REAL,                -- when a BUILDING action's build is due (unix time)
    requested_name TEXT,
    requested_key TEXT,
    revision INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    archived_at TEXT
);
CREATE INDEX IF NOT EXISTS sandbox_actions_connection ON sandbox_actions (connection_id, seq);
CREATE INDEX IF NOT EXISTS sandbox_actions_integration ON sandbox_actions (integration_key, seq);
CREATE INDEX IF NOT EXISTS sandbox_actions_state ON sandbox_actions (state);
CREATE TABLE IF NOT EXISTS sandbox_action_runs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_key TEXT NOT NULL,
    action_id TEXT NOT NULL,
    connection_id TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    action TEXT NOT NULL,         -- snapshot of the action as the API showed it
    input TEXT NOT NULL,
    output TEXT,
    error TEXT,
    status TEXT NOT NULL,         -- success | error
    created_at TEXT NOT NULL,
    completed_at TEXT,
    duration_ms REAL,
    details TEXT                  -- the exchange with the app, shown with ?details=true
);
CREATE TABLE IF NOT EXISTS sandbox_connection_requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    tenant_key TEXT NOT NULL,
    integration_key TEXT NOT NULL,
    connection_id TEXT,           -- the connection to reconnect, if any
    name TEXT,
    code TEXT NOT NULL,           -- the secret in the request's url
    status TEXT NOT NULL,         -- pending | success | cancelled | error
    result_connection_id TEXT,
    result_error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
"""

# Columns added after a table's first release: databases made by an older sandbox get them on open.
ADDED_COLUMNS = {
    "sandbox_action_runs": {"completed_at": "TEXT", "duration_ms": "REAL", "details": "TEXT"},
}


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def stable_id(*parts: object) -> str:
    """A 24-hex-char id (the length of Membrane's Mongo ObjectIds), derived from its parts."""
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:24]


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


class Store:
    """One SQLite connection shared by the event loop thread and the app code it calls.

    The lock serialises access: the sandbox runs on one event loop, but `start_in_thread`
    callers (tests) may read the database from another thread.
    """

    def __init__(self, path: str, seed: int):
        self.path = path
        self.seed = seed
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.db.row_factory = sqlite3.Row
        if path != ":memory:" and not path.startswith("file::memory:"):
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.lock = threading.RLock()
        with self.lock:
            self.db.executescript(SCHEMA)
            for table, columns in ADDED_COLUMNS.items():
                present = {row["name"] for row in self.db.execute(f"PRAGMA table_info({table})")}
                for column, kind in columns.items():
                    if column not in present:
                        self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            self.db.commit()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """Run a unit of work under the lock: commit on success, roll back on error."""
        with self.lock:
            try:
                yield self.db
            except BaseException:
                self.db.rollback()
                raise
            else:
                self.db.commit()

    def next_id(self, kind: str) -> str:
        """Deterministic from the seed and creation order; the sequence persists with the database."""
        with self.lock:
            row = self.db.execute(
                "SELECT value FROM sandbox_counters WHERE name = ?", (f"id:{kind}",)
            ).fetchone()
            n = (row["value"] if row else 0) + 1
            self.db.execute(
                "INSERT INTO sandbox_counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                (f"id:{kind}", n),
            )
            return stable_id("sandbox", self.seed, kind, n)

    def bump(self, name: str, by: int = 1) -> None:
        with self.lock:
            self.db.execute(
                "INSERT INTO sandbox_counters (name, value) VALUES (?, ?) "
                "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                (name, by),
            )
            self.db.commit()

    def counters(self, prefix: str) -> dict[str, int]:
        with self.lock:
            rows = self.db.execute(
                "SELECT name, value FROM sandbox_counters WHERE name LIKE ?", (prefix + "%",)
            ).fetchall()
        return {row["name"][len(prefix) :]: row["value"] for row in rows}

    def close(self) -> None:
        with self.lock:
            self.db.close()


def unix_now() -> float:
    return time.time()
