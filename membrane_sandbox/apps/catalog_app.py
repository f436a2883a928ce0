"""A catalog-driven app: the parts of the App contract every app shares.

Subclasses (one per app) set the id style, timestamps and value style, add their own ops
(``op_<name>`` methods, chosen by ``impl["op"]``) and implement ``proxy``.
"""

from __future__ import annotations

import logging
import random
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from membrane_sandbox.apps import fake, intent_conditions, records
from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.apps.catalog import Catalog, FieldDef, ObjectDef
from membrane_sandbox.apps.records import Record
from membrane_sandbox.apps.schemas import DEFAULT_PAGE, MAX_PAGE, crud_action

log = logging.getLogger(__name__)

_SEED_END = datetime(2025, 6, 30, 18, 0, 0)
_TEXT_TYPES = frozenset({"string", "text", "email", "phone", "url", "picklist"})


class CatalogApp:
    stringly = False  # Vtiger-style apps store and return every value as a string
    id_schema: dict[str, Any] = {"type": "string"}
    created_field = "createdAt"
    modified_field = "updatedAt"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.key = catalog.key
        self.name = catalog.name
        self.description = catalog.description
        self.logo_uri = catalog.logo_uri
        self.base_url = catalog.base_url

    # ---- hooks -------------------------------------------------------------------------------

    def format_id(self, obj: ObjectDef, seq: int) -> Any:
        return str(seq)

    def format_time(self, t: datetime) -> str:
        return fake.iso(t)

    def system_fields(self, obj: ObjectDef) -> frozenset[str]:
        return frozenset({"id", self.created_field, self.modified_field})

    def on_create(self, db: sqlite3.Connection, account: str, obj: ObjectDef, rec: Record) -> None:
        """Fill app defaults (owner, auto numbers...) into a record about to be created."""

    # ---- App contract ------------------------------------------------------------------------

    def actions(self) -> list[ActionSpec]:
        return list(self.catalog.actions)

    def init_schema(self, db: sqlite3.Connection) -> None:
        records.init_schema(db)

    def seed(self, db: sqlite3.Connection, account: str, seed: int) -> None:
        with records.write(db):
            if not records.claim_seed(db, account, self.key, seed):
                return
            rng = random.Random(f"{self.key}:{seed}")
            ref_ids: dict[str, list[Any]] = {}
            for obj in self.seed_order():
                rows = self.seed_object(obj, rng, ref_ids)
                ref_ids[obj.key] = [r[2]["id"] for r in rows]
                records.insert_many(db, account, self.key, obj.key, rows)

    def seed_order(self) -> list[ObjectDef]:
        """Objects with referenced objects first, so references can point at seeded ids."""
        done: dict[str, ObjectDef] = {}
        visiting: set[str] = set()

        def visit(o: ObjectDef) -> None:
            if o.key in done or o.key in visiting:
                return
            visiting.add(o.key)
            for f in o.fields:
                for ref in f.ref:
                    target = self.catalog.object(ref)
                    if target is not None and ref != o.key:
                        visit(target)
            done[o.key] = o

        for o in self.catalog.objects:
            visit(o)
        return list(done.values())

    def seed_object(
        self, obj: ObjectDef, rng: random.Random, ref_ids: dict[str, list[Any]]
    ) -> list[tuple[str, int, Record, str, str]]:
        fields = fake.plan(obj.fields, self.system_fields(obj))
        rows = []
        ctx = fake.Context(rng, ref_ids, 0, obj.label)
        has_created, has_modified = obj.field(self.created_field), obj.field(self.modified_field)
        for seq in range(1, obj.seed_count + 1):
            ctx.seq = seq
            rec: Record = {"id": self.format_id(obj, seq)}
            rec.update(fake.build_record(fields, ctx))
            created = fake.seeded_time(rng)
            modified = min(created + timedelta(days=rng.randrange(60)), _SEED_END)
            c, m = self.format_time(created), self.format_time(modified)
            if has_created:
                rec[self.created_field] = c
            if has_modified:
                rec[self.modified_field] = m
            self.finish_seed_record(obj, rec, ctx)
            rows.append((str(rec["id"]), seq, self.store_form(obj, rec), c, m))
        return rows

    def finish_seed_record(self, obj: ObjectDef, rec: Record, ctx: fake.Context) -> None:
        """Per-app touch-ups of a generated record (consistent totals, owner ids...)."""

    def run(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        op = str(action.impl.get("op", ""))
        handler: Callable[..., Any] | None = getattr(self, "op_" + op.replace("-", "_"), None)
        if handler is None:
            raise AppError(
                f"{self.name} cannot run action {action.key!r}: unknown operation {op!r}", status=400
            )
        if not isinstance(input, dict):
            raise AppError("input must be an object", status=400)
        try:
            with records.write(db):
                return handler(db, account, action, dict(input))
        except (TypeError, ValueError) as e:
            # Input the schema should have caught (the API layer validates, but may not always).
            log.debug("bad input for %s.%s: %s", self.key, action.key, e)
            raise AppError(f"Invalid input for {action.key}: {e}", status=400) from None

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
        raise NotImplementedError

    def build_action(self, intent: str) -> ActionSpec | list[dict[str, Any]]:
        from membrane_sandbox.apps.intent import build_from_intent

        return build_from_intent(self, intent)

    def make_action(
        self, verb: str, obj: ObjectDef, fields: list[str] | None, key: str, name: str, description: str
    ) -> ActionSpec:
        return crud_action(
            self.name,
            obj,
            verb,
            self.id_schema,
            stringly=self.stringly,
            fields=fields,
            key=key,
            name=name,
            description=description,
        )

    # ---- helpers for ops ---------------------------------------------------------------------

    def object_of(self, action: ActionSpec, input: dict[str, Any] | None = None) -> ObjectDef:
        key = action.impl.get("object")
        obj = self.catalog.object(str(key)) if key else None
        if obj is None:
            raise AppError(f"{self.name} has no object {key!r}", status=400)
        return obj

    def store_form(self, obj: ObjectDef, rec: Record) -> Record:
        """The record as stored: stringly apps keep every value as a string."""
        if not self.stringly:
            return rec
        return {k: to_string(v) for k, v in rec.items()}

    def now(self) -> str:
        return self.format_time(datetime.now(UTC))

    def load(self, db: sqlite3.Connection, account: str, obj: ObjectDef, rid: Any) -> Record:
        rec = records.get(db, account, self.key, obj.key, str(rid))
        if rec is None:
            raise AppError(f"{self.name} {obj.label} record {rid} not found", status=404, data={"id": rid})
        return rec

    def check_values(
        self, db: sqlite3.Connection, account: str, obj: ObjectDef, values: Record, *, creating: bool
    ) -> Record:
        """Validate field values (unknown, read only, picklists, references, required) and coerce them."""
        fmap = obj.field_map()
        unknown = [k for k in values if k not in fmap]
        if unknown:
            raise AppError(
                f"{obj.label} has no field(s) {', '.join(unknown)}",
                status=400,
                data={"unknownFields": unknown, "fields": [f.name for f in obj.writable_fields()]},
            )
        ro = [k for k in values if fmap[k].readonly]
        if ro:
            raise AppError(f"{obj.label} field(s) {', '.join(ro)} are read only", status=400)
        out: Record = {}
        for k, v in values.items():
            f = fmap[k]
            out[k] = self.coerce(obj, f, v)
            self.check_reference(db, account, f, out[k])
        if creating:
            missing = [f.name for f in obj.writable_fields() if f.required and out.get(f.name) in (None, "")]
            if missing:
                raise AppError(
                    f"Missing required {obj.label} field(s): {', '.join(missing)}",
                    status=400,
                    data={"missingFields": missing},
                )
        return out

    def coerce(self, obj: ObjectDef, f: FieldDef, v: Any) -> Any:
        if v is None:
            return None
        if f.type == "picklist" and f.picklist and v != "" and str(v) not in f.picklist:
            raise AppError(
                f"{v!r} is not a valid {f.label}; expected one of: {', '.join(f.picklist)}",
                status=400,
                data={"field": f.name, "allowed": list(f.picklist)},
            )
        try:
            if f.type == "integer" and not isinstance(v, bool):
                v = int(v) if v != "" else None
            elif f.type in ("double", "currency", "percentage") and not isinstance(v, bool):
                v = float(v) if v != "" else None
            elif f.type == "boolean" and isinstance(v, str):
                v = v.lower() in ("1", "true", "yes", "on")
        except (TypeError, ValueError):
            raise AppError(
                f"{f.label} must be a {f.type}, got {v!r}", status=400, data={"field": f.name}
            ) from None
        return to_string(v) if self.stringly else v

    def check_reference(self, db: sqlite3.Connection, account: str, f: FieldDef, v: Any) -> None:
        if f.type not in ("reference", "owner") or v in (None, ""):
            return
        for ref in f.ref:
            if records.get(db, account, self.key, ref, str(v)) is not None:
                return
        raise AppError(
            f"{f.label}: no {' or '.join(f.ref)} record with id {v}",
            status=400,
            data={"field": f.name, "id": v},
        )

    def matcher(self, obj: ObjectDef, filters: dict[str, Any] | None) -> Callable[[Record], bool] | None:
        if not filters:
            return None
        fmap = obj.field_map()
        unknown = [k for k in filters if k not in fmap]
        if unknown:
            raise AppError(f"{obj.label} has no field(s) {', '.join(unknown)} to filter on", status=400)
        want = {k: _norm(v) for k, v in filters.items()}
        return lambda r: all(_norm(r.get(k)) == v for k, v in want.items())

    def text_matcher(self, obj: ObjectDef, text: str) -> Callable[[Record], bool]:
        needle = text.casefold().strip()
        names = [f.name for f in obj.fields if f.type in _TEXT_TYPES]

        def match(r: Record) -> bool:
            return any(needle in str(r.get(n) or "").casefold() for n in names)

        return match

    def page_of(self, rows: list[Record], input: dict[str, Any], fields: list[str] | None) -> dict[str, Any]:
        limit = max(1, min(int(input.get("limit") or DEFAULT_PAGE), MAX_PAGE))
        try:
            chunk, cursor = records.page(rows, input.get("cursor"), limit)
        except ValueError as e:
            raise AppError(str(e), status=400) from None
        out: dict[str, Any] = {"records": [project(r, fields) for r in chunk]}
        if cursor:
            out["cursor"] = cursor
        return out

    def order_of(self, obj: ObjectDef, input: dict[str, Any]) -> list[tuple[str, bool]]:
        sort_by = input.get("sortBy")
        if not sort_by:
            return []
        if obj.field(sort_by) is None:
            raise AppError(f"{obj.label} has no field {sort_by!r} to sort by", status=400)
        return [(sort_by, input.get("sortOrder") == "desc")]

    def insert_record(self, db: sqlite3.Connection, account: str, obj: ObjectDef, values: Record) -> Record:
        seq = records.next_seq(db, account, self.key, obj.key)
        now = self.now()
        rec: Record = {"id": self.format_id(obj, seq)}
        rec.update({f.name: f.default for f in obj.writable_fields() if f.default is not None})
        rec.update(values)
        if obj.field(self.created_field):
            rec[self.created_field] = now
        if obj.field(self.modified_field):
            rec[self.modified_field] = now
        self.on_create(db, account, obj, rec)
        rec = self.store_form(obj, rec)
        records.insert(db, account, self.key, obj.key, str(rec["id"]), seq, rec, now)
        return rec

    def patch_record(
        self, db: sqlite3.Connection, account: str, obj: ObjectDef, rid: Any, values: Record
    ) -> Record:
        rec = self.load(db, account, obj, rid)
        rec.update(values)
        now = self.now()
        if obj.field(self.modified_field):
            rec[self.modified_field] = now
        rec = self.store_form(obj, rec)
        records.replace(db, account, self.key, obj.key, str(rid), rec, now)
        return rec

    # ---- standard ops ------------------------------------------------------------------------

    def op_list(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        obj = self.object_of(action)
        rows = records.select(
            records.scan(db, account, self.key, obj.key),
            self.matcher(obj, input.get("filters")),
            self.order_of(obj, input) or _built_order(action),
        )
        return self.page_of(_built_subset(rows, action), input, action.impl.get("fields"))

    def op_search(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.object_of(action)
        text = str(input.get("query") or "").strip()
        if not text:
            raise AppError("query must not be empty", status=400)
        rows = records.select(
            records.scan(db, account, self.key, obj.key), self.text_matcher(obj, text), _built_order(action)
        )
        return self.page_of(_built_subset(rows, action), input, action.impl.get("fields"))

    def op_count(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.object_of(action)
        rows = records.select(
            records.scan(db, account, self.key, obj.key), self.matcher(obj, input.get("filters"))
        )
        return {"count": len(_built_subset(rows, action))}

    def op_get(self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]) -> Any:
        obj = self.object_of(action)
        rid = action.impl.get("id", input.get("id"))
        if rid in (None, ""):
            raise AppError("id is required", status=400)
        return project(self.load(db, account, obj, rid), action.impl.get("fields"))

    def op_create(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.object_of(action)
        return self.insert_record(db, account, obj, self.check_values(db, account, obj, input, creating=True))

    def op_update(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.object_of(action)
        rid = action.impl.get("id", input.pop("id", None))
        if rid in (None, ""):
            raise AppError("id is required", status=400)
        values = self.check_values(db, account, obj, input, creating=False)
        return self.patch_record(db, account, obj, rid, values)

    def op_delete(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        obj = self.object_of(action)
        rid = input.get("id")
        if not records.delete(db, account, self.key, obj.key, str(rid)):
            raise AppError(f"{self.name} {obj.label} record {rid} not found", status=404, data={"id": rid})
        return {"id": rid, "deleted": True}


def _built_subset(rows: list[Record], action: ActionSpec) -> list[Record]:
    """What an action built from an intent keeps: the records meeting its conditions, at most its limit."""
    conditions = action.impl.get("conditions")
    if conditions:
        rows = [r for r in rows if intent_conditions.matches(r, conditions)]
    limit = action.impl.get("limit")
    return rows[: int(limit)] if limit is not None else rows


def _built_order(action: ActionSpec) -> list[tuple[str, bool]]:
    sort = action.impl.get("sort")
    return [(str(sort[0]), bool(sort[1]))] if sort else []


def project(rec: Record, fields: list[str] | None) -> Record:
    if not fields:
        return rec
    out = {"id": rec.get("id")}
    out.update({f: rec.get(f) for f in fields})
    return out


def to_string(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return f"{v:.2f}" if v != int(v) or abs(v) < 1e15 else str(v)
    if isinstance(v, list):
        return " |##| ".join(str(x) for x in v)
    return str(v)


def _norm(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int | float):
        return f"{float(v):.6f}"
    s = str(v)
    try:
        return f"{float(s):.6f}"
    except ValueError:
        return s.casefold()
