"""Vtiger: the eight seed actions over 34 modules, and Vtiger's REST API (``/restapi/v1/vtiger/default``).

Quirks kept from the real thing: record ids are ``<moduleNumber>x<recordNumber>``; every value is
a string; times are ``YYYY-MM-DD HH:MM:SS``; a query page holds at most 100 records; the REST API
answers ``{success, result}`` or ``{success: false, error: {code, message}}`` with HTTP 400 for a
failed operation (as Vtiger's manual describes).
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from membrane_sandbox.apps import records
from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.apps.catalog import Catalog, FieldDef, ObjectDef
from membrane_sandbox.apps.catalog_app import CatalogApp, project
from membrane_sandbox.apps.catalog_file import load_catalog
from membrane_sandbox.apps.fake import Context
from membrane_sandbox.apps.proxy_util import BadBody, json_response, read_body, split_path
from membrane_sandbox.apps.records import Record
from membrane_sandbox.apps.vtiger_query import QueryError, parse

PAGE_CAP = 100
CURRENT_USER_ID = "19x1"
_ID = re.compile(r"^(\d+)x(\d+)$")
_NO_OWNER = frozenset({"Users", "Groups", "Roles", "Profiles", "Currency", "Tax"})


class VtigerError(AppError):
    """An AppError carrying Vtiger's own error code (ACCESS_DENIED, RECORD_NOT_FOUND...)."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message, status=status, data={"code": code})
        self.code = code


