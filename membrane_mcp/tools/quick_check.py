"""A quick yes for arguments that plainly satisfy their schema, before jsonschema's full validation.

jsonschema's ``iter_errors`` runs its generic machinery for every keyword even when nothing is wrong
(tens of microseconds for a meta tool's arguments, on every call). Most calls are valid, so
`compile_quick_check` turns a schema made only of the keywords below into plain Python checks. A check
answers True (valid: jsonschema would report nothing) or False (not sure: validate with jsonschema,
which also says what is wrong). A schema with any other keyword (``$ref``, ``multipleOf``,
``patternProperties``, ...), or of a dialect before draft 7, gets no quick check (None).

Each keyword is checked as jsonschema's own implementation does it (``jsonschema/_keywords.py``: the
same guards on the instance's type, ``len`` for lengths, ``re.search`` for patterns, the validator's own
format checker), so a True is never wrong. When in doubt (an ``enum`` of something other than strings,
a format check that raises) the answer is False.

`compile_own_quick_check` makes the same check for a schema of our own (a meta tool's, valid by
construction) without jsonschema, so a plainly valid call of a meta tool never imports it.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any

__all__ = ["QuickCheck", "compile_own_quick_check", "compile_quick_check"]

QuickCheck = Callable[[Any], bool]

# Keywords that never make an instance invalid (annotations, and containers applied only through $ref,
# which has no quick check itself).
_IGNORED = frozenset(
    {"description", "default", "title", "examples", "$comment", "deprecated", "readOnly", "writeOnly"}
    | {"$defs", "definitions"}
)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "string": lambda value: isinstance(value, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda value: isinstance(value, bool),
    "object": lambda value: isinstance(value, dict),
    "array": lambda value: isinstance(value, list),
    "null": lambda value: value is None,
}


class _Unsupported(Exception):
    """The schema uses something the quick check does not do: no quick check for it."""


def compile_quick_check(schema: Any, validator: Any) -> QuickCheck | None:
    """Quick checks for `schema`, or None; `validator` is the jsonschema validator built for it."""
    from jsonschema.validators import Draft7Validator, Draft201909Validator, Draft202012Validator

    # These three dialects read every keyword below alike (draft 6 on, an integer may be written 1.0).
    if not isinstance(validator, Draft7Validator | Draft201909Validator | Draft202012Validator):
        return None
    format_checker = getattr(validator, "format_checker", None)
    if isinstance(schema, dict):
        schema = {key: value for key, value in schema.items() if key != "$schema"}  # it chose the dialect
    try:
        check = _compile(schema, format_checker)
    except (_Unsupported, re.error, TypeError, ValueError):
        return None
    return _guarded(check)


# The format checker of a check made without jsonschema: it has none, so `format` gets no quick check.
_NO_FORMAT_CHECKER = object()


def compile_own_quick_check(schema: Any) -> QuickCheck | None:
    """The quick check `compile_quick_check` makes for `schema` with jsonschema's validator for it, made
    without jsonschema, or None. Only for a schema known to be valid (jsonschema's `check_schema` is not
    run here: our own meta tools' schemas, each checked by the tests) and without `$schema`, which is the
    dialect jsonschema's `validator_for` then picks (the latest, 2020-12); a `format` keyword (checked with
    the validator's format checker) gets none."""
    if not isinstance(schema, dict) or "$schema" in schema:
        return None
    try:
        check = _compile(schema, _NO_FORMAT_CHECKER)
    except (_Unsupported, re.error, TypeError, ValueError):
        return None
    return _guarded(check)


def _guarded(check: QuickCheck) -> QuickCheck:
    def quick(instance: Any) -> bool:
        try:
            return check(instance)
        except Exception:  # e.g. a format function that raises: jsonschema's own run says what happens
            return False

    return quick


def _compile(schema: Any, format_checker: Any) -> QuickCheck:
    if schema is True:
        return lambda value: True
    if schema is False or not isinstance(schema, dict):
        if schema is False:
            return lambda value: False
        raise _Unsupported
    checks: list[QuickCheck] = []
    for keyword, argument in schema.items():
        if keyword in _IGNORED:
            continue
        make = _KEYWORDS.get(keyword)
        if make is None:
            raise _Unsupported(keyword)
        checks.append(make(argument, schema, format_checker))
    if len(checks) == 1:
        return checks[0]
    return _every(checks)


def _every(checks: list[QuickCheck]) -> QuickCheck:
    # Plain loops rather than all(<generator>): these run on every call.
    def check(value: Any) -> bool:
        for one in checks:
            if not one(value):
                return False
        return True

    return check


def _type(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    names = [argument] if isinstance(argument, str) else argument
    if not isinstance(names, list) or not names or any(name not in _TYPES for name in names):
        raise _Unsupported("type")
    predicates = [_TYPES[name] for name in names]
    if len(predicates) == 1:
        return predicates[0]
    return lambda value: any(predicate(value) for predicate in predicates)


def _enum(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, list):
        raise _Unsupported("enum")
    # jsonschema compares a string to each member with ==; any other kind of value takes the full run.
    strings = frozenset(member for member in argument if isinstance(member, str))
    return lambda value: isinstance(value, str) and value in strings


def _const(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    return _enum([argument], schema, format_checker)


def _properties(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, dict):
        raise _Unsupported("properties")
    children = [(name, _compile(child, format_checker)) for name, child in argument.items()]

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, child in children:
            if name in value and not child(value[name]):
                return False
        return True

    return check


def _additional_properties(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if "patternProperties" in schema:
        raise _Unsupported("patternProperties")
    declared = schema.get("properties", {})
    if not isinstance(declared, dict):
        raise _Unsupported("properties")
    if argument is True:
        return lambda value: True
    extra = _compile(argument, format_checker)

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            if name not in declared and not extra(item):
                return False
        return True

    return check


def _required(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, list):
        raise _Unsupported("required")
    names = tuple(argument)

    def check(value: Any) -> bool:
        if isinstance(value, dict):
            for name in names:
                if name not in value:
                    return False
        return True

    return check


def _items(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if "prefixItems" in schema or not isinstance(argument, dict | bool):
        raise _Unsupported("items")
    item = _compile(argument, format_checker)
    return lambda value: not isinstance(value, list) or all(item(element) for element in value)


def _any_of(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, list) or not argument:
        raise _Unsupported("anyOf")
    branches = [_compile(branch, format_checker) for branch in argument]
    return lambda value: any(branch(value) for branch in branches)


def _all_of(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, list) or not argument:
        raise _Unsupported("allOf")
    return _every([_compile(part, format_checker) for part in argument])


def _number_bound(keyword: str) -> Callable[[Any, dict[str, Any], Any], QuickCheck]:
    def make(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
        if not _is_number(argument):
            raise _Unsupported(keyword)
        if keyword == "minimum":
            return lambda value: not _is_number(value) or not value < argument
        if keyword == "maximum":
            return lambda value: not _is_number(value) or not value > argument
        if keyword == "exclusiveMinimum":
            return lambda value: not _is_number(value) or not value <= argument
        return lambda value: not _is_number(value) or not value >= argument

    return make


def _size_bound(
    keyword: str, kind: type[str | list[Any] | dict[str, Any]]
) -> Callable[[Any, dict[str, Any], Any], QuickCheck]:
    def make(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
        if not _is_integer(argument):
            raise _Unsupported(keyword)
        if keyword.startswith("min"):
            return lambda value: not isinstance(value, kind) or not len(value) < argument
        return lambda value: not isinstance(value, kind) or not len(value) > argument

    return make


def _pattern(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if not isinstance(argument, str):
        raise _Unsupported("pattern")
    search = re.compile(argument).search  # what re.search(pattern, value) compiles
    return lambda value: not isinstance(value, str) or search(value) is not None


def _format(argument: Any, schema: dict[str, Any], format_checker: Any) -> QuickCheck:
    if format_checker is _NO_FORMAT_CHECKER:
        raise _Unsupported("format")
    if format_checker is None:
        return lambda value: True
    conforms = format_checker.conforms
    return lambda value: bool(conforms(value, argument))


_KEYWORDS: dict[str, Callable[[Any, dict[str, Any], Any], QuickCheck]] = {
    "type": _type,
    "enum": _enum,
    "const": _const,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "required": _required,
    "items": _items,
    "anyOf": _any_of,
    "allOf": _all_of,
    "minimum": _number_bound("minimum"),
    "maximum": _number_bound("maximum"),
    "exclusiveMinimum": _number_bound("exclusiveMinimum"),
    "exclusiveMaximum": _number_bound("exclusiveMaximum"),
    "minLength": _size_bound("minLength", str),
    "maxLength": _size_bound("maxLength", str),
    "minItems": _size_bound("minItems", list),
    "maxItems": _size_bound("maxItems", list),
    "minProperties": _size_bound("minProperties", dict),
    "maxProperties": _size_bound("maxProperties", dict),
    "pattern": _pattern,
    "format": _format,
}
