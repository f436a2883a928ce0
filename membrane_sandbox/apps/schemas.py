"""JSON Schemas (draft 2020-12) for records and for the standard per-object actions.

Used to derive the real apps' record actions from their data files (``catalog_file.py``), by
``build_action`` and by the synthetic apps, so that every action everywhere has the same shape.
"""

from __future__ import annotations

from typing import Any

from membrane_sandbox.apps.base import ActionSpec
from membrane_sandbox.apps.catalog import FieldDef, ObjectDef

MAX_PAGE = 100
DEFAULT_PAGE = 20

_JSON_TYPES: dict[str, str] = {
    "integer": "integer",
    "double": "number",
    "currency": "number",
    "percentage": "number",
    "boolean": "boolean",
}
_FORMATS: dict[str, str] = {"email": "email", "url": "uri", "date": "date", "datetime": "date-time"}

# Membrane ActionType per standard verb.
ACTION_TYPES: dict[str, str] = {
    "list": "list-data-records",
    "get": "find-data-record-by-id",
    "create": "create-data-record",
    "update": "update-data-record",
    "delete": "delete-data-record",
    "search": "search-data-record",
    "count": "connector-operation",
}


def title(kebab: str) -> str:
    return " ".join(w.capitalize() for w in kebab.split("-"))


def field_schema(
    f: FieldDef, *, stringly: bool = False, nullable: bool = False, ref_type: str = "string"
) -> dict[str, Any]:
    """The schema of one field's value. ``stringly`` apps (Vtiger) send every value as a string;
    ``nullable`` (record outputs) lets an empty field be null."""
    desc = f.label
    if f.ref:
        desc += f" (id of a {' or '.join(f.ref)} record)"
    if f.type == "multipicklist":
        desc += " (values joined with ' |##| ')" if stringly else ""
    s: dict[str, Any]
    if stringly:
        s = {"type": "string"}
        if f.type == "date":
            s["format"] = "date"
        elif f.type == "email":
            s["format"] = "email"
        elif f.type in _JSON_TYPES:
            desc += f" ({f.type} sent as a string)"
    elif f.type == "multipicklist":
        s = {"type": "array", "items": {"type": "string"}}
        if f.picklist:
            s["items"]["enum"] = list(f.picklist)
    elif f.type in ("reference", "owner"):
        s = {"type": ref_type}
    else:
        s = {"type": _JSON_TYPES.get(f.type, "string")}
        if f.type in _FORMATS:
            s["format"] = _FORMATS[f.type]
    if f.type == "picklist" and f.picklist:
        s["enum"] = list(f.picklist)
    if f.readonly:
        desc += "; read only"
    if nullable and not stringly and f.name != "id":
        s["type"] = [s["type"], "null"]
        if "enum" in s:
            s["enum"] = [*s["enum"], None]
    s["description"] = desc
    return s


def record_schema(
    obj: ObjectDef,
    *,
    stringly: bool = False,
    fields: list[str] | None = None,
    app_name: str = "",
    ref_type: str = "string",
) -> dict[str, Any]:
    fmap = obj.field_map()
    names = fields if fields is not None else [f.name for f in obj.fields]
    props = {
        n: field_schema(fmap[n], stringly=stringly, nullable=True, ref_type=ref_type)
        for n in names
        if n in fmap
    }
    prefix = f"{app_name} " if app_name else ""
    return {
        "type": "object",
        "description": f"A {prefix}{obj.label} record.",
        "properties": props,
        "required": [n for n in ("id",) if n in props],
        "additionalProperties": True,
    }


def _input_field_schema(f: FieldDef, *, stringly: bool, ref_type: str = "string") -> dict[str, Any]:
    s = field_schema(f, stringly=False, ref_type=ref_type)
    if stringly and s.get("type") in ("number", "integer", "boolean"):
        # Vtiger takes numbers as strings too; accept both.
        s["type"] = [s["type"], "string"]
    if f.default is not None:
        s["default"] = f.default
    return s


