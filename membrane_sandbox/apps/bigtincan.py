"""Bigtincan Hub: stories, story content, spaces, groups, users, search; and its REST API (``/v5/...``).

Quirks: integer ids; ISO-8601 UTC timestamps; list endpoints page with ``limit`` (max 100) and
``offset`` and answer ``{data: [...], meta: {total, limit, offset}}``; single resources answer
``{data: {...}}``; errors are ``{"error": {"status", "code", "message"}}``.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Sequence
from typing import Any

from membrane_sandbox.apps import records
from membrane_sandbox.apps.base import ActionSpec, AppError, ProxyResponse
from membrane_sandbox.apps.catalog import ObjectDef
from membrane_sandbox.apps.catalog_app import CatalogApp
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

API_VERSION = "v5"
MAX_LIMIT = 100
CURRENT_USER_ID = 5001
_TEXT = ("string", "text", "email")
_FILE_CATEGORY = {
    "pdf": "document",
    "docx": "document",
    "pptx": "presentation",
    "xlsx": "spreadsheet",
    "mp4": "video",
    "png": "image",
    "url": "link",
    "html": "link",
}


class BigtincanApp(CatalogApp):
    id_schema = {"type": "integer", "minimum": 1}
    created_field = "createdAt"
    modified_field = "updatedAt"

    def format_id(self, obj: ObjectDef, seq: int) -> int:
        return int(obj.extra["id_base"]) + seq

    def finish_seed_record(self, obj: ObjectDef, rec: Record, ctx: Context) -> None:
        if obj.key == "user" and rec["id"] == CURRENT_USER_ID:
            rec.update(
                firstName="Jordan",
                lastName="Admin",
                email="jordan.admin@example.com",
                role="administrator",
                status="active",
            )
        if obj.key == "story_content":
            ext = rec["name"].rsplit(".", 1)[-1] if "." in rec["name"] else "url"
            rec["fileType"] = ext if ext in _FILE_CATEGORY else "url"
            rec["category"] = _FILE_CATEGORY[rec["fileType"]]
            rec["url"] = f"https://hub.bigtincan.com/files/{rec['id']}/{rec['name'].replace(' ', '%20')}"
        if obj.key == "story" and rec.get("status") != "published":
            rec["publishedAt"] = None

    def on_create(self, db: sqlite3.Connection, account: str, obj: ObjectDef, rec: Record) -> None:
        for f in obj.fields:
            if f.readonly and f.type == "integer" and rec.get(f.name) is None:
                rec[f.name] = 0
        if obj.key == "story" and not rec.get("authorId"):
            rec["authorId"] = CURRENT_USER_ID
        if obj.key == "story" and rec.get("status") == "published" and not rec.get("publishedAt"):
            rec["publishedAt"] = rec["createdAt"]

    def seed_object(
        self, obj: ObjectDef, rng: random.Random, ref_ids: dict[str, list[Any]]
    ) -> list[tuple[str, int, Record, str, str]]:
        rows = super().seed_object(obj, rng, ref_ids)
        if obj.key == "group":
            # Group names come from a short list; number the repeats so names stay unique.
            seen: dict[str, int] = {}
            for _, _, rec, _, _ in rows:
                n = seen[rec["name"]] = seen.get(rec["name"], 0) + 1
                if n > 1:
                    rec["name"] = f"{rec['name']} {n}"
        return rows

    # ---- search ------------------------------------------------------------------------------

    def op_search_content(
        self, db: sqlite3.Connection, account: str, action: ActionSpec, input: dict[str, Any]
    ) -> Any:
        text = str(input.get("query") or "").strip()
        if not text:
            raise AppError("query must not be empty", status=400)
        types = input.get("types") or ["story", "story_content"]
        space = input.get("spaceId")
        needle = text.casefold()
        story_space: dict[int, Any] = {}
        if space is not None:
            story_space = {r["id"]: r.get("spaceId") for r in records.scan(db, account, self.key, "story")}
        hits: list[dict[str, Any]] = []
        for t in types:
            obj = self.catalog.object(t)
            if obj is None:
                raise AppError(f"Bigtincan has no content type {t!r}", status=400)
            names = [f.name for f in obj.fields if f.type in _TEXT]
            for r in records.scan(db, account, self.key, obj.key):
                if space is not None:
                    sid = r.get("spaceId") if t == "story" else story_space.get(r.get("storyId", -1))
                    if t in ("story", "story_content") and sid != space:
                        continue
                for n in names:
                    v = str(r.get(n) or "")
                    if needle in v.casefold():
                        hit = {"type": t, "id": r["id"], "title": _title(obj, r), "snippet": v[:160]}
                        if t == "story":
                            hit["spaceId"] = r.get("spaceId")
                        hits.append(hit)
                        break
        offset = int(input.get("offset") or 0)
        limit = max(1, min(int(input.get("limit") or 20), MAX_LIMIT))
        return {"total": len(hits), "results": hits[offset : offset + limit]}

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
        method = method.upper()
        if parts[:1] != [API_VERSION]:
            return _error(
                404,
                "not_found",
                f"Unknown endpoint /{'/'.join(parts)} (this API lives under /{API_VERSION}/)",
            )
        parts = parts[1:]
        try:
            with records.write(db):
                return self._route(db, account, method, parts, query, headers, body)
        except BadBody as e:
            return _error(400, "bad_request", str(e))
        except AppError as e:
            return _error(e.status, "not_found" if e.status == 404 else "validation_error", e.message)

    def _resource(self, name: str) -> ObjectDef | None:
        return next((o for o in self.catalog.objects if o.extra.get("path") == name), None)

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
            return json_response(
                200, {"data": self.load(db, account, self.catalog.object_map()["user"], CURRENT_USER_ID)}
            )
        if parts == ["search"] and method == "GET":
            inp: dict[str, Any] = {
                "query": first(query, "q") or first(query, "query") or "",
                "limit": int_param(query, "limit", 20, 1, MAX_LIMIT),
                "offset": int_param(query, "offset", 0, 0, 10**9),
            }
            if first(query, "type"):
                inp["types"] = str(first(query, "type")).split(",")
            if first(query, "spaceId"):
                inp["spaceId"] = int_param(query, "spaceId", 0, 0, 10**12)
            out = self.op_search_content(db, account, _SEARCH, inp)
            return json_response(
                200,
                {
                    "data": out["results"],
                    "meta": {"total": out["total"], "limit": inp["limit"], "offset": inp["offset"]},
                },
            )
        obj = self._resource(parts[0]) if parts else None
        if obj is None:
            return _error(404, "not_found", f"Unknown resource /{API_VERSION}/{'/'.join(parts)}")
        if len(parts) == 1:
            if method == "GET":
                return json_response(200, self._api_list(db, account, obj, query, {}))
            if method == "POST":
                values = _payload(read_body(headers, body))
                rec = self.insert_record(
                    db, account, obj, self.check_values(db, account, obj, values, creating=True)
                )
                return json_response(201, {"data": rec})
            return _error(405, "method_not_allowed", f"{method} is not allowed on /{API_VERSION}/{parts[0]}")
        rid = _int_id(parts[1])
        if len(parts) == 3 and obj.key == "story" and parts[2] == "content" and method == "GET":
            self.load(db, account, obj, rid)
            contents = self.catalog.object_map()["story_content"]
            return json_response(200, self._api_list(db, account, contents, query, {"storyId": rid}))
        if len(parts) != 2:
            return _error(404, "not_found", f"Unknown resource /{API_VERSION}/{'/'.join(parts)}")
        if method == "GET":
            return json_response(200, {"data": self.load(db, account, obj, rid)})
        if method in ("PUT", "PATCH"):
            values = _payload(read_body(headers, body))
            values.pop("id", None)
            values = self.check_values(db, account, obj, values, creating=False)
            return json_response(200, {"data": self.patch_record(db, account, obj, rid, values)})
        if method == "DELETE":
            self.load(db, account, obj, rid)
            records.delete(db, account, self.key, obj.key, str(rid))
            return json_response(200, {"data": {"id": rid, "deleted": True}})
        return _error(405, "method_not_allowed", f"{method} is not allowed here")

    def _api_list(
        self,
        db: sqlite3.Connection,
        account: str,
        obj: ObjectDef,
        query: list[tuple[str, str]],
        fixed: dict[str, Any],
    ) -> dict[str, Any]:
        limit = int_param(query, "limit", 25, 1, MAX_LIMIT)
        offset = int_param(query, "offset", 0, 0, 10**9)
        reserved = {"limit", "offset", "sort", "q"}
        filters = {k: v for k, v in query if k not in reserved}
        filters.update(fixed)
        rows = records.scan(db, account, self.key, obj.key)
        if first(query, "q"):
            tm = self.text_matcher(obj, str(first(query, "q")))
            rows = [r for r in rows if tm(r)]
        order: list[tuple[str, bool]] = []
        sort = first(query, "sort")
        if sort:
            col = sort.lstrip("-")
            if obj.field(col) is None:
                raise AppError(f"cannot sort {obj.label} by {col!r}", status=400)
            order = [(col, sort.startswith("-"))]
        rows = records.select(rows, self.matcher(obj, filters), order)
        return {
            "data": rows[offset : offset + limit],
            "meta": {"total": len(rows), "limit": limit, "offset": offset},
        }


_SEARCH = ActionSpec(
    key="search-content", name="", description="", type="", input_schema={}, output_schema={}
)


def _payload(data: dict[str, Any]) -> dict[str, Any]:
    inner = data.get("data", data)
    if not isinstance(inner, dict):
        raise BadBody("data must be an object")
    return dict(inner)


def _int_id(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise AppError(f"Resource id must be an integer, got {raw!r}", status=404) from None


def _title(obj: ObjectDef, r: Record) -> str:
    if obj.key == "user":
        return f"{r.get('firstName') or ''} {r.get('lastName') or ''}".strip()
    return str(r.get(obj.name_field) or "")


def _error(status: int, code: str, message: str) -> ProxyResponse:
    return json_response(status, {"error": {"status": status, "code": code, "message": message}})


def operation_values(objects: Sequence[ObjectDef]) -> dict[str, Any]:
    """What ``catalogs/bigtincan.yaml``'s operations may use as ``${name}``."""
    return {"object_types": [o.key for o in objects]}


def load() -> BigtincanApp:
    return BigtincanApp(load_catalog("bigtincan", values=operation_values))
