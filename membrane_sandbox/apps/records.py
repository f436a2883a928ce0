"""One generic records store in SQLite, shared by every app.

Rows are ``(account, app, object, id) -> data JSON`` plus a per-object sequence that gives
new records their number. Filtering and sorting happen in Python over one object's rows:
objects hold hundreds of records, which keeps this simple and fast enough, and lets each app
plug in its own filter language (Vtiger's query, 1CRM's filters, ...).

Writes commit unless the caller already had a transaction open (then the caller owns it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

Record = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS app_records (
    account TEXT NOT NULL,
    app TEXT NOT NULL,
    object TEXT NOT NULL,
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    data TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account, app, object, id)
);
CREATE INDEX IF NOT EXISTS app_records_seq ON app_records (account, app, object, seq);
CREATE TABLE IF NOT EXISTS app_sequences (
    account TEXT NOT NULL,
    app TEXT NOT NULL,
    object TEXT NOT NULL,
    last INTEGER NOT NULL,
    PRIMARY KEY (account, app, object)
);
CREATE TABLE IF NOT EXISTS app_seeds (
    account TEXT NOT NULL,
    app TEXT NOT NULL,
    seed INTEGER NOT NULL,
    PRIMARY KEY (account, app)
);
"""


def init_schema(db: sqlite3.Connection) -> None:
    with write(db):
        for stmt in _SCHEMA.split(";"):
            if stmt.strip():
                db.execute(stmt)


@contextmanager
def write(db: sqlite3.Connection) -> Iterator[None]:
    """Commit (or roll back) our writes, unless the caller's transaction was already open."""
    owned = not db.in_transaction
    try:
        yield
    except BaseException:
        if owned and db.in_transaction:
            db.rollback()
        raise
    if owned and db.in_transaction:
        db.commit()


def claim_seed(db: sqlite3.Connection, account: str, app: str, seed: int) -> bool:
    """Mark ``(account, app)`` as seeded; False if it already was."""
    cur = db.execute(
        "INSERT OR IGNORE INTO app_seeds (account, app, seed) VALUES (?, ?, ?)", (account, app, seed)
    )
    return cur.rowcount == 1


def insert_many(
    db: sqlite3.Connection,
    account: str,
    app: str,
    obj: str,
    rows: Iterable[tuple[str, int, Record, str, str]],
) -> None:
    """Bulk insert ``(id, seq, data, created_at, updated_at)`` rows and move the sequence past them."""
    params = [(account, app, obj, rid, seq, json.dumps(data), c, u) for rid, seq, data, c, u in rows]
    if not params:
        return
    db.executemany("INSERT INTO app_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)", params)
    top = max(p[4] for p in params)
    db.execute(
        "INSERT INTO app_sequences VALUES (?, ?, ?, ?) "
        "ON CONFLICT (account, app, object) DO UPDATE SET last = max(last, excluded.last)",
        (account, app, obj, top),
    )


def next_seq(db: sqlite3.Connection, account: str, app: str, obj: str) -> int:
    row = db.execute(
        "INSERT INTO app_sequences VALUES (?, ?, ?, 1) "
        "ON CONFLICT (account, app, object) DO UPDATE SET last = last + 1 RETURNING last",
        (account, app, obj),
    ).fetchone()
    return int(row[0])


def insert(
    db: sqlite3.Connection, account: str, app: str, obj: str, rid: str, seq: int, data: Record, now: str
) -> None:
    db.execute(
        "INSERT INTO app_records VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (account, app, obj, rid, seq, json.dumps(data), now, now),
    )


def get(db: sqlite3.Connection, account: str, app: str, obj: str, rid: str) -> Record | None:
    row = db.execute(
        "SELECT data FROM app_records WHERE account = ? AND app = ? AND object = ? AND id = ?",
        (account, app, obj, rid),
    ).fetchone()
    return json.loads(row[0]) if row else None


def replace(
    db: sqlite3.Connection, account: str, app: str, obj: str, rid: str, data: Record, now: str
) -> bool:
    cur = db.execute(
        "UPDATE app_records SET data = ?, updated_at = ? WHERE account = ? AND app = ? AND object = "
        "? AND id = ?",
        (json.dumps(data), now, account, app, obj, rid),
    )
    return cur.rowcount == 1


def delete(db: sqlite3.Connection, account: str, app: str, obj: str, rid: str) -> bool:
    cur = db.execute(
        "DELETE FROM app_records WHERE account = ? AND app = ? AND object = ? AND id = ?",
        (account, app, obj, rid),
    )
    return cur.rowcount == 1


def scan(db: sqlite3.Connection, account: str, app: str, obj: str, limit: int | None = None) -> list[Record]:
    """Every record of one object (the first `limit` when given), oldest first."""
    rows = db.execute(
        "SELECT data FROM app_records WHERE account = ? AND app = ? AND object = ? ORDER BY seq LIMIT ?",
        (account, app, obj, -1 if limit is None else limit),
    ).fetchall()
    return [json.loads(r[0]) for r in rows]


def count(db: sqlite3.Connection, account: str, app: str, obj: str | None = None) -> int:
    if obj is None:
        row = db.execute(
            "SELECT count(*) FROM app_records WHERE account = ? AND app = ?", (account, app)
        ).fetchone()
    else:
        row = db.execute(
            "SELECT count(*) FROM app_records WHERE account = ? AND app = ? AND object = ?",
            (account, app, obj),
        ).fetchone()
    return int(row[0])


def _sort_key(value: Any) -> tuple[int, Any]:
    # Numbers (or numeric strings, as Vtiger sends them) sort numerically, then text, then empties last.
    if value is None or value == "":
        return (2, "")
    if isinstance(value, bool):
        return (0, float(value))
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        try:
            return (0, float(value))
        except ValueError:
            return (1, value.casefold())
    return (1, json.dumps(value))


def select(
    records: list[Record],
    where: Callable[[Record], bool] | None = None,
    order: list[tuple[str, bool]] | None = None,
) -> list[Record]:
    """Filter, then sort by ``[(field, descending), ...]`` (stable, empties last either way)."""
    out = [r for r in records if where(r)] if where else list(records)
    for fname, desc in reversed(order or []):
        filled = [r for r in out if r.get(fname) not in (None, "")]
        empty = [r for r in out if r.get(fname) in (None, "")]
        filled.sort(key=lambda r, f=fname: _sort_key(r.get(f)), reverse=desc)  # type: ignore[misc]
        out = filled + empty
    return out


def page(records: list[Record], cursor: str | None, limit: int) -> tuple[list[Record], str | None]:
    """Slice one page; the cursor is the next offset as an opaque string."""
    start = decode_cursor(cursor)
    chunk = records[start : start + limit]
    nxt = start + limit
    return chunk, (str(nxt) if nxt < len(records) else None)


def decode_cursor(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    try:
        n = int(str(cursor))
    except ValueError:
        raise ValueError(f"invalid cursor {cursor!r}") from None
    if n < 0:
        raise ValueError(f"invalid cursor {cursor!r}")
    return n
