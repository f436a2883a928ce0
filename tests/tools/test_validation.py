from __future__ import annotations

from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from membrane_mcp.tools import validation
from membrane_mcp.tools.validation import validate_arguments

CONTACT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "lastname": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "limit": {"type": "integer", "minimum": 1},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "since": {"type": "string", "format": "date-time"},
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "tags": {"type": "array", "items": {"type": "string"}},
        "owner": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
    },
    "required": ["lastname"],
    "additionalProperties": False,
}


def test_valid_arguments_give_no_errors() -> None:
    args = {"lastname": "Doe", "email": "a@b.co", "limit": 5, "since": "2024-05-01T10:00:00Z", "tags": ["x"]}
    assert validate_arguments(CONTACT, args) == []


def test_every_problem_reported_at_once_with_field_paths() -> None:
    errors = validate_arguments(
        CONTACT,
        {
            "email": "x",
            "limit": 0,
            "status": "pending",
            "since": "yesterday",
            "address": {"zip": "1"},
            "tags": ["ok", 3],
            "owner": [1],
            "colour": "red",
        },
    )
    assert "missing required field `lastname`" in errors
    assert "`email`: 'x' is not a valid 'email'" in errors
    assert "`limit`: 0 is less than the minimum of 1" in errors
    assert "`status`: 'pending' is not one of ['open', 'closed']" in errors
    assert "`since`: 'yesterday' is not a valid 'date-time'" in errors
    assert "missing required field `address.city`" in errors
    assert "unexpected field `address.zip`" in errors
    assert "`tags[1]`: 3 is not of type 'string'" in errors
    assert "unexpected field `colour`" in errors
    assert any(e.startswith("`owner`: [1] does not match any allowed form") for e in errors)
    assert len(errors) == 10


def test_arguments_must_be_an_object() -> None:
    assert validate_arguments(CONTACT, ["Doe"]) == ["arguments must be a JSON object, got list ['Doe']"]
    assert validate_arguments({"type": "object"}, None) == []
    assert validate_arguments(CONTACT, None) == ["missing required field `lastname`"]


def test_non_object_schema_validates_the_value_itself() -> None:
    schema = {"type": "array", "items": {"type": "string", "format": "email"}}
    assert validate_arguments(schema, ["a@b.co"]) == []
    assert validate_arguments(schema, ["x"]) == ["`[0]`: 'x' is not a valid 'email'"]
    assert validate_arguments({"type": "string"}, None) == ["None is not of type 'string'"]


def test_invalid_schema_returns_a_message_instead_of_raising() -> None:
    [message] = validate_arguments({"type": "object", "properties": {"a": {"type": "strin"}}}, {"a": 1})
    assert "input schema is invalid" in message
    assert "properties.a.type" in message
    [message] = validate_arguments(
        {"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}, {"a": 1}
    )
    assert "could not be applied" in message
    assert validate_arguments("nope", {}) == ["the tool's input schema is not a JSON object (str)"]  # type: ignore[arg-type]


def test_oneof_matching_twice_is_explained() -> None:
    schema = {"type": "object", "properties": {"v": {"oneOf": [{"type": "integer"}, {"type": "number"}]}}}
    [message] = validate_arguments(schema, {"v": 1})
    assert message.startswith("`v`: 1 matches more than one allowed form")


def test_huge_values_are_clipped_in_messages() -> None:
    [message] = validate_arguments(
        CONTACT | {"required": []}, {"lastname": "x" * 10_000, "limit": "y" * 10_000}
    )
    assert len(message) < 200


def test_validators_are_cached_by_content() -> None:
    validation._cache.clear()
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    validate_arguments(schema, {"n": 1})
    validate_arguments(dict(schema), {"n": "x"})
    assert len(validation._cache) == 1


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "city"]), inner),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from([*CONTACT["properties"], "zz"]), _values, max_size=6))
def test_no_errors_exactly_when_jsonschema_accepts(arguments: dict[str, Any]) -> None:
    errors = validate_arguments(CONTACT, arguments)
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    accepted = jsonschema.Draft202012Validator(CONTACT, format_checker=checker).is_valid(arguments)
    if accepted:
        # Our checker additionally checks date-time, which jsonschema skips without optional packages.
        assert all("date-time" in e for e in errors)
    else:
        assert errors
    assert errors == validate_arguments(CONTACT, dict(reversed(arguments.items())))
