"""The contract between the sandbox's Membrane API layer and the apps behind it.

The API layer (``membrane_sandbox.api``) knows Membrane's REST surface: tokens,
connections, actions, runs, paging, faults. An :class:`App` knows one SaaS product:
its objects, its records in SQLite, how each of its actions runs and how its own
REST API answers a proxied request. Neither imports the other's internals.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class ActionSpec:
    """One action of an app, as the app's catalog file declares it."""

    key: str  # kebab case, e.g. "query-records", "list-contacts"
    name: str  # e.g. "Query Records"
    description: str
    type: str  # a Membrane ActionType, e.g. "list-data-records", "connector-operation"
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    impl: dict[str, Any] = field(default_factory=dict)  # opaque to the API layer


@dataclass(frozen=True)
class ProxyResponse:
    """What the app's own REST API answers, passed through verbatim by the proxy."""

    status: int
    headers: dict[str, str]
    body: bytes


class AppError(Exception):
    """An action run that the app refused or failed (bad record id, bad query...).

    The API layer turns it into Membrane's error envelope with ``type="action_run"``.
    """

    def __init__(self, message: str, *, status: int = 400, data: dict[str, Any] | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.data = data or {}


class App(Protocol):
    key: str  # "vtiger", "1crm", "bigtincan": the connector and integration key
    name: str  # "Vtiger", "1CRM", "Bigtincan"
    description: str
    logo_uri: str
    base_url: str  # the app API's base URL that Membrane's proxy prepends

    def actions(self) -> list[ActionSpec]:
        """Every built-in action, in catalog order."""
        ...

    def init_schema(self, db: sqlite3.Connection) -> None:
        """Create this app's tables if missing (idempotent)."""
        ...

    def seed(self, db: sqlite3.Connection, account: str, seed: int) -> None:
        """Fill one account (a connection id) with deterministic records, once."""
        ...

    def run(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        """Run an action for one account; returns the action's output or raises AppError."""
        ...

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
        """Answer a request to the app's own REST API, as the real app would."""
        ...

    def build_action(self, intent: str) -> ActionSpec | list[dict[str, Any]]:
        """Turn a plain-language intent into a new action, or a list of Membrane ErrorData
        (``{type: "configuration", key, message}``) when the app has no such object or verb."""
        ...
