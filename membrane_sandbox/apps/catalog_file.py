"""An app's data file (``membrane_sandbox/catalogs/<app>.yaml``) read into a `Catalog`.

The file is what a person edits: the app's objects, their fields and picklists, and the handful of
app-specific operations with their schemas. The per-object record actions (list, get, create, update,
delete and search) are derived here at load time with ``schemas.crud_action``, so they always agree
with the objects. The format is described at the top of each data file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

import yaml

from membrane_sandbox.apps.base import ActionSpec
from membrane_sandbox.apps.catalog import FIELD_TYPES, Catalog, FieldDef, ObjectDef
from membrane_sandbox.apps.schemas import ACTION_TYPES, crud_action

OperationValues = Callable[[Sequence[ObjectDef]], Mapping[str, Any]]

_APP_KEYS = {"key", "name", "description", "logo_uri", "base_url"}
_FILE_KEYS = _APP_KEYS | {"id_field", "common_fields", "record_actions", "picklists", "objects", "operations"}
_OBJECT_KEYS = {
    "label",
    "singular",
    "plural",
    "name_field",
    "synonyms",
    "seed_count",
    "searchable",
    "ops",
    "common_fields",
    "extra",
    "fields",
}
_FIELD_KEYS = {"label", "type", "required", "readonly", "picklist", "ref", "gen", "default"}
_OPERATION_KEYS = {"key", "name", "type", "op", "description", "input_schema", "output_schema"}
_RECORD_VERBS = ("list", "get", "create", "update", "delete", "search", "count")
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


class CatalogFileError(ValueError):
    """A data file that cannot be read as a catalog; the message names the file and the entry."""


class _DataLoader(yaml.CSafeLoader if hasattr(yaml, "CSafeLoader") else yaml.SafeLoader):  # type: ignore[misc]
    """YAML with only true/false as booleans, so a picklist value like ``on`` or ``No`` stays a string."""


_DataLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_DataLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|false)$"), list("tf"))


def read_data_file(file_stem: str) -> dict[str, Any]:
    """The parsed ``catalogs/<file_stem>.yaml``."""
    text = resources.files("membrane_sandbox").joinpath("catalogs", f"{file_stem}.yaml").read_text("utf-8")
    data = yaml.load(text, Loader=_DataLoader)
    if not isinstance(data, dict):
        raise CatalogFileError(f"catalogs/{file_stem}.yaml: expected a mapping at the top level")
    return data


@cache
def load_catalog(file_stem: str, *, values: OperationValues | None = None, stringly: bool = False) -> Catalog:
    """Read ``catalogs/<file_stem>.yaml`` once per process and derive its actions.

    ``values`` computes, from the objects, the names an operation's schema may use as ``${name}``;
    ``stringly`` is the app's value style (Vtiger sends every value as a string).
    """
    return build_catalog(read_data_file(file_stem), f"catalogs/{file_stem}.yaml", values, stringly)


def build_catalog(
    data: Mapping[str, Any], source: str, values: OperationValues | None = None, stringly: bool = False
) -> Catalog:
    _check_keys(data, _FILE_KEYS, source)
    missing = sorted(_APP_KEYS - data.keys())
    if missing:
        raise CatalogFileError(f"{source}: missing {', '.join(missing)}")
    objects = _objects(data, source)
    actions = _record_actions(data, objects, source, stringly)
    named = dict(values(objects)) if values else {}
    for index, entry in enumerate(data.get("operations") or []):
        actions.append(_operation(entry, named, f"{source}: operations[{index}]"))
    keys = [a.key for a in actions]
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        raise CatalogFileError(f"{source}: action keys used twice: {', '.join(repeated)}")
    return Catalog(
        key=str(data["key"]),
        name=str(data["name"]),
        description=str(data["description"]),
        logo_uri=str(data["logo_uri"]),
        base_url=str(data["base_url"]),
        objects=tuple(objects),
        actions=tuple(actions),
    )


# ---- objects ---------------------------------------------------------------------------------


def _objects(data: Mapping[str, Any], source: str) -> list[ObjectDef]:
    picklists = data.get("picklists") or {}
    for name, options in picklists.items():
        _check_strings(options, f"{source}: picklists.{name}")
    id_spec = data.get("id_field") or {"label": "ID", "type": "string"}
    id_field = replace(_field("id", id_spec, {}, f"{source}: id_field"), readonly=True)
    common = {
        name: _field(name, spec, picklists, f"{source}: common_fields.{name}")
        for name, spec in (data.get("common_fields") or {}).items()
    }
    objects = []
    for key, spec in (data.get("objects") or {}).items():
        where = f"{source}: objects.{key}"
        if not isinstance(spec, dict):
            raise CatalogFileError(f"{where}: expected a mapping")
        _check_keys(spec, _OBJECT_KEYS, where)
        taken = spec.get("common_fields", list(common))
        unknown = [name for name in taken if name not in common]
        if unknown:
            raise CatalogFileError(f"{where}.common_fields: no common field {', '.join(unknown)}")
        own = [
            _field(name, field, picklists, f"{where}.fields.{name}")
            for name, field in (spec.get("fields") or {}).items()
        ]
        fields = (id_field, *own, *(common[name] for name in taken))
        ops = tuple(spec.get("ops", ("list", "get", "create", "update", "delete")))
        bad_ops = [op for op in ops if op not in _RECORD_VERBS]
        if bad_ops:
            raise CatalogFileError(
                f"{where}.ops: unknown {', '.join(bad_ops)} (known: {', '.join(_RECORD_VERBS)})"
            )
        obj = ObjectDef(
            key=str(key),
            label=str(spec["label"]),
            singular=str(spec["singular"]),
            plural=str(spec["plural"]),
            fields=fields,
            name_field=str(spec["name_field"]),
            synonyms=tuple(_check_strings(spec.get("synonyms", []), f"{where}.synonyms")),
            seed_count=int(spec.get("seed_count", 25)),
            searchable=bool(spec.get("searchable", False)),
            ops=ops,
            extra=dict(spec.get("extra") or {}),
        )
        if obj.field(obj.name_field) is None:
            raise CatalogFileError(f"{where}.name_field: no field {obj.name_field!r}")
        objects.append(obj)
    keys = {o.key for o in objects}
    for obj in objects:
        for f in obj.fields:
            dangling = [ref for ref in f.ref if ref not in keys]
            if dangling:
                raise CatalogFileError(
                    f"{source}: objects.{obj.key}.fields.{f.name}: no object {dangling[0]!r}"
                )
    return objects


def _field(name: str, spec: Any, picklists: Mapping[str, Any], where: str) -> FieldDef:
    if not isinstance(spec, dict):
        raise CatalogFileError(f"{where}: expected a mapping like {{label: ..., type: string}}")
    _check_keys(spec, _FIELD_KEYS, where)
    if spec.get("type") not in FIELD_TYPES:
        raise CatalogFileError(
            f"{where}.type: {spec.get('type')!r} is not one of {', '.join(sorted(FIELD_TYPES))}"
        )
    picklist = spec.get("picklist", ())
    if isinstance(picklist, str):
        if picklist not in picklists:
            raise CatalogFileError(f"{where}.picklist: no picklist named {picklist!r} under picklists")
        picklist = picklists[picklist]
    ref = spec.get("ref", ())
    return FieldDef(
        name=str(name),
        label=str(spec.get("label", name)),
        type=spec["type"],
        required=bool(spec.get("required", False)),
        readonly=bool(spec.get("readonly", False)),
        picklist=tuple(_check_strings(picklist, f"{where}.picklist")),
        ref=(ref,) if isinstance(ref, str) else tuple(_check_strings(ref, f"{where}.ref")),
        gen=spec.get("gen"),
        default=spec.get("default"),
    )


# ---- actions ---------------------------------------------------------------------------------


def _record_actions(
    data: Mapping[str, Any], objects: Sequence[ObjectDef], source: str, stringly: bool
) -> list[ActionSpec]:
    """list/get/create/update/delete (as the object's ``ops`` say) and search (when ``searchable``)."""
    settings = data.get("record_actions")
    if settings is None:
        return []
    id_schema = dict(settings.get("id_schema") or {"type": "string"})
    app_name = str(data["name"])
    actions = []
    for obj in objects:
        for verb in (*obj.ops, *(("search",) if obj.searchable else ())):
            action = crud_action(app_name, obj, verb, id_schema, stringly=stringly)
            if "singleton_id" in obj.extra:
                action = _singleton(action, obj, app_name)
            actions.append(action)
    return actions


def _singleton(action: ActionSpec, obj: ObjectDef, app_name: str) -> ActionSpec:
    """get/update of a settings object that has one record: no id in the input, the id lives in impl."""
    inp = dict(action.input_schema)
    props = {k: v for k, v in inp["properties"].items() if k != "id"}
    inp = {**inp, "properties": props, "required": [r for r in inp.get("required", []) if r != "id"]}
    description = (
        f"Gets {app_name} {obj.label} and returns every setting."
        if action.key.startswith("get-")
        else f"Updates the given {app_name} {obj.label} (others keep their values) and returns all settings."
    )
    return ActionSpec(
        key=action.key,
        name=action.name,
        description=description,
        type=action.type,
        input_schema=inp,
        output_schema=action.output_schema,
        impl={**action.impl, "id": obj.extra["singleton_id"]},
    )


def _operation(entry: Any, named: Mapping[str, Any], where: str) -> ActionSpec:
    if not isinstance(entry, dict):
        raise CatalogFileError(f"{where}: expected a mapping")
    _check_keys(entry, _OPERATION_KEYS, where)
    missing = sorted(_OPERATION_KEYS - entry.keys())
    if missing:
        raise CatalogFileError(f"{where}: missing {', '.join(missing)}")
    where = f"{where} ({entry['key']})"
    if entry["type"] not in {*ACTION_TYPES.values(), "connector-operation"}:
        raise CatalogFileError(f"{where}.type: {entry['type']!r} is not a Membrane action type used here")
    return ActionSpec(
        key=str(entry["key"]),
        name=str(entry["name"]),
        description=_fill(entry["description"], named, where),
        type=str(entry["type"]),
        input_schema=_fill(entry["input_schema"], named, where),
        output_schema=_fill(entry["output_schema"], named, where),
        impl={"op": str(entry["op"])},
    )


def _fill(value: Any, named: Mapping[str, Any], where: str) -> Any:
    """Replace ``${name}`` by a value computed from the objects: a whole-string placeholder takes the
    value itself (a list, for an enum); inside text, a list is joined with ", "."""
    if isinstance(value, dict):
        return {k: _fill(v, named, where) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, named, where) for v in value]
    if not isinstance(value, str) or "${" not in value:
        return value

    def lookup(name: str) -> Any:
        if name not in named:
            known = ", ".join(sorted(named)) or "none"
            raise CatalogFileError(f"{where}: unknown placeholder ${{{name}}} (known: {known})")
        return named[name]

    whole = _PLACEHOLDER.fullmatch(value)
    if whole:
        return lookup(whole.group(1))

    def text(match: re.Match[str]) -> str:
        found = lookup(match.group(1))
        return ", ".join(map(str, found)) if isinstance(found, list | tuple) else str(found)

    return _PLACEHOLDER.sub(text, value)


# ---- checks ----------------------------------------------------------------------------------


def _check_keys(spec: Mapping[str, Any], known: set[str], where: str) -> None:
    unknown = sorted(set(spec) - known)
    if unknown:
        raise CatalogFileError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})"
        )


def _check_strings(values: Any, where: str) -> list[str]:
    if not isinstance(values, list | tuple):
        raise CatalogFileError(f"{where}: expected a list of strings")
    odd = [v for v in values if not isinstance(v, str)]
    if odd:
        raise CatalogFileError(f"{where}: {odd[0]!r} is not a string; quote it")
    return list(values)
