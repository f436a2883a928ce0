"""1CRM: per-object actions, app-level operations, and 1CRM's REST API (``/api.php/data/<Model>``).

Quirks: ids are UUIDs; times are ``YYYY-MM-DD HH:MM:SS``; list endpoints page with
``offset``/``limit`` (max 200) and answer ``{records, total_results, offset, limit}``; errors are
``{"error": {"code", "message"}}``.
"""

from __future__ import annotations

import csv
import io
import random
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from membrane_sandbox.apps import records
from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.apps.catalog import FieldDef, ObjectDef
from membrane_sandbox.apps.catalog_app import CatalogApp, project
from membrane_sandbox.apps.catalog_file import load_catalog
from membrane_sandbox.apps.fake import Context
from membrane_sandbox.apps.proxy_util import (
    BadBody,
    first,
    int_param,
    json_response,
    read_body,
    split_path,
)
from membrane_sandbox.apps.records import Record

_NS = uuid.UUID("6f1c2d3e-4b5a-4c6d-8e7f-1234567890ab")
_SEEDED_AT = "2023-01-02 09:00:00"
API_MAX_LIMIT = 200
CURRENT_USER_SEQ = 1


class OneCrmApp(CatalogApp):
    id_schema = {"type": "string"}
    created_field = "date_entered"
    modified_field = "date_modified"

    def format_id(self, obj: ObjectDef, seq: int) -> str:
        return obj.extra.get("singleton_id") or str(uuid.uuid5(_NS, f"{obj.key}:{seq}"))

    def format_time(self, t: datetime) -> str:
        return t.replace(tzinfo=None).isoformat(" ", "seconds")

    def system_fields(self, obj: ObjectDef) -> frozenset[str]:
        ro_seq = {f.name for f in obj.fields if f.readonly and f.gen and f.gen.startswith("seq:")}
        return frozenset({"id", "date_entered", "date_modified", *ro_seq})

    def finish_seed_record(self, obj: ObjectDef, rec: Record, ctx: Context) -> None:
        for f in obj.fields:
            if f.readonly and f.gen and f.gen.startswith("seq:"):
                rec[f.name] = f"{f.gen[4:]}{1000 + ctx.seq}"
        if obj.key == "User" and ctx.seq == CURRENT_USER_SEQ:
            rec.update(
                first_name="Sam",
                last_name="Admin",
                user_name="admin",
                email1="admin@example.com",
                is_admin=True,
                status="Active",
            )

    def on_create(self, db: sqlite3.Connection, account: str, obj: ObjectDef, rec: Record) -> None:
        if obj.field("assigned_user_id") and not rec.get("assigned_user_id"):
            rec["assigned_user_id"] = self.format_id(self.catalog.object_map()["User"], CURRENT_USER_SEQ)
        for f in obj.fields:
            if f.readonly and f.gen and f.gen.startswith("seq:"):
                rec[f.name] = f"{f.gen[4:]}{1000 + records.count(db, account, self.key, obj.key) + 1}"

    def seed_object(
        self, obj: ObjectDef, rng: random.Random, ref_ids: dict[str, list[Any]]
    ) -> list[tuple[str, int, Record, str, str]]:
        if obj.key == "Layout":
            return self._metadata_rows(obj, self._layouts())
        if obj.key == "Picklist":
            return self._metadata_rows(obj, self._picklists())
        return super().seed_object(obj, rng, ref_ids)

    def _data_objects(self) -> list[ObjectDef]:
        return [
            o
            for o in self.catalog.objects
            if o.key not in ("Layout", "Picklist") and "singleton_id" not in o.extra
        ]

    def _layouts(self) -> list[Record]:
        out = []
        for o in self._data_objects():
            for view in ("detail", "edit", "list"):
                names = [f.name for f in o.fields if view != "edit" or not f.readonly]
                if view == "list":
                    names = [
                        o.name_field,
                        *[f.name for f in o.fields if f.type in ("picklist", "reference")][:4],
                    ]
                out.append({"name": f"{o.key} {view} view", "module": o.key, "view": view, "fields": names})
        return out

    def _picklists(self) -> list[Record]:
        return [
            {"name": f"{o.key}.{f.name}", "module": o.key, "field": f.name, "options": list(f.picklist)}
            for o in self.catalog.objects
            for f in o.fields
            if f.type == "picklist" and f.picklist and o.key not in ("Layout", "Picklist")
        ]

    def _metadata_rows(self, obj: ObjectDef, rows: list[Record]) -> list[tuple[str, int, Record, str, str]]:
        out = []
        for seq, data in enumerate(rows, start=1):
            rec = {
                "id": self.format_id(obj, seq),
                **data,
                "date_entered": _SEEDED_AT,
                "date_modified": _SEEDED_AT,
            }
            out.append((rec["id"], seq, rec, _SEEDED_AT, _SEEDED_AT))
        return out

    # ---- app-level operations ----------------------------------------------------------------

    def model(self, name: Any) -> ObjectDef:
        obj = self.catalog.object(str(name or ""))
        if obj is None:
            raise AppError(
                f"1CRM has no model {name!r}",
                status=400,
                data={"models": [o.key for o in self._data_objects()]},
            )
        return obj

    def op_global_search(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        text = str(input.get("query") or "").strip()
        if not text:
            raise AppError("query must not be empty", status=400)
        limit = max(1, min(int(input.get("limit") or 20), 100))
        wanted = input.get("models") or [o.key for o in self.catalog.objects if o.searchable]
        needle = text.casefold()
        hits: list[tuple[int, dict[str, Any]]] = []
        for m in wanted:
            obj = self.model(m)
            names = [f.name for f in obj.fields if f.type in ("string", "email", "phone", "text")]
            for r in records.scan(db, account, self.key, obj.key):
                for n in names:
                    v = str(r.get(n) or "")
                    if needle in v.casefold():
                        rank = 0 if n == obj.name_field or v.casefold().startswith(needle) else 1
                        hits.append(
                            (
                                rank,
                                {
                                    "model": obj.key,
                                    "id": r["id"],
                                    "name": _name(obj, r),
                                    "matched_field": n,
                                    "snippet": v[:160],
                                },
                            )
                        )
                        break
        hits.sort(key=lambda h: h[0])
        return {"results": [h for _, h in hits[:limit]]}

    def op_import(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.model(input.get("model"))
        dedupe = input.get("skip_duplicates_by")
        if dedupe and obj.field(dedupe) is None:
            raise AppError(f"{obj.label} has no field {dedupe!r}", status=400)
        seen = (
            {str(r[dedupe]).casefold() for r in records.scan(db, account, self.key, obj.key) if r.get(dedupe)}
            if dedupe
            else set()
        )
        ids, errors, skipped = [], [], 0
        for i, row in enumerate(input.get("records") or []):
            if not isinstance(row, dict):
                errors.append({"row": i, "message": "not an object"})
                continue
            if dedupe and row.get(dedupe) and str(row[dedupe]).casefold() in seen:
                skipped += 1
                continue
            try:
                rec = self.insert_record(
                    db, account, obj, self.check_values(db, account, obj, row, creating=True)
                )
            except AppError as e:
                errors.append({"row": i, "message": e.message})
                continue
            ids.append(rec["id"])
            if dedupe and rec.get(dedupe):
                seen.add(str(rec[dedupe]).casefold())
        return {"created": len(ids), "skipped": skipped, "ids": ids, "errors": errors}

    def op_export(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.model(input.get("model"))
        fields = input.get("fields") or [f.name for f in obj.fields]
        bad = [f for f in fields if obj.field(f) is None]
        if bad:
            raise AppError(f"{obj.label} has no field(s) {', '.join(bad)}", status=400)
        rows = records.select(
            records.scan(db, account, self.key, obj.key), self.matcher(obj, input.get("filters"))
        )
        rows = rows[: int(input.get("max_records") or 1000)]
        if input.get("format") == "json":
            return {"format": "json", "count": len(rows), "records": [project(r, fields) for r in rows]}
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(fields)
        for r in rows:
            w.writerow(
                [
                    "" if r.get(f) is None else (";".join(r[f]) if isinstance(r[f], list) else r[f])
                    for f in fields
                ]
            )
        return {"format": "csv", "count": len(rows), "csv": buf.getvalue()}

    def op_mass_update(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.model(input.get("model"))
        values = self.check_values(db, account, obj, dict(input.get("values") or {}), creating=False)
        if not values:
            raise AppError("values must set at least one field", status=400)
        if input.get("ids"):
            targets = [str(i) for i in input["ids"]]
            for t in targets:
                self.load(db, account, obj, t)
        elif input.get("filters"):
            rows = records.select(
                records.scan(db, account, self.key, obj.key), self.matcher(obj, input["filters"])
            )
            targets = [r["id"] for r in rows]
        else:
            raise AppError("give ids or filters to choose the records to update", status=400)
        for t in targets:
            self.patch_record(db, account, obj, t, values)
        return {"updated": len(targets), "ids": targets}

    def _link_field(self, parent: ObjectDef, child: ObjectDef) -> FieldDef:
        for f in child.fields:
            if parent.key in f.ref and not f.readonly:
                return f
        raise AppError(
            f"1CRM has no relationship from {parent.label} to {child.label}",
            status=400,
            data={"model": parent.key, "related_model": child.key},
        )

    def op_related(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        parent, child = self.model(input.get("model")), self.model(input.get("related_model"))
        f = self._link_field(parent, child)
        pid = str(input.get("id"))
        self.load(db, account, parent, pid)
        rows = [r for r in records.scan(db, account, self.key, child.key) if r.get(f.name) == pid]
        return self.page_of(rows, input, None)

    def _set_link(
        self, db: sqlite3.Connection, account: str, input: dict[str, Any], value: str | None
    ) -> Record:
        parent, child = self.model(input.get("model")), self.model(input.get("related_model"))
        f = self._link_field(parent, child)
        pid, cid = str(input.get("id")), str(input.get("related_id"))
        self.load(db, account, parent, pid)
        current = self.load(db, account, child, cid)
        if value is None and current.get(f.name) != pid:
            raise AppError(f"{child.label} record {cid} is not linked to {parent.label} {pid}", status=400)
        return self.patch_record(db, account, child, cid, {f.name: value if value is None else pid})

    def op_link(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        return self._set_link(db, account, input, str(input.get("id")))

    def op_unlink(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        return self._set_link(db, account, input, None)

    # ---- REST API ----------------------------------------------------------------------------

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
        if parts[:1] == ["api.php"]:
            parts = parts[1:]
        method = method.upper()
        try:
            with records.write(db):
                return self._route(db, account, method, parts, query, headers, body)
        except BadBody as e:
            return _error(400, "invalid_request", str(e))
        except AppError as e:
            return _error(e.status, "not_found" if e.status == 404 else "invalid_request", e.message, e.data)

    def _route(
        self,
        db: sqlite3.Connection,
        account: str,
        method: str,
        parts: list[str],
        query: list[tuple[str, str]],
        headers: dict[str, str],
        body: bytes,
    ) -> ProxyResponse:
        if parts == ["me"] and method == "GET":
            user = self.catalog.object_map()["User"]
            return json_response(
                200, {"record": self.load(db, account, user, self.format_id(user, CURRENT_USER_SEQ))}
            )
        if parts == ["search"] and method == "GET":
            text = first(query, "query") or first(query, "q") or ""
            models = [m for m in (first(query, "models") or "").split(",") if m]
            limit = int_param(query, "limit", 20, 1, 100)
            inp = {"query": text, "limit": limit, **({"models": models} if models else {})}
            return json_response(200, self.op_global_search(db, account, self._dummy, inp))
        if len(parts) < 2 or parts[0] != "data":
            return _error(404, "not_found", f"Unknown API endpoint /api.php/{'/'.join(parts)}")
        obj = self.catalog.object(parts[1])
        if obj is None:
            return _error(404, "not_found", f"Unknown model {parts[1]!r}")
        if len(parts) == 2 and method == "GET":
            return json_response(200, self._api_list(db, account, obj, query))
        if len(parts) == 2 and method == "POST":
            data = read_body(headers, body)
            values = data.get("data", data) if isinstance(data.get("data", data), dict) else {}
            if "create" not in obj.ops:
                return _error(405, "method_not_allowed", f"{obj.label} cannot be created")
            rec = self.insert_record(
                db, account, obj, self.check_values(db, account, obj, values, creating=True)
            )
            return json_response(200, {"id": rec["id"]})
        if len(parts) == 3:
            rid = parts[2]
            if method == "GET":
                fields = _fields_param(query)
                return json_response(200, {"record": project(self.load(db, account, obj, rid), fields)})
            if method in ("PATCH", "PUT"):
                if "update" not in obj.ops:
                    return _error(405, "method_not_allowed", f"{obj.label} cannot be updated")
                data = read_body(headers, body)
                values = data.get("data", data)
                if not isinstance(values, dict):
                    raise BadBody("data must be an object")
                self.patch_record(
                    db, account, obj, rid, self.check_values(db, account, obj, values, creating=False)
                )
                return json_response(200, {"result": True})
            if method == "DELETE":
                if "delete" not in obj.ops:
                    return _error(405, "method_not_allowed", f"{obj.label} cannot be deleted")
                self.load(db, account, obj, rid)
                records.delete(db, account, self.key, obj.key, rid)
                return json_response(200, {"result": True})
        return _error(
            405 if len(parts) <= 3 else 404,
            "method_not_allowed" if len(parts) <= 3 else "not_found",
            f"{method} /api.php/{'/'.join(parts)} is not supported",
        )

    def _api_list(
        self, db: sqlite3.Connection, account: str, obj: ObjectDef, query: list[tuple[str, str]]
    ) -> Any:
        offset = int_param(query, "offset", 0, 0, 10**9)
        limit = int_param(query, "limit", 20, 1, API_MAX_LIMIT)
        filters = {k[8:-1]: v for k, v in query if k.startswith("filters[") and k.endswith("]")}
        where = self.matcher(obj, filters)
        text = first(query, "query") or first(query, "filter_text")
        rows = records.scan(db, account, self.key, obj.key)
        if text:
            tm = self.text_matcher(obj, text)
            rows = [r for r in rows if tm(r)]
        order: list[tuple[str, bool]] = []
        if first(query, "order"):
            col, _, direction = str(first(query, "order")).partition(" ")
            if obj.field(col) is None:
                raise AppError(f"{obj.label} has no field {col!r} to order by", status=400)
            order = [(col, direction.strip().lower() == "desc")]
        rows = records.select(rows, where, order)
        fields = _fields_param(query)
        return {
            "records": [project(r, fields) for r in rows[offset : offset + limit]],
            "total_results": len(rows),
            "offset": offset,
            "limit": limit,
        }

    _dummy = ActionSpec(
        key="global-search", name="", description="", type="", input_schema={}, output_schema={}
    )


def _fields_param(query: list[tuple[str, str]]) -> list[str] | None:
    listed = [v for k, v in query if k == "fields[]"]
    if listed:
        return listed
    raw = first(query, "fields")
    return [f for f in raw.split(",") if f] if raw else None


def _name(obj: ObjectDef, r: Record) -> str:
    if obj.name_field == "last_name":
        return " ".join(str(r.get(k) or "") for k in ("first_name", "last_name")).strip()
    return str(r.get(obj.name_field) or "")


def _error(status: int, code: str, message: str, data: dict[str, Any] | None = None) -> ProxyResponse:
    err: dict[str, Any] = {"code": code, "message": message}
    if data:
        err["details"] = data
    return json_response(status, {"error": err})


Handler = Callable[..., Any]


def operation_values(objects: Sequence[ObjectDef]) -> dict[str, Any]:
    """What ``catalogs/1crm.yaml``'s operations may use as ``${name}``: models are the record objects
    (not the Layout and Picklist metadata, nor the settings singletons)."""
    models = [o for o in objects if "singleton_id" not in o.extra and o.key not in ("Layout", "Picklist")]
    return {
        "models": [o.key for o in models],
        "model_list": ", ".join(f"{o.key} ({o.label})" for o in models),
        "searchable_models": [o.key for o in objects if o.searchable],
    }


def load() -> OneCrmApp:
    return OneCrmApp(load_catalog("1crm", values=operation_values))
