from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membrane_mcp.tools.schema import (
    PERMISSIVE_OBJECT_SCHEMA,
    compact_schema,
    resolve_refs,
    sanitize_input_schema,
)

Schema = dict[str, Any]


def _keys_anywhere(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys_anywhere(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys_anywhere(v)}
    return set()


def _keywords(schema: Any) -> set[str]:
    """Keywords used anywhere a subschema can appear (property *names* and data values are not keywords)."""
    if not isinstance(schema, dict):
        return set()
    found = set(schema)
    for key, value in schema.items():
        if key in ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas"):
            found |= {k for sub in value.values() for k in _keywords(sub)}
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems"):
            found |= {k for sub in value for k in _keywords(sub)}
        elif key in (
            "items",
            "additionalProperties",
            "not",
            "if",
            "then",
            "else",
            "contains",
            "propertyNames",
        ):
            found |= _keywords(value)
    return found


def _property_paths(schema: Any, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Property-name paths; combinator branches and array items do not add a path component."""
    if not isinstance(schema, dict):
        return set()
    paths: set[tuple[str, ...]] = set()
    for name, sub in (schema.get("properties") or {}).items():
        paths.add((*prefix, name))
        paths |= _property_paths(sub, (*prefix, name))
    for key in ("anyOf", "oneOf", "allOf"):
        for branch in schema.get(key) or []:
            if not prefix and isinstance(branch, dict) and branch.get("type", "object") != "object":
                continue  # a root branch that can never match an arguments object is dropped on purpose
            paths |= _property_paths(branch, prefix)
    paths |= _property_paths(schema.get("items"), prefix)
    return paths


def _validator(schema: Any) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _accepts(schema: Any, instance: Any) -> bool:
    return _validator(schema).is_valid(instance)


# --- example tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("schema", [None, "string", 3, ["a"], True])
def test_missing_or_non_dict_becomes_permissive_object(schema: Any) -> None:
    result = sanitize_input_schema(schema)
    assert result.schema == PERMISSIVE_OBJECT_SCHEMA
    assert result.wrapped_key is None
    assert len(result.changes) == 1


def test_clean_schema_is_untouched_and_lossless() -> None:
    schema: Schema = {
        "type": "object",
        "description": "Create a lead",
        "properties": {
            "email": {
                "type": "string",
                "format": "email",
                "description": "Work email",
                "examples": ["a@b.co"],
            },
            "status": {"type": "string", "enum": ["new", "hot"], "default": "new"},
            "x-custom": {"type": "object", "properties": {"cf_123": {"type": "string"}}},
            "owner": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["email"],
        "additionalProperties": False,
    }
    original = copy.deepcopy(schema)
    result = sanitize_input_schema(schema)
    assert result.schema == original
    assert result.changes == ()
    assert schema == original


def test_root_schema_and_id_are_dropped() -> None:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x", "type": "object"}
    result = sanitize_input_schema(schema)
    assert result.schema == {"type": "object", "properties": {}}
    assert any("$schema" in c for c in result.changes)
    assert any("$id" in c for c in result.changes)


def test_root_without_type_but_with_properties_gets_object() -> None:
    result = sanitize_input_schema({"properties": {"a": {"type": "string"}}})
    assert result.schema == {"properties": {"a": {"type": "string"}}, "type": "object"}
    assert result.changes == ("Added `type: object` to the root.",)


def test_nullable_object_root_narrowed() -> None:
    result = sanitize_input_schema({"type": ["object", "null"], "properties": {}})
    assert result.schema["type"] == "object"


def test_refs_inlined_with_siblings() -> None:
    schema: Schema = {
        "type": "object",
        "$defs": {"Email": {"type": "string", "format": "email", "description": "An email"}},
        "definitions": {"Name": {"type": "string", "minLength": 1}},
        "properties": {
            "primary": {"$ref": "#/$defs/Email", "description": "Primary email"},
            "name": {"$ref": "#/definitions/Name", "maxLength": 5},
            "plain": {"$ref": "#/$defs/Email"},
        },
    }
    result = sanitize_input_schema(schema)
    props = result.schema["properties"]
    assert props["primary"] == {"type": "string", "format": "email", "description": "Primary email"}
    assert props["name"] == {"maxLength": 5, "allOf": [{"type": "string", "minLength": 1}]}
    assert props["plain"] == {"type": "string", "format": "email", "description": "An email"}
    assert "$defs" not in result.schema and "definitions" not in result.schema
    assert _accepts(result.schema, {"name": "abc"}) and not _accepts(result.schema, {"name": "abcdef"})
    assert not _accepts(result.schema, {"name": ""})


def test_legacy_draft_ignores_ref_siblings() -> None:
    schema: Schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "definitions": {"S": {"type": "string"}},
        "properties": {"a": {"$ref": "#/definitions/S", "maxLength": 1, "description": "d"}},
    }
    resolved = resolve_refs(schema)
    assert resolved["properties"]["a"] == {"type": "string", "description": "d"}
    assert _accepts(resolved, {"a": "long"}) == _accepts(schema, {"a": "long"}) is True


def test_ref_like_keys_in_data_are_not_touched() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "$ref": {"type": "string"},
            "payload": {"type": "object", "default": {"$ref": "#/nowhere"}, "enum": [{"$ref": "x"}]},
            "definitions": {"type": "string"},
        },
    }
    result = sanitize_input_schema(schema)
    assert result.schema == schema
    assert resolve_refs(schema) == schema


def test_recursive_ref_expanded_then_placeholder() -> None:
    schema: Schema = {
        "type": "object",
        "$defs": {
            "Node": {
                "type": "object",
                "title": "Tree node",
                "properties": {
                    "name": {"type": "string"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
        "properties": {"root": {"$ref": "#/$defs/Node"}},
    }
    result = sanitize_input_schema(schema)
    text = json.dumps(result.schema)
    assert not {"$ref", "$defs"} & _keywords(result.schema)
    assert "Tree node (recursive; see #/$defs/Node)" in text
    assert any("Recursive" in c for c in result.changes)
    jsonschema.Draft202012Validator.check_schema(result.schema)

    resolved = resolve_refs(schema)
    assert "$defs" in resolved
    deep = {
        "root": {
            "name": "a",
            "children": [{"name": "b", "children": [{"name": "c", "children": [{"name": 1}]}]}],
        }
    }
    assert not _accepts(resolved, deep)
    assert _accepts(schema, deep) == _accepts(resolved, deep)


def test_root_self_reference() -> None:
    schema: Schema = {"type": "object", "properties": {"parent": {"$ref": "#"}, "id": {"type": "integer"}}}
    result = sanitize_input_schema(schema)
    assert "$ref" not in json.dumps(result.schema)
    assert result.schema["properties"]["parent"]["properties"]["id"] == {"type": "integer"}


def test_unresolvable_refs_become_unconstrained() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {
            "remote": {"$ref": "https://example.com/schema.json", "description": "Remote"},
            "dangling": {"$ref": "#/$defs/Nope"},
        },
    }
    result = sanitize_input_schema(schema)
    assert result.schema["properties"] == {"remote": {"description": "Remote"}, "dangling": {}}
    assert any("Could not resolve" in c for c in result.changes)
    assert resolve_refs(schema)["properties"]["dangling"] == {}


def test_non_object_root_is_wrapped() -> None:
    schema = {
        "$defs": {"S": {"type": "string"}},
        "type": "array",
        "items": {"$ref": "#/$defs/S"},
        "description": "Ids",
    }
    result = sanitize_input_schema(schema)
    assert result.wrapped_key == "input"
    assert result.schema["required"] == ["input"]
    assert result.schema["properties"]["input"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Ids",
    }
    assert _accepts(result.schema, {"input": ["a"]})


def test_root_anyof_of_scalars_is_wrapped() -> None:
    result = sanitize_input_schema({"anyOf": [{"type": "string"}, {"type": "integer"}]})
    assert result.wrapped_key == "input"
    assert result.schema["properties"]["input"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}


def test_top_level_oneof_lifted() -> None:
    schema: Schema = {
        "type": "object",
        "properties": {"fields": {"type": "array", "items": {"type": "string"}}},
        "oneOf": [
            {"title": "By id", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            {
                "properties": {"email": {"type": "string", "format": "email"}, "id": {"type": "integer"}},
                "required": ["email"],
            },
            {"type": "string"},
        ],
    }
    result = sanitize_input_schema(schema)
    out = result.schema
    assert not {"oneOf", "anyOf", "allOf"} & set(out)
    assert set(out["properties"]) == {"fields", "id", "email"}
    assert out["properties"]["id"] == {"anyOf": [{"type": "string"}, {"type": "integer"}]}
    assert "required" not in out
    assert "exactly one must match" in out["description"]
    assert "1. By id: requires `id`." in out["description"]
    assert "2. requires `email`; optional `id`." in out["description"]
    assert any("Dropped 1" in c for c in result.changes)
    jsonschema.Draft202012Validator.check_schema(out)


def test_top_level_anyof_required_is_intersection_and_additional_properties_kept_when_all_closed() -> None:
    schema: Schema = {
        "anyOf": [
            {
                "type": "object",
                "properties": {"a": {}, "k": {}},
                "required": ["k", "a"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"b": {}, "k": {}},
                "required": ["k", "b"],
                "additionalProperties": False,
            },
        ]
    }
    out = sanitize_input_schema(schema).schema
    assert out["required"] == ["k"]
    assert out["additionalProperties"] is False
    assert "at least one must match" in out["description"]


def test_top_level_allof_merged() -> None:
    schema: Schema = {
        "description": "Update a deal",
        "allOf": [
            {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]},
            {"properties": {"amount": {"type": "number"}, "id": {"minLength": 3}}, "required": ["amount"]},
        ],
    }
    out = sanitize_input_schema(schema).schema
    assert out["type"] == "object"
    assert out["required"] == ["id", "amount"]
    assert out["properties"]["id"] == {"allOf": [{"type": "string"}, {"minLength": 3}]}
    assert out["description"] == "Update a deal"


def test_invalid_schema_falls_back_to_permissive() -> None:
    result = sanitize_input_schema(
        {"type": "object", "properties": {"a": {"type": "number", "exclusiveMinimum": True}}}
    )
    assert result.schema == PERMISSIVE_OBJECT_SCHEMA
    assert "not valid JSON Schema 2020-12" in result.changes[-1]


def test_input_is_not_mutated() -> None:
    schema: Schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$defs": {"A": {"type": "string"}},
        "oneOf": [{"properties": {"a": {"$ref": "#/$defs/A"}}}, {"properties": {"b": {"$ref": "#/$defs/A"}}}],
    }
    before = copy.deepcopy(schema)
    sanitize_input_schema(schema)
    resolve_refs(schema)
    assert schema == before


# --- property tests ------------------------------------------------------------------------------

_NAMES = ["id", "email", "name", "status", "tags", "address", "city", "when", "amount", "$ref", "definitions"]
_FORMATS = ["email", "date", "uuid", "ipv4"]
_SAMPLE_STRINGS = ["", "a@b.co", "not an email", "2024-01-31", "2024-13-40", "1.2.3.4",
                   "0f6c1c9e-7c1e-4b5a-9b6e-2f8a1c7d9e10", "open", "closed", "abcdefghijk"]  # fmt: skip


def _leaf() -> st.SearchStrategy[Schema]:
    # Some labels that compacting drops for some property names ("Email" for email) or actions.
    labels = st.sampled_from(["d", "Some text", "Email", "Id of the record to delete.", "New Status"])
    annotations = st.fixed_dictionaries({}, optional={"description": labels})
    string = st.fixed_dictionaries(
        {"type": st.just("string")},
        optional={
            "format": st.sampled_from(_FORMATS),
            "minLength": st.integers(0, 3),
            "maxLength": st.integers(3, 12),
        },
    )
    number = st.fixed_dictionaries(
        {"type": st.sampled_from(["integer", "number"])},
        optional={"minimum": st.integers(-2, 2), "default": st.just(0)},
    )
    enum = st.fixed_dictionaries(
        {"enum": st.lists(st.sampled_from(["open", "closed", 1, None]), min_size=1, unique=True)}
    )
    boolean = st.just({"type": "boolean"})
    return st.tuples(st.one_of(string, number, enum, boolean), annotations).map(lambda t: {**t[0], **t[1]})


_REF_SIBLINGS: list[Schema] = [
    {},
    {"description": "via ref"},
    {"minLength": 2},
    {"allOf": [{"not": {"type": "null"}}]},
]


@st.composite
def _node(draw: st.DrawFn, refs: tuple[str, ...], depth: int) -> Schema:
    kinds = ["leaf", *(["ref"] if refs else []), *(["object", "array", "anyOf"] if depth > 0 else [])]
    kind = draw(st.sampled_from(kinds))
    if kind == "leaf":
        return draw(_leaf())
    if kind == "ref":
        return {"$ref": draw(st.sampled_from(refs)), **draw(st.sampled_from(_REF_SIBLINGS))}
    if kind == "array":
        return {"type": "array", "items": draw(_node(refs, depth - 1))}
    if kind == "anyOf":
        return {"anyOf": [draw(_node(refs, depth - 1)) for _ in range(draw(st.integers(2, 3)))]}
    return draw(_object(refs, depth - 1))


@st.composite
def _object(draw: st.DrawFn, refs: tuple[str, ...], depth: int, max_size: int = 3) -> Schema:
    names = draw(st.lists(st.sampled_from(_NAMES), unique=True, max_size=max_size))
    out: Schema = {"type": "object", "properties": {name: draw(_node(refs, depth)) for name in names}}
    if names:
        out["required"] = draw(st.lists(st.sampled_from(names), unique=True, max_size=2))
    extra = draw(st.sampled_from([None, False, True, {"type": "string"}]))
    if extra is not None:
        out["additionalProperties"] = extra
    return out


def _pointer(container: str, name: str) -> str:
    return f"#/{container}/{name.replace('~', '~0').replace('/', '~1')}"


_ALL_SHAPES = ("object", "object", "object", "untyped", "anyOf", "oneOf", "allOf", "scalar")


@st.composite
def schemas(draw: st.DrawFn, shapes: tuple[str, ...] = _ALL_SHAPES) -> Schema:
    defs: dict[str, Schema] = {}
    container = draw(st.sampled_from(["$defs", "definitions"]))
    for name in draw(st.lists(st.sampled_from(["A", "B", "C~x", "D/y"]), unique=True, max_size=3)):
        defs[name] = draw(_node(tuple(_pointer(container, n) for n in defs), 1))
    refs = tuple(_pointer(container, n) for n in defs)
    root = draw(_object(refs, 2, max_size=5))
    shape = draw(st.sampled_from(shapes))
    if shape == "untyped":
        del root["type"]
    elif shape in ("anyOf", "oneOf", "allOf"):
        branches = [draw(_node(refs, 1)) for _ in range(draw(st.integers(0, 2)))]
        root[shape] = [*branches, draw(_object(refs, 1))]
    elif shape == "scalar":
        root = draw(_leaf())
    if defs:
        root[container] = defs
    if draw(st.booleans()):
        root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return root


def _instances(schema: Schema) -> st.SearchStrategy[Any]:
    names = sorted({p[-1] for p in _property_paths(resolve_refs(schema))} | {"zz"})
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from(_SAMPLE_STRINGS))
    values = st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(names), inner, max_size=4)
        ),
        max_leaves=6,
    )
    return st.dictionaries(st.sampled_from(names), values, max_size=5)


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@_SETTINGS
@given(schemas())
def test_sanitized_schema_is_host_acceptable_and_lossless(schema: Schema) -> None:
    before = copy.deepcopy(schema)
    result = sanitize_input_schema(schema)
    out = result.schema
    assert schema == before

    jsonschema.Draft202012Validator.check_schema(out)
    assert out["type"] == "object"
    assert not {"anyOf", "oneOf", "allOf", "$schema", "$id"} & set(out)
    assert not {"$ref", "$defs", "definitions"} & _keywords(out)

    original_paths = _property_paths(resolve_refs(schema))
    kept = _property_paths(out)
    if result.wrapped_key:
        kept = {p[1:] for p in kept if p[:1] == (result.wrapped_key,)}
    assert original_paths <= kept


@settings(_SETTINGS, max_examples=40)
@given(st.data())
def test_sanitized_and_resolved_accept_the_same_instances(data: st.DataObject) -> None:
    schema = data.draw(schemas(shapes=("object", "untyped")))
    result = sanitize_input_schema(schema)
    assert result.wrapped_key is None
    resolved = resolve_refs(schema)
    assert "$ref" not in _keywords(resolved)
    validators = [_validator(s) for s in (result.schema, resolved, schema)]
    instances = _instances(schema)
    for _ in range(5):
        instance = data.draw(instances)
        verdicts = {v.is_valid(instance) for v in validators}
        assert len(verdicts) == 1, instance


def test_compacting_drops_additional_properties_true_unless_an_unevaluated_properties_sees_it():
    open_object = {"type": "object", "properties": {"a": {"type": "object", "additionalProperties": True}}}
    assert compact_schema(open_object) == {"type": "object", "properties": {"a": {"type": "object"}}}
    assert compact_schema(PERMISSIVE_OBJECT_SCHEMA) == {"type": "object", "properties": {}}
    # Here `additionalProperties: true` marks `b` as evaluated: without it, unevaluatedProperties rejects b.
    guarded = {
        "type": "object",
        "allOf": [{"properties": {"a": {}}, "additionalProperties": True}],
        "unevaluatedProperties": False,
    }
    assert compact_schema(guarded) == guarded
    jsonschema.validate({"b": 1}, compact_schema(guarded))
    assert compact_schema({"additionalProperties": False}) == {"additionalProperties": False}


@settings(_SETTINGS, max_examples=40)
@given(st.data())
def test_compacted_schema_accepts_the_same_instances(data: st.DataObject) -> None:
    schema = sanitize_input_schema(data.draw(schemas(shapes=("object", "untyped")))).schema
    action = data.draw(st.sampled_from(["", "Delete Record", "Get Email"]))
    validators = [_validator(s) for s in (schema, compact_schema(schema, action))]
    instances = _instances(schema)
    for _ in range(5):
        instance = data.draw(instances)
        verdicts = {v.is_valid(instance) for v in validators}
        assert len(verdicts) == 1, instance


def _described(description: str, name: str = "id") -> Schema:
    return {"type": "object", "properties": {name: {"type": "string", "description": description}}}


@pytest.mark.parametrize(
    ("description", "name", "action"),
    [
        ("Id of the Assets record to delete.", "id", "Delete Asset"),
        ("Id of the Opportunities record to get.", "id", "Get Opportunity"),
        ("New Assigned User (id of a User record)", "assigned_user_id", ""),
        ("Field to sort by.", "sortBy", ""),
        ("Billing Street", "billing_address_street", ""),
    ],
)
def test_compacting_drops_a_label_of_names_and_connectives(description: str, name: str, action: str) -> None:
    assert compact_schema(_described(description, name), action)["properties"][name] == {"type": "string"}


@pytest.mark.parametrize(
    ("description", "name", "action"),
    [
        ("Id of the parent record.", "id", "List Related Records"),  # 'parent' says which record
        ("Id of the Assets record to delete.", "id", ""),  # no action: the asset is news
        ("Note", "description", "Create Note"),  # no word of its own name: another name for the field
        ("Owner (id of a User record)", "owner_id", ""),  # the record's kind
        ("Records per page (1-100).", "limit", "List Assets"),
        ("Sort direction.", "sortOrder", ""),
    ],
)
def test_compacting_keeps_a_description_that_says_more_than_the_names(
    description: str, name: str, action: str
) -> None:
    kept = compact_schema(_described(description, name), action)["properties"][name]
    assert kept["description"] == description


def test_compacting_with_an_action_leaves_nested_properties_to_their_own_names() -> None:
    schema = {
        "type": "object",
        "properties": {"filters": {"type": "object", "properties": {"id": {"type": "string",
                       "description": "Id of the Assets record to delete."}}}},
    }  # fmt: skip
    assert compact_schema(schema, "Delete Asset") == schema
