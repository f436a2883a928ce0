"""Generated CRUD apps for scale benchmarks: ``synth-NNN`` with exactly ``n_actions`` actions.

Objects come from a fixed vocabulary; an object's definition and its five actions are built once
per process and shared by every synthetic app that uses it, so 100 apps x 50 actions build fast.
Their REST API: ``GET|POST /v1/<plural>``, ``GET|PATCH|PUT|DELETE /v1/<plural>/<id>``.
"""

from __future__ import annotations

import sqlite3
from functools import cache
from typing import Any

from membrane_sandbox.apps import records
from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.apps.catalog import Catalog, FieldDef, ObjectDef
from membrane_sandbox.apps.catalog_app import CatalogApp
from membrane_sandbox.apps.proxy_util import BadBody, int_param, json_response, read_body, split_path
from membrane_sandbox.apps.schemas import crud_action

NOUNS = (
    "widget gadget order shipment invoice ticket task project asset contract lead opportunity campaign "
    "subscription product vendor warehouse device license meeting note survey booking reservation course "
    "lesson article comment review policy claim payment refund quote estimate employee candidate job "
    "application interview expense budget report dashboard alert incident release build repository "
    "environment server domain certificate document folder member team"
).split()
VERBS = ("list", "get", "create", "update", "delete")
SEED_PER_OBJECT = 20


def _plural(w: str) -> str:
    if w.endswith("y") and w[-2] not in "aeiou":
        return w[:-1] + "ies"
    if w.endswith(("s", "x", "ch", "sh")):
        return w + "es"
    return w + "s"


@cache
def _object(noun: str) -> ObjectDef:
    label = " ".join(p.capitalize() for p in _plural(noun).split("-"))
    fields = (
        FieldDef(name="id", label="ID", type="string", readonly=True),
        FieldDef(name="name", label="Name", type="string", required=True, gen="title"),
        FieldDef(name="status", label="Status", type="picklist", picklist=("active", "pending", "archived")),
        FieldDef(name="amount", label="Amount", type="currency", gen="amount"),
        FieldDef(name="owner_email", label="Owner Email", type="email"),
        FieldDef(name="due_date", label="Due Date", type="date"),
        FieldDef(name="notes", label="Notes", type="text"),
        FieldDef(name="createdAt", label="Created At", type="datetime", readonly=True),
        FieldDef(name="updatedAt", label="Updated At", type="datetime", readonly=True),
    )
    return ObjectDef(
        key=noun,
        label=label,
        singular=noun,
        plural=_plural(noun),
        fields=fields,
        name_field="name",
        seed_count=SEED_PER_OBJECT,
    )


@cache
def _actions(noun: str) -> tuple[ActionSpec, ...]:
    obj = _object(noun)
    return tuple(crud_action("Synthetic", obj, v, {"type": "string"}) for v in VERBS)


def _nouns(index: int, count: int) -> list[str]:
    out = []
    for j in range(count):
        base = NOUNS[(index * 7 + j) % len(NOUNS)]
        rnd = j // len(NOUNS)
        out.append(base if rnd == 0 else f"{base}-{rnd + 1}")
    return out


def build_catalog(index: int, n_actions: int) -> Catalog:
    if n_actions < 0:
        raise ValueError("n_actions must be >= 0")
    nouns = _nouns(index, -(-n_actions // len(VERBS)))
    objs = tuple(_object(n) for n in nouns)
    actions = [a for n in nouns for a in _actions(n)][:n_actions]
    return Catalog(
        key=f"synth-{index:03d}",
        name=f"Synthetic {index}",
        description=f"A generated CRUD app (#{index}) with {len(objs)} objects, for scale benchmarks.",
        logo_uri="https://static.integration.app/connectors/synthetic/logo.png",
        base_url=f"https://synth-{index:03d}.example.com/api",
        objects=objs,
        actions=tuple(actions),
    )


class SyntheticApp(CatalogApp):
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
        parts = split_path(path)
        method = method.upper()
        obj = (
            next((o for o in self.catalog.objects if parts[1:2] == [o.plural]), None)
            if parts[:1] == ["v1"]
            else None
        )
        if obj is None or len(parts) > 3:
            return json_response(
                404, {"error": "not_found", "message": f"No route {method} /{'/'.join(parts)}"}
            )
        try:
            with records.write(db):
                return self._route(
                    db, account, obj, method, parts[2] if len(parts) == 3 else None, query, headers, body
                )
        except BadBody as e:
            return json_response(400, {"error": "bad_request", "message": str(e)})
        except AppError as e:
            return json_response(
                e.status, {"error": "not_found" if e.status == 404 else "bad_request", "message": e.message}
            )

    def _route(
        self,
        db: sqlite3.Connection,
        account: str,
        obj: ObjectDef,
        method: str,
        rid: str | None,
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> ProxyResponse:
        if rid is None and method == "GET":
            limit = int_param(query, "limit", 20, 1, 100)
            rows = records.scan(db, account, self.key, obj.key)
            out: dict[str, Any] = self.page_of(
                rows, {"limit": limit, "cursor": dict(query).get("cursor")}, None
            )
            return json_response(200, {"data": out["records"], "next_cursor": out.get("cursor")})
        if rid is None and method == "POST":
            values = self.check_values(db, account, obj, read_body(headers, body), creating=True)
            return json_response(201, {"data": self.insert_record(db, account, obj, values)})
        if rid is not None and method == "GET":
            return json_response(200, {"data": self.load(db, account, obj, rid)})
        if rid is not None and method in ("PATCH", "PUT"):
            values = self.check_values(db, account, obj, read_body(headers, body), creating=False)
            return json_response(200, {"data": self.patch_record(db, account, obj, rid, values)})
        if rid is not None and method == "DELETE":
            self.load(db, account, obj, rid)
            records.delete(db, account, self.key, obj.key, rid)
            return json_response(200, {"data": {"id": rid, "deleted": True}})
        return json_response(405, {"error": "method_not_allowed", "message": f"{method} not allowed"})


@cache
def synthetic_app(index: int, n_actions: int) -> SyntheticApp:
    return SyntheticApp(build_catalog(index, n_actions))
