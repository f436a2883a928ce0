"""Everything the route handlers share: config, store, apps, tenants, change notification, builds."""

from __future__ import annotations

import asyncio
import json
import logging
import random
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from starlette.requests import Request

from ..apps.base import ActionSpec, App
from ..config import SandboxConfig
from .db import Store, dumps, now_iso, stable_id, unix_now

log = logging.getLogger(__name__)

SEED_INTEGRATIONS = ("vtiger", "1crm", "bigtincan")


class ClientGone(Exception):
    """The client closed the connection while a long-poll was open."""


class SandboxState:
    def __init__(self, config: SandboxConfig, apps: Mapping[str, App]):
        self.config = config
        self.apps: dict[str, App] = dict(apps)
        self.store = Store(config.db_path, config.seed)
        self.rng = random.Random(config.seed)
        self.burst_remaining = 0
        self.open_long_polls = 0
        self._changed = asyncio.Event()
        self._build_tasks: set[asyncio.Task[None]] = set()
        self._specs: dict[str, dict[str, ActionSpec]] = {}
        # Each action's listing view and its JSON, per action id, kept while its row and tenant stay the same.
        self.action_views: dict[str, tuple[tuple[Any, ...], str, dict[str, Any], str]] = {}
        with self.store.tx() as db:
            for app in self.apps.values():
                app.init_schema(db)
        self._sync_integration_actions()

    # -- integrations -------------------------------------------------------------------------

    def integration_id(self, key: str) -> str:
        return stable_id("integration", self.config.seed, key)

    def connector_id(self, key: str) -> str:
        return stable_id("connector", self.config.seed, key)

    def integration_view(self, key: str) -> dict[str, Any]:
        app = self.apps[key]
        return {"id": self.integration_id(key), "key": key, "name": app.name, "logoUri": app.logo_uri}

    def integration_by_id(self, integration_id: str) -> str | None:
        return next((key for key in self.apps if self.integration_id(key) == integration_id), None)

    def integration_by_connector_id(self, connector_id: str) -> str | None:
        return next((key for key in self.apps if self.connector_id(key) == connector_id), None)

    def builtin_specs(self, integration_key: str) -> dict[str, ActionSpec]:
        specs = self._specs.get(integration_key)
        if specs is None:
            specs = {spec.key: spec for spec in self.apps[integration_key].actions()}
            self._specs[integration_key] = specs
        return specs

    def spec_of(self, row: sqlite3.Row) -> ActionSpec | None:
        if row["spec"]:
            return ActionSpec(**json.loads(row["spec"]))
        return self.builtin_specs(row["integration_key"]).get(row["key"])

    @staticmethod
    def spec_json(spec: ActionSpec) -> str:
        return dumps(asdict(spec))

    def integration_action_id(self, integration_key: str, action_key: str) -> str:
        return stable_id("action", self.config.seed, integration_key, action_key)

    def _sync_integration_actions(self) -> None:
        """Integration-level actions and every connection's built-in instances follow the catalogs."""
        now = now_iso()
        with self.store.tx() as db:
            for integration_key in self.apps:
                for spec in self.builtin_specs(integration_key).values():
                    db.execute(
                        "INSERT OR IGNORE INTO sandbox_actions (id, integration_key, key, name, state, "
                        "created_at, updated_at) VALUES (?, ?, ?, ?, 'READY', ?, ?)",
                        (
                            self.integration_action_id(integration_key, spec.key),
                            integration_key,
                            spec.key,
                            spec.name,
                            now,
                            now,
                        ),
                    )
            rows = db.execute(
                "SELECT id, tenant_key, integration_key FROM sandbox_connections WHERE archived_at IS NULL"
            ).fetchall()
            for row in rows:
                if row["integration_key"] in self.apps and not self.config.has("lazy-connection-actions"):
                    self._create_instances(db, row["tenant_key"], row["id"], row["integration_key"], now)

    def _create_instances(
        self,
        db: sqlite3.Connection,
        tenant_key: str,
        connection_id: str,
        integration_key: str,
        now: str,
        only_key: str | None = None,
    ) -> None:
        """The connection's instances of its integration's built-in actions (or of one of them)."""
        specs = [s for s in self.builtin_specs(integration_key).values() if only_key in (None, s.key)]
        db.executemany(
            "INSERT OR IGNORE INTO sandbox_actions (id, tenant_key, connection_id, integration_key, key, "
            "name, parent_id, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'READY', ?, ?)",
            [
                (
                    stable_id("action-instance", self.config.seed, connection_id, spec.key),
                    tenant_key,
                    connection_id,
                    integration_key,
                    spec.key,
                    spec.name,
                    self.integration_action_id(integration_key, spec.key),
                    now,
                    now,
                )
                for spec in specs
            ],
        )

    def create_instance(self, connection: sqlite3.Row, parent: sqlite3.Row) -> None:
        """Under lazy-connection-actions, the instance a first run on a connection creates."""
        with self.store.tx() as db:
            self._create_instances(
                db,
                connection["tenant_key"],
                connection["id"],
                parent["integration_key"],
                now_iso(),
                parent["key"],
            )

    # -- tenants and connections -----------------------------------------------------------------

    def tenant(self, tenant_key: str) -> sqlite3.Row:
        """The tenant's row; a tenant key seen for the first time gets its seed connections."""
        with self.store.lock:
            row = self.store.db.execute(
                "SELECT * FROM sandbox_tenants WHERE key = ?", (tenant_key,)
            ).fetchone()
            if row is not None:
                return row
            self._provision(tenant_key)
            return self.store.db.execute(
                "SELECT * FROM sandbox_tenants WHERE key = ?", (tenant_key,)
            ).fetchone()

    def _provision(self, tenant_key: str) -> None:
        seed = self.config.seed
        now = now_iso()
        with self.store.tx() as db:
            db.execute(
                "INSERT INTO sandbox_tenants (key, id, user_id, created_at) VALUES (?, ?, ?, ?)",
                (tenant_key, stable_id("tenant", seed, tenant_key), stable_id("user", seed, tenant_key), now),
            )
            keys = [key for key in SEED_INTEGRATIONS if key in self.apps]
            keys += [key for key in self.apps if key not in SEED_INTEGRATIONS]
            for integration_key in keys:
                app = self.apps[integration_key]
                connection_id = stable_id("connection", seed, tenant_key, integration_key)
                self._insert_connection(
                    db, connection_id, tenant_key, integration_key, app.name, "READY", None, None
                )
                app.seed(db, connection_id, seed)
        log.info("provisioned tenant %r with %d connections", tenant_key, len(keys))

    def _insert_connection(
        self,
        db: sqlite3.Connection,
        connection_id: str,
        tenant_key: str,
        integration_key: str,
        name: str,
        state: str,
        key: str | None,
        connect_code: str | None,
    ) -> None:
        now = now_iso()
        db.execute(
            "INSERT INTO sandbox_connections (id, tenant_key, key, name, integration_key, state, "
            "connect_code, created_at, updated_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                connection_id,
                tenant_key,
                key,
                name,
                integration_key,
                state,
                connect_code,
                now,
                now,
                now if state == "READY" else None,
            ),
        )
        if not self.config.has("lazy-connection-actions"):
            self._create_instances(db, tenant_key, connection_id, integration_key, now)

    def create_connection(
        self, tenant_key: str, integration_key: str, name: str, key: str | None, connect_code: str
    ) -> str:
        with self.store.tx() as db:
            connection_id = self.store.next_id("connection")
            self._insert_connection(
                db,
                connection_id,
                tenant_key,
                integration_key,
                name,
                "CLIENT_ACTION_REQUIRED",
                key,
                connect_code,
            )
        return connection_id

    def complete_connect(self, connection_id: str, code: str) -> bool:
        with self.store.tx() as db:
            row = db.execute(
                "SELECT * FROM sandbox_connections WHERE id = ? AND archived_at IS NULL", (connection_id,)
            ).fetchone()
            if row is None or row["connect_code"] is None or row["connect_code"] != code:
                return False
            if row["state"] != "READY":
                now = now_iso()
                db.execute(
                    "UPDATE sandbox_connections SET state = 'READY', updated_at = ?, "
                    "last_active_at = ? WHERE id = ?",
                    (now, now, connection_id),
                )
                self.apps[row["integration_key"]].seed(db, connection_id, self.config.seed)
        self.notify()
        return True

    def start_reconnect(self, connection_id: str, code: str) -> None:
        """The user must sign in again: the connection waits in CLIENT_ACTION_REQUIRED on a new link."""
        with self.store.tx() as db:
            db.execute(
                "UPDATE sandbox_connections SET state = 'CLIENT_ACTION_REQUIRED', connect_code = ?, "
                "updated_at = ? WHERE id = ?",
                (code, now_iso(), connection_id),
            )
        self.notify()

    def complete_request(self, request_id: str, code: str) -> bool:
        """The user finished a connection request: reconnect its connection, or create a READY one."""
        with self.store.tx() as db:
            row = db.execute(
                "SELECT * FROM sandbox_connection_requests WHERE id = ? AND status = 'pending'", (request_id,)
            ).fetchone()
            if row is None or row["code"] != code:
                return False
            now = now_iso()
            integration_key = row["integration_key"]
            connection_id = row["connection_id"]
            if connection_id is not None:
                db.execute(
                    "UPDATE sandbox_connections SET state = 'READY', connect_code = NULL, updated_at = ?, "
                    "last_active_at = ? WHERE id = ?",
                    (now, now, connection_id),
                )
            else:
                connection_id = self.store.next_id("connection")
                name = row["name"] or self.apps[integration_key].name
                self._insert_connection(
                    db, connection_id, row["tenant_key"], integration_key, name, "READY", None, None
                )
            self.apps[integration_key].seed(db, connection_id, self.config.seed)
            db.execute(
                "UPDATE sandbox_connection_requests SET status = 'success', result_connection_id = ?, "
                "updated_at = ? WHERE id = ?",
                (connection_id, now, request_id),
            )
        self.notify()
        return True

    # -- change notification and long-polls --------------------------------------------------------

    def notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_until(self, request: Request, done: Callable[[], bool], seconds: float) -> None:
        """Block until ``done()`` holds or ``seconds`` pass; raise ClientGone if the client leaves."""
        if done():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self.open_long_polls += 1
        gone = asyncio.ensure_future(_client_disconnected(request))
        try:
            while not done():
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    finished, _ = await asyncio.wait(
                        {changed, gone}, timeout=remaining, return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                if gone in finished:
                    raise ClientGone
        finally:
            gone.cancel()
            self.open_long_polls -= 1

    # -- builds ----------------------------------------------------------------------------------------

    def schedule_build(self, action_id: str, ready_at: float) -> None:
        task = asyncio.get_running_loop().create_task(self._build_later(action_id, ready_at))
        self._build_tasks.add(task)
        task.add_done_callback(self._build_tasks.discard)

    async def _build_later(self, action_id: str, ready_at: float) -> None:
        await asyncio.sleep(max(0.0, ready_at - unix_now()))
        self.finish_build(action_id)

    def schedule_pending_builds(self) -> None:
        """On start: finish builds that fell due while the sandbox was down, schedule the rest."""
        self.finish_due_builds()
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT id, ready_at FROM sandbox_actions WHERE state = 'BUILDING'"
            ).fetchall()
        for row in rows:
            self.schedule_build(row["id"], row["ready_at"] or 0.0)

    def finish_due_builds(self) -> None:
        with self.store.lock:
            rows = self.store.db.execute(
                "SELECT id FROM sandbox_actions WHERE state = 'BUILDING' AND ready_at <= ?", (unix_now(),)
            ).fetchall()
        for row in rows:
            self.finish_build(row["id"])

    def finish_build(self, action_id: str) -> None:
        with self.store.tx() as db:
            row = db.execute("SELECT * FROM sandbox_actions WHERE id = ?", (action_id,)).fetchone()
            if row is None or row["state"] != "BUILDING":
                return
            app = self.apps.get(row["integration_key"])
            try:
                if app is None:
                    raise LookupError(f"integration {row['integration_key']!r} is gone")
                result = app.build_action(row["intent"])
            except Exception as exc:
                log.exception("build of action %s failed", action_id)
                errors = [{"type": "internal", "message": f"Build failed: {exc}"}]
                self._set_build_result(db, row, "SETUP_FAILED", errors=errors)
            else:
                if isinstance(result, ActionSpec):
                    self._set_build_result(db, row, "READY", spec=result)
                else:
                    errors = list(result) or [
                        {"type": "configuration", "message": "The action could not be built"}
                    ]
                    self._set_build_result(db, row, "CONFIGURATION_ERROR", errors=errors)
        self.notify()

    def _set_build_result(
        self,
        db: sqlite3.Connection,
        row: sqlite3.Row,
        state: str,
        *,
        spec: ActionSpec | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        key, name = row["key"], row["name"]
        if spec is not None:
            key = row["requested_key"] or self._unique_key(db, row["connection_id"], spec.key, row["id"])
            name = row["requested_name"] or spec.name
            spec = ActionSpec(**{**asdict(spec), "key": key, "name": name})
        db.execute(
            "UPDATE sandbox_actions SET state = ?, errors = ?, spec = ?, key = ?, name = ?, ready_at = NULL, "
            "revision = revision + 1, updated_at = ? WHERE id = ?",
            (
                state,
                dumps(errors or []),
                self.spec_json(spec) if spec else None,
                key,
                name,
                now_iso(),
                row["id"],
            ),
        )

    @staticmethod
    def _unique_key(db: sqlite3.Connection, connection_id: str, key: str, own_id: str) -> str:
        taken = {
            r["key"]
            for r in db.execute(
                "SELECT key FROM sandbox_actions WHERE connection_id = ? AND archived_at IS NULL AND id != ? "
                "AND key IS NOT NULL",
                (connection_id, own_id),
            )
        }
        candidate, n = key, 2
        while candidate in taken:
            candidate, n = f"{key}-{n}", n + 1
        return candidate

    async def shutdown(self) -> None:
        for task in list(self._build_tasks):
            task.cancel()
        self.store.close()


async def _client_disconnected(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