class VtigerApp(CatalogApp):
    stringly = True
    id_schema = {"type": "string", "pattern": r"^[0-9]+x[0-9]+$"}
    created_field = "createdtime"
    modified_field = "modifiedtime"

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(catalog)
        self._by_number = {str(o.extra["number"]): o for o in catalog.objects}

    # ---- hooks -------------------------------------------------------------------------------

    def format_id(self, obj: ObjectDef, seq: int) -> str:
        return f"{obj.extra['number']}x{seq}"

    def format_time(self, t: datetime) -> str:
        return t.replace(tzinfo=None).isoformat(" ", "seconds")

    def system_fields(self, obj: ObjectDef) -> frozenset[str]:
        return frozenset(
            {"id", "createdtime", "modifiedtime"}
            | {f.name for f in obj.fields if f.gen and f.gen.startswith("seq:") and f.readonly}
        )

    def finish_seed_record(self, obj: ObjectDef, rec: Record, ctx: Context) -> None:
        for f in obj.fields:
            if f.readonly and f.gen and f.gen.startswith("seq:"):
                rec[f.name] = f"{f.gen[4:]}{ctx.seq}"
        if obj.key == "Users" and ctx.seq == 1:
            rec.update(
                first_name="Alex",
                last_name="Admin",
                user_name="admin",
                email1="admin@example.com",
                is_admin="on",
                status="Active",
                title="CRM Administrator",
            )
        if "assigned_user_id" in rec and obj.key not in _NO_OWNER:
            # Most records belong to users; a few to a group, as in real instances.
            users, groups = ctx.ref_ids.get("Users", []), ctx.ref_ids.get("Groups", [])
            rec["assigned_user_id"] = (
                ctx.rng.choice(groups)
                if groups and ctx.rng.random() < 0.1
                else (ctx.rng.choice(users) if users else CURRENT_USER_ID)
            )

    def on_create(self, db: sqlite3.Connection, account: str, obj: ObjectDef, rec: Record) -> None:
        if obj.field("assigned_user_id") and not rec.get("assigned_user_id"):
            rec["assigned_user_id"] = CURRENT_USER_ID
        if obj.field("creator") and not rec.get("creator"):
            rec["creator"] = CURRENT_USER_ID
        for f in obj.fields:
            if f.readonly and f.gen and f.gen.startswith("seq:"):
                rec[f.name] = f"{f.gen[4:]}{str(rec['id']).split('x')[1]}"

    def check_values(
        self, db: sqlite3.Connection, account: str, obj: ObjectDef, values: Record, *, creating: bool
    ) -> Record:
        if creating and obj.field("assigned_user_id") and not values.get("assigned_user_id"):
            values = {**values, "assigned_user_id": CURRENT_USER_ID}
        try:
            return super().check_values(db, account, obj, values, creating=creating)
        except AppError as e:
            if "missingFields" in e.data:
                missing = e.data["missingFields"]
                raise VtigerError("MANDATORY_FIELDS_MISSING", f"{missing[0]} does not have a value") from None
            raise VtigerError("INVALID_FIELD_VALUE", e.message) from None

    # ---- lookups -----------------------------------------------------------------------------

    def module(self, name: Any) -> ObjectDef:
        obj = self.catalog.object(str(name or ""))
        if obj is None:
            raise VtigerError(
                "ACCESS_DENIED",
                f"Permission to perform the operation is denied for name: no module named '{name}'",
            )
        return obj

    def module_of_id(self, rid: Any) -> ObjectDef:
        m = _ID.match(str(rid or ""))
        if not m:
            raise VtigerError(
                "INVALID_ID_ATTRIBUTE", f"Id specified is incorrect: '{rid}' (expected e.g. 12x34)"
            )
        obj = self._by_number.get(m.group(1))
        if obj is None:
            raise VtigerError(
                "INVALID_ID_ATTRIBUTE", f"Id specified is incorrect: no module has prefix {m.group(1)}"
            )
        return obj

    def fetch(self, db: sqlite3.Connection, account: str, rid: Any) -> tuple[ObjectDef, Record]:
        obj = self.module_of_id(rid)
        rec = records.get(db, account, self.key, obj.key, str(rid))
        if rec is None:
            raise VtigerError("RECORD_NOT_FOUND", "Record you are trying to access is not found", status=404)
        return obj, rec

    # ---- the eight actions -------------------------------------------------------------------

    def op_query(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        try:
            offset = records.decode_cursor(input.get("cursor"))
        except ValueError as e:
            raise AppError(str(e), status=400) from None
        rows, more = self.query(db, account, str(input.get("query") or ""), offset)
        out: dict[str, Any] = {"records": rows}
        if more:
            out["cursor"] = str(offset + PAGE_CAP)
        return out

    def query(
        self, db: sqlite3.Connection, account: str, text: str, offset: int = 0
    ) -> tuple[list[Record], bool]:
        """Run a query; returns one page (<= 100 records, starting ``offset`` into the result) and whether
        more records follow."""
        try:
            q = parse(text)
        except QueryError as e:
            raise VtigerError("QUERY_SYNTAX_ERROR", str(e)) from None
        obj = self.module(q.module)
        fmap = obj.field_map()
        used = [*(q.columns or []), *q.where_columns, *(c for c, _ in q.order)]
        unknown = [c for c in dict.fromkeys(used) if c not in fmap]
        if unknown:
            raise VtigerError("QUERY_SYNTAX_ERROR", f"Unknown column '{unknown[0]}' in module {obj.key}")
        needed = None  # without a filter or an order, only the rows up to this page's end are read
        if q.where is None and not q.order and not q.count:
            page_end = offset + PAGE_CAP + 1  # one more, to tell whether more follow
            needed = q.offset + (page_end if q.limit is None else min(q.limit, page_end))
        rows = records.select(records.scan(db, account, self.key, obj.key, needed), q.where, q.order)
        rows = rows[q.offset :]
        if q.limit is not None:
            rows = rows[: q.limit]
        if q.count:
            return [{"count": str(len(rows))}], False
        chunk = rows[offset : offset + PAGE_CAP]
        cols = q.columns
        return [project(r, cols) for r in chunk], offset + PAGE_CAP < len(rows)

    def op_retrieve(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        return self.fetch(db, account, input.get("id"))[1]

    def op_create_record(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.module(input.get("elementType"))
        element = self._element(input.get("element"))
        element.pop("id", None)
        return self.insert_record(
            db, account, obj, self.check_values(db, account, obj, element, creating=True)
        )

    def op_update_record(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        element = self._element(input.get("element"))
        rid = input.get("id") or element.get("id")
        element.pop("id", None)
        obj, _ = self.fetch(db, account, rid)
        # A retrieved record sent back whole carries read-only fields; Vtiger ignores them.
        fmap = obj.field_map()
        element = {k: v for k, v in element.items() if k not in fmap or not fmap[k].readonly}
        return self.patch_record(
            db, account, obj, rid, self.check_values(db, account, obj, element, creating=False)
        )

    def op_delete_record(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        rid = input.get("id")
        obj, _ = self.fetch(db, account, rid)
        records.delete(db, account, self.key, obj.key, str(rid))
        return {"status": "successful", "id": rid}

    def op_describe(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        return self.describe(self.module(input.get("elementType")))

    def op_list_modules(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        return {
            "modules": [
                {
                    "name": o.key,
                    "label": o.label,
                    "singular": _singular_label(o),
                    "isEntity": True,
                    "isCustom": bool(o.extra.get("custom")),
                    "idPrefix": str(o.extra["number"]),
                }
                for o in self.catalog.objects
            ]
        }

    def op_me(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        return self.current_user(db, account)

    # ---- shared by actions and the REST API --------------------------------------------------

    def _element(self, raw: Any) -> dict[str, Any]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except json.JSONDecodeError:
                raise VtigerError("INVALID_PARAMETER", "element must be a JSON object") from None
        if not isinstance(raw, dict):
            raise VtigerError("INVALID_PARAMETER", "element must be a JSON object")
        return dict(raw)

    def current_user(self, db: sqlite3.Connection, account: str) -> Record:
        rec = records.get(db, account, self.key, "Users", CURRENT_USER_ID)
        if rec is None:
            raise VtigerError("AUTHENTICATION_REQUIRED", "The current user no longer exists", status=401)
        return rec

    def describe(self, obj: ObjectDef) -> dict[str, Any]:
        blocks: dict[str, list[str]] = {}
        fields = []
        for f in obj.fields:
            block = _block_of(obj, f)
            blocks.setdefault(block, []).append(f.name)
            t: dict[str, Any] = {"name": f.type}
            if f.picklist:
                t["picklistValues"] = [{"label": v, "value": v} for v in f.picklist]
            if f.ref:
                t["refersTo"] = list(f.ref)
            if f.type == "date":
                t["format"] = "yyyy-mm-dd"
            fields.append(
                {
                    "name": f.name,
                    "label": f.label,
                    "mandatory": f.required,
                    "editable": not f.readonly,
                    "nullable": not f.required,
                    "isunique": f.name == "id",
                    "default": "",
                    "type": t,
                    "block": {"blockid": str(list(blocks).index(block) + 1), "blocklabel": block},
                }
            )
        return {
            "name": obj.key,
            "label": obj.label,
            "singular": _singular_label(obj),
            "createable": True,
            "updateable": True,
            "deleteable": True,
            "retrieveable": True,
            "isEntity": True,
            "idPrefix": str(obj.extra["number"]),
            "labelFields": obj.name_field if obj.name_field != "lastname" else "firstname,lastname",
            "fields": fields,
            "blocks": [
                {"blockid": str(i + 1), "blocklabel": b, "fields": fs}
                for i, (b, fs) in enumerate(blocks.items())
            ],
        }

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
        # Accept paths given with or without the base path's /restapi/v1/vtiger/default prefix.
        if parts[:4] == ["restapi", "v1", "vtiger", "default"]:
            parts = parts[4:]
        route = "/".join(parts)
        method = method.upper()
        handler = _ROUTES.get((method, route))
        if handler is None:
            if any(r == route for _, r in _ROUTES):
                return _fail(405, "METHOD_NOT_ALLOWED", f"{method} is not supported for /{route}")
            return _fail(
                404,
                "API_NOT_FOUND",
                f"No API /{route} (Vtiger REST API: /me, /listtypes, /describe, "
                "/query, /retrieve, /create, /update, /revise, /delete)",
            )
        try:
            params = dict(query)
            if method == "POST":
                params.update(read_body(headers, body))
            with records.write(db):
                result = handler(self, db, account, params)
        except BadBody as e:
            return _fail(400, "INVALID_PARAMETER", str(e))
        except VtigerError as e:
            return _fail(400 if e.status != 401 else 401, e.code, e.message)
        except AppError as e:
            return _fail(400, "INVALID_PARAMETER", e.message)
        return json_response(200, {"success": True, "result": result}, {"x-vtiger-api": "restapi/v1"})

    def _rest_me(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        u = self.current_user(db, account)
        return {
            k: u.get(k, "")
            for k in (
                "id",
                "user_name",
                "first_name",
                "last_name",
                "email1",
                "is_admin",
                "roleid",
                "time_zone",
                "language",
            )
        }

    def _rest_listtypes(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        objs = list(self.catalog.objects)
        wanted = p.get("fieldTypeList")
        if wanted and wanted != "null":
            try:
                types = set(json.loads(wanted)) if wanted.startswith("[") else {wanted}
            except json.JSONDecodeError:
                raise VtigerError("INVALID_PARAMETER", "fieldTypeList must be a JSON array or null") from None
            objs = [o for o in objs if any(f.type in types for f in o.fields)]
        return {
            "types": [o.key for o in objs],
            "information": {
                o.key: {"isEntity": True, "label": o.label, "singular": _singular_label(o)} for o in objs
            },
        }

    def _rest_describe(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        if not p.get("elementType"):
            raise VtigerError("MANDATORY_FIELDS_MISSING", "elementType does not have a value")
        return self.describe(self.module(p["elementType"]))

    def _rest_query(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        if not p.get("query"):
            raise VtigerError("MANDATORY_FIELDS_MISSING", "query does not have a value")
        return self.query(db, account, str(p["query"]))[0]

    def _rest_retrieve(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        return self.fetch(db, account, p.get("id"))[1]

    def _rest_create(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        obj = self.module(p.get("elementType"))
        element = self._element(p.get("element"))
        element.pop("id", None)
        known = {k: v for k, v in element.items() if obj.field(k) and not obj.field_map()[k].readonly}
        return self.insert_record(db, account, obj, self.check_values(db, account, obj, known, creating=True))

    def _rest_update(
        self, db: sqlite3.Connection, account: str, p: dict[str, Any], *, partial: bool = False
    ) -> Any:
        element = self._element(p.get("element"))
        rid = element.pop("id", None)
        if not rid:
            raise VtigerError("MANDATORY_FIELDS_MISSING", "id does not have a value")
        obj, _ = self.fetch(db, account, rid)
        known = {k: v for k, v in element.items() if obj.field(k) and not obj.field_map()[k].readonly}
        if not partial:
            # /update replaces the record: mandatory fields missing from element are an error, as in Vtiger.
            missing = [f.name for f in obj.writable_fields() if f.required and f.name not in known]
            if missing:
                raise VtigerError("MANDATORY_FIELDS_MISSING", f"{missing[0]} does not have a value")
        return self.patch_record(
            db, account, obj, rid, self.check_values(db, account, obj, known, creating=False)
        )

    def _rest_revise(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        return self._rest_update(db, account, p, partial=True)

    def _rest_delete(self, db: sqlite3.Connection, account: str, p: dict[str, Any]) -> Any:
        rid = p.get("id")
        obj, _ = self.fetch(db, account, rid)
        records.delete(db, account, self.key, obj.key, str(rid))
        return {"status": "successful"}


_ROUTES = {
    ("GET", "me"): VtigerApp._rest_me,
    ("GET", "listtypes"): VtigerApp._rest_listtypes,
    ("GET", "describe"): VtigerApp._rest_describe,
    ("GET", "query"): VtigerApp._rest_query,
    ("GET", "retrieve"): VtigerApp._rest_retrieve,
    ("POST", "create"): VtigerApp._rest_create,
    ("POST", "update"): VtigerApp._rest_update,
    ("POST", "revise"): VtigerApp._rest_revise,
    ("POST", "delete"): VtigerApp._rest_delete,
}


def _fail(status: int, code: str, message: str) -> ProxyResponse:
    return json_response(status, {"success": False, "error": {"code": code, "message": message}})


def _singular_label(obj: ObjectDef) -> str:
    return " ".join(w.capitalize() for w in obj.singular.split("-")).replace("Sms", "SMS")


def _block_of(obj: ObjectDef, f: FieldDef) -> str:
    if f.name in ("id", "createdtime", "modifiedtime", "assigned_user_id"):
        return "LBL_SYSTEM_INFORMATION" if f.name != "assigned_user_id" else _main_block(obj)
    if f.type == "text":
        return "LBL_DESCRIPTION_INFORMATION"
    if any(w in f.name for w in ("street", "city", "state", "zip", "code", "country")) and f.type == "string":
        return "LBL_ADDRESS_INFORMATION"
    if f.name.startswith("cf_"):
        return "LBL_CUSTOM_INFORMATION"
    return _main_block(obj)


def _main_block(obj: ObjectDef) -> str:
    return "LBL_" + obj.singular.upper().replace("-", "_") + "_INFORMATION"


def operation_values(objects: Sequence[ObjectDef]) -> dict[str, Any]:
    """What ``catalogs/vtiger.yaml``'s operations may use as ``${name}``."""
    return {
        "modules": [o.key for o in objects],
        "module_list": ", ".join(f"{o.key} ({o.label})" for o in objects),
    }


def load() -> VtigerApp:
    return VtigerApp(load_catalog("vtiger", values=operation_values, stringly=VtigerApp.stringly))
