"""The quick check never says yes where jsonschema finds a problem, and it is there for the schemas we serve."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from membrane_mcp.tools import validation
from membrane_mcp.tools.meta import META_TOOLS
from membrane_mcp.tools.quick_check import compile_own_quick_check, compile_quick_check
from membrane_mcp.tools.services import GatewayConfig
from membrane_mcp.tools.validation import validate_arguments
from tests.tools.test_validation import CONTACT


def _checks(schema: Any) -> tuple[Any, Any]:
    compiled = validation._compile(schema)
    assert not isinstance(compiled, str)
    return compiled


def _accepted_by_jsonschema(schema: Any, instance: Any) -> bool:
    validator, _ = _checks(schema)  # the validator validate_arguments uses (our format checker)
    return not any(True for _ in validator.iter_errors(instance))


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 60)
    | st.floats(-3, 60, allow_nan=False)
    | st.sampled_from(
        [1.0, 2.5, "GET", "POST", "", "x", "2024-05-01", "2024-05-01T10:00:00Z", "a@b.co", "/me"]
    )
    | st.text(max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["a", "b", "city", "query", "limit", "path", "connection"]), inner, max_size=4
        )
    ),
    max_leaves=10,
)

_leaf_schemas = st.one_of(
    st.booleans(),
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["string", "integer", "number", "boolean", "object", "array", "null"])
            | st.lists(
                st.sampled_from(["string", "integer", "null", "number"]), min_size=1, max_size=2, unique=True
            ),
            "enum": st.lists(st.sampled_from(["GET", "x", "", 1, None, True, 1.0]), min_size=1, max_size=3),
            "const": st.sampled_from(["x", 1, None]),
            "minimum": st.sampled_from([0, 1, 2.5]),
            "maximum": st.sampled_from([1, 50]),
            "exclusiveMinimum": st.sampled_from([0, 1]),
            "exclusiveMaximum": st.sampled_from([1, 50]),
            "minLength": st.integers(0, 2),
            "maxLength": st.integers(0, 3),
            "pattern": st.sampled_from(["^/", "x", "^\\d{4}-"]),
            "format": st.sampled_from(["date-time", "email", "date", "uri", "unknown-format"]),
            "description": st.just("annotation only"),
        },
    ),
)


def _with_children(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    names = st.sampled_from(["a", "b", "city", "query", "limit"])
    return st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "array"]),
            "properties": st.dictionaries(names, children, max_size=3),
            "required": st.lists(names, max_size=2, unique=True),
            "additionalProperties": st.booleans() | children,
            "items": children,
            "minItems": st.integers(0, 2),
            "maxItems": st.integers(0, 3),
            "minProperties": st.integers(0, 2),
            "maxProperties": st.integers(0, 3),
            "anyOf": st.lists(children, min_size=1, max_size=3),
            "allOf": st.lists(children, min_size=1, max_size=2),
        },
    )


_schemas = st.recursive(_leaf_schemas, _with_children, max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(_schemas, _values)
def test_a_yes_is_never_wrong(schema: Any, instance: Any) -> None:
    compiled = validation._compile(schema)
    assume(not isinstance(compiled, str))  # drawn schemas may break the metaschema's rules
    _, quick = compiled
    assert quick is not None  # every keyword drawn here has a quick check
    if quick(instance):
        assert _accepted_by_jsonschema(schema, instance), (schema, instance)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.sampled_from([*CONTACT["properties"], "zz"]), _values, max_size=6))
def test_validation_is_unchanged_with_the_quick_check(arguments: dict[str, Any]) -> None:
    full = validate_arguments(CONTACT, arguments)
    assert (full == []) == _accepted_by_jsonschema(CONTACT, arguments)
    assert full == validate_arguments(CONTACT, dict(reversed(arguments.items())))


def test_every_meta_tool_schema_has_a_quick_check_that_accepts_its_arguments() -> None:
    config = GatewayConfig()
    valid = {
        "search_actions": {"query": "find contacts by email", "limit": 5},
        "run_action": {"connection": "vtiger", "action": "query-records", "input": {"query": "SELECT 1;"}},
        "raw_request": {"connection": "vtiger", "method": "GET", "path": "/me", "query": {"a": 1, "b": "x"}},
    }
    for tool in META_TOOLS:
        schema = tool.input_schema(config)
        _, quick = _checks(schema)
        assert quick is not None, tool.name
        if tool.name in valid:
            assert quick(valid[tool.name]), tool.name
    _, quick = _checks(META_TOOLS.get("search_actions").input_schema(config))  # type: ignore[union-attr]
    assert not quick({"query": "x", "limit": "5"})  # a string for an integer: the full run explains it
    assert validate_arguments(
        META_TOOLS.get("search_actions").input_schema(config), {"query": "x", "limit": "5"}
    )  # type: ignore[union-attr]


def _has_format(schema: Any) -> bool:
    if isinstance(schema, list):
        return any(_has_format(part) for part in schema)
    if not isinstance(schema, dict):
        return False
    return "format" in schema or any(
        _has_format(value if key != "properties" else list(value.values())) for key, value in schema.items()
    )


@settings(max_examples=200, deadline=None)
@given(_schemas, _values)
def test_the_check_made_without_jsonschema_answers_as_the_one_made_with_it(
    schema: Any, instance: Any
) -> None:
    compiled = validation._compile(schema)
    assume(not isinstance(compiled, str))  # `own` is for valid schemas only
    own, (_, quick) = compile_own_quick_check(schema), compiled
    if not isinstance(schema, dict) or _has_format(schema):
        assert own is None  # no check of its own (a format needs jsonschema's checker): validated as before
        return
    assert own is not None and quick is not None
    assert own(instance) == quick(instance), (schema, instance)


def test_every_meta_tool_schema_is_valid_and_has_a_check_made_without_jsonschema() -> None:
    config = GatewayConfig()
    for tool in META_TOOLS:
        schema = tool.input_schema(config)
        jsonschema.Draft202012Validator.check_schema(schema)  # what `own=True` relies on
        assert jsonschema.validators.validator_for(schema) is jsonschema.Draft202012Validator
        assert compile_own_quick_check(schema) is not None, tool.name


@pytest.mark.parametrize(
    "arguments",
    [
        {"query": "x", "limit": "5"},
        {"query": ""},
        {"limit": 5},
        {"query": "x", "extra": 1},
        {"query": "x" * 201, "schemas": "yes", "limit": 0},
        {"query": 3, "app": None},
    ],
)
def test_a_meta_tools_invalid_arguments_get_the_same_messages_with_own(arguments: dict[str, Any]) -> None:
    schema = META_TOOLS.get("search_actions").input_schema(GatewayConfig())  # type: ignore[union-attr]
    expected = validate_arguments(schema, arguments)
    assert expected and validate_arguments(schema, arguments, own=True) == expected


def test_a_format_or_a_dialect_named_leaves_the_answer_to_jsonschema() -> None:
    assert compile_own_quick_check({"type": "string", "format": "email"}) is None
    assert compile_own_quick_check({"$schema": "https://json-schema.org/draft/2020-12/schema"}) is None
    assert validate_arguments(
        {"type": "object", "properties": {"a": {"format": "email"}}}, {"a": "x"}, own=True
    )


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#/$defs/a", "$defs": {"a": {"type": "string"}}},
        {"type": "number", "multipleOf": 2},
        {"type": "object", "patternProperties": {"^x": {"type": "string"}}},
        {"type": "array", "prefixItems": [{"type": "string"}]},
        {"type": "object", "properties": {"a": {"nullable": True}}},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
    ],
)
def test_schemas_beyond_its_keywords_or_dialects_get_no_quick_check(schema: dict[str, Any]) -> None:
    assert _checks(schema)[1] is None
    assert compile_own_quick_check(schema) is None


def test_draft_7_integers_written_as_floats_are_integers_but_booleans_are_not() -> None:
    schema = {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer", "minimum": 1}
    validator, quick = _checks(schema)
    assert quick is not None
    assert quick(3.0) and validator.is_valid(3.0)
    assert not quick(True) and not validator.is_valid(True)
    assert not quick(0)


def test_a_format_function_that_raises_leaves_the_answer_to_jsonschema() -> None:
    checker = jsonschema.FormatChecker(formats=())

    @checker.checks("odd")
    def _odd(value: object) -> bool:
        raise RuntimeError("broken format function")

    schema = {"type": "string", "format": "odd"}
    validator = jsonschema.Draft202012Validator(schema, format_checker=checker)
    quick = compile_quick_check(schema, validator)
    assert quick is not None
    assert quick("x") is False
