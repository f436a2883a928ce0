"""Property tests that complement tests/tools: naming on arbitrary Unicode keys, and schema
sanitising over every real catalog action of the sandbox apps (Vtiger, 1CRM, Bigtincan)."""

from __future__ import annotations

import random
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membrane_mcp.tools.naming import MAX_TOOL_NAME_LENGTH, TOOL_NAME_PATTERN, NameRequest, assign_tool_names
from membrane_mcp.tools.schema import resolve_refs, sanitize_input_schema
from membrane_sandbox.apps import load_apps

# Any Unicode (control characters, combining marks, RTL, emoji, fullwidth forms), not just ASCII keys.
_text = st.text(min_size=0, max_size=60)
_requests = st.lists(st.builds(NameRequest, _text, _text, _text), max_size=25)


@settings(max_examples=100, deadline=None)
@given(_requests, st.randoms(use_true_random=False))
def test_names_from_arbitrary_unicode_are_unique_valid_short_and_stable(
    requests: list[NameRequest], rng: random.Random
) -> None:
    names = assign_tool_names(requests)
    assert set(names) == set(requests)
    assert len(set(names.values())) == len(names)
    for name in names.values():
        assert TOOL_NAME_PATTERN.match(name), repr(name)
        assert 0 < len(name) <= MAX_TOOL_NAME_LENGTH
    shuffled = list(requests)
    rng.shuffle(shuffled)
    assert assign_tool_names(shuffled) == names
    assert assign_tool_names(requests) == names  # the same catalog always gets the same names


_SPECS = [(key, spec) for key, app in sorted(load_apps().items()) for spec in app.actions()]


def _properties(schema: dict[str, Any]) -> set[str]:
    return set((schema.get("properties") or {}).keys())


@pytest.mark.parametrize("app", sorted({key for key, _ in _SPECS}))
def test_every_real_catalog_schema_sanitises_to_valid_lossless_json_schema(app: str) -> None:
    specs = [spec for key, spec in _SPECS if key == app]
    assert specs
    for spec in specs:
        result = sanitize_input_schema(spec.input_schema)
        jsonschema.Draft202012Validator.check_schema(result.schema)
        assert result.schema["type"] == "object", spec.key
        kept = _properties(result.schema)
        if result.wrapped_key:
            kept = _properties(result.schema["properties"][result.wrapped_key])
        assert _properties(resolve_refs(spec.input_schema)) <= kept, spec.key


_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=False, width=32) | st.text(max_size=12)
    | st.sampled_from(["12x34", "Accounts", "Contacts", "a@b.co", "2024-01-31", "0f6c1c9e-7c1e-4b5a-9b6e-2f8a1c7d9e10"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=5,
)  # fmt: skip


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_sanitised_real_schemas_accept_the_same_instances(data: st.DataObject) -> None:
    _, spec = data.draw(st.sampled_from(_SPECS))
    result = sanitize_input_schema(spec.input_schema)
    names = sorted(_properties(resolve_refs(spec.input_schema)) | {"unexpected"})
    original = jsonschema.Draft202012Validator(spec.input_schema, format_checker=jsonschema.FormatChecker())
    sanitised = jsonschema.Draft202012Validator(result.schema, format_checker=jsonschema.FormatChecker())
    for _ in range(5):
        instance = data.draw(st.dictionaries(st.sampled_from(names), _values, max_size=len(names)))
        wrapped = {result.wrapped_key: instance} if result.wrapped_key else instance
        assert original.is_valid(instance) == sanitised.is_valid(wrapped), (spec.key, instance)
