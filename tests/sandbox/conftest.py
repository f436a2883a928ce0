"""Fixtures for the sandbox API contract tests: a fake app family and sandboxes over real HTTP."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.config import SandboxConfig
from membrane_sandbox.serve import RunningSandbox, start_in_thread

_OBJ = {"type": "object"}


def _schema(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required or [], **extra}


class FakeApp:
    """A small CRM with contacts, deals and tickets: enough to exercise the API layer alone."""

    def __init__(self, key: str, name: str):
        self.key = key
        self.name = name
        self.description = f"{name} CRM: contacts, deals (opportunities) and helpdesk tickets"
        self.logo_uri = f"https://static.example.test/{key}.png"
        self.base_url = f"https://{key}.example.test/api/v1"

    def actions(self) -> list[ActionSpec]:
        contact = _schema({"id": {"type": "string"}, "name": {"type": "string"}})
        return [
            ActionSpec(
                "list-contacts",
                "List Contacts",
                "Lists contacts a page at a time.",
                "list-data-records",
                _schema({"limit": {"type": "integer", "minimum": 1, "maximum": 100}}),
                _OBJ,
                {"op": "list", "object": "contacts"},
            ),
            ActionSpec(
                "get-contact",
                "Get Contact",
                "Finds one contact by id.",
                "find-data-record-by-id",
                _schema({"id": {"type": "string"}}, ["id"]),
                contact,
                {"op": "get", "object": "contacts"},
            ),
            ActionSpec(
                "create-contact",
                "Create Contact",
                "Creates a contact person.",
                "create-data-record",
                _schema(
                    {
                        "name": {"type": "string", "minLength": 1},
                        "email": {"type": "string"},
                        "status": {"enum": ["active", "inactive"]},
                    },
                    ["name"],
                    additionalProperties=False,
                ),
                contact,
                {"op": "create", "object": "contacts"},
            ),
            ActionSpec(
                "delete-contact",
                "Delete Contact",
                "Deletes a contact.",
                "delete-data-record",
                _schema({"id": {"type": "string"}}, ["id"]),
                _OBJ,
                {"op": "delete", "object": "contacts"},
            ),
            ActionSpec(
                "search-contacts",
                "Search Contacts",
                "Free-text search over contacts.",
                "search-data-record",
                _schema({"query": {"type": "string"}}, ["query"]),
                _OBJ,
                {"op": "list", "object": "contacts"},
            ),
            ActionSpec(
                "list-potentials",
                "List Potentials",
                "Lists sales pipeline records.",
                "list-data-records",
                _schema({}),
                _OBJ,
                {"op": "list", "object": "potentials"},
            ),
            ActionSpec(
                "create-potential",
                "Create Potential",
                "Creates a pipeline record.",
                "create-data-record",
                _schema({"name": {"type": "string"}, "amount": {"type": "number"}}, ["name", "amount"]),
                _OBJ,
                {"op": "create", "object": "potentials"},
            ),
            ActionSpec(
                "list-helpdesk",
                "List HelpDesk",
                "Lists support requests.",
                "list-data-records",
                _schema({}),
                _OBJ,
                {"op": "list", "object": "helpdesk"},
            ),
            ActionSpec(
                "fail",
                "Always Fail",
                "Fails on purpose.",
                "connector-operation",
                _schema({}),
                _OBJ,
                {"op": "fail"},
            ),
        ]

    def init_schema(self, db: sqlite3.Connection) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS fake_records "
            "(app TEXT, account TEXT, object TEXT, id TEXT, data TEXT)"
        )

    def seed(self, db: sqlite3.Connection, account: str, seed: int) -> None:
        if db.execute(
            "SELECT 1 FROM fake_records WHERE app = ? AND account = ?", (self.key, account)
        ).fetchone():
            return
        for i in range(5):
            data = {"id": f"c{i}", "name": f"Contact {i} (seed {seed})"}
            db.execute(
                "INSERT INTO fake_records VALUES (?, ?, 'contacts', ?, ?)",
                (self.key, account, f"c{i}", json.dumps(data)),
            )

    def _records(self, db: sqlite3.Connection, account: str, obj: str) -> list[dict[str, Any]]:
        rows = db.execute(
            "SELECT data FROM fake_records WHERE app = ? AND account = ? AND object = ? ORDER BY rowid",
            (self.key, account, obj),
        ).fetchall()
        return [json.loads(row[0]) for row in rows]

    def run(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        op, obj = action.impl.get("op"), action.impl.get("object", "")
        if op == "list":
            return {"records": self._records(db, account, obj)[: input.get("limit", 100)]}
        if op == "get":
            for record in self._records(db, account, obj):
                if record["id"] == input["id"]:
                    return record
            raise AppError(f"No contact with id {input['id']}", status=404, data={"id": input["id"]})
        if op == "create":
            record = {"id": f"n{db.execute('SELECT count(*) FROM fake_records').fetchone()[0]}", **input}
            db.execute(
                "INSERT INTO fake_records VALUES (?, ?, ?, ?, ?)",
                (self.key, account, obj, record["id"], json.dumps(record)),
            )
            return record
        if op == "delete":
            db.execute(
                "DELETE FROM fake_records WHERE app = ? AND account = ? AND id = ?",
                (self.key, account, input["id"]),
            )
            return {}
        if op == "count":
            return {"count": len(self._records(db, account, "contacts"))}
        # A write followed by a failure: the API layer must roll the write back.
        db.execute("INSERT INTO fake_records VALUES (?, ?, 'junk', 'x', '{}')", (self.key, account))
        raise AppError("This action always fails", data={"reason": "on purpose"})

    def proxy(
        self,
        db: sqlite3.Connection,
        account: str,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> ProxyResponse:
        if path == "/contacts" and method == "GET":
            payload: Any = {"data": self._records(db, account, "contacts")}
            return ProxyResponse(200, {"content-type": "application/json"}, json.dumps(payload).encode())
        if path.startswith("/echo"):
            payload = {
                "method": method,
                "path": path,
                "query": query,
                "headers": headers,
                "body": body.decode(),
                "account": account,
            }
            return ProxyResponse(
                201,
                {"content-type": "application/json", "x-fake-app": self.key},
                json.dumps(payload).encode(),
            )
        return ProxyResponse(404, {"content-type": "text/plain"}, b"not here")

    def build_action(self, intent: str) -> ActionSpec | list[dict[str, Any]]:
        if "spaceship" in intent.lower():
            return [
                {"type": "configuration", "key": "unknown_object", "message": "There is no spaceship object"}
            ]
        return ActionSpec(
            "count-contacts",
            "Count Contacts",
            f"Built from: {intent}",
            "connector-operation",
            _schema({}),
            _schema({"count": {"type": "integer"}}),
            {"op": "count"},
        )


def fake_apps() -> dict[str, FakeApp]:
    return {
        key: FakeApp(key, name)
        for key, name in (("vtiger", "Vtiger"), ("1crm", "1CRM"), ("bigtincan", "Bigtincan"))
    }


def client_for(sandbox: RunningSandbox, token: str | None = None) -> httpx.Client:
    return httpx.Client(
        base_url=sandbox.url, headers={"Authorization": f"Bearer {token or sandbox.token}"}, timeout=30
    )


@pytest.fixture(scope="session")
def sandbox() -> Iterator[RunningSandbox]:
    running = start_in_thread(SandboxConfig(build_seconds=0.3, profile="classic"), apps=fake_apps())
    yield running
    running.stop()


@pytest.fixture
def api(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with client_for(sandbox) as client:
        yield client


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., RunningSandbox]]:
    """Start function-scoped sandboxes (own config, own database); all are stopped afterwards."""
    started: list[RunningSandbox] = []

    def start(**overrides: Any) -> RunningSandbox:
        running = start_in_thread(
            SandboxConfig(**{"build_seconds": 0.2, "profile": "classic", **overrides}), apps=fake_apps()
        )
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


def connection_ids(client: httpx.Client) -> dict[str, str]:
    items = client.get("/connections").json()["items"]
    return {item["integrationKey"]: item["id"] for item in items}


def mint(
    sandbox: RunningSandbox, tenant_key: str, *, shape: str = "sdk", ttl: int = 3600, **extra: Any
) -> str:
    """An HS256 tenant token shaped as the SDK (``{iss, id}``) or the docs (``{workspaceKey, tenantKey}``)."""
    import time
    import warnings

    import jwt

    config = sandbox.config
    claims: dict[str, Any] = {"exp": int(time.time()) + ttl, **extra}
    if shape == "sdk":
        claims |= {"iss": config.workspace_key, "id": tenant_key}
    else:
        claims |= {"workspaceKey": config.workspace_key, "tenantKey": tenant_key}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jwt.InsecureKeyLengthWarning)
        return jwt.encode(claims, config.workspace_secret, algorithm="HS256")


@pytest.fixture
def tenant_api(sandbox: RunningSandbox, request: pytest.FixtureRequest) -> Iterator[httpx.Client]:
    """A client for a tenant of its own (named after the test), so writes don't leak between tests."""
    with client_for(sandbox, mint(sandbox, f"t-{request.node.name}")) as client:
        yield client