def list_output_schema(
    obj: ObjectDef,
    *,
    stringly: bool = False,
    fields: list[str] | None = None,
    app_name: str = "",
    ref_type: str = "string",
) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "records": {
                "type": "array",
                "description": f"The {obj.label} records on this page.",
                "items": record_schema(
                    obj, stringly=stringly, fields=fields, app_name=app_name, ref_type=ref_type
                ),
            },
            "cursor": {
                "type": "string",
                "description": "Pass as `cursor` to get the next page; absent on the last page.",
            },
        },
        "required": ["records"],
        "additionalProperties": False,
    }


def paging_properties() -> dict[str, Any]:
    return {
        "limit": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PAGE,
            "default": DEFAULT_PAGE,
            "description": f"Records per page (1-{MAX_PAGE}).",
        },
        "cursor": {"type": "string", "description": "The `cursor` returned by the previous page."},
    }


def filter_schema(obj: ObjectDef, *, stringly: bool = False, ref_type: str = "string") -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in obj.fields:
        if f.type in ("text", "multipicklist"):
            continue
        s = _input_field_schema(f, stringly=stringly, ref_type=ref_type)
        s.pop("default", None)
        s["description"] = f"Only records whose {f.label} equals this value."
        props[f.name] = s
    return {
        "type": "object",
        "description": f"Exact-match filters on {obj.label} fields; all must match.",
        "properties": props,
        "additionalProperties": False,
    }


def list_input_schema(obj: ObjectDef, *, stringly: bool = False, ref_type: str = "string") -> dict[str, Any]:
    sortable = [f.name for f in obj.fields if f.type not in ("text", "multipicklist")]
    return {
        "type": "object",
        "properties": {
            **paging_properties(),
            "filters": filter_schema(obj, stringly=stringly, ref_type=ref_type),
            "sortBy": {"type": "string", "enum": sortable, "description": "Field to sort by."},
            "sortOrder": {
                "type": "string",
                "enum": ["asc", "desc"],
                "default": "asc",
                "description": "Sort direction.",
            },
        },
        "required": [],
        "additionalProperties": False,
    }


def search_input_schema(obj: ObjectDef) -> dict[str, Any]:
    text = [f.label for f in obj.fields if f.type in ("string", "email", "phone", "text")][:6]
    return {
        "type": "object",
        "properties": {
            "query": {
                "type": "string",
                "minLength": 1,
                "description": f"Text to look for (case-insensitive, partial match) in {', '.join(text)}.",
            },
            **paging_properties(),
        },
        "required": ["query"],
        "additionalProperties": False,
    }


def id_input_schema(obj: ObjectDef, id_schema: dict[str, Any], verb: str) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"id": {**id_schema, "description": f"Id of the {obj.label} record to {verb}."}},
        "required": ["id"],
        "additionalProperties": False,
    }


def create_input_schema(
    obj: ObjectDef, *, stringly: bool = False, ref_type: str = "string"
) -> dict[str, Any]:
    writable = obj.writable_fields()
    return {
        "type": "object",
        "properties": {
            f.name: _input_field_schema(f, stringly=stringly, ref_type=ref_type) for f in writable
        },
        "required": [f.name for f in writable if f.required],
        "additionalProperties": False,
    }


def update_input_schema(
    obj: ObjectDef, id_schema: dict[str, Any], *, stringly: bool = False, ref_type: str = "string"
) -> dict[str, Any]:
    props: dict[str, Any] = {"id": {**id_schema, "description": f"Id of the {obj.label} record to update."}}
    for f in obj.writable_fields():
        s = _input_field_schema(f, stringly=stringly, ref_type=ref_type)
        s.pop("default", None)
        s["description"] = f"New {s['description']}"
        props[f.name] = s
    return {"type": "object", "properties": props, "required": ["id"], "additionalProperties": False}


def delete_output_schema(id_schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "id": {**id_schema, "description": "Id of the deleted record."},
            "deleted": {"type": "boolean", "description": "True once the record is gone."},
        },
        "required": ["id", "deleted"],
        "additionalProperties": False,
    }


def count_output_schema(obj: ObjectDef) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "count": {"type": "integer", "description": f"Number of matching {obj.label} records."}
        },
        "required": ["count"],
        "additionalProperties": False,
    }


def crud_action(
    app_name: str,
    obj: ObjectDef,
    verb: str,
    id_schema: dict[str, Any],
    *,
    stringly: bool = False,
    fields: list[str] | None = None,
    key: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> ActionSpec:
    """One standard action (list/get/create/update/delete/search/count) over one object."""
    label, noun = obj.label, title(obj.singular)
    ref_type = str(id_schema.get("type", "string"))
    shown = ", ".join((fields or [f.name for f in obj.fields])[:8])
    impl: dict[str, Any] = {"op": verb, "object": obj.key}
    if fields:
        impl["fields"] = fields
    rec = record_schema(obj, stringly=stringly, fields=fields, app_name=app_name, ref_type=ref_type)
    if verb == "list":
        default_key, default_name = f"list-{obj.plural}", f"List {label}"
        default_desc = (
            f"Lists {app_name} {label} records a page at a time (fields: {shown}), "
            "with optional exact-match filters and sorting; returns records and a next-page cursor."
        )
        inp, out = (
            list_input_schema(obj, stringly=stringly, ref_type=ref_type),
            list_output_schema(obj, stringly=stringly, fields=fields, app_name=app_name, ref_type=ref_type),
        )
    elif verb == "search":
        default_key, default_name = f"search-{obj.plural}", f"Search {label}"
        default_desc = (
            f"Searches {app_name} {label} by free text (partial, case-insensitive) "
            f"and returns the matching records (fields: {shown}) with a next-page cursor."
        )
        inp, out = (
            search_input_schema(obj),
            list_output_schema(obj, stringly=stringly, fields=fields, app_name=app_name, ref_type=ref_type),
        )
    elif verb == "get":
        default_key, default_name = f"get-{obj.singular}", f"Get {noun}"
        default_desc = f"Gets one {app_name} {noun} by its id and returns the full record ({shown}, ...)."
        inp, out = id_input_schema(obj, id_schema, "get"), rec
    elif verb == "create":
        req = [f.name for f in obj.writable_fields() if f.required]
        default_key, default_name = f"create-{obj.singular}", f"Create {noun}"
        default_desc = (
            f"Creates a {app_name} {noun} from the given field values"
            f"{' (required: ' + ', '.join(req) + ')' if req else ''} and returns the new record with its id."
        )
        inp, out = create_input_schema(obj, stringly=stringly, ref_type=ref_type), rec
    elif verb == "update":
        default_key, default_name = f"update-{obj.singular}", f"Update {noun}"
        default_desc = (
            f"Updates the given fields of an existing {app_name} {noun} by id "
            "(other fields keep their values) and returns the updated record."
        )
        inp, out = update_input_schema(obj, id_schema, stringly=stringly, ref_type=ref_type), rec
    elif verb == "delete":
        default_key, default_name = f"delete-{obj.singular}", f"Delete {noun}"
        default_desc = f"Deletes a {app_name} {noun} by id and returns that id with deleted=true."
        inp, out = id_input_schema(obj, id_schema, "delete"), delete_output_schema(id_schema)
    elif verb == "count":
        default_key, default_name = f"count-{obj.plural}", f"Count {label}"
        default_desc = (
            f"Counts {app_name} {label} records, optionally only those matching exact-match filters."
        )
        inp = {
            "type": "object",
            "properties": {"filters": filter_schema(obj, stringly=stringly, ref_type=ref_type)},
            "required": [],
            "additionalProperties": False,
        }
        out = count_output_schema(obj)
    else:
        raise ValueError(f"unknown verb {verb!r}")
    return ActionSpec(
        key=key or default_key,
        name=name or default_name,
        description=description or default_desc,
        type=ACTION_TYPES[verb],
        input_schema=inp,
        output_schema=out,
        impl=impl,
    )
